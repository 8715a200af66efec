"""A cold request sized to arrive in time: `coldBudgetMs` for the first prompt of a place.

When the model's cache holds nothing of a prompt (a file just opened, no idle time to read
it ahead), reading the whole window can take seconds with a real code model on a laptop
CPU. Such a request gets a window sized from the prompt speed measured on this machine so
its first token is due within the budget; the idle-time work that follows a shown
suggestion then reads the full window for the next request.

Two facts decide, both learnt from the requests themselves (no extra probe):
- the prompt speed: prompt tokens evaluated per second of time to first token, a moving
  average over requests that read enough tokens to say;
- whether a prompt is cold: it shares little of its text with the last prompts sent (the
  worker keeps its context and a few snapshots of recent prompts, `kv_snapshots`).
"""

from __future__ import annotations

import time
from collections import deque

from ghostline.engine.base import Finished

#: Prompts remembered for the "is it cold" check (the worker's context and snapshots).
RECENT_PROMPTS = 5
#: A prompt sharing less than this share of its text with every recent prompt is cold.
COLD_SHARE = 0.25
#: Requests that read fewer tokens than this say little about the prompt speed.
MIN_TOKENS_TO_MEASURE = 48
#: Weight of the newest measurement in the moving average.
SMOOTHING = 0.3
#: Part of the budget left for the first decoded token and the server's own work.
DECODE_RESERVE_S = 0.15
#: The smallest window a cold request gets, in tokens (a few lines around the cursor).
MIN_COLD_TOKENS = 96


def _cold_against(prompt: str, other: str) -> bool:
    return _shared_chars(prompt, other) < COLD_SHARE * len(prompt)


def _shared_chars(a: str, b: str) -> int:
    limit = min(len(a), len(b))
    count = 0
    while count < limit and a[count] == b[count]:
        count += 1
    return count


class ColdWindow:
    """Remembers recent prompts and the measured prompt speed of one completer's model."""

    def __init__(self) -> None:
        self.prompt_tps: float | None = None
        self._recent: deque[str] = deque(maxlen=RECENT_PROMPTS)
        #: A prefill in progress: its prompt and when it started.
        self._reading: tuple[str, float] | None = None

    def reading(self, prompt: str | None) -> None:
        """A prefill of `prompt` started (None: it ended)."""
        self._reading = None if prompt is None else (prompt, time.monotonic())

    def sent(self, prompt: str) -> None:
        """A prompt the model read (a request or a prefill)."""
        if prompt in self._recent:
            self._recent.remove(prompt)
        self._recent.append(prompt)

    def measured(self, finished: Finished | None) -> None:
        """Learn the prompt speed from a finished request."""
        if finished is None or not finished.first_token_s or finished.first_token_s <= 0:
            return
        read = finished.prompt_tokens - finished.cached_tokens
        if read < MIN_TOKENS_TO_MEASURE:
            return
        speed = read / finished.first_token_s
        self.prompt_tps = (speed if self.prompt_tps is None
                           else (1 - SMOOTHING) * self.prompt_tps + SMOOTHING * speed)

    def is_cold(self, prompt: str) -> bool:
        return all(_cold_against(prompt, recent) for recent in self._recent)

    def window_tokens(self, prompt: str, budget_ms: int, prompt_tokens: int) -> int | None:
        """The window for a request whose full prompt is `prompt` (`prompt_tokens` long):
        None for the full one (the model has most of it, or reads it within the budget,
        also counting what a prefill of it in progress has read), else the smaller window
        of `tokens_within`."""
        if not self.is_cold(prompt):
            return None
        reading = self._reading
        if reading is not None and self.prompt_tps and not _cold_against(prompt, reading[0]):
            read = (time.monotonic() - reading[1]) * self.prompt_tps
            rest_s = max(prompt_tokens - read, 0) / self.prompt_tps
            if rest_s <= budget_ms / 1000 - DECODE_RESERVE_S:
                return None
        return self.tokens_within(budget_ms, prompt_tokens)

    def tokens_within(self, budget_ms: int, prompt_tokens: int) -> int | None:
        """The window (in tokens) a cold request can read within `budget_ms`; None when the
        full `prompt_tokens` fit, the budget is off, or the speed is not known yet."""
        if budget_ms <= 0 or self.prompt_tps is None:
            return None
        fits = int(self.prompt_tps * max(budget_ms / 1000 - DECODE_RESERVE_S, 0.0))
        if fits >= prompt_tokens:
            return None
        return max(fits, MIN_COLD_TOKENS)
