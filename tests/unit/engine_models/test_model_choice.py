"""model_choice: each feature's model from measured speeds, and the speed cache."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ghostline.engine import model_choice
from ghostline.engine.model_choice import BUDGETS, Budget, ModelSpeed, choose
from ghostline.engine.model_files import GEMMA_KEY, ModelNotAvailable

SMALL = "qwen2.5-coder-0.5b"
BIG = "qwen2.5-coder-1.5b"


def machine(factor: float = 1.0) -> list[ModelSpeed]:
    """Made-up speeds, smallest model first; `factor` < 1 is a slower machine."""
    return [ModelSpeed(SMALL, 1000 * factor, 50 * factor),
            ModelSpeed(BIG, 400 * factor, 40 * factor)]


def test_seconds_adds_prompt_and_decode_time() -> None:
    speed = ModelSpeed("m", prompt_tps=100.0, decode_tps=10.0)
    assert speed.seconds(Budget(prompt_tokens=200, generated_tokens=5, seconds=1.0)) == 2.5


def test_a_fast_machine_gets_the_biggest_model_everywhere() -> None:
    speeds = machine()
    for feature, budget in BUDGETS.items():  # the premise: the big model fits every budget
        assert speeds[1].seconds(budget) <= budget.seconds, feature
    assert choose(speeds) == {"inlineCompletion": BIG, "generateTests": BIG, "hover": BIG}


def test_a_slow_machine_gets_the_small_model_where_the_big_one_is_too_slow() -> None:
    slow = machine(0.25)
    assert slow[1].seconds(BUDGETS["inlineCompletion"]) > 0.5  # 0.74 s
    assert slow[0].seconds(BUDGETS["inlineCompletion"]) <= 0.5  # 0.34 s
    assert slow[1].seconds(BUDGETS["generateTests"]) <= 60  # 45 s
    assert all(s.seconds(BUDGETS["hover"]) > 5 for s in slow)  # nothing fits: the fastest
    assert choose(slow) == {"inlineCompletion": SMALL, "generateTests": BIG, "hover": SMALL}


def test_nothing_fits_gives_the_fastest() -> None:
    crawling = machine(0.001)
    assert choose(crawling) == dict.fromkeys(BUDGETS, SMALL)
    # The fastest, not the first: here the bigger model happens to be the quicker one.
    odd = [ModelSpeed(SMALL, 1.0, 0.1), ModelSpeed(BIG, 2.0, 0.2)]
    assert choose(odd) == dict.fromkeys(BUDGETS, BIG)


def test_nothing_fits_gives_the_fastest_for_that_feature() -> None:
    # Quick prompts but slow decoding against the opposite: a one-token completion is
    # quickest on the first, a 300-token test file on the second.
    quick_prompt = ModelSpeed(SMALL, prompt_tps=1000.0, decode_tps=1.0)
    quick_decode = ModelSpeed(BIG, prompt_tps=10.0, decode_tps=100.0)
    budgets = {"inlineCompletion": Budget(64, 1, 0.01), "generateTests": Budget(1500, 300, 1.0)}
    assert choose([quick_prompt, quick_decode], budgets) == {
        "inlineCompletion": SMALL, "generateTests": BIG}


def test_custom_budgets_are_used() -> None:
    speeds = machine()
    tight = {"hover": Budget(600, 60, 2.0)}  # big: 3 s, small: 1.8 s
    assert choose(speeds, tight) == {"hover": SMALL}


def test_no_measured_model_means_gemma_everywhere() -> None:
    assert choose([]) == dict.fromkeys(BUDGETS, GEMMA_KEY)
    assert choose([], {"hover": BUDGETS["hover"]}) == {"hover": GEMMA_KEY}


# -- measured_speeds and its cache ---------------------------------------------------------


class Probe:
    """Stands in for `model_choice.probe`: counts calls, fails for the paths in `failing`."""

    def __init__(self, speeds: dict[str, tuple[float, float]]) -> None:
        self.speeds = speeds
        self.calls: list[str] = []
        self.failing: set[str] = set()

    def __call__(self, path: Path, threads: int = 0) -> tuple[float, float]:
        self.calls.append(path.stem)
        if path.stem in self.failing:
            raise RuntimeError(f"speed probe of {path.name} failed: boom")
        return self.speeds[path.stem]


@pytest.fixture
def probe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Probe:
    monkeypatch.setenv("GHOSTLINE_CACHE_DIR", str(tmp_path / "cache"))
    files = tmp_path / "models"
    files.mkdir()
    for key, size in ((SMALL, 10), (BIG, 30)):
        (files / f"{key}.gguf").write_bytes(b"x" * size)
    fake = Probe({SMALL: (900.0, 45.0), BIG: (300.0, 15.0)})
    monkeypatch.setattr(model_choice, "probe", fake)
    monkeypatch.setattr(model_choice, "packaged_installed", lambda key: True)
    monkeypatch.setattr(model_choice, "packaged_model_path",
                        lambda key, assemble=True: files / f"{key}.gguf")
    return fake


def test_speeds_are_measured_once_then_read_from_the_cache(probe: Probe) -> None:
    first = model_choice.measured_speeds()
    assert first == [ModelSpeed(SMALL, 900.0, 45.0), ModelSpeed(BIG, 300.0, 15.0)]
    assert probe.calls == [SMALL, BIG]
    cached = json.loads(model_choice.speeds_file().read_text())
    assert len(cached) == 2
    assert all(key.startswith(f"{SMALL}.gguf:10:") or key.startswith(f"{BIG}.gguf:30:")
               for key in cached)
    assert model_choice.measured_speeds() == first
    assert probe.calls == [SMALL, BIG]  # no second probe
    model_choice.measured_speeds(remeasure=True)
    assert probe.calls == [SMALL, BIG, SMALL, BIG]


def test_the_cache_is_per_thread_count(probe: Probe) -> None:
    model_choice.measured_speeds(threads=0)
    model_choice.measured_speeds(threads=2)
    model_choice.measured_speeds(threads=2)
    assert probe.calls == [SMALL, BIG, SMALL, BIG]


def test_a_failing_probe_skips_that_model(probe: Probe) -> None:
    probe.failing = {BIG}
    assert model_choice.measured_speeds() == [ModelSpeed(SMALL, 900.0, 45.0)]
    probe.failing = set()
    # The failure was not cached: the next call measures that model again, not the other.
    assert [s.key for s in model_choice.measured_speeds()] == [SMALL, BIG]
    assert probe.calls == [SMALL, BIG, BIG]


def test_models_not_installed_or_unavailable_are_skipped(
    probe: Probe, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(model_choice, "packaged_installed", lambda key: key == BIG)
    assert [s.key for s in model_choice.measured_speeds()] == [BIG]

    def refused(key: str, assemble: bool = True) -> Path:
        raise ModelNotAvailable(f"refusing {key}")

    monkeypatch.setattr(model_choice, "packaged_model_path", refused)
    assert model_choice.measured_speeds() == []
    assert probe.calls == [BIG]


def test_a_broken_cache_file_is_measured_again(probe: Probe) -> None:
    model_choice.speeds_file().parent.mkdir(parents=True)
    model_choice.speeds_file().write_text("[not json", encoding="utf-8")
    assert len(model_choice.measured_speeds()) == 2
    assert probe.calls == [SMALL, BIG]
    assert len(json.loads(model_choice.speeds_file().read_text())) == 2


def test_auto_models_chooses_once_per_cache_folder(
    probe: Probe, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(model_choice, "_chosen", {})
    chosen = model_choice.auto_models()
    assert chosen == choose([ModelSpeed(SMALL, 900.0, 45.0), ModelSpeed(BIG, 300.0, 15.0)])
    assert model_choice.auto_models() is chosen
    assert probe.calls == [SMALL, BIG]
