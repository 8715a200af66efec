"""Prompts of other files kept as copies of their KV cells, so switching files is not cold.

llama-cpp-python's `Llama` reuses the longest common token prefix of the previous prompt.
Alone, that makes every switch between two files a cold prompt (about 1 s for 700 tokens on
two cores). Before the context moves on to an unrelated prompt, the cells of its sequence are
copied to host memory (`llama_state_seq_get_data`: about 10 MB and 7 ms for 600 tokens of the
default model); when a later prompt shares more with a snapshot than with the context, the
snapshot is written back (`llama_state_seq_set_data`, 2 ms) and only the rest is evaluated.

Measured alternatives (DESIGN.md and this module's history): `Llama.save_state` /
`load_state` took 1.3 s + 2.5 s for a 700-token state (they copy the logits too); a second
`Llama` costs about 350 MB; extra sequences in one context made every prompt about 29%
slower while they held cells (attention runs over every occupied cell). Restored cells are
the saved bytes: the model computes exactly what plain prefix reuse computes.
"""

from __future__ import annotations

import ctypes
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

#: Snapshots kept; with the default model each holds about 16 kB per token.
SNAPSHOTS = 4
#: A snapshot is worth restoring when it shares this many more tokens than the context.
MIN_GAIN = 32
#: The context is saved before it is overwritten when it holds at least this many tokens
#: and the new prompt shares less than half of them.
MIN_KEEP = 64


@dataclass
class _Snapshot:
    tokens: list[int]
    data: Any  # a ctypes byte array
    used: float


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    count = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        count += 1
    return count


class PromptSnapshots:
    """The snapshots of one `Llama` (its private state is used: `input_ids`, `n_tokens`,
    `ctx`)."""

    def __init__(self, llm: Any, llama_cpp: Any, limit: int = SNAPSHOTS) -> None:
        self.llm = llm
        self._lib = llama_cpp
        self.limit = limit
        self.snapshots: list[_Snapshot] = []
        self.restored = 0

    def prepare(self, tokens: Sequence[int]) -> int:
        """Make the context the best start for `tokens`; returns how many it already holds
        (the caller evaluates the rest)."""
        current = self.llm.input_ids[: self.llm.n_tokens].tolist()
        shared = common_prefix(current, tokens)
        best = max(self.snapshots, key=lambda s: common_prefix(s.tokens, tokens), default=None)
        best_shared = common_prefix(best.tokens, tokens) if best is not None else 0
        if best is not None and best_shared >= shared + MIN_GAIN:
            self._save(current)
            return best_shared if self._restore(best) else 0
        if len(current) >= MIN_KEEP and shared < len(current) // 2:
            self._save(current)
        return shared

    def _save(self, current: list[int]) -> None:
        """Copy the context's cells; replaces an older state of the same prompt (one that
        `current` extends or nearly matches), else the least recently used snapshot."""
        if len(current) < MIN_KEEP or self.limit <= 0:
            return
        for snapshot in self.snapshots:
            if common_prefix(snapshot.tokens, current) >= min(len(snapshot.tokens),
                                                              len(current)) - 8:
                self.snapshots.remove(snapshot)
                break
        if len(self.snapshots) >= self.limit:
            self.snapshots.remove(min(self.snapshots, key=lambda s: s.used))
        ctx = self.llm.ctx
        size = self._lib.llama_state_seq_get_size(ctx, 0)
        data = (ctypes.c_uint8 * size)()
        if self._lib.llama_state_seq_get_data(ctx, data, size, 0) != size:
            return  # nothing saved: this switch just starts cold later
        self.snapshots.append(_Snapshot(current, data, time.monotonic()))

    def _restore(self, snapshot: _Snapshot) -> bool:
        memory = self._lib.llama_get_memory(self.llm.ctx)
        self._lib.llama_memory_seq_rm(memory, 0, -1, -1)
        read = self._lib.llama_state_seq_set_data(self.llm.ctx, snapshot.data,
                                                  len(snapshot.data), 0)
        if read != len(snapshot.data):  # refused: the context is empty now, start cold
            self._lib.llama_memory_seq_rm(memory, 0, -1, -1)
            self.llm.n_tokens = 0
            self.snapshots.remove(snapshot)
            return False
        self.llm.input_ids[: len(snapshot.tokens)] = snapshot.tokens
        self.llm.n_tokens = len(snapshot.tokens)
        snapshot.used = time.monotonic()
        self.restored += 1
        return True

    def clear(self) -> None:
        self.snapshots.clear()
