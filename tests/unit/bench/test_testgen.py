"""`bench tests` without a model: the figures it reports, the server's run summary read
defensively, and both project types' cases prepared as projects the test planner reads
as pytest and vitest projects."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from ghostline.bench.testgen import (
    CASES,
    TS_CASES,
    TS_PACKAGES,
    CaseResult,
    find_line,
    prepare_python_case,
    prepare_ts_case,
    read_run_summary,
    rerun,
    row,
    summarize,
    ts_cache_dir,
    ts_cache_ready,
    ts_case_source,
)
from ghostline.index.testgen_locations import GenPlan, plan_test_file


def _result(name: str, **fields: object) -> CaseResult:
    result = CaseResult(case=name)
    for key, value in fields.items():
        setattr(result, key, value)
    return result


def test_summary_counts_passing_functions_rerun_failures_coverage_mutants_and_times() -> None:
    results = [
        _result("a", applied=True, parses=True, tests=3, passed=3, all_pass=True,
                seconds_to_edit=10.0, run_seconds=2.0, lines=8, lines_total=10, branches=1,
                branches_total=2, mutants_caught=3, mutants_total=4),
        _result("b", applied=True, parses=True, tests=2, passed=1, rerun_failures=["t2"],
                seconds_to_edit=20.0, run_seconds=4.0, lines=5, lines_total=10, branches=0,
                branches_total=0, mutants_caught=0, mutants_total=2),
        _result("c", applied=True, parses=True, tests=1, passed=0, rerun_failures=["t"],
                seconds_to_edit=30.0, lines=10, lines_total=10),
        _result("d", message="the model wrote no usable test"),
    ]
    summary = summarize(results)
    assert summary["functions"] == 4 and summary["applied"] == 3
    assert summary["with_passing_test"] == 2
    assert summary["with_passing_test_target"] == 3  # 16 of 20
    assert summary["rerun_failing_tests"] == 2
    assert summary["tests"] == 6 and summary["tests_passing_share"] == pytest.approx(4 / 6)
    assert summary["median_line_coverage"] == pytest.approx(0.8)
    assert summary["coverage_reported"] == 3
    # a target without branches has no branch share: the median is over "a" only
    assert summary["median_branch_coverage"] == pytest.approx(0.5)
    assert summary["branch_coverage_reported"] == 1
    assert (summary["mutants_caught"], summary["mutants_total"]) == (3, 6)
    assert summary["mutant_share"] == pytest.approx(0.5)
    assert summary["median_s_to_edit"] == 20.0
    assert summary["median_s_running_tests"] == 3.0
    assert json.dumps(summary)  # the --json output


def test_summary_without_a_run_summary_says_not_reported() -> None:
    results = [_result("a", applied=True, parses=True, tests=1, passed=1, all_pass=True,
                       seconds_to_edit=5.0)]
    summary = summarize(results)
    assert summary["median_line_coverage"] is None
    assert summary["median_branch_coverage"] is None
    assert summary["mutant_share"] is None
    assert summary["median_s_running_tests"] is None
    assert summarize([])["with_passing_test"] == 0


def test_run_summary_is_read_with_every_key_optional() -> None:
    full = CaseResult(case="x")
    read_run_summary(full, {
        "ran": True, "passed": ["t1", "t2"], "failed": {"t3": "boom"}, "reason": "",
        "seconds": 1.5, "runs": 3,
        "coverage": {"lines": 7, "linesTotal": 9, "branches": 2, "branchesTotal": 4},
        "coverageNote": "", "mutants": {"caught": 2, "total": 5, "items": [
            {"description": "< → <=", "caught": True}]}})
    assert (full.server_ran, full.server_passed, full.server_failed) == (True, 2, 1)
    assert (full.run_seconds, full.server_runs) == (1.5, 3)
    assert full.line_coverage == pytest.approx(7 / 9)
    assert full.branch_coverage == pytest.approx(0.5)
    assert (full.mutants_caught, full.mutants_total) == (2, 5)
    assert full.mutants == [{"description": "< → <=", "caught": True}]
    fields = json.loads(json.dumps(row(full)))  # --json: every field, with the shares
    assert fields["line_coverage"] == pytest.approx(7 / 9) and fields["mutants_total"] == 5

    older = CaseResult(case="y")  # today's summary: no coverage, mutants or runs
    read_run_summary(older, {"ran": False, "passed": [], "failed": {}, "reason": "off",
                             "seconds": 0.0})
    assert older.server_ran is False and older.server_reason == "off"
    assert older.line_coverage is None and older.mutants_total is None
    assert older.server_runs is None and older.run_seconds is None  # nothing ran

    none = CaseResult(case="z")
    read_run_summary(none, None)
    read_run_summary(none, {"coverage": None, "mutants": None})
    assert none.line_coverage is None and none.mutants_total is None


def test_every_python_case_is_a_pytest_project_with_its_function(tmp_path: Path) -> None:
    for index, case in enumerate(CASES, 1):
        prepared = prepare_python_case(tmp_path, index, case)
        assert prepared.folder == tmp_path / f"case{index:02d}"
        assert (prepared.folder / "pyproject.toml").is_file()
        assert prepared.source.is_file() and prepared.source.is_relative_to(prepared.folder)
        assert prepared.module_name.split(".")[-1] == case[0].split(".")[-1]
        assert find_line(prepared.source, prepared.qualified) is not None, case
        plan = plan_test_file(prepared.source, "python", tmp_path)
        assert plan is not None and plan.framework == "pytest"
        assert plan.path.parent == prepared.folder / "tests"


def _fake_cache(root: Path) -> Path:
    cache = root / "cache"
    bin_dir = cache / "node_modules" / ".bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "vitest").write_text("#!/bin/sh\n", encoding="utf-8")
    for package, version in TS_PACKAGES.items():
        folder = cache / "node_modules" / package
        (folder / "src" / "__tests__").mkdir(parents=True)
        (folder / "package.json").write_text(json.dumps({"version": version}),
                                             encoding="utf-8")
        (folder / "src" / "util.ts").write_text(
            "export function twice(n: number): number {\n  return 2 * n\n}\n",
            encoding="utf-8")
        (folder / "src" / "__tests__" / "util.test.ts").write_text("", encoding="utf-8")
    return cache


def test_ts_cache_is_ready_only_with_vitest_and_the_pinned_versions(tmp_path: Path) -> None:
    cache = _fake_cache(tmp_path)
    assert ts_cache_ready(cache)
    (cache / "node_modules" / "ts-dedent" / "package.json").write_text('{"version": "9.9.9"}')
    assert not ts_cache_ready(cache)
    assert not ts_cache_ready(tmp_path / "absent")


def test_a_typescript_case_is_a_vitest_project_linked_to_the_cache(tmp_path: Path) -> None:
    cache = _fake_cache(tmp_path)
    root = tmp_path / "work"
    prepared = prepare_ts_case(root, 3, ("compare-versions", "util.ts", "twice"), cache)
    folder = root / "case03"
    assert prepared.folder == folder and prepared.source == folder / "src" / "util.ts"
    assert prepared.project == "typescript" and prepared.qualified == "twice"
    manifest = json.loads((folder / "package.json").read_text(encoding="utf-8"))
    assert manifest["type"] == "module"
    assert manifest["devDependencies"] == {"vitest": TS_PACKAGES["vitest"],
                                           "@vitest/coverage-v8": TS_PACKAGES["vitest"]}
    assert (folder / "node_modules").is_symlink()
    assert (folder / "node_modules" / ".bin" / "vitest").exists()
    assert not (folder / "src" / "__tests__").exists()  # the package's own tests stay out
    assert find_line(prepared.source, "twice", "typescript") == (0, 16)
    plan = plan_test_file(prepared.source, "typescript", root)
    assert plan is not None
    assert (plan.framework, plan.path, plan.project_root) == (
        "vitest", folder / "src" / "util.test.ts", folder)
    assert plan.import_from == "./util"


def test_find_line_takes_the_implementation_of_an_overloaded_function(tmp_path: Path) -> None:
    source = tmp_path / "a.ts"
    source.write_text("export function f(a: string): string\n"
                      "export function f(a: any): any {\n  return a\n}\n", encoding="utf-8")
    assert find_line(source, "f", "typescript") == (1, 16)


@pytest.mark.skipif(not ts_cache_ready(ts_cache_dir()),
                    reason="the TypeScript cache is absent (`ghostline bench tests --fetch`)")
def test_the_typescript_cases_are_exported_functions_of_the_cached_packages(
    tmp_path: Path,
) -> None:
    cache = ts_cache_dir()
    assert len(TS_CASES) >= 10
    assert len(set(TS_CASES)) == len(TS_CASES)
    for index, case in enumerate(TS_CASES, 1):
        package, file, function = case
        source = ts_case_source(cache, package, file)
        where = find_line(source, function, "typescript")
        assert where is not None, case
        line = source.read_text(encoding="utf-8").split("\n")[where[0]]
        assert line.startswith("export "), (case, line)
        prepared = prepare_ts_case(tmp_path, index, case, cache)
        assert find_line(prepared.source, function, "typescript") == where
        plan = plan_test_file(prepared.source, "typescript", tmp_path)
        assert plan is not None and plan.framework == "vitest"


def test_rerun_counts_a_test_as_passing_only_if_it_passed_every_run(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\nversion = "0"\n')
    (tmp_path / "tests").mkdir()
    test_file = tmp_path / "tests" / "test_m.py"
    text = ("import pathlib\n\n"
            "def test_ok():\n    assert True\n\n"
            "def test_flaky():\n"  # passes on its first run only
            "    mark = pathlib.Path(__file__).parent / 'ran'\n"
            "    first = not mark.exists()\n    mark.touch()\n    assert first\n")
    test_file.write_text(text, encoding="utf-8")
    plan = GenPlan("python", "pytest", test_file, True, "m", python_path=tmp_path,
                    project_root=tmp_path)
    passed, failures = asyncio.run(rerun(plan, text, ["test_ok", "test_flaky"], times=2))
    assert passed == ["test_ok"]
    assert list(failures) == ["test_flaky"]
