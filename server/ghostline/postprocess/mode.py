"""Decide how much to complete from the syntax at the cursor: a block, a line, or nothing.

- ``none``: the cursor is before an identifier character (inside or at the start of a word):
  any insertion would split a word.
- ``multi``: a block was just opened and is empty (the line ends with ``:`` / ``{`` / ``=>``,
  or the cursor is on a blank line below such a line, or tree-sitter shows a block body
  with nothing but comments or a docstring, or a parse error around a blank cursor line).
- ``single``: everything else (mid-expression, a blank line in a block that has code,
  strings and comments): the rest of the current line.

The text rules work without a tree; a tree only refines them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Literal

from tree_sitter import Node, Tree

from ghostline.index.text import indent_width, is_identifier_char

__all__ = ["CompletionMode", "block_indent", "decide_mode", "opens_block"]

CompletionMode = Literal["single", "multi", "none"]

_EOL_OPENERS = (":", "{", "=>")
_WORD_OPENERS = ("do", "then", "else", "begin")
_BLANK_LINE_OPENERS = (*_EOL_OPENERS, "(", "[")
_CLOSERS_ONLY = frozenset(")]};, \t")
_COMMENT_STARTS = ("#", "//", "/*", "*", "--", ";;")
_STRING_TYPES = ("string", "template_string", "char_literal", "rune_literal", "raw_string")


def opens_block(line: str, *, brackets: bool = False) -> bool:
    """True if ``line`` ends with a block opener (``:``, ``{``, ``=>``, ``do``, ``then``…).

    With ``brackets`` an open ``(`` or ``[`` at the end counts too (arguments on new lines).
    """
    text = line.rstrip()
    openers = _BLANK_LINE_OPENERS if brackets else _EOL_OPENERS
    if text.endswith(openers):
        return True
    words = text.rsplit(None, 1)
    return bool(words) and words[-1] in _WORD_OPENERS


def _last_nonblank(lines: Sequence[str]) -> tuple[int, str] | None:
    """(distance above the cursor line, text) of the nearest non-blank line."""
    for back, line in enumerate(reversed(lines), start=1):
        if line.strip():
            return back, line
    return None


def decide_mode(
    prefix_line: str,
    suffix_line: str,
    prev_lines: Sequence[str] = (),
    *,
    tree: Tree | None = None,
    point: tuple[int, int] | None = None,
) -> CompletionMode:
    """Completion mode at a cursor.

    ``prefix_line``/``suffix_line``: the cursor line's text before/after the cursor (no
    newline). ``prev_lines``: the lines above, in document order (a few are enough).
    ``tree`` and ``point`` (row, UTF-8 byte column, as tree-sitter counts) refine the text
    rules when given.
    """
    if suffix_line[:1] and is_identifier_char(suffix_line[0]):
        return "none"
    node = _node_at(tree, point)
    if node is not None and point is not None and _in_string_or_comment(node, point):
        return "single"
    if prefix_line.lstrip().startswith(_COMMENT_STARTS):
        return "single"
    rest_is_closers = set(suffix_line) <= _CLOSERS_ONLY
    if prefix_line.strip():
        if rest_is_closers and opens_block(prefix_line):
            return "multi"
        return "single"
    if not rest_is_closers:
        return "single"
    above = _last_nonblank(prev_lines)
    if above is not None and opens_block(above[1], brackets=True):
        return "multi"
    if tree is not None and node is not None and point is not None:
        prev_point = None
        if above is not None:
            # The last character of that line (a point at its very end finds the root).
            last_col = max(len(above[1].rstrip().encode("utf-8")) - 1, 0)
            prev_point = (point[0] - above[0], last_col)
        if _tree_shows_open_block(tree, node, point, prev_point):
            return "multi"
    return "single"


def block_indent(
    prefix_line: str, prev_lines: Sequence[str] = (), *, tab_size: int = 4
) -> int:
    """Indentation (columns) below which a multi-line completion has left its block.

    After an opener on the cursor line, the body must be deeper than that line; on a blank
    line, the block is where the cursor is (or deeper than a block opener just above).
    """
    width = indent_width(prefix_line, tab_size)
    if prefix_line.strip():
        return width + 1 if opens_block(prefix_line) else width
    above = _last_nonblank(prev_lines)
    if above is not None and opens_block(above[1], brackets=True):
        return max(width, indent_width(above[1], tab_size) + 1)
    return width


def _node_at(tree: Tree | None, point: tuple[int, int] | None) -> Node | None:
    if tree is None or point is None:
        return None
    return tree.root_node.descendant_for_point_range(point, point)


def _ancestors(node: Node | None) -> Iterator[Node]:
    while node is not None:
        yield node
        node = node.parent


def _in_string_or_comment(node: Node, point: tuple[int, int]) -> bool:
    for anc in _ancestors(node):
        start, end = tuple(anc.start_point), tuple(anc.end_point)
        if "comment" in anc.type and start < point <= end:
            return True
        if anc.type.endswith(_STRING_TYPES) and start < point < end:
            return True
    return False


def _is_block(node: Node) -> bool:
    kind = node.type
    return (
        "block" in kind
        or kind.endswith("_body")
        or kind in ("compound_statement", "declaration_list", "field_declaration_list")
    )


def _is_placeholder(node: Node) -> bool:
    """A comment, or a lone string statement (a docstring) that holds no code yet."""
    if "comment" in node.type:
        return True
    children = node.named_children
    return node.type == "expression_statement" and len(children) == 1 and (
        children[0].type == "string"
    )


def _is_empty_block(node: Node) -> bool:
    return _is_block(node) and all(_is_placeholder(c) for c in node.named_children)


def _tree_shows_open_block(
    tree: Tree, node: Node, point: tuple[int, int], prev_point: tuple[int, int] | None
) -> bool:
    # The cursor sits in an empty block ("{ | }") or in a parse error (an unfinished block).
    for anc in _ancestors(node):
        if anc.type == "ERROR" or anc.is_missing:
            return True
        if _is_empty_block(anc):
            return True
    # Python: "def f():" with nothing indented below parses as a zero-width empty body that
    # ends on the line above the cursor.
    if prev_point is None:
        return False
    for anc in _ancestors(tree.root_node.descendant_for_point_range(prev_point, prev_point)):
        body = anc.child_by_field_name("body")
        if body is not None and _is_empty_block(body) and tuple(body.end_point) <= point:
            return True
    return False
