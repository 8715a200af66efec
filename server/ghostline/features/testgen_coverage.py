"""Which lines and branches of the target each generated test covers (Python, coverage.py).

The passing tests run once under ``coverage run`` with a temporary rcfile: branch
coverage, only the target's file, and a dynamic context per test function, so the data
says which test ran which line. ``coverage json --show-contexts`` gives the file's
statements, its branches and each line's tests; a short script with the project's
interpreter reads each test's arcs from the data file (the JSON report has no contexts for
arcs). Only the target's body counts: the ``def`` line and the module's top level run at
import, under no test.

vitest (``testgen_coverage_js``) and ``go test`` (``testgen_coverage_go``) give coverage of
the whole run only: their reports have an empty ``per_test``, and no test is selected by
coverage.
"""

from __future__ import annotations

import ast
import json
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from ghostline.features.testgen_runner import (
    RunOptions,
    RunResult,
    _has_module,
    _project_python,
    run_command,
    run_tests,
)
from ghostline.features.testgen_sandbox import runner_environment
from ghostline.index.testgen_locations import GenPlan
from ghostline.index.testgen_target import Target

Arc = tuple[int, int]

NOT_INSTALLED = "coverage not measured: coverage.py is not installed in the project's environment"
_STEP_LIMIT_S = 30.0
#: Prints {context: arcs of the file} from a coverage data file (run by the project's python).
_ARCS_SCRIPT = """
import json, re, sys
from coverage import CoverageData
data = CoverageData(basename=sys.argv[1])
data.read()
out = {}
for context in sorted(data.measured_contexts()):
    data.set_query_contexts(["^" + re.escape(context) + "$"])
    out[context] = [list(arc) for arc in data.arcs(sys.argv[2]) or []]
print(json.dumps(out))
"""


@dataclass
class UnitCoverage:
    """What one test covers of the target: line numbers and branches (from, to), 1-based;
    a negative "to" is an exit from the function."""

    lines: set[int] = field(default_factory=set)
    branches: set[Arc] = field(default_factory=set)


@dataclass
class CoverageReport:
    """Coverage of the target by the kept tests; ``per_test`` holds each kept test's (empty
    where the runner measures the whole run only: vitest, go test)."""

    lines: int
    lines_total: int
    branches: int
    branches_total: int
    per_test: dict[str, UnitCoverage] = field(default_factory=dict)
    #: The target's statement lines and branches (what the totals count; the branches as
    #: arcs for Python only).
    statements: set[int] = field(default_factory=set)
    all_branches: set[Arc] = field(default_factory=set)


@dataclass
class CoverageOutcome:
    """A report, or why there is none (``note``), and the seconds it took."""

    report: CoverageReport | None
    note: str = ""
    seconds: float = 0.0


def body_ranges(source: str, target: Target) -> list[tuple[int, int]]:
    """1-based inclusive line ranges of the target's body (a class: its methods' bodies)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    first, last = target.first_line + 1, target.last_line + 1
    for node in ast.walk(tree):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        if node.name != target.name or not first <= node.lineno <= last:
            continue
        if isinstance(node, ast.ClassDef):
            return [_body_range(f) for f in node.body
                    if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))]
        return [_body_range(node)]
    return []


def _body_range(node: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[int, int]:
    return node.body[0].lineno, node.end_lineno or node.body[-1].lineno


def in_ranges(line: int, ranges: list[tuple[int, int]]) -> bool:
    return any(start <= line <= end for start, end in ranges)


def span_body(target: Target) -> list[tuple[int, int]]:
    """The 1-based line range of the target's definition without its first line (which
    runs at import), or its only line; for languages measured without a parse."""
    first, last = target.first_line + 1, target.last_line + 1
    return [(first + 1, last)] if last > first else [(first, last)]


async def measure_coverage(
    plan: GenPlan, candidate: str, names: list[str], target: Target, time_limit_s: float,
) -> CoverageOutcome:
    """Run ``names`` once under coverage; each test's lines and branches of the target."""
    started = time.perf_counter()
    outcome = await _measure(plan, candidate, names, target, time_limit_s)
    outcome.seconds = time.perf_counter() - started
    return outcome


async def _measure(
    plan: GenPlan, candidate: str, names: list[str], target: Target, time_limit_s: float,
) -> CoverageOutcome:
    if plan.framework == "vitest":
        from ghostline.features.testgen_coverage_js import measure_vitest  # imports this module

        return await measure_vitest(plan, candidate, names, target, time_limit_s)
    if plan.language == "go":
        from ghostline.features.testgen_coverage_go import measure_go  # imports this module

        return await measure_go(plan, candidate, names, target, time_limit_s)
    if plan.language == "rust":
        return CoverageOutcome(None, "coverage not measured: cargo test has no coverage of "
                                     "its own")
    if plan.language != "python":
        return CoverageOutcome(None, "coverage not measured: only Python, vitest and go test "
                                     "runs are measured")
    python = _project_python(plan.project_root or plan.path.parent)
    if not _has_module(python, "coverage"):
        return CoverageOutcome(None, NOT_INSTALLED)
    source_path = target.path.resolve()
    try:
        source = source_path.read_text(encoding="utf-8")
    except OSError as exc:
        return CoverageOutcome(None, f"coverage not measured: {exc.strerror}")
    ranges = body_ranges(source, target)
    if not ranges:
        return CoverageOutcome(None, f"coverage not measured: {target.name} was not found in "
                                     f"{source_path.name}")
    with tempfile.TemporaryDirectory(prefix="ghostline-coverage-") as folder:
        temp = Path(folder)
        rcfile = _write_rcfile(temp, source_path)
        run = await run_tests(plan, candidate, names, time_limit_s,
                              RunOptions(wrap=("-m", "coverage", "run", f"--rcfile={rcfile}")))
        if not run.ran or not run.passed:
            return CoverageOutcome(None, f"coverage not measured: {why_not_run(run)}")
        cwd = plan.project_root or plan.path.parent
        report_path = temp / "coverage.json"
        code, output = await run_command(
            [python, "-m", "coverage", "json", f"--rcfile={rcfile}", "--show-contexts",
             "-o", str(report_path)], cwd, runner_environment(), _STEP_LIMIT_S)
        if code != 0 or not report_path.exists():
            return CoverageOutcome(None, "coverage not measured: the report failed "
                                         f"({output.strip()[-200:]})")
        code, output = await run_command([python, "-c", _ARCS_SCRIPT, str(temp / ".coverage"),
                                   str(source_path)], cwd, runner_environment(), _STEP_LIMIT_S)
        if code != 0:
            return CoverageOutcome(None, "coverage not measured: reading the data failed "
                                         f"({output.strip()[-200:]})")
        report = json.loads(report_path.read_text(encoding="utf-8"))
        arcs = json.loads(output.strip().splitlines()[-1])
    files = report.get("files", {})
    data = next(iter(files.values()), None) if files else None
    if data is None:
        return CoverageOutcome(None, f"coverage not measured: {source_path.name} was not run")
    return CoverageOutcome(_report(data, arcs, ranges, run.passed))


def _write_rcfile(folder: Path, source: Path) -> Path:
    """A temporary rcfile (``--context`` names one context for the whole run; a dynamic
    context gives one per test)."""
    rcfile = folder / "coveragerc"
    rcfile.write_text(
        "[run]\nbranch = True\ndynamic_context = test_function\n"
        f"include = {source}\ndata_file = {folder / '.coverage'}\n", encoding="utf-8")
    return rcfile


def why_not_run(run: RunResult) -> str:
    if not run.ran:
        return run.reason
    return next(iter(run.failed.values()), run.reason or "the tests failed under coverage")


def _report(data: dict[str, object], arcs: dict[str, list[list[int]]],
            ranges: list[tuple[int, int]], names: list[str]) -> CoverageReport:
    """The coverage of each test in ``names``, from the JSON report and the per-context arcs."""
    statements = {n for key in ("executed_lines", "missing_lines")
                  for n in _ints(data.get(key)) if in_ranges(n, ranges)}
    branches = {arc for key in ("executed_branches", "missing_branches")
                for arc in _arcs(data.get(key)) if in_ranges(arc[0], ranges)}
    contexts = data.get("contexts")
    line_contexts = contexts if isinstance(contexts, dict) else {}
    per_test: dict[str, UnitCoverage] = {}
    for name in names:
        mine = {c for c in arcs if _is_context_of(c, name)}
        lines = {int(line) for line, tests in line_contexts.items()
                 if int(line) in statements and mine.intersection(tests)}
        taken = {(a, b) for c in mine for a, b in arcs[c]} & branches
        per_test[name] = UnitCoverage(lines, taken)
    return summarize(CoverageReport(0, len(statements), 0, len(branches), per_test,
                                    statements, branches), names)


def _ints(value: object) -> list[int]:
    return [int(v) for v in value] if isinstance(value, list) else []


def _arcs(value: object) -> list[Arc]:
    if not isinstance(value, list):
        return []
    return [(int(a), int(b)) for a, b in value]


def _is_context_of(context: str, name: str) -> bool:
    """``test_module.TestClass.test_x`` is the context of ``test_x`` and ``TestClass.test_x``."""
    return context == name or context.endswith("." + name)


def summarize(report: CoverageReport, kept: list[str]) -> CoverageReport:
    """The report restricted to the ``kept`` tests, with its totals recomputed (a report of
    the whole run, with no ``per_test``, as it is)."""
    if not report.per_test:
        return report
    per_test = {n: report.per_test[n] for n in kept if n in report.per_test}
    lines = set().union(*(c.lines for c in per_test.values())) if per_test else set()
    branches = set().union(*(c.branches for c in per_test.values())) if per_test else set()
    return CoverageReport(len(lines), report.lines_total, len(branches), report.branches_total,
                          per_test, report.statements, report.all_branches)


def select_by_coverage(names: list[str], report: CoverageReport) -> tuple[list[str], list[str]]:
    """(kept, dropped): in order, a test is kept when it covers a line or branch that the
    tests kept before it do not. The first test stays when none would. Without per-test
    data (a whole-run report) every test is kept."""
    if not report.per_test:
        return list(names), []
    kept: list[str] = []
    lines: set[int] = set()
    branches: set[Arc] = set()
    for name in names:
        covered = report.per_test.get(name, UnitCoverage())
        if not covered.lines <= lines or not covered.branches <= branches:
            kept.append(name)
            lines |= covered.lines
            branches |= covered.branches
    if not kept and names:
        kept = names[:1]
    return kept, [n for n in names if n not in kept]


def covered_by_others(name: str, others: list[str], report: CoverageReport) -> bool:
    """Every line and branch ``name`` covers is covered by one of ``others``."""
    mine = report.per_test.get(name)
    if mine is None:
        return False
    rest = [report.per_test[o] for o in others if o in report.per_test]
    lines = set().union(*(c.lines for c in rest)) if rest else set()
    branches = set().union(*(c.branches for c in rest)) if rest else set()
    return mine.lines <= lines and mine.branches <= branches


__all__ = [
    "NOT_INSTALLED",
    "CoverageOutcome",
    "CoverageReport",
    "UnitCoverage",
    "body_ranges",
    "covered_by_others",
    "in_ranges",
    "measure_coverage",
    "select_by_coverage",
    "span_body",
    "summarize",
    "why_not_run",
]
