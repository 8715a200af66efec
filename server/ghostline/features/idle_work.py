"""Idle-time work for inline completion: one piece at a time, a bounded number per minute.

Two kinds of work use the model while the user is not waiting for it: reading the prompt
of the place the cursor rests at into the KV cache (a prefill), and preparing the
suggestion for where accepting the shown one leads. Both are started only by something the
user did (a cursor that came to rest, a suggestion shown), so an editor left alone starts
nothing; a newer piece replaces the one running; and at most `per_minute` start in any
minute, so a cursor moving all day cannot keep the cores busy. Any real request cancels
the model work in the engine (`GenerationRequest.background`), so none of this delays one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

#: Pieces of idle-time work started per minute at most.
IDLE_WORK_PER_MINUTE = 30


class IdleWork:
    """Runs idle-time work in the background (see the module docstring)."""

    def __init__(self, per_minute: int = IDLE_WORK_PER_MINUTE,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._started: deque[float] = deque()
        self._task: asyncio.Task[object] | None = None
        #: Started, and refused for the per-minute bound (`ghostline.status`).
        self.counts = {"started": 0, "refused": 0}

    def submit(self, work: Callable[[], Awaitable[object]]) -> bool:
        """Start `work` in place of the piece running now; False when the minute's bound is
        reached (nothing starts)."""
        now = self._clock()
        while self._started and now - self._started[0] >= 60.0:
            self._started.popleft()
        if len(self._started) >= self.per_minute:
            self.counts["refused"] += 1
            return False
        self.cancel()
        self._started.append(now)
        self.counts["started"] += 1
        self._task = asyncio.ensure_future(self._run(work))
        return True

    @staticmethod
    async def _run(work: Callable[[], Awaitable[object]]) -> object:
        try:
            return await work()
        except asyncio.CancelledError:
            raise
        except Exception:  # idle-time work is a bonus: its failure must not surface
            log.exception("idle-time work failed")
            return None

    @property
    def busy(self) -> bool:
        """Whether a piece is running now."""
        return self._task is not None and not self._task.done()

    def cancel(self) -> None:
        """Stop the piece running now, if any."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
        self._task = None

    async def settled(self) -> object:
        """The result of the piece running now (None when there is none or it was
        cancelled): for tests and benchmarks that wait for idle time to pass."""
        task = self._task
        if task is None:
            return None
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            return None
