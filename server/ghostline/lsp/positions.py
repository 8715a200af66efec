"""Cursor positions: LSP code units (UTF-16 or UTF-8, as negotiated) to `str` offsets.

Lines are split the LSP way, at ``\\n``, ``\\r\\n`` and ``\\r`` only. pygls's
``TextDocument.lines`` uses ``str.splitlines``, which also breaks at form feeds,
``\\x1c``-``\\x1e``, ``\\x85``, U+2028 and U+2029: in a file holding one of them every
later line number is off by one against the editor's. And pygls clamps a character past
the end of the last line to one before its end. Positions are converted here instead.
"""

from __future__ import annotations

import re

from lsprotocol import types
from pygls.workspace import TextDocument
from pygls.workspace.position_codec import PositionCodec, ServerTextPosition

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)")
_LINE_END = re.compile(r"(?:\r\n|\r|\n)\Z")


def lsp_lines(text: str) -> list[str]:
    """The lines of `text` with their endings, split at LSP line breaks only.

    A text of N line breaks has N + 1 lines: after a final line break comes an empty
    last line, where the editor's cursor can be (pygls's lines lack it).
    """
    lines: list[str] = _LINE.findall(text)
    lines.append(text[sum(len(line) for line in lines):])
    return lines


def _offset(lines: list[str], codec: PositionCodec, position: types.Position,
            past_end: str) -> tuple[int, int, int]:
    """(`str` offset, line, column in code points) of `position`, clamped into `lines`.

    Past the last line: the end of the text (``past_end="text"``), or the end of the last
    line that has text (``"content"``).
    """
    if position.line >= len(lines):
        line = len(lines) - 1
        if past_end == "content" and line > 0 and not lines[line]:
            line -= 1
        body = _LINE_END.sub("", lines[line])
        character = codec.client_num_units(body)
    else:
        line = position.line
        body = _LINE_END.sub("", lines[line])
        character = min(position.character, codec.client_num_units(body))
    column = (codec.position_from_client_units(
        [body], types.Position(line=0, character=character)).character if body else 0)
    column = min(column, len(body))
    return sum(len(text) for text in lines[:line]) + column, line, column


def offsets_at(lines: list[str], codec: PositionCodec,
               positions: list[types.Position]) -> list[int]:
    """The `str` offsets of `positions` in the text of `lines` (see `lsp_lines`), each
    clamped into the text (past the last line: the end of the text)."""
    return [_offset(lines, codec, position, "text")[0] for position in positions]


def cursor_offset(doc: TextDocument, position: types.Position) -> tuple[int, types.Position]:
    """The `str` offset of `position`, clamped into the document, and the clamped position.

    A position past the end of a line means the end of that line; past the last line, the
    end of the last line that has text. The returned position is in the client's units.
    """
    lines = lsp_lines(doc.source)
    codec = doc.position_codec
    offset, line, column = _offset(lines, codec, position, "content")
    clamped = codec.position_to_client_units([lines[line]], ServerTextPosition(0, column))
    return offset, types.Position(line=line, character=clamped.character)
