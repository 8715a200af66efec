"""The context service: the few snippets of other files that make a small model right.

For a cursor it ranks, under a token budget:
  1. definitions and usage examples of the names that matter at the cursor: names imported
     from workspace files (one not used yet is likely to be used next), names used in the
     lines just above, and the receiver's class after ``receiver.``;
  2. recently edited and viewed regions of other files (the ring buffer);
  3. BM25 chunks of other files of the same language, the query being the lines above.
Snippets are deduplicated against the local window and each other, and given in prompt
order (most relevant last). While the cursor stays in one definition the same snippets are
returned again in the same order (new ones only appended), so consecutive prompts share
their token prefix and the model's KV cache survives.

Nothing after the cursor in the current file is read: queries and name lists come from the
text before it (the benchmark depends on this).

The same service serves test generation and docstrings (`gather` with a `ContextQuery` of
their own budget and focus range).
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ghostline.context.bm25 import STOPWORDS, Bm25Index, words
from ghostline.context.budget import Snippet, select
from ghostline.context.receiver import is_module_file, receiver_members
from ghostline.context.ring import RingBuffer
from ghostline.context.tokenizer import EstimateCounter, TokenCounter
from ghostline.context.window import local_window
from ghostline.index.languages import spec_by_name, spec_for_language_id, spec_for_path
from ghostline.index.model import Definition, Import, Usage
from ghostline.prompts.fim import FimTemplate, template_by_name
from ghostline.settings import Settings

if TYPE_CHECKING:
    from ghostline.features.inline_completion import CompletionInput

log = logging.getLogger(__name__)

#: Characters per budget token of the local window, as `build_prompt` sizes it.
WINDOW_CHARS_PER_TOKEN = 3
#: Lines above the cursor whose names count as "near", and that form the BM25 query.
NEAR_LINES = 12
QUERY_LINES = 10
MAX_NAMES = 8
USAGES_PER_NAME = 3
#: Uses of a name looked at (the nearest are kept), and how long they are remembered.
USAGE_CANDIDATES = 24
#: Score bonus per character a use shares with the text before the cursor (capped).
AFFINITY_WEIGHT = 0.1
AFFINITY_CAP = 12
USAGES_TTL_S = 10.0
MAX_OUTLINE_MEMBERS = 10
MAX_HEADER_LINES = 40
BM25_RESULTS = 6
#: Documents whose last snippets are kept for the stable order.
STABLE_DOCUMENTS = 64
#: Most files kept in the BM25 index (the first ones in path order).
BM25_MAX_FILES = 3000

_IDENT = re.compile(r"[A-Za-z_$][\w$]*")
_IMPORT_LINE = re.compile(r"^\s*(?:from\s+\S+\s+import\b|import\b|export\s+(?:\*|\{[^}]*\})\s+from"
                          r"|[\w$]+(?:\s+as\s+[\w$]+)?\s*,?\s*$|\}\s*from\s)")
_CLASS_KINDS = frozenset({"class", "struct", "interface", "trait", "enum", "type"})
_CALLABLE_KINDS = frozenset({"function", "method", "constructor"})


class IndexView(Protocol):
    """The part of `WorkspaceIndex` used here."""

    def definitions(self, name: str) -> list[Definition]: ...

    def symbols(self, path: Path) -> list[Definition]: ...

    def imports(self, path: Path) -> list[Import]: ...

    def usages(self, name: str, limit: int = 50, *, per_file: int | None = None,
               include_definitions: bool = False) -> list[Usage]: ...

    def file_text(self, path: Path) -> str | None: ...

    def all_files(self) -> list[Path]: ...

    def is_open(self, path: Path) -> bool: ...


IndexSource = Callable[[], "IndexView | None"]
SOURCES = ("definitions", "usages", "ring", "bm25", "header")


@dataclass(frozen=True)
class ContextQuery:
    """What a feature asks for.

    ``offset``: the cursor; nothing after it is read. ``budget``: tokens for the snippets.
    ``local_start``: where the local window (already in the prompt) begins, for dedup and
    for the current file's import header. ``focus``: (start, end) offsets whose names
    matter (default: the lines just above the cursor). ``target``: a name whose usage
    examples are wanted first (the function a test or docstring is for).
    """

    path: str
    text: str
    offset: int
    language: str
    budget: int
    local_start: int = 0
    focus: tuple[int, int] | None = None
    target: str | None = None
    sources: tuple[str, ...] = SOURCES


@dataclass
class ContextResult:
    snippets: list[Snippet]
    tokens: int = 0
    #: True when the snippets of the previous request for this key were kept in place.
    reused: bool = False
    seconds: float = 0.0
    sources: dict[str, int] = field(default_factory=dict)


@dataclass
class _Stable:
    key: tuple[object, ...]
    snippets: list[Snippet]


class ContextService:
    """Cross-file context for completion, tests and docstrings.

    ``index`` returns the workspace index (or None before it exists); ``counter`` the token
    counter for the current model; ``template`` the current prompt template (costs are
    measured on the text as it will be written).
    """

    def __init__(
        self,
        index: IndexSource,
        *,
        ring: RingBuffer | None = None,
        counter: Callable[[], TokenCounter] | None = None,
        template: Callable[[], FimTemplate] | None = None,
        sources: Sequence[str] = SOURCES,
    ) -> None:
        self._index = index
        self.ring = ring if ring is not None else RingBuffer()
        self._counter = counter or EstimateCounter
        self._template = template or (lambda: template_by_name("none"))
        self.sources = tuple(sources)
        self.bm25 = Bm25Index()
        self._bm25_lock = threading.Lock()
        self._stable: dict[str, _Stable] = {}
        self._usages: dict[str, tuple[object, float, tuple[Usage, ...]]] = {}
        self.last: ContextResult | None = None

    # -- the ContextProvider of inline completion ---------------------------------------

    async def __call__(self, item: CompletionInput, settings: Settings) -> list[tuple[str, str]]:
        query = self.completion_query(item, settings)
        if query is None or query.budget <= 0:
            return []
        try:
            result = await asyncio.to_thread(self.gather, query, item.uri)
        except Exception:  # context is an improvement, never a reason to fail completion
            log.exception("cross-file context failed")
            return []
        return [s.pair for s in result.snippets]

    def completion_query(self, item: CompletionInput, settings: Settings) -> ContextQuery | None:
        spec = spec_for_language_id(item.language_id) or spec_for_path(item.path)
        if spec is None:
            return None
        template = self._template()
        # The smallest local window the prompt may get (`prompt_tokens` is the whole budget,
        # the context takes up to `context_tokens` of it): what it surely shows.
        budget_chars = max(settings.prompt_tokens - settings.context_tokens,
                           settings.prompt_tokens // 3) * WINDOW_CHARS_PER_TOKEN
        prefix_chars = budget_chars - (budget_chars // 5 if template.has_fim else 0)
        window = local_window(item.text, item.offset, prefix_chars, 0)
        return ContextQuery(
            path=item.path, text=item.text, offset=item.offset, language=spec.name,
            budget=settings.context_tokens, local_start=item.offset - len(window.prefix),
            sources=tuple(s for s in self.sources if s in settings.context_sources),
        )

    def preferred_first(self, item: CompletionInput) -> list[str] | None:
        """Members of the receiver's type when the cursor follows ``receiver.`` (what the
        first generated tokens should spell), else None."""
        index = self._index()
        if index is None:
            return None
        try:
            return receiver_members(index, Path(item.path), item.text[: item.offset])
        except Exception:
            log.exception("receiver resolution failed")
            return None

    # -- test generation and docstrings -------------------------------------------------

    def for_range(self, path: str, text: str, start: int, end: int, budget: int,
                  target: str | None = None,
                  sources: tuple[str, ...] = ("definitions", "usages", "ring")
                  ) -> list[tuple[str, str]]:
        """Context for a region of a file (the function a test or a docstring is for):
        definitions of the names it uses and, for `target`, examples of how other files
        call it. The region itself is left out (the feature shows it anyway)."""
        spec = spec_for_path(path)
        if spec is None or budget <= 0:
            return []
        query = ContextQuery(path=path, text=text, offset=end, language=spec.name,
                             budget=budget, local_start=start, focus=(start, end),
                             target=target, sources=sources)
        return [s.pair for s in self.gather(query).snippets]

    # -- feeding ------------------------------------------------------------------------

    def opened(self, path: str, text: str) -> None:
        self.ring.viewed(path, text)

    def changed(self, path: str, text: str, line: int) -> None:
        self.ring.edited(path, text, line)

    # -- gathering ----------------------------------------------------------------------

    def gather(self, query: ContextQuery, stable_key: str | None = None) -> ContextResult:
        """Snippets for `query` in prompt order. With `stable_key` (the document), the
        snippets of the previous call are kept in place while the cursor stays in the
        same definition and the imports are the same."""
        started = time.perf_counter()
        index = self._index()
        counter = self._counter()
        template = self._template()
        spec = spec_by_name(query.language)
        comment = spec.line_comment if spec is not None else "#"

        def cost(snippet: Snippet) -> int:
            return counter.count(template.build("", "", extra_files=[snippet.pair],
                                                line_comment=comment))

        base = counter.count(template.build("", "", line_comment=comment))
        visible = query.text[: query.offset]
        local = query.text[query.local_start : query.offset]
        candidates = self._candidates(query, index, visible, local)
        ranked = _dedupe(candidates, local)

        key = self._stable_key(query, index, visible) if stable_key else None
        previous = self._stable.get(stable_key) if stable_key else None
        chosen: list[Snippet]
        reused = False
        if previous is not None and previous.key == key:
            reused = True
            kept = list(previous.snippets)
            used = sum(cost(s) - base for s in kept)
            known = {s.pair for s in kept}
            fresh = [s for s in ranked if s.pair not in known
                     and not _overlaps_any(s, kept)]
            added = select(fresh, query.budget - used, lambda s: cost(s) - base)
            chosen = kept + sorted(added, key=lambda s: s.score)
        else:
            picked = select(ranked, query.budget, lambda s: cost(s) - base)
            chosen = _prompt_order(picked)
        if stable_key is not None and key is not None:
            self._stable.pop(stable_key, None)
            self._stable[stable_key] = _Stable(key, chosen)
            while len(self._stable) > STABLE_DOCUMENTS:
                self._stable.pop(next(iter(self._stable)))
        tokens = sum(cost(s) - base for s in chosen)
        sources: dict[str, int] = {}
        for snippet in chosen:
            sources[snippet.source] = sources.get(snippet.source, 0) + 1
        result = ContextResult(chosen, tokens, reused, time.perf_counter() - started, sources)
        self.last = result
        return result

    def _stable_key(self, query: ContextQuery, index: IndexView | None,
                    visible: str) -> tuple[object, ...]:
        line = visible.count("\n")
        enclosing: tuple[object, ...] = ()
        imports: tuple[str, ...] = ()
        if index is not None:
            path = Path(query.path)
            best: Definition | None = None
            for definition in index.symbols(path):
                span = definition.span
                if span.start_line <= line <= span.end_line and definition.parent is None:
                    best = definition
            if best is not None:
                enclosing = (best.qualified_name, best.span.start_line)
            imports = tuple(sorted({imp.module for imp in index.imports(path)
                                    if imp.line < line}))
        return (query.path, query.budget, enclosing, imports, self._template().name)

    def _candidates(self, query: ContextQuery, index: IndexView | None, visible: str,
                    local: str) -> list[Snippet]:
        sources = set(query.sources) & set(self.sources)
        candidates: list[Snippet] = []
        if index is not None and sources & {"definitions", "usages"}:
            candidates += self._name_snippets(query, index, visible, sources)
        if index is not None and "header" in sources:
            header = self._header(query, index)
            if header is not None:
                candidates.append(header)
        query_text = _query_text(query, visible)
        if "ring" in sources:
            candidates += self._ring_snippets(query, query_text)
        if index is not None and "bm25" in sources:
            candidates += self.bm25_snippets(query, index, query_text)
        return candidates

    # -- names: definitions and usages --------------------------------------------------

    def _name_snippets(self, query: ContextQuery, index: IndexView, visible: str,
                       sources: set[str]) -> list[Snippet]:
        path = Path(query.path)
        names = _scored_names(query, index, visible)
        line_prefix = visible[visible.rfind("\n") + 1 :]
        snippets: list[Snippet] = []
        for name, (score, definitions) in names:
            uses: list[Snippet] = []
            if "usages" in sources:
                uses = _usage_snippets(index, name, score, query.path, definitions,
                                       self._usages_of(index), line_prefix)
            # A name used elsewhere after the same words as those before the cursor is the
            # likeliest next one: its definition moves up with its best use.
            bonus = max((u.score - score for u in uses), default=0.0)
            snippets += uses
            if "definitions" in sources:
                for definition in definitions[:2]:
                    snippet = _definition_snippet(index, definition, score + max(bonus, 0.0))
                    if snippet is not None and snippet.path != str(path):
                        snippets.append(snippet)
        return snippets

    def _header(self, query: ContextQuery, index: IndexView) -> Snippet | None:
        """The current file's imports when the local window starts below them."""
        if query.local_start <= 0:
            return None
        first_local = query.text.count("\n", 0, query.local_start)
        lines = [imp.line for imp in index.imports(Path(query.path)) if imp.line < first_local]
        if not lines:
            return None
        all_lines = query.text.split("\n")
        taken: list[str] = []
        for start in sorted(set(lines)):
            end = start + 1
            while end < first_local and _continues_import(all_lines[end - 1], all_lines[end]):
                end += 1
            taken.extend(line.strip() if n == start else line
                         for n, line in enumerate(all_lines[start:end], start))
        text = "\n".join(taken[:MAX_HEADER_LINES]).strip("\n")
        return Snippet(query.path, text, 10.0, "header", min(lines), -1) if text else None

    def _usages_of(self, index: IndexView) -> Callable[[str], Sequence[Usage]]:
        """`index.usages`, remembered for a few seconds (finding them parses files, and
        consecutive requests ask for the same names)."""
        def usages(name: str) -> Sequence[Usage]:
            now = time.monotonic()
            cached = self._usages.get(name)
            if cached is not None and cached[0] is index and now - cached[1] < USAGES_TTL_S:
                return cached[2]
            found = tuple(index.usages(name, limit=USAGE_CANDIDATES, per_file=3))
            self._usages[name] = (index, now, found)
            while len(self._usages) > 256:
                self._usages.pop(next(iter(self._usages)))
            return found
        return usages

    # -- ring buffer --------------------------------------------------------------------

    def _ring_snippets(self, query: ContextQuery, query_text: str) -> list[Snippet]:
        wanted = set(words(query_text))
        if not wanted:
            return []
        snippets: list[Snippet] = []
        chunks = self.ring.chunks(exclude_path=query.path)
        for age, chunk in enumerate(reversed(chunks)):
            shared = wanted & set(words(chunk.text))
            if len(shared) < 2:
                continue
            score = min(1.4, 0.3 + 0.1 * len(shared)) - 0.02 * age
            snippets.append(Snippet(chunk.path, chunk.text, score, f"ring-{chunk.kind}",
                                    chunk.start, chunk.end))
        return snippets

    # -- BM25 ---------------------------------------------------------------------------

    def bm25_snippets(self, query: ContextQuery, index: IndexView,
                      query_text: str, limit: int = BM25_RESULTS) -> list[Snippet]:
        """Chunks of other files of the query's language, most similar to `query_text`."""
        self.refresh_bm25(index, query.language, exclude=query.path)
        found = self.bm25.search(query_text, limit=limit, exclude=[query.path])
        if not found:
            return []
        top = found[0][1]
        return [Snippet(chunk.path, chunk.text.strip("\n"), 0.8 * score / top, "bm25",
                        chunk.start, chunk.end) for chunk, score in found]

    def refresh_bm25(self, index: IndexView, language: str, exclude: str = "") -> None:
        """Bring the BM25 chunks in line with the index's files of `language` (by mtime;
        open documents by their text). `exclude` (the current file) is never indexed."""
        with self._bm25_lock:
            files: list[tuple[str, str]] = []
            for path in index.all_files():
                key = str(path)
                spec = spec_for_path(key)
                if spec is None or spec.name != language or key == exclude:
                    continue
                if index.is_open(path):
                    text = index.file_text(path) or ""
                    files.append((key, f"open:{hash(text)}"))
                    continue
                try:
                    files.append((key, str(os.stat(key).st_mtime_ns)))
                except OSError:
                    continue
            wanted = dict(files[:BM25_MAX_FILES])
            for known in self.bm25.paths():
                if known not in wanted:
                    self.bm25.remove_file(known)
            for key, version in wanted.items():
                if self.bm25.version(key) == version:
                    continue
                content = index.file_text(Path(key))
                if content is not None:
                    self.bm25.set_file(key, content, version)


def _query_text(query: ContextQuery, visible: str) -> str:
    if query.focus is not None:
        return query.text[query.focus[0] : min(query.focus[1], query.offset)]
    lines = visible.split("\n")
    return "\n".join(lines[-QUERY_LINES - 1 :])


def _continues_import(previous: str, line: str) -> bool:
    """A line that is part of a multi-line import (inside parentheses or braces)."""
    stripped = line.strip()
    return bool(stripped) and (
        previous.rstrip().endswith(("(", ",", "{")) or stripped.startswith((")", "}"))
        or bool(re.match(r"^[\w$]+(\s+as\s+[\w$]+)?,?$", stripped))
    )


def _scored_names(query: ContextQuery, index: IndexView,
                  visible: str) -> list[tuple[str, tuple[float, list[Definition]]]]:
    """The names worth explaining, best first, with their definitions in other files."""
    path = Path(query.path)
    cursor_line = visible.count("\n")
    lines = visible.split("\n")
    if query.focus is not None:
        near_text = query.text[query.focus[0] : min(query.focus[1], query.offset)]
    else:
        near_text = "\n".join(lines[-NEAR_LINES - 1 :])
    imports = [imp for imp in index.imports(path) if imp.line <= cursor_line]
    import_lines = {imp.line for imp in imports}
    body = "\n".join(line for n, line in enumerate(lines)
                     if n not in import_lines and not _IMPORT_LINE.match(line))
    used = _counts(body)
    near_order = _recency(near_text)
    own = {d.name for d in index.symbols(path)}
    scores: dict[str, float] = {}
    defs: dict[str, list[Definition]] = {}
    for imp in imports:
        if imp.resolved is None or imp.resolved == path:
            continue
        for local, original in _imported_names(imp):
            if original and is_module_file(imp.resolved, original):
                original = ""  # ``from pkg import module``
            found = _definitions_in(index, imp.resolved, original)
            if not found:
                continue
            if local in near_order:
                score = 3.0 + near_order[local]
            elif used.get(local, 0) == 0:
                score = 2.5
            else:
                score = 1.0
            if local == query.target:
                score += 2.0
            scores[local] = max(scores.get(local, 0.0), score)
            defs[local] = found
    extra = 0
    used_as_member_or_call = set(re.findall(r"(?:\.([A-Za-z_$][\w$]*))|([A-Za-z_$][\w$]*)\s*\(",
                                            near_text))
    referenced = {a or b for a, b in used_as_member_or_call}
    local_names = set(re.findall(r"([A-Za-z_$][\w$]*)\s*(?::[^=\n]*)?=(?!=)", visible))
    local_names |= set(re.findall(r"(?:def|function|class)\s+([A-Za-z_$][\w$]*)", visible))
    for name, recency in sorted(near_order.items(), key=lambda kv: -kv[1]):
        if name in scores or name in own or name.lower() in STOPWORDS or len(name) < 3:
            continue
        if name not in referenced or name in local_names:
            continue
        found = [d for d in index.definitions(name) if str(d.path) != query.path]
        if not found or len(found) > 3:
            continue
        scores[name] = 1.5 + recency
        defs[name] = found
        extra += 1
        if extra >= MAX_NAMES:
            break
    if query.target and query.target not in scores:
        found = index.definitions(query.target)
        if found:
            scores[query.target] = 4.0
            defs[query.target] = found
    ranked = sorted(scores.items(), key=lambda kv: -kv[1])[:MAX_NAMES]
    return [(name, (score, defs[name])) for name, score in ranked]


def _imported_names(imp: Import) -> list[tuple[str, str]]:
    """(local name, name in the target) of an import; a module import maps to ''."""
    if imp.names:
        return [(n.local_name, n.name) for n in imp.names if n.name != "*"]
    if imp.alias:
        return [(imp.alias, "")]
    return []


def _definitions_in(index: IndexView, path: Path, name: str) -> list[Definition]:
    """Top-level definitions called `name` in `path` ('' = the module itself: a sentinel
    definition standing for its outline). Falls back to any workspace definition (a name
    re-exported by a package's ``__init__``)."""
    symbols = index.symbols(path)
    if not name:
        top = [d for d in symbols if d.parent is None]
        return top[:1] and [_module_definition(path, top)]
    found = [d for d in symbols if d.name == name and d.parent is None]
    if found:
        return found
    elsewhere = [d for d in index.definitions(name) if d.parent is None]
    return elsewhere[:3]


def _module_definition(path: Path, top: list[Definition]) -> Definition:
    first = top[0]
    return replace(first, name=path.stem, qualified_name=path.stem, kind="module",
                   signature="", doc="", parent=None)


def _counts(text: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for word in _IDENT.findall(text):
        counts[word] = counts.get(word, 0) + 1
    return counts


def _recency(text: str) -> dict[str, float]:
    """Identifiers of `text` with a bonus in [0, 1): later (nearer the cursor) is higher."""
    found = _IDENT.findall(text)
    total = max(len(found), 1)
    return {word: index / total for index, word in enumerate(found)}


def _distance(a: Path, b: Path) -> tuple[int, int]:
    """How far apart two files are: test and non-test files apart, then folders apart."""
    testish = (_is_test(a) != _is_test(b))
    common = len(os.path.commonpath([a.parent, b.parent]).split(os.sep))
    return int(testish), -common


def _is_test(path: Path) -> bool:
    name = path.name
    return name.startswith("test_") or ".test." in name or ".spec." in name or \
        "tests" in path.parts or "test" in path.parts


def _left_affinity(usage: Usage, line_prefix: str) -> int:
    """Characters shared by the end of the text before the use and before the cursor
    (``headers: `` before both, say), whitespace at the line start aside."""
    before = usage.line_text.encode("utf-8")[: usage.col].decode("utf-8", "replace").lstrip()
    cursor = line_prefix.lstrip()
    shared = 0
    while shared < min(len(before), len(cursor)) and \
            before[len(before) - 1 - shared] == cursor[len(cursor) - 1 - shared]:
        shared += 1
    return shared


def _usage_snippets(index: IndexView, name: str, score: float, current: str,
                    definitions: list[Definition], usages: Callable[[str], Sequence[Usage]],
                    line_prefix: str = "") -> list[Snippet]:
    """A few uses of `name` in other files, each with the line before it for context: those
    after the same words as the cursor first, then the nearest files."""
    definition_sites = {(str(d.path), d.name_span.start_line) for d in definitions}
    chosen: list[Usage] = []
    seen_lines: set[str] = set()
    per_file: dict[str, int] = {}
    homes = {str(d.path) for d in definitions}
    found = list(usages(name))
    here = Path(current)
    affinity = {id(u): _left_affinity(u, line_prefix) for u in found}
    found.sort(key=lambda u: (-min(affinity[id(u)], AFFINITY_CAP), str(u.path) in homes,
                              _distance(here, u.path)))
    for usage in found:
        key = str(usage.path)
        stripped = usage.line_text.strip()
        if key == current or (key, usage.line) in definition_sites:
            continue
        if _IMPORT_LINE.match(usage.line_text) or stripped in seen_lines or len(stripped) < 4:
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
        text = index.file_text(usage.path) or ""
        lines = text.split("\n")
        start = usage.line
        if start > 0 and lines[start - 1].strip() and not _IMPORT_LINE.match(lines[start - 1]):
            start -= 1
        body = "\n".join(lines[start : usage.line + 1])
        bonus = AFFINITY_WEIGHT * min(affinity[id(usage)], AFFINITY_CAP)
        snippets.append(Snippet(str(usage.path), _dedent(body),
                                score * (1.0 - 0.1 * rank) + bonus, "usage", start,
                                usage.line + 1))
    return snippets


def _definition_snippet(index: IndexView, definition: Definition,
                        score: float) -> Snippet | None:
    text = index.file_text(definition.path)
    if text is None:
        return None
    lines = text.split("\n")
    if definition.kind == "module":
        body = _outline(index.symbols(definition.path), lines, parent=None)
        return Snippet(str(definition.path), body, score * 0.85, "definition") if body else None
    header = _header_lines(lines, definition)
    if definition.kind in _CLASS_KINDS:
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
    if definition.kind not in _CALLABLE_KINDS and definition.kind not in _CLASS_KINDS:
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


def _dedupe(candidates: list[Snippet], local: str) -> list[Snippet]:
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
        if lines and sum(line in local_lines for line in lines) >= 0.5 * len(lines):
            continue
        if _overlaps_any(snippet, kept):
            continue
        seen.add(body)
        kept.append(snippet)
    return kept


def _overlaps_any(snippet: Snippet, others: list[Snippet]) -> bool:
    if snippet.start < 0 or snippet.end < 0:
        return False
    return any(o.path == snippet.path and o.start >= 0 and o.end >= 0
               and o.start < snippet.end and snippet.start < o.end for o in others)


def _prompt_order(snippets: list[Snippet]) -> list[Snippet]:
    """The current file's import header first (it changes least), then the others from
    the least to the most relevant (the nearest the cursor is the most relevant)."""
    header = [s for s in snippets if s.source == "header"]
    rest = sorted((s for s in snippets if s.source != "header"), key=lambda s: s.score)
    return header + rest
