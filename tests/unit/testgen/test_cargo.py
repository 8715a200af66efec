"""Generated Rust tests run with real ``cargo test`` in a scratch copy of the crate.

Skipped where cargo is not installed (the reason says so); the parsers are tested on
recorded output everywhere.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from ghostline.engine.base import GenerationRequest
from ghostline.features.testgen import GenError
from ghostline.features.testgen_cargo import (
    _parse,
    _scratch_folder,
    _test_spans,
    _without_tests,
)
from ghostline.features.testgen_job import GenJob
from ghostline.features.testgen_runner import describe_failure, run_tests
from ghostline.index.testgen_locations import plan_test_file
from ghostline.lsp.generate_tests import _run_note

from .test_generator import generator

LIB = "pub fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n"
TESTS = """
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_small() {
        assert_eq!(add(1, 1), 2);
    }

    /// A wrong expectation.
    #[test]
    fn adds_wrong() {
        assert_eq!(add(1, 1), 3);
    }

    #[test]
    fn calls_a_missing_function() {
        assert_eq!(ad(1, 2), 3);
    }

    #[test]
    fn not_asked_for() {
        assert!(false);
    }
}
"""
#: Part of what `cargo test` printed for TESTS without the test that does not compile.
RECORDED_RUN = """running 2 tests
test tests::adds_small ... ok
test tests::adds_wrong ... FAILED

failures:

---- tests::adds_wrong stdout ----

thread 'tests::adds_wrong' (2807) panicked at src/lib.rs:14:9:
assertion `left == right` failed
  left: 2
 right: 3
note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace


failures:
    tests::adds_wrong

test result: FAILED. 1 passed; 1 failed; 0 ignored; 0 measured; 1 filtered out
"""

@pytest.fixture(autouse=True)
def scratch_in_pytest_temp(tmp_path_factory: pytest.TempPathFactory,
                           monkeypatch: pytest.MonkeyPatch) -> None:
    """The crates' scratch copies and builds go where pytest cleans up, not into /tmp."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path_factory.mktemp("scratch")))


needs_cargo = pytest.mark.skipif(shutil.which("cargo") is None, reason="cargo is not installed")


def crate(folder: Path, lib: str = LIB, manifest_extra: str = "") -> Path:
    """A crate with no dependencies at ``folder``; returns its src/lib.rs."""
    (folder / "src").mkdir(parents=True)
    (folder / "Cargo.toml").write_text(
        f'[package]\nname = "adder"\nedition = "2021"\n{manifest_extra}', encoding="utf-8")
    if "version" not in manifest_extra:
        with (folder / "Cargo.toml").open("a", encoding="utf-8") as manifest:
            manifest.write('version = "0.1.0"\n')
    source = folder / "src" / "lib.rs"
    source.write_text(lib, encoding="utf-8")
    return source


def test_a_failed_assert_eq_reads_as_expected_and_got() -> None:
    result = _parse(RECORDED_RUN, ["adds_small", "adds_wrong"])
    assert result.passed == ["adds_small"]
    message = result.failed["adds_wrong"]
    assert message.startswith("assertion `left == right` failed left: 2 right: 3")
    assert describe_failure(message) == "expected 3, got 2 (a bug, or a wrong expectation?)"


def test_a_test_is_cut_out_with_its_attributes_and_comments() -> None:
    source = LIB + TESTS
    spans = _test_spans(source, {"adds_wrong"})
    lines = source.split("\n")
    first, last = spans["adds_wrong"]
    assert lines[first].strip() == "/// A wrong expectation."
    assert lines[last].strip() == "}"
    cut = _without_tests(source, {"adds_wrong", "not_asked_for"})
    assert "adds_wrong" not in cut and "A wrong expectation" not in cut
    assert "not_asked_for" not in cut and "fn adds_small" in cut and "fn calls_a_missing" in cut


@needs_cargo
async def test_named_tests_are_judged_and_one_that_does_not_compile_condemns_no_other(
        tmp_path: Path) -> None:
    source = crate(tmp_path)
    plan = plan_test_file(source, "rust", tmp_path, [])
    assert plan is not None and plan.in_source and plan.project_root == tmp_path
    names = ["adds_small", "adds_wrong", "calls_a_missing_function"]
    result = await run_tests(plan, LIB + TESTS, names, 120)
    assert result.ran, result.reason
    assert result.passed == ["adds_small"]
    assert set(result.failed) == {"adds_wrong", "calls_a_missing_function"}
    assert "left: 2 right: 3" in result.failed["adds_wrong"]
    assert result.failed["calls_a_missing_function"].startswith("does not compile: error[E0425]")
    assert "not_asked_for" not in result.failed  # ran (it is not filtered out) but not judged
    assert source.read_text(encoding="utf-8") == LIB  # the user's file is untouched
    assert not (tmp_path / "target").exists()  # the build is not in the user's crate


@needs_cargo
async def test_a_run_that_dies_fails_its_tests_beside_one_that_does_not_compile(
        tmp_path: Path) -> None:
    """A test that kills the test binary leaves no report: the tests that ran fail with the
    run's last error, as they would without a broken test beside them."""
    source = crate(tmp_path)
    aborts = ("\n#[cfg(test)]\nmod more {\n    #[test]\n    fn aborts() {\n"
              "        std::process::abort();\n    }\n}\n")
    plan = plan_test_file(source, "rust", tmp_path, [])
    assert plan is not None
    result = await run_tests(plan, LIB + TESTS + aborts, ["aborts", "calls_a_missing_function"],
                             120)
    assert result.ran, result.reason
    assert result.passed == []
    assert set(result.failed) == {"aborts", "calls_a_missing_function"}
    assert result.failed["calls_a_missing_function"].startswith("does not compile")
    assert not result.failed["aborts"].startswith("does not compile")


@needs_cargo
async def test_the_same_candidate_again_leaves_the_copy_as_it_was(tmp_path: Path) -> None:
    """The three runs of a kept test compile once: cargo rebuilds what changed, and an
    unchanged candidate (or source file) is not rewritten in the copy."""
    source = crate(tmp_path)
    plan = plan_test_file(source, "rust", tmp_path, [])
    assert plan is not None
    copy = _scratch_folder(tmp_path.resolve()) / "crate"
    compiling = LIB + _without_tests(TESTS, {"calls_a_missing_function"})
    await run_tests(plan, compiling, ["adds_small"], 120)
    written = {p: p.stat().st_mtime_ns for p in copy.rglob("*") if p.is_file()}
    assert copy / "Cargo.lock" in written  # cargo's own, kept in the copy
    again = await run_tests(plan, compiling, ["adds_small"], 120)
    assert again.passed == ["adds_small"]
    assert {p: p.stat().st_mtime_ns for p in copy.rglob("*") if p.is_file()} == written
    assert (copy / "src" / "lib.rs").read_text(encoding="utf-8") == compiling


@needs_cargo
async def test_a_crate_in_a_workspace_builds_with_the_workspace(tmp_path: Path) -> None:
    (tmp_path / "Cargo.toml").write_text(
        '[workspace]\nmembers = ["adder"]\nresolver = "2"\n\n[workspace.package]\n'
        'version = "0.2.0"\n', encoding="utf-8")
    source = crate(tmp_path / "adder", manifest_extra="version.workspace = true\n")
    plan = plan_test_file(source, "rust", tmp_path, [])
    assert plan is not None
    result = await run_tests(plan, LIB + TESTS, ["adds_small"], 120)
    assert result.passed == ["adds_small"], result.output


@needs_cargo
async def test_a_crate_whose_code_does_not_compile_fails_every_test_with_the_error(
        tmp_path: Path) -> None:
    broken = LIB.replace("a + b", "a + c")
    source = crate(tmp_path, broken)
    plan = plan_test_file(source, "rust", tmp_path, [])
    assert plan is not None
    result = await run_tests(plan, broken + TESTS, ["adds_small", "adds_wrong"], 120)
    assert result.ran and not result.passed
    assert all(m.startswith("does not compile: error[E0425]") for m in result.failed.values())


async def test_without_a_cargo_manifest_the_tests_are_not_run(tmp_path: Path) -> None:
    source = tmp_path / "lib.rs"
    source.write_text(LIB, encoding="utf-8")
    plan = plan_test_file(source, "rust", tmp_path, [])
    assert plan is not None
    result = await run_tests(plan, LIB + TESTS, ["adds_small"], 60)
    assert not result.ran and "Cargo.toml" in result.reason


def rust_generation(tmp_path: Path, assertion: str) -> tuple[GenJob, Path]:
    """A generation, with the tests run, of one test whose body is ``assertion``."""
    source = crate(tmp_path)

    def answer(request: GenerationRequest) -> str:
        return f"negative() {{\n        {assertion}\n    }}\n"

    gen, _ = generator(tmp_path, source, answer, line=0, language="rust", run_generated=True)
    return gen, source


@needs_cargo
async def test_generate_tests_keeps_a_rust_test_that_passes_three_runs(tmp_path: Path) -> None:
    gen, _ = rust_generation(tmp_path, "assert_eq!(add(-1, -1), -2);")
    result = await gen.generate()
    assert result.run is not None and result.run.ran
    assert result.run.passed == ["add_negative"] and result.run.runs == 3
    assert result.run.coverage is None
    assert "coverage not measured: cargo test" in _run_note(result)  # says so
    assert "fn add_negative()" in result.new_text


@needs_cargo
async def test_generate_tests_hands_over_no_rust_test_that_fails(tmp_path: Path) -> None:
    gen, source = rust_generation(tmp_path, "assert_eq!(add(-1, -1), 2);")
    with pytest.raises(GenError, match=r"none of the generated tests passed \(assertion"):
        await gen.generate()
    assert source.read_text(encoding="utf-8") == LIB
