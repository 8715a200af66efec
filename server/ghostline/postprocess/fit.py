"""Does a new Python line fit the code already written below it?

On a blank line with code below, a single-line completion goes between lines that exist,
and Python's indentation rules out some lines there:

- the next code line is indented deeper: the new line must open a block (end with ``:``),
  or that code would be an unexpected indent;
- the new line opens a block and the next code line, at its own level, is a clause of the
  statement above (``elif``, ``else``, ``except``, ``finally``): the new block would be
  empty and would take that clause over.

A block header over ordinary code at its own level or shallower is left alone: that is how
a user starts a new block whose body comes next. A model without FIM tokens never sees the
code below, which is why this check exists (what it found: docs/models.md).

Lines that go on (an open bracket, a string, a trailing backslash or comma) and comments are
never judged; neither is a line with no code below it.
"""

from __future__ import annotations

import re
from typing import Literal

from ghostline.index.text import CLOSERS, OPENERS, indent_width

__all__ = ["BLOCK_KEYWORDS", "Misfit", "first_word", "fits_below", "misfit_below"]

#: Why a line cannot stand where it goes (see the module's docstring).
Misfit = Literal["needs a block header", "opens an empty block"]
#: The words a Python block header starts with (``async`` before ``def``/``for``/``with``).
BLOCK_KEYWORDS = ("if", "elif", "else", "for", "while", "with", "try", "except", "finally",
                  "def", "class", "async", "match", "case")

_CONTINUES = ("\\", ",")
#: Clauses that continue the compound statement above them at the same level.
_CLAUSES = frozenset({"elif", "else", "except", "finally"})
_WORD = re.compile(r"[A-Za-z_][A-Za-z_0-9]*|\S")


def misfit_below(new_line: str, below: str, tab_size: int = 4) -> Misfit | None:
    """Why `new_line` cannot stand right above `below` (the text after the new line), or
    None when it fits or cannot be judged."""
    verdict = _judge(new_line, below, tab_size)
    if verdict == "fits" or verdict == "not judged":
        return None
    return verdict


def fits_below(new_line: str, below: str, tab_size: int = 4) -> bool:
    """`new_line` is a finished line of code that can stand above `below` (a comment, an
    unfinished line or one with nothing below cannot be told to fit)."""
    return _judge(new_line, below, tab_size) == "fits"


def _judge(new_line: str, below: str, tab_size: int
           ) -> Misfit | Literal["fits", "not judged"]:
    code, goes_on = _without_comment(new_line.strip())
    if not code or goes_on or code.endswith(_CONTINUES):
        return "not judged"
    following = _next_code_line(below)
    if following is None:
        return "not judged"
    below_width, width = indent_width(following, tab_size), indent_width(new_line, tab_size)
    opens = code.endswith(":")
    if below_width > width and not opens:
        return "needs a block header"
    if opens and below_width == width and first_word(following) in _CLAUSES:
        return "opens an empty block"
    return "fits"


def first_word(text: str) -> str:
    """The first identifier (or the first other character) of `text`, "" if blank."""
    match = _WORD.search(text)
    return match.group(0) if match else ""


def _next_code_line(text: str) -> str | None:
    """The first line of `text` that is neither blank nor a comment; read line by line,
    since `text` is the rest of the file and the line is usually the first."""
    start = 0
    while start <= len(text):
        end = text.find("\n", start)
        line = text[start:] if end == -1 else text[start:end]
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            return line
        if end == -1:
            return None
        start = end + 1
    return None


def _without_comment(code: str) -> tuple[str, bool]:
    """`code` without a trailing comment, and whether it goes on to the next line (a
    bracket or a string left open).

    Quotes are tracked roughly (no escapes; a triple quote leaves one open): enough to tell
    a finished line from one that opens an argument list or a docstring, or a ``#`` in a
    string from a comment."""
    depth = 0
    quote = ""
    for at, ch in enumerate(code):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch == "#":
            return code[:at].rstrip(), depth > 0
        elif ch in OPENERS:
            depth += 1
        elif ch in CLOSERS:
            depth -= 1
    return code, depth > 0 or bool(quote)
