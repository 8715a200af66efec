"""`ghostline bench quality --escalate BACKEND`: what escalation buys, on the same items.

Every item (the cross-file and control items mined from the corpora, and HumanEval
single-line items) is completed twice with the same pipeline and condition (`ours` by
default): by the local model and by the escalation backend. The escalated arm at a threshold
`t` is then exact, not sampled: decoding is greedy, so the server's answer at `t` is the
remote one where the local confidence is below `t` (or the local suggestion is empty) and the
remote one is not empty, else the local one; its latency is the local one plus the remote
one where it escalated. The table gives EM, ES and latency of local-only, remote-only and
escalated at each threshold, with the share of requests escalated.

BACKEND is a model for a second local engine (a packaged name such as
``qwen2.5-coder-1.5b``, or a GGUF path), or a server URL: ``http://host:port/v1`` is an
OpenAI-compatible server; ``KIND:URL`` names another kind (``llama-server:http://…``,
``ollama:http://…``); ``…#MODEL`` picks the server's model.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ghostline.bench import quality_humaneval as humaneval
from ghostline.bench.quality import (
    BenchConfig,
    BenchEngine,
    Outcome,
    Runtime,
    _score,
    make_arm,
    run_arm,
    start_runtime,
)
from ghostline.bench.quality_items import mine_repository
from ghostline.bench.quality_metrics import first_line, mean
from ghostline.context.tokenizer import EstimateCounter
from ghostline.core import AppCore
from ghostline.engine.http import ENGINE_KINDS, create_http_engine
from ghostline.features.escalation import completion_template
from ghostline.features.inline_completion import CompletionInput
from ghostline.index.workspace import WorkspaceIndex
from ghostline.settings import BackendSettings

log = logging.getLogger(__name__)

THRESHOLDS = (0.3, 0.5, 0.7, 0.9)
CONDITION = "ours"


def is_url(backend: str) -> bool:
    return "://" in backend


def http_backend(backend: str) -> BackendSettings:
    """`[KIND:]URL[#MODEL]` as backend settings (kind openai unless named)."""
    kind, url = "openai", backend
    head, _, rest = backend.partition(":")
    if head.lower() in ENGINE_KINDS and "://" in rest:
        kind, url = head.lower(), rest
    url, _, model = url.partition("#")
    return BackendSettings(kind=kind, url=url, model=model, timeout_s=120.0)


async def start_remote(backend: str, threads: int, snippet_style: str = "") -> Runtime:
    """The escalation backend's runtime: a second local engine, or an HTTP server's engine
    with the template the server would use for it (prompt tokens estimated)."""
    if not is_url(backend):
        return await start_runtime(backend, threads=threads, snippet_style=snippet_style)
    engine = create_http_engine("remote", http_backend(backend))
    info = await engine.start()
    counter = EstimateCounter()

    def tokenize(text: str) -> list[int]:
        return [0] * counter.count(text)

    wrapped = BenchEngine(engine, tokenize)
    wrapped.name = "remote"  # no token steering: a server ignores it
    core = AppCore(engine_factory=lambda settings: engine)
    template = completion_template(info, local=False)
    core.use_model(info, template, counter)
    return Runtime(wrapped, info, template, counter, core)


@dataclass
class Pair:
    """One item answered by both."""

    local: Outcome
    remote: Outcome


def unsure(outcome: Outcome) -> float | None:
    """The confidence the escalation rule compares (0 for an empty suggestion; None when
    unknown: never escalated), as the server computes it."""
    if outcome.confidence is not None:
        return outcome.confidence
    return 0.0 if outcome.empty else None


def escalated(pair: Pair, threshold: float) -> tuple[Outcome, float, bool]:
    """The served outcome at `threshold`, its latency, and whether it escalated."""
    score = unsure(pair.local)
    if score is None or score >= threshold:
        return pair.local, pair.local.total_s, False
    seconds = pair.local.total_s + pair.remote.total_s
    chosen = pair.remote if not pair.remote.empty else pair.local
    return chosen, seconds, True


def table(pairs: list[Pair], thresholds: tuple[float, ...] = THRESHOLDS) -> list[dict[str, Any]]:
    """Rows: local-only, remote-only, then escalated at each threshold."""
    if not pairs:
        return []

    def row(name: str, chosen: list[Outcome], seconds: list[float], share: float
            ) -> dict[str, Any]:
        ordered = sorted(seconds)
        return {"arm": name, "em": mean([o.em for o in chosen]), "es": mean([o.es for o in chosen]),
                "mean_ms": 1000 * mean(seconds),
                "p90_ms": 1000 * ordered[min(len(ordered) - 1, math.ceil(0.9 * len(ordered)) - 1)],
                "escalated": share}

    rows = [row("local", [p.local for p in pairs], [p.local.total_s for p in pairs], 0.0),
            row("remote", [p.remote for p in pairs], [p.remote.total_s for p in pairs], 1.0)]
    for threshold in thresholds:
        served = [escalated(p, threshold) for p in pairs]
        rows.append(row(f"escalated <{threshold:g}", [s[0] for s in served],
                        [s[1] for s in served], mean([float(s[2]) for s in served])))
    return rows


def render(rows: list[dict[str, Any]], title: str) -> str:
    lines = [title, f"{'arm':<16} {'EM':>6} {'ES':>6} {'mean ms':>9} {'p90 ms':>8} "
                    f"{'escalated':>9}"]
    for r in rows:
        lines.append(f"{r['arm']:<16} {r['em']:>6.3f} {r['es']:>6.1f} {r['mean_ms']:>9.0f} "
                     f"{r['p90_ms']:>8.0f} {r['escalated']:>9.0%}")
    return "\n".join(lines)


async def _pair(local: Runtime, remote: Runtime, config: BenchConfig, item: CompletionInput,
                index: WorkspaceIndex | None, item_id: str, kind: str, language: str,
                answer: str, visible_path: str | None) -> Pair:
    outcomes = []
    for runtime in (local, remote):
        arm = make_arm(runtime, index, config, CONDITION)
        done = await run_arm(runtime, arm, config, item, index, visible_path)
        last = arm.service.last
        outcomes.append(_score(item_id, kind, CONDITION, language, answer, done,
                               last.tokens if last else 0))
    log.info("%s %s: local %r (%.2f) remote %r (answer %r)", kind, item_id,
             outcomes[0].completion, outcomes[0].confidence or 0.0, outcomes[1].completion,
             first_line(answer))
    return Pair(*outcomes)


async def collect(local: Runtime, remote: Runtime, roots: list[Path],
                  args: argparse.Namespace, config: BenchConfig) -> dict[str, list[Pair]]:
    """Both answers for every item: the corpora's cross-file and control items, HumanEval."""
    suites: dict[str, list[Pair]] = {"repositories": [], "humaneval": []}
    control = round(args.items * args.control_share / (1 - args.control_share))
    for root in roots if args.items > 0 else []:
        index = WorkspaceIndex([root], use_cache=False, workers=1)
        await asyncio.to_thread(index.scan)
        try:
            for item in mine_repository(index, root, cross=args.items, control=control,
                                        seed=args.seed):
                current = CompletionInput(uri=Path(item.path).as_uri() + f"#{item.offset}",
                                          path=item.path, language_id=item.language_id,
                                          text=item.text, offset=item.offset)
                suites["repositories"].append(await _pair(
                    local, remote, config, current, index, item.id, item.kind, item.language,
                    item.answer, item.path))
        finally:
            index.close()
    if args.humaneval:
        data = args.humaneval_data or humaneval.default_data_dir()
        limit = None if args.humaneval < 0 else args.humaneval
        for he in humaneval.load_items(data, limit, seed=args.seed):
            current = CompletionInput(uri=f"file:///humaneval/{he.task_id}.py",
                                      path=f"/humaneval/{he.task_id.replace('/', '_')}.py",
                                      language_id="python", text=he.prompt + he.suffix,
                                      offset=len(he.prompt))
            suites["humaneval"].append(await _pair(
                local, remote, config, current, None, he.task_id, "humaneval", "python",
                he.answer, None))
    return suites


async def run(local: Runtime, roots: list[Path], args: argparse.Namespace,
              config: BenchConfig) -> int:
    """The escalation measurement (called by `quality._run` with the local runtime)."""
    started = time.perf_counter()
    try:
        remote = await start_remote(args.escalate, args.threads, args.snippet_style)
    except Exception as exc:
        print(f"--escalate {args.escalate}: {exc}", file=sys.stderr)
        return 2
    try:
        suites = await collect(local, remote, roots, args, config)
    finally:
        await remote.engine.close()
    results: dict[str, Any] = {"local": local.info.name, "remote": remote.info.name,
                               "condition": CONDITION, "suites": {}}
    out = [f"escalation: local {local.info.name} -> {remote.info.name} "
           f"({CONDITION}, {time.perf_counter() - started:.0f} s)"]
    named = [(name, pairs) for name, pairs in suites.items() if pairs]
    if len(named) > 1:
        named.append(("all", [p for _, pairs in named for p in pairs]))
    for name, pairs in named:
        rows = table(pairs)
        results["suites"][name] = {"rows": rows, "pairs": [
            {"local": asdict(p.local), "remote": asdict(p.remote)} for p in pairs]}
        out += ["", render(rows, f"{name} ({len(pairs)} items)")]
    print("\n".join(out))
    if args.out is not None:
        args.out.write_text(json.dumps(results, indent=1, default=str), encoding="utf-8")
    return 0
