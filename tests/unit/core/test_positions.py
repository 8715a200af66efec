"""Cursor positions in UTF-16 and UTF-8 code units, with emoji and CJK on the line."""

from __future__ import annotations

import pytest
from lsprotocol import types
from pygls.workspace import TextDocument
from pygls.workspace.position_codec import PositionCodec

from ghostline.lsp.positions import cursor_offset

TEXT = 'def f():\n    s = "😋 日本" + x\n    return s\n'
LINE = '    s = "😋 日本" + x'


def _doc(encoding: types.PositionEncodingKind) -> TextDocument:
    return TextDocument("file:///t.py", TEXT, position_codec=PositionCodec(encoding))


@pytest.mark.parametrize(("encoding", "codec"), [
    (types.PositionEncodingKind.Utf16, "utf-16-le"),
    (types.PositionEncodingKind.Utf8, "utf-8"),
])
def test_offset_after_emoji_and_cjk(encoding: types.PositionEncodingKind, codec: str) -> None:
    target = LINE.index("+")
    units = len(LINE[:target].encode(codec)) // (2 if codec == "utf-16-le" else 1)
    offset, clamped = cursor_offset(_doc(encoding), types.Position(line=1, character=units))
    assert TEXT[offset] == "+"
    assert clamped == types.Position(line=1, character=units)


def test_past_end_of_line_clamps_to_the_line_end() -> None:
    offset, clamped = cursor_offset(_doc(types.PositionEncodingKind.Utf16),
                                    types.Position(line=0, character=999))
    assert TEXT[:offset] == "def f():"
    assert clamped == types.Position(line=0, character=8)


def test_past_end_of_file_clamps_to_the_last_line() -> None:
    offset, clamped = cursor_offset(_doc(types.PositionEncodingKind.Utf16),
                                    types.Position(line=99, character=3))
    assert clamped.line == 2
    assert offset <= len(TEXT)


def test_empty_document() -> None:
    doc = TextDocument("file:///e.py", "")
    assert cursor_offset(doc, types.Position(line=5, character=5))[0] == 0
