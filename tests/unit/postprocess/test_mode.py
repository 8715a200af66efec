"""Completion mode by syntax at the cursor: text rules, and tree-sitter parses."""

from __future__ import annotations

import pytest
import tree_sitter_javascript
import tree_sitter_python
from tree_sitter import Language, Parser

from ghostline.postprocess.mode import CompletionMode, block_indent, decide_mode

PY = Parser(Language(tree_sitter_python.language()))
JS = Parser(Language(tree_sitter_javascript.language()))


def mode_at(source: str, parser: Parser | None = None) -> CompletionMode:
    """Mode at the ``|`` in ``source``, with a tree when a parser is given."""
    before, after = source.split("|")
    text = before + after
    lines_before = before.split("\n")
    prefix_line = lines_before[-1]
    suffix_line = after.split("\n", 1)[0]
    prev_lines = lines_before[:-1]
    if parser is None:
        return decide_mode(prefix_line, suffix_line, prev_lines)
    tree = parser.parse(text.encode())
    point = (len(prev_lines), len(prefix_line.encode()))
    return decide_mode(prefix_line, suffix_line, prev_lines, tree=tree, point=point)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("def f(x):\n    |\n", "multi"),  # empty body just opened
        ("def f(x):|\n", "multi"),  # end of the opener line
        ("function f() {|}\n", "multi"),
        ("const g = () => {\n  |\n", "multi"),
        ("foo(\n    |\n)", "multi"),  # arguments on their own lines
        ("x = compute(|)\n", "single"),  # mid-expression
        ("if x == |:\n", "single"),
        ("total = |\n", "single"),
        ("def f(x):\n    a = 1\n    |\n", "single"),  # block already has code
        ("result = pri|nt(x)\n", "none"),  # mid-word
        ("x = |value\n", "none"),  # right before a word
        ("    |return x\n", "none"),
        ("# TODO: |\n", "single"),  # a comment ending with ':' is not a block
        ("items = [a, |]\n", "single"),
    ],
)
def test_text_rules(source: str, expected: CompletionMode) -> None:
    assert mode_at(source) == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("def f(x):\n    |\n", "multi"),
        # The opener line ends in a comment, so only the tree shows the empty body.
        ("def f(x):  # todo\n    |\n\nprint(1)\n", "multi"),
        ("class A:\n    def m(self):  # x\n        |\n", "multi"),
        ("def f(x):\n    a = 1\n    |\n    return a\n", "single"),
        ('def read(p):\n    """Read p."""\n    |\n\n\ndef main():\n    pass\n', "multi"),
        ('def read(p):\n    """Read p."""\n    x = 1\n    |\n', "single"),
        ('def f():\n    s = """doc:\n    |\n    """\n', "single"),  # inside a string
        ("x = foo(a, |)\n", "single"),
        ("# hello wor|\n", "single"),
        ("s = 'ab|c'\n", "none"),
    ],
)
def test_python_tree(source: str, expected: CompletionMode) -> None:
    assert mode_at(source, PY) == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("function f() {\n  // todo\n  |\n}\n", "multi"),  # only a comment in the block
        ("function f() {\n  let a = 1;\n  |\n}\n", "single"),
        ("const g = () => {\n  |\n", "multi"),
        ("if (ok) {\n  /* later */\n  |\n}\n", "multi"),
    ],
)
def test_javascript_tree(source: str, expected: CompletionMode) -> None:
    assert mode_at(source, JS) == expected


def test_tree_and_text_agree_without_tree_information() -> None:
    # Text alone cannot see the commented opener; the tree can.
    src = "def f(x):  # todo\n    |\n"
    assert mode_at(src) == "single"
    assert mode_at(src, PY) == "multi"


@pytest.mark.parametrize(
    ("prefix_line", "prev_lines", "expected"),
    [
        ("def f(x):", [], 1),
        ("    if a:", [], 5),
        ("    ", ["def f(x):"], 4),
        ("", ["    def f(x):"], 5),  # not indented yet: deeper than the opener
        ("        ", ["    x = 1"], 8),
        ("\t", ["def f():"], 4),
        ("    x = ", [], 4),
    ],
)
def test_block_indent(prefix_line: str, prev_lines: list[str], expected: int) -> None:
    assert block_indent(prefix_line, prev_lines) == expected
