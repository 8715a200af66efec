"""What the hover and the "Insert docstring" action decide, apart from the LSP.

``lsp.hover`` finds the document and converts positions; here: which definition a hover
means (its doc comment included), on which definitions the action is offered, the project's
docstring style, and where the docstring goes.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ghostline.context.docstring import EXPLAINABLE_KINDS
from ghostline.features.docstring import DocstringService, Target, find_target
from ghostline.features.docstring_style import (
    Insertion,
    comment_above,
    definition_node,
    detect_style,
    parameter_names,
    parse,
    plan_insertion,
    returns_value,
    wants_sections,
)
from ghostline.index.model import Definition
from ghostline.index.workspace import WorkspaceIndex

INSERTABLE_LANGUAGES = frozenset(
    {"python", "javascript", "typescript", "tsx", "go", "rust", "java", "c", "cpp"}
)
#: Other files sampled to learn the project's docstring style.
STYLE_SAMPLE_FILES = 20


class NoDocstring(Exception):
    """The model gave no usable answer or is not available."""


def hover_target(text: str, offset: int, definitions: list[Definition],
                 index: WorkspaceIndex | None, path: Path) -> Target | None:
    """The definition a hover at ``offset`` means: names resolve through the index, else
    among ``definitions`` (the file's own)."""

    def resolve(name: str) -> list[Definition]:
        local = [d for d in definitions if d.name == name]
        if index is None:
            return local
        found = index.definitions(name)
        return found or local

    return find_target(text, offset, definitions, resolve, path)


def with_comment(definition: Definition, text: str) -> Definition:
    """The definition with the doc comment above it when the index found none."""
    if definition.doc:
        return definition
    comment = comment_above(text, definition)
    return replace(definition, doc=comment) if comment else definition


def definition_at_header(definitions: list[Definition], line: int) -> Definition | None:
    """The innermost definition whose header (first line up to its name) holds ``line``."""
    best = None
    for definition in definitions:
        if definition.span.start_line <= line <= definition.name_span.end_line:
            best = definition
    return best


def offers_insertion(definition: Definition, text: str) -> bool:
    """Whether "Insert docstring" is offered: an explainable definition of a language we
    write docstrings for, with no docstring or doc comment yet (no model is asked)."""
    if definition.kind not in EXPLAINABLE_KINDS:
        return False
    if definition.doc or comment_above(text, definition):
        return False
    return definition.language in INSERTABLE_LANGUAGES


async def plan_docstring(
    service: DocstringService, definition: Definition, text: str,
    definitions: list[Definition], index: WorkspaceIndex | None,
) -> Insertion | None:
    """The docstring for an undocumented ``definition`` of ``text``, in the project's style,
    and where it goes; None when it has one already or there is nowhere to put it.
    Raises `NoDocstring` when the model gave nothing to insert."""
    if definition.doc or comment_above(text, definition):
        return None
    tree = parse(definition.language, text)
    style = project_style(index, definition, definitions)
    node = definition_node(tree, definition) if tree is not None else None
    names: list[str] = []
    returns = False
    if wants_sections(style) and definition.kind in ("function", "method"):
        names = parameter_names(node, definition.language)
        returns = returns_value(node, definition)
    parts = await service.doc_parts(definition, text, index, params=names, returns=returns)
    if parts is None:
        raise NoDocstring(definition.name)
    return plan_insertion(text, definition, parts, style, tree)


def project_style(
    index: WorkspaceIndex | None, definition: Definition, definitions: list[Definition]
) -> str:
    """The docstring style of this file, else of nearby files of the same language."""
    docs = [d.doc for d in definitions if d.doc]
    style = detect_style(docs, definition.language)
    if style != "plain" or index is None:
        return style
    here = definition.path
    files = [f for f in index.all_files() if f != here and f.suffix == here.suffix]
    files.sort(key=lambda f: (f.parent != here.parent, len(f.parts)))
    for path in files[:STYLE_SAMPLE_FILES]:
        docs.extend(d.doc for d in index.symbols(path) if d.doc)
    return detect_style(docs, definition.language)
