"""Context for test generation: the target, what it uses, and how the project writes tests.

Collected here: the target's source; the definitions it uses from its own file (classes it
constructs or takes, functions it calls: a short class in full, otherwise signature and
docstring), the source file's imports, the names a test may import from the source module,
the existing test file (its names, its pytest fixtures and conftest fixtures) and an example
of the project's own tests for a base model to imitate. What other files contribute
(definitions of the names the target uses, code that calls the target, recent edits) comes
from the context service that serves inline completion, under the test budget
(``testContextTokens``), and is passed in as ``cross_file``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path

from ghostline.index.conventions import declared_test_names
from ghostline.index.languages import spec_by_name
from ghostline.index.model import Definition, Import
from ghostline.index.parser import extract
from ghostline.index.testgen_imports import ImportNeed, existing_imports
from ghostline.index.testgen_locations import GenPlan, sample_tests
from ghostline.index.testgen_target import GenContext, Target

#: Definitions a test can target.
TARGET_KINDS = frozenset({"function", "method", "class", "struct", "constructor"})
_CONTAINERS = frozenset({"class", "struct", "interface", "trait", "enum", "impl", "namespace",
                         "module"})
_TARGET_LINES = 80
_RELATED_CHARS = 1600
_RELATED_ITEMS = 6
_SHORT_CLASS_LINES = 24
_EXAMPLE_CHARS = 1400
_FIXTURE = re.compile(r"@pytest\.fixture[^\n]*\n(?:@[^\n]*\n)*\s*(?:async\s+)?def\s+(\w+)")
_IDENTIFIER = re.compile(r"[A-Za-z_$][\w$]*")

ReadText = Callable[[Path], "str | None"]


def parse_definitions(text: str, path: Path, language: str, module: str = "") -> list[Definition]:
    """Definitions of ``text`` (used when the index has not seen the file)."""
    spec = spec_by_name(language)
    if spec is None:
        return []
    data = text.encode("utf-8")
    tree = spec.parser().parse(data)
    return extract(spec, tree, data, path, module).definitions


def find_target(
    definitions: list[Definition], line: int, byte_col: int, text: str
) -> Target | None:
    """The innermost testable definition at (line, byte column): a function, a method or a
    class that is not nested inside a function."""
    by_name = {d.qualified_name: d for d in definitions}
    best: Definition | None = None
    for definition in definitions:
        if definition.kind not in TARGET_KINDS or not definition.span.contains(line, byte_col):
            continue
        if not _reachable(definition, by_name):
            continue
        if best is None or _inside(definition, best):
            best = definition
    if best is None:
        return None
    parent = by_name.get(best.parent) if best.parent else None
    container = parent.name if parent is not None and parent.kind in _CONTAINERS else None
    if best.kind == "constructor" and container:
        return _as_target(parent, text, None) if parent is not None else None
    return _as_target(best, text, container)


def _reachable(definition: Definition, by_name: dict[str, Definition]) -> bool:
    """Not inside a function (closures cannot be imported by a test)."""
    parent = definition.parent
    while parent:
        outer = by_name.get(parent)
        if outer is None:
            return True
        if outer.kind not in _CONTAINERS:
            return False
        parent = outer.parent
    return True


def _inside(inner: Definition, outer: Definition) -> bool:
    a, b = inner.span, outer.span
    return (a.start_line, a.start_col) >= (b.start_line, b.start_col) and (
        a.end_line, a.end_col) <= (b.end_line, b.end_col)


def _as_target(definition: Definition, text: str, container: str | None) -> Target:
    return Target(
        name=definition.name,
        qualified_name=definition.qualified_name,
        kind=definition.kind,
        language=definition.language,
        path=definition.path,
        source=_span_text(text, definition, _TARGET_LINES),
        signature=definition.signature,
        doc=definition.doc,
        container=container,
        module=definition.module,
        first_line=definition.span.start_line,
        last_line=definition.span.end_line,
    )


def _span_text(text: str, definition: Definition, max_lines: int) -> str:
    lines = text.split("\n")[definition.span.start_line : definition.span.end_line + 1]
    if lines:
        lines[-1] = lines[-1][: definition.span.end_col] if len(lines) > 1 else lines[-1]
    start_indent = len(lines[0]) - len(lines[0].lstrip()) if lines else 0
    if start_indent:  # a method: show it dedented, like a top-level function
        lines = [line[start_indent:] if line[:start_indent].isspace() else line for line in lines]
    if len(lines) > max_lines:
        lines = [*lines[:max_lines], "    ..."]
    return "\n".join(lines).rstrip()


def build_context(
    target: Target,
    plan: GenPlan,
    source_text: str,
    definitions: list[Definition],
    read_text: ReadText,
    cross_file: Sequence[tuple[str, str]] = (),
) -> GenContext:
    """Everything the prompt needs, under fixed character budgets (``cross_file``: other
    files' code the context service chose, already within its token budget)."""
    context = GenContext(target=target, plan=plan, cross_file=list(cross_file))
    language = target.language
    source_imports = existing_imports(source_text, language) if spec_by_name(language) else []
    context.source_imports = _import_lines(source_text, source_imports)
    context.importable = _importable(target, plan, definitions, source_imports, source_text)
    context.related = _related(target, definitions, source_text)
    if plan.exists:
        existing = read_text(plan.path)
        context.existing_text = existing
        if existing is not None:
            context.existing_names = declared_test_names(_test_region(existing, plan), language)
    context.example = _example(plan, context.existing_text, read_text)
    if plan.framework == "pytest":
        context.fixtures = _fixtures(plan, context.existing_text, read_text)
    return context


def _test_region(text: str, plan: GenPlan) -> str:
    """For Rust, the part of the source from its test module on."""
    if plan.in_source:
        index = text.find("#[cfg(test)]")
        return text[index:] if index >= 0 else ""
    return text


def _import_lines(text: str, imports: list[Import]) -> str:
    lines = text.split("\n")
    wanted = sorted({i.line for i in imports})
    return "\n".join(lines[n] for n in wanted[:12] if n < len(lines))


def _importable(
    target: Target,
    plan: GenPlan,
    definitions: list[Definition],
    source_imports: list[Import],
    source_text: str,
) -> dict[str, ImportNeed]:
    """Names a test file may import, and how."""
    result: dict[str, ImportNeed] = {}
    language = target.language
    top_level = [d for d in definitions if d.parent is None and d.kind != "field"]
    if language == "python":
        for definition in top_level:
            result[definition.name] = ImportNeed(plan.import_from, (definition.name,))
        for imp in source_imports:
            module = _absolute_python_module(imp, plan.import_from)
            if not imp.names:
                local = imp.alias or imp.module.split(".")[0]
                result.setdefault(local, ImportNeed(imp.module if not imp.alias else module))
                continue
            for name in imp.names:
                if name.name != "*":
                    result.setdefault(name.local_name, ImportNeed(module, (name.name,)))
    elif language in ("javascript", "typescript", "tsx"):
        for definition in top_level:
            if _js_exported(definition, source_text):
                result[definition.name] = ImportNeed(plan.import_from, (definition.name,))
    return result


def _absolute_python_module(imp: Import, source_module: str) -> str:
    if imp.level == 0:
        return imp.module
    parts = source_module.split(".")
    base = parts[: max(0, len(parts) - imp.level)]
    return ".".join([*base, imp.module] if imp.module else base)


def _js_exported(definition: Definition, text: str) -> bool:
    lines = text.split("\n")
    first = lines[definition.span.start_line] if definition.span.start_line < len(lines) else ""
    if first.lstrip().startswith("export"):
        return True
    name = re.escape(definition.name)
    return bool(re.search(rf"export\s*(?:default\s+)?{{[^}}]*\b{name}\b", text)
                or re.search(rf"module\.exports(?:\.{name}\b|\s*=\s*{{[^}}]*\b{name}\b)", text)
                or re.search(rf"exports\.{name}\s*=", text))


def _related(target: Target, definitions: list[Definition], source_text: str) -> list[str]:
    """Short views of the definitions of the target's own file that it refers to, in the
    order it names them (other files' definitions come from the context service)."""
    names = list(dict.fromkeys(_IDENTIFIER.findall(target.source)))
    local = {d.name: d for d in definitions if d.parent is None or d.kind in _CONTAINERS}
    snippets: list[str] = []
    seen: set[str] = {target.qualified_name}
    used = 0
    wanted: list[str] = [target.container] if target.container else []
    wanted.extend(n for n in names if n != target.name and n not in wanted)
    for name in wanted:
        if len(snippets) >= _RELATED_ITEMS or used >= _RELATED_CHARS:
            break
        definition = local.get(name)
        if definition is None or definition.qualified_name in seen:
            continue
        if definition.kind in ("variable", "field", "constant") and name != target.container:
            continue
        seen.add(definition.qualified_name)
        snippet = _view(definition, source_text, definitions)
        if snippet and used + len(snippet) <= _RELATED_CHARS + 400:
            snippets.append(snippet)
            used += len(snippet)
    return snippets


def _view(definition: Definition, text: str, definitions: list[Definition] | None) -> str:
    """A short class in full; a long class as header, docstring and constructor; a
    function as signature and docstring."""
    span = definition.span
    if definition.kind in _CONTAINERS or definition.kind == "class":
        if span.end_line - span.start_line < _SHORT_CLASS_LINES:
            return _span_text(text, definition, _SHORT_CLASS_LINES)
        members = [d for d in (definitions or []) if d.parent == definition.qualified_name]
        constructor = next((d for d in members if d.name in ("__init__", "constructor")
                            or d.kind == "constructor"), None)
        lines = text.split("\n")
        header = lines[span.start_line].rstrip()
        parts = [header]
        if definition.doc:
            parts.append(f'    """{definition.doc.strip()[:300]}"""')
        if constructor is not None:
            body = _span_text(text, constructor, 12)
            parts.extend("    " + line for line in body.split("\n"))
        for member in members:
            if member is not constructor and member.kind in ("method", "function"):
                parts.append(f"    {member.signature}")
        return "\n".join(parts)
    signature = definition.signature or _span_text(text, definition, 1)
    if definition.doc:
        return f"{signature}\n    {_doc_comment(definition)}"
    return signature


def _doc_comment(definition: Definition) -> str:
    doc = " ".join(definition.doc.split())[:240]
    if definition.language == "python":
        return f'"""{doc}"""'
    return f"// {doc}"


def _example(plan: GenPlan, existing: str | None, read_text: ReadText) -> str:
    """Some of the project's own tests to imitate: the test file, else a neighbour."""
    if existing is not None and existing.strip():
        text = _test_region(existing, plan)
        if text.strip():
            return _trim_example(text)
    if plan.in_source:
        return ""
    suffixes = (plan.path.suffix,) if plan.path.suffix else ()
    folder = plan.path.parent if plan.path.parent.is_dir() else (plan.project_root or plan.path)
    for candidate in sample_tests(folder, suffixes, 3):
        sample = read_text(candidate)
        if sample and sample.strip():
            return _trim_example(sample)
    return ""


def _trim_example(text: str) -> str:
    """The file's start, cut after a complete top-level block, within the budget."""
    if len(text) <= _EXAMPLE_CHARS:
        return text.rstrip()
    cut = text[:_EXAMPLE_CHARS]
    boundary = max(cut.rfind("\n\n\n"), cut.rfind("\n}\n"), cut.rfind("\n});\n"))
    if boundary > len(cut) // 3:
        end = boundary + (2 if cut.startswith("\n}", boundary) else 0)
        end = boundary + 3 if cut.startswith("\n});", boundary) else end
        return cut[:end].rstrip()
    return cut[: cut.rfind("\n")].rstrip()


def _fixtures(plan: GenPlan, existing: str | None, read_text: ReadText) -> list[str]:
    """pytest fixtures visible to the test file: its own and those of conftest.py files."""
    found: list[str] = []
    if existing:
        found.extend(_FIXTURE.findall(existing))
    folder = plan.path.parent
    stop = plan.project_root
    for _ in range(8):
        conftest = read_text(folder / "conftest.py")
        if conftest:
            found.extend(_FIXTURE.findall(conftest))
        if folder == stop or folder.parent == folder:
            break
        folder = folder.parent
    return list(dict.fromkeys(found))
