"""`ghostline bench hover`: hover docstrings on real code through the real server.

Give it folders of code nobody here wrote, for instance a pure-Python sdist::

    pip download --no-binary :all: --no-deps tabulate==0.9.0 -d /tmp/src
    tar xzf /tmp/src/tabulate-0.9.0.tar.gz -C /tmp/src
    ghostline bench hover /tmp/src/tabulate-0.9.0

(``npm pack`` gives TypeScript sources of some packages; Debian's ``golang-*-dev`` and
``librust-*-dev`` packages hold Go and Rust sources.) Nothing is downloaded here.

For a sample of undocumented functions, methods and classes in each folder it measures the
hover latency cold (the model writes the summary; the hover waits for it) and cached (the
same hover again), then restarts the server to hover them from the SQLite cache; hovers on
documented definitions (no model); and the "Insert docstring" action: the share of edited
files that still parse (no new tree-sitter ERROR or MISSING nodes) and whose index reads the
inserted docstring back for that definition. Each run uses a fresh summary cache.

With ``--judge N`` it instead judges N documented Python definitions per folder: their
docstrings are hidden, the summaries generated, and both compared (see `docstring_judge`); the
folders are copied first, since the files are edited while it runs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import tree_sitter

from ghostline.bench.docstring_judge import JudgedFigures, judge_folder, judged_report
from ghostline.bench.stats import percentile
from ghostline.context.docstring import EXPLAINABLE_KINDS
from ghostline.demo_hover import HoverSession, apply_edit
from ghostline.features.docstring_actions import INSERTABLE_LANGUAGES
from ghostline.features.docstring_style import comment_above
from ghostline.index.languages import LanguageSpec, spec_for_path
from ghostline.index.model import Definition
from ghostline.index.parser import extract
from ghostline.index.walker import IgnoreRules

DEFAULT_LIMIT_S = 4.0


@dataclass
class Sample:
    path: Path
    definition: Definition
    language_id: str


@dataclass
class Figures:
    folder: str
    language: str
    cold_s: list[float] = field(default_factory=list)
    cached_s: list[float] = field(default_factory=list)
    restart_s: list[float] = field(default_factory=list)
    documented_s: list[float] = field(default_factory=list)
    summaries: list[str] = field(default_factory=list)
    no_answer: int = 0
    inserted: int = 0
    parses: int = 0
    read_back: int = 0
    model_calls: int = 0
    restart_model_calls: int = 0


def _errors(tree: tree_sitter.Tree) -> int:
    count = 0
    cursor = [tree.root_node]
    while cursor:
        node = cursor.pop()
        if node.type == "ERROR" or node.is_missing:
            count += 1
        cursor.extend(node.children)
    return count


def _is_test_file(path: Path) -> bool:
    name = path.name
    return name.startswith("test_") or name.endswith(("_test.go", ".spec.ts", ".test.ts")) or \
        "test" in {p.lower() for p in path.parts[:-1]} or name.endswith(".d.ts")


def choose(folder: Path, count: int) -> tuple[list[Sample], list[Sample]]:
    """Up to ``count`` undocumented and ``count // 2`` documented definitions, spread evenly
    over the folder's non-test source files (deterministic)."""
    undocumented: list[Sample] = []
    documented: list[Sample] = []
    for found in IgnoreRules([folder], 1_000_000).walk(None).files:
        path = found.path
        spec = spec_for_path(path)
        if spec is None or spec.name not in INSERTABLE_LANGUAGES or _is_test_file(path):
            continue
        data = path.read_bytes()
        text = data.decode("utf-8", errors="replace")
        for definition in extract(spec, spec.parser().parse(data), data, path).definitions:
            lines = definition.span.end_line - definition.span.start_line + 1
            if definition.kind not in EXPLAINABLE_KINDS or lines < 3 or lines > 80:
                continue
            if definition.name.startswith("__") and definition.name != "__init__":
                continue
            sample = Sample(path, definition, spec.language_ids[0])
            has_doc = bool(definition.doc or comment_above(text, definition))
            (documented if has_doc else undocumented).append(sample)
    return _spread(undocumented, count), _spread(documented, count // 2)


def _spread(items: list[Sample], count: int) -> list[Sample]:
    if len(items) <= count:
        return items
    step = len(items) / count
    return [items[int(i * step)] for i in range(count)]


def _utf16_col(line: str, byte_col: int) -> int:
    prefix = line.encode("utf-8")[:byte_col].decode("utf-8", errors="ignore")
    return len(prefix.encode("utf-16-le")) // 2


async def _start(folder: Path, limit_s: float) -> HoverSession:
    session = HoverSession({"hoverTimeLimitS": limit_s})
    await session.start(folder)
    return session


def _position(session: HoverSession, uri: str, definition: Definition) -> tuple[int, int]:
    line = definition.name_span.start_line
    text = session.texts[uri].split("\n")[line]
    return line, _utf16_col(text, definition.name_span.start_col)


def _open(session: HoverSession, sample: Sample) -> str:
    uri = sample.path.resolve().as_uri()
    if uri not in session.versions:
        session.open(sample.path, sample.language_id)
    return uri


async def measure_folder(folder: Path, count: int, limit_s: float) -> Figures:
    undocumented, documented = choose(folder, count)
    language = ", ".join(sorted({s.definition.language for s in undocumented})) or "-"
    figures = Figures(str(folder), language)
    session = await _start(folder, limit_s)
    try:
        figures.documented_s = await _hover_each(session, documented)
        for sample in undocumented:
            uri = _open(session, sample)
            position = _position(session, uri, sample.definition)
            text, latency = await session.hover(uri, *position, timeout=limit_s + 60)
            figures.cold_s.append(latency)
            if "generated by Ghostline" in text:
                figures.summaries.append(text.split("---")[1].strip().split("\n\n")[0])
            else:
                figures.no_answer += 1
            _, latency = await session.hover(uri, *position)
            figures.cached_s.append(latency)
        for sample in undocumented:
            await _insert(session, sample, figures)
        figures.model_calls = int((await session.hover_status()).get("modelCalls", 0))
    finally:
        await session.stop()
    session = await _start(folder, limit_s)
    try:
        figures.restart_s = await _hover_each(session, undocumented)
        figures.restart_model_calls = int((await session.hover_status()).get("modelCalls", 0))
    finally:
        await session.stop()
    return figures


async def _hover_each(session: HoverSession, samples: list[Sample]) -> list[float]:
    """Latency of one hover on each sample's name."""
    latencies = []
    for sample in samples:
        uri = _open(session, sample)
        _, latency = await session.hover(uri, *_position(session, uri, sample.definition))
        latencies.append(latency)
    return latencies


async def _insert(session: HoverSession, sample: Sample, figures: Figures) -> None:
    uri = _open(session, sample)
    line, column = _position(session, uri, sample.definition)
    action = await session.docstring_action(uri, line, column)
    text = session.texts[uri]
    new = apply_edit(text, action)
    if new is None:
        return
    figures.inserted += 1
    spec: LanguageSpec | None = spec_for_path(sample.path)
    assert spec is not None
    before = _errors(spec.parser().parse(text.encode()))
    data = new.encode()
    tree = spec.parser().parse(data)
    if _errors(tree) > before:
        print(f"  does not parse after insertion: {sample.path}:{line + 1}", file=sys.stderr)
        return
    figures.parses += 1
    name = sample.definition.qualified_name
    found = [d for d in extract(spec, tree, data, sample.path).definitions
             if d.qualified_name == name and d.doc]
    if found:
        figures.read_back += 1


def _ms(values: Sequence[float]) -> str:
    if not values:
        return "      -       -"
    return f"{statistics.median(values) * 1000:7.0f} {percentile(values, 90) * 1000:7.0f}"


def report(all_figures: list[Figures], limit_s: float) -> str:
    lines = [f"Hover docstrings on real code (hovers wait up to {limit_s:.0f} s for the model)",
             f"{'':34}{'n':>4} {'median':>7} {'p90':>7}  (ms)"]
    for figures in all_figures:
        lines.append(f"{figures.folder} [{figures.language}]")
        rows = (("documented (no model)", figures.documented_s),
                ("undocumented, cold (generates)", figures.cold_s),
                ("same hover again (memory cache)", figures.cached_s),
                ("after a restart (SQLite cache)", figures.restart_s))
        for label, values in rows:
            lines.append(f"  {label:32}{len(values):4} {_ms(values)}")
        within = sum(1 for v in figures.cold_s if v <= DEFAULT_LIMIT_S)
        lines.append(f"  cold hovers within the default {DEFAULT_LIMIT_S:.0f} s limit: "
                     f"{within}/{len(figures.cold_s)}; no usable summary: {figures.no_answer}")
        lines.append(f"  model calls: {figures.model_calls} in the first session, "
                     f"{figures.restart_model_calls} after the restart")
        total = len(figures.cold_s)
        lines.append(f"  Insert docstring: {figures.inserted}/{total} gave an edit; "
                     f"{figures.parses}/{figures.inserted} still parse; "
                     f"{figures.read_back}/{figures.inserted} read back as the definition's doc")
        for summary in figures.summaries[:3]:
            lines.append(f"    e.g. {summary[:110]}")
    cold = [v for f in all_figures for v in f.cold_s]
    cached = [v for f in all_figures for v in f.cached_s]
    inserted = sum(f.inserted for f in all_figures)
    parses = sum(f.parses for f in all_figures)
    lines.append(f"All: cold median/p90 {_ms(cold).strip()} ms; cached {_ms(cached).strip()} ms; "
                 f"inserted docstrings that leave the file parsing: {parses}/{inserted}"
                 + (f" ({100 * parses / inserted:.0f}%)" if inserted else ""))
    return "\n".join(lines)


@contextlib.contextmanager
def _summary_cache(path: Path) -> Iterator[None]:
    """The server's summary cache at ``path`` while the block runs: "cold" means cold."""
    previous = os.environ.get("GHOSTLINE_DOCSTRING_CACHE")
    os.environ["GHOSTLINE_DOCSTRING_CACHE"] = str(path)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("GHOSTLINE_DOCSTRING_CACHE", None)
        else:
            os.environ["GHOSTLINE_DOCSTRING_CACHE"] = previous


async def run(folders: list[Path], count: int, limit_s: float) -> list[Figures]:
    results = []
    with tempfile.TemporaryDirectory(prefix="ghostline-hover-bench-") as tmp:
        for number, folder in enumerate(folders):
            with _summary_cache(Path(tmp) / f"d{number}.sqlite"):
                started = time.perf_counter()
                results.append(await measure_folder(folder.resolve(), count, limit_s))
                print(f"  {folder}: {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return results


async def run_judged(folders: list[Path], count: int, limit_s: float,
                     settings: dict[str, object]) -> list[JudgedFigures]:
    """Judge summaries in a copy of each folder, each with a fresh summary cache."""
    results = []
    with tempfile.TemporaryDirectory(prefix="ghostline-hover-judge-") as tmp:
        for number, folder in enumerate(folders):
            copy = Path(tmp) / f"{number}-{folder.resolve().name}"
            shutil.copytree(folder, copy, ignore=shutil.ignore_patterns(
                ".git", "node_modules", "__pycache__"))
            with _summary_cache(Path(tmp) / f"d{number}.sqlite"):
                started = time.perf_counter()
                figures = await judge_folder(copy, count, limit_s, settings)
            figures.folder = str(folder)
            results.append(figures)
            print(f"  {folder}: {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ghostline bench hover", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", type=Path, nargs="+", help="source trees of real code")
    parser.add_argument("--per-folder", type=int, default=8,
                        help="undocumented definitions to hover per folder")
    parser.add_argument("--limit", type=float, default=60.0,
                        help="hoverTimeLimitS for the run (long: time the whole generation)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--judge", type=int, default=0, metavar="N",
                        help="judge N documented Python definitions per folder against "
                        "their hidden docstrings instead")
    parser.add_argument("--model", default="",
                        help="the model for hover summaries (a packaged name or a GGUF path; "
                        "default: the server's choice)")
    args = parser.parse_args(argv)
    missing = [f for f in args.folders if not f.is_dir()]
    if missing:
        print(f"not a folder: {', '.join(map(str, missing))}", file=sys.stderr)
        return 2
    if args.judge:
        settings: dict[str, object] = {"model": args.model} if args.model else {}
        judged = asyncio.run(run_judged(args.folders, args.judge, args.limit, settings))
        print(json.dumps([asdict(r) for r in judged], indent=2) if args.json
              else judged_report(judged))
        return 0
    results = asyncio.run(run(args.folders, args.per_folder, args.limit))
    if args.json:
        print(json.dumps([asdict(r) for r in results], indent=2))
    else:
        print(report(results, args.limit))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
