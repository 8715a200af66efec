"""Shared helpers of the docstring unit tests: fixture files, parsing, error checks."""

from __future__ import annotations

from pathlib import Path

import tree_sitter

from ghostline.index.languages import spec_by_name, spec_for_path
from ghostline.index.model import Definition
from ghostline.index.parser import extract

FIXTURES = Path(__file__).parents[2] / "fixtures" / "docstrings"


def definitions(path: Path, text: str | None = None) -> list[Definition]:
    """What the index extracts from ``text`` (default: the file's content)."""
    spec = spec_for_path(path)
    assert spec is not None
    data = (text if text is not None else path.read_text()).encode()
    return extract(spec, spec.parser().parse(data), data, path).definitions


def named(defs: list[Definition], qualified: str) -> Definition:
    return next(d for d in defs if d.qualified_name == qualified)


def syntax_errors(language: str, text: str) -> list[str]:
    """ERROR and MISSING nodes of a tree-sitter parse, as ``type@row`` strings."""
    spec = spec_by_name(language)
    assert spec is not None
    tree = spec.parser().parse(text.encode())
    found: list[str] = []

    def walk(node: tree_sitter.Node) -> None:
        if node.type == "ERROR" or node.is_missing:
            found.append(f"{node.type}@{node.start_point.row}")
        for child in node.children:
            walk(child)

    walk(tree.root_node)
    return found
