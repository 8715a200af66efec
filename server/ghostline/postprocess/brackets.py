"""Bracket bookkeeping across prefix, completion and suffix.

A rough scanner (strings and line comments skipped) finds the brackets the prefix leaves
open and how many of them the suffix closes; a completion that closes one of those again,
or closes a bracket nobody opened, is cut right before that closer.
"""

from __future__ import annotations

from collections.abc import Iterator

from ghostline.index.text import CLOSERS, OPENERS, PAIRS

__all__ = ["cut_unmatched_closer", "suffix_closes", "unclosed_openers"]

_PREFIX_LINES = 60  # unclosed brackets further up rarely matter and scanning costs time
_SUFFIX_CHARS = 4000


def _brackets(text: str) -> Iterator[tuple[int, str]]:
    """(index, bracket) for brackets outside string literals and line comments."""
    quote = ""
    escaped = False
    comment = False
    for i, ch in enumerate(text):
        if ch == "\n":
            comment = False
            if quote != "`":
                quote = ""
            escaped = False
            continue
        if comment:
            continue
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = ""
            continue
        if ch in "\"'`":
            quote = ch
        elif ch == "#" or (ch == "/" and text.startswith("//", i)):
            comment = True
        elif ch in OPENERS or ch in CLOSERS:
            yield i, ch


def unclosed_openers(prefix: str) -> list[str]:
    """Opening brackets the end of ``prefix`` leaves open, innermost last."""
    tail = "\n".join(prefix.split("\n")[-_PREFIX_LINES:])
    stack: list[str] = []
    for _, ch in _brackets(tail):
        if ch in OPENERS:
            stack.append(ch)
        elif stack and stack[-1] == PAIRS[ch]:
            stack.pop()
        else:
            stack.clear()  # unbalanced text before: start over from here
    return stack


def suffix_closes(suffix: str, openers: list[str]) -> int:
    """How many of ``openers`` (innermost last) the ``suffix`` closes, innermost first."""
    depth: list[str] = []
    closed = 0
    for _, ch in _brackets(suffix[:_SUFFIX_CHARS]):
        if ch in OPENERS:
            depth.append(ch)
        elif depth:
            if depth[-1] != PAIRS[ch]:
                break
            depth.pop()
        elif closed < len(openers) and openers[-1 - closed] == PAIRS[ch]:
            closed += 1
        else:
            break
    return closed


def cut_unmatched_closer(completion: str, prefix: str, suffix: str) -> str:
    """``completion`` up to the first closer that is unmatched or that the suffix repeats."""
    openers = unclosed_openers(prefix)
    already_closed = suffix_closes(suffix, openers)
    own: list[str] = []
    closed = 0  # prefix brackets this completion closed itself
    for i, ch in _brackets(completion):
        if ch in OPENERS:
            own.append(ch)
            continue
        if own:
            if own[-1] != PAIRS[ch]:
                return completion[:i]
            own.pop()
            continue
        target = len(openers) - 1 - closed
        if target < 0 or openers[target] != PAIRS[ch] or closed < already_closed:
            return completion[:i]
        closed += 1
    return completion
