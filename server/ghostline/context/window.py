"""The local window: the text around the cursor that goes into a completion prompt.

The start of the prefix window is anchored to a multiple of `ANCHOR_LINES` lines, so it
stays put while the user types and the model's KV cache for the prompt's early part
survives from one keystroke to the next. It moves only when the window would overflow its
budget, and then jumps by whole anchors.
"""

from __future__ import annotations

from dataclasses import dataclass

ANCHOR_LINES = 16


@dataclass(frozen=True)
class LocalWindow:
    prefix: str
    suffix: str
    #: 0-based line at which `prefix` starts.
    first_line: int


def line_starts(text: str, upto: int) -> list[int]:
    """Offsets where each line begins, for the lines that start at or before `upto`."""
    starts = [0]
    index = text.find("\n")
    while index != -1 and index < upto:
        starts.append(index + 1)
        index = text.find("\n", index + 1)
    return starts


def local_window(
    text: str, offset: int, max_prefix_chars: int, max_suffix_chars: int
) -> LocalWindow:
    """Prefix and suffix around `offset`, within the character budgets."""
    starts = line_starts(text, offset)
    cursor_line = len(starts) - 1
    first = 0
    while offset - starts[first] > max_prefix_chars and first < cursor_line:
        first = min(first + ANCHOR_LINES, cursor_line)
    prefix = text[starts[first] : offset]
    if len(prefix) > max_prefix_chars:  # one enormous line: keep its end
        prefix = prefix[-max_prefix_chars:]
    suffix = text[offset : offset + max_suffix_chars]
    return LocalWindow(prefix=prefix, suffix=suffix, first_line=first)
