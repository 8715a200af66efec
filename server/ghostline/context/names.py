"""Which names matter at a cursor, and where they are defined.

Names imported from workspace files (one not used yet in the file is likely to be used
next), names used in the lines just above the cursor (called or accessed as members) that
the workspace defines elsewhere, and a target name a feature asks about. Only the text
before the cursor is looked at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

from ghostline.context.bm25 import STOPWORDS
from ghostline.context.receiver import is_module_file
from ghostline.index.model import Definition, Import, Usage

#: Lines above the cursor whose names count as "near".
NEAR_LINES = 12
#: Names offered at most (best first); a file often imports more names than it has used
#: yet, and each is as likely to come next.
MAX_NAMES = 12

IDENT = re.compile(r"[A-Za-z_$][\w$]*")
#: A line of an import statement (or of a multi-line import's name list).
IMPORT_LINE = re.compile(r"^\s*(?:from\s+\S+\s+import\b|import\b|export\s+(?:\*|\{[^}]*\})\s+from"
                         r"|[\w$]+(?:\s+as\s+[\w$]+)?\s*,?\s*$|\}\s*from\s)")


class IndexView(Protocol):
    """The part of `WorkspaceIndex` the context service uses."""

    generation: int
    #: The workspace folders (absolute).
    roots: list[Path]

    def definitions(self, name: str) -> list[Definition]: ...

    def symbols(self, path: Path) -> list[Definition]: ...

    def imports(self, path: Path) -> list[Import]: ...

    def importers(self, target: str | Path) -> list[Path]: ...

    def usages(self, name: str, limit: int = 50, *, per_file: int | None = None,
               include_definitions: bool = False) -> list[Usage]: ...

    def file_text(self, path: Path) -> str | None: ...

    def all_files(self) -> list[Path]: ...

    def is_open(self, path: Path) -> bool: ...


@dataclass(frozen=True)
class NameFocus:
    """Where to look: the current file, the text before the cursor, and optionally a
    region whose names matter (instead of the lines above) and a target name."""

    path: str
    visible: str
    focus_text: str | None = None
    target: str | None = None
    #: Only names the focus refers to that the file imports from workspace files (and the
    #: target, defined here): no guessing a definition from a bare name, and no import the
    #: focus does not use (at a cursor one not used yet is a likely next name; in a
    #: finished definition it is not).
    imported_only: bool = False


ScoredName = tuple[str, tuple[float, list[Definition]]]


def scored_names(query: NameFocus, index: IndexView) -> list[ScoredName]:
    """The names worth explaining, best first, with their definitions in other files."""
    path = Path(query.path)
    visible = query.visible
    cursor_line = visible.count("\n")
    lines = visible.split("\n")
    if query.focus_text is not None:
        near_text = query.focus_text
    else:
        near_text = "\n".join(lines[-NEAR_LINES - 1 :])
    imports = [imp for imp in index.imports(path) if imp.line <= cursor_line]
    import_lines = {imp.line for imp in imports}
    body = "\n".join(line for n, line in enumerate(lines)
                     if n not in import_lines and not IMPORT_LINE.match(line))
    used = _counts(body)
    near_order = _recency(near_text)
    own = {d.name for d in index.symbols(path)}
    scores: dict[str, float] = {}
    defs: dict[str, list[Definition]] = {}
    for imp in imports:
        if imp.resolved is None or imp.resolved == path:
            continue
        for local, original in _imported_names(imp):
            if original and is_module_file(imp.resolved, original):
                original = ""  # ``from pkg import module``
            found = _definitions_in(index, imp.resolved, original)
            if not found:
                continue
            if query.imported_only and local not in near_order and local != query.target:
                continue  # a definition's context: only what it refers to
            if local in near_order:
                score = 3.0 + near_order[local]
            elif used.get(local, 0) == 0:
                score = 2.5
            else:
                score = 1.0
            if local == query.target:
                score += 2.0
            scores[local] = max(scores.get(local, 0.0), score)
            defs[local] = found
    extra = 0
    used_as_member_or_call = set(re.findall(r"(?:\.([A-Za-z_$][\w$]*))|([A-Za-z_$][\w$]*)\s*\(",
                                            near_text))
    referenced = {a or b for a, b in used_as_member_or_call}
    local_names = set(re.findall(r"([A-Za-z_$][\w$]*)\s*(?::[^=\n]*)?=(?!=)", visible))
    local_names |= set(re.findall(r"(?:def|function|class)\s+([A-Za-z_$][\w$]*)", visible))
    guessed = {} if query.imported_only else near_order
    for name, recency in sorted(guessed.items(), key=lambda kv: -kv[1]):
        if name in scores or name in own or name.lower() in STOPWORDS or len(name) < 3:
            continue
        if name not in referenced or name in local_names:
            continue
        found = [d for d in index.definitions(name) if str(d.path) != query.path]
        if not found or len(found) > 3:
            continue
        scores[name] = 1.5 + recency
        defs[name] = found
        extra += 1
        if extra >= MAX_NAMES:
            break
    if query.target and query.target not in scores:
        found = ([d for d in index.symbols(path) if d.name == query.target]
                 if query.imported_only else index.definitions(query.target))
        if found:
            scores[query.target] = 4.0
            defs[query.target] = found
    ranked = sorted(scores.items(), key=lambda kv: -kv[1])[:MAX_NAMES]
    return [(name, (score, defs[name])) for name, score in ranked]


def _imported_names(imp: Import) -> list[tuple[str, str]]:
    """(local name, name in the target) of an import; a module import maps to ''."""
    if imp.names:
        return [(n.local_name, n.name) for n in imp.names if n.name != "*"]
    if imp.alias:
        return [(imp.alias, "")]
    return []


def _definitions_in(index: IndexView, path: Path, name: str) -> list[Definition]:
    """Top-level definitions called `name` in `path` ('' = the module itself: a sentinel
    definition standing for its outline). Falls back to any workspace definition (a name
    re-exported by a package's ``__init__``)."""
    symbols = index.symbols(path)
    if not name:
        top = [d for d in symbols if d.parent is None]
        return top[:1] and [_module_definition(path, top)]
    found = [d for d in symbols if d.name == name and d.parent is None]
    if found:
        return found
    elsewhere = [d for d in index.definitions(name) if d.parent is None]
    return elsewhere[:3]


def _module_definition(path: Path, top: list[Definition]) -> Definition:
    first = top[0]
    return replace(first, name=path.stem, qualified_name=path.stem, kind="module",
                   signature="", doc="", parent=None)


def _counts(text: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for word in IDENT.findall(text):
        counts[word] = counts.get(word, 0) + 1
    return counts


def _recency(text: str) -> dict[str, float]:
    """Identifiers of `text` with a bonus in [0, 1): later (nearer the cursor) is higher."""
    found = IDENT.findall(text)
    total = max(len(found), 1)
    return {word: index / total for index, word in enumerate(found)}
