"""Running generated tests with the project's runner (a real pytest subprocess)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ghostline.engine.base import GenerationRequest
from ghostline.features.testgen_runner import run_tests
from ghostline.index.testgen_locations import plan_test_file

from .scripted_engine import instruct_model, lead_of
from .test_generator import generator, project

CANDIDATE = '''from inventory import Item, restock


def test_passes():
    assert restock(Item("a", 1.0, 1), 2).quantity == 3


def test_fails():
    assert restock(Item("a", 1.0, 1), 2).quantity == 99


def test_not_asked_for():
    assert False
'''


@pytest.fixture(autouse=True)
def fast_pytest(monkeypatch: pytest.MonkeyPatch) -> None:
    """The child pytest needs none of this venv's plugins: skip loading them."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")


async def test_only_the_named_tests_are_judged_and_the_temp_file_goes(tmp_path: Path) -> None:
    source = project(tmp_path)
    plan = plan_test_file(source, "python", tmp_path, [])
    assert plan is not None
    result = await run_tests(plan, CANDIDATE, ["test_passes", "test_fails"], 60)
    assert result.ran
    assert result.passed == ["test_passes"]
    assert set(result.failed) == {"test_fails"}
    assert "99" in result.failed["test_fails"]
    assert sorted(p.name for p in (tmp_path / "tests").iterdir()) == []


async def test_failing_test_is_repaired_once_then_kept(tmp_path: Path) -> None:
    source = project(tmp_path)

    def answer(request: GenerationRequest) -> str:
        assert request.prompt is not None
        lead = lead_of(request)
        if "test_restock_adds failed:" in request.prompt:  # the repair sees the failure
            return "\n    assert restock(Item('a', 1.0, 1), 2).quantity == 3\n"
        if "failed:" in request.prompt:  # a repair that does not help
            return "\n    assert restock(Item('a', 1.0, 1), 0) == 'y'\n"
        if "(" in request.stop:  # the test's name
            return "adds(" if lead.endswith("restock_") else "other("
        if "adds():" in request.prompt.rsplit("\n", 2)[-2]:
            return "Item('a', 1.0, 1), 2).quantity == 4\n"
        return "Item('a', 1.0, 1), 0) == 'x'\n"

    gen, engine = generator(tmp_path, source, answer, run_generated=True)
    result = await gen.generate()
    assert result.run is not None and result.run.ran
    assert result.tests == ["test_restock_adds"]
    assert result.run.passed == ["test_restock_adds"] and result.run.runs == 3  # after repair
    assert "quantity == 3" in result.new_text and "quantity == 4" not in result.new_text
    assert any(re.match(r"test_restock_\w*other failed: ", r) for r in result.rejected), \
        result.rejected
    assert any("failed:" in (r.prompt or "") for r in engine.requests)


async def test_an_instruction_model_corrects_its_failing_tests_seeing_what_the_run_showed(
        tmp_path: Path) -> None:
    source = project(tmp_path)
    info = instruct_model()
    first = ("```python\n"
             "def test_restock_adds():\n"
             "    assert restock(Item('a', 1.0, 1), 2).quantity == 3\n\n"
             "def test_restock_negative():\n"
             "    assert restock(Item('a', 1.0, 5), -1).quantity == 4\n"
             "```\n")
    corrected = ("```python\n"
                 "def test_restock_negative():\n"
                 "    with pytest.raises(ValueError):\n"
                 "        restock(Item('a', 1.0, 5), -1)\n"
                 "```\n")

    def answer(request: GenerationRequest) -> str:
        assert request.messages is not None
        if len(request.messages) == 2:
            return first
        # the repair: the model's own tests, then the failure with the actual value
        assert request.messages[2].role == "assistant"
        assert "def test_restock_negative" in request.messages[2].content
        report = request.messages[3].content
        assert "1 failed" in report and "test_restock_negative" in report
        assert "amount must not be negative" in report
        assert "test_restock_adds:" not in report
        return corrected

    gen, engine = generator(tmp_path, source, answer, info=info, run_generated=True)
    result = await gen.generate()
    assert len(engine.requests) == 2  # one repair call for all failing tests
    assert result.tests == ["test_restock_adds", "test_restock_negative"]
    assert "pytest.raises(ValueError)" in result.new_text and "== 4" not in result.new_text
    assert result.run is not None and not result.run.failed


async def test_a_second_repair_round_only_while_no_test_passes(tmp_path: Path) -> None:
    source = project(tmp_path)
    info = instruct_model()
    answers = iter([
        "```python\ndef test_restock_adds():\n"
        "    assert restock(Item('a', 1.0, 1), 2).quantity == 4\n```\n",
        "```python\ndef test_restock_adds():\n"
        "    assert restock(Item('a', 1.0, 1), 2).quantity == 5\n```\n",
        "```python\ndef test_restock_adds():\n"
        "    assert restock(Item('a', 1.0, 1), 2).quantity == 3\n```\n",
    ])
    reports: list[str] = []

    def answer(request: GenerationRequest) -> str:
        assert request.messages is not None
        if len(request.messages) > 2:
            reports.append(request.messages[-1].content)
        return next(answers, "no more tests")  # the coverage round, which finds none

    gen, engine = generator(tmp_path, source, answer, info=info, run_generated=True)
    result = await gen.generate()
    assert len(engine.requests) == 4
    assert "assert 3 == 4" in reports[0] and "assert 3 == 5" in reports[1]
    assert result.tests == ["test_restock_adds"] and "quantity == 3" in result.new_text


async def test_lines_left_uncovered_get_a_round_of_their_own(tmp_path: Path) -> None:
    source = project(tmp_path)
    info = instruct_model()
    asked: list[str] = []

    def answer(request: GenerationRequest) -> str:
        assert request.messages is not None
        if len(request.messages) == 2:
            return ("```python\ndef test_restock_adds():\n"
                    "    assert restock(Item('a', 1.0, 1), 2).quantity == 3\n```\n")
        asked.append(request.messages[-1].content)
        return ("```python\ndef test_restock_adds():\n"  # a name taken: renamed
                "    with pytest.raises(ValueError):\n"
                "        restock(Item('a', 1.0, 1), -2)\n\n"
                "def test_restock_other():\n"  # passes, adds nothing: dropped
                "    assert restock(Item('a', 1.0, 0), 1).quantity == 1\n```\n")

    gen, _ = generator(tmp_path, source, answer, info=info, run_generated=True)
    result = await gen.generate()
    assert len(asked) == 1 and "raise ValueError" in asked[0]
    assert "return Item(" not in asked[0]  # covered lines are not shown
    assert result.tests == ["test_restock_adds", "test_restock_adds_2"]
    assert result.run is not None and result.run.coverage is not None
    assert (result.run.coverage.lines, result.run.coverage.lines_total) == (3, 3)
    assert result.run.dropped == {"test_restock_other": "adds no coverage"}
