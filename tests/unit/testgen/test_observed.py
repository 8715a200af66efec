"""Expected values taken from what the code returns, when no generated test passes (real
pytest subprocesses; a scripted model)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ghostline.engine.base import GenerationRequest
from ghostline.features.testgen_observed import Comparison, observe, with_observed_value
from ghostline.index.testgen_locations import plan_test_file
from ghostline.lsp.generate_tests import _run_note, _run_summary

from .scripted_engine import instruct_model
from .test_generator import generator, project


@pytest.fixture(autouse=True)
def fast_pytest(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")


def test_the_literal_expected_side_takes_the_returned_value() -> None:
    unit = "def test_x():\n    assert leapdays(1900, 2000) == 10\n"
    assert with_observed_value(unit, Comparison("24", "10")) == \
        "def test_x():\n    assert leapdays(1900, 2000) == 24\n"
    flipped = "def test_x():\n    assert (0.0, 1.0, 1.0) == rgb_to_hsv(255, 0, 0)\n"
    assert with_observed_value(flipped, Comparison("(0.0, 1.0, 1.0)", "(0.0, 1.0, 255.0)")) \
        == "def test_x():\n    assert (0.0, 1.0, 255.0) == rgb_to_hsv(255, 0, 0)\n"


def test_an_expected_value_named_above_the_assert_is_replaced_where_it_is_written() -> None:
    unit = ("def test_x():\n    expected = ['apple', 'ape']\n"
            "    assert matches('appel') == expected\n")
    assert with_observed_value(unit, Comparison("['apple', 'maple']", "['apple', 'ape']")) \
        == ("def test_x():\n    expected = ['apple', 'maple']\n"
            "    assert matches('appel') == expected\n")


def test_values_that_are_not_literals_are_left_alone() -> None:
    unit = "def test_x():\n    assert make() == 3\n"
    assert with_observed_value(unit, Comparison("<Item object at 0x1>", "3")) is None
    assert with_observed_value(unit, Comparison("4", "5")) is None  # no side equals 5
    assert with_observed_value("def test_x():\n    assert 1 == 2\n",
                               Comparison("1", "2")) is None  # nothing the code computed


async def test_the_run_records_both_sides_of_each_failing_comparison(tmp_path: Path) -> None:
    source = project(tmp_path)
    plan = plan_test_file(source, "python", tmp_path, [])
    assert plan is not None
    candidate = ("from inventory import Item, restock\n\n\n"
                 "def test_a():\n    assert restock(Item('a', 1.0, 1), 2).quantity == 4\n\n\n"
                 "def test_b():\n    assert restock(Item('a', 1.0, 1), 2).quantity == 3\n")
    found = await observe(plan, candidate, ["test_a", "test_b"], 60)
    assert found == {"test_a": Comparison("3", "4", 5)}  # line 5 of the candidate file


async def test_when_no_test_passes_the_code_gives_the_expected_values(tmp_path: Path) -> None:
    source = project(tmp_path)
    info = instruct_model()
    wrong = ("```python\ndef test_restock_adds():\n"
             "    assert restock(Item('a', 1.0, 1), 2).quantity == 4\n```\n")

    def answer(request: GenerationRequest) -> str:
        return wrong  # the repairs change nothing either

    gen, _ = generator(tmp_path, source, answer, info=info, run_generated=True)
    result = await gen.generate()
    assert result.tests == ["test_restock_adds"]
    assert "quantity == 3" in result.new_text and "quantity == 4" not in result.new_text
    assert result.run is not None
    assert result.run.observed == {"test_restock_adds": "expected 4, the code returned 3"}
    note = _run_note(result)
    assert "1 test now expects what the code returns, not what the model expected: check it" \
        in note and "expected 4, the code returned 3" in note
    assert _run_summary(result)["observed"] == result.run.observed


async def test_each_round_takes_the_next_failing_assert(tmp_path: Path) -> None:
    source = project(tmp_path)
    info = instruct_model()
    wrong = ("```python\ndef test_restock_adds():\n"
             "    item = restock(Item('a', 1.0, 1), 2)\n"
             "    assert item.quantity == 4\n"
             "    assert item.name == 'b'\n```\n")

    gen, _ = generator(tmp_path, source, lambda request: wrong, info=info,
                       run_generated=True)
    result = await gen.generate()
    assert "item.quantity == 3" in result.new_text and "item.name == 'a'" in result.new_text
    assert result.run is not None
    assert result.run.observed == {
        "test_restock_adds": "expected 4, the code returned 3; expected 'b', the code "
                             "returned 'a'"}


async def test_the_failing_assert_is_found_by_its_line(tmp_path: Path) -> None:
    """Two asserts expect 1; only the second fails: the first must stay as it is."""
    source = project(tmp_path)
    info = instruct_model()
    wrong = ("```python\ndef test_restock_adds():\n"
             "    item = restock(Item('a', 1.0, 0), 1)\n"
             "    assert item.quantity == 1\n"
             "    assert item.price * 2 == 1\n```\n")

    gen, _ = generator(tmp_path, source, lambda request: wrong, info=info,
                       run_generated=True)
    result = await gen.generate()
    assert "item.quantity == 1\n" in result.new_text
    assert "item.price * 2 == 2.0" in result.new_text
