import os
from pathlib import Path
from typing import Any

import pytest

from ghostline.context.tokenizer import CounterSlot, EstimateCounter, VocabCounter
from ghostline.engine.model_files import resolve_model_path


class FakeVocab:
    def __init__(self) -> None:
        self.calls = 0

    def tokenize(self, data: bytes, add_bos: bool, special: bool) -> list[Any]:
        self.calls += 1
        assert not add_bos and special
        return data.split()


def test_estimate_rounds_up() -> None:
    assert EstimateCounter(3.5).count("abcdefgh") == 3
    assert EstimateCounter().count("") == 0


def test_vocab_counter_counts_and_caches() -> None:
    vocab = FakeVocab()
    counter = VocabCounter(vocab)
    assert counter.count("a b c") == 3
    assert counter.count("a b c") == 3
    assert vocab.calls == 1
    assert counter.count("") == 0


def test_slot_falls_back_to_the_estimate_when_loading_fails(tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"not a model")
    fallback = EstimateCounter(1.0)
    slot = CounterSlot(fallback)
    assert slot.get(None) is fallback
    assert slot.get(broken, wait=True) is fallback
    assert slot.get(broken).count("abcd") == 4


def test_loading_the_real_vocabulary_leaves_stdout_and_stderr_alone(
        monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]) -> None:
    """In the server fd 1 is the LSP channel: a loader that points it at /dev/null for a
    moment (llama-cpp-python's verbose=False does) loses answers sent meanwhile."""
    redirected: list[int] = []
    real_dup2 = os.dup2

    def watch_dup2(fd: int, fd2: int, inheritable: bool = True) -> int:
        redirected.append(fd2)
        return real_dup2(fd, fd2, inheritable)

    monkeypatch.setattr(os, "dup2", watch_dup2)
    counter = VocabCounter.load(resolve_model_path(""))
    assert counter.count("def add(a, b):\n    return a + b") > 5
    assert not {1, 2} & set(redirected)
    out, err = capfd.readouterr()
    assert out == "" and err == ""  # llama.cpp's loading chatter is kept off both
