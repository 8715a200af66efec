"""`ghostline bench tests`: "Generate tests" on functions from real projects, in Python or
TypeScript.

Two project types (``--project``):

* ``python`` (default): 20 functions from code nobody here wrote and that is present wherever
  Ghostline is installed: Python's standard library and four packages in Ghostline's own
  environment (packaging, pathspec, tqdm, sortedcontainers). Tests are pytest tests.
* ``typescript``: 16 exported functions from the ``.ts`` sources that three npm packages ship
  (compare-versions, ts-dedent, @tanstack/query-core; exact versions in ``TS_PACKAGES``).
  Tests are vitest tests, and each case project has vitest's coverage provider
  (@vitest/coverage-v8), so coverage is measured as in a project that configured it. The
  packages, vitest and the provider are installed once, with npm, into
  ``~/.cache/ghostline/bench-tests-ts/`` (``GHOSTLINE_CACHE_DIR`` moves it): on the first run,
  or ahead of it with ``--fetch``. Nothing is downloaded when that cache is there, and the
  server downloads nothing.

Each function's module (Python: the file or its top-level package; TypeScript: the package's
``src`` folder) is copied into its own folder of a scratch workspace, a project of its own
(``pyproject.toml``; or ``package.json`` of ``"type": "module"`` naming vitest, with the
cached ``node_modules`` linked in). The real server runs over stdio, as an editor drives it:
the code action is listed and resolved, the command runs, the edit arrives through
`workspace/applyEdit` and is written to disk. Then the generated file is parsed
(tree-sitter) and its new tests are re-run by the bench three times, with pytest or vitest
in a subprocess with a time limit: a test counts as passing only if it passed all three.

Figures, per function and overall:

* functions with at least one applied test that passes the bench's re-runs (target: 16 of 20);
* applied tests that fail any of the bench's re-runs (target: 0);
* line and branch coverage of the target by the applied tests (median over the functions),
  and mutants of the target the tests catch (per function and the overall share), as the
  server's own run of the tests reports them (``--run-generated``; "not reported" otherwise);
* time from running the command to the applied edit (median, p90), and the part of it the
  server spent running the tests (median);
* the share of generated files that parse, and of tests that pass.

``--json FILE`` writes the summary and every per-function field.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import logging
import os
import shutil
import statistics
import subprocess
import sysconfig
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ghostline.context.testgen import parse_definitions
from ghostline.demo_tests import GenerateTestsSession
from ghostline.engine.model_files import cache_dir
from ghostline.features.testgen_runner import run_tests
from ghostline.index.testgen_locations import GenPlan
from ghostline.postprocess.testgen_output import syntax_errors

#: (module, qualified name of the function, what to copy: "file" or the top-level package)
CASES: tuple[tuple[str, str, str], ...] = (
    ("colorsys", "rgb_to_hsv", "file"),
    ("colorsys", "hls_to_rgb", "file"),
    ("textwrap", "shorten", "file"),
    ("fnmatch", "fnmatchcase", "file"),
    ("shlex", "quote", "file"),
    ("shlex", "join", "file"),
    ("html", "escape", "package"),
    ("statistics", "median", "file"),
    ("string", "capwords", "file"),
    ("calendar", "isleap", "file"),
    ("calendar", "leapdays", "file"),
    ("genericpath", "commonprefix", "file"),
    ("heapq", "nsmallest", "file"),
    ("glob", "has_magic", "file"),
    ("difflib", "get_close_matches", "file"),
    ("fractions", "Fraction.limit_denominator", "file"),
    ("packaging.utils", "canonicalize_name", "package"),
    ("pathspec.util", "normalize_file", "package"),
    ("tqdm.std", "tqdm.format_sizeof", "package"),
    ("sortedcontainers.sortedlist", "SortedList.bisect_left", "package"),
)
#: npm packages of the TypeScript cases (each ships its ``.ts`` sources under ``src/``),
#: and the test runner; exact versions.
TS_PACKAGES: dict[str, str] = {
    "vitest": "3.2.4",
    # vitest's coverage provider at vitest's version: the cases measure coverage, as a
    # project that has it configured does.
    "@vitest/coverage-v8": "3.2.4",
    "compare-versions": "6.1.1",
    "ts-dedent": "2.3.0",
    "@tanstack/query-core": "5.108.4",
}
#: (npm package, file under its ``src/``, exported function)
TS_CASES: tuple[tuple[str, str, str], ...] = (
    ("compare-versions", "compareVersions.ts", "compareVersions"),
    ("compare-versions", "compare.ts", "compare"),
    ("compare-versions", "satisfies.ts", "satisfies"),
    ("compare-versions", "validate.ts", "validate"),
    ("compare-versions", "validate.ts", "validateStrict"),
    ("ts-dedent", "index.ts", "dedent"),
    ("@tanstack/query-core", "utils.ts", "functionalUpdate"),
    ("@tanstack/query-core", "utils.ts", "isValidTimeout"),
    ("@tanstack/query-core", "utils.ts", "timeUntilStale"),
    ("@tanstack/query-core", "utils.ts", "hashKey"),
    ("@tanstack/query-core", "utils.ts", "partialMatchKey"),
    ("@tanstack/query-core", "utils.ts", "replaceEqualDeep"),
    ("@tanstack/query-core", "utils.ts", "shallowEqualObjects"),
    ("@tanstack/query-core", "utils.ts", "isPlainArray"),
    ("@tanstack/query-core", "utils.ts", "isPlainObject"),
    ("@tanstack/query-core", "utils.ts", "addToArray"),
)
RUN_LIMIT_S = 60.0
#: How often the bench re-runs the applied tests (a test passes only if it passed each time).
RERUNS = 3
#: Target of "functions with at least one passing test", as a share of the functions.
PASSING_TARGET = 16 / 20


@dataclass
class Case:
    """One prepared function: its project folder, source file, and how tests import it."""

    project: str  # "python" or "typescript"
    label: str
    folder: Path
    source: Path
    qualified: str
    module_name: str = ""  # Python: the dotted module the tests import


@dataclass
class CaseResult:
    case: str
    project: str = "python"
    applied: bool = False
    parses: bool = False
    tests: int = 0
    #: Applied tests that passed every one of the bench's re-runs.
    passed: int = 0
    all_pass: bool = False
    #: Applied tests that failed (or did not run) in at least one of the bench's re-runs.
    rerun_failures: list[str] = field(default_factory=list)
    reruns: int = 0
    seconds_to_edit: float | None = None
    message: str = ""
    #: Other files whose code the prompt showed (the context service's choice).
    context_files: list[str] = field(default_factory=list)
    test_file: str = ""
    failures: dict[str, str] = field(default_factory=dict)
    #: The server's own run of the tests before applying them (None: it did not run them).
    server_ran: bool | None = None
    server_passed: int = 0
    server_failed: int = 0
    server_reason: str = ""
    run_seconds: float | None = None
    server_runs: int | None = None
    lines: int | None = None
    lines_total: int | None = None
    branches: int | None = None
    branches_total: int | None = None
    coverage_note: str = ""
    mutants_caught: int | None = None
    mutants_total: int | None = None
    mutants: list[dict[str, Any]] = field(default_factory=list)

    @property
    def line_coverage(self) -> float | None:
        return _share(self.lines, self.lines_total)

    @property
    def branch_coverage(self) -> float | None:
        return _share(self.branches, self.branches_total)


def _share(part: int | None, total: int | None) -> float | None:
    return part / total if part is not None and total else None


# --- Python cases -------------------------------------------------------------------------


def module_source(module: str) -> Path:
    """The source file of ``module`` (frozen standard modules from the stdlib folder)."""
    spec = importlib.util.find_spec(module)
    origin = Path(spec.origin) if spec is not None and spec.origin else None
    if origin is None or not origin.is_file():
        origin = Path(sysconfig.get_paths()["stdlib"]) / (module.replace(".", "/") + ".py")
    return origin


def prepare_case(root: Path, index: int, module: str, copy: str) -> Path:
    """Copy the module (or its top-level package) into ``root/caseNN``; returns the path of
    the copied source file."""
    folder = root / f"case{index:02d}"
    (folder / "tests").mkdir(parents=True)
    (folder / "pyproject.toml").write_text(
        f'[project]\nname = "case{index:02d}"\nversion = "0"\n', encoding="utf-8")
    source = module_source(module)
    if copy == "file":
        target = folder / source.name
        shutil.copy2(source, target)
        return target
    top = module.split(".")[0]
    package_dir = module_source(top).parent
    shutil.copytree(package_dir, folder / top,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.so"))
    return folder / top / source.relative_to(package_dir)


def prepare_python_case(root: Path, index: int, case: tuple[str, str, str]) -> Case:
    module, qualified, copy = case
    source = prepare_case(root, index, module, copy)
    folder = root / f"case{index:02d}"
    module_name = ".".join(source.relative_to(folder).with_suffix("").parts
                           ).removesuffix(".__init__")
    return Case("python", f"{module}.{qualified}", folder, source, qualified, module_name)


# --- TypeScript cases ---------------------------------------------------------------------


def ts_cache_dir() -> Path:
    return cache_dir() / "bench-tests-ts"


def ts_cache_ready(cache: Path) -> bool:
    """Whether ``cache`` holds vitest and every package at its pinned version."""
    if not (cache / "node_modules" / ".bin" / "vitest").exists():
        return False
    for package, version in TS_PACKAGES.items():
        manifest = cache / "node_modules" / package / "package.json"
        try:
            if json.loads(manifest.read_text(encoding="utf-8")).get("version") != version:
                return False
        except (OSError, ValueError):
            return False
    return True


def fetch_ts_cache(cache: Path) -> None:
    """Install vitest and the case packages (exact versions) into ``cache`` with npm; does
    nothing when they are there already."""
    if ts_cache_ready(cache):
        print(f"TypeScript cache ready in {cache} (nothing downloaded)")
        return
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("the TypeScript benchmark needs npm (and node) on PATH")
    specs = " ".join(f"{p}@{v}" for p, v in TS_PACKAGES.items())
    print(f"setting up the TypeScript cache in {cache}: npm install {specs}", flush=True)
    cache.mkdir(parents=True, exist_ok=True)
    (cache / "package.json").write_text(json.dumps({
        "name": "ghostline-bench-tests-ts", "private": True, "type": "module",
        "dependencies": dict(TS_PACKAGES)}, indent=2) + "\n", encoding="utf-8")
    subprocess.run([npm, "install", "--no-audit", "--no-fund", "--save-exact"], cwd=cache,
                   check=True)
    if not ts_cache_ready(cache):
        raise SystemExit(f"npm install did not leave the pinned packages in {cache}")


def ts_case_source(cache: Path, package: str, file: str) -> Path:
    return cache / "node_modules" / package / "src" / file


def prepare_ts_case(root: Path, index: int, case: tuple[str, str, str], cache: Path) -> Case:
    """Copy the package's ``src`` folder into ``root/caseNN/src`` of a vitest project whose
    ``node_modules`` links to the cache's."""
    package, file, function = case
    folder = root / f"case{index:02d}"
    folder.mkdir(parents=True)
    (folder / "package.json").write_text(json.dumps({
        "name": f"case{index:02d}", "private": True, "type": "module",
        "devDependencies": {name: TS_PACKAGES[name]
                            for name in ("vitest", "@vitest/coverage-v8")}}, indent=2) + "\n",
        encoding="utf-8")
    shutil.copytree(ts_case_source(cache, package, file).parent, folder / "src",
                    ignore=shutil.ignore_patterns("__tests__", "*.test.ts", "*.spec.ts"))
    (folder / "node_modules").symlink_to(cache / "node_modules", target_is_directory=True)
    return Case("typescript", f"{package}/{file}:{function}", folder, folder / "src" / file,
                function)


# --- running ------------------------------------------------------------------------------


def find_line(path: Path, qualified: str, language: str = "python") -> tuple[int, int] | None:
    """Where the name of the definition ``qualified`` is (the last one: the implementation
    of an overloaded function)."""
    text = path.read_text(encoding="utf-8")
    found = None
    for definition in parse_definitions(text, path, language):
        if definition.qualified_name == qualified:
            found = definition.name_span.start_line, definition.name_span.start_col
    return found


def read_run_summary(result: CaseResult, run: object) -> None:
    """Copy the server's run summary (``outcome["run"]``; any key may be missing) into
    ``result``."""
    if not isinstance(run, dict):
        return
    result.server_ran = bool(run.get("ran"))
    result.server_passed = len(run.get("passed") or [])
    result.server_failed = len(run.get("failed") or {})
    result.server_reason = str(run.get("reason") or "")
    seconds = run.get("seconds")
    if result.server_ran and isinstance(seconds, int | float):  # time spent running tests
        result.run_seconds = float(seconds)
    runs = run.get("runs")
    result.server_runs = runs if isinstance(runs, int) else None
    coverage = run.get("coverage")
    if isinstance(coverage, dict):
        result.lines = _int(coverage.get("lines"))
        result.lines_total = _int(coverage.get("linesTotal"))
        result.branches = _int(coverage.get("branches"))
        result.branches_total = _int(coverage.get("branchesTotal"))
    result.coverage_note = str(run.get("coverageNote") or "")
    mutants = run.get("mutants")
    if isinstance(mutants, dict):
        result.mutants_caught = _int(mutants.get("caught"))
        result.mutants_total = _int(mutants.get("total"))
        result.mutants = [dict(m) for m in mutants.get("items") or [] if isinstance(m, dict)]


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


async def rerun(plan: GenPlan, text: str, names: list[str], times: int = RERUNS
                ) -> tuple[list[str], dict[str, str]]:
    """Run the tests ``times`` times: the names that passed every time, and the first
    failure message of each of the others."""
    passing = set(names)
    failures: dict[str, str] = {}
    for _ in range(times):
        run = await run_tests(plan, text, names, RUN_LIMIT_S)
        for name in names:
            if name not in run.passed:
                passing.discard(name)
                failures.setdefault(name, run.failed.get(name) or run.reason or "did not run")
    return [n for n in names if n in passing], failures


async def run_case(session: GenerateTestsSession, case: Case) -> CaseResult:
    result = CaseResult(case=case.label, project=case.project)
    where = find_line(case.source, case.qualified, case.project)
    if where is None:
        result.message = "function not found"
        return result
    uri = session.open(case.source, case.project)  # the LSP language id
    outcome, seconds = await session.generate_tests(uri, where[0], where[1])
    result.applied = bool(outcome.get("applied"))
    result.message = str(outcome.get("message", ""))
    result.seconds_to_edit = seconds
    result.context_files = [str(f) for f in outcome.get("contextFiles", [])]
    read_run_summary(result, outcome.get("run"))
    if not result.applied:
        return result
    test_file = Path(str(outcome["path"]))
    result.test_file = str(test_file.relative_to(case.folder.parent))
    names = [str(n) for n in outcome.get("tests", [])]
    result.tests = len(names)
    text = test_file.read_text(encoding="utf-8")
    result.parses = not syntax_errors(text, case.project)
    if case.project == "python":
        plan = GenPlan("python", "pytest", test_file, True, case.module_name,
                        python_path=case.folder, project_root=case.folder)
    else:
        plan = GenPlan("typescript", "vitest", test_file, True, "", project_root=case.folder)
    passed, failures = await rerun(plan, text, names)
    result.reruns = RERUNS
    result.passed = len(passed)
    result.all_pass = bool(names) and result.passed == len(names)
    result.rerun_failures = sorted(failures)
    result.failures = {k: v[:160] for k, v in failures.items()}
    return result


async def run_all(project: str, cases: list[tuple[str, str, str]], settings: dict[str, Any],
                  cache: Path | None = None) -> tuple[list[CaseResult], float]:
    root = Path(tempfile.mkdtemp(prefix="ghostline-bench-tests-"))
    try:
        if project == "python":
            prepared = [prepare_python_case(root, i, c) for i, c in enumerate(cases, 1)]
        else:
            assert cache is not None
            prepared = [prepare_ts_case(root, i, c, cache) for i, c in enumerate(cases, 1)]
        session = GenerateTestsSession(settings)
        ready = await session.start(root)
        results: list[CaseResult] = []
        try:
            for case in prepared:
                started = time.perf_counter()
                result = await run_case(session, case)
                results.append(result)
                print(_line(result, time.perf_counter() - started), flush=True)
        finally:
            await session.stop()
        return results, ready
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _line(result: CaseResult, wall: float) -> str:
    if not result.applied:
        return f"  {result.case:<44} nothing applied ({result.message[:90]})  [{wall:.0f} s]"
    status = "parses" if result.parses else "DOES NOT PARSE"
    line = (f"  {result.case:<44} {result.tests} tests, {result.passed} pass "
            f"{result.reruns} re-runs, {status}, edit after {result.seconds_to_edit or 0:.1f} s")
    if result.run_seconds is not None:
        line += f" ({result.run_seconds:.1f} s running tests)"
    line += f"; lines {_percent(result.line_coverage)}, branches {_percent(result.branch_coverage)}"
    if result.mutants_total is not None:
        line += f", mutants caught {result.mutants_caught or 0}/{result.mutants_total}"
    if result.rerun_failures:
        line += f"; FAIL the re-run: {', '.join(result.rerun_failures)}"
    return line + f"; {len(result.context_files)} other files shown"


def _percent(share: float | None) -> str:
    return "not reported" if share is None else f"{share:.0%}"


def summarize(results: list[CaseResult]) -> dict[str, Any]:
    total = len(results)
    applied = [r for r in results if r.applied]
    times = [r.seconds_to_edit for r in applied if r.seconds_to_edit is not None]
    run_times = [r.run_seconds for r in applied if r.run_seconds is not None]
    tests = sum(r.tests for r in applied)
    lines = [c for c in (r.line_coverage for r in applied) if c is not None]
    branches = [c for c in (r.branch_coverage for r in applied) if c is not None]
    with_mutants = [r for r in applied if r.mutants_total is not None]
    caught = sum(r.mutants_caught or 0 for r in with_mutants)
    mutants = sum(r.mutants_total or 0 for r in with_mutants)
    return {
        "functions": total,
        "applied": len(applied),
        "with_passing_test": sum(r.passed > 0 for r in results),
        "with_passing_test_target": round(PASSING_TARGET * total),
        "rerun_failing_tests": sum(len(r.rerun_failures) for r in applied),
        "reruns": RERUNS,
        "parse_share": sum(r.parses for r in applied) / total if total else 0.0,
        "parse_share_of_applied": (sum(r.parses for r in applied) / len(applied)
                                   if applied else 0.0),
        "all_pass_share": sum(r.all_pass for r in results) / total if total else 0.0,
        "some_pass_share": sum(r.passed > 0 for r in results) / total if total else 0.0,
        "tests": tests,
        "tests_passing_share": sum(r.passed for r in applied) / tests if tests else 0.0,
        "coverage_reported": len(lines),
        "median_line_coverage": statistics.median(lines) if lines else None,
        "branch_coverage_reported": len(branches),
        "median_branch_coverage": statistics.median(branches) if branches else None,
        "mutants_reported": len(with_mutants),
        "mutants_caught": caught,
        "mutants_total": mutants,
        "mutant_share": caught / mutants if mutants else None,
        "median_s_to_edit": statistics.median(times) if times else None,
        "p90_s_to_edit": (sorted(times)[max(0, round(0.9 * len(times)) - 1)]
                          if times else None),
        "median_s_running_tests": statistics.median(run_times) if run_times else None,
    }


def row(result: CaseResult) -> dict[str, Any]:
    """One function's fields for ``--json``, with its coverage shares."""
    return {**asdict(result), "line_coverage": result.line_coverage,
            "branch_coverage": result.branch_coverage}


def print_summary(summary: dict[str, Any], ready: float) -> None:
    print(f"\nserver + model ready in {ready:.1f} s")
    print(f"applied: {summary['applied']}/{summary['functions']}")
    print(f"functions with at least one applied test passing {summary['reruns']} re-runs: "
          f"{summary['with_passing_test']}/{summary['functions']} "
          f"(target {summary['with_passing_test_target']})")
    print(f"applied tests failing the bench's re-runs: {summary['rerun_failing_tests']} "
          "(target 0)")
    print(f"generated files that parse: {summary['parse_share']:.0%} of all functions "
          f"({summary['parse_share_of_applied']:.0%} of the applied files)")
    print(f"files whose tests all run and pass: {summary['all_pass_share']:.0%} "
          f"({summary['tests_passing_share']:.0%} of {summary['tests']} tests pass)")
    if summary["median_line_coverage"] is None:
        print("coverage of the target: not reported")
    else:
        print(f"coverage of the target: median lines {summary['median_line_coverage']:.0%} "
              f"({summary['coverage_reported']} functions), median branches "
              f"{_percent(summary['median_branch_coverage'])} "
              f"({summary['branch_coverage_reported']} functions)")
    if summary["mutant_share"] is None:
        print("mutants caught: not reported")
    else:
        print(f"mutants caught: {summary['mutants_caught']}/{summary['mutants_total']} "
              f"({summary['mutant_share']:.0%}; {summary['mutants_reported']} functions)")
    if summary["median_s_to_edit"] is not None:
        line = (f"time to the applied edit: median {summary['median_s_to_edit']:.1f} s, "
                f"p90 {summary['p90_s_to_edit']:.1f} s")
        if summary["median_s_running_tests"] is not None:
            line += f"; running tests: median {summary['median_s_running_tests']:.1f} s"
        print(line)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ghostline bench tests", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--project", choices=("python", "typescript"), default="python",
                        help="which functions: Python (pytest) or TypeScript (vitest)")
    parser.add_argument("--fetch", action="store_true",
                        help="install the TypeScript cases' packages and vitest into the cache "
                        "and exit (the first TypeScript run does it too)")
    parser.add_argument("--limit", type=int, default=None, help="first N functions")
    parser.add_argument("--model", default="", help="GGUF file (default: packaged model)")
    parser.add_argument("--run-generated", action="store_true",
                        help="turn on runGeneratedTests (run + one repair round; the coverage, "
                        "mutant and test-time figures come from this run)")
    parser.add_argument("--threads", type=int, default=1,
                        help="llama.cpp threads (1: robust on a busy 2-core machine)")
    parser.add_argument("--test-context-tokens", type=int, default=None,
                        help="testContextTokens for the run (0: no other files' code in the "
                        "prompts; default: the server's)")
    parser.add_argument("--json", type=Path, help="write the per-function results here")
    args = parser.parse_args(argv)
    # the bench's own re-runs would log each command; the per-function line says enough
    logging.getLogger("ghostline.features.testgen_runner").setLevel(logging.WARNING)
    cache = ts_cache_dir()
    if args.fetch:
        fetch_ts_cache(cache)
        return 0
    table = CASES if args.project == "python" else TS_CASES
    cases = list(table[: args.limit])
    settings: dict[str, Any] = {"model": args.model, "threads": args.threads,
                                "runGeneratedTests": "always" if args.run_generated else "never"}
    if args.test_context_tokens is not None:
        settings["testContextTokens"] = args.test_context_tokens
    if args.project == "python":
        where = "stdlib, packaging, pathspec, tqdm, sortedcontainers"
    else:
        fetch_ts_cache(cache)
        tools = ("vitest", "@vitest/coverage-v8")
        where = ", ".join(f"{p}@{v}" for p, v in TS_PACKAGES.items() if p not in tools)
        where += "; " + ", ".join(f"{p}@{TS_PACKAGES[p]}" for p in tools)
    print(f"Generate tests on {len(cases)} {args.project} functions ({where}); "
          f"{os.cpu_count()} CPUs, {args.threads} llama.cpp threads; "
          f"runGeneratedTests={settings['runGeneratedTests']}; "
          f"testContextTokens={settings.get('testContextTokens', 'default')}")
    results, ready = asyncio.run(run_all(args.project, cases, settings, cache))
    summary = summarize(results)
    print_summary(summary, ready)
    if args.json:
        args.json.write_text(json.dumps({"project": args.project, "summary": summary,
                                         "results": [row(r) for r in results]}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
