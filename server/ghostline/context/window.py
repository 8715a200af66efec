"""The local window: the text around the cursor that goes into a completion prompt.

The start of the prefix window is anchored to a multiple of `ANCHOR_LINES` lines, so it
stays put while the user types and the model's KV cache for the prompt's early part
survives from one keystroke to the next. It moves only when the window would overflow its
budget, and then jumps by whole anchors.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tree_sitter import Tree

ANCHOR_LINES = 16
#: Node types of the definitions a local window keeps whole (functions, methods, classes,
#: impl blocks) across the grammars Ghostline ships.
_DEFINITION = re.compile(
    r"^(function|method|class|impl|struct|interface|constructor|arrow_function|"
    r"function_expression|generator_function)(_definition|_declaration|_item|_expression)?$"
)


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


def enclosing_definition(tree: Tree, text: str, offset: int) -> tuple[int, int] | None:
    """(first line, end offset in `text`) of the innermost function, method or class
    around `offset`, or None at the top level. Looked up at the last character before
    the cursor that is not whitespace: right after ``return `` the cursor is past every
    node of the statement, and the smallest node around it would be the class body."""
    anchor = len(text[:offset].rstrip()) - 1
    if anchor < 0:
        return None
    line_start = text.rfind("\n", 0, anchor) + 1
    point = (text.count("\n", 0, anchor), len(text[line_start:anchor].encode("utf-8")))
    node = tree.root_node.descendant_for_point_range(point, point)
    while node is not None:
        if _DEFINITION.match(node.type):
            end = _end_offset(text, node.end_point)
            if end >= offset:
                return node.start_point[0], end
            if "\n" not in text[end:offset] or _indented_past(text, offset, node.start_point[0]):
                # The cursor sits after the definition's last node: on its last line, or
                # on a later line indented into its body (a new statement at its end).
                line_end = text.find("\n", offset)
                return node.start_point[0], len(text) if line_end == -1 else line_end
            # The definition ended above the cursor's line, which is not indented into it
            # (a nested function above a line of the outer one): try the one around it.
        node = node.parent
    return None


def _indentation(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def _indented_past(text: str, offset: int, header_row: int) -> bool:
    """Whether the cursor's line (read whole: its indentation may follow the cursor) is
    indented deeper than line `header_row`."""
    start = text.rfind("\n", 0, offset) + 1
    end = text.find("\n", offset)
    cursor_line = text[start : len(text) if end == -1 else end]
    header = text.split("\n", header_row + 1)[header_row] if header_row >= 0 else ""
    return _indentation(cursor_line) > _indentation(header)


def _end_offset(text: str, end_point: tuple[int, int]) -> int:
    """`text` offset of a tree-sitter end point (row, byte column)."""
    row, column = end_point
    end_line_start = 0
    for _ in range(row):
        end_line_start = text.index("\n", end_line_start) + 1
    line_end = text.find("\n", end_line_start)
    line = text[end_line_start : len(text) if line_end == -1 else line_end]
    return end_line_start + len(line.encode("utf-8")[:column].decode("utf-8", "ignore"))
