"""Cursor positions: LSP code units (UTF-16 or UTF-8, as negotiated) to `str` offsets."""

from __future__ import annotations

from lsprotocol import types
from pygls.workspace import TextDocument
from pygls.workspace.position_codec import ServerTextPosition


def cursor_offset(doc: TextDocument, position: types.Position) -> tuple[int, types.Position]:
    """The `str` offset of `position`, clamped into the document, and the clamped position.

    A position past the end of a line means the end of that line; past the last line, the
    end of the file. The returned position is in the client's units again.
    """
    lines = doc.lines
    if not lines:
        return 0, types.Position(line=0, character=0)
    codec = doc.position_codec
    server = codec.position_from_client_units(lines, position)
    line = min(server.line, len(lines) - 1)
    text = lines[line].rstrip("\r\n")
    column = min(server.character, len(text))
    offset = sum(len(previous) for previous in lines[:line]) + column
    clamped = codec.position_to_client_units(lines, ServerTextPosition(line, column))
    return offset, clamped
