"""Several prompts kept in one llama.cpp context, so switching files does not start cold.

llama-cpp-python's `Llama` evaluates everything in sequence 0 and reuses the longest common
prefix of the previous prompt. Alone, that makes every switch between two files a cold
prompt. Here the context is created with a few extra sequences ("slots"); before sequence 0
moves on to an unrelated prompt, its cells are copied into a slot (`llama_memory_seq_cp`: no
recomputation, the cells are shared), and when a later prompt shares more with a slot than
with sequence 0, the slot is copied back. DESIGN.md has the alternatives measured with the
default model: `save_state` + `load_state` of a 700-token state took 1.3 s + 2.5 s against
1.1 s to evaluate it again, and a second `Llama` costs about 350 MB.

The cells of all sequences share the context's `n_ctx`: slots are dropped (least recently used
first) to leave room for the next prompt, and should the context still fill up, all of them
are dropped and the evaluation is tried again.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

#: Extra sequences kept besides sequence 0.
SLOTS = 3
#: A slot is worth restoring when it shares this many more tokens than sequence 0 does.
MIN_GAIN = 32
#: Sequence 0 is kept in a slot before it is overwritten when it holds at least this many
#: tokens and the new prompt shares less than half of them.
MIN_KEEP = 64


@dataclass
class _Slot:
    seq_id: int
    tokens: list[int] = field(default_factory=list)
    used: float = 0.0


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    count = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        count += 1
    return count


@contextlib.contextmanager
def extra_sequences(llama_cpp: Any, count: int = SLOTS) -> Iterator[None]:
    """While a `Llama` is created inside this block, its context gets ``1 + count``
    sequences in one unified KV cache (llama-cpp-python only does that for embeddings)."""
    original = llama_cpp.llama_context_default_params

    def params() -> Any:
        made = original()
        made.n_seq_max = 1 + count
        made.kv_unified = True
        return made

    llama_cpp.llama_context_default_params = params
    try:
        yield
    finally:
        llama_cpp.llama_context_default_params = original


class PromptSlots:
    """Sequence 0 plus `SLOTS` saved prompts of one `Llama` (its private state is used:
    `input_ids`, `n_tokens`, `_ctx`, `_batch`)."""

    def __init__(self, llm: Any, llama_cpp: Any, enabled: bool = True) -> None:
        self.llm = llm
        self._lib = llama_cpp
        self.enabled = enabled
        self.slots = [_Slot(seq_id) for seq_id in range(1, SLOTS + 1)] if enabled else []
        self.restored = 0

    # -- choosing the start ------------------------------------------------------------

    def prepare(self, tokens: Sequence[int], room: int = 0) -> int:
        """Make sequence 0 the best start for `tokens` (followed by up to `room` generated
        tokens); returns how many tokens it already holds."""
        current = self.llm.input_ids[: self.llm.n_tokens].tolist()
        shared = common_prefix(current, tokens)
        if not self.enabled:
            return shared
        best_shared, best = max(((common_prefix(s.tokens, tokens), s) for s in self.slots),
                                key=lambda pair: pair[0])
        if best_shared >= shared + MIN_GAIN:
            self._keep(current, spare=best)
            self._restore(best)
            shared = best_shared
        elif len(current) >= MIN_KEEP and shared < len(current) // 2:
            self._keep(current)
        self._make_room(len(tokens) + room)
        return shared

    def _make_room(self, needed: int) -> None:
        """Drop the least recently used slots until sequence 0's `needed` cells fit beside
        the others (counted as if they shared nothing: a safe overestimate)."""
        while True:
            kept = [s for s in self.slots if s.tokens]
            if not kept or sum(len(s.tokens) for s in kept) + needed <= self.llm.n_ctx():
                return
            oldest = min(kept, key=lambda s: s.used)
            self._lib.llama_memory_seq_rm(self._memory(), oldest.seq_id, -1, -1)
            oldest.tokens = []

    def _keep(self, current: list[int], spare: _Slot | None = None) -> None:
        """Copy sequence 0 into a slot: the one holding the same prompt, else the least
        recently used one other than `spare` (about to be restored)."""
        if len(current) < MIN_KEEP:
            return
        same = [s for s in self.slots if s is not spare
                and common_prefix(s.tokens, current) >= len(current) - 8]
        others = [s for s in self.slots if s is not spare]
        if not others:
            return
        slot = same[0] if same else min(others, key=lambda s: s.used)
        memory = self._memory()
        self._lib.llama_memory_seq_rm(memory, slot.seq_id, -1, -1)
        self._lib.llama_memory_seq_cp(memory, 0, slot.seq_id, -1, -1)
        slot.tokens, slot.used = current, time.monotonic()

    def _restore(self, slot: _Slot) -> None:
        memory = self._memory()
        self._lib.llama_memory_seq_rm(memory, 0, -1, -1)
        self._lib.llama_memory_seq_cp(memory, slot.seq_id, 0, -1, -1)
        self.llm.input_ids[: len(slot.tokens)] = slot.tokens
        self.llm.n_tokens = len(slot.tokens)
        slot.used = time.monotonic()
        self.restored += 1

    def _memory(self) -> Any:
        return self._lib.llama_get_memory(self.llm.ctx)

    # -- evaluating in sequence 0 ----------------------------------------------------------

    def eval(self, tokens: Sequence[int]) -> None:
        """`Llama.eval` for sequence 0 only (Llama's own clears the slots' tail too); when
        the shared cells run out, the slots are dropped and it is tried once more."""
        before = self.llm.n_tokens
        try:
            self._eval(tokens)
        except RuntimeError:
            if not any(s.tokens for s in self.slots):
                raise
            log.info("context full: dropping the saved prompts")
            self.clear_slots()
            self._eval(tokens[self.llm.n_tokens - before :])

    def clear_slots(self) -> None:
        memory = self._memory()
        for slot in self.slots:
            if slot.tokens:
                self._lib.llama_memory_seq_rm(memory, slot.seq_id, -1, -1)
                slot.tokens = []

    def _eval(self, tokens: Sequence[int]) -> None:
        llm = self.llm
        if not self.enabled:
            llm.eval(tokens)
            return
        llm._ctx.kv_cache_seq_rm(0, llm.n_tokens, -1)
        for start in range(0, len(tokens), llm.n_batch):
            batch = list(tokens[start : start + llm.n_batch])
            n_past = llm.n_tokens
            llm._batch.set_batch(batch=batch, n_past=n_past, logits_all=False)
            llm._ctx.decode(llm._batch)
            llm.input_ids[n_past : n_past + len(batch)] = batch
            llm.n_tokens += len(batch)
