"""The embedded backend: an asyncio client of the model worker subprocess.

One worker serves requests in order. A request with a `key` cancels the older request with
the same key (the newest keystroke in a document wins). If the worker dies, in-flight
requests fail with `WorkerCrashed` and the next request starts a new worker. A model that
fails to load raises `ModelLoadError`; the error is remembered for a while so a broken
model path does not spawn a process per keystroke.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import sys
import time
from collections.abc import AsyncIterator
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
    ) -> None:
        self.model = model
        self.context_size = context_size
        self.threads = threads
        self.self_test = self_test
        self.info: ModelInfo | None = None
        self.restarts = 0
        self._process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._pending: dict[int, asyncio.Queue[Any]] = {}
        self._latest_by_key: dict[str, int] = {}
        self._ids = itertools.count(1)
        self._start_lock = asyncio.Lock()
        self._load_error: tuple[float, ModelLoadError] | None = None

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
            if self._load_error and time.monotonic() - self._load_error[0] < LOAD_RETRY_S:
                raise self._load_error[1]
            try:
                self.info = await self._spawn()
            except ModelLoadError as exc:
                self._load_error = (time.monotonic(), exc)
                raise
            self._load_error = None
            return self.info

    async def _spawn(self) -> ModelInfo:
        try:
            path = resolve_model_path(self.model)
        except ModelNotAvailable as exc:
            raise ModelLoadError(str(exc)) from exc
        args = [sys.executable, "-m", "ghostline.engine.worker", "--model", str(path),
                "--n-ctx", str(self.context_size), "--threads", str(self.threads)]
        if not self.self_test:
            args.append("--no-self-test")
        if self._process is not None:
            self.restarts += 1
        process = await asyncio.create_subprocess_exec(
            *args, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
        )
        assert process.stdout is not None
        first = await read_frame(process.stdout)
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
        return info

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
        await self.start()
        request_id = next(self._ids)
        queue: asyncio.Queue[Any] = asyncio.Queue()
        self._pending[request_id] = queue
        try:
            await self._send({**message, "id": request_id})
        except BaseException:
            self._pending.pop(request_id, None)
            raise
        return request_id, queue

    async def stream(self, request: GenerationRequest) -> AsyncIterator[StreamItem]:
        message: dict[str, Any] = {
            "type": "generate",
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "stop": request.stop,
            "time_limit_s": request.time_limit_s,
            "preferred_first": request.preferred_first,
        }
        if request.prompt is not None:
            message["prompt"] = request.prompt
        else:
            message["messages"] = [
                {"role": m.role, "content": m.content} for m in request.messages or []
            ]
        if request.key is not None:
            older = self._latest_by_key.get(request.key)
            if older is not None and older in self._pending:
                with contextlib.suppress(EngineError):
                    await self._send({"type": "cancel", "id": older})
        request_id, queue = await self._request(message)
        if request.key is not None:
            self._latest_by_key[request.key] = request_id
        finished = False
        try:
            while True:
                frame = await queue.get()
                if frame is _CRASH:
                    raise WorkerCrashed(
                        "the model worker crashed during generation; it restarts on the "
                        "next request"
                    )
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
                    )
                    return
                elif kind == "error":
                    finished = True
                    raise EngineError(f"the model worker failed: {frame.get('message')}")
        finally:
            self._pending.pop(request_id, None)
            if request.key is not None and self._latest_by_key.get(request.key) == request_id:
                del self._latest_by_key[request.key]
            if not finished and self.running:
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
