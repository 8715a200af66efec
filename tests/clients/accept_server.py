"""A stand-in for `ghostline serve` in the clients' acceptance tests (VS Code): the real
server, wired by `create_server`, with a scripted engine that completes every request with
"a + b", so no model loads. The usage ledger goes where `GHOSTLINE_LEDGER` says.

Run: python accept_server.py  (stdio)
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from ghostline.engine.base import Finished, GenerationRequest, ModelInfo, StreamItem, Token
from ghostline.lsp.app import create_server


class ScriptedEngine:
    name = "scripted"

    async def start(self) -> ModelInfo:
        return ModelInfo(name="scripted base model")

    async def stream(self, request: GenerationRequest) -> AsyncIterator[StreamItem]:
        for piece in ("a + ", "b\n"):
            await asyncio.sleep(0)
            yield Token(piece)
        yield Finished(reason="eos", prompt_tokens=12, generated_tokens=2)

    async def count_tokens(self, text: str) -> int:
        return len(text) // 4

    async def close(self) -> None:
        return None


if __name__ == "__main__":
    create_server(engine_factory=lambda settings: ScriptedEngine()).start_io()  # type: ignore[arg-type, return-value]
