"""Docstring style detection and placement in each language's convention."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from ghostline.features.docstring_style import (
    GOOGLE,
    NUMPY,
    PLAIN,
    REST,
    TAGS,
    DocParts,
    apply_insertion,
    definition_node,
    detect_style,
    parameter_names,
    parse,
    plan_insertion,
    returns_value,
)

from .helpers import FIXTURES, definitions, named, syntax_errors

GOOGLE_DOC = "Sum.\n\nArgs:\n    a: First.\n\nReturns:\n    The sum."
NUMPY_DOC = "Sum.\n\nParameters\n----------\na : int\n    First.\n"
REST_DOC = "Sum.\n\n:param a: First.\n:returns: The sum."


@pytest.mark.parametrize(("docs", "expected"), [
    ([GOOGLE_DOC, "One line."], GOOGLE),
    ([NUMPY_DOC, NUMPY_DOC, GOOGLE_DOC], NUMPY),
    ([REST_DOC], REST),
    (["Just a sentence.", "Another."], PLAIN),
    ([GOOGLE_DOC, REST_DOC], PLAIN),  # a tie shows no house style
    ([], PLAIN),
])
def test_detect_python_style(docs: list[str], expected: str) -> None:
    assert detect_style(docs) == expected


def test_detect_tag_style_outside_python() -> None:
    assert detect_style(["Split.\n@param items the array"], "typescript") == TAGS
    assert detect_style(["Split an array."], "typescript") == PLAIN
    assert detect_style([GOOGLE_DOC], "typescript") == PLAIN


def _insert(path: Path, qualified: str, parts: DocParts, style: str = PLAIN) -> str:
    text = path.read_text()
    defs = definitions(path, text)
    insertion = plan_insertion(text, named(defs, qualified), parts, style)
    assert insertion is not None
    return apply_insertion(text, insertion)


PY = FIXTURES / "python" / "shapes.py"


def _function(text: str, name: str) -> ast.FunctionDef:
    return next(n for n in ast.parse(text).body if isinstance(n, ast.FunctionDef)
                and n.name == name)


@pytest.mark.parametrize(("qualified", "indent"), [
    ("scale", "    "), ("Rectangle", "    "), ("Rectangle.area", "        "),
    ("perimeter", "    "),
])
def test_python_docstring_is_first_statement_with_body_indentation(
        qualified: str, indent: str) -> None:
    new = _insert(PY, qualified, DocParts("Do the thing."))
    assert not syntax_errors("python", new)
    defs = definitions(PY, new)
    assert named(defs, qualified).doc == "Do the thing."
    line = next(x for x in new.split("\n") if '"""Do the thing."""' in x)
    assert line == f'{indent}"""Do the thing."""'
    # nothing else moved: the other definitions keep their docstrings
    assert named(defs, "circle_area").doc.startswith("Area of a circle.")


def test_python_one_line_function_body_moves_to_its_own_line() -> None:
    new = _insert(PY, "clamp", DocParts("Limit value to the range."))
    function = _function(new, "clamp")
    assert ast.get_docstring(function) == "Limit value to the range."
    assert isinstance(function.body[1], ast.Return)


def test_python_sections_follow_google_style() -> None:
    parts = DocParts("Scale points.", [("points", "Points to scale."), ("factor", "The factor.")],
                     "The scaled points.")
    new = _insert(PY, "scale", parts, GOOGLE)
    function = _function(new, "scale")
    assert ast.get_docstring(function) == (
        "Scale points.\n\nArgs:\n    points: Points to scale.\n    factor: The factor.\n\n"
        "Returns:\n    The scaled points."
    )
    assert '    """Scale points.\n' in new and '\n    """\n    return' in new


@pytest.mark.parametrize(("style", "expected"), [
    (NUMPY, "Scale.\n\nParameters\n----------\nfactor\n    The factor.\n\nReturns\n-------\n"
            "    Scaled."),
    (REST, "Scale.\n\n:param factor: The factor.\n:returns: Scaled."),
    (PLAIN, "Scale."),
])
def test_python_sections_in_other_styles(style: str, expected: str) -> None:
    parts = DocParts("Scale.", [("factor", "The factor.")], "Scaled.")
    new = _insert(PY, "scale", parts, style)
    function = _function(new, "scale")
    assert ast.get_docstring(function) == expected


def test_python_quotes_and_backslashes_are_escaped() -> None:
    summary = 'Join with "\\" and """ quotes "'
    new = _insert(PY, "scale", DocParts(summary))
    function = _function(new, "scale")
    assert (ast.get_docstring(function) or "").strip() == summary.strip()


def test_python_long_summary_wraps_inside_the_line_width() -> None:
    summary = "Scale " + "every point by the factor " * 8 + "and return them."
    new = _insert(PY, "scale", DocParts(summary))
    assert all(len(line) <= 88 for line in new.split("\n") if "factor " in line)
    function = _function(new, "scale")
    assert " ".join((ast.get_docstring(function) or "").split()) == summary


@pytest.mark.parametrize(("path", "language", "qualified", "expected_line"), [
    (FIXTURES / "ts" / "collections.ts", "typescript", "groupBy",
     "/**\n * Groups items.\n */\nexport function groupBy"),
    (FIXTURES / "ts" / "collections.ts", "typescript", "Counter.add",
     "  /**\n   * Groups items.\n   */\n  add(word: string)"),
    (FIXTURES / "ts" / "collections.ts", "typescript", "unique",
     "/**\n * Groups items.\n */\nexport const unique"),
    (FIXTURES / "go" / "stack.go", "go", "Stack.Push",
     "// Groups items.\nfunc (s *Stack) Push"),
    (FIXTURES / "go" / "stack.go", "go", "Sum", "// Groups items.\nfunc Sum"),
    (FIXTURES / "rust" / "stats.rs", "rust", "variance",
     "/// Groups items.\n#[inline]\npub fn variance"),
    (FIXTURES / "rust" / "stats.rs", "rust", "Histogram.add",
     "    /// Groups items.\n    pub fn add"),
    (FIXTURES / "java" / "Temperature.java", "java", "Temperature.toKelvin",
     "    /**\n     * Groups items.\n     */\n    @Deprecated"),
])
def test_comment_goes_above_the_definition(
        path: Path, language: str, qualified: str, expected_line: str) -> None:
    new = _insert(path, qualified, DocParts("Groups items."))
    assert expected_line in new
    assert not syntax_errors(language, new)
    assert named(definitions(path, new), qualified).doc == "Groups items."


def test_jsdoc_tags_when_descriptions_are_given() -> None:
    path = FIXTURES / "ts" / "collections.ts"
    parts = DocParts("Groups items by key.", [("items", "The items."), ("key", "Key of one.")],
                     "The groups.")
    new = _insert(path, "groupBy", parts, TAGS)
    assert (" * Groups items by key.\n *\n * @param items The items.\n"
            " * @param key Key of one.\n * @returns The groups.\n */") in new
    assert not syntax_errors("typescript", new)


def test_block_comment_cannot_be_closed_early() -> None:
    path = FIXTURES / "ts" / "collections.ts"
    new = _insert(path, "groupBy", DocParts("Groups */ items."))
    assert not syntax_errors("typescript", new)


@pytest.mark.parametrize(("path", "qualified", "params", "returns"), [
    (PY, "scale", ["points", "factor"], True),
    (PY, "Rectangle.area", [], True),
    (PY, "perimeter", ["width", "height"], True),
    (FIXTURES / "ts" / "collections.ts", "groupBy", ["items", "key"], True),
    (FIXTURES / "ts" / "collections.ts", "Counter.add", ["word"], False),
    (FIXTURES / "ts" / "collections.ts", "unique", ["items"], True),
    (FIXTURES / "go" / "stack.go", "Stack.Pop", [], True),
    (FIXTURES / "go" / "stack.go", "Sum", ["values"], True),
    (FIXTURES / "rust" / "stats.rs", "Histogram.add", ["value", "width"], False),
    (FIXTURES / "java" / "Temperature.java", "Temperature.toKelvin", ["celsius"], True),
])
def test_parameter_names_and_return_value(
        path: Path, qualified: str, params: list[str], returns: bool) -> None:
    text = path.read_text()
    definition = named(definitions(path, text), qualified)
    tree = parse(definition.language, text)
    assert tree is not None
    node = definition_node(tree, definition)
    assert parameter_names(node, definition.language) == params
    assert returns_value(node, definition) is returns


def test_crlf_files_keep_their_line_endings() -> None:
    text = PY.read_text().replace("\n", "\r\n")
    definition = named(definitions(PY, text), "perimeter")
    insertion = plan_insertion(text, definition, DocParts("Sum the sides."), PLAIN)
    assert insertion is not None and insertion.text == '    """Sum the sides."""\r\n'
    new = apply_insertion(text, insertion)
    assert "\n" not in new.replace("\r\n", "")
    assert named(definitions(PY, new), "perimeter").doc == "Sum the sides."


def test_comment_above_sees_multi_line_doc_blocks_over_attributes() -> None:
    from ghostline.features.docstring_style import comment_above

    rust = ("fn a() {}\n\n/// Two lines\n/// of docs.\n#[derive(Clone)]\n"
            "pub struct B {\n    x: u8,\n}\n\nfn c() {}\n")
    defs = definitions(Path("x.rs"), rust)
    assert comment_above(rust, named(defs, "B")) == "Two lines\nof docs."
    assert comment_above(rust, named(defs, "c")) == ""  # a blank line parts them
    ts = "/**\n * Chunked.\n */\nexport function f(): void {}\n"
    assert comment_above(ts, named(definitions(Path("x.ts"), ts), "f")) == "Chunked."
    assert comment_above("def f():\n    pass\n",
                         named(definitions(Path("x.py"), "def f():\n    pass\n"), "f")) == ""
