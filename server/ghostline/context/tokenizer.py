"""Token counts in the server process: the model's own tokenizer, vocabulary only.

``llama_cpp.Llama(path, vocab_only=True)`` loads the vocabulary of a GGUF without its
weights (about 0.7 s and a few MB for Gemma 3), so context budgets are exact without a round
trip to the model worker. Until it is loaded (or where llama-cpp-python is missing) counts
are estimated from the length of the text.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, Protocol

log = logging.getLogger(__name__)

#: Characters per token for the estimate (code with a large vocabulary is about 3.5-4).
ESTIMATE_CHARS_PER_TOKEN = 3.5
_CACHE_SIZE = 4096


class TokenCounter(Protocol):
    def count(self, text: str) -> int:
        """Tokens of `text` without the BOS token."""
        ...


class EstimateCounter:
    """Length-based estimate: for tests, and while the real vocabulary loads."""

    def __init__(self, chars_per_token: float = ESTIMATE_CHARS_PER_TOKEN) -> None:
        self.chars_per_token = chars_per_token

    def count(self, text: str) -> int:
        return math.ceil(len(text) / self.chars_per_token) if text else 0


class VocabCounter:
    """Exact counts with a GGUF's tokenizer; results for repeated texts are cached."""

    def __init__(self, vocab: Any) -> None:
        self._vocab = vocab
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, int] = OrderedDict()

    @classmethod
    def load(cls, model_path: str | Path) -> VocabCounter:
        """Load the vocabulary of `model_path` (raises if llama-cpp-python cannot)."""
        import llama_cpp

        _quiet_llama_logs(llama_cpp)
        # verbose=True on purpose: with verbose=False llama-cpp-python silences loading by
        # pointing file descriptors 1 and 2 at /dev/null for a moment, process-wide. In the
        # server fd 1 is the LSP channel, so an answer written by another thread in that
        # moment would be lost and its request never answered. Logs are quieted above.
        # Its verbose prints go to Python's sys.stderr (not the fd): captured and dropped.
        with contextlib.redirect_stderr(io.StringIO()):
            vocab = llama_cpp.Llama(model_path=str(model_path), vocab_only=True,
                                    verbose=True, n_ctx=16, n_batch=16)
        return cls(vocab)

    def tokenize(self, text: str) -> list[int]:
        """Token ids of `text` (special tokens parsed, no BOS)."""
        with self._lock:
            return list(self._vocab.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def count(self, text: str) -> int:
        if not text:
            return 0
        with self._lock:
            cached = self._cache.get(text)
            if cached is not None:
                self._cache.move_to_end(text)
                return cached
            count = len(self._vocab.tokenize(text.encode("utf-8"), add_bos=False, special=True))
            self._cache[text] = count
            if len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
            return count


class CounterSlot:
    """The counter for the current model, loaded in the background on first need.

    ``get(path)`` returns the exact counter once the vocabulary of `path` is loaded and the
    estimate until then (or forever, if loading fails).
    """

    def __init__(self, fallback: TokenCounter | None = None) -> None:
        self.fallback = fallback or EstimateCounter()
        self._path: str | None = None
        self._counter: TokenCounter | None = None
        self._loading: threading.Thread | None = None
        self._lock = threading.Lock()

    def get(self, model_path: str | Path | None, wait: bool = False) -> TokenCounter:
        if not model_path:
            return self.fallback
        path = str(model_path)
        with self._lock:
            if self._path == path and self._counter is not None:
                return self._counter
            if self._path != path or self._loading is None:
                self._path, self._counter = path, None
                self._loading = threading.Thread(target=self._load, args=(path,), daemon=True)
                self._loading.start()
            loading = self._loading
        if wait:
            loading.join()
            with self._lock:
                if self._path == path and self._counter is not None:
                    return self._counter
        return self.fallback

    def _load(self, path: str) -> None:
        try:
            counter: TokenCounter = VocabCounter.load(path)
        except Exception as exc:  # no llama-cpp-python, not a GGUF: estimate instead
            log.warning("token counts are estimated: cannot load the vocabulary of %s: %s",
                        path, exc)
            counter = self.fallback
        with self._lock:
            if self._path == path:
                self._counter = counter


_LOG_CALLBACK: Any = None


def _quiet_llama_logs(llama_cpp: Any) -> None:
    """Send llama.cpp's own log lines to Python logging at debug level (once per process),
    instead of printing its loading chatter on stderr."""
    global _LOG_CALLBACK
    if _LOG_CALLBACK is not None:
        return

    def forward(level: int, text: bytes, user_data: Any) -> None:
        log.debug("llama.cpp: %s", text.decode("utf-8", "replace").rstrip())

    _LOG_CALLBACK = llama_cpp.llama_log_callback(forward)  # kept: C holds a raw pointer
    llama_cpp.llama_log_set(_LOG_CALLBACK, None)
