"""Names the code below the cursor reads but nothing binds: what the line at the cursor is
likely to define.

When a user opens a new line in the middle of a function whose later lines read
``result`` and nothing before binds it, the line being written almost certainly assigns
``result``. A small prefix-only model never sees those later lines; decoding can still lean
its first tokens toward such names (see `worker.preferred_bias`), as the receiver's members
are leaned on after ``receiver.``; and where the name's first use below tells what it holds
(``result.append(x)``), toward the value it starts as too (``result = []``).

Python only for now (tree-sitter). Conservative on purpose: a name bound anywhere in the
module's scope, in the enclosing functions or in their classes counts as bound, and a
wildcard import turns the whole analysis off.
"""

from __future__ import annotations

import builtins
import keyword
from collections.abc import Iterator

from tree_sitter import Node, Tree

from ghostline.index.node_text import node_text
from ghostline.index.text import indent_width

#: At most this many names are returned, nearest first.
MAX_NAMES = 5
#: How deep into nested operators the value added to a name is looked at.
MAX_OPERATOR_DEPTH = 8

_NOT_NAMES = (frozenset(dir(builtins)) | frozenset(keyword.kwlist)
              | {"self", "cls", "__name__", "__file__"})
_FUNCTIONS = frozenset({"function_definition", "lambda"})
#: (operator, kind of what is added) -> the value a name likely starts as.
_AUGMENTED_STARTS = {("+=", "number"): "0", ("-=", "number"): "0", ("+=", "comparison"): "0",
                     ("+=", "string"): '""', ("+=", "list"): "[]", ("*=", "number"): "1",
                     ("*=", "other"): "1"}
#: Methods whose call on a name says what collection it holds.
_COLLECTION_METHODS = {"append": "[]", "extend": "[]", "insert": "[]", "add": "set()"}
_ARITHMETIC = frozenset({"+", "-", "*", "/", "//", "%", "**"})
#: Nodes that bind the names of their ``left`` field, or their ``name`` field.
_TARGET_OWNERS = frozenset({"assignment", "for_statement", "for_in_clause"})
_NAMED = frozenset({"function_definition", "class_definition", "named_expression"})
#: Nodes whose identifier children are all bound names.
_NAME_LISTS = frozenset({"as_pattern_target", "global_statement", "nonlocal_statement"})
_PATTERNS = frozenset({"pattern_list", "tuple_pattern", "list_pattern", "list_splat_pattern",
                       "parenthesized_expression", "tuple", "list", "expression_list"})


def unbound_names_below(tree: Tree, text: str, offset: int) -> list[str]:
    """Names read after `offset` inside the innermost function around it that nothing in
    scope binds, nearest first. Empty unless the cursor's line holds only indentation
    (a new statement starts there) and the cursor is inside a function."""
    return [node_text(node) for node in _first_unbound_reads(tree, text, offset)]


def preferred_starts(tree: Tree, text: str, offset: int) -> list[str]:
    """What the new line at `offset` likely starts with: ``for name`` when the next line is
    indented deeper (the line opens a block, and a loop is what binds names there), else
    the names themselves (an assignment), with the value where the name's first use below
    tells what it starts as (``total = 0`` above ``total += 1``; see `starting_value`)."""
    reads = _first_unbound_reads(tree, text, offset)
    if reads and opens_block(text, offset):
        return [f"for {node_text(node)}" for node in reads]
    starts: list[str] = []
    for node in reads:
        value = starting_value(node)
        starts.append(f"{node_text(node)} = {value}" if value is not None else node_text(node))
    return starts


def starting_value(node: Node) -> str | None:
    """What the name read at `node`, its first use, starts as, where that use says: ``0``
    before ``n += 1`` or ``n -= a * 2`` (a number or a comparison is added), ``""`` before
    ``s += "text"``, ``[]`` before ``items.append(x)`` or ``items += [x]``, ``set()``
    before ``seen.add(x)``, ``1`` before ``n *= x``. None otherwise (a name added,
    ``total += x``, may hold a number, a string or a list)."""
    parent = node.parent
    if parent is None:
        return None
    if parent.type == "augmented_assignment" and parent.child_by_field_name("left") == node:
        operator = node_text(parent.child_by_field_name("operator"))
        added = _value_kind(parent.child_by_field_name("right"))
        return _AUGMENTED_STARTS.get((operator, added))
    if parent.type == "attribute" and parent.child_by_field_name("object") == node:
        call = parent.parent
        if call is not None and call.type == "call" and \
                call.child_by_field_name("function") == parent:
            return _COLLECTION_METHODS.get(node_text(parent.child_by_field_name("attribute")))
    return None


def _value_kind(node: Node | None, depth: int = 0) -> str:
    """``number``, ``comparison``, ``string``, ``list`` or ``other``, for what is added
    (looked into a few operators deep: generated code nests expressions thousands deep)."""
    while node is not None and node.type in ("parenthesized_expression", "unary_operator"):
        node = node.named_children[-1] if node.named_children else None
    if node is None:
        return "other"
    if node.type in ("integer", "float"):
        return "number"
    if node.type in ("comparison_operator", "boolean_operator", "not_operator", "true",
                     "false"):
        return "comparison"
    if node.type in ("string", "concatenated_string"):
        return "string"
    if node.type in ("list", "list_comprehension"):
        return "list"
    if node.type == "binary_operator" and depth < MAX_OPERATOR_DEPTH and \
            node_text(node.child_by_field_name("operator")) in _ARITHMETIC:
        sides = {_value_kind(node.child_by_field_name("left"), depth + 1),
                 _value_kind(node.child_by_field_name("right"), depth + 1)}
        # One literal side tells the kind: ``"-" + word`` is a string, ``i * 2`` a number.
        for kind in ("string", "list", "number"):
            if kind in sides:
                return kind
    return "other"


def unbound_reads_after(tree: Tree, cursor: int) -> list[Node]:
    """The first read of each name read after byte `cursor` inside the innermost function
    around it that nothing in scope binds, nearest first (empty outside functions)."""
    function = _function_after_header(tree.root_node, cursor)
    if function is None:
        return []
    bound: set[str] = set()
    if not _collect_bindings(tree.root_node, cursor, bound):
        return []  # a wildcard import: anything may be bound
    found: dict[str, Node] = {}
    for node in _reads(function, cursor):
        name = node_text(node)
        if name not in bound and name not in _NOT_NAMES and name not in found:
            found[name] = node
            if len(found) == MAX_NAMES:
                break
    return list(found.values())


def _first_unbound_reads(tree: Tree, text: str, offset: int) -> list[Node]:
    """The first read of each name `unbound_names_below` returns, nearest first."""
    line_prefix = text[text.rfind("\n", 0, offset) + 1 : offset]
    if line_prefix.strip():
        return []
    return unbound_reads_after(tree, len(text[:offset].encode("utf-8")))


def opens_block(text: str, offset: int) -> bool:
    """Whether the code that follows the cursor (the rest of its line, else the first
    non-blank line below) is indented deeper than the cursor's line. At column 0 the
    line's indentation is taken from the line above: one level more after a ``:``."""
    line_start = text.rfind("\n", 0, offset) + 1
    rest = text[offset:].split("\n")
    if rest[0].strip():
        below = text[line_start:offset] + rest[0]  # the new line goes in before it
    else:
        below = next((line for line in rest[1:] if line.strip()), "")
    if not below.strip():
        return False
    indent = indent_width(text[line_start:offset])
    if indent == 0:
        above = next((line for line in reversed(text[:line_start].split("\n")) if line.strip()),
                     "")
        indent = indent_width(above) + (4 if above.rstrip().endswith(":") else 0)
    return indent_width(below) > indent


def _function_after_header(root: Node, cursor: int) -> Node | None:
    """The innermost function around `cursor` (a byte offset), past its parameters."""
    found: Node | None = None
    node: Node | None = root
    while node is not None:
        inner = None
        for child in node.children:
            if child.start_byte <= cursor <= child.end_byte:
                inner = child
                break
        if inner is None:
            break
        header = (inner.child_by_field_name("parameters")
                  if inner.type == "function_definition" else None)
        if header is not None and header.end_byte < cursor:
            found = inner
        node = inner
    return found


def _collect_bindings(root: Node, cursor: int, bound: set[str]) -> bool:
    """Add the names bound in the scopes visible at `cursor`; False on a wildcard import.
    Functions that do not contain the cursor bind only their own name here. (A loop, not
    recursion: generated files nest expressions thousands deep.)"""
    stack = [root]
    while stack:
        node = stack.pop()
        kind = node.type
        field = "left" if kind in _TARGET_OWNERS else "name" if kind in _NAMED else None
        target = node.child_by_field_name(field) if field is not None else None
        if target is not None:
            bound.update(_target_names(target))
        if kind in _FUNCTIONS:
            if not node.start_byte <= cursor <= node.end_byte:
                continue
            parameters = node.child_by_field_name("parameters")
            if parameters is not None:
                bound.update(_parameter_names(parameters))
        elif kind in _NAME_LISTS:
            bound.update(_target_names(node))
        elif kind in ("import_statement", "import_from_statement"):
            if any(child.type == "wildcard_import" for child in node.named_children):
                return False
            bound.update(_imported_names(node))
            continue
        stack.extend(node.named_children)
    return True


def _parameter_names(parameters: Node) -> Iterator[str]:
    for parameter in parameters.named_children:
        if parameter.type == "identifier":
            yield node_text(parameter)
            continue
        name = parameter.child_by_field_name("name")
        if name is None:  # typed_parameter, *args, **kwargs: the first identifier
            name = next((c for c in parameter.named_children if c.type == "identifier"), None)
        if name is not None:
            yield node_text(name)


def _target_names(target: Node) -> Iterator[str]:
    """Names an assignment target binds (not ``obj.attr`` or ``items[i]``)."""
    stack = [target]
    while stack:
        node = stack.pop()
        if node.type == "identifier":
            yield node_text(node)
        elif node.type in _PATTERNS or node.type in _NAME_LISTS:
            stack.extend(reversed(node.named_children))


def _imported_names(node: Node) -> Iterator[str]:
    module = node.child_by_field_name("module_name")
    for child in node.named_children:
        if child == module:
            continue
        if child.type == "aliased_import":
            alias = child.child_by_field_name("alias")
            if alias is not None:
                yield node_text(alias)
        elif child.type == "dotted_name":
            first = child.named_children[0] if child.named_children else child
            yield node_text(first)


def _reads(function: Node, cursor: int) -> Iterator[Node]:
    """Identifiers after `cursor` in `function` that are read as variables, in order."""
    stack = [function.child_by_field_name("body") or function]
    while stack:
        node = stack.pop()
        if node.end_byte <= cursor:
            continue
        if node.type == "identifier":
            if node.start_byte >= cursor and _is_read(node):
                yield node
            continue
        if node.type in _FUNCTIONS or node.type == "class_definition":
            continue  # their own scopes
        stack.extend(reversed(node.named_children))


def _is_read(node: Node) -> bool:
    parent = node.parent
    if parent is None:
        return True
    if parent.type == "attribute" and parent.child_by_field_name("attribute") == node:
        return False
    if parent.type == "keyword_argument" and parent.child_by_field_name("name") == node:
        return False
    if parent.type == "augmented_assignment":
        return True  # ``total += x`` needs ``total`` bound before
    if parent.type in _TARGET_OWNERS:
        return parent.child_by_field_name("left") != node
    return parent.type not in _PATTERNS or not _inside_target(parent)


def _inside_target(node: Node) -> bool:
    """Whether a pattern node is (part of) the target of an assignment or a loop."""
    while node.parent is not None and node.type in _PATTERNS:
        parent = node.parent
        if parent.type in _TARGET_OWNERS:
            return parent.child_by_field_name("left") == node
        node = parent
    return False
