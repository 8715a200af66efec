"""Speculative decoding with drafts from the prompt keeps the KV cache and the choices
right (a real model, in process).

Batched logits round slightly differently from one-token evaluation, so on a near tie the
text may differ (docs/latency.md); this prompt is code whose continuation the model is sure
of, where a wrong position or a kept rejected draft would show as a different text.
"""

from __future__ import annotations

import pytest

from ghostline.engine.model_files import resolve_model_path
from ghostline.engine.worker import Job, ModelRunner

from .test_worker_abort import Collector

pytestmark = pytest.mark.model

#: Code whose continuation repeats what came before (drafts have something to find).
PROMPT = (
    "def area_of_square(side):\n    return side * side\n\n\n"
    "def area_of_rectangle(width, height):\n    return width * height\n\n\n"
    "def test_area_of_square():\n    assert area_of_square(2) == 4\n\n\n"
    "def test_area_of_rectangle():\n"
)


@pytest.fixture(scope="module")
def runner() -> ModelRunner:
    return ModelRunner(str(resolve_model_path("gemma-3-270m")), n_ctx=2048, n_threads=1)


@pytest.mark.parametrize("reuse", [False, True])
def test_drafts_change_nothing_in_the_output(runner: ModelRunner, reuse: bool) -> None:
    outputs = []
    for lookup in (False, True, False):
        collector = Collector()
        runner.generate(Job(id=1, message={"prompt": PROMPT, "max_tokens": 80,
                                           "lookup_draft": lookup, "reuse_cache": reuse}),
                        collector)
        outputs.append((collector.text, collector.frames[-1]))
    plain, drafted, again = outputs
    assert drafted[0] == plain[0] == again[0]
    assert drafted[1]["generated_tokens"] == plain[1]["generated_tokens"]
    assert drafted[1]["drafted_tokens"] > 0 and drafted[1]["kept_draft_tokens"] > 0
    assert plain[1]["drafted_tokens"] == 0
