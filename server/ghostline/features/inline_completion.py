"""Inline (ghost-text) completion: from a document and a cursor to one suggestion.

The pipeline: decide the mode from the syntax at the cursor (single line, a block, or
nothing) → answer from what was already shown if the user typed into it, or from the result
cache → build the prompt from the local window (clean token boundary at the cursor) →
stream from the engine through the stop rules → clean up against the suffix → keep or drop
by confidence. Nothing here knows about LSP.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal, Protocol

from tree_sitter import Tree

from ghostline.context.budget import (
    CHARS_PER_TOKEN,
    FIM_SUFFIX_DIVISOR,
    MIN_LOCAL_DIVISOR,
    token_window,
)
from ghostline.context.tokenizer import TokenCounter
from ghostline.context.window import LocalWindow, enclosing_definition, local_window
from ghostline.engine.base import Engine, Finished, GenerationRequest, Token
from ghostline.engine.router import LOCAL
from ghostline.features.cold_window import ColdWindow
from ghostline.features.next_line import Generated, continuation_done, split_continuation
from ghostline.index.languages import LanguageSpec, spec_for_language_id, spec_for_path
from ghostline.index.names_below import preferred_starts
from ghostline.postprocess.cleanup import clean_completion
from ghostline.postprocess.fit import (
    BLOCK_KEYWORDS,
    Misfit,
    first_word,
    fits_below,
    misfit_below,
)
from ghostline.postprocess.healing import StreamingReattacher, split_trailing_whitespace
from ghostline.postprocess.mode import CompletionMode, block_indent, decide_mode
from ghostline.postprocess.rebind import rebind_to_block
from ghostline.postprocess.stops import StreamingStopper
from ghostline.prompts.fim import FimTemplate
from ghostline.settings import Settings

log = logging.getLogger(__name__)

#: Suggestions the result cache keeps (the least recently used goes first).
RESULT_CACHE_SIZE = 256
#: Logit bonus toward the names the code below reads but nothing binds, on the first token
#: of the new line: a preference, not a constraint (the values tried: docs/models.md).
NAMES_BELOW_BIAS = 10.0
#: How many more tries a line that cannot stand above the code below gets (`_fit_below`).
FIT_RETRIES = 2
#: The result cache is keyed by this much text before and after the cursor.
CACHE_KEY_PREFIX_CHARS = 2000
CACHE_KEY_SUFFIX_CHARS = 400
#: The mode (single line, block, none) is decided from at most this many lines above the
#: cursor's line, read from at most this many characters back.
MODE_LINES_ABOVE = 20
MODE_CHARS_ABOVE = 4000
#: A cold prompt's window gives other files' snippets at most 1/COLD_CONTEXT_DIVISOR of it.
COLD_CONTEXT_DIVISOR = 3
#: Code after the cursor a character window keeps for a template without FIM tokens (not
#: counted in the budget: such a prompt does not show it).
NO_FIM_SUFFIX_CHARS = 1000

Source = Literal["model", "cache", "typed", "none"]
#: The engine key of idle-time work: a newer piece of it supersedes the older.
IDLE_KEY = "ghostline:idle"


class CompletionModel(Protocol):
    """The model side of inline completion, asked at each request (a model loads, a route
    changes): the core's model (`core.app.CoreCompletionModel`), or another backend's."""

    def engine(self) -> Engine:
        """The engine that generates."""

    def template(self) -> FimTemplate:
        """How the prompt is written (the model family's FIM tokens, or none)."""

    def special_tokens(self) -> list[str]:
        """The model's control tokens: they end a suggestion and are never shown."""

    def counter(self) -> TokenCounter | None:
        """The model's tokenizer, which sizes the local window in real tokens; None: in
        characters."""


class ContextProvider(Protocol):
    """The workspace side: what the index and the other files say about a cursor
    (`context.completion.ContextService` is one)."""

    async def __call__(self, item: CompletionInput, settings: Settings
                       ) -> list[tuple[str, str]]:
        """Cross-file context: (path, text) snippets for a cursor, most relevant last."""

    def preferred_first(self, item: CompletionInput) -> list[str] | None:
        """The member names the first tokens should spell after ``receiver.`` (the index
        knows the receiver's type; the model does not), else None."""

    def shown_path(self, path: str) -> str:
        """How the prompt writes the document's path (relative to its workspace folder,
        like the snippets' paths)."""


class OpenTrees(Protocol):
    """Parse trees at hand (the index keeps one per open document)."""

    def open_tree(self, item: CompletionInput, spec: LanguageSpec) -> Tree | None:
        """A tree of exactly the item's text, or None: the completer parses it then."""


@dataclass(frozen=True)
class CompletionInput:
    """A snapshot of what the editor shows: the document and the cursor (a str offset)."""

    uri: str
    path: str
    language_id: str
    text: str
    offset: int


@dataclass
class CompletionOutcome:
    text: str
    source: Source
    mode: CompletionMode
    confidence: float | None = None
    timings: dict[str, float] = field(default_factory=dict)
    finished: Finished | None = None
    #: Why nothing is shown, for logs and `ghostline complete`.
    reason: str = ""


@dataclass
class _PromptParts:
    prompt: str
    #: The whitespace cut at the cursor (see `healing`).
    stripped: str
    preferred: list[str] | None
    preferred_bias: float | None
    extra: list[tuple[str, str]]


@dataclass
class _Shown:
    """The last suggestion shown in a document, to answer while the user types into it."""

    before: str
    after_line: str
    text: str


@dataclass(frozen=True)
class _Cursor:
    """The cursor's line around it, the lines above, and the mode they call for."""

    line_prefix: str
    line_suffix: str
    prev_lines: list[str]
    mode: CompletionMode


def _at_cursor(item: CompletionInput, tree: Tree | None) -> _Cursor:
    before, after = item.text[: item.offset], item.text[item.offset :]
    line_start = before.rfind("\n") + 1
    line_end = after.find("\n")
    line_prefix = before[line_start:]
    line_suffix = after if line_end == -1 else after[:line_end]
    above = before[max(0, line_start - MODE_CHARS_ABOVE) : max(line_start - 1, 0)]
    prev_lines = above.split("\n")[-MODE_LINES_ABOVE:]
    point = (before.count("\n"), len(line_prefix.encode("utf-8")))
    mode = decide_mode(line_prefix, line_suffix, prev_lines, tree=tree, point=point)
    return _Cursor(line_prefix, line_suffix, prev_lines, mode)


def _cache_key(before: str, after: str, mode: CompletionMode) -> tuple[str, str, str]:
    """The result cache's key for the cursor between `before` and `after`."""
    return (before[-CACHE_KEY_PREFIX_CHARS:], after[:CACHE_KEY_SUFFIX_CHARS], mode)


def _confidence(logprobs: list[float]) -> float | None:
    """The mean token probability of an answer (None without logprobs)."""
    return math.exp(sum(logprobs) / len(logprobs)) if logprobs else None


def _not_shown(mode: CompletionMode, confidence: float | None, timings: dict[str, float],
               finished: Finished | None, settings: Settings) -> CompletionOutcome | None:
    """The outcome of an answer that is not shown (cancelled, or below `minConfidence`);
    None for one that is."""
    if finished is not None and finished.reason == "cancelled":
        return CompletionOutcome("", "none", mode, confidence, timings, finished, "cancelled")
    if (confidence is not None and settings.min_confidence > 0
            and confidence < settings.min_confidence):
        return CompletionOutcome("", "none", mode, confidence, timings, finished,
                                 f"confidence {confidence:.2f} below the threshold")
    return None


def _entered(accepted: CompletionInput, cursor: _Cursor) -> CompletionInput:
    """The document after Enter at the end of the accepted line, indented as editors do:
    as that line, one level deeper when it opens a block."""
    line = cursor.line_prefix
    indent = line[: len(line) - len(line.lstrip(" \t"))]
    if cursor.mode == "multi":
        indent += "\t" if indent.startswith("\t") else "    "
    before = accepted.text[: accepted.offset] + "\n" + indent
    return replace(accepted, text=before + accepted.text[accepted.offset:], offset=len(before))


class InlineCompleter:
    """Stateful completer: result cache and last shown suggestion per document."""

    def __init__(self, model: CompletionModel, context: ContextProvider | None = None,
                 trees: OpenTrees | None = None) -> None:
        """`model` generates; `context` gives cross-file snippets, the receiver's members
        and the document's path as shown (without it: none, none, the path as it is);
        `trees` spares a request parsing the whole file again where a tree is at hand."""
        self._model = model
        self._context = context
        self._trees = trees
        self._cache: OrderedDict[tuple[str, str, str], str] = OrderedDict()
        self._shown: dict[str, _Shown] = {}
        self.model_calls = 0
        #: Recent prompts and the measured prompt speed, for `coldBudgetMs`.
        self._cold = ColdWindow()
        #: Generations done in idle time (`complete_ahead`), not counted in `model_calls`.
        self.idle_calls = 0
        #: Per document, the generation behind the suggestion shown last (`next_line`).
        self._generated: dict[str, Generated] = {}

    def forget(self, uri: str) -> None:
        self._shown.pop(uri, None)
        self._generated.pop(uri, None)

    def clear_cache(self) -> None:
        self._cache.clear()
        self._shown.clear()
        self._generated.clear()

    def adopt(self, item: CompletionInput, mode: CompletionMode, completion: str) -> None:
        """Take `completion` (another backend's, see escalation) as this cursor's answer: the
        result cache and typing through the shown suggestion answer with it from now on."""
        before, after = item.text[: item.offset], item.text[item.offset :]
        self._store(before, after, mode, completion)
        line_end = after.find("\n")
        self._remember(item.uri, before, after if line_end == -1 else after[:line_end],
                       completion)

    async def prefill(self, item: CompletionInput, settings: Settings) -> Finished | None:
        """Idle time: read the prompt a request at `item` would send into the model's KV
        cache, so that request pays for what was typed since. Only the embedded worker
        keeps a cache to fill; any real request cancels this one."""
        if not _steers_tokens(self._model.engine()):
            return None
        spec = spec_for_language_id(item.language_id) or spec_for_path(item.path)
        tree = self._tree(item, spec)
        mode = _at_cursor(item, tree).mode
        if mode == "none":
            return None
        parts = await self._prompt(item, settings, spec, tree, mode)
        request = GenerationRequest(prompt=parts.prompt, max_tokens=0, key=IDLE_KEY,
                                    time_limit_s=settings.time_limit_s, background=True)
        finished: Finished | None = None
        stream = self._model.engine().stream(request)
        self._cold.reading(parts.prompt)
        try:
            async with contextlib.aclosing(stream):  # type: ignore[type-var]
                async for event in stream:
                    if isinstance(event, Finished):
                        finished = event
        finally:
            self._cold.reading(None)
        if finished is not None and finished.reason != "cancelled":
            self._cold.sent(parts.prompt)
        return finished

    async def complete_ahead(self, item: CompletionInput, shown: str, settings: Settings
                             ) -> CompletionOutcome | None:
        """Idle time after `shown` was offered at `item`: the suggestion for where accepting
        it leads (the cursor after the inserted text), kept in the result cache so it is
        there the moment it is asked for. Only with the embedded worker; any real request
        cancels it."""
        if not shown or not _steers_tokens(self._model.engine()):
            return None
        accepted = replace(item, text=item.text[: item.offset] + shown + item.text[item.offset:],
                           offset=item.offset + len(shown))
        generated = self._generated.get(item.uri)
        if generated is not None and generated.leads_to(item.text[: item.offset],
                                                        item.text[item.offset:], shown):
            continued = await self._continue_ahead(generated, accepted, settings)
            if continued is not None:
                return continued
        return await self.complete(accepted, settings, ahead=True)

    async def _continue_ahead(self, generated: Generated, accepted: CompletionInput,
                              settings: Settings) -> CompletionOutcome | None:
        """Idle time after a suggestion that ended its line: let the model go on writing
        from where it stopped (decoding only: its prompt and text are in the KV cache) and
        keep what it writes as the answers at the end of the accepted line and at the start
        of the line below (`features/next_line.py`). None where nothing is completed at
        the accepted position."""
        started = time.perf_counter()
        spec = spec_for_language_id(accepted.language_id) or spec_for_path(accepted.path)
        cursor = _at_cursor(accepted, _parse(spec, accepted.text) if spec else None)
        if cursor.mode == "none":
            return None
        before, after = accepted.text[: accepted.offset], accepted.text[accepted.offset:]
        template = self._model.template()
        special = [*self._model.special_tokens(), *template.markers]
        multi = cursor.mode == "multi"
        request = GenerationRequest(
            prompt=generated.continuation_prompt,
            max_tokens=settings.max_tokens_multiline if multi else 2 * settings.max_tokens,
            temperature=settings.temperature, stop=list(template.stop_tokens), key=IDLE_KEY,
            background=True, time_limit_s=settings.time_limit_s)
        if multi:
            # The block the accepted line opens: the same stop rules as a request there.
            stopper = StreamingStopper(
                "multi", block_indent=block_indent(cursor.line_prefix, cursor.prev_lines),
                suffix=after, line_prefix=cursor.line_prefix, stop_tokens=special)
            text, logprobs, finished = await self._generate(
                request, StreamingReattacher(""), stopper, [])
        else:
            text, logprobs, finished = await self._line_and_next(request)
        timings = {"total_s": time.perf_counter() - started}
        confidence = _confidence(logprobs)
        unshown = _not_shown(cursor.mode, confidence, timings, finished, settings)
        if unshown is not None:
            return unshown
        if multi:
            answer = clean_completion(text, prefix=before, suffix=after, mode="multi",
                                      special_tokens=special)
            below = answer[1:] if answer.startswith("\n") else ""
        else:
            continuation = split_continuation(
                text, ended=finished is not None and finished.reason in ("eos", "stop"))
            answer = clean_completion(continuation.same_line, prefix=before, suffix=after,
                                      mode="single", special_tokens=special)
            below = (continuation.next_indent or "") + (continuation.next_line or "")
        self._store(before, after, cursor.mode, answer)
        if below.strip():
            self._store_below(accepted, spec, below, special)
        elif not text and finished is not None and finished.reason in ("eos", "stop"):
            # The model ended its middle with the accepted text: the code below is there
            # already. The line a user opens with Enter is a new place: ask there afresh.
            return await self.complete(_entered(accepted, cursor), settings, ahead=True)
        return CompletionOutcome(answer, "model", cursor.mode, confidence, timings, finished)

    async def _line_and_next(self, request: GenerationRequest
                             ) -> tuple[str, list[float], Finished | None]:
        """Stream until the rest of the line and the line below are written."""
        self.idle_calls += 1
        text, logprobs, finished = "", [], None
        stream = self._model.engine().stream(request)
        async with contextlib.aclosing(stream):  # type: ignore[type-var]
            async for event in stream:
                if isinstance(event, Token):
                    text += event.text
                    if event.logprob is not None:
                        logprobs.append(event.logprob)
                    if continuation_done(text):
                        break
                elif isinstance(event, Finished):
                    finished = event
        return text, logprobs, finished

    def _store_below(self, accepted: CompletionInput, spec: LanguageSpec | None, below: str,
                     special: list[str]) -> None:
        """Keep ``below`` (the model's lines after the accepted line, indentation first) as
        the answer at the start of the line below, after Enter at the model's indentation."""
        body = below.lstrip(" \t")
        indent = below[: len(below) - len(body)]
        before, after = accepted.text[: accepted.offset], accepted.text[accepted.offset:]
        entered_before = before + "\n" + indent
        entered = replace(accepted, text=entered_before + after, offset=len(entered_before))
        mode = _at_cursor(entered, _parse(spec, entered.text) if spec else None).mode
        if mode == "none":
            return
        text = body if mode == "multi" else body.split("\n", 1)[0]
        answer = clean_completion(text, prefix=entered_before, suffix=after, mode=mode,
                                  special_tokens=special)
        if answer:
            self._store(entered_before, after, mode, answer)

    def _store(self, before: str, after: str, mode: CompletionMode, completion: str) -> None:
        """Keep `completion` as the answer at the cursor between `before` and `after`."""
        key = _cache_key(before, after, mode)
        self._cache[key] = completion
        self._cache.move_to_end(key)
        while len(self._cache) > RESULT_CACHE_SIZE:
            self._cache.popitem(last=False)

    async def complete(
        self, item: CompletionInput, settings: Settings,
        before_model: Callable[[], Awaitable[bool]] | None = None, *, ahead: bool = False,
    ) -> CompletionOutcome:
        """One suggestion for `item`. `before_model` runs just before the model is asked
        (the server debounces there); if it returns False, nothing is generated. `ahead`:
        idle-time work (see `complete_ahead`): the answer goes to the result cache only,
        the request yields to any other."""
        started = time.perf_counter()
        text, offset = item.text, item.offset
        before, after = text[:offset], text[offset:]
        spec = spec_for_language_id(item.language_id) or spec_for_path(item.path)
        tree = self._tree(item, spec)
        cursor = _at_cursor(item, tree)
        line_prefix, line_suffix, mode = cursor.line_prefix, cursor.line_suffix, cursor.mode
        prev_lines = cursor.prev_lines
        if mode == "none":
            return CompletionOutcome("", "none", mode, reason="no completion at this position")

        typed = "" if ahead else self._typed_through(item.uri, before, line_suffix)
        if typed:
            return CompletionOutcome(typed, "typed", mode,
                                     timings={"total_s": time.perf_counter() - started})

        key = _cache_key(before, after, mode)
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            if not ahead:
                self._remember(item.uri, before, line_suffix, cached)
            return CompletionOutcome(cached, "cache", mode,
                                     timings={"total_s": time.perf_counter() - started})

        if before_model is not None and not await before_model():
            return CompletionOutcome("", "none", mode, reason="superseded by a newer request")
        template = self._model.template()
        parts = await self._prompt(item, settings, spec, tree, mode)
        # A prompt the model has nothing of gets a window it can read within the budget.
        cold_tokens = (None if ahead else self._cold.window_tokens(
            parts.prompt, settings.cold_budget_ms, settings.prompt_tokens))
        if cold_tokens is not None:
            parts = await self._prompt(item, replace(
                settings, prompt_tokens=cold_tokens,
                context_tokens=min(settings.context_tokens, cold_tokens // COLD_CONTEXT_DIVISOR)),
                spec, tree, mode)
        prompt, stripped, preferred = parts.prompt, parts.stripped, parts.preferred
        preferred_bias, extra = parts.preferred_bias, parts.extra
        code_below_hints = not template.has_fim
        special = [*self._model.special_tokens(), *template.markers]
        indent = block_indent(line_prefix, prev_lines)

        async def attempt(request: GenerationRequest) -> _Attempt:
            stopper = StreamingStopper(mode, block_indent=indent, suffix=after,
                                       line_prefix=line_prefix, stop_tokens=special)
            streamed: list[str] = []
            raw, logprobs, finished = await self._generate(
                request, StreamingReattacher(stripped), stopper, streamed)
            text = clean_completion(raw, prefix=before, suffix=after, mode=mode,
                                    special_tokens=special)
            return _Attempt(text, logprobs, finished, "".join(streamed))

        request = GenerationRequest(
            prompt=prompt,
            max_tokens=settings.max_tokens if mode == "single" else settings.max_tokens_multiline,
            temperature=settings.temperature,
            # In single-line mode the backend stops at the newline itself: otherwise it
            # goes on evaluating while the answer is sent, and on two cores that competes
            # with sending it (~10 ms a request).
            stop=[*template.stop_tokens, *(["\n"] if mode == "single" else [])],
            key=IDLE_KEY if ahead else item.uri,
            background=ahead,
            time_limit_s=settings.time_limit_s,
            preferred_first=preferred,
            preferred_bias=preferred_bias if preferred else None,
            # For servers that format FIM themselves (llama-server /infill, Ollama suffix).
            infill_prefix=split_trailing_whitespace(
                before[-settings.prompt_tokens * CHARS_PER_TOKEN:])[0],
            infill_suffix=after[: settings.prompt_tokens * CHARS_PER_TOKEN // FIM_SUFFIX_DIVISOR],
            infill_extra=[{"filename": path, "text": text} for path, text in extra],
        )
        chosen = await attempt(request)
        self._cold.sent(prompt)
        self._cold.measured(chosen.finished)
        below = (_code_below(line_prefix, line_suffix, after)
                 if mode == "single" and settings.fit_code_below and code_below_hints
                 and spec is not None
                 and spec.name == "python" and _steers_tokens(self._model.engine()) else None)
        if below is not None:
            chosen = await _fit_below(attempt, request, chosen, line_prefix, below)
        completion, logprobs, finished = chosen.text, chosen.logprobs, chosen.finished
        if (mode == "single" and settings.names_below_bias and code_below_hints
                and spec is not None and spec.name == "python" and completion):
            completion = await asyncio.to_thread(_rebound, completion, text, offset, spec)
        confidence = _confidence(logprobs)
        timings = {"total_s": time.perf_counter() - started}
        if finished and finished.first_token_s is not None:
            timings["first_token_s"] = finished.first_token_s
        if cold_tokens is not None:
            timings["cold_window_tokens"] = cold_tokens
        unshown = _not_shown(mode, confidence, timings, finished, settings)
        if unshown is not None:
            return unshown
        self._store(before, after, mode, completion)
        if completion and not ahead:
            self._remember(item.uri, before, line_suffix, completion)
            self._generated[item.uri] = Generated(prompt, chosen.streamed, before, after,
                                                  completion)
        reason = "" if completion else "the model had nothing useful to add"
        return CompletionOutcome(completion, "model", mode, confidence, timings, finished, reason)

    async def _generate(
        self, request: GenerationRequest, reattacher: StreamingReattacher,
        stopper: StreamingStopper, streamed: list[str],
    ) -> tuple[str, list[float], Finished | None]:
        """Stream through the stop rules; closing the stream early cancels the generation.
        `streamed` receives the model's pieces as they came (before any rule)."""
        if request.background:
            self.idle_calls += 1
        else:
            self.model_calls += 1
        pieces: list[str] = []
        logprobs: list[float] = []
        finished: Finished | None = None
        stream = self._model.engine().stream(request)
        async with contextlib.aclosing(stream):  # type: ignore[type-var]
            async for item in stream:
                if isinstance(item, Token):
                    streamed.append(item.text)
                    if item.logprob is not None:
                        logprobs.append(item.logprob)
                    emitted, stop = stopper.feed(reattacher.feed(item.text))
                    pieces.append(emitted)
                    if stop:
                        break
                elif isinstance(item, Finished):
                    finished = item
        if finished is None or finished.reason != "cancelled":
            truncated = finished is not None and finished.reason in ("time", "length")
            if not stopper.stopped:
                pieces.append(stopper.feed(reattacher.finish())[0])
            pieces.append(stopper.finish(truncated=truncated))
        return "".join(pieces), logprobs, finished

    async def _prompt(self, item: CompletionInput, settings: Settings,
                      spec: LanguageSpec | None, tree: Tree | None, mode: CompletionMode
                      ) -> _PromptParts:
        """The prompt for `item` and the first-token hints that go with it."""
        template = self._model.template()
        text, offset = item.text, item.offset
        context = self._context
        preferred = (await asyncio.to_thread(context.preferred_first, item)
                     if context is not None and settings.member_bias else None)
        # After ``receiver.`` with known members the bias carries the workspace knowledge;
        # snippets would only take the local window's room (measured: bench quality).
        extra = (await context(item, settings)
                 if context is not None and not preferred and template.uses_context else [])
        preferred_bias = None
        # The code-below hints stand in for the suffix a model without FIM cannot see; a
        # FIM model reads the code below itself, and there they cost exact lines (see
        # docs/models.md).
        if (not preferred and settings.names_below_bias and not template.has_fim
                and tree is not None and spec is not None and spec.name == "python"):
            preferred = await asyncio.to_thread(_names_below, tree, text, offset) or None
            preferred_bias = NAMES_BELOW_BIAS
        prompt, stripped = build_prompt(
            replace(item, path=context.shown_path(item.path)) if context is not None else item,
            settings, template, spec, extra, counter=self._model.counter(),
            definition=enclosing_definition(tree, text, offset) if tree is not None else None,
            mode=mode)
        return _PromptParts(prompt, stripped, preferred, preferred_bias, extra)

    def _tree(self, item: CompletionInput, spec: LanguageSpec | None) -> Tree | None:
        if spec is None:
            return None
        known = self._trees.open_tree(item, spec) if self._trees is not None else None
        return known if known is not None else _parse(spec, item.text)

    def _typed_through(self, uri: str, before: str, line_suffix: str) -> str:
        shown = self._shown.get(uri)
        if shown is None or shown.after_line != line_suffix:
            return ""
        typed_len = len(before) - len(shown.before)
        if typed_len <= 0 or typed_len >= len(shown.text):
            return ""
        typed = before[len(shown.before):]
        if not before.startswith(shown.before) or not shown.text.startswith(typed):
            return ""
        return shown.text[typed_len:]

    def _remember(self, uri: str, before: str, line_suffix: str, text: str) -> None:
        self._shown[uri] = _Shown(before=before, after_line=line_suffix, text=text)


def build_prompt(
    item: CompletionInput, settings: Settings, template: FimTemplate,
    spec: LanguageSpec | None, extra_files: Sequence[tuple[str, str]] = (),
    counter: TokenCounter | None = None, definition: tuple[int, int] | None = None,
    mode: CompletionMode = "multi",
) -> tuple[str, str]:
    """The prompt for a cursor, and the whitespace cut at the cursor (see `healing`).

    `extra_files` are (path, text) snippets of other files, most relevant last; they come
    first in the prompt and stay stable while the user types, so the KV cache keeps them.
    With a `counter`, `settings.prompt_tokens` is the whole prompt: the local window gets
    what the snippets leave (at least a third), counted in the model's tokens, and keeps
    `definition` (first line, end offset: the enclosing one) whole where it fits.
    Without one, the window is sized in characters. A ``single``-line `mode` keeps the
    suffix within `settings.line_suffix_tokens` (the prefix is the same in either mode).
    """
    comment = spec.line_comment if spec else "#"
    if counter is None:
        window = _char_window(item, settings, template, mode)
    else:
        window = _token_window(item, settings, template, counter, extra_files, comment,
                               definition, mode)
    clean_prefix, stripped = split_trailing_whitespace(window.prefix)
    prompt = template.build(
        clean_prefix, window.suffix, path=item.path, extra_files=extra_files,
        line_comment=comment,
    )
    return prompt, stripped


def _char_window(item: CompletionInput, settings: Settings, template: FimTemplate,
                 mode: CompletionMode) -> LocalWindow:
    budget_chars = settings.prompt_tokens * CHARS_PER_TOKEN
    if not template.has_fim:
        return local_window(item.text, item.offset, budget_chars, NO_FIM_SUFFIX_CHARS)
    share = budget_chars // FIM_SUFFIX_DIVISOR
    suffix_chars = _line_suffix_cap(share, settings, mode, CHARS_PER_TOKEN)
    return local_window(item.text, item.offset, budget_chars - share, suffix_chars)


def _line_suffix_cap(share: int, settings: Settings, mode: CompletionMode, unit: int = 1
                     ) -> int:
    """The suffix's room: the window's `share`, or less for a single line (`unit`:
    characters per token when the window is sized in characters)."""
    if mode == "single" and settings.line_suffix_tokens > 0:
        return min(share, settings.line_suffix_tokens * unit)
    return share


def _token_window(
    item: CompletionInput, settings: Settings, template: FimTemplate, counter: TokenCounter,
    extra_files: Sequence[tuple[str, str]], comment: str, definition: tuple[int, int] | None,
    mode: CompletionMode,
) -> LocalWindow:
    used = 0
    if extra_files:
        with_files = template.build("", "", path=item.path, extra_files=extra_files,
                                    line_comment=comment)
        used = counter.count(with_files) - counter.count(
            template.build("", "", path=item.path, line_comment=comment))
    local = max(settings.prompt_tokens - used, settings.prompt_tokens // MIN_LOCAL_DIVISOR)
    share = local // FIM_SUFFIX_DIVISOR if template.has_fim else 0
    first_line, end = definition if definition is not None else (None, None)
    return token_window(item.text, item.offset, local - share,
                        _line_suffix_cap(share, settings, mode), counter,
                        keep_until=end, keep_from_line=first_line)


@dataclass
class _Attempt:
    """One generation, cleaned: the text, its tokens' logprobs, how it finished."""

    text: str
    logprobs: list[float]
    finished: Finished | None
    #: The model's text as streamed, before the stop rules and cleanup.
    streamed: str = ""

    @property
    def cancelled(self) -> bool:
        return self.finished is not None and self.finished.reason == "cancelled"


async def _fit_below(
    attempt: Callable[[GenerationRequest], Awaitable[_Attempt]], request: GenerationRequest,
    first: _Attempt, line_prefix: str, below: str,
) -> _Attempt:
    """On a blank line above code, a line that cannot stand there (see `fit.misfit_below`)
    is asked for again, up to FIT_RETRIES times, without its first word and steered by
    what is missing: a block header over deeper code, anything but one before a clause of
    the statement above. The first finished line of code that fits is kept, else the
    model's first choice (a comment or nothing is no answer to a line that did not fit).
    A first line cut by the time limit gets no second try: there is no time for one."""
    kind = misfit_below(line_prefix + first.text, below)
    if kind is None or (first.finished is not None and first.finished.reason == "time"):
        return first
    candidate = first
    avoided: list[str] = []
    for _ in range(FIT_RETRIES):
        word = first_word(candidate.text)
        if word and word not in avoided:
            avoided.append(word)
        candidate = await attempt(_steered(request, avoided, kind))
        if candidate.cancelled:
            return candidate
        if fits_below(line_prefix + candidate.text, below):
            return candidate
    return first


def _steered(request: GenerationRequest, avoided: list[str], misfit: Misfit
              ) -> GenerationRequest:
    """The request again, without the `avoided` first words or a comment, leaning toward a
    block header where one is needed and away from all of them where none fits."""
    avoid = list(dict.fromkeys([*avoided, "#"]))
    if misfit == "opens an empty block":
        return replace(request, avoid_first=list(dict.fromkeys([*avoid, *BLOCK_KEYWORDS])))
    # A name the code below reads and nothing binds is bound by the header: a loop's
    # (the name without the value it was to start as, ``total = 0``).
    loops = [p if p.startswith("for ") else f"for {p.split(' ', 1)[0]}"
             for p in request.preferred_first or []]
    return replace(request, avoid_first=avoid, preferred_bias=NAMES_BELOW_BIAS,
                   preferred_first=loops or list(BLOCK_KEYWORDS))


def _code_below(line_prefix: str, line_suffix: str, after: str) -> str | None:
    """The text a new line would go above, when the cursor starts a line of its own: on a
    blank line, what follows that line; at column 0 before code, that code (the completion
    goes in as the line before it, as HumanEval's infilling holes are placed)."""
    if line_prefix.strip():
        return None
    if not line_suffix.strip():
        return after.split("\n", 1)[1] if "\n" in after else ""
    return None if line_prefix else after


def _steers_tokens(engine: Engine) -> bool:
    """Only the embedded worker applies token biases; a remote server would answer a
    second try with the same line."""
    return engine.name == LOCAL


def _names_below(tree: Tree, text: str, offset: int) -> list[str]:
    """`preferred_starts`, or nothing if the analysis fails: a hint is never worth a
    failed completion."""
    try:
        return preferred_starts(tree, text, offset)
    except Exception:
        log.exception("names-below analysis failed")
        return []


def _rebound(completion: str, text: str, offset: int, spec: LanguageSpec) -> str:
    """`rebind_to_block`, or `completion` unchanged if the analysis fails."""
    try:
        return rebind_to_block(completion, text, offset, spec)
    except Exception:
        log.exception("rebinding to the block below failed")
        return completion


def _parse(spec: LanguageSpec | None, text: str) -> Tree | None:
    if spec is None:
        return None
    try:
        return spec.parser().parse(text.encode("utf-8"))
    except (ValueError, RuntimeError):
        return None

