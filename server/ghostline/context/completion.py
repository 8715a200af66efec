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

Nothing after the cursor in the current file is read (queries and name lists come from the
text before it; the benchmark depends on this), except by the ``suffix`` source, off by
default, which shows the lines below the cursor to a model that has no FIM tokens.

The same service serves test generation (`for_lines`: the snippets for a definition, under
the ``testContextTokens`` budget) and docstrings (`for_definition`: callees and call sites
under ``hoverContextTokens``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from ghostline.context import docstring as docstring_context
from ghostline.context.bm25 import Bm25Index, words
from ghostline.context.budget import (
    FIM_SUFFIX_DIVISOR,
    MIN_LOCAL_DIVISOR,
    Snippet,
    select,
    token_window,
)
from ghostline.context.docstring import DocstringContext
from ghostline.context.names import IndexView, NameFocus, scored_names
from ghostline.context.receiver import receiver_class, receiver_members
from ghostline.context.ring import RingBuffer
from ghostline.context.snippets import (
    continues_import,
    dedupe,
    definition_snippet,
    left_context,
    one_line,
    overlaps_any,
    prompt_order,
    usage_snippets,
)
from ghostline.context.tokenizer import EstimateCounter, TokenCounter
from ghostline.index.languages import spec_by_name, spec_for_language_id, spec_for_path
from ghostline.index.model import Definition, Usage
from ghostline.settings import Settings

log = logging.getLogger(__name__)

#: Lines above the cursor that form the BM25 query.
QUERY_LINES = 10
#: Uses of a name looked at (the best are kept).
USAGE_CANDIDATES = 48
#: Import statements in the header snippet, and its rank among snippets.
MAX_HEADER_LINES = 12
HEADER_SCORE = 2.0
BM25_RESULTS = 6
#: Seconds a request may spend indexing files for BM25 (the rest goes to a thread).
BM25_REFRESH_S = 0.05
#: Share of the budget kept for BM25 chunks when other snippets compete for it.
BM25_SHARE = 0.35
#: Lines below the cursor the ``suffix`` source shows, and its rank (nearest the cursor).
SUFFIX_LINES = 10
SUFFIX_SCORE = 20.0
#: Rank of the receiver's class outline after ``receiver.`` (above every name).
RECEIVER_SCORE = 6.0
#: Documents whose last snippets are kept for the stable order.
STABLE_DOCUMENTS = 64
#: Most files kept in the BM25 index (the first ones in path order).
BM25_MAX_FILES = 3000


IndexSource = Callable[[], "IndexView | None"]
SOURCES = ("definitions", "usages", "ring", "bm25", "header")


class CompletionInput(Protocol):
    """The document and cursor of a completion request, as this service reads them
    (`features.inline_completion.CompletionInput` is one; context sits below features)."""

    @property
    def uri(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def language_id(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def offset(self) -> int: ...


class PromptTemplate(Protocol):
    """What this service reads of the prompt template (`prompts.fim.FimTemplate` is one;
    context does not import prompts): its name, whether the prompt also shows the text
    after the cursor, and the prompt it writes (snippets cost what they add to it)."""

    @property
    def name(self) -> str: ...
    @property
    def has_fim(self) -> bool: ...

    def build(self, prefix: str, suffix: str, *,
              extra_files: Sequence[tuple[str, str]] = (), line_comment: str = "#") -> str: ...


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
    #: Names only through the file's imports of workspace files, uses only in files that
    #: import the name's file (or define it), and recent regions only of files the file
    #: imports or is imported by: for a definition's context, where a same-named stranger
    #: (``str.join`` for ``shlex.join``) or the last file the user looked at is noise.
    imported_only: bool = False


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
        template: Callable[[], PromptTemplate],
        sources: Sequence[str] = SOURCES,
    ) -> None:
        self._index = index
        self.ring = ring if ring is not None else RingBuffer()
        self._counter = counter or EstimateCounter
        self._template = template
        self.sources = tuple(sources)
        self.bm25 = Bm25Index()
        self._bm25_lock = threading.Lock()
        self._bm25_thread: threading.Thread | None = None
        #: Time a request may spend updating the BM25 chunks (None: all of it).
        self.bm25_refresh_s: float | None = BM25_REFRESH_S
        self._stable: dict[str, _Stable] = {}
        self._usages: dict[str, tuple[object, int, tuple[Usage, ...]]] = {}
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
        return [self.shown_pair(s) for s in result.snippets]

    def shown_path(self, path: str) -> str:
        """`path` as prompts write it: relative to the workspace folder that holds it, as
        repository-level training data writes paths (a few tokens where an absolute path
        costs a dozen or more, and a remote backend is not told where the project lives);
        unchanged outside every workspace folder."""
        index = self._index()
        return relative_to_roots(path, index.roots if index is not None else ())

    def shown_pair(self, snippet: Snippet) -> tuple[str, str]:
        return (self.shown_path(snippet.path), snippet.text)

    def completion_query(self, item: CompletionInput, settings: Settings) -> ContextQuery | None:
        spec = spec_for_language_id(item.language_id) or spec_for_path(item.path)
        if spec is None:
            return None
        template = self._template()
        # The smallest local window the prompt may get (`prompt_tokens` is the whole budget,
        # the context takes up to `context_tokens` of it), in the model's tokens as the
        # prompt counts them: what it surely shows, so snippets that repeat it are dropped.
        local_tokens = max(settings.prompt_tokens - settings.context_tokens,
                           settings.prompt_tokens // MIN_LOCAL_DIVISOR)
        prefix_tokens = local_tokens - (local_tokens // FIM_SUFFIX_DIVISOR if template.has_fim
                                        else 0)
        window = token_window(item.text, item.offset, prefix_tokens, 0, self._counter())
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
                             target=target, sources=sources, imported_only=True)
        return [self.shown_pair(s) for s in self.gather(query).snippets]

    def for_lines(self, path: str, text: str, first_line: int, last_line: int, budget: int,
                  target: str | None = None) -> list[tuple[str, str]]:
        """`for_range` over whole lines (0-based, inclusive): a definition as the index
        spans it."""
        lines = text.split("\n")
        start = sum(len(line) + 1 for line in lines[:first_line])
        end = start + sum(len(line) + 1 for line in lines[first_line : last_line + 1])
        return self.for_range(path, text, start, min(end, len(text)), budget, target)

    def for_definition(self, definition: Definition, file_text: str,
                       lookup: docstring_context.Lookup | None, budget: int,
                       with_docs: bool) -> DocstringContext:
        """What a summary of `definition` is written from: its source, the definitions it
        calls, its call sites in other files and its class, the callees and call sites
        kept within `budget` tokens of the model's tokenizer (``with_docs``: the prompt
        shows the callees' docstrings too, so they count)."""
        context = docstring_context.gather(definition, file_text, lookup)
        return docstring_context.within_budget(context, budget, self._counter().count,
                                               with_docs=with_docs)

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
            return counter.count(template.build("", "", extra_files=[self.shown_pair(snippet)],
                                                line_comment=comment))

        base = counter.count(template.build("", "", line_comment=comment))
        visible = query.text[: query.offset]
        local = query.text[query.local_start : query.offset]
        candidates = self._candidates(query, index, visible, local)
        ranked = dedupe(candidates, local)

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
                     and not overlaps_any(s, kept)]
            added = select(fresh, query.budget - used, lambda s: cost(s) - base)
            chosen = kept + sorted(added, key=lambda s: s.score)
        else:
            chosen = prompt_order(_select_shared(ranked, query.budget,
                                                 lambda s: cost(s) - base))
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
            candidates += self._ring_snippets(query, query_text, index)
        if index is not None and "bm25" in sources:
            candidates += self.bm25_snippets(query, index, query_text)
        if "suffix" in sources:
            below = _below(query)
            if below is not None:
                candidates.append(below)
        return candidates

    # -- names: definitions and usages --------------------------------------------------

    def _name_snippets(self, query: ContextQuery, index: IndexView, visible: str,
                       sources: set[str]) -> list[Snippet]:
        path = Path(query.path)
        focus = (query.text[query.focus[0] : min(query.focus[1], query.offset)]
                 if query.focus is not None else None)
        names = scored_names(NameFocus(query.path, visible, focus, query.target,
                                       query.imported_only), index)
        lines = visible.split("\n")
        previous = next((line for line in reversed(lines[-4:-1]) if line.strip()), "")
        left = left_context(previous, lines[-1])
        snippets: list[Snippet] = []
        receiver = receiver_class(index, path, visible) if "definitions" in sources else None
        if receiver is not None and str(receiver.path) != query.path:
            outline = definition_snippet(index, receiver, RECEIVER_SCORE)
            if outline is not None:
                snippets.append(outline)
        for name, (score, definitions) in names:
            uses: list[Snippet] = []
            if "usages" in sources:
                usages_of = self._usages_of(index)
                if query.imported_only:
                    usages_of = _from_importers(index, usages_of, definitions)
                uses = usage_snippets(index, name, score, query.path, definitions,
                                      usages_of, left)
            # A name used elsewhere after the same words as those before the cursor is the
            # likeliest next one: its definition moves up with its best use.
            bonus = max((u.score - score for u in uses), default=0.0)
            snippets += uses
            if "definitions" in sources:
                for definition in definitions[:2]:
                    snippet = definition_snippet(index, definition, score + max(bonus, 0.0))
                    if snippet is not None and snippet.path != str(path):
                        snippets.append(snippet)
        return snippets

    def _header(self, query: ContextQuery, index: IndexView) -> Snippet | None:
        """The current file's imports of workspace files, one line per statement, when the
        local window starts below them (which names are at hand)."""
        if query.local_start <= 0:
            return None
        first_local = query.text.count("\n", 0, query.local_start)
        lines = [imp.line for imp in index.imports(Path(query.path))
                 if imp.line < first_local and imp.resolved is not None]
        if not lines:
            return None
        all_lines = query.text.split("\n")
        taken: list[str] = []
        for start in sorted(set(lines))[:MAX_HEADER_LINES]:
            end = start + 1
            while end < first_local and continues_import(all_lines[end - 1], all_lines[end]):
                end += 1
            taken.append(one_line(all_lines[start:end]))
        text = "\n".join(taken)
        return Snippet(query.path, text, HEADER_SCORE, "header", min(lines), -1) if text else None

    def _usages_of(self, index: IndexView) -> Callable[[str], Sequence[Usage]]:
        """`index.usages`, remembered until the index's files change (finding them parses
        files, and consecutive requests ask for the same names). Typing in the current
        document does not count as a change: its own usages are never offered."""
        def usages(name: str) -> Sequence[Usage]:
            cached = self._usages.get(name)
            if cached is not None and cached[0] is index and cached[1] == index.generation:
                return cached[2]
            found = tuple(index.usages(name, limit=USAGE_CANDIDATES, per_file=2))
            self._usages[name] = (index, index.generation, found)
            while len(self._usages) > 256:
                self._usages.pop(next(iter(self._usages)))
            return found
        return usages

    # -- ring buffer --------------------------------------------------------------------

    def _ring_snippets(self, query: ContextQuery, query_text: str,
                       index: IndexView | None) -> list[Snippet]:
        wanted = set(words(query_text))
        if not wanted:
            return []
        snippets: list[Snippet] = []
        chunks = self.ring.chunks(exclude_path=query.path)
        if not chunks:
            return []
        if query.imported_only:
            # A definition's context: a region the user happened to see last says nothing
            # about a definition in a file it is not linked to by an import.
            if index is None:
                return []
            linked = _linked_by_imports(index, Path(query.path))
            chunks = [c for c in chunks if Path(c.path) in linked]
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
        """Chunks of other files of the query's language, most similar to `query_text`.

        A request spends at most `BM25_REFRESH_S` bringing the chunks up to date; what is
        left (a cold start on a big workspace) is finished in a background thread."""
        complete = self.refresh_bm25(index, query.language, exclude=query.path,
                                     budget_s=self.bm25_refresh_s)
        if not complete:
            self._finish_bm25(index, query.language, query.path)
        found = self.bm25.search(query_text, limit=limit, exclude=[query.path])
        if not found:
            return []
        top = found[0][1]
        return [Snippet(chunk.path, chunk.text.strip("\n"), 0.8 * score / top, "bm25",
                        chunk.start, chunk.end) for chunk, score in found]

    def _finish_bm25(self, index: IndexView, language: str, exclude: str) -> None:
        if self._bm25_thread is not None and self._bm25_thread.is_alive():
            return
        self._bm25_thread = threading.Thread(
            target=self.refresh_bm25, args=(index, language, exclude), daemon=True)
        self._bm25_thread.start()

    def refresh_bm25(self, index: IndexView, language: str, exclude: str = "",
                     budget_s: float | None = None) -> bool:
        """Bring the BM25 chunks in line with the index's files of `language` (by mtime;
        open documents by their text). `exclude` (the current file) is never indexed.
        With `budget_s`, stops after that long; returns whether it got through."""
        deadline = time.monotonic() + budget_s if budget_s is not None else None
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
                if deadline is not None and time.monotonic() > deadline:
                    return False
                content = index.file_text(Path(key))
                if content is not None:
                    self.bm25.set_file(key, content, version)
            return True


def relative_to_roots(path: str, roots: Sequence[Path]) -> str:
    """`path` relative to the innermost of `roots` holding it (POSIX separators), or
    unchanged when none does."""
    target = Path(path)
    holders = [root for root in roots if target.is_relative_to(root)]
    if not holders:
        return path
    innermost = max(holders, key=lambda root: len(root.parts))
    return target.relative_to(innermost).as_posix() or path


def _linked_by_imports(index: IndexView, path: Path) -> set[Path]:
    """The workspace files `path` imports and those that import it."""
    linked = {imp.resolved for imp in index.imports(path) if imp.resolved is not None}
    return linked | set(index.importers(path))


def _from_importers(index: IndexView, usages: Callable[[str], Sequence[Usage]],
                    definitions: Sequence[Definition]) -> Callable[[str], Sequence[Usage]]:
    """`usages`, kept to the files that define the name or import a file that does."""
    homes = {d.path for d in definitions}

    def imports_a_home(path: Path) -> bool:
        return path in homes or any(imp.resolved in homes for imp in index.imports(path))

    def kept(name: str) -> Sequence[Usage]:
        return [u for u in usages(name) if imports_a_home(u.path)]
    return kept


def _select_shared(ranked: list[Snippet], budget: int,
                   cost: Callable[[Snippet], int]) -> list[Snippet]:
    """Best first, but the lexical matches keep a share of the budget: a chunk of code
    written like the lines above the cursor (a sibling implementation) is often what the
    next line copies, and it ranks below every name-based snippet otherwise."""
    lexical = [s for s in ranked if s.source == "bm25"]
    named = [s for s in ranked if s.source != "bm25"]
    if not lexical or not named:
        return select(ranked, budget, cost)
    first = select(named, budget - int(budget * BM25_SHARE), cost)
    used = sum(cost(s) for s in first)
    second = select(lexical, budget - used, cost)
    used += sum(cost(s) for s in second)
    rest = [s for s in named if s not in first]
    return first + second + select(rest, budget - used, cost)


def _below(query: ContextQuery) -> Snippet | None:
    """The lines below the cursor line, up to the end of the top-level block (the suffix a
    model without FIM tokens cannot be given otherwise). Only with the ``suffix`` source:
    it is the one source that reads after the cursor."""
    text = query.text
    line_end = text.find("\n", query.offset)
    if line_end == -1:
        return None
    lines = text[line_end + 1 :].split("\n")
    taken: list[str] = []
    for line in lines[:SUFFIX_LINES]:
        if line.strip() and not line[0].isspace() and taken:
            break
        taken.append(line)
    body = "\n".join(taken).rstrip()
    if not body.strip():
        return None
    start = text.count("\n", 0, line_end) + 1
    return Snippet(query.path, body, SUFFIX_SCORE, "suffix", start, start + len(taken))


def _query_text(query: ContextQuery, visible: str) -> str:
    if query.focus is not None:
        return query.text[query.focus[0] : min(query.focus[1], query.offset)]
    lines = visible.split("\n")
    return "\n".join(lines[-QUERY_LINES - 1 :])
