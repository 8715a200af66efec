"""Drafts for speculative decoding from a smaller model with the same vocabulary.

The worker's decode loop checks a draft in one batch of the main model and keeps the part
the main model itself picks (`worker.ModelRunner.generate`). Prompt lookup
(`lookup_draft`) finds drafts only where the text repeats itself; a small model of the same
family (Qwen2.5-Coder-0.5B for the 1.5B) guesses everywhere, at the price of its own
decoding: each drafted token is one evaluation of the small model.

The draft model keeps its own KV cache of the text so far. Before each draft it is brought
to the main model's text by evaluating what it has not seen (after a rejected draft, it
forgets its own guesses past the first token the main model did not keep).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

#: Tokens the draft model reads between checks for a cancel while it catches up.
CATCH_UP_SLICE = 128
#: A text both vocabularies must tokenize the same way (code, names, special spacing).
_VOCABULARY_PROBE = "def fetch_rows(self, limit: int = 10) -> list[dict]:\n\treturn [] # ok\n"


class DraftModelMismatch(ValueError):
    """The draft model cannot serve the main model (another vocabulary)."""


class DraftModel:
    """A second llama.cpp context that guesses the main model's next tokens greedily."""

    def __init__(self, llama_cpp: Any, model_path: str, n_ctx: int, n_threads: int) -> None:
        self._llama_cpp = llama_cpp
        self.path = model_path
        self.llm = llama_cpp.Llama(model_path=model_path, n_ctx=n_ctx, n_threads=n_threads,
                                   n_threads_batch=n_threads, n_batch=512, verbose=False)
        self.n_vocab = self.llm.n_vocab()

    def check_serves(self, main: Any) -> None:
        """Raise DraftModelMismatch unless ``main`` (a llama_cpp.Llama) has this vocabulary."""
        if main.n_vocab() != self.n_vocab:
            raise DraftModelMismatch(
                f"draft model {self.path} has {self.n_vocab} tokens, the model "
                f"{main.n_vocab()}: a draft model must share the model's vocabulary")
        probe = _VOCABULARY_PROBE.encode("utf-8")
        ours = self.llm.tokenize(probe, add_bos=False, special=True)
        theirs = main.tokenize(probe, add_bos=False, special=True)
        if ours != theirs:
            raise DraftModelMismatch(
                f"draft model {self.path} tokenizes text differently from the model: a "
                "draft model must share the model's vocabulary")

    def draft(self, history: Sequence[int], length: int,
              cancelled: Callable[[], bool]) -> list[int]:
        """Up to ``length`` tokens the draft model picks greedily after ``history`` (the
        main model's prompt and text so far, its last token included); fewer when it
        picks an end of generation, none when ``cancelled`` turns true."""
        if length <= 0 or not history or not self.catch_up(history, cancelled):
            return []
        lib = self._llama_cpp
        drafted: list[int] = []
        for position in range(length):
            logits = np.ctypeslib.as_array(lib.llama_get_logits_ith(self.llm.ctx, -1),
                                           shape=(self.n_vocab,))
            token = int(np.argmax(logits))
            if lib.llama_vocab_is_eog(self.llm._model.vocab, token):
                break
            drafted.append(token)
            if position == length - 1 or cancelled():
                break
            self.llm.eval([token])
        return drafted

    def catch_up(self, history: Sequence[int], cancelled: Callable[[], bool]) -> bool:
        """Bring the draft model's cache to ``history``: keep the longest common prefix
        (but evaluate the last token again for its logits), read the rest. False when
        cancelled or when ``history`` is longer than the draft model's context."""
        llm = self.llm
        if len(history) >= llm.n_ctx():
            return False  # past the draft's context: no guesses for this text
        limit = min(llm.n_tokens, len(history) - 1)
        differs = np.flatnonzero(llm.input_ids[:limit] != np.asarray(history[:limit]))
        common = int(differs[0]) if differs.size else limit
        llm.n_tokens = common
        # In slices, so a cancel waits for one slice, not for a whole prompt.
        for start in range(common, len(history), CATCH_UP_SLICE):
            if cancelled():
                return False
            llm.eval(list(history[start:start + CATCH_UP_SLICE]))
        return True
