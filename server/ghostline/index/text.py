"""Small text helpers shared by the post-processing modules and the syntax readers below them."""

from __future__ import annotations

OPENERS = "([{"
CLOSERS = ")]}"
PAIRS = {")": "(", "]": "[", "}": "{"}


def is_identifier_char(ch: str) -> bool:
    """True for characters that can continue an identifier in most languages."""
    return ch.isalnum() or ch in "_$"


def indent_width(line: str, tab_size: int = 4) -> int:
    """Columns of leading whitespace, tabs expanded to the next multiple of ``tab_size``."""
    width = 0
    for ch in line:
        if ch == " ":
            width += 1
        elif ch == "\t":
            width += tab_size - width % tab_size
        else:
            break
    return width


def first_line(text: str) -> str:
    """Text up to (not including) the first newline."""
    return text.split("\n", 1)[0]


def first_nonblank_line(text: str) -> str:
    """The first line of ``text`` with non-whitespace content, stripped ("" if none)."""
    for line in text.split("\n"):
        if line.strip():
            return line.strip()
    return ""
