"""Members of the receiver at the cursor: what may follow ``receiver.``.

The index knows which classes the workspace defines and what they contain. When the text
before the cursor ends with ``receiver.`` (or ``receiver.par``) and the receiver's type can
be found (``self``/``this``/``cls``; a parameter or variable annotation; an assignment from a
constructor call; ``self.attr`` assigned in the class; a module imported under a name; a
class itself), the names that type really has are returned, so decoding can prefer them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ghostline.index.languages import spec_for_path
from ghostline.index.model import Definition, Import
from ghostline.index.parser import extract

_RECEIVER = re.compile(
    r"(?<![\w$.])((?:[A-Za-z_$][\w$]*\.)*[A-Za-z_$][\w$]*)\.([A-Za-z_$][\w$]*)?$"
)
_CLASS_KINDS = frozenset({"class", "struct", "interface", "trait", "enum", "type"})
_MEMBER_KINDS = frozenset({"method", "function", "property", "field", "constant", "variable",
                           "constructor", "class", "getter", "setter"})
_SELF_NAMES = frozenset({"self", "this", "cls"})
_TYPE_WORD = re.compile(r"[A-Za-z_$][\w$]*")
_TYPE_NOISE = frozenset({"Optional", "Union", "None", "null", "undefined", "Readonly", "Partial",
                         "typing", "t", "Type", "type", "Final", "ClassVar", "Annotated"})
MAX_BASE_DEPTH = 3
MAX_MEMBERS = 200


class IndexView(Protocol):
    """The part of `WorkspaceIndex` used here."""

    def definitions(self, name: str) -> list[Definition]: ...

    def symbols(self, path: Path) -> list[Definition]: ...

    def imports(self, path: Path) -> list[Import]: ...

    def file_text(self, path: Path) -> str | None: ...


@dataclass(frozen=True)
class MemberAccess:
    """``receiver.partial`` right before the cursor."""

    receiver: str
    partial: str


def member_access(line_prefix: str) -> MemberAccess | None:
    """The receiver chain and the typed part of the member, if the cursor follows a dot."""
    match = _RECEIVER.search(line_prefix)
    if match is None:
        return None
    before = line_prefix[: match.start()].rstrip()
    if before.endswith(("import", "from")):  # ``from pkg.`` is a module path, not a member
        return None
    return MemberAccess(match.group(1), match.group(2) or "")


def receiver_members(index: IndexView, path: Path, visible: str) -> list[str] | None:
    """Member names that may follow the cursor at the end of `visible` (text up to the
    cursor), with the already typed part removed; None when the receiver is unknown."""
    line_prefix = visible[visible.rfind("\n") + 1 :]
    access = member_access(line_prefix)
    if access is None:
        return None
    cursor_line = visible.count("\n")
    names = _resolve_chain(index, path, visible, cursor_line, access.receiver.split("."))
    if names is None:
        return None
    partial = access.partial
    own = access.receiver in _SELF_NAMES  # inside the class itself: private names too
    wanted = [
        n[len(partial):] for n in names
        if n.startswith(partial) and n != partial
        and (own or partial.startswith("_") or not n.startswith("_"))
    ]
    return wanted or None


def receiver_class(index: IndexView, path: Path, visible: str) -> Definition | None:
    """The class of the receiver before the cursor (``self.``, ``user.``, ``self.repo.``),
    if the cursor follows a dot and the index knows it."""
    line_prefix = visible[visible.rfind("\n") + 1 :]
    access = member_access(line_prefix)
    if access is None:
        return None
    chain = access.receiver.split(".")
    cursor_line = visible.count("\n")
    if _module_members(index, path, chain[0], cursor_line) is not None:
        return None
    cls = _type_of_name(index, path, visible, cursor_line, chain[0])
    for attribute in chain[1:]:
        if cls is None:
            return None
        cls = _attribute_type(index, cls, attribute)
    return cls


def _resolve_chain(index: IndexView, path: Path, visible: str, cursor_line: int,
                   chain: list[str]) -> list[str] | None:
    head, rest = chain[0], chain[1:]
    module_members = _module_members(index, path, head, cursor_line)
    if module_members is not None:
        if not rest:
            return module_members[0]
        cls = _class_in(index, module_members[1], rest[0])
        return _members(index, cls) if cls is not None and len(rest) == 1 else None
    cls = _type_of_name(index, path, visible, cursor_line, head)
    for attribute in rest:
        if cls is None:
            return None
        cls = _attribute_type(index, cls, attribute)
    return _members(index, cls) if cls is not None else None


def _module_members(index: IndexView, path: Path, name: str,
                    cursor_line: int) -> tuple[list[str], Path] | None:
    """Top-level names of a workspace module imported as `name`."""
    for imp in index.imports(path):
        if imp.resolved is None or imp.line > cursor_line:
            continue
        if imp.names:
            # ``from pkg import mod [as m]``: a module only if the import resolves to its file
            if not any(n.local_name == name and is_module_file(imp.resolved, n.name)
                       for n in imp.names):
                continue
        elif imp.alias != name:
            continue
        top = [d.name for d in index.symbols(imp.resolved) if d.parent is None]
        return _unique(top), imp.resolved
    return None


def is_module_file(resolved: Path, name: str) -> bool:
    """Whether `resolved` is the module file of `name` (``name.py``, ``name/__init__.py``)."""
    return resolved.stem == name or (resolved.stem == "__init__" and resolved.parent.name == name)


def _class_in(index: IndexView, module: Path, name: str) -> Definition | None:
    for definition in index.symbols(module):
        if definition.name == name and definition.kind in _CLASS_KINDS:
            return definition
    return None


def _type_of_name(index: IndexView, path: Path, visible: str, cursor_line: int,
                  name: str) -> Definition | None:
    if name in _SELF_NAMES:
        return _enclosing_class(index, path, cursor_line) or \
            _enclosing_class_closed(path, visible, cursor_line)
    as_class = _find_class(index, path, name)
    annotated = _annotated_type(visible, name)
    if annotated is not None:
        return _find_class(index, path, annotated)
    return as_class


def _annotated_type(text: str, name: str) -> str | None:
    """The type named by the last annotation or constructor assignment of `name`."""
    escaped = re.escape(name)
    patterns = (
        rf"(?<![\w$.]){escaped}\??\s*:\s*([^=,)\n;{{]+)",  # x: Foo / (x: Foo, ...)
        rf"(?<![\w$.]){escaped}\s*(?::[^=\n]*)?=\s*(?:new\s+|await\s+)?([A-Za-z_$][\w$.]*)\s*[(<]",
    )
    best: tuple[int, str] | None = None
    for pattern in patterns:
        for match in re.finditer(pattern, text):
            if best is None or match.start() > best[0]:
                best = (match.start(), match.group(1))
    if best is None:
        return None
    for word in _TYPE_WORD.findall(best[1]):
        if word not in _TYPE_NOISE:
            return word.rsplit(".", 1)[-1]
    return None


def _enclosing_class(index: IndexView, path: Path, line: int) -> Definition | None:
    best: Definition | None = None
    for definition in index.symbols(path):
        span = definition.span
        if definition.kind in _CLASS_KINDS and span.start_line <= line <= span.end_line:
            best = definition
    return best


def _enclosing_class_closed(path: Path, visible: str, line: int) -> Definition | None:
    """The class around the cursor when the text ends inside it unfinished (a brace
    language's parser loses the class then): the text is parsed again with its open braces
    closed. The class's members come along as `_Closed` definitions."""
    spec = spec_for_path(str(path))
    if spec is None or spec.line_comment != "//":
        return None
    depth = max(0, visible.count("{") - visible.count("}"))
    if not depth:
        return None
    closed = visible + ";\n" + "}\n" * depth
    data = closed.encode("utf-8")
    facts = extract(spec, spec.parser().parse(data), data, path, "")
    best: Definition | None = None
    for definition in facts.definitions:
        span = definition.span
        if definition.kind in _CLASS_KINDS and span.start_line <= line <= span.end_line:
            best = definition
    if best is None:
        return None
    _CLOSED[str(path)] = (closed, facts.definitions)
    return best


#: The re-parsed definitions of the last closed parse per file (see `_enclosing_class_closed`).
_CLOSED: dict[str, tuple[str, list[Definition]]] = {}


def _find_class(index: IndexView, path: Path, name: str) -> Definition | None:
    """The class `name` as seen from `path`: its own, then an imported one, then any."""
    candidates = [d for d in index.definitions(name) if d.kind in _CLASS_KINDS]
    if not candidates:
        return None
    for definition in candidates:
        if definition.path == path:
            return definition
    imported = {imp.resolved for imp in index.imports(path) if imp.resolved is not None}
    for definition in candidates:
        if definition.path in imported:
            return definition
    return candidates[0] if len(candidates) == 1 else None


def _members(index: IndexView, cls: Definition, depth: int = 0) -> list[str]:
    closed = _CLOSED.get(str(cls.path))
    symbols = closed[1] if closed is not None and cls in closed[1] else index.symbols(cls.path)
    names = [d.name for d in symbols
             if d.parent == cls.qualified_name and d.kind in _MEMBER_KINDS
             and d.name not in ("constructor", "__init__")]
    text = index.file_text(cls.path) or ""
    names.extend(_attributes(text, cls))
    if depth < MAX_BASE_DEPTH:
        for base in _bases(cls.signature):
            base_cls = _find_class(index, cls.path, base)
            if base_cls is not None and base_cls != cls:
                names.extend(_members(index, base_cls, depth + 1))
    return _unique(names)[:MAX_MEMBERS]


def _attributes(text: str, cls: Definition) -> list[str]:
    """Attributes assigned in the class body: ``self.x = …`` (Python), ``this.x = …`` and
    constructor parameter properties (TypeScript)."""
    lines = text.split("\n")[cls.span.start_line : cls.span.end_line + 1]
    body = "\n".join(lines)
    found = re.findall(r"(?:self|this)\.([A-Za-z_$][\w$]*)\s*(?::[^=\n]*)?=(?!=)", body)
    found += re.findall(r"(?:private|public|protected|readonly)\s+(?:readonly\s+)?"
                        r"([A-Za-z_$][\w$]*)\s*[?:]", body)
    return found


def _attribute_type(index: IndexView, cls: Definition, attribute: str) -> Definition | None:
    text = index.file_text(cls.path) or ""
    lines = text.split("\n")[cls.span.start_line : cls.span.end_line + 1]
    body = "\n".join(lines)
    for receiver in ("self", "this", ""):
        name = f"{receiver}.{attribute}" if receiver else attribute
        found = _annotated_type(body, name)
        if found is not None:
            return _find_class(index, cls.path, found)
    return None


def _bases(signature: str) -> list[str]:
    """Base class names from a class header (``class A(B, C)``, ``extends B implements C``)."""
    bases: list[str] = []
    python = re.match(r"\s*class\s+[\w$]+\s*(?:\[[^\]]*\])?\s*\(([^)]*)\)", signature)
    if python:
        for part in python.group(1).split(","):
            word = part.strip().split("[")[0].rsplit(".", 1)[-1]
            if word and "=" not in part and word.isidentifier():
                bases.append(word)
    for keyword in ("extends", "implements"):
        for match in re.finditer(rf"\b{keyword}\s+([^{{]+)", signature):
            for part in match.group(1).split(","):
                word = _TYPE_WORD.match(part.strip())
                if word and word.group(0) not in ("extends", "implements"):
                    bases.append(word.group(0))
    return bases


def _unique(names: list[str]) -> list[str]:
    return list(dict.fromkeys(n for n in names if n))
