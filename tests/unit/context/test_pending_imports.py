"""Names the file imports but has not used yet, where an expression starts (tree-sitter)."""

from __future__ import annotations

from ghostline.context.pending_imports import MAX_NAMES, pending_imports
from ghostline.index.languages import spec_for_path


def pending(source: str, path: str = "a.py") -> list[str]:
    """`source` with ``<|>`` at the cursor."""
    offset = source.index("<|>")
    text = source.replace("<|>", "")
    spec = spec_for_path(path)
    assert spec is not None
    tree = spec.parser().parse(text.encode("utf-8"))
    return pending_imports(tree, text, offset, spec)


PY_HEADER = (
    '"""Mentions strip_ansi in the docstring: that is no use."""\n'
    "import os.path\n"
    "import json as js\n"
    "from .utils import strip_ansi, term_len as width\n"
    "from .errors import *\n"
    "from __future__ import annotations\n"
)


def test_imported_names_not_used_above_are_found_latest_import_first() -> None:
    assert pending(PY_HEADER + "def f(x):\n    value = <|>\n") == [
        "width", "strip_ansi", "js", "os"]


def test_a_name_used_above_is_not_but_one_in_a_string_or_a_comment_still_is() -> None:
    assert pending(PY_HEADER + "def f(x):\n"
                   "    # width and os in a comment\n"
                   "    label = 'js'\n"
                   "    path = os.path.join(x, width(x))\n"
                   "    value = <|>\n") == ["strip_ansi", "js"]


def test_an_attribute_with_the_same_name_is_not_a_use() -> None:
    assert pending("from .utils import strip_ansi\n"
                   "def f(x):\n    y = x.strip_ansi\n    return <|>\n") == ["strip_ansi"]


def test_expression_starts_mid_line_lean() -> None:
    for line in ("    return <|>", "    raise <|>", "    except <|>", "    f(a, <|>",
                 "    if x and <|>", "    x: <|>", "    items = [<|>"):
        assert pending("from m import zq\ndef f(x):\n    try:\n        pass\n" + line + "\n"
                       ) == ["zq"], line


def test_where_a_name_is_declared_or_text_is_written_nothing_leans() -> None:
    for line in ("def <|>", "class <|>", "def g(<|>", "def g(a, <|>", "for <|>",
                 "with open(p) as <|>", "import <|>", "from <|>", "x = zq.<|>",
                 "x = 'text <|>", "x = 1  # note <|>", "x = va<|>", "lambda <|>"):
        assert pending("from m import zq\n" + line + "\n") == [], line


def test_a_line_start_leans_only_inside_open_brackets() -> None:
    head = "from m import zq\ndef f(x):\n"
    assert pending(head + "    <|>\n") == []
    assert pending(head + "    call(\n        x,\n        <|>\n    )\n") == ["zq"]
    assert pending(head + "    values = [\n        <|>\n") == ["zq"]
    assert pending("from m import zq\ndef g(\n    <|>\n):\n    pass\n") == []


def test_only_imports_above_the_cursor_count() -> None:
    assert pending("def f(x):\n    return <|>\nfrom m import zq\n") == []


def test_at_most_max_names() -> None:
    imports = "".join(f"from m{n} import name{n}\n" for n in range(MAX_NAMES + 3))
    found = pending(imports + "x = <|>\n")
    assert len(found) == MAX_NAMES and found[0] == f"name{MAX_NAMES + 2}"


def test_typescript_named_default_and_namespace_imports() -> None:
    source = (
        "import { innerFrom, operate as op } from './innerFrom';\n"
        "import Thing from './thing';\n"
        "import * as util from './util';\n"
        "import './side-effect';\n"
        "export function f<T>(x: T): Observable<T> {\n"
        "  const seen = innerFrom(x);\n"
        "  return <|>\n"
        "}\n"
    )
    assert pending(source, "a.ts") == ["util", "Thing", "op"]


def test_a_typescript_type_position_counts_as_a_use() -> None:
    source = (
        "import { Observable, from } from 'rxjs';\n"
        "let a: Observable<number>;\n"
        "let b = <|>\n"
    )
    assert pending(source, "a.ts") == ["from"]


def test_languages_without_the_analysis_give_nothing() -> None:
    assert pending('package main\nimport "fmt"\nfunc f() { x := <|> }\n', "a.go") == []
