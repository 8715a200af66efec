"""OpenAI-compatible servers: vLLM, llama-cpp-python's server, LM Studio, hosted APIs.

- Completion: `POST {url}/completions` with the raw prompt (a FIM prompt the client built),
  or with `prompt` + `suffix` when the backend's `fim_template` is ``"server"`` (servers
  that do FIM themselves from `suffix`; llama-cpp-python's server does *not*: its `suffix`
  inserts token id 0 instead of the FIM tokens).
- Chat: `POST {url}/chat/completions`.
- Both stream server-sent events (`data: {...}` lines ending with `data: [DONE]`) and ask for
  a final usage chunk (`stream_options.include_usage`), which servers that do not know it
  ignore.
- `url` is the API base including `/v1` (``http://host:8000/v1``); a bare ``http://host:8000``
  gets ``/v1`` appended.
- Token counts: `/extras/tokenize` (llama-cpp-python) or `/tokenize` (vLLM) on the server
  root when one answers; otherwise an estimate of one token per 4 characters.
- The API key comes from the environment variable named in `api_key_env`, sent as
  `Authorization: Bearer`; it is never stored in the settings.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

import httpx

from ghostline.engine.base import EngineError, GenerationRequest, ModelInfo
from ghostline.engine.http.http_base import (
    Call,
    Chunk,
    HttpEngine,
    Reason,
    estimate_tokens,
    sum_logprobs,
    take_counts,
)

log = logging.getLogger(__name__)

#: Value of `BackendSettings.fim_template` meaning "send prefix and suffix, the server does FIM".
SERVER_FIM = "server"

_FINISH: dict[str, Reason] = {"stop": "stop", "length": "length", "eos": "eos"}


def finish_reason(value: Any) -> Reason | None:
    if not value:
        return None
    return _FINISH.get(str(value), "stop")


def _usage(payload: dict[str, Any], chunk: Chunk) -> Chunk:
    usage = payload.get("usage")
    take_counts(chunk, usage, prompt="prompt_tokens", generated="completion_tokens")
    if isinstance(usage, dict):
        take_counts(chunk, usage.get("prompt_tokens_details"), cached="cached_tokens")
    return take_counts(chunk, payload.get("timings"), cached="cache_n")  # llama-server's own


def _first_choice(payload: dict[str, Any]) -> dict[str, Any]:
    choices = payload.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        return choices[0]
    return {}


def _logprob(choice: dict[str, Any]) -> float | None:
    logprobs = choice.get("logprobs")
    if not isinstance(logprobs, dict):
        return None
    values = logprobs.get("token_logprobs")  # legacy completions format
    if isinstance(values, list):
        return sum_logprobs([{"logprob": v} for v in values])
    return sum_logprobs(logprobs.get("content"))  # chat format (and llama-server)


def decode_completion(payload: dict[str, Any]) -> Chunk:
    """One `text_completion` stream event."""
    choice = _first_choice(payload)
    text = choice.get("text") or ""
    return _usage(
        payload,
        Chunk(
            text=str(text),
            logprob=_logprob(choice),
            reason=finish_reason(choice.get("finish_reason")),
        ),
    )


def decode_chat(payload: dict[str, Any]) -> Chunk:
    """One `chat.completion.chunk` stream event."""
    choice = _first_choice(payload)
    delta = choice.get("delta")
    text = delta.get("content") if isinstance(delta, dict) else None
    return _usage(
        payload,
        Chunk(
            text=str(text or ""),
            logprob=_logprob(choice),
            reason=finish_reason(choice.get("finish_reason")),
        ),
    )


def chat_call(path: str, model: str, request: GenerationRequest) -> Call:
    """A streaming `/chat/completions` request (shared with llama-server)."""
    body: dict[str, Any] = {
        "messages": [{"role": m.role, "content": m.content} for m in request.messages or []],
        "max_tokens": request.max_tokens,
        "temperature": request.temperature,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if model:
        body["model"] = model
    if request.stop:
        body["stop"] = request.stop
    return Call(path, body, "sse", decode_chat, sentinel="[DONE]")


def api_base(url: str) -> str:
    """`url` with `/v1` appended when it has no path at all."""
    parts = urlsplit(url.rstrip("/"))
    if parts.path in ("", "/"):
        parts = parts._replace(path="/v1")
    return urlunsplit(parts)


class OpenAIEngine(HttpEngine):
    kind: ClassVar[str] = "openai"
    default_url: ClassVar[str] = "http://127.0.0.1:8000/v1"

    #: Model asked for: the settings' one, else the first the server lists (after `start`).
    _served_model: str = ""
    #: Working tokenize path on the server root, "" when none answers, None: not tried yet.
    _tokenize_path: str | None = None

    @staticmethod
    def normalize_url(url: str) -> str:
        return api_base(url)

    @property
    def _model(self) -> str:
        return self.settings.model or self._served_model

    @property
    def server_fim(self) -> bool:
        return self.settings.fim_template == SERVER_FIM

    def _plan(self, request: GenerationRequest) -> Call:
        if request.messages:
            return chat_call("/chat/completions", self._model, request)
        body: dict[str, Any] = {
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if self._model:
            body["model"] = self._model
        if request.stop:
            body["stop"] = request.stop
        if self.server_fim and request.infill_prefix is not None:
            body["prompt"] = request.infill_prefix
            body["suffix"] = request.infill_suffix or ""
        elif request.prompt is not None:
            body["prompt"] = request.prompt
        elif request.infill_prefix is not None:
            body["prompt"] = request.infill_prefix  # no template known: prefix only
        else:
            raise EngineError("a generation request needs a prompt, messages or infill pieces")
        return Call("/completions", body, "sse", decode_completion, sentinel="[DONE]")

    async def _probe(self) -> ModelInfo:
        listing = await self.get_json("/models")
        models = listing.get("data") if isinstance(listing, dict) else None
        cards = [m for m in models or [] if isinstance(m, dict) and m.get("id")]
        if not cards:
            raise self.error("/models", "lists no models")
        ids = [str(m["id"]) for m in cards]
        if not self._model:
            self._served_model = ids[0]
        elif self._model not in ids:
            log.warning("backend %r serves %s, not %r", self.name, ids, self._model)
        card = next((m for m in cards if m["id"] == self._model), cards[0])
        context = card.get("max_model_len") or card.get("context_length") or 0
        return ModelInfo(
            name=self._model,
            context_size=int(context) if isinstance(context, (int, float)) else 0,
            fim_template=self.settings.fim_template or "none",
            metadata={"backend": self.name, "kind": self.kind, "url": self.url, "models": ids},
            has_chat_template=True,
        )

    async def count_tokens(self, text: str) -> int:
        """Real count from the server's tokenizer if it has one, else `estimate_tokens`."""
        if self._tokenize_path is None:
            self._tokenize_path = await self._find_tokenizer()
        if not self._tokenize_path:
            return estimate_tokens(text)
        try:
            data = await self._tokenize(self._tokenize_path, text)
        except EngineError as exc:
            log.warning("%s; estimating token counts", exc)
            return estimate_tokens(text)
        return data

    def _root(self) -> str:
        parts = urlsplit(self.url)
        path = parts.path[: -len("/v1")] if parts.path.endswith("/v1") else parts.path
        return urlunsplit(parts._replace(path=path))

    async def _tokenize(self, path: str, text: str) -> int:
        url = self._root() + path
        body: dict[str, Any] = {"input": text} if path == "/extras/tokenize" else {"prompt": text}
        if self._model and path == "/tokenize":
            body["model"] = self._model
        try:
            response = await self.client().post(url, json=body, headers=self._auth_headers())
        except httpx.HTTPError as exc:
            raise self._transport_error(exc, url) from exc
        if response.status_code >= 400:
            raise self._status_error(response.status_code, response.content, url)
        data = response.json()
        if isinstance(data, dict) and isinstance(data.get("count"), int):
            return int(data["count"])
        tokens = data.get("tokens") if isinstance(data, dict) else None
        if not isinstance(tokens, list):
            raise EngineError(f"backend '{self.name}' ({url}) answered no token list")
        return len(tokens)

    async def _find_tokenizer(self) -> str:
        for path in ("/extras/tokenize", "/tokenize"):
            try:
                await self._tokenize(path, "a")
            except (EngineError, ValueError):
                continue
            return path
        log.info("backend %r has no tokenize endpoint; estimating 4 characters a token", self.name)
        return ""
