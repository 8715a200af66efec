"""Turn one captured import node into ``Import`` records, per language.

Only the syntax is read here; which workspace file an import refers to is decided later by
``resolve.py``, because that depends on the other files in the workspace.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import tree_sitter

from ghostline.index.model import Import, ImportedName
from ghostline.index.node_text import node_text

Reader = Callable[[tree_sitter.Node, Path], list[Import]]


def read_import(language: str, node: tree_sitter.Node, path: Path) -> list[Import]:
    """The imports written in ``node`` (one statement may import several modules)."""
    reader = _READERS.get(language)
    return reader(node, path) if reader is not None else []


def _string_value(node: tree_sitter.Node | None) -> str:
    """The contents of a string literal, without quotes."""
    return node_text(node).strip().strip("\"'`<>")


# --- Python -----------------------------------------------------------------------------


def _python_name(node: tree_sitter.Node) -> ImportedName:
    if node.type == "aliased_import":
        return ImportedName(
            node_text(node.child_by_field_name("name")),
            node_text(node.child_by_field_name("alias")) or None,
        )
    return ImportedName(node_text(node))


def _python(node: tree_sitter.Node, path: Path) -> list[Import]:
    line = node.start_point.row
    if node.type == "import_statement":
        result = []
        for child in node.children_by_field_name("name"):
            name = _python_name(child)
            result.append(Import(path, name.name, alias=name.alias, line=line))
        return result
    names = tuple(_python_name(c) for c in node.children_by_field_name("name"))
    if any(c.type == "wildcard_import" for c in node.named_children):
        names = (ImportedName("*"),)
    if node.type == "future_import_statement":
        return [Import(path, "__future__", names, line=line)]
    module_node = node.child_by_field_name("module_name")
    level = 0
    module = node_text(module_node)
    if module_node is not None and module_node.type == "relative_import":
        prefix = next((c for c in module_node.children if c.type == "import_prefix"), None)
        level = len(node_text(prefix))
        dotted = next((c for c in module_node.children if c.type == "dotted_name"), None)
        module = node_text(dotted)
    return [Import(path, module, names, level=level, line=line)]


# --- JavaScript / TypeScript ------------------------------------------------------------


def _js(node: tree_sitter.Node, path: Path) -> list[Import]:
    line = node.start_point.row
    if node.type == "call_expression":
        return [_js_require(node, path)]
    source = node.child_by_field_name("source")
    names: list[ImportedName] = []
    alias: str | None = None
    for child in node.named_children:
        if child.type == "import_require_clause":
            alias = node_text(child.named_children[0]) if child.named_children else None
            source = child.child_by_field_name("source")
        elif child.type == "import_clause":
            for part in child.named_children:
                if part.type == "identifier":
                    names.append(ImportedName("default", node_text(part)))
                elif part.type == "namespace_import":
                    alias = node_text(part.named_children[0]) if part.named_children else None
                elif part.type == "named_imports":
                    names.extend(_js_specifiers(part))
        elif child.type == "export_clause":
            names.extend(_js_specifiers(child))
        elif child.type == "namespace_export":
            alias = node_text(child.named_children[0]) if child.named_children else None
    if node.type == "export_statement" and not names and alias is None:
        names.append(ImportedName("*"))
    return [Import(path, _string_value(source), tuple(names), alias=alias, line=line)]


def _js_specifiers(node: tree_sitter.Node) -> list[ImportedName]:
    result = []
    for spec in node.named_children:
        if spec.type in ("import_specifier", "export_specifier"):
            name = node_text(spec.child_by_field_name("name"))
            alias = node_text(spec.child_by_field_name("alias")) or None
            result.append(ImportedName(name, alias))
    return result


def _js_require(call: tree_sitter.Node, path: Path) -> Import:
    arguments = call.child_by_field_name("arguments")
    module = _string_value(arguments.named_children[0]) if arguments is not None else ""
    names: list[ImportedName] = []
    alias: str | None = None
    parent = call.parent
    if parent is not None and parent.type == "variable_declarator":
        target = parent.child_by_field_name("name")
        if target is not None and target.type == "identifier":
            alias = node_text(target)
        elif target is not None and target.type == "object_pattern":
            for part in target.named_children:
                if part.type == "shorthand_property_identifier_pattern":
                    names.append(ImportedName(node_text(part)))
                elif part.type == "pair_pattern":
                    key = node_text(part.child_by_field_name("key"))
                    value = node_text(part.child_by_field_name("value"))
                    names.append(ImportedName(key, value if value != key else None))
    return Import(path, module, tuple(names), alias=alias, line=call.start_point.row)


# --- Go ---------------------------------------------------------------------------------


def _go(node: tree_sitter.Node, path: Path) -> list[Import]:
    alias = node_text(node.child_by_field_name("name")) or None
    module = _string_value(node.child_by_field_name("path"))
    return [Import(path, module, alias=alias, line=node.start_point.row)]


# --- Rust -------------------------------------------------------------------------------


def _rust(node: tree_sitter.Node, path: Path) -> list[Import]:
    line = node.start_point.row
    if node.type == "mod_item":
        return [Import(path, node_text(node.child_by_field_name("name")), line=line)]
    if node.type == "extern_crate_declaration":
        name = node_text(node.child_by_field_name("name"))
        alias = node_text(node.child_by_field_name("alias")) or None
        return [Import(path, name, alias=alias, line=line)]
    argument = node.child_by_field_name("argument")
    if argument is None:
        return []
    return [
        Import(path, module, names, alias=alias, line=line)
        for module, names, alias in _rust_use(argument, "")
    ]


def _rust_use(
    node: tree_sitter.Node, prefix: str
) -> list[tuple[str, tuple[ImportedName, ...], str | None]]:
    """(module, names, module alias) triples of one ``use`` tree."""

    def join(*parts: str) -> str:
        return "::".join(p for p in parts if p)

    kind = node.type
    if kind == "scoped_use_list":
        base = join(prefix, node_text(node.child_by_field_name("path")))
        names: list[ImportedName] = []
        result: list[tuple[str, tuple[ImportedName, ...], str | None]] = []
        use_list = node.child_by_field_name("list")
        for item in use_list.named_children if use_list is not None else []:
            if item.type in ("identifier", "self", "super", "crate"):
                names.append(ImportedName(node_text(item)))
            elif item.type == "use_as_clause":
                names.append(
                    ImportedName(
                        node_text(item.child_by_field_name("path")),
                        node_text(item.child_by_field_name("alias")) or None,
                    )
                )
            else:
                result.extend(_rust_use(item, base))
        if names:
            result.insert(0, (base, tuple(names), None))
        return result
    if kind == "use_list":
        out: list[tuple[str, tuple[ImportedName, ...], str | None]] = []
        for item in node.named_children:
            out.extend(_rust_use(item, prefix))
        return out
    if kind == "use_as_clause":
        full = join(prefix, node_text(node.child_by_field_name("path")))
        alias = node_text(node.child_by_field_name("alias")) or None
        module, _, name = full.rpartition("::")
        if not module:
            return [(name, (), alias)]
        return [(module, (ImportedName(name, alias),), None)]
    if kind == "use_wildcard":
        inner = node.named_children[0] if node.named_children else None
        return [(join(prefix, node_text(inner)), (ImportedName("*"),), None)]
    full = join(prefix, node_text(node))
    module, _, name = full.rpartition("::")
    if not module:
        return [(name, (), None)]
    return [(module, (ImportedName(name),), None)]


# --- Java -------------------------------------------------------------------------------


def _java(node: tree_sitter.Node, path: Path) -> list[Import]:
    target = next(
        (c for c in node.named_children if c.type in ("scoped_identifier", "identifier")), None
    )
    full = node_text(target)
    line = node.start_point.row
    if any(c.type == "asterisk" for c in node.named_children):
        return [Import(path, full, (ImportedName("*"),), line=line)]
    module, _, name = full.rpartition(".")
    return [Import(path, module, (ImportedName(name),), line=line)]


# --- C / C++ ----------------------------------------------------------------------------


def _c(node: tree_sitter.Node, path: Path) -> list[Import]:
    target = node.child_by_field_name("path")
    if target is None:
        return []
    return [Import(path, _string_value(target), line=node.start_point.row)]


_READERS: dict[str, Reader] = {
    "python": _python,
    "javascript": _js,
    "typescript": _js,
    "tsx": _js,
    "go": _go,
    "rust": _rust,
    "java": _java,
    "c": _c,
    "cpp": _c,
}
