"""Ollama, through its native API.

- Completion with FIM pieces: `POST /api/generate` with `prompt` (the prefix) and `suffix`;
  Ollama formats the FIM prompt with the model's template (models whose template has no
  suffix slot answer HTTP 400 "does not support insert"; set the backend's `fim_template`
  to a template name to send a client-built raw prompt instead).
- Raw prompt: `POST /api/generate` with `raw: true` (no chat template applied).
- Chat: `POST /api/chat`.
- Streams are JSON lines: `{"response": "...", "done": false}` (generate) or
  `{"message": {"content": "..."}, "done": false}` (chat); the last line has `"done": true`,
  `done_reason`, `prompt_eval_count` and `eval_count`.
- `keep_alive` keeps the model loaded between keystrokes (Ollama's default is 5 minutes).
- Ollama has no tokenize endpoint: `count_tokens` estimates one token per 4 characters.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ghostline.engine.base import EngineError, GenerationRequest, ModelInfo
from ghostline.engine.http.http_base import Call, Chunk, HttpEngine, Reason, take_counts

SERVER_FIM = "server"
#: How long Ollama keeps the model loaded after a request.
DEFAULT_KEEP_ALIVE = "30m"

_DONE: dict[str, Reason] = {"stop": "stop", "length": "length"}


def _final(payload: dict[str, Any], chunk: Chunk) -> Chunk:
    if payload.get("done") is True:
        chunk.done = True
        chunk.reason = _DONE.get(str(payload.get("done_reason") or "stop"), "stop")
        take_counts(chunk, payload, prompt="prompt_eval_count", generated="eval_count")
    return chunk


def decode_generate(payload: dict[str, Any]) -> Chunk:
    """One line of `/api/generate` in stream mode."""
    return _final(payload, Chunk(text=str(payload.get("response") or "")))


def decode_chat(payload: dict[str, Any]) -> Chunk:
    """One line of `/api/chat` in stream mode."""
    message = payload.get("message")
    text = message.get("content") if isinstance(message, dict) else None
    return _final(payload, Chunk(text=str(text or "")))


class OllamaEngine(HttpEngine):
    kind: ClassVar[str] = "ollama"
    default_url: ClassVar[str] = "http://127.0.0.1:11434"

    #: How long Ollama keeps the model loaded after a request.
    keep_alive: str = DEFAULT_KEEP_ALIVE

    def _model(self) -> str:
        if not self.settings.model:
            raise EngineError(
                f"backend '{self.name}' (ollama at {self.url}) needs a model name in its settings"
            )
        return self.settings.model

    @property
    def native_infill(self) -> bool:
        return self.settings.fim_template in ("", SERVER_FIM)

    def _options(self, request: GenerationRequest) -> dict[str, Any]:
        options: dict[str, Any] = {
            "num_predict": request.max_tokens,
            "temperature": request.temperature,
        }
        if request.stop:
            options["stop"] = request.stop
        return options

    def _plan(self, request: GenerationRequest) -> Call:
        body: dict[str, Any] = {
            "model": self._model(),
            "stream": True,
            "keep_alive": self.keep_alive,
            "options": self._options(request),
        }
        if request.messages:
            body["messages"] = [{"role": m.role, "content": m.content} for m in request.messages]
            return Call("/api/chat", body, "jsonl", decode_chat)
        if request.infill_prefix is not None and (self.native_infill or request.prompt is None):
            body["prompt"] = request.infill_prefix
            body["suffix"] = request.infill_suffix or ""
        elif request.prompt is not None:
            body["prompt"] = request.prompt
            body["raw"] = True
        else:
            raise EngineError("a generation request needs a prompt, messages or infill pieces")
        return Call("/api/generate", body, "jsonl", decode_generate)

    async def _probe(self) -> ModelInfo:
        show = await self.get_json("/api/show", {"model": self._model()})
        if not isinstance(show, dict):
            raise self.error("/api/show", "answered no JSON object")
        info = show.get("model_info")
        info = info if isinstance(info, dict) else {}
        context = next(
            (v for k, v in info.items() if k.endswith(".context_length") and isinstance(v, int)), 0
        )
        template = str(show.get("template") or "")
        return ModelInfo(
            name=self.settings.model,
            context_size=context,
            fim_template=self.settings.fim_template or SERVER_FIM,
            metadata={
                "backend": self.name,
                "kind": self.kind,
                "url": self.url,
                "details": show.get("details"),
                "suffix_in_template": ".Suffix" in template,
            },
            has_chat_template=bool(template),
        )
