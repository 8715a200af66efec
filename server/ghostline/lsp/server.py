"""The language server: state shared by the handlers.

Handlers live in one module per feature (`lifecycle`, `inline_completion`, …); each has a
``register(server)`` function, and `ghostline.lsp.app.create_server` wires them to a
server. Handlers are thin: parse the parameters, call the application core
(`ghostline.core.AppCore`, ``ls.core``: settings, engines, model, index, context, features),
build the reply. The server itself keeps what is the editor's: the client's capabilities,
the open documents, progress, messages, the usage ledger and the completion requests in
flight. This module imports no handler module (they all import it).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from ghostline import __version__
from ghostline.core import (
    AppCore,
    EngineFactory,
    Level,
    ModelChooser,
    default_engine_factory,
)
from ghostline.engine.base import Finished
from ghostline.engine.router import FallbackEvent
from ghostline.features.inline_completion import CompletionOutcome
from ghostline.ledger import Ledger
from ghostline.ledger import default_path as ledger_path
from ghostline.lsp import usage
from ghostline.lsp.protocol import GhostlineProtocol

log = logging.getLogger(__name__)

__all__ = ["EngineFactory", "GhostlineServer", "ModelChooser", "default_engine_factory"]

_MESSAGE_TYPES = {"error": types.MessageType.Error, "warning": types.MessageType.Warning,
                  "info": types.MessageType.Info}


class GhostlineServer(LanguageServer):
    """pygls server around the application core (``core``), and its `Frontend`: the
    core's messages go to the editor, its generations to the usage ledger."""

    def __init__(self, engine_factory: EngineFactory = default_engine_factory,
                 model_chooser: ModelChooser | None = None) -> None:
        super().__init__(
            "ghostline",
            __version__,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
            protocol_cls=GhostlineProtocol,
        )
        self.core = AppCore(engine_factory=engine_factory, model_chooser=model_chooser,
                            frontend=self)
        self._engine_task: asyncio.Task[None] | None = None
        self.last_completion: CompletionOutcome | None = None
        #: Per document: when the last completion request came, and its sequence number.
        self.last_request_at: dict[str, float] = {}
        self.request_seq: dict[str, int] = {}
        self._index_task: asyncio.Task[None] | None = None
        #: The local usage ledger (`ghostline stats`), and this client session's part in it.
        self.ledger = Ledger(ledger_path())
        self.usage = usage.UsageSession()

    # -- the core's frontend -----------------------------------------------------------------

    def tell(self, message: str, level: Level) -> None:
        self.show_message(message, _MESSAGE_TYPES[level])

    def fell_back(self, event: FallbackEvent) -> None:
        usage.on_fallback()

    def finished(self, item: Finished) -> None:
        usage.on_finished(item)

    def show_message(self, message: str, kind: types.MessageType) -> None:
        log.log(logging.ERROR if kind == types.MessageType.Error else logging.INFO, message)
        self.window_show_message(types.ShowMessageParams(type=kind, message=message))

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
