"""`ghostline bench speculative`: does speculative decoding speed up decoding here?

Runs the worker's own decode loop in process (`ModelRunner.generate`) on two kinds of
decode-bound requests, each without drafts, with drafts from the prompt (lookup) and, with
``--draft-model``, with drafts from a smaller model — in alternating order, from the same
KV state (the prompt is evaluated first and kept, by the draft model too, so only decoding
is timed; the draft model's reading of the prompts is reported apart):

- multi-line completions: HumanEval multi-line infilling prompts (the model's FIM template,
  up to ``--tokens`` tokens);
- a generated test file: a chat request for pytest tests of a HumanEval function.

Prints decode tokens/s without and with drafts, their ratio (median over items), the share
of drafted tokens the model kept, and whether every output was the same token for token.
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


class _Collector(FrameWriter):
    def __init__(self) -> None:
        self.tokens: list[str] = []
        self.done: dict[str, Any] = {}

    def send(self, message: dict[str, Any]) -> None:
        if message["type"] == "token":
            self.tokens.append(message["text"])
        else:
            self.done = message


#: The arms measured: the request flags that turn each kind of drafting on.
ARMS: dict[str, dict[str, bool]] = {
    "off": {},
    "lookup": {"lookup_draft": True},
    "draft model": {"model_draft": True},
}


@dataclass
class Arm:
    """One item decoded one way."""

    seconds: float
    drafted: int
    kept: int
    same: bool  # the same text as without drafts


@dataclass
class Outcome:
    kind: str
    item: str
    tokens: int
    plain_s: float
    arms: dict[str, Arm]

    def ratio(self, arm: str) -> float:
        seconds = self.arms[arm].seconds
        return self.plain_s / seconds if seconds else 0.0


def requests(count: int, seed: int, tokens: int) -> list[tuple[str, str, dict[str, Any]]]:
    """(kind, item, worker message) for ``count`` multi-line items and ``count`` test files."""
    rows = load_multi_line_rows()
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


def _timed(runner: ModelRunner, message: dict[str, Any]) -> tuple[str, float, dict[str, Any]]:
    collector = _Collector()
    started = time.perf_counter()
    runner.generate(Job(id=1, message=message), collector)
    return "".join(collector.tokens), time.perf_counter() - started, collector.done


def run(model: str, threads: int, count: int, seed: int, tokens: int,
        draft_model: str = "") -> list[Outcome]:
    draft_path = str(resolve_model_path(draft_model)) if draft_model else ""
    runner = ModelRunner(str(resolve_model_path(model)), 4096, threads, draft_path)
    if runner.draft_model_error:
        raise SystemExit(f"bench speculative: {runner.draft_model_error}")
    arms = [name for name in ARMS if name != "draft model" or runner.draft_model is not None]
    outcomes: list[Outcome] = []
    draft_reading_s = 0.0
    for number, (kind, item, message) in enumerate(requests(count, seed, tokens)):
        # The prompt, kept in the cache (and read by the draft model: timed apart).
        _timed(runner, {**message, "max_tokens": 1})
        if runner.draft_model is not None:
            started = time.perf_counter()
            runner.draft_model.draft(runner.tokenize(_prompt_of(runner, message)), 1,
                                     lambda: False)
            draft_reading_s += time.perf_counter() - started
        # Alternating order, so a machine that slows down does not favour one arm.
        order = arms if number % 2 == 0 else list(reversed(arms))
        results = {name: _timed(runner, {**message, **ARMS[name]}) for name in order}
        plain_text, plain_s, plain_done = results["off"]
        outcome = Outcome(kind, item, int(plain_done.get("generated_tokens", 0)), plain_s, {
            name: Arm(seconds, int(done.get("drafted_tokens", 0)),
                      int(done.get("kept_draft_tokens", 0)), text == plain_text)
            for name, (text, seconds, done) in results.items() if name != "off"})
        outcomes.append(outcome)
        figures = "  ".join(
            f"{name} {arm.seconds:6.2f} s x{outcome.ratio(name):4.2f} kept {arm.kept}/"
            f"{arm.drafted} {'same' if arm.same else 'DIFFERENT'}"
            for name, arm in outcome.arms.items())
        print(f"  {kind:10} {item:20} {outcome.tokens:4} tok  off {plain_s:6.2f} s  {figures}",
              flush=True)
    if runner.draft_model is not None:
        print(f"  the draft model read the {len(outcomes)} prompts in {draft_reading_s:.1f} s "
              "(not in the timings above)")
    return outcomes


def _prompt_of(runner: ModelRunner, message: dict[str, Any]) -> str:
    prompt = message.get("prompt")
    return prompt if prompt is not None else runner.chat_prompt(message["messages"])


def report(outcomes: list[Outcome]) -> str:
    lines = [f"{'kind':12}{'drafts':13}{'n':>3} {'tok/s off':>10} {'tok/s on':>9} "
             f"{'x median':>9} {'kept':>6} {'same':>6}"]
    for kind in ("multi-line", "test file"):
        group = [o for o in outcomes if o.kind == kind]
        if not group:
            continue
        tokens = sum(o.tokens for o in group)
        off = tokens / sum(o.plain_s for o in group)
        for name in (name for name in ARMS if name in group[0].arms):
            arms = [o.arms[name] for o in group]
            on = tokens / sum(a.seconds for a in arms)
            drafted = sum(a.drafted for a in arms)
            kept = sum(a.kept for a in arms) / drafted if drafted else 0.0
            lines.append(f"{kind:12}{name:13}{len(group):3} {off:10.1f} {on:9.1f} "
                         f"{statistics.median(o.ratio(name) for o in group):9.2f} "
                         f"{kept:6.0%} {sum(a.same for a in arms):3}/{len(group)}")
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
    parser.add_argument("--draft-model", default="",
                        help="also measure drafts from this model (same vocabulary), e.g. "
                        "qwen2.5-coder-0.5b for the 1.5B")
    args = parser.parse_args(argv)
    print(f"Speculative decoding on {args.model}, {args.threads or 'default'} threads"
          + (f", draft model {args.draft_model}" if args.draft_model else ""))
    outcomes = run(args.model, args.threads, args.items, args.seed, args.tokens,
                   args.draft_model)
    print(report(outcomes))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
