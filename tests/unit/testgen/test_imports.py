"""Merging the imports generated tests need into existing test files (insertions only)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ghostline.index.testgen_imports import (
    ImportNeed,
    Insertion,
    apply_insertions,
    merge_imports,
    missing_needs,
    render_imports,
)


def merged(text: str, needs: list[ImportNeed], language: str) -> str:
    return apply_insertions(text, merge_imports(text, needs, language))


def is_subsequence(old: list[str], new: list[str]) -> bool:
    it = iter(new)
    return all(line in it for line in old)


def test_python_adds_only_the_missing_name_after_the_last_import() -> None:
    text = ('"""Tests."""\nimport pytest\n\nfrom shop.cart import Item, total\n\n\n'
            "def test_total():\n    assert total([]) == 0\n")
    result = merged(text, [ImportNeed("shop.cart", ("Item", "restock")), ImportNeed("pytest")],
                    "python")
    assert result == text.replace("total\n\n\n", "total\nfrom shop.cart import restock\n\n\n", 1)


def test_python_nothing_to_add_means_no_insertion() -> None:
    text = "import pytest\nfrom a import b as c, d\n"
    assert merge_imports(text, [ImportNeed("a", ("b", "d")), ImportNeed("pytest")], "python") == []


def test_python_star_import_covers_every_name() -> None:
    assert missing_needs("from a import *\n", [ImportNeed("a", ("x",))], "python") == []


def test_python_file_without_imports_gets_them_after_the_docstring() -> None:
    text = '"""Doc\nstring."""\n\ndef test_a():\n    pass\n'
    result = merged(text, [ImportNeed("m", ("f",))], "python")
    assert result.startswith('"""Doc\nstring."""\n\nfrom m import f\n\ndef test_a()')


def test_python_empty_file() -> None:
    assert merged("", [ImportNeed("pytest")], "python") == "import pytest\n\n"


def test_python_multiline_import_is_not_split() -> None:
    text = "from a import (\n    b,\n    c,\n)\n\nx = 1\n"
    result = merged(text, [ImportNeed("d")], "python")
    assert result == "from a import (\n    b,\n    c,\n)\nimport d\n\nx = 1\n"


def test_typescript_named_and_default_imports() -> None:
    text = 'import { describe, it } from "vitest";\nimport { total } from "./cart";\n\nit("x");\n'
    needs = [ImportNeed("vitest", ("describe", "expect", "it")),
             ImportNeed("./cart", ("total", "restock")),
             ImportNeed("node:assert/strict", default="assert")]
    result = merged(text, needs, "typescript")
    assert result == (
        'import { describe, it } from "vitest";\nimport { total } from "./cart";\n'
        'import { expect } from "vitest";\nimport { restock } from "./cart";\n'
        'import assert from "node:assert/strict";\n\nit("x");\n'
    )


def test_typescript_default_import_already_there() -> None:
    text = 'import assert from "node:assert/strict";\n'
    assert merge_imports(text, [ImportNeed("node:assert/strict", default="assert")],
                         "typescript") == []


def test_go_import_block_gets_a_new_line_inside() -> None:
    text = 'package shop\n\nimport (\n\t"testing"\n)\n\nfunc TestA(t *testing.T) {}\n'
    result = merged(text, [ImportNeed("testing"), ImportNeed("strings")], "go")
    assert result == ('package shop\n\nimport (\n\t"testing"\n\t"strings"\n)\n\n'
                      "func TestA(t *testing.T) {}\n")


def test_go_single_import_and_no_import() -> None:
    single = 'package shop\n\nimport "testing"\n'
    assert merged(single, [ImportNeed("fmt")], "go") == single + 'import "fmt"\n'
    bare = "package shop\n\nfunc A() {}\n"
    assert merged(bare, [ImportNeed("testing")], "go") == (
        'package shop\n\nimport "testing"\n\nfunc A() {}\n')


def test_java_static_import_after_the_last_import() -> None:
    text = "package a;\n\nimport org.junit.jupiter.api.Test;\n\nclass ATest {}\n"
    needs = [ImportNeed("org.junit.jupiter.api", ("Test",)),
             ImportNeed("org.junit.jupiter.api.Assertions", ("*",), static=True)]
    assert merged(text, needs, "java") == (
        "package a;\n\nimport org.junit.jupiter.api.Test;\n"
        "import static org.junit.jupiter.api.Assertions.*;\n\nclass ATest {}\n")


def test_rust_use_goes_below_the_anchor_line() -> None:
    text = "mod tests {\n    use super::*;\n}\n"
    insertions = merge_imports(text, [ImportNeed("std::collections", ("HashMap",))], "rust",
                               anchor_line=1)
    assert insertions == [Insertion(2, 0, "    use std::collections::HashMap;\n")]


def test_render_for_new_files() -> None:
    assert render_imports([ImportNeed("a", ("x",)), ImportNeed("a", ("y",)),
                           ImportNeed("pytest")], "python") == (
        "from a import x, y\nimport pytest\n")
    assert render_imports([ImportNeed("testing"), ImportNeed("fmt")], "go") == (
        'import (\n\t"testing"\n\t"fmt"\n)\n')


def test_a_whole_module_import_is_kept_beside_names_from_it() -> None:
    # The target's own need, then the module the test names (``html.escape(...)``).
    needs = [ImportNeed("html", ("escape",)), ImportNeed("html")]
    assert render_imports(needs, "python") == "from html import escape\nimport html\n"
    assert merged("from html import escape\n", needs, "python") == (
        "from html import escape\nimport html\n")
    assert render_imports([ImportNeed("x"), ImportNeed("x")], "python") == "import x\n"


def test_insertions_at_the_same_place_keep_their_order() -> None:
    text = "a\nb"
    result = apply_insertions(text, [Insertion(1, 1, "1"), Insertion(1, 1, "2"),
                                     Insertion(0, 0, "0")])
    assert result == "0a\nb12"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["import os", "from a import b", "", "x = 1", "# note",
                                 "def f():", "    return 1", '"""doc"""']), max_size=12),
       st.lists(st.sampled_from(["os", "sys", "a", "c"]), min_size=1, max_size=3))
def test_merging_never_loses_a_line(lines: list[str], modules: list[str]) -> None:
    text = "\n".join(lines) + "\n"
    needs = [ImportNeed(m, ("b", "z") if m == "a" else ()) for m in modules]
    result = merged(text, needs, "python")
    assert is_subsequence(text.split("\n"), result.split("\n"))
    assert not missing_needs(result, needs, "python")
