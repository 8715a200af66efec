"""Documents open in the editor: their text, tree and facts, re-parsed incrementally.

The server hands over the whole new text after each ``didChange``; the smallest edit that
turns the old text into the new one is found here (common prefix and suffix), given to
``Tree.edit`` and the document is re-parsed from the old tree, so the parser only redoes
the part that changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import tree_sitter

from ghostline.index.languages import LanguageSpec
from ghostline.index.parser import FileFacts, extract


@dataclass(frozen=True, slots=True)
class ByteEdit:
    """One replaced byte range, in the form ``tree_sitter.Tree.edit`` takes."""

    start_byte: int
    old_end_byte: int
    new_end_byte: int
    start_point: tuple[int, int]
    old_end_point: tuple[int, int]
    new_end_point: tuple[int, int]


def _common_prefix(a: bytes, b: bytes) -> int:
    """Length of the common prefix, by bisection on slice equality (memcmp speed)."""
    low, high = 0, min(len(a), len(b))
    while low < high:
        mid = (low + high + 1) // 2
        if a[low:mid] == b[low:mid]:
            low = mid
        else:
            high = mid - 1
    return low


def _common_suffix(a: bytes, b: bytes, limit: int) -> int:
    low, high = 0, limit
    len_a, len_b = len(a), len(b)
    while low < high:
        mid = (low + high + 1) // 2
        if a[len_a - mid : len_a - low] == b[len_b - mid : len_b - low]:
            low = mid
        else:
            high = mid - 1
    return low


def _point(data: bytes, offset: int, row_hint: tuple[int, int] | None = None) -> tuple[int, int]:
    """(row, byte column) of ``offset``; ``row_hint`` is a known (offset, row) before it."""
    if row_hint is None:
        row = data.count(b"\n", 0, offset)
    else:
        base_offset, base_row = row_hint
        row = base_row + data.count(b"\n", base_offset, offset)
    line_start = data.rfind(b"\n", 0, offset) + 1
    return (row, offset - line_start)


def _is_continuation(data: bytes, offset: int) -> bool:
    return 0 < offset < len(data) and (data[offset] & 0xC0) == 0x80


def diff_edit(old: bytes, new: bytes) -> ByteEdit | None:
    """The single edit turning ``old`` into ``new``, None if they are equal."""
    if old == new:
        return None
    start = _common_prefix(old, new)
    while start > 0 and (_is_continuation(old, start) or _is_continuation(new, start)):
        start -= 1  # never split a UTF-8 character
    suffix = _common_suffix(old, new, min(len(old), len(new)) - start)
    while suffix > 0 and (
        _is_continuation(old, len(old) - suffix) or _is_continuation(new, len(new) - suffix)
    ):
        suffix -= 1
    old_end = len(old) - suffix
    new_end = len(new) - suffix
    start_point = _point(old, start)
    hint = (start, start_point[0])
    return ByteEdit(
        start_byte=start,
        old_end_byte=old_end,
        new_end_byte=new_end,
        start_point=start_point,
        old_end_point=_point(old, old_end, hint),
        new_end_point=_point(new, new_end, hint),
    )


class OpenDocument:
    """An editor buffer: its text wins over the file on disk while it is open.

    The tree follows every change (an incremental parse costs about a millisecond); the
    facts (definitions, imports) are extracted when first asked for after a change, since
    walking the whole tree for them took 4-15 ms of every keystroke in a 2,600-line file
    and nothing reads them between two keystrokes of fast typing.
    """

    __slots__ = ("_facts", "module", "path", "source", "spec", "text", "tree")

    def __init__(self, path: Path, spec: LanguageSpec, text: str, source: bytes,
                 tree: tree_sitter.Tree, module: str = "") -> None:
        self.path = path
        self.spec = spec
        self.text = text
        self.source = source
        self.tree = tree
        self.module = module
        self._facts: FileFacts | None = None

    @classmethod
    def create(cls, path: Path, spec: LanguageSpec, text: str, module: str) -> OpenDocument:
        source = text.encode("utf-8", errors="surrogatepass")
        return cls(path, spec, text, source, spec.parser().parse(source), module)

    @property
    def facts(self) -> FileFacts:
        if self._facts is None:
            self._facts = extract(self.spec, self.tree, self.source, self.path, self.module)
        return self._facts

    def known_facts(self) -> FileFacts | None:
        """The facts if they were extracted since the last change, without extracting."""
        return self._facts

    def reopen(self, text: str, module: str) -> None:
        """The document opened again: parse `text` from the tree it had when closed."""
        self.module = module
        self._facts = None
        self.update(text)

    def update(self, text: str) -> ByteEdit | None:
        """Move to ``text``: edit the old tree and re-parse incrementally."""
        source = text.encode("utf-8", errors="surrogatepass")
        edit = diff_edit(self.source, source)
        self.text = text
        if edit is None:
            return None
        self.tree.edit(
            start_byte=edit.start_byte,
            old_end_byte=edit.old_end_byte,
            new_end_byte=edit.new_end_byte,
            start_point=edit.start_point,
            old_end_point=edit.old_end_point,
            new_end_point=edit.new_end_point,
        )
        self.tree = self.spec.parser().parse(source, self.tree)
        self.source = source
        self._facts = None
        return edit
