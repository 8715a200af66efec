"""The language registry: one entry per language, found by file name or LSP id."""

from __future__ import annotations

import pytest
import tree_sitter

from ghostline.index.languages import (
    LANGUAGES,
    LanguageSpec,
    spec_by_name,
    spec_for_language_id,
    spec_for_path,
    supported_extensions,
)


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("a/b.py", "python"),
        ("stubs/x.pyi", "python"),
        ("web/app.JS", "javascript"),
        ("web/app.mjs", "javascript"),
        ("src/x.ts", "typescript"),
        ("src/x.d.ts", "typescript"),
        ("src/View.tsx", "tsx"),
        ("main.go", "go"),
        ("src/lib.rs", "rust"),
        ("A.java", "java"),
        ("x.c", "c"),
        ("x.h", "c"),
        ("x.cpp", "cpp"),
        ("x.hpp", "cpp"),
    ],
)
def test_spec_for_path(path: str, name: str) -> None:
    spec = spec_for_path(path)
    assert spec is not None and spec.name == name


def test_unknown_files_have_no_spec() -> None:
    assert spec_for_path("README.md") is None
    assert spec_for_path("Makefile") is None
    assert spec_for_language_id("markdown") is None


@pytest.mark.parametrize(
    ("lang_id", "name"),
    [
        ("python", "python"),
        ("typescriptreact", "tsx"),
        ("javascriptreact", "javascript"),
        ("cpp", "cpp"),
        ("go", "go"),
    ],
)
def test_spec_for_language_id(lang_id: str, name: str) -> None:
    spec = spec_for_language_id(lang_id)
    assert spec is not None and spec.name == name


@pytest.mark.parametrize("spec", LANGUAGES, ids=lambda s: s.name)
def test_every_language_parses_and_compiles_its_query(spec: LanguageSpec) -> None:
    assert spec is spec_by_name(spec.name)
    parser = spec.parser()
    assert isinstance(parser, tree_sitter.Parser)
    assert parser is spec.parser()  # cached per thread
    tree = parser.parse(b"\n")
    assert tree.root_node is not None
    assert spec.query().pattern_count > 0
    assert spec.line_comment in ("#", "//")


def test_extensions_do_not_overlap() -> None:
    seen: dict[str, str] = {}
    for spec in LANGUAGES:
        for ext in spec.extensions:
            assert ext not in seen, f"{ext} claimed by {seen.get(ext)} and {spec.name}"
            seen[ext] = spec.name
    assert supported_extensions() == frozenset(seen)
