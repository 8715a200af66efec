"""Coverage of the target by generated Go tests, from ``go test -coverprofile``.

The passing tests run once more with ``-cover -coverprofile=<temp file>``. A profile line
is a block: ``file:startLine.startCol,endLine.endCol numStmts count``. Go counts the whole
run, not each test (no ``per_test``), and measures statements, not branches. A line of
the target counts when a block spans it and it holds code (not blank, not only a
comment or closing brackets); it is covered when one of its blocks ran.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass
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

_BLOCK = re.compile(r"^(.+):(\d+)\.(\d+),(\d+)\.(\d+) (\d+) (\d+)$")
#: A line with no code of its own: blank, a comment, closing brackets.
_NOT_CODE = re.compile(r"[\s})\],;]*(//.*)?")


@dataclass(frozen=True)
class Block:
    """One block of a cover profile (lines 1-based, inclusive)."""

    file: str
    start_line: int
    end_line: int
    statements: int
    count: int


def parse_profile(text: str) -> list[Block]:
    """The blocks of a cover profile (any mode: set, count, atomic); odd lines are skipped."""
    blocks: list[Block] = []
    for line in text.splitlines():
        match = _BLOCK.match(line.strip())
        if match:
            file, start, _, end, end_column, statements, count = match.groups()
            last = int(end)
            if int(end_column) <= 1 and last > int(start):
                last -= 1  # the end is exclusive: "12.1" stops before line 12
            blocks.append(Block(file, int(start), last, int(statements), int(count)))
    return blocks


def profile_report(blocks: list[Block], source: Path, source_text: str,
                   ranges: list[tuple[int, int]]) -> CoverageReport | None:
    """The run's coverage of ``ranges`` (1-based lines) of ``source`` (None when no block
    is of that file). Profile paths are import paths (``example.com/m/pkg/file.go``):
    the file is matched by its name, as only the package of the test file is measured."""
    mine = [b for b in blocks if b.file.rsplit("/", 1)[-1] == source.name]
    if not mine:
        return None
    text_lines = source_text.split("\n")
    counts: dict[int, int] = {}
    for block in mine:
        for line in range(block.start_line, block.end_line + 1):
            if in_ranges(line, ranges) and _is_code(text_lines, line):
                counts[line] = max(counts.get(line, 0), block.count)
    covered = sum(1 for count in counts.values() if count > 0)
    return CoverageReport(covered, len(counts), 0, 0, statements=set(counts))


def _is_code(lines: list[str], line: int) -> bool:
    return 0 < line <= len(lines) and not _NOT_CODE.fullmatch(lines[line - 1])


async def measure_go(
    plan: GenPlan, candidate: str, names: list[str], target: Target, time_limit_s: float,
) -> CoverageOutcome:
    """Run ``names`` once with ``go test -cover``: the whole run's lines of the target."""
    if shutil.which("go") is None:
        return CoverageOutcome(None, "coverage not measured: the go tool is not installed")
    source = target.path.resolve()
    try:
        source_text = source.read_text(encoding="utf-8")
    except OSError as exc:
        return CoverageOutcome(None, f"coverage not measured: {exc.strerror}")
    with tempfile.TemporaryDirectory(prefix="ghostline-coverage-") as folder:
        profile = Path(folder) / "cover.out"
        run = await run_tests(plan, candidate, names, time_limit_s,
                              RunOptions(runner_args=("-cover", f"-coverprofile={profile}")))
        if not run.ran or not run.passed:
            return CoverageOutcome(None, f"coverage not measured: {why_not_run(run)}")
        try:
            blocks = parse_profile(profile.read_text(encoding="utf-8"))
        except OSError:
            tail = run.output.strip()[-200:]
            return CoverageOutcome(None, f"coverage not measured: go test wrote no profile "
                                         f"({tail})")
    report = profile_report(blocks, source, source_text, span_body(target))
    if report is None:
        return CoverageOutcome(None, f"coverage not measured: {source.name} was not run")
    return CoverageOutcome(report)


__all__ = ["Block", "measure_go", "parse_profile", "profile_report"]
