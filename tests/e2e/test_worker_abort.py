"""A cancel stops llama.cpp in the middle of a prompt batch (the real model, in process).

The worker evaluates prompts in full 512-token batches and relies on llama.cpp's abort
callback to stop one. These tests set the cancel from inside the callback after a fixed
number of graph nodes, so nothing depends on timing.
"""

from __future__ import annotations

import sysconfig
from pathlib import Path
from typing import Any

import pytest

from ghostline.engine.model_files import resolve_model_path
from ghostline.engine.worker import FrameWriter, Job, ModelRunner


class Collector(FrameWriter):
    """Keeps the frames a generation sends instead of writing them to a pipe."""

    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []

    def send(self, message: dict[str, Any]) -> None:
        self.frames.append(message)

    @property
    def text(self) -> str:
        return "".join(f["text"] for f in self.frames if f["type"] == "token")

    @property
    def done(self) -> dict[str, Any]:
        return self.frames[-1]


@pytest.fixture(scope="module")
def runner() -> ModelRunner:
    return ModelRunner(str(resolve_model_path("")), n_ctx=2048, n_threads=0)


def _long_prompt() -> str:
    source = Path(sysconfig.get_paths()["stdlib"], "argparse.py").read_text(encoding="utf-8")
    start = source.index("class HelpFormatter")
    return source[start : start + 4000] + "\n    def _format_width(self):\n        return"


def _generate(runner: ModelRunner, prompt: str) -> Collector:
    out = Collector()
    runner.generate(Job(id=1, message={"prompt": prompt, "max_tokens": 12, "stop": ["\n"]}),
                    out)
    return out


def test_cancel_lands_inside_a_prompt_batch_and_the_cache_stays_consistent(
    runner: ModelRunner,
) -> None:
    prompt = _long_prompt()
    n_prompt = len(runner.tokenize(prompt))
    assert 512 < n_prompt < 1024  # two batches: 512 tokens, then the rest

    original = runner._should_abort
    calls = {"before": 0, "after": 0}
    job = Job(id=2, message={"prompt": prompt, "max_tokens": 12, "stop": ["\n"]})
    cancel_at: int | None = None

    def counting(data: Any) -> bool:
        calls["after" if job.cancelled.is_set() else "before"] += 1
        if calls["before"] == cancel_at:
            job.cancelled.set()
        return original(data)

    runner._should_abort = counting  # type: ignore[method-assign]
    try:
        runner.llm.reset()
        runner._eval(runner.tokenize(prompt), Job(id=0, message={}))
        per_prompt = calls["before"]  # graph nodes of the two batches, asked one by one
        calls["before"] = 0

        runner.llm.reset()
        fresh = _generate(runner, prompt)
        assert fresh.text.strip()

        # Cancel three quarters of the way through the prompt: inside the second batch.
        runner.llm.reset()
        calls["before"] = 0
        cancel_at = per_prompt * 3 // 4
        cancelled = Collector()
        runner.generate(job, cancelled)
    finally:
        runner._should_abort = original  # type: ignore[method-assign]
    assert cancelled.done["reason"] == "cancelled"
    assert cancelled.done["generated_tokens"] == 0
    assert calls["after"] <= 1  # the decode stopped at the next graph node
    assert runner.llm.n_tokens == 512  # the first batch stays, the aborted one is dropped

    # The kept batch is reused, and the answer is the one of a fresh context.
    again = _generate(runner, prompt)
    assert again.done["cached_tokens"] == 512
    assert again.text == fresh.text


def test_cancel_during_generation_stops_between_tokens(runner: ModelRunner) -> None:
    prompt = _long_prompt()
    runner.llm.reset()
    job = Job(id=3, message={"prompt": prompt, "max_tokens": 40, "stop": []})

    class CancelAfterTwo(Collector):
        def send(self, message: dict[str, Any]) -> None:
            super().send(message)
            if sum(f["type"] == "token" for f in self.frames) == 2:
                job.cancelled.set()

    out = CancelAfterTwo()
    runner.generate(job, out)
    assert out.done["reason"] == "cancelled"
    assert out.done["generated_tokens"] <= 3


def test_the_time_limit_counts_from_the_end_of_the_prompt(runner: ModelRunner) -> None:
    """A prompt that takes longer to read than the whole limit still gets tokens: the limit
    is on generating (as llama-server's t_max_predict_ms)."""
    runner.llm.reset()
    out = Collector()
    runner.generate(Job(id=4, message={"prompt": _long_prompt(), "max_tokens": 8,
                                       "stop": [], "time_limit_s": 0.2}), out)
    assert out.done["generated_tokens"] >= 1
    assert out.done["reason"] in ("time", "length")
