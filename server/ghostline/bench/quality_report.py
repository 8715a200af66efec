"""The quality benchmark's tables (markdown), from the outcomes `quality` collects."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

from ghostline.bench.quality_metrics import mean, paired_bootstrap

CONFIDENCE_THRESHOLDS = (0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
Row = dict[str, Any]


def _by(outcomes: Sequence[Row], condition: str, kind: str) -> list[Row]:
    return sorted((o for o in outcomes if o["condition"] == condition and o["kind"] == kind),
                  key=lambda o: o["item"])


def _conditions(outcomes: Sequence[Row]) -> list[str]:
    return list(dict.fromkeys(o["condition"] for o in outcomes))


def _pct(value: float) -> str:
    return f"{100 * value:.1f}"


def _diff(a: Sequence[Row], b: Sequence[Row], key: str = "em") -> str:
    if not a or len(a) != len(b):
        return "n/a"
    value, low, high = paired_bootstrap([o[key] for o in a], [o[key] for o in b])
    return f"{100 * value:+.1f} [{100 * low:+.1f}, {100 * high:+.1f}]"


def _median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else 0.0


def cross_table(outcomes: Sequence[Row], kind: str = "cross") -> str:
    conditions = _conditions(outcomes)
    base = _by(outcomes, "prefix", kind)
    bm25 = _by(outcomes, "bm25", kind)
    lines = [
        "| condition | n | EM | ES | ID-EM | ID-F1 | empty | prompt tok | ctx tok | "
        "names in prompt | latency p50 s | ΔEM vs prefix [95% CI] | ΔEM vs bm25 [95% CI] |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for condition in conditions:
        rows = _by(outcomes, condition, kind)
        if not rows:
            continue
        vs_prefix = _diff(rows, base) if condition != "prefix" else ""
        vs_bm25 = _diff(rows, bm25) if condition not in ("prefix", "bm25") else ""
        lines.append(
            f"| {condition} | {len(rows)} | {_pct(mean([o['em'] for o in rows]))} | "
            f"{mean([o['es'] for o in rows]):.1f} | {_pct(mean([o['id_em'] for o in rows]))} | "
            f"{100 * mean([o['id_f1'] for o in rows]):.1f} | "
            f"{_pct(mean([o['empty'] for o in rows]))} | "
            f"{mean([o['prompt_tokens'] for o in rows]):.0f} | "
            f"{mean([o['context_tokens'] for o in rows]):.0f} | {_recall(rows)} | "
            f"{_median([o['total_s'] for o in rows]):.2f} | {vs_prefix} | {vs_bm25} |"
        )
    return "\n".join(lines)


def _recall(rows: Sequence[Row]) -> str:
    """Mean share of the answer's names the prompt shows (`quality_metrics.prompt_recall`)."""
    values = [o["prompt_recall"] for o in rows if o.get("prompt_recall") is not None]
    return _pct(mean(values)) if values else "n/a"


def harm_table(outcomes: Sequence[Row]) -> str:
    """Control items: a condition harms an item that prefix-only completes exactly and it
    does not. Rate over all control items, and over those prefix-only gets right."""
    base = {o["item"]: o for o in _by(outcomes, "prefix", "control")}
    lines = ["| condition | n | EM | ES | harm rate | harmed / prefix-correct |",
             "|---|---|---|---|---|---|"]
    for condition in _conditions(outcomes):
        rows = _by(outcomes, condition, "control")
        if not rows:
            continue
        correct = [o for o in rows if base.get(o["item"], {}).get("em")]
        harmed = [o for o in correct if not o["em"]]
        rate = len(harmed) / len(rows) if condition != "prefix" else 0.0
        lines.append(
            f"| {condition} | {len(rows)} | {_pct(mean([o['em'] for o in rows]))} | "
            f"{mean([o['es'] for o in rows]):.1f} | {_pct(rate)} | "
            f"{len(harmed)} / {len(correct)} |"
        )
    return "\n".join(lines)


def language_table(outcomes: Sequence[Row]) -> str:
    languages = sorted({o["language"] for o in outcomes if o["kind"] == "cross"})
    conditions = _conditions(outcomes)
    lines = ["| language | n | " + " | ".join(f"EM {c}" for c in conditions) + " |",
             "|---|---|" + "---|" * len(conditions)]
    for language in languages:
        cells = []
        n = 0
        for condition in conditions:
            rows = [o for o in _by(outcomes, condition, "cross") if o["language"] == language]
            n = max(n, len(rows))
            cells.append(_pct(mean([o["em"] for o in rows])) if rows else "n/a")
        lines.append(f"| {language} | {n} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def confidence_table(outcomes: Sequence[Row], condition: str = "ours",
                     kind: str = "cross") -> str:
    """Suppressing suggestions below a confidence threshold: how many are still shown
    (coverage) and how many of those are exactly right (precision)."""
    rows = [o for o in _by(outcomes, condition, kind) if o["completion"].strip()]
    total = len(_by(outcomes, condition, kind))
    lines = ["| min confidence | coverage | precision (EM of shown) | ES of shown |",
             "|---|---|---|---|"]
    for threshold in CONFIDENCE_THRESHOLDS:
        shown = [o for o in rows if (o["confidence"] or 0.0) >= threshold]
        coverage = len(shown) / total if total else 0.0
        lines.append(f"| {threshold:.1f} | {_pct(coverage)} | "
                     f"{_pct(mean([o['em'] for o in shown]))} | "
                     f"{mean([o['es'] for o in shown]):.1f} |")
    return "\n".join(lines)


def humaneval_table(outcomes: Sequence[Row]) -> str:
    base = _by(outcomes, "prefix", "humaneval")
    lines = ["| condition | n | EM | pass@1 | ES | empty | prompt tok | ΔEM vs prefix |",
             "|---|---|---|---|---|---|---|---|"]
    for condition in _conditions(outcomes):
        rows = _by(outcomes, condition, "humaneval")
        lines.append(
            f"| {condition} | {len(rows)} | {_pct(mean([o['em'] for o in rows]))} | "
            f"{_pct(mean([o['passed'] or 0.0 for o in rows]))} | "
            f"{mean([o['es'] for o in rows]):.1f} | {_pct(mean([o['empty'] for o in rows]))} | "
            f"{mean([o['prompt_tokens'] for o in rows]):.0f} | "
            f"{_diff(rows, base) if condition != 'prefix' else ''} |"
        )
    return "\n".join(lines)


def member_table(outcomes: Sequence[Row]) -> str:
    base = _by(outcomes, "prefix", "member")
    no_bias = _by(outcomes, "ours-no-bias", "member")
    lines = ["| condition | n | EM | ES | ID-EM | ΔEM vs prefix | ΔEM vs ours without bias |",
             "|---|---|---|---|---|---|---|"]
    for condition in _conditions(outcomes):
        rows = _by(outcomes, condition, "member")
        lines.append(
            f"| {condition} | {len(rows)} | {_pct(mean([o['em'] for o in rows]))} | "
            f"{mean([o['es'] for o in rows]):.1f} | {_pct(mean([o['id_em'] for o in rows]))} | "
            f"{_diff(rows, base) if condition != 'prefix' else ''} | "
            f"{_diff(rows, no_bias) if condition == 'ours' else ''} |"
        )
    return "\n".join(lines)


def report(results: dict[str, Any]) -> str:
    outcomes = results.get("outcomes", [])
    config = results.get("config", {})
    parts = [
        f"model {config.get('model')} (template {config.get('template')}), budget "
        f"{config.get('budget')} tokens ({config.get('context_tokens')} for cross-file context "
        f"where a condition uses it), {config.get('cpus')} CPUs, "
        f"{results.get('seconds', 0.0):.0f} s",
        "items per repository: " + ", ".join(
            f"{name} {counts['cross']}+{counts['control']}"
            + (f" (+{counts['open']} ordinary)" if counts.get("open") else "")
            for name, counts in results.get("repos", {}).items()),
    ]
    missing = [c for c in config.get("conditions", ()) if c not in _conditions(outcomes)]
    if outcomes and "llmls" in missing:
        parts.append("llmls: n/a (the model has no FIM tokens: nothing can follow the "
                     "cursor in its prompt)")
    if outcomes:
        parts += ["", "Cross-file items", cross_table(outcomes, "cross"),
                  "", "Control items (in-file)", harm_table(outcomes),
                  "", "Cross-file EM by language", language_table(outcomes),
                  "", "Confidence threshold (ours, cross-file items)",
                  confidence_table(outcomes)]
    reuse = results.get("kv_reuse") or {}
    if reuse:
        parts += ["", "Prompt tokens reused from the KV cache while typing the answer: "
                  + ", ".join(f"{c} {_pct(v)}%" for c, v in reuse.items())]
    ordinary = results.get("open", [])
    if ordinary:
        parts += ["", "Ordinary positions (code starting mid-line anywhere; nothing favours "
                  "cross-file names)", cross_table(ordinary, "open")]
    members = results.get("members", [])
    if members:
        parts += ["", "Member items (cursor right after self. / this.)",
                  member_table(members)]
    he = results.get("humaneval", [])
    if he:
        parts += ["", "HumanEval single-line infilling", humaneval_table(he)]
    return "\n".join(parts)
