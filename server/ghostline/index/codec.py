"""Compact JSON for a file's definitions and imports, as kept in memory and in the cache.

Only the per-definition fields are written; path, module and language are the file's and
are filled back in when decoding.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ghostline.index.model import Definition, Import, ImportedName, Span

_DUMP = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def encode_rows(rows: list[list[Any]]) -> str:
    """JSON of definition rows (see ``parser.DefinitionRow``)."""
    return _DUMP(rows)


def rows_to_definitions(
    rows: list[list[Any]], path: Path, module: str, language: str
) -> list[Definition]:
    result = []
    for row in rows:
        (name, qualified, kind, sl, sc, el, ec, nsl, nsc, nel, nec, signature, doc, parent) = row
        result.append(
            Definition(name, qualified, kind, path, Span(sl, sc, el, ec),
                       Span(nsl, nsc, nel, nec), signature, doc, parent, module, language)
        )  # fmt: skip
    return result


def decode_definitions(data: str, path: Path, module: str, language: str) -> list[Definition]:
    return rows_to_definitions(json.loads(data), path, module, language)


def encode_imports(imports: list[Import]) -> str:
    return _DUMP(
        [[i.module, [[n.name, n.alias] for n in i.names], i.alias, i.level, i.line]
         for i in imports]
    )  # fmt: skip


def decode_imports(data: str, path: Path) -> list[Import]:
    result = []
    for module, names, alias, level, line in json.loads(data):
        imported = tuple(ImportedName(name, name_alias) for name, name_alias in names)
        result.append(Import(path, module, imported, alias, level, line))
    return result
