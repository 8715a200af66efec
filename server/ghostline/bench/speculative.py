"""`ghostline bench speculative`: does prompt-lookup drafting speed up decoding here?

Runs the worker's own decode loop in process (`ModelRunner.generate`) on two kinds of
decode-bound requests, each twice — drafting off and on, in alternating order — from the
same KV state (the prompt is evaluated first and kept, so only decoding is timed):

- multi-line completions: HumanEval multi-line infilling prompts (the model's FIM template,
  up to ``--tokens`` tokens);
- a generated test file: a chat request for pytest tests of a HumanEval function.

Prints decode tokens/s without and with drafts, their ratio (median over items), the share
of drafted tokens the model kept, and whether every output was the same token for token.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import statistics
import time
from dataclasses import dataclass
from typing import Any

from ghostline.bench.quality_humaneval import default_data_dir
from ghostline.engine.model_files import resolve_model_path
from ghostline.engine.worker import FrameWriter, Job, ModelRunner

MULTI_LINE_FILE = "HumanEval-MultiLineInfilling.jsonl.gz"


class _Collector(FrameWriter):
    def __init__(self) -> None:
        self.tokens: list[str] = []
        self.done: dict[str, Any] = {}

    def send(self, message: dict[str, Any]) -> None:
        if message["type"] == "token":
            self.tokens.append(message["text"])
        else:
            self.done = message


@dataclass
class Outcome:
    kind: str
    item: str
    tokens: int
    plain_s: float
    draft_s: float
    drafted: int
    kept: int
    same: bool

    @property
    def ratio(self) -> float:
        return self.plain_s / self.draft_s if self.draft_s else 0.0


def requests(count: int, seed: int, tokens: int) -> list[tuple[str, str, dict[str, Any]]]:
    """(kind, item, worker message) for ``count`` multi-line items and ``count`` test files."""
    with gzip.open(default_data_dir() / MULTI_LINE_FILE, "rt", encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    chosen = random.Random(seed).sample(rows, min(count, len(rows)))
    made: list[tuple[str, str, dict[str, Any]]] = []
    for row in chosen:
        prompt = (f"<|fim_prefix|>{row['prompt']}<|fim_suffix|>{row['suffix']}"
                  "<|fim_middle|>")
        made.append(("multi-line", row["task_id"], {
            "prompt": prompt, "max_tokens": tokens, "stop": ["<|endoftext|>", "<|file_sep|>"]}))
    for row in chosen:
        source = row["prompt"] + row["canonical_solution"] + row["suffix"]
        made.append(("test file", row["task_id"], {
            "messages": [{"role": "user", "content":
                          f"Write 3 pytest unit tests for `{row['entry_point']}`. Reply with "
                          f"one ```python code block.\n\n```python\n{source}\n```"}],
            "max_tokens": 2 * tokens}))
    return made


def _timed(runner: ModelRunner, message: dict[str, Any], lookup: bool) -> tuple[str, float,
                                                                               dict[str, Any]]:
    collector = _Collector()
    started = time.perf_counter()
    runner.generate(Job(id=1, message={**message, "lookup_draft": lookup}), collector)
    return "".join(collector.tokens), time.perf_counter() - started, collector.done


def run(model: str, threads: int, count: int, seed: int, tokens: int) -> list[Outcome]:
    runner = ModelRunner(str(resolve_model_path(model)), 4096, threads)
    outcomes: list[Outcome] = []
    for number, (kind, item, message) in enumerate(requests(count, seed, tokens)):
        _timed(runner, {**message, "max_tokens": 1}, False)  # the prompt, kept in the cache
        order = (False, True) if number % 2 == 0 else (True, False)
        results = {lookup: _timed(runner, message, lookup) for lookup in order}
        (plain_text, plain_s, plain_done), (draft_text, draft_s, draft_done) = (
            results[False], results[True])
        outcome = Outcome(kind, item, int(plain_done.get("generated_tokens", 0)), plain_s,
                          draft_s, int(draft_done.get("drafted_tokens", 0)),
                          int(draft_done.get("kept_draft_tokens", 0)), plain_text == draft_text)
        outcomes.append(outcome)
        print(f"  {kind:10} {item:32} {outcome.tokens:4} tok  off {plain_s:6.2f} s  "
              f"on {draft_s:6.2f} s  x{outcome.ratio:4.2f}  kept {outcome.kept}/"
              f"{outcome.drafted}  {'same' if outcome.same else 'DIFFERENT'}", flush=True)
    return outcomes


def report(outcomes: list[Outcome]) -> str:
    lines = [f"{'kind':12}{'n':>3} {'tok/s off':>10} {'tok/s on':>9} {'x median':>9} "
             f"{'kept':>6} {'same':>6}"]
    for kind in ("multi-line", "test file"):
        group = [o for o in outcomes if o.kind == kind]
        if not group:
            continue
        tokens = sum(o.tokens for o in group)
        off = tokens / sum(o.plain_s for o in group)
        on = tokens / sum(o.draft_s for o in group)
        drafted = sum(o.drafted for o in group)
        kept = sum(o.kept for o in group) / drafted if drafted else 0.0
        lines.append(f"{kind:12}{len(group):3} {off:10.1f} {on:9.1f} "
                     f"{statistics.median(o.ratio for o in group):9.2f} {kept:6.0%} "
                     f"{sum(o.same for o in group):3}/{len(group)}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ghostline bench speculative", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="qwen2.5-coder-1.5b")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--items", type=int, default=8, help="items of each kind")
    parser.add_argument("--tokens", type=int, default=128,
                        help="tokens per multi-line item (test files: twice as many)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(f"Prompt-lookup drafting on {args.model}, {args.threads or 'default'} threads")
    outcomes = run(args.model, args.threads, args.items, args.seed, args.tokens)
    print(report(outcomes))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
