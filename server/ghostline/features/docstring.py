"""Hover docstrings: what a definition does, from its docstring or from the model.

``find_target`` says which definition the cursor means (its name, a call of it, a reference
to a class). ``DocstringService`` answers with the existing docstring at once, or with a
summary the model writes; summaries are cached by a hash of the definition's text (memory
and SQLite), so one definition is never generated twice.

Bounded waiting and cancellation, as decided here:

- A hover waits at most ``wait_s`` (the ``hoverTimeLimitS`` setting). If the model is not
  done, the hover says "generating…" and the generation goes on in the background; the
  next hover of the same definition shows the result (or waits for the same task: never a
  second generation).
- ``$/cancelRequest`` on a hover (the mouse moved away) cancels the hover and its
  generation too, unless another request still waits for the same summary or an "Insert
  docstring" pinned it. A hover that merely ran out of ``wait_s`` leaves its generation
  running for the next hover. A hover that starts a generation for another definition
  cancels the older hover generation (the newest hover wins, as the newest keystroke wins
  for completion), so at most one hover generation occupies the model at a time.
- An "Insert docstring" request waits for its generation (up to ``ACTION_WAIT_S``) and is
  never superseded by hovers.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ghostline.context.docstring import (
    EXPLAINABLE_KINDS,
    DocstringContext,
    Lookup,
    definition_text,
    gather,
)
from ghostline.engine.base import Engine, EngineError, Finished, GenerationRequest, Token
from ghostline.features.docstring_cache import SummaryCache, summary_key
from ghostline.features.docstring_prompt import (
    REQUEST_KEY,
    chat_predicate,
    params_request,
    parse_params,
    summary_request,
)
from ghostline.features.docstring_style import DocParts
from ghostline.features.docstring_text import clean_predicate, is_copy, render_summary
from ghostline.index.model import Definition

log = logging.getLogger(__name__)

#: Hard limit of one generation on the model (the hover stops waiting much earlier).
GENERATION_LIMIT_S = 30.0
#: After a generation timed out or failed, the same definition is not tried again for this
#: long (a slow machine must not spend all its time on one summary).
RETRY_AFTER_S = 60.0
#: How long "Insert docstring" waits for the model.
ACTION_WAIT_S = 60.0
_WORD_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_$")
_CLASS_KINDS = frozenset({"class", "struct", "interface", "trait", "enum"})
_SENTENCE_DONE = re.compile(r"(?<!\be\.g)(?<!\bi\.e)(?<!\betc)[.!?]\s")


def first_sentence_end(text: str) -> int | None:
    """Where the first whole sentence of some length in ``text`` ends, or None: a hover
    needs one, and every further token costs the user time (a second sentence mostly
    repeats the first)."""
    for match in _SENTENCE_DONE.finditer(text):
        if len(text[: match.start()].split()) >= 5:
            return match.start() + 1
    return None


# --- which definition the cursor means ---------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A definition under the cursor: ``how`` is definition, call or reference; ``start`` and
    ``end`` are the ``str`` offsets of the hovered word."""

    definition: Definition
    how: str
    start: int
    end: int


def word_at(text: str, offset: int) -> tuple[int, int] | None:
    """The identifier around ``offset`` (also right after its last character)."""
    start = offset
    while start > 0 and text[start - 1] in _WORD_CHARS:
        start -= 1
    end = offset
    while end < len(text) and text[end] in _WORD_CHARS:
        end += 1
    if start == end or text[start].isdigit():
        return None
    return start, end


def find_target(
    text: str,
    offset: int,
    file_definitions: Sequence[Definition],
    resolve: Callable[[str], Sequence[Definition]],
    path: Path,
) -> Target | None:
    """The definition the cursor at ``offset`` in ``text`` (the file at ``path``) means."""
    word = word_at(text, offset)
    if word is None:
        return None
    start, end = word
    line = text.count("\n", 0, start)
    line_start = text.rfind("\n", 0, start) + 1
    col = len(text[line_start:start].encode("utf-8"))
    name = text[start:end]
    for definition in file_definitions:
        span = definition.name_span
        if span.start_line == line and span.start_col == col and definition.name == name:
            return Target(definition, "definition", start, end)
    candidates = [d for d in resolve(name) if d.name == name]
    if not candidates:
        return None
    rest = text[end : end + 80].lstrip(" \t")
    is_call = rest.startswith(("(", "!(")) or (rest.startswith("<") and "(" in rest)
    before = text[max(0, start - 1) : start]
    is_attribute = before == "." or text[max(0, start - 2) : start] in ("->", "::")
    enclosing = None
    for definition in file_definitions:
        if definition.span.contains(line, col):
            enclosing = definition
    chosen = _choose(candidates, path, enclosing, is_attribute)
    if chosen is None:
        return None
    if not is_call and chosen.kind not in _CLASS_KINDS and chosen.path != path:
        return None  # a plain name elsewhere is too likely a different local variable
    return Target(chosen, "call" if is_call else "reference", start, end)


def _choose(
    candidates: Sequence[Definition], path: Path, enclosing: Definition | None,
    is_attribute: bool,
) -> Definition | None:
    def rank(d: Definition) -> tuple[int, int, int, int]:
        same_class = int(not (enclosing is not None and d.parent is not None and d.path == path
                              and enclosing.qualified_name.startswith(d.parent + ".")))
        member = int((d.kind == "method" or d.parent is not None) != is_attribute)
        same_file = int(d.path != path)
        same_folder = int(d.path.parent != path.parent)
        return (member, same_class, same_file, same_folder)

    ranked = sorted(candidates, key=rank)
    return ranked[0] if ranked else None


# --- what the hover says -------------------------------------------------------------------


@dataclass(frozen=True)
class HoverInfo:
    """What is known about a definition right now.

    ``state``: documented (its own docstring), generated (just now), cached, pending
    (generation still running), no-answer (the model gave nothing usable), busy (the last
    try timed out; retried later), unavailable (model failed to load or crashed) or plain
    (a kind that is not explained, or generation turned off).
    """

    definition: Definition
    state: str
    summary: str = ""
    model: str = ""
    location: str = ""

    def markdown(self) -> str:
        definition = self.definition
        parts = []
        if definition.signature:
            parts.append(f"```{definition.language}\n{definition.signature}\n```")
        if self.state == "documented" or (self.state == "plain" and definition.doc):
            parts.append(definition.doc)
        elif self.state in ("generated", "cached") and self.summary:
            by = f" ({self.model})" if self.model else ""
            parts.append(f"{self.summary}\n\n*Summary generated by Ghostline{by}; "
                         "not in the source.*")
        elif self.state == "pending":
            parts.append("*Ghostline is generating a summary… hover again in a moment.*")
        elif self.state == "no-answer":
            parts.append("*Ghostline: the model gave no usable summary for this definition.*")
        elif self.state == "busy":
            parts.append("*Ghostline: the model was too slow to summarize this; it will try "
                         "again in a minute.*")
        elif self.state == "unavailable":
            parts.append("*Ghostline: no summary (the model is not available).*")
        if self.location:
            parts.append(f"*Defined in `{self.location}`*")
        return "\n\n---\n\n".join(parts)


@dataclass
class Outcome:
    """Result of one summary request: the predicate ("" = no usable answer, None = failed)
    and whether it came from the cache, a generation, or is still pending."""

    predicate: str | None
    state: str


# --- the service ---------------------------------------------------------------------------


#: (definition, its file's text, the index, whether the prompt shows callees' docstrings)
#: -> what the summary is written from. The server's is the context service's, which keeps
#: callees and call sites within the hover budget.
GatherContext = Callable[[Definition, str, "Lookup | None", bool], DocstringContext]
#: For an empty or rejected summary: (definition, ask(engine, chat)) -> the escalation
#: backend's predicate, or "" where none is configured, allowed or usable.
Escalate = Callable[[Definition, Callable[[Engine, bool], Awaitable[str]]], Awaitable[str]]


def _gather_whole(definition: Definition, file_text: str, lookup: Lookup | None,
                  with_docs: bool) -> DocstringContext:
    """Everything `gather` finds, no token budget (a service without a context service)."""
    return gather(definition, file_text, lookup)


class DocstringService:
    """Summaries for hovers and docstrings for the "Insert docstring" action.

    ``engine``, ``ensure_model``, ``model_id`` and ``use_chat`` are callables so the
    service follows engine replacement and settings changes without being rebuilt.
    """

    def __init__(
        self,
        *,
        engine: Callable[[], Engine],
        ensure_model: Callable[[], Awaitable[bool]],
        model_id: Callable[[], str],
        model_name: Callable[[], str] | None = None,
        use_chat: Callable[[], bool],
        cache: SummaryCache,
        gather_context: GatherContext | None = None,
        escalate: Escalate | None = None,
    ) -> None:
        """``escalate(definition, ask)``: for an empty or rejected summary, the escalation
        backend's (see ``lsp.escalation``), asked through ``ask(engine, chat)``; "" if none."""
        self._engine = engine
        self._escalate = escalate
        self._ensure_model = ensure_model
        self._model_id = model_id
        self._model_name = model_name or (lambda: "")
        self._use_chat = use_chat
        self._gather = gather_context or _gather_whole
        self.cache = cache
        self.model_calls = 0
        self.cache_hits = 0
        self.superseded = 0
        #: Generations stopped because their hover was cancelled.
        self.cancelled = 0
        self._waiting: dict[str, int] = {}
        self._inflight: dict[str, asyncio.Task[str | None]] = {}
        self._pinned: set[str] = set()
        self._hover_key: str | None = None
        self._busy_until: dict[str, float] = {}

    # -- hover ---------------------------------------------------------------------------

    def cached_predicate(self, definition: Definition, file_text: str) -> str | None:
        """The cached summary predicate of a definition, without any model call."""
        key = summary_key(definition_text(file_text, definition), self._model_id())
        return self.cache.get(key)

    async def explain(
        self, definition: Definition, file_text: str, lookup: Lookup | None, wait_s: float,
        location: str = "", generate: bool = True,
    ) -> HoverInfo:
        """The hover of ``definition`` (``file_text``: the text of its file); with
        ``generate`` False (Ghostline turned off for the language) no model is asked."""
        model = self.model_name()
        if definition.doc:
            return HoverInfo(definition, "documented", location=location)
        if definition.kind not in EXPLAINABLE_KINDS or not generate:
            return HoverInfo(definition, "plain", location=location)
        outcome = await self.summary(definition, file_text, lookup, wait_s, origin="hover")
        if outcome.predicate is None:
            return HoverInfo(definition, outcome.state, model=model, location=location)
        summary = render_summary(outcome.predicate, definition.name, definition.kind,
                                 definition.language)
        state = outcome.state if summary else "no-answer"
        return HoverInfo(definition, state, summary, model=model, location=location)

    def model_name(self) -> str:
        return self._model_name()

    async def summary(
        self, definition: Definition, file_text: str, lookup: Lookup | None,
        wait_s: float, origin: str,
    ) -> Outcome:
        """The summary predicate: cached, generated within ``wait_s``, or pending."""
        source = definition_text(file_text, definition)
        model = self._model_id()
        key = summary_key(source, model)
        cached = self.cache.get(key)
        if cached is not None:
            self.cache_hits += 1
            return Outcome(cached, "cached")
        task = self._inflight.get(key)
        if task is None and self._busy_until.get(key, 0.0) > time.monotonic():
            return Outcome(None, "busy")
        if task is None:
            if origin == "hover":
                self._supersede_hover(key)
            task = asyncio.create_task(
                self._generate(key, model, definition, file_text, lookup, origin)
            )
            self._inflight[key] = task
            task.add_done_callback(functools.partial(self._finished, key))
        if origin == "hover":
            self._hover_key = key
        else:
            self._pinned.add(key)
        self._waiting[key] = self._waiting.get(key, 0) + 1
        try:
            predicate = await asyncio.wait_for(asyncio.shield(task), wait_s)
        except asyncio.TimeoutError:
            return Outcome(None, "pending")
        except asyncio.CancelledError:
            # The editor withdrew the request (the mouse moved away): stop the generation
            # unless somebody else still waits for it.
            if (origin == "hover" and self._waiting.get(key) == 1
                    and key not in self._pinned and not task.done()):
                self.cancelled += 1
                task.cancel()
            raise
        finally:
            self._waiting[key] -= 1
            if not self._waiting[key]:
                del self._waiting[key]
        if predicate is None:
            return Outcome(None, "unavailable")
        return Outcome(predicate, "generated")

    def _supersede_hover(self, new_key: str) -> None:
        old = self._hover_key
        if old is None or old == new_key or old in self._pinned:
            return
        task = self._inflight.get(old)
        if task is not None and not task.done():
            self.superseded += 1
            task.cancel()

    def _finished(self, key: str, task: asyncio.Task[str | None]) -> None:
        if self._inflight.get(key) is task:
            del self._inflight[key]
        self._pinned.discard(key)
        if not task.cancelled() and task.exception() is not None:
            log.warning("docstring generation failed: %s", task.exception())

    @property
    def pending(self) -> int:
        return sum(1 for t in self._inflight.values() if not t.done())

    async def _generate(
        self, key: str, model: str, definition: Definition, file_text: str,
        lookup: Lookup | None, origin: str,
    ) -> str | None:
        if not await self._ensure_model():
            return None
        chat = self._use_chat()
        context = await asyncio.to_thread(self._gather, definition, file_text, lookup, chat)
        keyed = REQUEST_KEY if origin == "hover" else None
        request = summary_request(context, chat=chat, time_limit_s=GENERATION_LIMIT_S)
        request.key = keyed
        predicate = await self._ask(key, request, context, chat)
        if predicate is None:
            return None
        shown = context.docs_shown(callees=chat)
        if not predicate or is_copy(predicate, shown):
            log.info("summary of %s was unusable or a copied docstring; asking again with "
                     "the code alone", definition.qualified_name)
            bare = summary_request(context, chat=chat, bare=True,
                                   time_limit_s=GENERATION_LIMIT_S)
            bare.key = keyed
            again = await self._ask(key, bare, context, chat)
            if again is None:
                return None
            predicate = "" if is_copy(again, shown) else again
        if not predicate and self._escalate is not None:
            predicate = await self._escalated(key, definition, file_text, lookup, keyed)
        self.cache.put(key, model, predicate)
        return predicate

    async def _escalated(self, key: str, definition: Definition, file_text: str,
                         lookup: Lookup | None, request_key: str | None) -> str:
        """The escalation backend's summary for a local one that was empty or rejected."""
        assert self._escalate is not None

        async def ask(engine: Engine, chat: bool) -> str:
            context = await asyncio.to_thread(self._gather, definition, file_text, lookup, chat)
            request = summary_request(context, chat=chat, time_limit_s=GENERATION_LIMIT_S)
            request.key = request_key
            answer = await self._ask(key, request, context, chat, engine)
            return "" if not answer or is_copy(answer, context.docs_shown(callees=chat)) else answer

        return await self._escalate(definition, ask)

    async def _ask(
        self, key: str, request: GenerationRequest, context: DocstringContext, chat: bool,
        engine: Engine | None = None,
    ) -> str | None:
        """The cleaned predicate; None when the generation did not finish normally (a
        failure or a timeout also pauses new attempts for ``RETRY_AFTER_S``)."""
        text, finished = await self._run(request, first_sentence_end, engine)
        log.info("summary of %s: %r (%s, %d prompt tokens, %.1f s)",
                 context.definition.qualified_name, text,
                 finished.reason if finished else "failed",
                 finished.prompt_tokens if finished else 0,
                 finished.total_s if finished else 0.0)
        if finished is None:
            self._busy_until[key] = time.monotonic() + RETRY_AFTER_S
            return None
        if finished.reason == "cancelled":  # superseded: free to start again at once
            return None
        raw = chat_predicate(text, context) if chat else text
        predicate = clean_predicate(raw, truncated=finished.reason in ("length", "time"))
        if not predicate and finished.reason == "time":
            # a busy machine, not a bad answer: not cached, asked again a little later
            self._busy_until[key] = time.monotonic() + RETRY_AFTER_S
            return None
        return predicate

    async def _run(
        self, request: GenerationRequest, enough: Callable[[str], int | None] | None = None,
        engine: Engine | None = None,
    ) -> tuple[str, Finished | None]:
        """Text and end of one generation (on ``engine``, else the service's); ``enough(text)``
        ends it early (like a stop string) by returning where the wanted text ends."""
        self.model_calls += 1
        pieces: list[str] = []
        finished: Finished | None = None
        stream = (engine or self._engine()).stream(request)
        started = time.monotonic()
        try:
            async for item in stream:
                if isinstance(item, Token):
                    pieces.append(item.text)
                    cut = enough("".join(pieces)) if enough is not None else None
                    if cut is not None:
                        pieces = ["".join(pieces)[:cut]]
                        finished = Finished(reason="stop", generated_tokens=len(pieces),
                                            total_s=time.monotonic() - started)
                        break
                elif isinstance(item, Finished):
                    finished = item
        except EngineError as exc:
            log.warning("docstring generation failed: %s", exc)
            return "", None
        finally:
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                with contextlib.suppress(Exception):
                    await aclose()
        return "".join(pieces), finished

    # -- insert docstring -------------------------------------------------------------------

    async def doc_parts(
        self, definition: Definition, file_text: str, lookup: Lookup | None, *,
        params: list[str], returns: bool, wait_s: float = ACTION_WAIT_S,
    ) -> DocParts | None:
        """What to insert: the summary, plus parameter/return lines when asked for."""
        started = time.monotonic()
        outcome = await self.summary(definition, file_text, lookup, wait_s, origin="action")
        if outcome.predicate is None and outcome.state == "unavailable":
            # a hover superseded the shared task: ask once more, for this action only
            outcome = await self.summary(definition, file_text, lookup, wait_s,
                                         origin="action")
        if not outcome.predicate:
            return None
        summary = render_summary(outcome.predicate, definition.name, definition.kind,
                                 definition.language)
        if not summary:
            return None
        if not params and not returns:
            return DocParts(summary)
        left = max(1.0, wait_s - (time.monotonic() - started))
        described = await self._params(definition, file_text, lookup, outcome.predicate,
                                       params, returns, left)
        named = [(n, described[n]) for n in params if n in described]
        if len(named) != len(params):
            named = []  # half a parameter list reads worse than none
        return DocParts(summary, named, described.get("return value", ""))

    async def _params(
        self, definition: Definition, file_text: str, lookup: Lookup | None, predicate: str,
        params: list[str], returns: bool, wait_s: float,
    ) -> dict[str, str]:
        source = definition_text(file_text, definition)
        model = self._model_id()
        key = summary_key(source, model) + ":params:" + ",".join(params) + (
            ":returns" if returns else "")
        cached = self.cache.get(key)
        if cached is not None:
            self.cache_hits += 1
            return dict(json.loads(cached))
        try:
            found = await asyncio.wait_for(
                self._generate_params(definition, file_text, lookup, predicate, params,
                                      returns),
                wait_s,
            )
        except asyncio.TimeoutError:
            return {}
        if found is None:
            return {}
        self.cache.put(key, model, json.dumps(found))
        return found

    async def _generate_params(
        self, definition: Definition, file_text: str, lookup: Lookup | None, predicate: str,
        params: list[str], returns: bool,
    ) -> dict[str, str] | None:
        if not await self._ensure_model():
            return None
        context = await asyncio.to_thread(self._gather, definition, file_text, lookup, False)
        request = params_request(context, predicate, params, returns=returns,
                                 time_limit_s=GENERATION_LIMIT_S)
        text, finished = await self._run(request)
        if finished is None or finished.reason == "cancelled":
            return None
        return parse_params(text, params, returns=returns)

    def status(self) -> dict[str, object]:
        """Counters for ``ghostline.status`` and tests."""
        return {
            "modelCalls": self.model_calls,
            "cacheHits": self.cache_hits,
            "pending": self.pending,
            "superseded": self.superseded,
            "cancelled": self.cancelled,
            "cachePath": str(self.cache.path) if self.cache.path else None,
        }
