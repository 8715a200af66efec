from pathlib import Path
from typing import Any

from ghostline.context.tokenizer import CounterSlot, EstimateCounter, VocabCounter


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
