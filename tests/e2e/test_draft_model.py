"""Speculative decoding with drafts from a second model: the model's output stays the same,
and a draft model that cannot serve is refused without stopping completions (the real
models, in process and through the worker)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ghostline.engine.base import Finished, GenerationRequest
from ghostline.engine.local import LocalEngine
from ghostline.engine.model_files import resolve_model_path
from ghostline.engine.worker import Job, ModelRunner

from .test_lookup_draft import PROMPT
from .test_worker_abort import Collector

pytestmark = pytest.mark.model

#: Another text whose continuation the model is sure of (the draft model's cache holds
#: PROMPT's tokens before it: it must forget them).
OTHER_PROMPT = "MONTHS = [\n    'January',\n    'February',\n    'March',\n"


@pytest.fixture(scope="module")
def gemma() -> str:
    return str(resolve_model_path("gemma-3-270m"))


@pytest.fixture(scope="module")
def runner(gemma: str) -> ModelRunner:
    """Gemma drafting for itself: its drafts are the tokens the model picks (batched
    logits round slightly differently, so the prompts are ones without near ties)."""
    return ModelRunner(gemma, n_ctx=2048, n_threads=1, draft_model_path=gemma)


def generate(runner: ModelRunner, prompt: str, model_draft: bool) -> Collector:
    collector = Collector()
    runner.generate(Job(id=1, message={"prompt": prompt, "max_tokens": 60,
                                       "model_draft": model_draft}), collector)
    return collector


@pytest.mark.parametrize("prompt", [PROMPT, OTHER_PROMPT], ids=["repeating", "other"])
def test_drafts_of_a_second_model_change_nothing_in_the_output(runner: ModelRunner,
                                                                prompt: str) -> None:
    assert runner.draft_model is not None, runner.draft_model_error
    plain = generate(runner, prompt, model_draft=False)
    drafted = generate(runner, prompt, model_draft=True)
    assert drafted.text == plain.text and plain.text
    assert plain.done["drafted_tokens"] == 0
    assert drafted.done["drafted_tokens"] > 0
    # The draft model is the model itself: nearly every drafted token is kept.
    assert drafted.done["kept_draft_tokens"] >= drafted.done["drafted_tokens"] * 3 // 4


def test_idle_time_prefill_has_the_draft_model_read_the_prompt_too(runner: ModelRunner) -> None:
    prompt = OTHER_PROMPT + "    'April',\n"
    runner.generate(Job(id=2, message={"prompt": prompt, "max_tokens": 0, "background": True,
                                       "model_draft": True}), Collector())
    tokens = runner.tokenize(prompt)
    assert runner.draft_model is not None
    assert runner.draft_model.llm.n_tokens == len(tokens)
    assert list(runner.draft_model.llm.input_ids[:len(tokens)]) == tokens


def test_a_draft_model_of_another_vocabulary_is_refused_and_the_model_serves(
        gemma: str) -> None:
    runner = ModelRunner(gemma, n_ctx=2048, n_threads=1,
                         draft_model_path=str(resolve_model_path("qwen2.5-coder-0.5b")))
    assert runner.draft_model is None
    assert "vocabulary" in runner.draft_model_error
    answer = generate(runner, OTHER_PROMPT, model_draft=True)
    assert answer.text and answer.done["drafted_tokens"] == 0


async def request(engine: LocalEngine, prompt: str) -> tuple[str, Finished]:
    text, finished = "", None
    async for item in engine.stream(GenerationRequest(prompt=prompt, max_tokens=24)):
        if isinstance(item, Finished):
            finished = item
        else:
            text += item.text
    assert finished is not None and finished.reason in ("length", "eos", "stop")
    return text, finished


async def test_the_worker_drafts_with_the_draft_model_setting() -> None:
    engine = LocalEngine("gemma-3-270m", context_size=2048, threads=1, self_test=False,
                         draft_model="gemma-3-270m")
    try:
        text, finished = await request(engine, PROMPT)
        assert engine.draft_model_error == ""
        assert text and finished.drafted_tokens > 0 and finished.kept_draft_tokens > 0
    finally:
        await engine.close()


async def test_the_worker_serves_without_a_draft_model_that_is_missing(tmp_path: Path) -> None:
    missing = tmp_path / "draft.gguf"
    engine = LocalEngine("gemma-3-270m", context_size=2048, threads=1, self_test=False,
                         draft_model=str(missing))
    try:
        text, finished = await request(engine, OTHER_PROMPT)
        assert text and finished.drafted_tokens == 0
        assert str(missing) in engine.draft_model_error
    finally:
        await engine.close()
