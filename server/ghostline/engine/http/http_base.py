"""What every HTTP backend shares: the client, the stream loop, errors and timings.

A backend subclass only says *what* to send (`_plan`: path, JSON body, framing) and how to
read one decoded event (`Call.decode`: text, stop reason, token counts). This module does the
rest: one pooled `httpx.AsyncClient` per engine (keep-alive, timeouts), SSE or JSON-lines
framing, a client-side time limit, superseding by `request.key`, and turning every transport
or HTTP failure into one `EngineError` sentence that names the backend and its URL.

Cancellation: the request runs inside `async with client.stream(...)` in the generator that
`stream()` returns, so closing that generator (or cancelling the task iterating it) closes the
HTTP response and its connection; servers notice the closed socket and stop generating.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, TypeVar
from urllib.parse import urlsplit

import httpx

from ghostline.engine.base import (
    EngineError,
    Finished,
    GenerationRequest,
    ModelInfo,
    StreamItem,
    Superseded,
    Token,
)
from ghostline.settings import BackendSettings

log = logging.getLogger(__name__)

T = TypeVar("T")

Reason = Literal["stop", "length", "cancelled", "time", "eos"]
Framing = Literal["sse", "jsonl"]

#: Characters of an error body quoted in an `EngineError` message.
EXCERPT_CHARS = 200
#: Connecting should never take long, whatever the read timeout is.
CONNECT_TIMEOUT_S = 5.0
#: How long to wait for the end of a body after its last event before giving up on reuse.
DRAIN_TIMEOUT_S = 0.5
_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}


@dataclass
class Chunk:
    """What one decoded server event contributes to the stream."""

    text: str = ""
    logprob: float | None = None
    #: Set when the server says why generation ended (may come before the last event).
    reason: Reason | None = None
    #: The last event of the stream: stop reading after it.
    done: bool = False
    prompt_tokens: int | None = None
    cached_tokens: int | None = None
    generated_tokens: int | None = None


@dataclass
class Call:
    """One streaming request: where to send it, what to send, how to read the answer."""

    path: str
    body: dict[str, Any]
    framing: Framing
    decode: Callable[[dict[str, Any]], Chunk]
    #: SSE only: the `data:` payload that ends the stream (OpenAI's "[DONE]").
    sentinel: str | None = None


@dataclass
class _Stats:
    reason: Reason | None = None
    done: bool = False
    prompt_tokens: int = 0
    cached_tokens: int = 0
    generated_tokens: int | None = None
    tokens_seen: int = 0
    first_token_s: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def absorb(self, chunk: Chunk) -> None:
        if chunk.reason is not None:
            self.reason = chunk.reason
        if chunk.prompt_tokens is not None:
            self.prompt_tokens = chunk.prompt_tokens
        if chunk.cached_tokens is not None:
            self.cached_tokens = chunk.cached_tokens
        if chunk.generated_tokens is not None:
            self.generated_tokens = chunk.generated_tokens
        self.done = self.done or chunk.done


def estimate_tokens(text: str) -> int:
    """Rough token count (4 characters a token) for servers without a tokenize endpoint."""
    return math.ceil(len(text) / 4)


def sum_logprobs(entries: Any, key: str = "logprob") -> float | None:
    """Sum of `entry[key]` over a list of per-token dicts (a chunk's log-probability)."""
    if not isinstance(entries, list) or not entries:
        return None
    values = [e.get(key) if isinstance(e, dict) else None for e in entries]
    numbers = [float(v) for v in values if isinstance(v, (int, float))]
    return sum(numbers) if len(numbers) == len(values) else None


def take_counts(
    chunk: Chunk,
    source: Any,
    *,
    prompt: str = "",
    generated: str = "",
    cached: str = "",
) -> Chunk:
    """Copy the integer token counts found under the given keys of `source` into `chunk`."""
    if isinstance(source, dict):
        for attr, key in (
            ("prompt_tokens", prompt),
            ("generated_tokens", generated),
            ("cached_tokens", cached),
        ):
            if key and isinstance(source.get(key), int):
                setattr(chunk, attr, source[key])
    return chunk


def is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return host in _LOOPBACK_HOSTS or host.startswith("127.")


def error_excerpt(body: bytes | str) -> str:
    """The server's own error message if the body is a JSON error, else its first characters."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    message: Any = None
    if isinstance(data, dict):
        error = data.get("error", data.get("detail", data.get("message")))
        if isinstance(error, dict):
            message = error.get("message") or error.get("msg")
        elif error is not None:
            message = error
    if message is None:
        message = " ".join(text.split())
    message = str(message)
    return message if len(message) <= EXCERPT_CHARS else message[:EXCERPT_CHARS] + "…"


async def next_within(iterator: AsyncIterator[T], seconds: float | None) -> T:
    """`anext(iterator)`, raising `TimeoutError` when it takes longer than `seconds`.

    The time limit covers this one await only, never the caller's code between items (a
    timeout spanning a `yield` would cancel whatever the consumer happens to be doing).
    """
    if seconds is None:
        return await anext(iterator)
    if seconds <= 0:
        raise TimeoutError
    if sys.version_info >= (3, 11):
        async with asyncio.timeout(seconds):
            return await anext(iterator)
    try:  # pragma: no cover - Python 3.10, where asyncio.TimeoutError is another class
        return await asyncio.wait_for(anext(iterator), seconds)
    except asyncio.TimeoutError as exc:
        raise TimeoutError from exc


@asynccontextmanager
async def closing_stream(iterator: AsyncIterator[T]) -> AsyncIterator[AsyncIterator[T]]:
    """`contextlib.aclosing` for any async iterator: `aclose()` it on exit if it has one."""
    try:
        yield iterator
    finally:
        aclose = getattr(iterator, "aclose", None)
        if aclose is not None:
            await aclose()


async def _sse_payloads(response: httpx.Response) -> AsyncIterator[tuple[str, str]]:
    """(event name, data) of each server-sent event; comments (pings) are skipped."""
    event, data = "message", list[str]()
    async for line in response.aiter_lines():
        if not line:
            if data:
                yield event, "\n".join(data)
            event, data = "message", list[str]()
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "data":
            data.append(value)
        elif name == "event":
            event = value
        elif name == "error":  # llama-server writes a failure as an `error: {...}` line
            yield "error", value
    if data:
        yield event, "\n".join(data)


class HttpEngine:
    """Base class of the HTTP backends; implements the `Engine` protocol."""

    kind: ClassVar[str] = ""
    default_url: ClassVar[str] = ""

    def __init__(
        self,
        name: str,
        settings: BackendSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.name = name
        self.settings = settings
        self.url = self.normalize_url((settings.url or self.default_url).rstrip("/"))
        self.timeout_s = settings.timeout_s if settings.timeout_s > 0 else 30.0
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._info: ModelInfo | None = None
        #: request.key -> the open response of the request that holds the key now.
        self._by_key: dict[str, httpx.Response] = {}
        self._superseded: set[int] = set()
        self._closing: set[asyncio.Task[None]] = set()

    # -- Engine protocol -------------------------------------------------------------------

    async def start(self) -> ModelInfo:
        """Ask the server what it serves; cached after the first success."""
        if self._info is None:
            self._info = await self._probe()
        return self._info

    def stream(self, request: GenerationRequest) -> AsyncIterator[StreamItem]:
        return self._stream(request)

    async def count_tokens(self, text: str) -> int:
        return estimate_tokens(text)

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    # -- for subclasses --------------------------------------------------------------------

    @staticmethod
    def normalize_url(url: str) -> str:
        """The base URL that this backend's paths are relative to."""
        return url

    def _plan(self, request: GenerationRequest) -> Call:  # pragma: no cover - abstract
        raise NotImplementedError

    async def _probe(self) -> ModelInfo:  # pragma: no cover - abstract
        raise NotImplementedError

    def _auth_headers(self) -> dict[str, str]:
        """`Authorization: Bearer` from the environment variable named in `api_key_env`."""
        env = self.settings.api_key_env
        if not env:
            return {}
        key = os.environ.get(env, "")
        if not key:
            raise EngineError(
                f"backend '{self.name}' ({self.url}) needs an API key: set the environment "
                f"variable {env}"
            )
        return {"Authorization": f"Bearer {key}"}

    def client(self) -> httpx.AsyncClient:
        """The engine's pooled client (created on first use, inside the running loop)."""
        if self._client is None:
            self._client = httpx.AsyncClient(
                base_url=self.url,
                timeout=httpx.Timeout(
                    self.timeout_s, connect=min(CONNECT_TIMEOUT_S, self.timeout_s)
                ),
                limits=httpx.Limits(max_connections=16, max_keepalive_connections=8),
                transport=self._transport,
                # Never send loopback traffic through an HTTP(S)_PROXY from the environment.
                trust_env=not is_loopback(self.url),
            )
        return self._client

    async def get_json(self, path: str, body: dict[str, Any] | None = None) -> Any:
        """GET (or POST when `body` is given) a JSON document; failures become EngineError."""
        try:
            headers = self._auth_headers()
            if body is None:
                response = await self.client().get(path, headers=headers)
            else:
                response = await self.client().post(path, json=body, headers=headers)
        except httpx.HTTPError as exc:
            raise self._transport_error(exc, path) from exc
        if response.status_code >= 400:
            raise self._status_error(response.status_code, response.content, path)
        try:
            return response.json()
        except ValueError as exc:
            raise EngineError(
                f"backend '{self.name}' ({self.endpoint(path)}) answered something that is not "
                f"JSON: {error_excerpt(response.content)}"
            ) from exc

    def error(self, path: str, message: str) -> EngineError:
        """`EngineError` naming this backend and the URL of `path`."""
        return EngineError(f"backend '{self.name}' ({self.endpoint(path)}) {message}")

    def endpoint(self, path: str) -> str:
        """Full URL of `path` (which may already be a full URL)."""
        return path if "://" in path else self.url + path

    # -- the stream loop -------------------------------------------------------------------

    async def _stream(self, request: GenerationRequest) -> AsyncIterator[StreamItem]:
        call = self._plan(request)
        started = time.monotonic()
        deadline = started + request.time_limit_s if request.time_limit_s else None
        stats = _Stats()
        response: httpx.Response | None = None
        superseded = False
        try:
            headers = self._auth_headers()
            async with self.client().stream(
                "POST", call.path, json=call.body, headers=headers
            ) as response:
                if response.status_code >= 400:
                    body = await response.aread()
                    raise self._status_error(response.status_code, body, call.path)
                self._hold_key(request.key, response)
                async with closing_stream(self._chunks(response, call)) as chunks:
                    while not stats.done:
                        remaining = None if deadline is None else deadline - time.monotonic()
                        try:
                            chunk = await next_within(chunks, remaining)
                        except StopAsyncIteration:
                            break
                        except TimeoutError:
                            stats.reason = "time"
                            break
                        stats.absorb(chunk)
                        if chunk.text:
                            stats.tokens_seen += 1
                            if stats.first_token_s is None:
                                stats.first_token_s = time.monotonic() - started
                            yield Token(chunk.text, chunk.logprob)
                    if stats.done:
                        await self._drain(chunks)
        except httpx.HTTPError as exc:
            if self._was_superseded(response):
                raise Superseded(f"request {request.key!r} was replaced by a newer one") from exc
            raise self._transport_error(exc, call.path, streaming=stats.tokens_seen > 0) from exc
        finally:
            superseded = self._release_key(request.key, response)
        if stats.reason is None:
            if superseded:
                raise Superseded(f"request {request.key!r} was replaced by a newer one")
            raise self.error(
                call.path,
                "ended the answer without a finish reason (interrupted by another request?)"
                if stats.done
                else "closed the stream before the answer was finished",
            )
        yield Finished(
            reason=stats.reason,
            prompt_tokens=stats.prompt_tokens,
            cached_tokens=stats.cached_tokens,
            generated_tokens=(
                stats.generated_tokens if stats.generated_tokens is not None else stats.tokens_seen
            ),
            first_token_s=stats.first_token_s,
            total_s=time.monotonic() - started,
            backend=self.name,
        )

    @staticmethod
    async def _drain(chunks: AsyncIterator[Chunk]) -> None:
        """Read the rest of a finished body (its end marker) so the connection can be reused."""
        try:
            while True:
                await next_within(chunks, DRAIN_TIMEOUT_S)
        except (StopAsyncIteration, TimeoutError, EngineError, httpx.HTTPError):
            pass

    async def _chunks(self, response: httpx.Response, call: Call) -> AsyncIterator[Chunk]:
        if call.framing == "sse":
            ended = False
            async for event, data in _sse_payloads(response):
                if ended:
                    continue
                if call.sentinel is not None and data.strip() == call.sentinel:
                    ended = True
                    yield Chunk(done=True)
                    continue
                yield self._decode(call, data, event)
        else:
            async for line in response.aiter_lines():
                if line.strip():
                    yield self._decode(call, line, "message")

    def _decode(self, call: Call, data: str, event: str) -> Chunk:
        try:
            payload = json.loads(data)
        except ValueError as exc:
            raise EngineError(
                f"backend '{self.name}' ({self.endpoint(call.path)}) sent a malformed event: "
                f"{error_excerpt(data)}"
            ) from exc
        if event == "error" or (isinstance(payload, dict) and "error" in payload):
            raise EngineError(
                f"backend '{self.name}' ({self.endpoint(call.path)}) failed mid-stream: "
                f"{error_excerpt(data)}"
            )
        if not isinstance(payload, dict):
            return Chunk()
        return call.decode(payload)

    # -- superseding -----------------------------------------------------------------------

    def _hold_key(self, key: str | None, response: httpx.Response) -> None:
        """Take `key` for this response; the request that held it is closed (newest wins)."""
        if key is None:
            return
        older = self._by_key.get(key)
        self._by_key[key] = response
        if older is not None and not older.is_closed:
            self._superseded.add(id(older))
            task = asyncio.get_running_loop().create_task(older.aclose())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    def _was_superseded(self, response: httpx.Response | None) -> bool:
        return response is not None and id(response) in self._superseded

    def _release_key(self, key: str | None, response: httpx.Response | None) -> bool:
        """Give up `key`; whether a newer request had taken it from this response."""
        if response is None:
            return False
        superseded = self._was_superseded(response)
        self._superseded.discard(id(response))
        if key is not None and self._by_key.get(key) is response:
            del self._by_key[key]
        return superseded

    # -- errors ----------------------------------------------------------------------------

    def _status_error(self, status: int, body: bytes, path: str) -> EngineError:
        phrase = httpx.codes.get_reason_phrase(status)
        return EngineError(
            f"backend '{self.name}' ({self.endpoint(path)}) answered HTTP {status} {phrase}: "
            f"{error_excerpt(body)}".rstrip(": ")
        )

    def _transport_error(
        self, exc: httpx.HTTPError, path: str, *, streaming: bool = False
    ) -> EngineError:
        where = f"backend '{self.name}' at {self.endpoint(path)}"
        if isinstance(exc, httpx.ConnectError):
            return EngineError(f"cannot reach {where}: {exc or 'connection refused'}")
        if isinstance(exc, httpx.TimeoutException):
            return EngineError(f"{where} did not answer within {self.timeout_s:g} s")
        if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError)) or streaming:
            detail = str(exc) or type(exc).__name__
            return EngineError(f"{where} closed the connection mid-answer ({detail})")
        return EngineError(f"request to {where} failed: {exc or type(exc).__name__}")
