"""llama.cpp's `llama-server`, through its native endpoints.

- Completion with FIM pieces: `POST /infill` (`input_prefix`, `input_suffix`, `input_extra`
  [{filename, text}] for cross-file chunks, `cache_prompt`, `n_indent`, `t_max_predict_ms`);
  the server formats the FIM prompt from the model's own FIM tokens, including the
  repo-level pattern when the model has `FIM_REP`/`FIM_SEP` tokens.
- Raw prompt: `POST /completion`.
- Chat: `POST /v1/chat/completions` (OpenAI format).
- Streams are server-sent events: `data: {"content": "...", "stop": false, ...}`, the last one
  with `"stop": true`, `stop_type`, `tokens_predicted`, `tokens_evaluated`, `tokens_cached`
  and `timings`.
- Token counts: `POST /tokenize`. Model facts: `GET /props`.
- A model without FIM tokens: `/infill` answers HTTP 501 "Infill is not supported by this
  model" before streaming anything; the engine then sends the request's own prompt (else the
  prefix) to `/completion`, and keeps doing so for this server.
- Errors: one found before the first token is an HTTP error with a JSON body (400
  `exceed_context_size_error`, 501, 503 "Loading model"); one after it is an event
  `data: {"error": {...}}`.

Recorded real bodies: `tests/fixtures/recordings/llama_server/`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from typing import Any, ClassVar

from ghostline.engine.base import (
    EngineError,
    GenerationRequest,
    ModelInfo,
    StreamItem,
    Token,
)
from ghostline.engine.http.http_base import (
    Call,
    Chunk,
    HttpEngine,
    Reason,
    closing_stream,
    sum_logprobs,
    take_counts,
)
from ghostline.engine.http.openai import chat_call

#: `fim_template` value for llama-server: the server builds the FIM prompt (`/infill`).
SERVER_FIM = "server"

log = logging.getLogger(__name__)

_STOP_TYPES: dict[str, Reason] = {"eos": "eos", "limit": "length", "word": "stop"}


def _reason(payload: dict[str, Any]) -> Reason:
    stop_type = payload.get("stop_type")
    if isinstance(stop_type, str) and stop_type in _STOP_TYPES:
        return _STOP_TYPES[stop_type]
    if payload.get("stopping_word"):
        return "stop"
    if payload.get("truncated"):
        return "length"
    return "eos"


def decode_native(payload: dict[str, Any]) -> Chunk:
    """One event of `/completion` or `/infill` in stream mode."""
    chunk = Chunk(text=str(payload.get("content") or ""))
    chunk.logprob = sum_logprobs(payload.get("completion_probabilities"))
    if payload.get("stop") is True:
        chunk.done = True
        chunk.reason = _reason(payload)
        # Not `tokens_cached`: that is every token in the slot (prompt and generated) at the
        # end, not the prompt tokens the cache saved; `timings.cache_n` is.
        take_counts(chunk, payload, prompt="tokens_evaluated", generated="tokens_predicted")
        take_counts(chunk, payload.get("timings"), cached="cache_n")
    return chunk


def indent_of_last_line(text: str) -> int:
    """Leading blanks of the cursor's line: `n_indent` stops lines that dedent below it."""
    line = text.rsplit("\n", 1)[-1]
    return len(line) - len(line.lstrip(" \t"))


class IndentCut:
    """The server's `n_indent` rule, applied to the streamed text.

    llama-server stops when a generated line after the first starts with fewer than
    `n_indent` blanks, and cuts that line from its own text after the blanks; but it checks
    a token or two late, and the tokens of the cut line have already been streamed (recorded:
    `"\n"`, `"print"`, `"("`, then a final event with `stop_type: "limit"`). This drops the
    same text on the client: the rest of the line from its first non-blank character (a line
    break counts) when the blanks before it are too few, and everything after that.
    """

    def __init__(self, n_indent: int) -> None:
        self.n_indent = n_indent
        #: Blanks since the last line break; None while not at the start of a later line.
        self.blanks: int | None = None
        self.cut = False

    def feed(self, text: str) -> str:
        """The part of `text` the server keeps."""
        if self.cut or self.n_indent <= 0:
            return "" if self.cut else text
        for index, char in enumerate(text):
            if self.blanks is not None:
                if char in " \t":
                    self.blanks += 1
                    continue
                if self.blanks < self.n_indent:
                    self.cut = True
                    return text[:index]
                self.blanks = None
            if char == "\n":
                self.blanks = 0
        return text


class InfillUnsupported(EngineError):
    """`/infill` answered 501: the server's model has no FIM prefix/suffix/middle tokens."""


class LlamaServerEngine(HttpEngine):
    kind: ClassVar[str] = "llama-server"
    default_url: ClassVar[str] = "http://127.0.0.1:8080"
    #: False once `/infill` answered that the model cannot infill.
    infill_supported: bool = True

    @staticmethod
    def normalize_url(url: str) -> str:
        """Native endpoints live on the server root: accept an OpenAI-style `/v1` URL too."""
        return url[: -len("/v1")] if url.endswith("/v1") else url

    @property
    def native_infill(self) -> bool:
        """`/infill` unless the settings name a client-side FIM template."""
        return self.settings.fim_template in ("", SERVER_FIM)

    def _sampling(self, request: GenerationRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "n_predict": request.max_tokens,
            "temperature": request.temperature,
            "stream": True,
            "cache_prompt": True,
        }
        if request.stop:
            body["stop"] = request.stop
        if request.time_limit_s:
            body["t_max_predict_ms"] = int(request.time_limit_s * 1000)
        return body

    def _uses_infill(self, request: GenerationRequest) -> bool:
        return (
            not request.messages
            and request.infill_prefix is not None
            and self.infill_supported
            and (self.native_infill or request.prompt is None)
        )

    def _plan(self, request: GenerationRequest) -> Call:
        if request.messages:
            return chat_call("/v1/chat/completions", self.settings.model, request)
        body = self._sampling(request)
        prompt = request.prompt
        if request.infill_prefix is not None and self._uses_infill(request):
            body["input_prefix"] = request.infill_prefix
            body["input_suffix"] = request.infill_suffix or ""
            body["input_extra"] = [
                {"filename": str(c.get("filename", "")), "text": str(c.get("text", ""))}
                for c in request.infill_extra or []
            ]
            body["n_indent"] = indent_of_last_line(request.infill_prefix)
            return Call("/infill", body, "sse", decode_native)
        if prompt is None:
            prompt = request.infill_prefix  # a server that cannot infill: prefix only
        if prompt is None:
            raise EngineError("a generation request needs a prompt, messages or infill pieces")
        body["prompt"] = prompt
        return Call("/completion", body, "sse", decode_native)

    async def _stream(self, request: GenerationRequest) -> AsyncIterator[StreamItem]:
        """The base stream, sent again to `/completion` when `/infill` turns out unsupported.

        The 501 comes before any token, so nothing has been yielded when the request is
        sent again.
        """
        cut = IndentCut(
            indent_of_last_line(request.infill_prefix or "") if self._uses_infill(request) else 0
        )
        async with closing_stream(super()._stream(request)) as items:
            try:
                async for item in items:
                    if isinstance(item, Token):
                        text = cut.feed(item.text)
                        if not text:
                            continue
                        item = Token(text, item.logprob)
                    yield item
                return
            except InfillUnsupported as exc:
                log.warning("%s; sending prompts to /completion instead", exc)
        async with closing_stream(super()._stream(request)) as items:
            async for item in items:
                yield item

    def _status_error(self, status: int, body: bytes, path: str) -> EngineError:
        error = super()._status_error(status, body, path)
        if path == "/infill" and status == 501:
            self.infill_supported = False
            return InfillUnsupported(str(error))
        return error

    async def _probe(self) -> ModelInfo:
        props = await self.get_json("/props")
        if not isinstance(props, dict):
            raise self.error("/props", "answered no JSON object")
        settings = props.get("default_generation_settings")
        n_ctx = settings.get("n_ctx", 0) if isinstance(settings, dict) else 0
        path = str(props.get("model_path") or "")
        return ModelInfo(
            name=self.settings.model or os.path.basename(path) or self.name,
            path=path,
            context_size=int(n_ctx) if isinstance(n_ctx, int) else 0,
            fim_template=self.settings.fim_template or SERVER_FIM,
            metadata={
                "backend": self.name,
                "kind": self.kind,
                "url": self.url,
                "total_slots": props.get("total_slots"),
                "build_info": props.get("build_info"),
            },
            has_chat_template=bool(props.get("chat_template")),
        )

    async def count_tokens(self, text: str) -> int:
        data = await self.get_json("/tokenize", {"content": text, "add_special": False})
        tokens = data.get("tokens") if isinstance(data, dict) else None
        if not isinstance(tokens, list):
            raise self.error("/tokenize", "answered no token list")
        return len(tokens)
