"""Writing generated tests into the test file: the imports they need and the insertions.

A new file gets its package clause, its imports and the frame around the tests; an existing
one gets the missing imports merged and the tests added where its framework wants them
(Rust: inside the ``#[cfg(test)]`` module; Java: before the class's closing brace; unittest:
above the ``__main__`` guard; otherwise at the end). Existing lines are never rewritten.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ghostline.features.testgen import GenError, Unit
from ghostline.index.testgen_imports import ImportNeed, Insertion, apply_insertions, merge_imports
from ghostline.index.testgen_locations import GenPlan
from ghostline.index.testgen_target import GenContext
from ghostline.postprocess.testgen_output import python_names, stdlib_module, syntax_errors
from ghostline.prompts.testgen import GenStyle, header_for_new_file

_VITEST_GLOBALS = ("describe", "it", "test", "expect", "vi", "beforeEach", "afterEach")
_GO_STD = ("fmt", "strings", "reflect", "errors", "math", "sort", "strconv", "bytes", "time",
           "os", "slices", "maps")
_JAVA_UTIL = ("List", "Arrays", "Map", "HashMap", "ArrayList", "Set", "HashSet", "Optional")


@dataclass
class FileEdit:
    """``insertions`` into ``base_text`` (the test file as read; None when it is new), giving
    ``new_text``."""

    base_text: str | None
    insertions: list[Insertion]
    new_text: str


def needs_of_target(context: GenContext) -> list[ImportNeed]:
    """The import that brings the target into the test file (none where the test file
    sits in its package)."""
    target, plan = context.target, context.plan
    if plan.language == "python":
        return [ImportNeed(plan.import_from, (target.importable_name,))]
    if plan.language in ("javascript", "typescript", "tsx"):
        name = target.importable_name
        if name not in context.importable:
            raise GenError(
                f"{name} is not exported from {target.path.name}; export it to test it")
        return [ImportNeed(plan.import_from, (name,))]
    return []


def import_needs(
    context: GenContext, style: GenStyle, target_needs: list[ImportNeed],
    code: str,
) -> list[ImportNeed]:
    """The imports `code` (the new tests) needs: the framework's, the target's, and the
    names it uses that the source or the standard library define."""
    language = style.language
    needs: list[ImportNeed] = []
    for need in style.needs:
        if language in ("javascript", "typescript", "tsx") and need.names:
            used = tuple(n for n in need.names if re.search(rf"\b{n}\s*\(", code))
            if used:
                needs.append(ImportNeed(need.module, used))
        elif need.default and not re.search(rf"\b{need.default}\b", code):
            continue
        else:
            needs.append(need)
    needs.extend(target_needs)
    if language == "python":
        known = set(context.fixtures) | {"self"}
        if context.existing_text:
            known.update(python_top_level_names(context.existing_text))
        for name in python_names(code, known, context.fixtures).undefined:
            if name in context.importable:
                needs.append(context.importable[name])
            elif stdlib_module(name) or name in ("pytest", "unittest"):
                needs.append(ImportNeed(name))
    elif language in ("javascript", "typescript", "tsx"):
        if style.framework == "vitest" or (
            style.framework == "jest" and "@jest/globals" in (context.existing_text or "")
        ):
            module = "vitest" if style.framework == "vitest" else "@jest/globals"
            used = tuple(g for g in _VITEST_GLOBALS if re.search(rf"\b{g}\s*[(.]", code))
            needs.insert(0, ImportNeed(module, used))
        for name, need in context.importable.items():
            if re.search(rf"(?<![\w$.]){re.escape(name)}(?![\w$])", code):
                needs.append(need)
    elif language == "go":
        needs.extend(ImportNeed(p) for p in _GO_STD if re.search(rf"\b{p}\.", code))
    elif language == "java":
        needs.extend(ImportNeed("java.util", (n,)) for n in _JAVA_UTIL
                     if re.search(rf"\b{n}\b", code))
    return needs


def file_edit(
    context: GenContext, style: GenStyle, target_needs: list[ImportNeed], units: list[Unit],
    source_text: str,
) -> FileEdit:
    """``units`` written into the test file (into ``source_text`` for tests that live in the
    source, as Rust's do) with the imports they need. GenError when the result does not
    parse and the file as read did."""
    plan = context.plan
    body = style.separator.join(u.text for u in units)
    needs = import_needs(context, style, target_needs, style.frame.open + body)
    base = context.existing_text if plan.exists else None
    if plan.in_source:
        base = source_text
    if base is None:
        header = package_clause(plan) + header_for_new_file(style, needs)
        gap = "\n\n" if style.language == "python" else "\n"
        text = (header + gap if header else "") + style.frame.open + body + "\n"
        text += style.frame.close
        insertions = [Insertion(0, 0, text)]
        new_text = text
    else:
        insertions = _append(base, style, needs, body)
        new_text = apply_insertions(base, insertions)
    errors = syntax_errors(new_text, style.language)
    if errors and (base is None or not syntax_errors(base, style.language)):
        raise GenError(f"the assembled test file does not parse ({errors[0]})")
    return FileEdit(base, insertions, new_text)


def package_clause(plan: GenPlan) -> str:
    """What a new Go or Java test file starts with: its package."""
    if plan.language == "go":
        return f"package {plan.import_from}\n\n"
    if plan.language == "java" and plan.import_from:
        return f"package {plan.import_from};\n\n"
    return ""

def _append(base: str, style: GenStyle, needs: list[ImportNeed], body: str) -> list[Insertion]:
    """Insertions adding ``body`` (the new units) and the missing imports to ``base``."""
    language = style.language
    lines = base.split("\n")
    end_line = len(lines) - 1
    end_col = len(lines[-1])
    if language == "rust":
        return _append_rust(base, style, needs, body)
    if language == "java":
        closing = _last_closing_brace(lines)
        if closing is not None:
            insertions = merge_imports(base, needs, language)
            return [*insertions, Insertion(closing, 0, "\n" + body + "\n")]
    insertions = merge_imports(base, needs, language)
    block = style.frame.open + body + "\n" + style.frame.close
    if not block.endswith("\n"):
        block += "\n"
    if style.framework == "unittest":
        main = _python_main_guard(lines)
        if main is not None:
            return [*insertions, Insertion(main, 0, block + "\n\n")]
    gap = style.separator
    lead = ("" if base.endswith("\n") or not base else "\n")
    stripped = base.rstrip("\n")
    trailing_newlines = len(base) - len(stripped)
    gap = "\n" * max(0, gap.count("\n") - trailing_newlines) if stripped else ""
    return [*insertions, Insertion(end_line, end_col, lead + gap + block)]


def _append_rust(base: str, style: GenStyle, needs: list[ImportNeed], body: str
                 ) -> list[Insertion]:
    lines = base.split("\n")
    start = next((i for i, line in enumerate(lines) if line.strip() == "#[cfg(test)]"), None)
    if start is not None:
        closing = None
        for index in range(start + 1, len(lines)):
            if lines[index].rstrip() == "}":
                closing = index
                break
        if closing is not None:
            uses = [i for i in range(start, closing) if lines[i].strip().startswith("use ")]
            anchor = uses[-1] if uses else start + 1
            insertions = merge_imports("\n".join(lines[start:closing]), needs, "rust",
                                       anchor_line=anchor - start)
            shifted = [Insertion(i.line + start, i.column, i.text) for i in insertions]
            return [*shifted, Insertion(closing, 0, "\n" + body + "\n")]
    lead = "" if base.endswith("\n") else "\n"
    block = style.frame.open + body + "\n" + style.frame.close
    lines_end = len(lines) - 1
    return [Insertion(lines_end, len(lines[-1]), lead + "\n" + block)]


def _last_closing_brace(lines: list[str]) -> int | None:
    for index in range(len(lines) - 1, -1, -1):
        if lines[index].rstrip() == "}":
            return index
    return None


def _python_main_guard(lines: list[str]) -> int | None:
    for index, line in enumerate(lines):
        if line.startswith("if __name__"):
            return index
    return None

def python_top_level_names(text: str) -> set[str]:
    """Names a Python file defines or imports at its top level."""
    names = set(re.findall(r"^(?:async\s+)?(?:def|class)\s+(\w+)", text, re.M))
    names.update(re.findall(r"^(\w+)\s*(?::[^=\n]*)?=", text, re.M))
    names.update(re.findall(r"^import\s+(\w+)", text, re.M))
    for match in re.finditer(r"^from\s+\S+\s+import\s+\(?([^)\n]*(?:\n[^)\n]*)*?)\)?$", text,
                             re.M):
        for part in match.group(1).split(","):
            part = part.strip()
            if part:
                names.add(part.split(" as ")[-1].strip())
    for match in re.finditer(r"^import\s+[\w.]+\s+as\s+(\w+)", text, re.M):
        names.add(match.group(1))
    return names
