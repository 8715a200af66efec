"""`ghostline bench tests`: "Generate tests" on 20 functions from real projects.

The functions come from code nobody here wrote and that is present wherever Ghostline is
installed: Python's standard library and four packages in Ghostline's own environment
(packaging, pathspec, tqdm, sortedcontainers). Each function's module is copied into its own
folder of a scratch workspace; the real server runs over stdio, as an editor drives it: the
code action is listed and resolved, the command runs, the edit arrives through
`workspace/applyEdit` and is written to disk. Then the generated file is parsed
(tree-sitter) and its new tests are run with pytest in a subprocess with a time limit.

Figures: share of generated files that parse, share whose tests run and pass, median time
from running the command to the applied edit.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import shutil
import statistics
import sysconfig
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ghostline.context.tests import parse_definitions
from ghostline.demo_tests import TestsEditorSession
from ghostline.features.test_locations import TestPlan
from ghostline.features.test_runner import run_tests
from ghostline.postprocess.test_output import syntax_errors

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
RUN_LIMIT_S = 60.0


@dataclass
class CaseResult:
    case: str
    applied: bool = False
    parses: bool = False
    tests: int = 0
    passed: int = 0
    all_pass: bool = False
    seconds_to_edit: float | None = None
    message: str = ""
    #: Other files whose code the prompt showed (the context service's choice).
    context_files: list[str] = field(default_factory=list)
    test_file: str = ""
    failures: dict[str, str] = field(default_factory=dict)


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


def find_line(path: Path, qualified: str) -> tuple[int, int] | None:
    text = path.read_text(encoding="utf-8")
    for definition in parse_definitions(text, path, "python"):
        if definition.qualified_name == qualified:
            return definition.name_span.start_line, definition.name_span.start_col
    return None


async def run_case(
    session: TestsEditorSession, root: Path, index: int, module: str, qualified: str,
    source: Path,
) -> CaseResult:
    result = CaseResult(case=f"{module}.{qualified}")
    where = find_line(source, qualified)
    if where is None:
        result.message = "function not found"
        return result
    uri = session.open(source)
    outcome, seconds = await session.generate_tests(uri, where[0], where[1])
    result.applied = bool(outcome.get("applied"))
    result.message = str(outcome.get("message", ""))
    result.seconds_to_edit = seconds
    result.context_files = [str(f) for f in outcome.get("contextFiles", [])]
    if not result.applied:
        return result
    test_file = Path(str(outcome["path"]))
    result.test_file = str(test_file.relative_to(root))
    names = [str(n) for n in outcome.get("tests", [])]
    result.tests = len(names)
    text = test_file.read_text(encoding="utf-8")
    result.parses = not syntax_errors(text, "python")
    module_name = ".".join(source.relative_to(root / f"case{index:02d}").with_suffix("")
                           .parts).removesuffix(".__init__")
    plan = TestPlan("python", "pytest", test_file, True, module_name,
                    python_path=root / f"case{index:02d}", project_root=root / f"case{index:02d}")
    run = await run_tests(plan, text, names, RUN_LIMIT_S)
    result.passed = len(run.passed)
    result.all_pass = bool(names) and result.passed == len(names)
    result.failures = {k: v[:160] for k, v in run.failed.items()}
    return result


async def run_all(cases: list[tuple[str, str, str]], settings: dict[str, Any]
                  ) -> tuple[list[CaseResult], float]:
    root = Path(tempfile.mkdtemp(prefix="ghostline-bench-tests-"))
    try:
        sources = [prepare_case(root, index, module, copy)
                   for index, (module, _, copy) in enumerate(cases, 1)]
        session = TestsEditorSession(settings)
        ready = await session.start(root)
        results: list[CaseResult] = []
        try:
            pairs = zip(cases, sources, strict=True)
            for index, ((module, qualified, _), source) in enumerate(pairs, 1):
                started = time.perf_counter()
                result = await run_case(session, root, index, module, qualified, source)
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
    return (f"  {result.case:<44} {result.tests} tests, {result.passed} pass, {status}, "
            f"edit after {result.seconds_to_edit or 0:.1f} s, "
            f"{len(result.context_files)} other files shown")


def summarize(results: list[CaseResult]) -> dict[str, Any]:
    total = len(results)
    applied = [r for r in results if r.applied]
    times = [r.seconds_to_edit for r in applied if r.seconds_to_edit is not None]
    tests = sum(r.tests for r in applied)
    return {
        "functions": total,
        "applied": len(applied),
        "parse_share": sum(r.parses for r in applied) / total if total else 0.0,
        "parse_share_of_applied": (sum(r.parses for r in applied) / len(applied)
                                   if applied else 0.0),
        "all_pass_share": sum(r.all_pass for r in results) / total if total else 0.0,
        "some_pass_share": sum(r.passed > 0 for r in results) / total if total else 0.0,
        "tests": tests,
        "tests_passing_share": sum(r.passed for r in applied) / tests if tests else 0.0,
        "median_s_to_edit": statistics.median(times) if times else None,
        "p90_s_to_edit": (sorted(times)[max(0, round(0.9 * len(times)) - 1)]
                          if times else None),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ghostline bench tests", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=len(CASES), help="first N functions")
    parser.add_argument("--model", default="", help="GGUF file (default: packaged model)")
    parser.add_argument("--run-generated", action="store_true",
                        help="turn on runGeneratedTests (run + one repair round)")
    parser.add_argument("--threads", type=int, default=1,
                        help="llama.cpp threads (1: robust on a busy 2-core machine)")
    parser.add_argument("--test-context-tokens", type=int, default=None,
                        help="testContextTokens for the run (0: no other files' code in the "
                        "prompts; default: the server's)")
    parser.add_argument("--json", type=Path, help="write the per-function results here")
    args = parser.parse_args(argv)
    cases = list(CASES[: args.limit])
    settings: dict[str, Any] = {"model": args.model, "threads": args.threads,
                                "runGeneratedTests": "always" if args.run_generated else "never"}
    if args.test_context_tokens is not None:
        settings["testContextTokens"] = args.test_context_tokens
    print(f"Generate tests on {len(cases)} functions (stdlib, packaging, pathspec, tqdm, "
          f"sortedcontainers); {os.cpu_count()} CPUs, {args.threads} llama.cpp threads; "
          f"runGeneratedTests={bool(args.run_generated)}; "
          f"testContextTokens={settings.get('testContextTokens', 'default')}")
    results, ready = asyncio.run(run_all(cases, settings))
    summary = summarize(results)
    print(f"\nserver + model ready in {ready:.1f} s")
    print(f"applied: {summary['applied']}/{summary['functions']}")
    print(f"generated files that parse: {summary['parse_share']:.0%} of all functions "
          f"({summary['parse_share_of_applied']:.0%} of the applied files)")
    print(f"files whose tests all run and pass: {summary['all_pass_share']:.0%} "
          f"(at least one passing test: {summary['some_pass_share']:.0%}; "
          f"{summary['tests_passing_share']:.0%} of {summary['tests']} tests pass)")
    if summary["median_s_to_edit"] is not None:
        print(f"time to the applied edit: median {summary['median_s_to_edit']:.1f} s, "
              f"p90 {summary['p90_s_to_edit']:.1f} s")
    if args.json:
        args.json.write_text(json.dumps({"summary": summary,
                                         "results": [asdict(r) for r in results]}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
