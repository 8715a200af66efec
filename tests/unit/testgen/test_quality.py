"""Keeping only reliable, useful generated tests: three runs, coverage, mutants (real pytest
subprocesses; the model is scripted)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ghostline.context.testgen import find_target, parse_definitions
from ghostline.engine.base import GenerationRequest, ModelInfo
from ghostline.features import testgen_coverage
from ghostline.features.testgen_coverage import measure_coverage, select_by_coverage
from ghostline.features.testgen_mutants import make_mutants, run_mutants
from ghostline.index.testgen_locations import GenPlan, plan_test_file
from ghostline.index.testgen_target import Target
from ghostline.lsp.generate_tests import _run_note, _run_summary

from .scripted_engine import instruct_model
from .test_generator import generator

SHAPES = '''class Scale:
    def __init__(self, factor):
        self.__factor = factor

    def apply(self, x):
        return x * self.__factor

    @staticmethod
    def double(x):
        return x + x


def deco(function):
    def inner(*args):
        return function(*args)
    return inner


@deco
def wrapped(x):
    return x + 1


def sign(x):
    """The sign of x."""
    if x > 0:
        return 1
    if x < 0:
        return -1
    return 0
'''
SIGN_LINE = SHAPES.split("\n").index("def sign(x):")
EXACT = "def test_sign_all():\n    assert (sign(3), sign(-2), sign(0)) == (1, -1, 0)\n"
INSTRUCT = instruct_model()


@pytest.fixture(autouse=True)
def fast_pytest(monkeypatch: pytest.MonkeyPatch) -> None:
    """The child pytest needs none of this venv's plugins: skip loading them."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")


def shapes(tmp_path: Path) -> tuple[Path, GenPlan]:
    source = tmp_path / "shapes.py"
    source.write_text(SHAPES, encoding="utf-8")
    (tmp_path / "tests").mkdir()
    plan = plan_test_file(source, "python", tmp_path, [])
    assert plan is not None
    return source, plan


def target(source: Path, name: str) -> Target:
    text = source.read_text(encoding="utf-8")
    line = next(i for i, t in enumerate(text.split("\n")) if f"def {name}(" in t)
    found = find_target(parse_definitions(text, source, "python", "shapes"), line, 8, text)
    assert found is not None and found.name == name
    return found


def chat(code: str) -> tuple[str, ModelInfo]:
    """A scripted instruction model answering with ``code`` (tests for ``sign``)."""
    return f"```python\nimport os\nfrom shapes import sign\n\n{code}```\n", INSTRUCT


async def test_a_flaky_test_is_dropped(tmp_path: Path) -> None:
    source, _ = shapes(tmp_path)
    marker = tmp_path / "ran-once"
    answer, info = chat(EXACT + "\n\ndef test_sign_flaky():\n"
                        f"    first = not os.path.exists({str(marker)!r})\n"
                        f"    open({str(marker)!r}, 'w').close()\n"
                        "    assert first and sign(1) == 1\n")

    def model(request: GenerationRequest) -> str:
        return answer

    gen, _ = generator(tmp_path, source, model, line=SIGN_LINE, info=info, run_generated=True)
    said: list[str] = []
    gen.progress = lambda message, percent: said.append(message)
    result = await gen.generate()
    assert {"running the tests (run 1 of 3)", "running the tests (run 2 of 3)",
            "running the tests (run 3 of 3)", "measuring coverage", "trying 8 mutants"} <= set(said)
    run = result.run
    assert run is not None and run.ran and run.runs == 3
    assert result.tests == ["test_sign_all"] and "test_sign_flaky" not in result.new_text
    assert list(run.flaky) == ["test_sign_flaky"]
    assert run.flaky["test_sign_flaky"].startswith("failed run 2 of 3: ")
    assert any(r.startswith("test_sign_flaky is flaky (failed run 2 of 3") for r in result.rejected)
    note = _run_note(result)
    assert note.startswith(" (1 passed three runs; covers 5 of 5 lines and 4 of 4 branches of "
                           "sign; caught 8 of 8 mutants). Not applied: test_sign_flaky — flaky")


async def test_coverage_of_a_known_function_is_exact(tmp_path: Path) -> None:
    source, plan = shapes(tmp_path)
    candidate = ("from shapes import sign\n\n\ndef test_pos():\n    assert sign(3) == 1\n\n\n"
                 "def test_neg():\n    assert sign(-2) == -1\n\n\n"
                 "def test_pos_again():\n    assert sign(7) == 1\n")
    names = ["test_pos", "test_neg", "test_pos_again"]
    outcome = await measure_coverage(plan, candidate, names, target(source, "sign"), 60)
    report = outcome.report
    assert report is not None, outcome.note
    assert outcome.note == "" and outcome.seconds > 0
    first = SIGN_LINE + 1  # 1-based line of `def sign`
    ifs = (first + 2, first + 4)
    assert report.per_test["test_pos"].lines == {ifs[0], ifs[0] + 1}
    assert report.per_test["test_pos"].branches == {(ifs[0], ifs[0] + 1)}
    assert report.per_test["test_neg"].lines == {ifs[0], ifs[1], ifs[1] + 1}
    assert report.per_test["test_neg"].branches == {(ifs[0], ifs[1]), (ifs[1], ifs[1] + 1)}
    assert (report.lines_total, report.branches_total) == (5, 4)
    assert (report.lines, report.branches) == (4, 3)
    assert select_by_coverage(names, report) == (["test_pos", "test_neg"], ["test_pos_again"])
    assert sorted(p.name for p in (tmp_path / "tests").iterdir()) == []


async def test_coverage_needs_coverage_py_in_the_project(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    source, plan = shapes(tmp_path)
    monkeypatch.setattr(testgen_coverage, "_has_module", lambda python, module: False)
    outcome = await measure_coverage(plan, EXACT, ["test_sign_all"], target(source, "sign"), 60)
    assert outcome.report is None
    assert outcome.note == ("coverage not measured: coverage.py is not installed in the "
                            "project's environment")


async def test_redundant_tests_are_dropped_and_the_summary_says_so(tmp_path: Path) -> None:
    source, _ = shapes(tmp_path)
    answer, info = chat("def test_sign_weak():\n    assert sign(5) != 3\n\n\n" + EXACT
                        + "\n\ndef test_sign_again():\n    assert sign(9) == 1\n")

    def model(request: GenerationRequest) -> str:
        return answer

    gen, _ = generator(tmp_path, source, model, line=SIGN_LINE, info=info, run_generated=True)
    result = await gen.generate()
    assert result.tests == ["test_sign_all"]
    assert "test_sign_again adds no coverage" in result.rejected
    assert "test_sign_weak catches no mutant and covers nothing the others do not" in \
        result.rejected
    summary = _run_summary(result)
    assert summary is not None
    assert summary["runs"] == 3 and summary["seconds"] > 0
    assert summary["coverage"] == {"lines": 5, "linesTotal": 5, "branches": 4,
                                   "branchesTotal": 4}
    assert summary["coverageNote"] == ""
    mutants = summary["mutants"]
    assert (mutants["caught"], mutants["total"]) == (8, 8)
    assert all(set(item) == {"description", "caught"} and item["caught"]
               for item in mutants["items"])
    assert mutants["items"][0]["description"] == f"line {SIGN_LINE + 3}: `>` → `>=`"
    assert "2 left out as redundant" in _run_note(result)


async def test_a_mutant_is_caught_by_exact_output_and_survives_a_type_check(
        tmp_path: Path) -> None:
    source, plan = shapes(tmp_path)
    before = source.read_bytes()
    candidate = ("from shapes import sign\n\n\n" + EXACT + "\n\ndef test_type():\n"
                 "    assert isinstance(sign(3), int)\n")
    outcome = await run_mutants(plan, candidate, ["test_sign_all", "test_type"],
                                target(source, "sign"), 30)
    assert outcome.report is not None, outcome.note
    items = {item.description.split(": ", 1)[1]: item for item in outcome.report.items}
    flipped = items["`>` → `>=`"]
    assert flipped.caught and flipped.caught_by == ["test_sign_all"]
    assert items["`return 1` → `return None`"].caught_by == ["test_sign_all", "test_type"]
    assert outcome.report.total == 8 and outcome.report.caught == 8
    assert source.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shapes.py", "tests"]
    assert list((tmp_path / "tests").iterdir()) == []


async def test_methods_and_staticmethods_are_mutated(tmp_path: Path) -> None:
    source, plan = shapes(tmp_path)
    before = source.read_bytes()
    # Weak tests: a mutant survives only if it really ran in place of the method (a broken
    # swap, e.g. a lost private-name mangling, would fail every test).
    candidate = ("from shapes import Scale\n\n\ndef test_apply():\n"
                 "    assert isinstance(Scale(3).apply(2), (int, float))\n\n\n"
                 "def test_double():\n    assert Scale.double(0) == 0\n")
    apply = await run_mutants(plan, candidate, ["test_apply"], target(source, "apply"), 30)
    assert apply.report is not None, apply.note
    assert [(i.description.split(": ", 1)[1], i.caught) for i in apply.report.items] == [
        ("`*` → `/`", False), ("`return x * self.__factor` → `return None`", True)]
    double = await run_mutants(plan, candidate, ["test_double"], target(source, "double"), 30)
    assert double.report is not None, double.note
    assert [(i.description.split(": ", 1)[1], i.caught) for i in double.report.items] == [
        ("`+` → `-`", False), ("`return x + x` → `return None`", True)]
    assert source.read_bytes() == before


async def test_a_function_behind_a_wrapper_is_not_mutated(tmp_path: Path) -> None:
    source, plan = shapes(tmp_path)
    candidate = "from shapes import wrapped\n\n\ndef test_w():\n    assert wrapped(1) == 2\n"
    outcome = await run_mutants(plan, candidate, ["test_w"], target(source, "wrapped"), 30)
    assert outcome.report is None
    assert outcome.note == "mutants not run: the function is wrapped by a decorator"


def test_mutants_are_deterministic_and_spread_over_lines(tmp_path: Path) -> None:
    source, _ = shapes(tmp_path)
    sign = target(source, "sign")
    mutants = make_mutants(SHAPES, sign)
    assert not isinstance(mutants, str)
    again = make_mutants(SHAPES, sign)
    assert not isinstance(again, str) and again == mutants
    first = SIGN_LINE + 1
    assert sorted({m.line for m in mutants}) == [first + n for n in range(2, 7)]
    assert len(mutants) == 8
    scale = find_target(parse_definitions(SHAPES, source, "python", "shapes"), 0, 6, SHAPES)
    assert scale is not None
    assert make_mutants(SHAPES, scale) == "Scale is a class, not a function"
