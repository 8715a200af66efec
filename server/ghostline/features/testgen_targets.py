"""Which function, method or class the "Generate tests" action at a cursor is for.

Cheap (no model, no file written): the code action asks it for every cursor position it
is offered at. The generation itself finds its target again from the request's text.
"""

from __future__ import annotations

from pathlib import Path

from ghostline.context.testgen import TARGET_KINDS, find_target, parse_definitions
from ghostline.index.model import Definition
from ghostline.index.resolve import python_module
from ghostline.index.testgen_target import Target


def target_at_cursor(known: list[Definition], path: Path, text: str, language: str,
                     line: int, byte_col: int) -> Target | None:
    """The target at (line, byte column) of ``text``: among ``known`` (the index's
    definitions of the file) when there are some of this language, else among the file's
    definitions parsed here."""
    definitions = known
    if not definitions or any(d.language != language for d in definitions[:1]):
        module = python_module(path) if language == "python" else ""
        definitions = parse_definitions(text, path, language, module)
    if not any(d.kind in TARGET_KINDS and d.span.contains(line, byte_col) for d in definitions):
        return None
    return find_target(definitions, line, byte_col, text)
