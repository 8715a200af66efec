"""`AppCore`: the wiring of settings, engines, model, index, context and features, once.

Every entry point used to assemble its own completer and context service (the server,
``bench quality``, ``ghostline complete``), and the copies drifted. Now the language server
holds one `AppCore` and its handlers call it; the commands and the benchmark build one
too. What the core cannot do itself (show a message in the editor, count a request's
tokens in the usage ledger) it hands to its `Frontend`.

Nothing here knows about LSP: the layer contract puts ``core`` below ``lsp`` and above
``features``, and no pygls or lsprotocol import is allowed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import threading
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, Literal, Protocol

import tree_sitter

from ghostline.context.completion import SOURCES, ContextService, IndexSource
from ghostline.context.tokenizer import CounterSlot, TokenCounter
from ghostline.engine.base import Engine, EngineError, Finished, ModelInfo, ModelLoadError
from ghostline.engine.http.openai import SERVER_FIM
from ghostline.engine.local import LocalEngine
from ghostline.engine.model_catalog import lookup as packaged_model
from ghostline.engine.model_files import cache_dir, is_auto
from ghostline.engine.router import FEATURES, LOCAL, EngineRouter, FallbackEvent, RoutedEngine
from ghostline.features.docstring import DocstringService, Escalate
from ghostline.features.docstring_cache import SummaryCache, default_path
from ghostline.features.idle_work import IdleWork
from ghostline.features.inline_completion import CompletionInput, CompletionModel, InlineCompleter
from ghostline.features.testgen import GenServices
from ghostline.index.languages import LanguageSpec
from ghostline.index.model import Definition, ScanStats
from ghostline.index.testgen_target import Target
from ghostline.index.workspace import WorkspaceIndex
from ghostline.prompts.fim import FimTemplate, detect_template, template_by_name, template_for_model
from ghostline.prompts.instruct import is_instruction_model
from ghostline.settings import Settings

log = logging.getLogger(__name__)

EngineFactory = Callable[[Settings], Engine]
#: Which packaged model each feature uses under the `auto` model setting (threads -> keys).
ModelChooser = Callable[[int], dict[str, str]]
#: How serious a message to the user is.
Level = Literal["error", "warning", "info"]
#: Asks one engine for a hover summary's predicate (chat or completion prompt).
AskSummary = Callable[[Engine, bool], Awaitable[str]]


def default_engine_factory(settings: Settings) -> Engine:
    return LocalEngine(settings.model, context_size=settings.context_size, threads=settings.threads,
                       lookup_draft=settings.lookup_draft, draft_model=settings.draft_model)


class Frontend(Protocol):
    """Who the core reports to: the editor (the language server) or a command's log."""

    def tell(self, message: str, level: Level) -> None:
        """A message for the user (a model that failed to load, a backend that failed)."""

    def fell_back(self, event: FallbackEvent) -> None:
        """The local model answered in the place of the backend routed for a feature."""

    def finished(self, item: Finished) -> None:
        """A generation ended: its tokens and the backend that answered (usage counting)."""


class LogFrontend:
    """The frontend of the commands and the benchmark: messages go to the log."""

    def tell(self, message: str, level: Level) -> None:
        log.log(logging.ERROR if level == "error" else logging.INFO, message)

    def fell_back(self, event: FallbackEvent) -> None:
        return None

    def finished(self, item: Finished) -> None:
        return None


class AppCore:
    """Settings, engines and router, model facts, index, context and the features' entry
    objects, wired once (see the module docstring)."""

    def __init__(self, settings: Settings | None = None, *,
                 engine_factory: EngineFactory = default_engine_factory,
                 model_chooser: ModelChooser | None = None,
                 frontend: Frontend | None = None) -> None:
        self.settings = settings if settings is not None else Settings()
        self.engine_factory = engine_factory
        self.model_chooser = model_chooser
        self.frontend: Frontend = frontend if frontend is not None else LogFrontend()
        self.engine: Engine = engine_factory(self.settings)
        # -- the model's facts (known once the local engine has started)
        self.model_info: ModelInfo | None = None
        self.template: FimTemplate = template_by_name("none")
        #: Template for inline completion when it is routed to a remote backend.
        self.remote_template: FimTemplate | None = None
        self.model_error: str | None = None
        self._model_error_shown: str | None = None
        self.token_counters = CounterSlot()
        #: A tokenizer given with `use_model` (the benchmark's), in place of the slot's.
        self._given_counter: TokenCounter | None = None
        # -- the workspace
        self.index: WorkspaceIndex | None = None
        self.index_stop = threading.Event()
        self.context = self.context_service()
        # -- the engines
        self.router = EngineRouter(self.settings, lambda: self.engine,
                                   local_model_factory=self._engine_for_model,
                                   on_fallback=self._on_fallback,
                                   on_finished=self.frontend.finished)
        # -- the features' entry objects
        #: Prefills and suggestions prepared ahead, while the user does not wait.
        self.idle_work = IdleWork()
        self.completer = self.new_completer(self.context)
        #: Asks an empty or rejected hover summary of the escalation backend, where the
        #: frontend has one (the server's escalation rules); None: no escalation.
        self.escalate_hover: Escalate | None = None
        self.docstrings = DocstringService(
            engine=lambda: self.engine_for("hover"),
            ensure_model=self.hover_model_ready,
            model_id=self.hover_model_id,
            model_name=self.hover_model_name,
            use_chat=self.hover_uses_chat,
            cache=SummaryCache(default_path()),
            gather_context=lambda definition, text, lookup, with_docs: (
                self.context.for_definition(definition, text, lookup,
                                            self.settings.hover_context_tokens, with_docs)),
            escalate=self._escalated_hover,
        )

    # -- wiring ----------------------------------------------------------------------------

    def context_service(self, index: IndexSource | None = None,
                        sources: Sequence[str] = SOURCES) -> ContextService:
        """A context service over `index` (default: this core's index handle), measuring
        snippets with the model's tokenizer in the model's template."""
        return ContextService(index if index is not None else (lambda: self.index),
                              counter=self.token_counter, template=lambda: self.template,
                              sources=sources)

    def new_completer(self, context: ContextService | None,
                      model: CompletionModel | None = None, *,
                      open_trees: bool = True) -> InlineCompleter:
        """An inline completer wired as the server's: `context`'s snippets, the receiver's
        members after ``receiver.``, paths written as the prompt shows them, the open
        document's tree from the index (unless `open_trees` is False). The `model` defaults
        to this core's (`CoreCompletionModel`); escalation (another backend) and the
        benchmark (its measured engine) give their own."""
        return InlineCompleter(model if model is not None else CoreCompletionModel(self),
                               context, self if open_trees else None)

    def token_counter(self) -> TokenCounter:
        """The model's tokenizer (an estimate while its vocabulary loads)."""
        if self._given_counter is not None:
            return self._given_counter
        return self.token_counters.get(self.model_info.path if self.model_info else None)

    def open_tree(self, item: CompletionInput, spec: LanguageSpec) -> tree_sitter.Tree | None:
        """The index's up-to-date tree of an open document (see `InlineCompleter`)."""
        if self.index is None:
            return None
        return self.index.open_tree(Path(item.path), item.text, spec.name)

    def engine_for(self, feature: str) -> Engine:
        """The engine that serves `feature` (inlineCompletion, generateTests, hover), with
        the route, the fallback to local and the `Finished.backend` naming who answered."""
        return RoutedEngine(self.router, feature)

    def workable_text(self, text: str) -> bool:
        """Whether a buffer is small enough, and text enough, to parse, index or complete:
        a 50 MB or binary buffer gets harmless empty answers instead of a frozen server."""
        return len(text) <= self.settings.max_file_bytes and "\x00" not in text

    # -- settings --------------------------------------------------------------------------

    def take_initial_settings(self, options: dict[str, Any]) -> None:
        """Settings that arrive before anything ran (``initializationOptions``): the local
        engine is built again from them."""
        self.settings.update(options)
        self.engine = self.engine_factory(self.settings)

    @staticmethod
    def engine_settings_key(settings: Settings) -> tuple[object, ...]:
        return (settings.model, settings.context_size, settings.threads, settings.lookup_draft,
                settings.draft_model)

    async def apply_settings(self, engine_key_before: tuple[object, ...]) -> bool:
        """Bring the routes and the local engine in line with `settings`; returns whether
        the local engine was replaced (its model, context size, threads or drafting
        changed)."""
        changed = self.engine_settings_key(self.settings) != engine_key_before
        if changed:
            self.router.auto_models = None  # the model setting changed: choose again
        await self.router.update(self.settings)
        self.remote_template = None
        if not changed:
            return False
        await self.replace_engine()
        return True

    async def replace_engine(self) -> None:
        old = self.engine
        self.engine = self.engine_factory(self.settings)
        self.model_info = None
        self.router.forget_local()
        self.completer.clear_cache()
        await old.close()

    # -- model -----------------------------------------------------------------------------

    def _engine_for_model(self, model: str) -> Engine:
        """A local engine of another model (a second worker), for a backend of kind local."""
        draft = "" if model == self.settings.draft_model else self.settings.draft_model
        return self.engine_factory(dataclasses.replace(self.settings, model=model,
                                                       draft_model=draft))

    async def choose_models(self) -> None:
        """Under the `auto` model setting, learn which model each feature uses on this
        machine (measured once per machine, off the event loop) so the router can send
        tests and hover to another local model than completion's."""
        if self.model_chooser is None or not is_auto(self.settings.model):
            self.router.auto_models = None
            return
        if self.router.auto_models is None:
            self.router.auto_models = await asyncio.to_thread(
                self.model_chooser, self.settings.threads)

    async def ensure_model(self) -> bool:
        """Start the engine if needed; on failure tell the user once and return False."""
        await self.choose_models()
        try:
            await self.start_model()
        except ModelLoadError as exc:
            self.report_model_error(str(exc))
            return False
        return True

    async def start_model(self) -> ModelInfo:
        """Start the local engine (raises `ModelLoadError`) and take in its model."""
        info = await self.engine.start()
        if info is not self.model_info:
            # The tokenizer that sizes prompts, before the first prompt is built: a window
            # sized by the estimate and then by the real counts would differ, and the
            # second request would find nothing of the first in the KV cache.
            await asyncio.to_thread(self.token_counters.get, info.path, True)
            self.model_info = info
            self.template = template_for_model(info)
            self._given_counter = None
            self.model_error = None
            self._model_error_shown = None
            log.info(
                "model %s ready; FIM template %s; self-test %s",
                info.name,
                self.template.name,
                info.self_test,
            )
            if info.self_test.startswith("failed"):
                self.frontend.tell(
                    f"Ghostline: the model {info.name} failed its self-test ({info.self_test}). "
                    "Completions may be poor; set `ghostline.model` to a code completion model.",
                    "warning",
                )
        return info

    def use_model(self, info: ModelInfo, template: FimTemplate,
                  counter: TokenCounter | None = None) -> None:
        """Take a model started elsewhere (the benchmark's): its facts, the template its
        prompts are written in and, if given, the tokenizer that counts them."""
        self.model_info = info
        self.template = template
        self._given_counter = counter

    def needs_local_model(self) -> bool:
        """Whether some feature runs on the local model (routed there, or as the fallback):
        otherwise start-up loads no model here."""
        return self.settings.fallback_to_local or any(
            self.router.backend_name(feature) == LOCAL for feature in FEATURES)

    async def model_for(self, feature: str) -> ModelInfo | None:
        """The model that answers `feature` (generateTests, hover): the local one, loaded,
        or the routed backend's; None (the user told why) when neither is available."""
        await self.choose_models()
        if self.router.backend_name(feature) != LOCAL:
            try:
                return await self.router.info_for(feature)
            except EngineError as exc:
                if not self.settings.fallback_to_local:
                    self.report_model_error(str(exc))
                    return None
                log.warning("%s: %s; using the local model", feature, exc)
        return self.model_info if await self.ensure_model() else None

    async def ready_for_completion(self) -> bool:
        """Whether inline completion can be asked now.

        Routed to the local model: that model is loaded. Routed to a remote backend: its
        completion template is known (asked once), and the local model is loaded as well
        when the settings let it answer in the remote backend's place. A remote backend
        that cannot be reached is not decided here: the request itself gets the clear error
        (or the local answer) from the router.
        """
        if self.router.backend_name("inlineCompletion") == LOCAL:
            self.remote_template = None
            return await self.ensure_model()
        if self.remote_template is None:
            self.remote_template = await self._remote_completion_template()
        if self.settings.fallback_to_local:
            await self.ensure_model()
        return True

    async def _remote_completion_template(self) -> FimTemplate | None:
        """The FIM template for the remote completion backend: the one its settings name,
        else the one its model's tokens show (none where the server does FIM itself)."""
        try:
            info = await self.router.info_for("inlineCompletion")
        except EngineError as exc:
            log.warning("inline completion backend not available: %s", exc)
            return None
        if info.fim_template not in ("none", SERVER_FIM, ""):
            try:
                return template_by_name(info.fim_template)
            except ValueError as exc:
                self.frontend.tell(f"Ghostline: {exc}", "warning")
        return detect_template(info.special_tokens, info.metadata)

    def _on_fallback(self, event: FallbackEvent) -> None:
        self.frontend.fell_back(event)
        self.frontend.tell(
            f"Ghostline: {event.backend} failed for {event.feature} ({event.reason}); "
            "answered by the local model.",
            "warning",
        )

    def report_model_error(self, message: str) -> None:
        self.model_error = message
        if self._model_error_shown == message:
            return
        self._model_error_shown = message
        self.frontend.tell(f"Ghostline: {message}. Run `ghostline doctor` for details.", "error")

    # -- hover's model ---------------------------------------------------------------------

    def hover_model_id(self) -> str:
        """Which model writes the summaries, known before it is loaded (the cache key needs
        it at once): the backend and its model (empty: the packaged default)."""
        name = self.router.backend_name("hover")
        spec = self.router.spec_of(name) if name != LOCAL else None
        model = spec.model if spec is not None else self.settings.model
        return f"{name}:{model or 'default'}"

    def _hover_runs_here(self) -> bool:
        """Whether hover's model runs on this machine (the local engine or a second one)."""
        name = self.router.backend_name("hover")
        spec = self.router.spec_of(name) if name != LOCAL else None
        return spec is None or spec.is_local

    async def hover_model_ready(self) -> bool:
        """Load hover's model when it runs here; a remote route loads nothing here (its
        stream fails over to the local model by itself where the settings say so)."""
        await self.choose_models()
        if self._hover_runs_here():
            return await self.model_for("hover") is not None
        return True

    def _hover_info(self) -> ModelInfo | None:
        if self.router.backend_name("hover") == LOCAL:
            return self.model_info
        return self.router.known_info("hover")

    def hover_uses_chat(self) -> bool:
        """Chat prompts for instruction models (a chat template and a name that says so:
        some base GGUFs carry a template too) and OpenAI-compatible servers; else
        completion."""
        if not self._hover_runs_here():
            spec = self.router.spec_of(self.router.backend_name("hover"))
            return spec is not None and spec.kind == "openai"
        return is_instruction_model(self._hover_info())

    def hover_model_name(self) -> str:
        """The name of hover's model; for a summary from the cache, before that model was
        started, the packaged model's catalogue name where the route names one."""
        info = self._hover_info()
        if info is not None:
            return info.name
        spec = self.router.spec_of(self.router.backend_name("hover"))
        packaged = packaged_model(spec.model) if spec is not None else None
        return packaged.name if packaged is not None else ""

    async def _escalated_hover(self, definition: Definition, ask: AskSummary) -> str:
        if self.escalate_hover is None:
            return ""
        return await self.escalate_hover(definition, ask)

    # -- test generation -------------------------------------------------------------------

    def test_services(self, model_info: ModelInfo | None, read_text: Callable[[Path], str | None],
                      *, existing_tests: list[Path] | None = None,
                      conflict: Callable[[Path], str] | None = None) -> GenServices:
        """What test generation needs: the routed engine, the model, the settings, other
        files' code for the target (`test_context`); `read_text` and `conflict` are the
        frontend's view of files (an editor's open documents win over the disk)."""
        return GenServices(engine=self.engine_for("generateTests"), model_info=model_info,
                           settings=self.settings, read_text=read_text,
                           cross_file=self.test_context, existing_tests=existing_tests,
                           conflict=conflict)

    def test_context(self, source: Path, text: str, target: Target) -> list[tuple[str, str]]:
        """Other files' code for a test target, under the ``testContextTokens`` budget."""
        return self.context.for_lines(str(source), text, target.first_line, target.last_line,
                                      self.settings.test_context_tokens, target=target.name)

    def existing_tests(self, path: Path) -> list[Path] | None:
        """Test files the index knows for `path`, nearest first (None: look on disk)."""
        if self.index is None:
            return None
        try:
            return self.index.test_files_for(path)
        except Exception:  # the index is still scanning or broke: fall back to the disk
            log.exception("test_files_for failed")
            return None

    # -- the workspace index ---------------------------------------------------------------

    def open_index(self, roots: list[Path]) -> WorkspaceIndex:
        """The index over `roots` (not scanned yet: see `scan_index`), kept as the handle
        the context service and the features read."""
        index = WorkspaceIndex(
            roots, cache_dir=cache_dir() / "index", max_file_bytes=self.settings.max_file_bytes
        )
        self.index = index
        return index

    async def scan_index(self, index: WorkspaceIndex,
                         progress: Callable[[int, int], None]) -> ScanStats:
        """Scan `index` in a thread, then build its lookup tables there (the first query
        would); `close` stops it early."""
        return await asyncio.to_thread(_scan_and_warm_up, index, progress,
                                       self.index_stop.is_set)

    # -- the end ---------------------------------------------------------------------------

    async def close(self) -> None:
        """Stop the index and close every engine."""
        self.index_stop.set()
        if self.index is not None:
            self.index.close()
        await self.router.close()
        await self.engine.close()


class CoreCompletionModel:
    """A core's model for inline completion (a `CompletionModel`), read at each request:
    the routed engine, the template (a remote route's, if completion goes to one), the
    local model's special tokens and its tokenizer. Subclass it to replace a part."""

    def __init__(self, core: AppCore) -> None:
        self.core = core

    def engine(self) -> Engine:
        return self.core.engine_for("inlineCompletion")

    def template(self) -> FimTemplate:
        return self.core.remote_template or self.core.template

    def special_tokens(self) -> list[str]:
        info = self.core.model_info
        return info.special_tokens if info else []

    def counter(self) -> TokenCounter | None:
        return self.core.token_counter()


def _scan_and_warm_up(index: WorkspaceIndex, progress: Callable[[int, int], None],
                      cancelled: Callable[[], bool]) -> ScanStats:
    """Scan, then build the lookup tables in the same thread (the first query would)."""
    stats = index.scan(progress, cancelled)
    if not cancelled():
        index.warm_up()
    return stats
