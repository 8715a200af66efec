"""A scripted stand-in for the model (unit tests only; e2e tests use the real model).

``answer(request)`` returns the full text the "model" would write; it is streamed in small
pieces and cut at the request's stop strings like the real worker does.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from ghostline.engine.base import Finished, GenerationRequest, ModelInfo, StreamItem, Token

Answer = Callable[[GenerationRequest], str]


@dataclass
class ScriptedEngine:
    answer: Answer
    info: ModelInfo = field(default_factory=lambda: ModelInfo(name="scripted base model"))
    name: str = "scripted"
    requests: list[GenerationRequest] = field(default_factory=list)
    on_token: Callable[[int], None] | None = None

    async def start(self) -> ModelInfo:
        return self.info

    async def stream(self, request: GenerationRequest) -> AsyncIterator[StreamItem]:
        self.requests.append(request)
        text = self.answer(request)
        reason: str = "length"
        for stop in request.stop:
            index = text.find(stop)
            if index >= 0:
                text, reason = text[:index], "stop"
        pieces = [text[i : i + 4] for i in range(0, len(text), 4)]
        for count, piece in enumerate(pieces[: request.max_tokens]):
            if self.on_token is not None:
                self.on_token(count)
            await asyncio.sleep(0)
            yield Token(piece)
        if len(pieces) > request.max_tokens:
            reason = "length"
        elif reason != "stop":
            reason = "eos"
        yield Finished(reason=reason, generated_tokens=len(pieces))  # type: ignore[arg-type]

    async def count_tokens(self, text: str) -> int:
        return len(text) // 4

    async def close(self) -> None:
        return None


def lead_of(request: GenerationRequest) -> str:
    """The last line of a completion prompt (the lead-in the model continues)."""
    assert request.prompt is not None
    return request.prompt.rsplit("\n", 1)[-1]


def instruct_model() -> ModelInfo:
    """An instruction-tuned model with a chat template: "Generate tests" asks it in chat."""
    return ModelInfo(name="coder-instruct", path="/m/coder-instruct.gguf", has_chat_template=True)
