"""Names the file imports but has not used yet: what an expression at the cursor is likely
to start with.

An import is declared intent: a name imported at the top and not used in any line above
the cursor is used at the cursor or below it (linters flag the others). A small model that
sees ``from .utils import strip_ansi`` 300 lines up rarely thinks of it where it belongs;
decoding can lean its first tokens toward such names (see `worker.preferred_bias`), as it
leans toward the receiver's members after ``receiver.``.

Only where an expression may start in the middle of a line (after ``=``, ``(``, ``,``,
``return``, ``raise``, ``except``, an annotation's ``:``…): not where a new name is
declared (``def``, ``class``, a parameter, ``for … in``, ``as``), not in a string or a
comment, and not at the start of a statement, which starts with a name it binds far more
often than with an import (a line inside open brackets continues an expression: there it
leans too). Python and JavaScript/TypeScript.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import tree_sitter
from tree_sitter import Node, Tree

from ghostline.index.imports import read_import
from ghostline.index.languages import LanguageSpec
from ghostline.index.model import Import
from ghostline.postprocess.brackets import unclosed_openers

#: At most this many names are returned, the latest imported first.
MAX_NAMES = 12

_IMPORT_QUERIES = {
    "python": "(import_statement) @import (import_from_statement) @import",
    "javascript": "(import_statement) @import",
    "typescript": "(import_statement) @import",
    "tsx": "(import_statement) @import",
}
#: Words after which the next name is one being declared, not one being used.
_DECLARING = frozenset({"def", "class", "function", "interface", "type", "enum", "const",
                        "let", "var", "as", "for", "import", "from", "lambda", "global",
                        "nonlocal", "namespace", "module", "async", "@"})
_NAME_CHAR = re.compile(r"[\w$]")
_SIGNATURE_START = re.compile(r"\s*(?:export\s+)?(?:async\s+)?(?:def|function)\b[^=]*\(")
_PARAMETER_LISTS = frozenset({"parameters", "formal_parameters", "lambda_parameters"})
_NOT_CODE = ("string", "comment", "template_string", "regex")


def pending_imports(tree: Tree, text: str, offset: int, spec: LanguageSpec) -> list[str]:
    """Names imported above `offset` that no line above it uses yet, latest import first.
    Empty where no expression starts at the cursor (see the module docstring)."""
    query_source = _IMPORT_QUERIES.get(spec.name)
    if query_source is None or not _expression_may_start(tree, text, offset):
        return []
    source = text[:offset].encode("utf-8")
    cursor = len(source)
    statements = _import_statements(tree, spec, query_source, cursor)
    names: list[str] = []
    for node in statements:
        for record in read_import(spec.name, node, Path("")):
            names += [n for n in _bound_names(record, spec.name) if n not in names]
    if not names:
        return []
    spans = [(node.start_byte, node.end_byte) for node in statements]
    unused = [name for name in names if not _used(tree, source, name, spans)]
    return unused[::-1][:MAX_NAMES]


def _expression_may_start(tree: Tree, text: str, offset: int) -> bool:
    """Whether the cursor is where an expression starts: after an operator or a keyword
    mid-line, or at the start of a line inside open brackets (the next argument, item)."""
    line_prefix = text[text.rfind("\n", 0, offset) + 1 : offset]
    code = line_prefix.rstrip()
    if code and (_NAME_CHAR.match(line_prefix[-1]) or code[-1] in ".'\"`#"):
        return False
    words = re.findall(r"[\w$@]+", code)
    if words and words[-1] in _DECLARING and code.endswith(words[-1]):
        return False
    if _SIGNATURE_START.match(code) and code[-1] in "(,":
        return False  # a parameter's name (the tree of an unfinished header has none)
    if _open_quote(code):
        return False
    cursor = len(text[:offset].encode("utf-8"))
    node: Node | None = tree.root_node.descendant_for_byte_range(max(cursor - 1, 0), cursor)
    while node is not None:
        if node.type.startswith(_NOT_CODE):
            return False
        if node.type in _PARAMETER_LISTS and (not code or code[-1] in "(,"):
            return False  # a parameter's name comes next
        node = node.parent
    return bool(code) or bool(unclosed_openers(text[:offset]))


def _open_quote(code: str) -> bool:
    """Whether a string literal opened on this line is still open at its end."""
    quote = ""
    escaped = False
    for char in code:
        if escaped:
            escaped = False
        elif quote and char == "\\":
            escaped = True
        elif quote and char == quote:
            quote = ""
        elif not quote and char in "\"'`":
            quote = char
    return bool(quote)


def _import_statements(tree: Tree, spec: LanguageSpec, query_source: str, cursor: int
                       ) -> list[Node]:
    query_cursor = tree_sitter.QueryCursor(_query(spec, query_source))
    query_cursor.set_byte_range(0, cursor)
    found = query_cursor.captures(tree.root_node).get("import", [])
    return sorted((n for n in found if n.end_byte <= cursor), key=lambda n: n.start_byte)


@functools.cache
def _query(spec: LanguageSpec, source: str) -> tree_sitter.Query:
    return tree_sitter.Query(spec.language, source)


def _bound_names(record: Import, language: str) -> list[str]:
    """The local names an import binds (``os`` for ``import os.path``)."""
    if record.names:
        return [n.local_name for n in record.names if n.name != "*"]
    if record.alias:
        return [record.alias]
    if language == "python" and record.module and record.module != "__future__":
        return [record.module.split(".")[0]]
    return []


def _used(tree: Tree, source: bytes, name: str, imports: list[tuple[int, int]]) -> bool:
    """Whether `name` is read somewhere in `source` outside the import statements (as a
    name, not as ``obj.name``, a string or a comment)."""
    pattern = re.compile(rb"(?<![\w$.])" + re.escape(name.encode("utf-8")) + rb"(?![\w$])")
    for match in pattern.finditer(source):
        start = match.start()
        if any(low <= start < high for low, high in imports):
            continue
        node = tree.root_node.descendant_for_byte_range(start, match.end())
        if node is not None and not node.type.startswith(_NOT_CODE) and \
                node.type not in ("string_content", "string_fragment", "comment"):
            return True
    return False
