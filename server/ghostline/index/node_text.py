"""The text of a tree-sitter node as a string.

tree-sitter gives a node's text as bytes, or None (a missing node, a tree whose source
is gone); every reader of names and lines wants a string, with undecodable bytes
replaced rather than an error in the middle of a request.
"""

from __future__ import annotations

from tree_sitter import Node


def node_text(node: Node | None) -> str:
    """`node`'s source text ('' for no node or no text)."""
    if node is None or node.text is None:
        return ""
    return node.text.decode("utf-8", errors="replace")
