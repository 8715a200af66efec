"""Definitions of one parsed file, found with the language's query (``queries/*.scm``).

The query walks the tree in C; Python only looks at the few nodes it captured, which keeps
extraction cheap next to the parse itself. Imports are read by ``imports.py``.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tree_sitter

from ghostline.index.codec import rows_to_definitions
from ghostline.index.imports import read_import
from ghostline.index.languages import LanguageSpec
from ghostline.index.model import Definition, Import
from ghostline.index.node_text import node_text

# Kinds whose member functions are methods.
CONTAINER_KINDS = frozenset({"class", "struct", "interface", "trait", "enum", "impl"})
_BODYLESS = frozenset({"constant", "variable", "field", "type", "macro"})
_FUNCTION_VALUES = frozenset(
    {"arrow_function", "function_expression", "function", "generator_function"}
)
_DECLARATOR_WRAPPERS = frozenset(
    {
        "pointer_declarator",
        "reference_declarator",
        "parenthesized_declarator",
        "attributed_declarator",
    }
)
_SIGNATURE_MAX = 400
_DOC_MAX = 2000
_COMMENT_MARKERS = re.compile(r"^\s*(?:/\*+!?|\*+/|\*(?!/)|//[/!]?|#)\s?")


DefinitionRow = list[Any]
"""A definition as stored: name, qualified name, kind, span (4 ints), name span (4 ints),
signature, doc, parent. ``codec.rows_to_definitions`` turns rows into ``Definition``s."""


@dataclass(slots=True)
class FileFacts:
    """Everything extracted from one file: definitions (as rows), imports, package name.

    Rows are cheap to make and to store; ``definitions`` builds the public objects on
    first use.
    """

    path: Path
    module: str
    language: str
    rows: list[DefinitionRow] = field(default_factory=list)
    imports: list[Import] = field(default_factory=list)
    package: str = ""
    _definitions: list[Definition] | None = None

    @property
    def definitions(self) -> list[Definition]:
        if self._definitions is None:
            self._definitions = rows_to_definitions(
                self.rows, self.path, self.module, self.language
            )
        return self._definitions


# A found definition before nesting: (start byte, -end byte, name, kind, outer node, inner
# node, name node, explicit scope (Go receiver, C++ ``Class::``), is a scope only (Rust impl)).
# A plain tuple: it sorts by position and costs little to make, which matters at 300k a scan.
_Found = tuple[int, int, str, str, tree_sitter.Node, tree_sitter.Node, tree_sitter.Node, str, bool]
_REFINED = frozenset({"variable", "field", "type"})


def extract(
    spec: LanguageSpec,
    tree: tree_sitter.Tree,
    source: bytes,
    path: Path,
    module: str = "",
) -> FileFacts:
    """Definitions and imports of ``source``; ``module`` unless the file names a package."""
    facts = FileFacts(path, module, spec.name)
    found: list[_Found] = []
    seen: set[tuple[int, int, str]] = set()
    cursor = tree_sitter.QueryCursor(spec.query())
    if spec.rules.max_depth is not None:
        cursor.set_max_start_depth(spec.rules.max_depth)
    language = spec.name
    wrapped = bool(spec.rules.wrapper_types)
    for _, caps in cursor.matches(tree.root_node):
        item: _Found | None
        names = caps.get("name")
        if names is not None and len(caps) == 2:  # the usual shape: @def.<kind> @name
            key = next(k for k in caps if k != "name")
            inner = caps[key][0]
            name_node = names[0]
            name = source[name_node.start_byte : name_node.end_byte].decode("utf-8", "replace")
            kind: str | None = key[4:]
            if kind in _REFINED:
                kind = _refine_kind(spec, key[4:], inner, name)
            if kind is None or not name:
                continue
            scope = ""
            if language == "go" and kind == "method" and inner.type == "method_declaration":
                scope = _go_receiver(inner)
            outer = _outer(spec, inner) if wrapped else inner
            item = (outer.start_byte, -outer.end_byte, name, kind, outer, inner, name_node,
                    scope, False)  # fmt: skip
        elif "import" in caps:
            for node in caps["import"]:
                facts.imports.extend(read_import(language, node, path))
            continue
        elif "package" in caps:
            facts.package = node_text(caps["package"][0]).replace("::", ".")
            continue
        else:
            item = _found_from_captures(spec, caps)
            if item is None:
                continue
        dedupe = (item[0], item[1], item[2])
        if dedupe not in seen:
            seen.add(dedupe)
            found.append(item)
    facts.module = facts.package or module
    facts.rows = _build_rows(spec, found, source)
    return facts


def _found_from_captures(
    spec: LanguageSpec, caps: dict[str, list[tree_sitter.Node]]
) -> _Found | None:
    """The less usual capture shapes: Rust ``impl`` scopes, C/C++ declarators."""
    if "scope" in caps:
        node = caps["scope"][0]
        name_node = caps["scope.name"][0]
        name = _type_name(name_node)
        return (node.start_byte, -node.end_byte, name, "impl", node, node, name_node, "", True)
    key = next((k for k in caps if k.startswith("def.")), None)
    if key is None:
        return None
    inner = caps[key][0]
    scope = ""
    if "declarator" in caps:
        resolved = _declarator_name(caps["declarator"][0])
        if resolved is None:
            return None
        name_node, scope = resolved
    elif "name" in caps:
        name_node = caps["name"][0]
    else:
        return None
    name = node_text(name_node)
    kind = _refine_kind(spec, key[4:], inner, name)
    if kind is None or not name:
        return None
    outer = _outer(spec, inner)
    return (outer.start_byte, -outer.end_byte, name, kind, outer, inner, name_node, scope, False)


def _refine_kind(spec: LanguageSpec, kind: str, inner: tree_sitter.Node, name: str) -> str | None:
    """Language details the query cannot say: constants, function-valued variables."""
    if kind == "variable":
        value = inner.child_by_field_name("value") or inner.child_by_field_name("right")
        if value is not None:
            if value.type in _FUNCTION_VALUES:
                return "function"
            if value.type == "call_expression" and _is_require(value):
                return None
        if spec.name == "python":
            return "constant" if name.isupper() else "variable"
        parent = inner.parent
        if parent is not None and parent.type == "lexical_declaration":
            first = parent.child(0)
            if first is not None and first.type == "const":
                return "constant"
        return "variable"
    if kind == "field" and spec.name == "java":
        modifiers = next((c for c in inner.children if c.type == "modifiers"), None)
        if modifiers is not None:
            words = node_text(modifiers).split()
            if "static" in words and "final" in words:
                return "constant"
    if kind == "type" and spec.name == "go":
        type_node = inner.child_by_field_name("type")
        if type_node is not None:
            if type_node.type == "struct_type":
                return "struct"
            if type_node.type == "interface_type":
                return "interface"
    return kind


def _is_require(call: tree_sitter.Node) -> bool:
    function = call.child_by_field_name("function")
    return (function is not None and function.type == "identifier"
            and node_text(function) == "require")


def _outer(spec: LanguageSpec, node: tree_sitter.Node) -> tree_sitter.Node:
    """Climb through wrappers (decorators, export, template) that hold only this definition."""
    wrappers = spec.rules.wrapper_types
    if not wrappers:
        return node
    current = node
    parent = current.parent
    while parent is not None and parent.type in wrappers and _alone(current):
        current = parent
        parent = current.parent
    return current


def _alone(node: tree_sitter.Node) -> bool:
    """No sibling of the same type (``const a = 1, b = 2`` holds two declarators)."""
    kind = node.type
    for step in ("prev_named_sibling", "next_named_sibling"):
        sibling = getattr(node, step)
        while sibling is not None:
            if sibling.type == kind:
                return False
            sibling = getattr(sibling, step)
    return True


def _declarator_name(node: tree_sitter.Node) -> tuple[tree_sitter.Node, str] | None:
    """Name node and ``A.B`` scope of a C/C++ function declarator chain, None if no function."""
    is_function = False
    current: tree_sitter.Node | None = node
    while current is not None:
        if current.type == "function_declarator":
            is_function = True
            current = current.child_by_field_name("declarator")
        elif current.type in _DECLARATOR_WRAPPERS:
            inner = current.child_by_field_name("declarator")
            if inner is None:
                inner = next((c for c in reversed(current.named_children)), None)
            current = inner
        else:
            break
    if current is None or not is_function:
        return None
    scope: list[str] = []
    while current.type == "qualified_identifier":
        scope_node = current.child_by_field_name("scope")
        if scope_node is not None:
            scope.append(_type_name(scope_node))
        name = current.child_by_field_name("name")
        if name is None:
            return None
        current = name
    return current, ".".join(part for part in scope if part)


def _type_name(node: tree_sitter.Node) -> str:
    """``Foo`` for ``Foo``, ``&mut Foo<T>``, ``*pkg.Foo[T]``, ``ns::Foo<T>``."""
    text = node_text(node)
    text = text.lstrip("*&").removeprefix("mut ").strip()
    for stop in ("<", "["):
        text = text.split(stop, 1)[0]
    return text.replace("::", ".").strip()


def _go_receiver(method: tree_sitter.Node) -> str:
    receiver = method.child_by_field_name("receiver")
    if receiver is None:
        return ""
    for param in receiver.named_children:
        type_node = param.child_by_field_name("type")
        if type_node is not None:
            return _type_name(type_node)
    return ""


def _build_rows(spec: LanguageSpec, found: list[_Found], source: bytes) -> list[DefinitionRow]:
    """Nest the found definitions by containment to give each its parent and qualified name."""
    found.sort(key=lambda f: (f[0], f[1]))
    stack: list[tuple[int, str, str]] = []  # (end_byte, qualified name, kind)
    rows: list[DefinitionRow] = []
    python = spec.rules.python_docstrings
    for start, neg_end, name, kind, outer, inner, name_node, scope, is_scope in found:
        while stack and stack[-1][0] <= start:
            stack.pop()
        parent_qn, parent_kind = (stack[-1][1], stack[-1][2]) if stack else (None, "")
        if scope:
            parent_qn = f"{parent_qn}.{scope}" if parent_qn else scope
            if kind == "function":
                kind = "method"
        elif kind == "function" and parent_kind in CONTAINER_KINDS:
            kind = "method"
        qualified = f"{parent_qn}.{name}" if parent_qn else name
        stack.append((-neg_end, qualified, kind))
        if is_scope:
            continue
        span_start, span_end = outer.start_point, outer.end_point
        name_start, name_end = name_node.start_point, name_node.end_point
        body = None if kind in _BODYLESS else _body(inner)
        doc = ""
        if python and body is not None and kind in ("function", "method", "class"):
            doc = _python_docstring(body, source)
        if not doc and _comment_above(source, start):
            doc = _leading_comment(spec, outer)
        sig_start = inner.start_byte if outer.type == "decorated_definition" else start
        rows.append(
            [name, qualified, kind,
             span_start[0], span_start[1], span_end[0], span_end[1],
             name_start[0], name_start[1], name_end[0], name_end[1],
             _signature(source, sig_start, body, -neg_end), doc, parent_qn]
        )  # fmt: skip
    return rows


def _body(inner: tree_sitter.Node) -> tree_sitter.Node | None:
    body = inner.child_by_field_name("body")
    if body is None:
        value = inner.child_by_field_name("value")
        if value is not None and value.type in _FUNCTION_VALUES:
            body = value.child_by_field_name("body")
    return body


def _signature(source: bytes, start: int, body: tree_sitter.Node | None, end: int) -> str:
    """The header: from ``start`` to the body, else the first line; whitespace collapsed."""
    body_start = body.start_byte if body is not None else -1
    if body_start > start:
        raw = source[start : min(body_start, start + _SIGNATURE_MAX)]
    else:
        raw = source[start : min(end, start + _SIGNATURE_MAX)].split(b"\n", 1)[0]
    text = " ".join(raw.decode("utf-8", errors="replace").split())
    if text.endswith(("{", ":", ";")):
        return text[:-1].rstrip()
    if text.endswith("=>"):
        return text[:-2].rstrip()
    return text


_QUOTES = frozenset(b"\"'")
_STRING_PREFIX = frozenset(b"rRbBuUfF")
_COMMENT_STARTS = (b"#", b"//", b"/*", b"*")


def _python_docstring(body: tree_sitter.Node, source: bytes) -> str:
    """The docstring: a string literal as the body's first statement."""
    at = body.start_byte
    head = source[at : at + 4].lstrip()
    if not head or (head[0] not in _QUOTES and head[0] not in _STRING_PREFIX):
        return ""  # cheap byte test first: most bodies start with code
    first = body.named_child(0)
    if first is None or first.type != "expression_statement" or first.named_child_count != 1:
        return ""
    string = first.named_child(0)
    if string is None or string.type != "string":
        return ""
    parts = [node_text(c) for c in string.named_children if c.type == "string_content"]
    text = "".join(parts)
    return (inspect.cleandoc(text) if "\n" in text else text.strip())[:_DOC_MAX]


def _comment_above(source: bytes, start: int) -> bool:
    """Whether the line above ``start`` looks like a comment or an attribute (a cheap
    byte test that spares the tree walk for most definitions)."""
    line_start = source.rfind(b"\n", 0, start) + 1
    if line_start <= 1:
        return False
    above = source[source.rfind(b"\n", 0, line_start - 1) + 1 : line_start - 1].strip()
    return above.startswith(_COMMENT_STARTS) or above.endswith(b"*/")


def _leading_comment(spec: LanguageSpec, node: tree_sitter.Node) -> str:
    """The comment block right above ``node`` (no blank line between), markers removed."""
    comments = spec.rules.comment_types
    skip = spec.rules.skip_before_doc
    expected_row = node.start_point.row
    lines: list[str] = []
    sibling = node.prev_named_sibling
    while sibling is not None:
        if sibling.type in skip:
            expected_row = sibling.start_point.row
            sibling = sibling.prev_named_sibling
            continue
        if sibling.type not in comments or _last_row(sibling) < expected_row - 1:
            break
        text = node_text(sibling)
        if text.startswith(("//!", "/*!")):
            break  # an inner doc comment documents the enclosing module
        previous = sibling.prev_sibling
        if previous is not None and _last_row(previous) == sibling.start_point.row:
            break  # a trailing comment of the previous statement
        lines[:0] = _comment_lines(text)
        expected_row = sibling.start_point.row
        sibling = sibling.prev_named_sibling
    return "\n".join(lines).strip()[:_DOC_MAX]


def _last_row(node: tree_sitter.Node) -> int:
    """Last line a node occupies (Rust line comments end after their line break)."""
    end = node.end_point
    return end.row - 1 if end.column == 0 and end.row > node.start_point.row else end.row


def _comment_lines(text: str) -> list[str]:
    result = []
    for line in text.splitlines():
        cleaned = _COMMENT_MARKERS.sub("", line, count=1).rstrip()
        if cleaned.endswith("*/"):
            cleaned = cleaned[:-2].rstrip()
        result.append(cleaned)
    return result


def iter_nodes(node: tree_sitter.Node) -> Iterator[tree_sitter.Node]:
    """Every node under `node` (itself included) in document order, without recursion."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children))
