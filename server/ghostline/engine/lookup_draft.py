"""Drafts for speculative decoding taken from the prompt itself (prompt lookup).

Code repeats itself: names, argument lists, whole lines of the context come back in what
the model writes. When the last few tokens written also occur earlier in the prompt or the
output, the tokens that followed them there are a cheap guess at what comes next. The
worker evaluates the guess in one batch and keeps the part the model itself picks from the
batch's logits (`worker.ModelRunner.generate`); those round slightly differently from
one-token evaluation, so a near tie can go the other way (docs/latency.md).

`DraftLength` adapts how far to guess from how much of the recent guesses the model kept,
and switches guessing off for a request where it does not pay.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

#: Longest and shortest n-gram matched at the end of the text (longest first).
MAX_NGRAM = 3
MIN_NGRAM = 2
#: Draft lengths: first guess, and bounds of the adaptation.
START_DRAFT = 4
MAX_DRAFT = 12
#: After this many drafts, guessing stops for the request when fewer than this share of
#: drafted tokens were kept (each draft costs a batch with a logits row per token).
JUDGE_AFTER_DRAFTS = 6
MIN_KEPT_SHARE = 0.25


def lookup_draft(history: Sequence[int], length: int, *, max_ngram: int = MAX_NGRAM,
                 min_ngram: int = MIN_NGRAM) -> list[int]:
    """Up to ``length`` tokens that followed the most recent earlier occurrence of the
    last n tokens of ``history`` (n from ``max_ngram`` down to ``min_ngram``); [] when
    the end of ``history`` occurs nowhere before."""
    if length <= 0:
        return []
    size = len(history)
    for n in range(max_ngram, min_ngram - 1, -1):
        if size <= n:
            continue
        tail = list(history[size - n:])
        # the most recent occurrence that has at least one token after it
        for start in range(size - n - 1, -1, -1):
            if history[start] == tail[0] and list(history[start:start + n]) == tail:
                follow = list(history[start + n:start + n + length])
                if follow:
                    return follow
    return []


@dataclass
class DraftLength:
    """How many tokens to draft next, from what the model kept of the drafts so far."""

    length: int = START_DRAFT
    drafted: int = 0
    kept: int = 0
    drafts: int = 0
    history: list[tuple[int, int]] = field(default_factory=list)

    @property
    def worth_it(self) -> bool:
        if self.drafts < JUDGE_AFTER_DRAFTS or self.drafted == 0:
            return True
        return self.kept / self.drafted >= MIN_KEPT_SHARE

    def record(self, drafted: int, kept: int) -> None:
        """One draft of ``drafted`` tokens, of which the model kept the first ``kept``."""
        self.drafts += 1
        self.drafted += drafted
        self.kept += kept
        self.history.append((drafted, kept))
        if kept == drafted:
            self.length = min(MAX_DRAFT, self.length + 2)
        else:
            self.length = max(1, min(self.length, kept + 1))
