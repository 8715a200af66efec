"""`bench quality --escalate`: the backend argument and the table from paired outcomes."""

from __future__ import annotations

import pytest

from ghostline.bench.quality import Outcome
from ghostline.bench.quality_escalation import Pair, escalated, http_backend, is_url, table


def outcome(em: float, confidence: float | None, seconds: float, empty: bool = False) -> Outcome:
    return Outcome(item="i", kind="humaneval", condition="ours", completion="" if empty else "x",
                   em=em, es=em, id_em=em, id_f1=em, empty=float(empty), confidence=confidence,
                   prompt_tokens=1, cached_tokens=0, total_s=seconds)


def test_backend_arguments() -> None:
    assert not is_url("qwen2.5-coder-1.5b") and is_url("http://127.0.0.1:8080/v1")
    spec = http_backend("http://127.0.0.1:8080/v1")
    assert (spec.kind, spec.url, spec.model) == ("openai", "http://127.0.0.1:8080/v1", "")
    spec = http_backend("llama-server:http://h:1#big")
    assert (spec.kind, spec.url, spec.model) == ("llama-server", "http://h:1", "big")


def test_escalated_arm_follows_the_rule_and_is_never_emptier_than_local() -> None:
    sure = Pair(outcome(1, 0.95, 0.1), outcome(0, 0.9, 1.0))
    unsure = Pair(outcome(0, 0.2, 0.1), outcome(1, 0.9, 1.0))
    empty_remote = Pair(outcome(0, 0.2, 0.1), outcome(0, None, 1.0, empty=True))
    assert escalated(sure, 0.5) == (sure.local, 0.1, False)
    assert escalated(unsure, 0.5) == (unsure.remote, pytest.approx(1.1), True)
    assert escalated(empty_remote, 0.5)[0] is empty_remote.local
    rows = table([sure, unsure], (0.5, 0.99))
    assert [r["arm"] for r in rows] == ["local", "remote", "escalated <0.5", "escalated <0.99"]
    assert [r["em"] for r in rows] == [0.5, 0.5, 1.0, 0.5]
    assert [r["escalated"] for r in rows] == [0.0, 1.0, 0.5, 1.0]
    assert rows[2]["mean_ms"] == pytest.approx(600)
