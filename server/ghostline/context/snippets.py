"""Snippets as the prompt shows them: uses of a name with the line above, definition
headers and class outlines, the current file's imports on one line each; deduplication
against the local window and between snippets; prompt order."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path

from ghostline.context.budget import Snippet
from ghostline.context.names import IMPORT_LINE, IndexView
from ghostline.index.model import Definition, Usage

USAGES_PER_NAME = 3
#: Share of a name's score each further use of it loses: with many names at hand (a file's
#: imports not used yet) the first use of each goes in before the second use of any.
USAGE_RANK_DECAY = 0.4
#: Score bonus per character a use shares with the text before the cursor (capped).
AFFINITY_WEIGHT = 0.1
AFFINITY_CAP = 12
MAX_OUTLINE_MEMBERS = 10
CLASS_KINDS = frozenset({"class", "struct", "interface", "trait", "enum", "type"})
_CALLABLE_KINDS = frozenset({"function", "method", "constructor"})


def _distance(a: Path, b: Path) -> tuple[int, int]:
    """How far apart two files are: test and non-test files apart, then folders apart."""
    testish = (_is_test(a) != _is_test(b))
    common = len(os.path.commonpath([a.parent, b.parent]).split(os.sep))
    return int(testish), -common


def _is_test(path: Path) -> bool:
    name = path.name
    return name.startswith("test_") or ".test." in name or ".spec." in name or \
        "tests" in path.parts or "test" in path.parts


def left_context(previous: str, before: str) -> str:
    """The text before a position: the nearest non-blank line above and the line up to the
    position, indentation aside (what a continuation line such as ``    a, b`` follows)."""
    return previous.strip() + "\n" + before.lstrip()


def _shared_suffix(a: str, b: str) -> int:
    shared = 0
    while shared < min(len(a), len(b)) and a[len(a) - 1 - shared] == b[len(b) - 1 - shared]:
        shared += 1
    return shared


def _usage_left(usage: Usage, lines: Sequence[str]) -> str:
    before = usage.line_text.encode("utf-8")[: usage.col].decode("utf-8", "replace")
    previous = next((lines[n] for n in range(usage.line - 1, max(usage.line - 4, -1), -1)
                     if n < len(lines) and lines[n].strip()), "")
    return left_context(previous, before)


def usage_snippets(index: IndexView, name: str, score: float, current: str,
                   definitions: list[Definition], usages: Callable[[str], Sequence[Usage]],
                   left: str = "") -> list[Snippet]:
    """A few uses of `name` in other files, each with the line before it for context: those
    after the same words as the cursor first, then the nearest files."""
    definition_sites = {(str(d.path), d.name_span.start_line) for d in definitions}
    chosen: list[Usage] = []
    seen_lines: set[str] = set()
    per_file: dict[str, int] = {}
    homes = {str(d.path) for d in definitions}
    found = list(usages(name))
    here = Path(current)
    texts: dict[str, list[str]] = {}
    for usage in found:
        if str(usage.path) not in texts:
            texts[str(usage.path)] = (index.file_text(usage.path) or "").split("\n")
    affinity = {id(u): _shared_suffix(_usage_left(u, texts[str(u.path)]), left) for u in found}
    found.sort(key=lambda u: (-min(affinity[id(u)], AFFINITY_CAP), str(u.path) in homes,
                              _distance(here, u.path)))
    for usage in found:
        key = str(usage.path)
        stripped = usage.line_text.strip()
        if key == current or (key, usage.line) in definition_sites:
            continue
        if IMPORT_LINE.match(usage.line_text) or stripped in seen_lines or len(stripped) < 4:
            continue
        if per_file.get(key, 0) >= 2:
            continue
        seen_lines.add(stripped)
        per_file[key] = per_file.get(key, 0) + 1
        chosen.append(usage)
        if len(chosen) >= USAGES_PER_NAME:
            break
    snippets: list[Snippet] = []
    for rank, usage in enumerate(chosen):
        lines = texts[str(usage.path)]
        start = usage.line
        if start > 0 and lines[start - 1].strip() and not IMPORT_LINE.match(lines[start - 1]):
            start -= 1
        body = "\n".join(lines[start : usage.line + 1])
        bonus = AFFINITY_WEIGHT * min(affinity[id(usage)], AFFINITY_CAP)
        snippets.append(Snippet(str(usage.path), _dedent(body),
                                score * (1.0 - USAGE_RANK_DECAY * rank) + bonus, "usage", start,
                                usage.line + 1))
    return snippets


def definition_snippet(index: IndexView, definition: Definition,
                       score: float) -> Snippet | None:
    text = index.file_text(definition.path)
    if text is None:
        return None
    lines = text.split("\n")
    if definition.kind == "module":
        body = _outline(index.symbols(definition.path), lines, parent=None)
        return Snippet(str(definition.path), body, score * 0.85, "definition") if body else None
    header = _header_lines(lines, definition)
    if definition.kind in CLASS_KINDS:
        members = _outline(index.symbols(definition.path), lines,
                           parent=definition.qualified_name)
        body = header + ("\n" + members if members else "")
    else:
        body = header
    if not body.strip():
        return None
    return Snippet(str(definition.path), _dedent(body), score * 0.85, "definition",
                   definition.span.start_line, -1)


def _header_lines(lines: list[str], definition: Definition, max_lines: int = 6) -> str:
    """The definition's header as written (up to the line that opens its body), plus the
    first line of its docstring; a short non-callable definition whole."""
    start, end = definition.span.start_line, definition.span.end_line
    if definition.kind not in _CALLABLE_KINDS and definition.kind not in CLASS_KINDS:
        return "\n".join(lines[start : min(end + 1, start + 3)])
    out: list[str] = []
    for number in range(start, min(end + 1, start + max_lines)):
        line = lines[number]
        out.append(line)
        stripped = line.split("#")[0].rstrip()
        if stripped.endswith((":", "{")) or (stripped.endswith(";") and "(" in "".join(out)):
            break
    doc = definition.doc.strip().split("\n")[0].strip() if definition.doc else ""
    if doc and definition.language == "python":
        indent = re.match(r"\s*", out[0]).group(0) if out else ""  # type: ignore[union-attr]
        out.append(f'{indent}    """{doc}"""')
    elif doc:
        out.insert(0, f"/** {doc} */")
    return "\n".join(out)


def _outline(symbols: list[Definition], lines: list[str], parent: str | None) -> str:
    """Header lines of the public members of a class (or top-level definitions of a
    module), one line each."""
    out: list[str] = []
    for definition in symbols:
        private = definition.name.startswith("_") and \
            definition.name not in ("__init__", "constructor", "__call__")
        if definition.parent != parent or private:
            continue
        line = lines[definition.span.start_line] if definition.span.start_line < len(lines) \
            else definition.signature
        if line.lstrip().startswith("@"):
            line = next((lines[n] for n in range(definition.span.start_line,
                                                 min(definition.span.end_line + 1, len(lines)))
                         if not lines[n].lstrip().startswith("@")), line)
        out.append(line.rstrip())
        if len(out) >= MAX_OUTLINE_MEMBERS:
            break
    return "\n".join(out)


def _dedent(text: str) -> str:
    lines = text.split("\n")
    widths = [len(line) - len(line.lstrip()) for line in lines if line.strip()]
    cut = min(widths) if widths else 0
    return "\n".join(line[cut:] for line in lines)


def one_line(lines: list[str]) -> str:
    """A multi-line statement on one line (``from x import (\\n a,\\n b,\\n)`` ->
    ``from x import (a, b)``)."""
    text = " ".join(line.strip() for line in lines)
    text = re.sub(r"([({\[])\s+", r"\1", text)
    return re.sub(r",?\s*([)}\]])", r"\1", text)


def continues_import(previous: str, line: str) -> bool:
    """A line that is part of a multi-line import (inside parentheses or braces)."""
    stripped = line.strip()
    return bool(stripped) and (
        previous.rstrip().endswith(("(", ",", "{")) or stripped.startswith((")", "}"))
        or bool(re.match(r"^[\w$]+(\s+as\s+[\w$]+)?,?$", stripped))
    )


def dedupe(candidates: list[Snippet], local: str) -> list[Snippet]:
    """Best first; drop what the local window already shows, exact repeats, and regions
    overlapping a better snippet of the same file."""
    local_lines = {line.strip() for line in local.split("\n") if len(line.strip()) >= 6}
    kept: list[Snippet] = []
    seen: set[str] = set()
    for snippet in sorted(candidates, key=lambda s: -s.score):
        body = snippet.text.strip()
        if not body or body in seen:
            continue
        lines = [line.strip() for line in body.split("\n") if len(line.strip()) >= 6]
        if snippet.source == "usage":  # its last line is the use; the one above is context
            lines = lines[-1:]
        if lines and sum(line in local_lines for line in lines) >= 0.5 * len(lines):
            continue
        if overlaps_any(snippet, kept):
            continue
        seen.add(body)
        kept.append(snippet)
    return kept


def overlaps_any(snippet: Snippet, others: list[Snippet]) -> bool:
    if snippet.start < 0 or snippet.end < 0:
        return False
    return any(o.path == snippet.path and o.start >= 0 and o.end >= 0
               and o.start < snippet.end and snippet.start < o.end for o in others)


def prompt_order(snippets: list[Snippet]) -> list[Snippet]:
    """The current file's import header first (it changes least), then the others from
    the least to the most relevant (the nearest the cursor is the most relevant)."""
    header = [s for s in snippets if s.source == "header"]
    rest = sorted((s for s in snippets if s.source != "header"), key=lambda s: s.score)
    return header + rest
