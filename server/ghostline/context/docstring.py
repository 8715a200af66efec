"""Context for explaining one definition: its source, what it calls, how it is used, its class.

Everything here is plain data gathered through a small ``Lookup`` protocol (the workspace
index implements it), so it runs without a server and is unit-tested with fakes. Gathering
can parse other files (call sites), so callers run it in a thread.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import chain, zip_longest
from pathlib import Path
from typing import Protocol

from ghostline.index.model import Definition, Import, Span, Usage

#: Kinds a summary is generated for; other kinds (variables, constants, fields) only show
#: what the index knows.
EXPLAINABLE_KINDS = frozenset(
    {"function", "method", "class", "struct", "interface", "trait", "enum"}
)
_CLASS_KINDS = frozenset({"class", "struct", "interface", "trait", "enum", "impl"})
_CALL = re.compile(r"(?<![\w$])([A-Za-z_$][\w$]*)\s*(?:!\s*)?\(")
_NOT_CALLEES = frozenset({
    "if", "for", "while", "switch", "catch", "return", "function", "func", "fn", "match",
    "elif", "and", "or", "not", "in", "is", "lambda", "with", "assert", "print", "sizeof",
    "typeof", "new", "await", "yield", "super", "self", "this", "defer", "go", "select",
    "case", "else", "try", "except", "raise", "throw", "def", "class", "struct", "impl",
    "where", "loop", "do",
})
MAX_SOURCE_LINES = 50
MAX_SOURCE_CHARS = 2000
MAX_CALLEES = 4
MAX_CALL_SITES = 2


class Lookup(Protocol):
    """What context gathering needs from the workspace (``WorkspaceIndex`` fits)."""

    def definitions(self, name: str) -> list[Definition]: ...

    def symbols(self, path: Path) -> list[Definition]: ...

    def imports(self, path: Path) -> list[Import]: ...

    def usages(
        self, name: str, limit: int = 50, *, per_file: int | None = None,
        include_definitions: bool = False,
    ) -> list[Usage]: ...


@dataclass(frozen=True)
class CallSite:
    path: Path
    line: int
    text: str


@dataclass
class DocstringContext:
    """The definition to explain and what helps explain it."""

    definition: Definition
    #: The definition's text as written (decorators included), dedented, maybe shortened.
    source: str
    callees: list[Definition] = field(default_factory=list)
    call_sites: list[CallSite] = field(default_factory=list)
    parent: Definition | None = None

    @property
    def language(self) -> str:
        return self.definition.language

    def docs_shown(self, callees: bool = True) -> list[str]:
        """Existing docstrings a prompt built from this context may show the model
        (base-model prompts leave callees' docstrings out: ``callees=False``)."""
        docs = [d.doc for d in self.callees if d.doc] if callees else []
        if self.parent is not None and self.parent.doc:
            docs.append(self.parent.doc)
        return docs


def span_text(text: str, span: Span) -> str:
    """The text of ``span`` in ``text`` (span columns are UTF-8 bytes), whole lines.

    Whole lines keep the first line's indentation, so the result dedents cleanly.
    """
    lines = text.splitlines(keepends=True)
    if span.start_line >= len(lines):
        return ""
    chunk = lines[span.start_line : span.end_line + 1]
    if span.end_line < len(lines) and chunk:
        last = chunk[-1].encode("utf-8")[: span.end_col].decode("utf-8", errors="ignore")
        if span.end_line > span.start_line or last:
            chunk[-1] = last
    return "".join(chunk).rstrip()


def definition_text(text: str, definition: Definition) -> str:
    """The exact text of the definition (the cache key is a hash of it)."""
    return span_text(text, definition.span)


def dedent(source: str) -> str:
    """Remove the common indentation, ignoring the first line's (it starts at the span)."""
    lines = source.split("\n")
    indents = [len(line) - len(line.lstrip()) for line in lines[1:] if line.strip()]
    first_indent = len(lines[0]) - len(lines[0].lstrip())
    common = min([first_indent, *indents]) if indents else first_indent
    return "\n".join(line[common:] if not line[:common].strip() else line.lstrip()
                     for line in lines)


def shorten(source: str) -> str:
    """At most ``MAX_SOURCE_LINES`` lines / ``MAX_SOURCE_CHARS`` characters of the head."""
    lines = source.split("\n")
    cut = False
    if len(lines) > MAX_SOURCE_LINES:
        lines, cut = lines[:MAX_SOURCE_LINES], True
    text = "\n".join(lines)
    if len(text) > MAX_SOURCE_CHARS:
        text, cut = text[:MAX_SOURCE_CHARS].rsplit("\n", 1)[0], True
    if cut:
        indent = re.match(r"\s*", lines[min(1, len(lines) - 1)])
        text += "\n" + (indent.group(0) if indent else "") + "..."
    return text


def called_names(source: str, own_name: str) -> list[str]:
    """Names the source calls, in order of first appearance (keywords left out)."""
    seen: dict[str, None] = {}
    for match in _CALL.finditer(source):
        name = match.group(1)
        if name != own_name and name not in _NOT_CALLEES and not name.isupper():
            seen.setdefault(name, None)
    return list(seen)


def resolve_callee(
    name: str, candidates: Sequence[Definition], target: Definition
) -> Definition | None:
    """The definition a call of ``name`` inside ``target`` most likely means."""
    usable = [c for c in candidates if c.kind in EXPLAINABLE_KINDS and c != target]
    if not usable:
        return None
    same_class = [c for c in usable if target.parent and c.parent == target.parent
                  and c.path == target.path]
    if same_class:
        return same_class[0]
    same_file = [c for c in usable if c.path == target.path]
    if same_file:
        return same_file[0]
    top_level = [c for c in usable if c.parent is None]
    if len(top_level) == 1:
        return top_level[0]
    return usable[0] if len(usable) == 1 else None


def find_parent(definition: Definition, siblings: Sequence[Definition]) -> Definition | None:
    """The class-like definition that contains ``definition`` in its file, if any."""
    if not definition.parent:
        return None
    for candidate in siblings:
        if candidate.qualified_name == definition.parent and candidate.kind in _CLASS_KINDS:
            return candidate
    for candidate in siblings:  # Go methods: the receiver type is declared apart
        if candidate.name == definition.parent.rpartition(".")[2] and \
                candidate.kind in _CLASS_KINDS:
            return candidate
    return None


def gather(definition: Definition, file_text: str, lookup: Lookup | None) -> DocstringContext:
    """Source, callees, call sites and class of ``definition`` (``file_text``: its file)."""
    source = shorten(dedent(definition_text(file_text, definition)))
    context = DocstringContext(definition=definition, source=source)
    if lookup is None:
        return context
    siblings = lookup.symbols(definition.path)
    context.parent = find_parent(definition, siblings)
    if definition.kind not in _CLASS_KINDS:
        for name in called_names(source, definition.name):
            callee = resolve_callee(name, lookup.definitions(name), definition)
            if callee is not None:
                context.callees.append(callee)
            if len(context.callees) >= MAX_CALLEES:
                break
    span = definition.span
    for usage in lookup.usages(definition.name, limit=MAX_CALL_SITES * 6, per_file=2):
        inside = usage.path == definition.path and span.start_line <= usage.line <= span.end_line
        line = usage.line_text.strip()
        if inside or not line or line.startswith(("import ", "from ", "use ", "#include")):
            continue
        if usage.path != definition.path and not any(
                imp.resolved == definition.path for imp in lookup.imports(usage.path)):
            continue  # the same name, but not this definition (`str.join` for `shlex.join`)
        context.call_sites.append(CallSite(usage.path, usage.line, line))
        if len(context.call_sites) >= MAX_CALL_SITES:
            break
    return context


def within_budget(context: DocstringContext, budget: int, count: Callable[[str], int], *,
                  with_docs: bool) -> DocstringContext:
    """`context` with the callees and call sites that fit in `budget` tokens, taken in turn
    (first callee, first call site, second callee, ...; each list is best first), so a long
    signature cannot crowd out every call site. A callee costs its signature (and the first
    paragraph of its docstring ``with_docs``), a call site its line."""
    def shown(item: Definition | CallSite) -> str:
        if isinstance(item, CallSite):
            return item.text
        doc = item.doc.split("\n\n")[0] if with_docs and item.doc else ""
        return f"{item.signature}\n{doc}" if doc else item.signature

    callees: list[Definition] = []
    call_sites: list[CallSite] = []
    used = 0
    turns = chain.from_iterable(zip_longest(context.callees, context.call_sites))
    for item in turns:
        if item is None:
            continue
        cost = count(shown(item))
        if used + cost > budget:
            continue
        used += cost
        if isinstance(item, CallSite):
            call_sites.append(item)
        else:
            callees.append(item)
    return dataclasses.replace(context, callees=callees, call_sites=call_sites)
