"""The index's public data: what a file defines, imports and uses.

Positions are 0-based. Columns are UTF-8 byte offsets within the line, as tree-sitter
reports them; for ASCII lines they equal characters. Convert with ``utf16_col`` /
``byte_col`` before they reach an LSP client that speaks UTF-16.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Span:
    """A range from (start_line, start_col) up to, not including, (end_line, end_col)."""

    start_line: int
    start_col: int
    end_line: int
    end_col: int

    def contains(self, line: int, col: int) -> bool:
        """Whether the position lies inside the range (end exclusive)."""
        start = (self.start_line, self.start_col)
        end = (self.end_line, self.end_col)
        return start <= (line, col) < end

    def as_tuple(self) -> tuple[int, int, int, int]:
        return (self.start_line, self.start_col, self.end_line, self.end_col)


@dataclass(frozen=True, slots=True)
class Definition:
    """A named definition: function, method, class, struct, interface, constant...

    ``qualified_name`` is the chain of enclosing definitions inside the file, joined by
    dots (``Circle.area``, ``geo.Circle.area``); Go methods are qualified by their receiver
    type and Rust ``impl`` members by the implemented type. ``module`` is the file's module
    where the language has one (Python dotted path, Go package name, Java package), else
    "". ``span`` covers the whole definition including decorators, ``export`` and
    templates; ``name_span`` only the name. ``signature`` is the header without the body,
    whitespace collapsed; ``doc`` the docstring or leading comment without its markers.
    ``parent`` is the qualified name of the enclosing definition, or None at top level.
    """

    name: str
    qualified_name: str
    kind: str
    path: Path
    span: Span
    name_span: Span
    signature: str = ""
    doc: str = ""
    parent: str | None = None
    module: str = ""
    language: str = ""

    @property
    def full_name(self) -> str:
        """``module.qualified_name`` when the file has a module, else the qualified name."""
        return f"{self.module}.{self.qualified_name}" if self.module else self.qualified_name


@dataclass(frozen=True, slots=True)
class ImportedName:
    """One name taken from a module, with its local alias if renamed."""

    name: str
    alias: str | None = None

    @property
    def local_name(self) -> str:
        return self.alias or self.name


@dataclass(frozen=True, slots=True)
class Import:
    """An import statement (or ``require``, ``#include``, ``use``, ``mod x;``).

    ``module`` is written as in the source (``os.path``, ``./util``, ``net/http``,
    ``std::fmt``, ``shapes.h``); ``level`` counts the leading dots of a Python relative
    import (0 otherwise). ``names`` are the imported names (empty when the whole module is
    imported), ``alias`` the local name of the module itself (``import numpy as np``,
    ``import * as path``). ``resolved`` is the workspace file the import refers to, when
    it could be found; ``line`` the 0-based line of the statement.
    """

    path: Path
    module: str
    names: tuple[ImportedName, ...] = ()
    alias: str | None = None
    level: int = 0
    line: int = 0
    resolved: Path | None = None

    @property
    def is_relative(self) -> bool:
        return self.level > 0 or self.module.startswith((".", "/"))


@dataclass(frozen=True, slots=True)
class Usage:
    """One use of an identifier: where it is and which definition it sits in.

    ``enclosing`` is the qualified name of the innermost definition containing the use
    (None at top level); ``line_text`` the whole line without its line break.
    """

    name: str
    path: Path
    line: int
    col: int
    end_col: int
    line_text: str
    enclosing: str | None = None


@dataclass(slots=True)
class ScanStats:
    """What one ``WorkspaceIndex.scan`` did.

    ``files_parsed`` were read and parsed; ``files_cached`` were taken from the persistent
    cache without parsing; ``files_removed`` had disappeared since the cache was written;
    ``files_skipped`` were too large, binary or unreadable (``skipped`` says which and why).
    ``cancelled`` is True when the ``cancelled`` callback stopped the scan early.
    """

    files_total: int = 0
    files_parsed: int = 0
    files_cached: int = 0
    files_removed: int = 0
    files_skipped: int = 0
    cancelled: bool = False
    seconds: float = 0.0
    skipped: list[str] = field(default_factory=list)


def utf16_col(line_text: str, byte_col: int) -> int:
    """The UTF-16 column of a UTF-8 byte column in ``line_text``."""
    prefix = line_text.encode("utf-8")[:byte_col].decode("utf-8", errors="ignore")
    return len(prefix.encode("utf-16-le")) // 2


def byte_col(line_text: str, utf16_column: int) -> int:
    """The UTF-8 byte column of a UTF-16 column in ``line_text``."""
    units = line_text.encode("utf-16-le")[: utf16_column * 2]
    return len(units.decode("utf-16-le", errors="ignore").encode("utf-8"))
