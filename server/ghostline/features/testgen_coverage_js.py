"""Coverage of the target by generated vitest tests, from vitest's own V8 coverage.

Where the project has ``@vitest/coverage-v8`` installed beside vitest, the passing tests
run once more with coverage on, only the target's file included, and a JSON report
(istanbul's ``coverage-final.json``) written to a temporary folder. V8 counts the whole
run, not each test: the report has no ``per_test``, so no test is dropped for adding no
coverage. Lines are istanbul's: a line with a statement, covered when one of its
statements ran; branches are the arms of ``branchMap``.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path

from ghostline.features.testgen_coverage import (
    CoverageOutcome,
    CoverageReport,
    in_ranges,
    span_body,
    why_not_run,
)
from ghostline.features.testgen_runner import RunOptions, run_tests
from ghostline.index.testgen_locations import GenPlan
from ghostline.index.testgen_target import Target

PROVIDER = "@vitest/coverage-v8"
NOT_CONFIGURED = f"vitest coverage not configured: add {PROVIDER}"
REPORT_NAME = "coverage-final.json"
#: Characters that a vitest ``include`` glob would read as pattern syntax.
_GLOB_CHARS = re.compile(r"([\\*?\[\]{}()!+@])")


def coverage_missing(root: Path) -> str:
    """Why vitest cannot measure coverage in the project at ``root`` ("" when it can)."""
    modules = root / "node_modules"
    provider = _installed_version(modules / PROVIDER)
    if provider is None:
        if PROVIDER in _declared(root / "package.json"):
            return (f"vitest coverage not configured: {PROVIDER} is in package.json but not "
                    "installed (run npm install)")
        return NOT_CONFIGURED
    vitest = _installed_version(modules / "vitest")
    if vitest is not None and vitest != provider:
        return (f"vitest coverage not configured: {PROVIDER} {provider} does not match "
                f"vitest {vitest} (install {PROVIDER}@{vitest})")
    return ""


def _installed_version(package: Path) -> str | None:
    try:
        manifest = json.loads((package / "package.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    version = manifest.get("version") if isinstance(manifest, dict) else None
    return str(version) if version else ""


def _declared(package_json: Path) -> set[str]:
    """The packages ``package.json`` names in its dependencies or devDependencies."""
    try:
        manifest = json.loads(package_json.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    if not isinstance(manifest, dict):
        return set()
    return {name for key in ("dependencies", "devDependencies")
            if isinstance(manifest.get(key), dict) for name in manifest[key]}


def coverage_args(report_dir: Path, source: str) -> tuple[str, ...]:
    """vitest 3 options for a JSON V8 coverage report of ``source`` (relative to the root)."""
    include = _GLOB_CHARS.sub(r"\\\1", source)
    return ("--coverage.enabled=true", "--coverage.provider=v8", "--coverage.reporter=json",
            f"--coverage.reportsDirectory={report_dir}", f"--coverage.include={include}")


async def measure_vitest(
    plan: GenPlan, candidate: str, names: list[str], target: Target, time_limit_s: float,
) -> CoverageOutcome:
    """Run ``names`` once with vitest's V8 coverage: the whole run's lines and branches of
    the target."""
    root = plan.project_root or plan.path.parent
    missing = coverage_missing(root)
    if missing:
        return CoverageOutcome(None, missing)
    source = target.path.resolve()
    try:
        relative = source.relative_to(root.resolve()).as_posix()
    except ValueError:
        return CoverageOutcome(None, f"coverage not measured: {source.name} is outside the "
                                     f"project at {root}")
    with tempfile.TemporaryDirectory(prefix="ghostline-coverage-") as folder:
        report_path = Path(folder) / REPORT_NAME
        run = await run_tests(plan, candidate, names, time_limit_s,
                              RunOptions(runner_args=coverage_args(Path(folder), relative)))
        if not run.ran or not run.passed:
            return CoverageOutcome(None, f"coverage not measured: {why_not_run(run)}")
        try:
            data = json.loads(report_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            tail = run.output.strip()[-200:]
            return CoverageOutcome(None, f"coverage not measured: vitest wrote no coverage "
                                         f"report ({tail})")
    report = istanbul_report(data, source, span_body(target))
    if report is None:
        return CoverageOutcome(None, f"coverage not measured: {source.name} was not run")
    return CoverageOutcome(report)


def istanbul_report(data: object, source: Path, ranges: list[tuple[int, int]]
                    ) -> CoverageReport | None:
    """The whole run's coverage of ``ranges`` (1-based lines) of ``source`` from an
    istanbul ``coverage-final.json`` (None when the file is not in it)."""
    entry = _entry(data, source)
    if entry is None:
        return None
    line_counts: dict[int, int] = {}
    statements, counts = _mapping(entry.get("statementMap")), _mapping(entry.get("s"))
    for key, location in statements.items():
        line = _start_line(location)
        if line is not None and in_ranges(line, ranges):
            line_counts[line] = max(line_counts.get(line, 0), _count(counts.get(key)))
    arms = [0, 0]  # covered, total
    branch_counts = _mapping(entry.get("b"))
    for key, branch in _mapping(entry.get("branchMap")).items():
        line = _branch_line(branch)
        arm_counts = branch_counts.get(key)
        if line is None or not in_ranges(line, ranges) or not isinstance(arm_counts, list):
            continue
        arms[0] += sum(1 for count in arm_counts if _count(count) > 0)
        arms[1] += len(arm_counts)
    covered = sum(1 for count in line_counts.values() if count > 0)
    return CoverageReport(covered, len(line_counts), arms[0], arms[1],
                          statements=set(line_counts))


def _entry(data: object, source: Path) -> Mapping[str, object] | None:
    """The report's entry of ``source``: by path, else the only entry (the run included
    only that file)."""
    files = _mapping(data)
    for key, value in files.items():
        path = value.get("path", key) if isinstance(value, dict) else key
        if Path(str(path)).resolve() == source and isinstance(value, dict):
            return value
    values = [v for v in files.values() if isinstance(v, dict)]
    return values[0] if len(values) == 1 else None


def _mapping(value: object) -> Mapping[str, object]:
    return value if isinstance(value, dict) else {}


def _start_line(location: object) -> int | None:
    start = _mapping(location).get("start")
    line = _mapping(start).get("line")
    return line if isinstance(line, int) else None


def _branch_line(branch: object) -> int | None:
    line = _mapping(branch).get("line")
    return line if isinstance(line, int) else _start_line(_mapping(branch).get("loc"))


def _count(value: object) -> int:
    return value if isinstance(value, int) else 0


__all__ = ["NOT_CONFIGURED", "coverage_args", "coverage_missing", "istanbul_report",
           "measure_vitest"]
