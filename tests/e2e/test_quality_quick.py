"""`ghostline bench quality --quick` as a smoke test: real model (Qwen2.5-Coder-1.5B, the
completion model `auto` picks on a 2-core machine and the packaged model that is shown
other files' code; a FIM model, so the raw arm runs too), real code (the installed httpx
package's sources), every condition and suite, a loose floor on the results."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

# About 100 model calls on the 1.5B: minutes on two cores.
pytestmark = [pytest.mark.model, pytest.mark.timeout(1000)]

ROOT = Path(__file__).parents[2]


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    out = tmp_path_factory.mktemp("quality") / "quick.json"
    done = subprocess.run(
        [sys.executable, "-m", "ghostline", "--log-level", "WARNING", "bench", "quality",
         "--quick", "--model", "qwen2.5-coder-1.5b", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Cross-file items" in done.stdout and "HumanEval" in done.stdout
    loaded: dict[str, object] = json.loads(out.read_text())
    return loaded


def _rows(results: dict[str, object], suite: str = "outcomes") -> list[dict[str, object]]:
    rows = results[suite]
    assert isinstance(rows, list)
    return rows


def _em(rows: list[dict[str, object]], condition: str, kind: str, metric: str = "em") -> float:
    chosen = [float(r[metric]) for r in rows  # type: ignore[arg-type]
              if r["condition"] == condition and r["kind"] == kind]
    assert chosen, f"no {kind} outcomes for {condition}"
    return sum(chosen) / len(chosen)


def test_every_condition_ran_on_the_same_items(results: dict[str, object]) -> None:
    rows = _rows(results)
    by_condition: dict[str, set[str]] = {}
    for row in rows:
        by_condition.setdefault(str(row["condition"]), set()).add(str(row["item"]))
    assert set(by_condition) == {"raw", "prefix", "bm25", "ours"}
    items = by_condition["prefix"]
    assert len(items) >= 6
    assert all(found == items for found in by_condition.values())
    assert all(int(r["prompt_tokens"]) > 0 for r in rows)  # type: ignore[call-overload]


def _recall(rows: list[dict[str, object]], condition: str) -> float:
    values = [float(r["prompt_recall"]) for r in rows  # type: ignore[arg-type]
              if r["condition"] == condition and r["kind"] == "cross"
              and r["prompt_recall"] is not None]
    assert values, f"no cross-file item with names for {condition}"
    return sum(values) / len(values)


def test_context_is_used_and_helps(results: dict[str, object]) -> None:
    rows = _rows(results)
    ours = [r for r in rows if r["condition"] == "ours" and r["kind"] == "cross"]
    assert sum(int(r["context_tokens"]) > 0 for r in ours) >= len(ours) // 2  # type: ignore[call-overload]
    # What retrieval adds, independent of the model's arithmetic: the context shows the
    # model more of the answer's names than the file alone, and at least as many as BM25.
    assert _recall(rows, "ours") > _recall(rows, "prefix")
    assert _recall(rows, "ours") >= _recall(rows, "bm25")
    # The model's scores on eight items move with its floating-point path (batch shapes,
    # the cache's history), so only a loose floor: context must not wreck the completions
    # (a broken prompt format scores near zero). The full run's tables carry the claim.
    assert _em(rows, "ours", "cross", "es") >= _em(rows, "prefix", "cross", "es") - 5
    assert _em(rows, "ours", "cross", "es") >= 10


def test_ordinary_positions_run_every_condition_on_the_same_items(
        results: dict[str, object]) -> None:
    rows = _rows(results, "open")
    assert rows and all(r["kind"] == "open" for r in rows)
    items: dict[str, set[str]] = {}
    for row in rows:
        items.setdefault(str(row["condition"]), set()).add(str(row["item"]))
    assert set(items) == {"raw", "prefix", "bm25", "ours"}
    assert len(items["prefix"]) >= 2 and all(found == items["prefix"] for found in items.values())
    assert all(0.0 <= float(r["es"]) <= 100.0 for r in rows)  # type: ignore[arg-type]


def test_humaneval_suite_scores_and_runs_candidates(results: dict[str, object]) -> None:
    rows = _rows(results, "humaneval")
    assert {r["condition"] for r in rows} == {"raw", "prefix", "ours"}
    assert all(r["passed"] in (0.0, 1.0) for r in rows)
    assert _em(rows, "ours", "humaneval") >= 0.1
    # The raw arm is the plain FIM prompt, nothing around it: the model's own first line.
    raw = [r for r in rows if r["condition"] == "raw"]
    assert all("\n" not in str(r["completion"]) for r in raw)
    assert _em(rows, "raw", "humaneval") >= 0.1


def test_kv_cache_reuse_is_measured(results: dict[str, object]) -> None:
    reuse = results["kv_reuse"]
    assert isinstance(reuse, dict) and "ours" in reuse
    assert float(reuse["ours"]) > 0.5
