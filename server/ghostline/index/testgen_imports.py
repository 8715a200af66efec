"""Imports for generated tests: render them for a new file, merge them into an existing one.

Merging only ever inserts lines (never rewrites or removes one), so an existing test file
keeps every byte it had: a name already imported is skipped, a missing one gets its own
import statement after the file's last import (inside Go's ``import ( ... )`` block).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import tree_sitter

from ghostline.index.imports import read_import
from ghostline.index.languages import spec_by_name
from ghostline.index.model import Import

_IMPORT_NODES = {
    "python": frozenset({"import_statement", "import_from_statement", "future_import_statement"}),
    "javascript": frozenset({"import_statement"}),
    "typescript": frozenset({"import_statement"}),
    "tsx": frozenset({"import_statement"}),
    "go": frozenset({"import_declaration"}),
    "java": frozenset({"import_declaration"}),
    "rust": frozenset({"use_declaration"}),
}
_HEADER_NODES = {
    "python": frozenset({"comment", "future_import_statement"}),
    "go": frozenset({"comment", "package_clause"}),
    "java": frozenset({"line_comment", "block_comment", "package_declaration"}),
    "javascript": frozenset({"comment", "hash_bang_line"}),
    "typescript": frozenset({"comment", "hash_bang_line"}),
    "tsx": frozenset({"comment", "hash_bang_line"}),
}


@dataclass(frozen=True)
class ImportNeed:
    """One import a generated test needs.

    ``names`` empty: the whole module (``import pytest``, Go ``"testing"``). ``default``:
    a JS default import's local name. ``static``: a Java ``import static``.
    """

    module: str
    names: tuple[str, ...] = ()
    default: str | None = None
    static: bool = False


@dataclass(frozen=True)
class Insertion:
    """Text inserted before ``line`` (0-based) at ``column`` (a ``str`` index in that line).

    ``line`` equal to the number of lines means the end of the file.
    """

    line: int
    column: int
    text: str


def render_imports(needs: Sequence[ImportNeed], language: str) -> str:
    """The import statements for a new file, one per line, standard library first."""
    lines = [_render(need, language) for need in _dedupe(needs)]
    if language == "go" and len(lines) > 1:
        body = "".join(f"\t{line.removeprefix('import ')}\n" for line in lines)
        return f"import (\n{body})\n"
    return "".join(f"{line}\n" for line in lines)


def _render(need: ImportNeed, language: str) -> str:
    if language == "python":
        if need.names:
            return f"from {need.module} import {', '.join(need.names)}"
        return f"import {need.module}"
    if language in ("javascript", "typescript", "tsx"):
        parts = [need.default] if need.default else []
        if need.names:
            parts.append("{ " + ", ".join(need.names) + " }")
        if not parts:
            return f'import "{need.module}";'
        return f'import {", ".join(parts)} from "{need.module}";'
    if language == "go":
        return f'import "{need.module}"'
    if language == "java":
        keyword = "import static" if need.static else "import"
        if need.names:
            return "\n".join(f"{keyword} {need.module}.{name};" for name in need.names)
        return f"{keyword} {need.module};"
    if language == "rust":
        if need.names:
            inner = need.names[0] if len(need.names) == 1 else "{" + ", ".join(need.names) + "}"
            return f"use {need.module}::{inner};"
        return f"use {need.module};"
    raise ValueError(f"no import syntax for {language}")


def _dedupe(needs: Iterable[ImportNeed]) -> list[ImportNeed]:
    """One need per module and kind (names merged, order kept). A need of the whole module
    stays apart from one of names in it: a test that calls ``html.escape`` needs
    ``import html`` even where ``from html import escape`` is written too."""
    merged: dict[tuple[str, bool, str | None, bool], list[str]] = {}
    for need in needs:
        whole = not need.names and need.default is None
        key = (need.module, need.static, need.default, whole)
        names = merged.setdefault(key, [])
        names.extend(n for n in need.names if n not in names)
    return [ImportNeed(m, tuple(n), d, s) for (m, s, d, _), n in merged.items()]


def missing_needs(text: str, needs: Sequence[ImportNeed], language: str) -> list[ImportNeed]:
    """The parts of ``needs`` that ``text`` does not import yet."""
    present = existing_imports(text, language)
    result: list[ImportNeed] = []
    for need in _dedupe(needs):
        same = [i for i in present if i.module == need.module]
        if not need.names and need.default is None:
            if not any(not i.names for i in same):
                result.append(need)
            continue
        have = {n.local_name for i in same for n in i.names} | {
            n.name for i in same for n in i.names
        }
        default = need.default
        if default is not None and any(
            n.name == "default" and n.local_name == default for i in same for n in i.names
        ):
            default = None
        if "*" in have:
            continue
        names = tuple(n for n in need.names if n not in have)
        if names or default is not None:
            result.append(ImportNeed(need.module, names, default, need.static))
    return result


def existing_imports(text: str, language: str) -> list[Import]:
    """Top-level imports of ``text`` as the index reads them."""
    _, nodes = _import_nodes(text, language)
    found: list[Import] = []
    for node in nodes:
        if language == "go":  # the index reads Go imports spec by spec
            specs = [c for c in node.children if c.type == "import_spec"]
            for group in (c for c in node.children if c.type == "import_spec_list"):
                specs.extend(c for c in group.children if c.type == "import_spec")
            for spec in specs:
                found.extend(read_import(language, spec, Path("test")))
            continue
        found.extend(read_import(language, node, Path("test")))
    return found


def merge_imports(
    text: str, needs: Sequence[ImportNeed], language: str, anchor_line: int | None = None
) -> list[Insertion]:
    """Insertions that add the missing ``needs`` to ``text`` (none when nothing is missing).

    ``anchor_line``: for Rust's in-file test module, the line of its last ``use`` (or its
    opening line); the new ``use`` lines go below it, indented like a module member.
    """
    missing = missing_needs(text, needs, language)
    if not missing:
        return []
    lines = text.split("\n")
    if language == "rust":
        line = (anchor_line + 1) if anchor_line is not None else 0
        body = "".join(f"    {_render(n, language)}\n" for n in missing)
        return [Insertion(line, 0, body)]
    tree, nodes = _import_nodes(text, language)
    if language == "go":
        return _merge_go(text, missing, nodes)
    rendered = "".join(f"{_render(n, language)}\n" for n in missing)
    if nodes:
        last = nodes[-1]
        return [Insertion(last.end_point.row + 1, 0, rendered)]
    line = _after_header(tree, language, lines)
    if line == 0:
        return [Insertion(0, 0, rendered + "\n")]
    return [Insertion(line, 0, "\n" + rendered)]


def _merge_go(
    text: str, missing: list[ImportNeed], nodes: list[tree_sitter.Node]
) -> list[Insertion]:
    for node in reversed(nodes):
        spec_list = next((c for c in node.children if c.type == "import_spec_list"), None)
        if spec_list is not None:
            closing = spec_list.end_point  # the ")" line
            body = "".join(f'\t"{n.module}"\n' for n in missing)
            return [Insertion(closing.row, 0, body)]
    body = "".join(f'import "{n.module}"\n' for n in missing)
    if nodes:
        return [Insertion(nodes[-1].end_point.row + 1, 0, body)]
    lines = text.split("\n")
    for index, line in enumerate(lines):
        if line.startswith("package "):
            return [Insertion(index + 1, 0, "\n" + body)]
    return [Insertion(0, 0, body + "\n")]


def _import_nodes(text: str, language: str) -> tuple[tree_sitter.Tree, list[tree_sitter.Node]]:
    spec = spec_by_name(language)
    if spec is None:
        raise ValueError(f"unknown language {language}")
    tree = spec.parser().parse(text.encode("utf-8"))
    kinds = _IMPORT_NODES.get(language, frozenset())
    return tree, [c for c in tree.root_node.children if c.type in kinds]


def _after_header(tree: tree_sitter.Tree, language: str, lines: list[str]) -> int:
    """The line after a leading module docstring, comments, package clause."""
    header = _HEADER_NODES.get(language, frozenset())
    line = 0
    docstring_allowed = language == "python"
    for child in tree.root_node.children:
        is_docstring = (
            docstring_allowed and child.type == "expression_statement"
            and child.child_count == 1 and child.children[0].type == "string"
        )
        if child.type in header or is_docstring:
            line = child.end_point.row + 1
            if child.type not in ("comment", "line_comment", "block_comment"):
                docstring_allowed = False
            continue
        break
    return min(line, len(lines))


def apply_insertions(text: str, insertions: Sequence[Insertion]) -> str:
    """``text`` with ``insertions`` made (positions refer to the original text)."""
    lines = text.split("\n")
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)
    pieces: list[tuple[int, int, str]] = []
    for order, ins in enumerate(insertions):
        if ins.line >= len(lines):
            offset = len(text)
        else:
            offset = offsets[ins.line] + min(ins.column, len(lines[ins.line]))
        pieces.append((offset, order, ins.text))
    result: list[str] = []
    previous = 0
    for offset, _, piece in sorted(pieces):
        result.append(text[previous:offset])
        result.append(piece)
        previous = offset
    result.append(text[previous:])
    return "".join(result)
