"""Expectations taken from what the code returns now (a last resort for Python tests).

When no generated test passes even after repair, the usual reason on a working function is
a wrong expected value (the model's arithmetic), not a bug. As regression-test generators
do (Pynguin, EvoSuite, Randoop), the failing ``assert actual == expected`` can then take
the value the code returned instead, turning the test into a record of today's behaviour.
The user is told which expectations came from the code, since a bug would be recorded too.

The values come from the test run itself: a pytest plugin records the two sides of each
failing ``==`` comparison (pytest's ``pytest_assertrepr_compare`` hook receives the
objects), so nothing is parsed out of truncated failure text. Only literals are written
back (``ast.literal_eval`` must read the value's ``repr``), into the one ``assert`` whose
literal side equals the recorded expected value.
"""

from __future__ import annotations

import ast
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ghostline.features.testgen_runner import RunOptions, run_tests
from ghostline.index.testgen_locations import GenPlan

PLUGIN_NAME = "ghostline_observed_plugin"
RECORD_VARIABLE = "GHOSTLINE_OBSERVED_FILE"
PLUGIN_SOURCE = f'''
import json
import os
import sys

import pytest

_current = [""]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    _current[0] = item.name
    yield


def pytest_assertrepr_compare(config, op, left, right):
    if op != "==":
        return None
    line = None
    frame = sys._getframe()
    while frame is not None:  # the test function's frame: the line of its failing assert
        if frame.f_code.co_name == _current[0]:
            line = frame.f_lineno
            break
        frame = frame.f_back
    with open(os.environ["{RECORD_VARIABLE}"], "a", encoding="utf-8") as handle:
        handle.write(json.dumps({{"test": _current[0], "left": repr(left),
                                  "right": repr(right), "line": line}}) + "\\n")
    return None
'''


@dataclass(frozen=True)
class Comparison:
    """The two sides of a failing ``==`` in a test, as ``repr``, and the line of the
    ``assert`` in the test file (1-based; None when it could not be found)."""

    left: str
    right: str
    line: int | None = None


async def observe(plan: GenPlan, candidate: str, names: list[str], time_limit_s: float
                  ) -> dict[str, Comparison]:
    """Run ``names`` and return the first failing ``==`` comparison of each failing test."""
    with tempfile.TemporaryDirectory(prefix="ghostline-observed-") as folder:
        temp = Path(folder)
        (temp / f"{PLUGIN_NAME}.py").write_text(PLUGIN_SOURCE, encoding="utf-8")
        record = temp / "comparisons.jsonl"
        record.touch()
        options = RunOptions(pytest_args=("-p", PLUGIN_NAME), python_path=(str(temp),),
                             env={RECORD_VARIABLE: str(record)})
        await run_tests(plan, candidate, names, time_limit_s, options)
        found: dict[str, Comparison] = {}
        for line in record.read_text(encoding="utf-8").splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue
            test = str(entry.get("test", "")).split("[", 1)[0]
            if test and test not in found:
                line = entry.get("line")
                found[test] = Comparison(str(entry["left"]), str(entry["right"]),
                                         line if isinstance(line, int) else None)
        return found


def with_observed_value(unit: str, comparison: Comparison, line: int | None = None
                        ) -> str | None:
    """``unit`` (one test function's source) with the expected literal of the failing
    ``assert`` replaced by the value the code returned; None when no ``assert a == b``
    has a literal side equal to one recorded side and a literal other side. ``line``
    (1-based, in ``unit``) names the failing ``assert`` where it is known: several may
    compare with the same expected value."""
    left, right = _literal(comparison.left), _literal(comparison.right)
    if left is _NOT_LITERAL or right is _NOT_LITERAL:
        return None
    try:
        tree = ast.parse(unit)
    except SyntaxError:
        return None
    assigned = {target.id: node.value for node in ast.walk(tree)
                if isinstance(node, ast.Assign) and len(node.targets) == 1
                for target in node.targets if isinstance(target, ast.Name)}
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Assert) and isinstance(node.test, ast.Compare)
                and len(node.test.ops) == 1 and isinstance(node.test.ops[0], ast.Eq)):
            continue
        if line is not None and not node.lineno <= line <= (node.end_lineno or node.lineno):
            continue
        sides = (node.test.left, node.test.comparators[0])
        for index, expected_node in ((1, sides[1]), (0, sides[0])):
            if isinstance(expected_node, ast.Name) and expected_node.id in assigned:
                # ``expected = [...]`` above ``assert f() == expected``: the value is there
                expected_node = assigned[expected_node.id]
            expected = _node_literal(expected_node)
            wanted, observed = (right, comparison.left) if index == 1 else (
                left, comparison.right)
            if expected is _NOT_LITERAL or expected != wanted or \
                    _node_literal(sides[1 - index]) is not _NOT_LITERAL:
                continue
            segment = ast.get_source_segment(unit, expected_node)
            if segment is None:
                continue
            start = _offset(unit, expected_node.lineno, expected_node.col_offset)
            end = _offset(unit, expected_node.end_lineno or expected_node.lineno,
                          expected_node.end_col_offset or 0)
            return unit[:start] + observed + unit[end:]
    return None


_NOT_LITERAL = object()


def _literal(text: str) -> object:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return _NOT_LITERAL


def _node_literal(node: ast.expr) -> object:
    try:
        return ast.literal_eval(node)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return _NOT_LITERAL


def _offset(text: str, line: int, column: int) -> int:
    """Character offset of a 1-based line and a UTF-8 byte column."""
    lines = text.split("\n")
    before = sum(len(x) + 1 for x in lines[: line - 1])
    return before + len(lines[line - 1].encode("utf-8")[:column].decode("utf-8", "ignore"))


def unit_line(candidate: str, unit: str, comparison: Comparison) -> int | None:
    """The failing assert's line within ``unit`` (1-based), from its line in the test file
    ``candidate`` that holds it; None when unknown."""
    start = candidate.find(unit)
    if comparison.line is None or start < 0:
        return None
    line = comparison.line - candidate[:start].count("\n")
    return line if 1 <= line <= unit.count("\n") + 1 else None
