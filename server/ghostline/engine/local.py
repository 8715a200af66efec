"""The embedded backend: an asyncio client of the model worker subprocess.

One worker serves requests in order. A request with a `key` cancels the older request with
the same key (the newest keystroke in a document wins). If the worker dies, in-flight
requests fail with `WorkerCrashed` and the next request starts a new worker. A model that
fails to load raises `ModelLoadError`; the error is remembered for a while so a broken
model path does not spawn a process per keystroke, unless the model file changes meanwhile
(put back, replaced): then the next request loads it at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import signal
import sys
import time
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

from ghostline.engine.base import (
    EngineError,
    Finished,
    GenerationRequest,
    ModelInfo,
    ModelLoadError,
    StreamItem,
    Token,
    WorkerCrashed,
)
from ghostline.engine.model_files import ModelNotAvailable, resolve_model_path
from ghostline.engine.protocol import encode_frame, read_frame

log = logging.getLogger(__name__)

#: How long a load failure is remembered before the next request tries again.
LOAD_RETRY_S = 15.0
_CRASH = object()


class _DiedEarly(WorkerCrashed):
    """The worker died while a request was in flight (it may have produced output)."""


class LocalEngine:
    """Engine backed by the worker subprocess (llama.cpp through llama-cpp-python)."""

    name = "local"

    def __init__(
        self,
        model: str = "",
        *,
        context_size: int = 2048,
        threads: int = 0,
        self_test: bool = True,
        lookup_draft: bool = False,
        draft_model: str = "",
    ) -> None:
        self.model = model
        self.context_size = context_size
        self.threads = threads
        self.self_test = self_test
        #: Speculative decoding with drafts from the prompt (the worker's decode loop).
        self.lookup_draft = lookup_draft
        #: A smaller model of the same vocabulary that drafts for speculative decoding
        #: (a GGUF path or a packaged model's name; empty: none).
        self.draft_model = draft_model
        #: Why the worker serves without the draft model asked for ("" when it uses it).
        self.draft_model_error = ""
        self.info: ModelInfo | None = None
        self.restarts = 0
        self._process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._pending: dict[int, asyncio.Queue[Any]] = {}
        self._latest_by_key: dict[str, int] = {}
        #: Background requests in flight: any other generation cancels them first.
        self._background: set[int] = set()
        self._ids = itertools.count(1)
        self._start_lock = asyncio.Lock()
        #: When the last load failed, why, and the model file's state then.
        self._load_error: tuple[float, ModelLoadError, object] | None = None
        self._loading_pid: int | None = None

    # -- lifecycle ----------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.returncode is None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self.running and self._process else None

    async def start(self) -> ModelInfo:
        async with self._start_lock:
            if self.running and self.info is not None:
                return self.info
            if self._load_error is not None:
                failed_at, error, file_then = self._load_error
                if (time.monotonic() - failed_at < LOAD_RETRY_S
                        and self._model_file_state() == file_then):
                    raise error
            file_now = self._model_file_state()
            try:
                self.info = await self._spawn()
            except ModelLoadError as exc:
                self._load_error = (time.monotonic(), exc, file_now)
                raise
            self._load_error = None
            return self.info

    def _model_file_state(self) -> object:
        """What identifies the configured model file's content now (None: no such file).
        A load failure is retried at once when this changes: the file was put back."""
        if not self.model:
            return None
        try:
            stat = os.stat(os.path.expanduser(self.model))
        except OSError:
            return None
        return (stat.st_ino, stat.st_size, stat.st_mtime_ns)

    async def _spawn(self) -> ModelInfo:
        try:
            # Off the event loop: `auto` may measure the models once, assembling may copy.
            path = await asyncio.to_thread(resolve_model_path, self.model)
        except ModelNotAvailable as exc:
            raise ModelLoadError(str(exc)) from exc
        args = [sys.executable, "-m", "ghostline.engine.worker", "--model", str(path),
                "--n-ctx", str(self.context_size), "--threads", str(self.threads)]
        if not self.self_test:
            args.append("--no-self-test")
        if self.draft_model:
            try:
                draft_path = await asyncio.to_thread(resolve_model_path, self.draft_model)
            except ModelNotAvailable as exc:
                self.draft_model_error = f"draft model: {exc}"
                log.warning("serving without a draft model: %s", self.draft_model_error)
            else:
                args += ["--draft-model", str(draft_path)]
        if self._process is not None:
            self.restarts += 1
        process = await asyncio.create_subprocess_exec(
            *args, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
        )
        assert process.stdout is not None
        self._loading_pid = process.pid
        try:
            first = await read_frame(process.stdout)
        except BaseException:  # cancelled (the server is exiting) or a garbled pipe
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            raise
        finally:
            self._loading_pid = None
        if first is None or first.get("type") != "ready":
            message = (first or {}).get("message") or "the worker exited while loading"
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
            raise ModelLoadError(f"could not load model {path}: {message}")
        self._process = process
        self._reader = asyncio.create_task(self._read_loop(process))
        raw = first["info"]
        info = ModelInfo(
            name=raw.get("name", ""), path=raw.get("path", ""),
            context_size=int(raw.get("context_size", 0)),
            special_tokens=list(raw.get("special_tokens", [])),
            metadata=dict(raw.get("metadata", {})),
            has_chat_template=bool(raw.get("has_chat_template")),
            self_test=str(raw.get("self_test", "not run")),
        )
        log.info("model %s loaded in %.2fs (self-test: %s)", info.name,
                 raw.get("load_s", 0.0), info.self_test)
        if raw.get("draft_model_error"):
            self.draft_model_error = str(raw["draft_model_error"])
            log.warning("serving without a draft model: %s", self.draft_model_error)
        elif raw.get("draft_model"):
            self.draft_model_error = ""
            log.info("draft model %s drafts for speculative decoding", raw["draft_model"])
        return info

    def terminate(self) -> None:
        """Stop the worker now, loaded or still loading. Only sends a signal, so any thread
        may call it (the server does when the client is gone)."""
        for pid in (self.pid, self._loading_pid):
            if pid is not None:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGTERM)

    async def close(self) -> None:
        process = self._process
        self._process = None
        if process is not None and process.returncode is None:
            assert process.stdin is not None
            with contextlib.suppress(Exception):
                process.stdin.write(encode_frame({"type": "shutdown"}))
                await process.stdin.drain()
                process.stdin.close()
            try:
                await asyncio.wait_for(process.wait(), timeout=2)
            except asyncio.TimeoutError:
                process.kill()
                await process.wait()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader

    async def _read_loop(self, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None
        try:
            while True:
                frame = await read_frame(process.stdout)
                if frame is None:
                    break
                queue = self._pending.get(int(frame.get("id", 0)))
                if queue is not None:
                    queue.put_nowait(frame)
        except Exception as exc:
            log.error("model worker protocol error: %s", exc)
        code = await process.wait()
        if self._process is process:
            log.error("model worker exited with code %s", code)
        for queue in self._pending.values():
            queue.put_nowait(_CRASH)

    # -- requests -----------------------------------------------------------------------

    async def _send(self, message: dict[str, Any]) -> None:
        process = self._process
        if process is None or process.returncode is not None or process.stdin is None:
            raise WorkerCrashed("the model worker is not running")
        try:
            process.stdin.write(encode_frame(message))
            await process.stdin.drain()
        except (ConnectionError, RuntimeError) as exc:
            raise WorkerCrashed(f"the model worker stopped: {exc}") from exc

    async def _request(self, message: dict[str, Any]) -> tuple[int, asyncio.Queue[Any]]:
        """Send a request, starting the worker if needed. A worker found dead when the
        request is written (it died since the last answer, not yet noticed) is replaced
        once: the request never ran, so nothing is lost by sending it again."""
        for attempt in (1, 2):
            await self.start()
            process = self._process
            request_id = next(self._ids)
            queue: asyncio.Queue[Any] = asyncio.Queue()
            self._pending[request_id] = queue
            try:
                await self._send({**message, "id": request_id})
            except WorkerCrashed:
                self._pending.pop(request_id, None)
                if attempt == 2 or process is None:
                    raise
                await self._reap(process)
                continue
            except BaseException:
                self._pending.pop(request_id, None)
                raise
            return request_id, queue
        raise AssertionError("unreachable")

    @staticmethod
    async def _reap(process: asyncio.subprocess.Process) -> None:
        """Wait for a worker whose pipe broke to be gone (killed if it lingers)."""
        try:
            await asyncio.wait_for(process.wait(), timeout=2)
        except asyncio.TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()

    async def stream(self, request: GenerationRequest) -> AsyncIterator[StreamItem]:
        message: dict[str, Any] = {
            "type": "generate",
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "stop": request.stop,
            "time_limit_s": request.time_limit_s,
            "preferred_first": request.preferred_first,
            "preferred_bias": request.preferred_bias,
            "avoid_first": request.avoid_first,
            "reuse_cache": request.reuse_cache,
            "lookup_draft": self.lookup_draft,
            "model_draft": bool(self.draft_model),
            "background": request.background,
        }
        if request.prompt is not None:
            message["prompt"] = request.prompt
        else:
            message["messages"] = [
                {"role": m.role, "content": m.content} for m in request.messages or []
            ]
        if not request.background:
            await self._cancel_background()
        if request.key is not None:
            older = self._latest_by_key.get(request.key)
            if older is not None and older in self._pending:
                with contextlib.suppress(EngineError):
                    await self._send({"type": "cancel", "id": older})
        for attempt in (1, 2):
            produced = False
            try:
                async with contextlib.aclosing(self._stream_once(message, request.key)) as items:
                    async for item in items:
                        produced = True
                        yield item
                return
            except _DiedEarly:
                if produced or attempt == 2:
                    raise WorkerCrashed(
                        "the model worker crashed during generation; it restarts on the "
                        "next request"
                    ) from None
            # It died before answering anything (killed, or gone between two requests
            # before anyone noticed): nothing was shown, so a new worker can take it over.
            log.warning("the model worker died before answering; asking a new one")

    async def _stream_once(
        self, message: dict[str, Any], key: str | None
    ) -> AsyncGenerator[StreamItem, None]:
        """One generation on the current worker. If the worker dies: `_DiedEarly` (worth
        asking again), or `WorkerCrashed` when a newer request with the same key took over."""
        request_id, queue = await self._request(message)
        if key is not None:
            self._latest_by_key[key] = request_id
        if message.get("background"):
            self._background.add(request_id)
        finished = False
        try:
            while True:
                frame = await queue.get()
                if frame is _CRASH:
                    if key is None or self._latest_by_key.get(key) == request_id:
                        raise _DiedEarly("the model worker crashed during generation")
                    raise WorkerCrashed("the model worker crashed during generation")
                kind = frame["type"]
                if kind == "token":
                    yield Token(text=frame["text"], logprob=frame.get("logprob"))
                elif kind == "done":
                    finished = True
                    yield Finished(
                        reason=frame.get("reason", "stop"),
                        prompt_tokens=frame.get("prompt_tokens", 0),
                        cached_tokens=frame.get("cached_tokens", 0),
                        generated_tokens=frame.get("generated_tokens", 0),
                        first_token_s=frame.get("first_token_s"),
                        total_s=frame.get("total_s", 0.0),
                        backend=self.name,
                        drafted_tokens=frame.get("drafted_tokens", 0),
                        kept_draft_tokens=frame.get("kept_draft_tokens", 0),
                    )
                    return
                elif kind == "error":
                    finished = True
                    raise EngineError(f"the model worker failed: {frame.get('message')}")
        finally:
            self._pending.pop(request_id, None)
            self._background.discard(request_id)
            if key is not None and self._latest_by_key.get(key) == request_id:
                del self._latest_by_key[key]
            if not finished and self.running:
                with contextlib.suppress(EngineError):
                    await self._send({"type": "cancel", "id": request_id})

    async def _cancel_background(self) -> None:
        """Stop idle-time work so the request that follows starts at once (the worker's
        abort callback ends a prompt evaluation within a graph node)."""
        for request_id in list(self._background):
            if request_id in self._pending:
                with contextlib.suppress(EngineError):
                    await self._send({"type": "cancel", "id": request_id})

    async def count_tokens(self, text: str) -> int:
        request_id, queue = await self._request({"type": "tokenize", "text": text})
        try:
            frame = await queue.get()
        finally:
            self._pending.pop(request_id, None)
        if frame is _CRASH:
            raise WorkerCrashed("the model worker crashed while counting tokens")
        if frame.get("type") != "tokens":
            raise EngineError(f"the model worker failed: {frame.get('message')}")
        return int(frame["count"])
