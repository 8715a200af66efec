"""The language server: state shared by the handlers.

Handlers live in one module per feature (`lifecycle`, `inline_completion`, …); each has a
``register(server)`` function, and `ghostline.lsp.app.create_server` wires them to a
server. Handlers are thin: parse the parameters, call a feature function, build the reply.
This module imports no handler module (they all import it).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import tree_sitter
from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from ghostline import __version__
from ghostline.context.completion import ContextService
from ghostline.context.tokenizer import CounterSlot, TokenCounter
from ghostline.engine.base import Engine, EngineError, ModelInfo, ModelLoadError
from ghostline.engine.http.openai import SERVER_FIM
from ghostline.engine.local import LocalEngine
from ghostline.engine.model_files import is_auto
from ghostline.engine.router import FEATURES, LOCAL, EngineRouter, FallbackEvent, RoutedEngine
from ghostline.features.idle_work import IdleWork
from ghostline.features.inline_completion import (
    CompletionInput,
    CompletionOutcome,
    InlineCompleter,
)
from ghostline.index.languages import LanguageSpec
from ghostline.index.workspace import WorkspaceIndex
from ghostline.ledger import Ledger
from ghostline.ledger import default_path as ledger_path
from ghostline.lsp import usage
from ghostline.lsp.protocol import GhostlineProtocol
from ghostline.prompts.fim import (
    FimTemplate,
    detect_template,
    template_by_name,
    template_for_model,
)
from ghostline.settings import Settings

log = logging.getLogger(__name__)

EngineFactory = Callable[[Settings], Engine]
#: Which packaged model each feature uses under the `auto` model setting (threads -> keys).
ModelChooser = Callable[[int], dict[str, str]]


def default_engine_factory(settings: Settings) -> Engine:
    return LocalEngine(settings.model, context_size=settings.context_size, threads=settings.threads,
                       lookup_draft=settings.lookup_draft)


class GhostlineServer(LanguageServer):
    """pygls server plus Ghostline's state: settings, engine, completer."""

    def __init__(self, engine_factory: EngineFactory = default_engine_factory,
                 model_chooser: ModelChooser | None = None) -> None:
        super().__init__(
            "ghostline",
            __version__,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
            protocol_cls=GhostlineProtocol,
        )
        self.settings = Settings()
        self.engine_factory = engine_factory
        self.model_chooser = model_chooser
        self.engine: Engine = engine_factory(self.settings)
        self.model_info: ModelInfo | None = None
        self.template: FimTemplate = template_by_name("none")
        self.model_error: str | None = None
        self._model_error_shown: str | None = None
        self._engine_task: asyncio.Task[None] | None = None
        self.last_completion: CompletionOutcome | None = None
        #: Per document: when the last completion request came, and its sequence number.
        self.last_request_at: dict[str, float] = {}
        self.request_seq: dict[str, int] = {}
        self.index: WorkspaceIndex | None = None
        self.index_stop = threading.Event()
        self._index_task: asyncio.Task[None] | None = None
        self.token_counters = CounterSlot()
        self.context = ContextService(
            lambda: self.index, counter=self._token_counter, template=lambda: self.template)
        #: The local usage ledger (`ghostline stats`), and this client session's part in it.
        self.ledger = Ledger(ledger_path())
        self.usage = usage.UsageSession()
        self.router = EngineRouter(self.settings, lambda: self.engine,
                                   local_model_factory=self._engine_for_model,
                                   on_fallback=self._on_fallback,
                                   on_finished=usage.on_finished)
        #: Template for inline completion when it is routed to a remote backend.
        self.remote_template: FimTemplate | None = None
        #: Prefills and suggestions prepared ahead, while the user does not wait.
        self.idle_work = IdleWork()
        self.completer = InlineCompleter(
            engine=lambda: self.engine_for("inlineCompletion"),
            template=lambda: self.remote_template or self.template,
            special_tokens=lambda: self.model_info.special_tokens if self.model_info else [],
            context=self.context,
            members=self.context.preferred_first,
            known_tree=self._open_tree,
            counter=self._token_counter,
            shown_path=self.context.shown_path,
        )

    def _token_counter(self) -> TokenCounter:
        """The model's tokenizer (an estimate while its vocabulary loads)."""
        return self.token_counters.get(self.model_info.path if self.model_info else None)

    def _open_tree(self, item: CompletionInput, spec: LanguageSpec) -> tree_sitter.Tree | None:
        """The index's up-to-date tree of an open document (see `InlineCompleter`)."""
        if self.index is None:
            return None
        return self.index.open_tree(Path(item.path), item.text, spec.name)

    # -- model ---------------------------------------------------------------------------

    def _engine_for_model(self, model: str) -> Engine:
        """A local engine of another model (a second worker), for a backend of kind local."""
        return self.engine_factory(dataclasses.replace(self.settings, model=model))

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

    def engine_settings_key(self, settings: Settings) -> tuple[object, ...]:
        return (settings.model, settings.context_size, settings.threads)

    async def ensure_model(self) -> bool:
        """Start the engine if needed; on failure tell the user once and return False."""
        await self.choose_models()
        try:
            info = await self.engine.start()
        except ModelLoadError as exc:
            self.report_model_error(str(exc))
            return False
        if info is not self.model_info:
            # The tokenizer that sizes prompts, before the first prompt is built: a window
            # sized by the estimate and then by the real counts would differ, and the
            # second request would find nothing of the first in the KV cache.
            await asyncio.to_thread(self.token_counters.get, info.path, True)
            self.model_info = info
            self.template = template_for_model(info)
            self.model_error = None
            self._model_error_shown = None
            log.info(
                "model %s ready; FIM template %s; self-test %s",
                info.name,
                self.template.name,
                info.self_test,
            )
            if info.self_test.startswith("failed"):
                self.show_message(
                    f"Ghostline: the model {info.name} failed its self-test ({info.self_test}). "
                    "Completions may be poor; set `ghostline.model` to a code completion model.",
                    types.MessageType.Warning,
                )
        return True

    def workable_text(self, text: str) -> bool:
        """Whether a buffer is small enough, and text enough, to parse, index or complete:
        a 50 MB or binary buffer gets harmless empty answers instead of a frozen server."""
        return len(text) <= self.settings.max_file_bytes and "\x00" not in text

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
                self.show_message(f"Ghostline: {exc}", types.MessageType.Warning)
        return detect_template(info.special_tokens, info.metadata)

    def _on_fallback(self, event: FallbackEvent) -> None:
        usage.on_fallback()
        self.show_message(
            f"Ghostline: {event.backend} failed for {event.feature} ({event.reason}); "
            "answered by the local model.",
            types.MessageType.Warning,
        )

    def report_model_error(self, message: str) -> None:
        self.model_error = message
        if self._model_error_shown == message:
            return
        self._model_error_shown = message
        self.show_message(
            f"Ghostline: {message}. Run `ghostline doctor` for details.",
            types.MessageType.Error,
        )

    async def replace_engine(self) -> None:
        old = self.engine
        self.engine = self.engine_factory(self.settings)
        self.model_info = None
        self.router.forget_local()
        self.completer.clear_cache()
        await old.close()

    def show_message(self, message: str, kind: types.MessageType) -> None:
        log.log(logging.ERROR if kind == types.MessageType.Error else logging.INFO, message)
        self.window_show_message(types.ShowMessageParams(type=kind, message=message))

    def engine_for(self, feature: str) -> Engine:
        """The engine that serves `feature` (inlineCompletion, generateTests, hover), with
        the route, the fallback to local and the `Finished.backend` naming who answered."""
        return RoutedEngine(self.router, feature)

    # -- client ----------------------------------------------------------------------------

    def client_supports(self, *path: str) -> bool:
        """True if the client capability at `path` (snake_case attribute names) is set."""
        node: Any = self.client_capabilities
        for name in path:
            node = getattr(node, name, None)
            if node is None:
                return False
        return bool(node)

    async def begin_progress(self, message: str, cancellable: bool = False) -> str | None:
        """Start a `$/progress` where the client supports it; returns the token."""
        if not self.client_supports("window", "work_done_progress"):
            return None
        token = f"ghostline-{uuid.uuid4()}"
        try:
            await asyncio.wait_for(self.work_done_progress.create_async(token), timeout=5)
        except Exception as exc:
            log.warning("progress not available: %s", exc)
            return None
        self.work_done_progress.begin(
            token,
            types.WorkDoneProgressBegin(
                title="Ghostline", message=message, cancellable=cancellable
            ),
        )
        return token

    # -- documents -----------------------------------------------------------------------

    def document_path(self, uri: str) -> str:
        return to_fs_path(uri) or uri

    def workspace_roots(self) -> list[Path]:
        roots = [Path(to_fs_path(f.uri) or "") for f in self.workspace.folders.values()]
        if not roots and self.workspace.root_path:
            roots = [Path(self.workspace.root_path)]
        return [r for r in roots if str(r) and r.is_dir()]
