"""`ghostline bench next-line`: is the line below an accepted one as good from the model's
continuation as from a fresh request, and how much sooner is it there?

After a single-line suggestion is shown, the server lets the model go on from where it
stopped (`features/next_line.py`): decoding only, since the prompt and the suggestion are in
the KV cache. A fresh request at the start of the next line re-reads the code after the
cursor instead. Both see the same code; this bench checks that the answers are as right.

HumanEval multi-line infilling items (the gap has two lines or more), run in process on the
worker's own decode loop with the model's FIM template:
1. the first line of the gap, asked at its start (the suggestion a user sees);
2. where that line is exactly right (a user would accept it), the line below it two ways:
   the continuation of the same generation, and a fresh prompt with the first line written.

Where the continuation writes no line below (the model ends its text, or leaves a blank
line), the server asks afresh as before, so the product's answer is the fresh one there.
Prints exact match of the line below from the fresh request and from the product (the
same items), how often the continuation wrote it and how often that agrees with the fresh
one, and the time each took (the continuation until its line is written).
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from dataclasses import dataclass
from typing import Any

from ghostline.bench.quality_humaneval import load_multi_line_rows
from ghostline.engine.model_files import resolve_model_path
from ghostline.engine.worker import FrameWriter, Job, ModelRunner
from ghostline.features.next_line import continuation_done, split_continuation
from ghostline.prompts.fim import detect_template


class _Timed(FrameWriter):
    """Collects the streamed text and when the line below was written."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.text = ""
        self.line_written_s: float | None = None
        self.done: dict[str, Any] = {}

    def send(self, message: dict[str, Any]) -> None:
        if message["type"] == "token":
            self.text += message["text"]
            if self.line_written_s is None and continuation_done(self.text):
                self.line_written_s = time.perf_counter() - self.started
        else:
            self.done = message


@dataclass
class Outcome:
    item: str
    truth: str
    continued: str | None  # None: the continuation wrote no line below
    fresh: str
    continued_s: float
    fresh_s: float

    @property
    def product(self) -> str:
        """What the server offers on the line below: the continuation's line, else the
        fresh request's."""
        return self.continued if self.continued is not None else self.fresh


def _items(count: int, seed: int) -> list[dict[str, Any]]:
    rows = [r for r in load_multi_line_rows()
            if sum(1 for x in r["canonical_solution"].split("\n") if x.strip()) >= 2
            and r["canonical_solution"].split("\n")[1].strip()]
    return random.Random(seed).sample(rows, min(count, len(rows)))


def _generate(runner: ModelRunner, prompt: str, stop: list[str], max_tokens: int) -> _Timed:
    collector = _Timed()
    runner.generate(Job(id=1, message={"prompt": prompt, "max_tokens": max_tokens,
                                       "stop": stop}), collector)
    return collector


def run(model: str, threads: int, count: int, seed: int) -> tuple[list[Outcome], int]:
    """The outcomes where the first line was right, and how many items were tried."""
    runner = ModelRunner(str(resolve_model_path(model)), 4096, threads)
    template = detect_template(runner.special_tokens, runner.llm.metadata)
    if not template.has_fim:
        raise SystemExit(f"bench next-line: {model} has no FIM tokens")
    stops = list(template.stop_tokens)
    outcomes: list[Outcome] = []
    items = _items(count, seed)
    for row in items:
        first_truth, second_truth = row["canonical_solution"].split("\n")[:2]
        prompt = template.build(row["prompt"], row["suffix"])
        first = _generate(runner, prompt, [*stops, "\n"], 64)
        if first.text.strip() != first_truth.strip():
            continue
        continued = _generate(runner, prompt + first.text, stops, 96)
        ended = continued.done.get("reason") in ("eos", "stop")
        below = split_continuation(continued.text, ended=ended)
        fresh_prompt = template.build(row["prompt"] + first_truth + "\n", row["suffix"])
        fresh = _generate(runner, fresh_prompt, [*stops, "\n"], 64)
        written = below.next_line.strip() if below.next_line is not None else None
        outcome = Outcome(row["task_id"], second_truth.strip(), written, fresh.text.strip(),
                          continued.line_written_s or float(continued.done.get("total_s", 0)),
                          float(fresh.done.get("total_s", 0.0)))
        outcomes.append(outcome)
        marks = ["-" if answer is None else "=" if answer == outcome.truth else "x"
                 for answer in (outcome.continued, outcome.fresh)]
        print(f"  {outcome.item:42} continued {outcome.continued_s:5.2f} s {marks[0]}  "
              f"fresh {outcome.fresh_s:5.2f} s {marks[1]}", flush=True)
    return outcomes, len(items)


def report(outcomes: list[Outcome], tried: int) -> str:
    if not outcomes:
        return f"the first line was right for none of {tried} items"
    n = len(outcomes)
    fresh = sum(o.fresh == o.truth for o in outcomes)
    product = sum(o.product == o.truth for o in outcomes)
    written = [o for o in outcomes if o.continued is not None]
    agree = sum(o.continued == o.fresh for o in written)
    times = [o.continued_s for o in written]
    return "\n".join([
        f"first line exactly right (accepted): {n} of {tried} items",
        f"line below, exact match: fresh request {fresh}/{n} ({fresh / n:.0%}), product "
        f"{product}/{n} ({product / n:.0%})",
        f"the continuation wrote the line below for {len(written)}/{n}; it agrees with the "
        f"fresh request on {agree}/{len(written)}",
        f"time to the line below, median: continued "
        f"{statistics.median(times) * 1000 if times else float('nan'):.0f} ms, fresh "
        f"{statistics.median(o.fresh_s for o in outcomes) * 1000:.0f} ms",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ghostline bench next-line", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="qwen2.5-coder-1.5b")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--items", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(f"The line below an accepted one on {args.model}, {args.items} HumanEval items")
    outcomes, tried = run(args.model, args.threads, args.items, args.seed)
    print(report(outcomes, tried))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
