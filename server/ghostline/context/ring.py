"""A ring buffer of recently edited and recently viewed regions of files.

Fed by ``didOpen`` (the top of the opened file: what the user sees first) and ``didChange``
(the lines around the edit). What the user just looked at or changed elsewhere is often
what they use next (llama.vim keeps a similar ring of chunks). A region that overlaps one
already in the ring replaces it, so editing one function keeps one entry fresh instead of
filling the ring with near-copies.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Literal

RING_SIZE = 16
#: Lines kept around an edit (above and below), and from the top of an opened file.
EDIT_CONTEXT_LINES = 10
VIEW_LINES = 32

RegionKind = Literal["edit", "view"]


@dataclass(frozen=True)
class RingChunk:
    """Lines ``start`` up to, not including, ``end`` (0-based) of ``path``."""

    path: str
    start: int
    end: int
    text: str
    kind: RegionKind
    stamp: float


class RingBuffer:
    """The last `size` regions, most recent last. Thread-safe."""

    def __init__(self, size: int = RING_SIZE) -> None:
        self.size = size
        self._chunks: list[RingChunk] = []
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._chunks)

    def viewed(self, path: str, text: str, line: int = 0) -> None:
        """The user opened `path` (or scrolled to `line`): remember what they see."""
        lines = text.split("\n")
        start = max(0, min(line, len(lines) - 1))
        self._add(path, lines, start, min(len(lines), start + VIEW_LINES), "view")

    def edited(self, path: str, text: str, line: int) -> None:
        """`path` changed at `line` (0-based, in the new `text`): remember the lines around."""
        lines = text.split("\n")
        line = max(0, min(line, len(lines) - 1))
        start = max(0, line - EDIT_CONTEXT_LINES)
        self._add(path, lines, start, min(len(lines), line + EDIT_CONTEXT_LINES + 1), "edit")

    def forget(self, path: str) -> None:
        with self._lock:
            self._chunks = [c for c in self._chunks if c.path != path]

    def chunks(self, exclude_path: str | None = None) -> list[RingChunk]:
        """Regions, oldest first, leaving out `exclude_path` (the current file)."""
        with self._lock:
            return [c for c in self._chunks if c.path != exclude_path]

    def _add(self, path: str, lines: list[str], start: int, end: int, kind: RegionKind) -> None:
        body = "\n".join(lines[start:end])
        if not body.strip():
            return
        chunk = RingChunk(path, start, end, body, kind, time.monotonic())
        with self._lock:
            kept = [c for c in self._chunks
                    if c.path != path or c.end <= start or c.start >= end]
            if kind == "view":
                # A view never displaces a fresher edit of the same lines.
                edits = [c for c in self._chunks if c not in kept and c.kind == "edit"]
                if edits:
                    return
            kept.append(chunk)
            self._chunks = kept[-self.size:]
