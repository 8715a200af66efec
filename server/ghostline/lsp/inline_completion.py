"""`textDocument/inlineCompletion`: ghost text at the cursor."""

from __future__ import annotations

import asyncio
import logging
import time

from lsprotocol import types
from pygls.exceptions import JsonRpcInternalError

from ghostline.engine.base import EngineError, ModelLoadError
from ghostline.features.inline_completion import CompletionInput
from ghostline.lsp import escalation, usage
from ghostline.lsp.positions import cursor_offset
from ghostline.lsp.server import GhostlineServer

log = logging.getLogger(__name__)

FEATURE = "inlineCompletion"
#: Sent by Ghostline's clients when the cursor comes to rest (not part of LSP):
#: ``{"textDocument": {"uri": ...}, "position": {"line": ..., "character": ...}}``.
CURSOR_IDLE = "ghostline/cursorIdle"


def register(server: GhostlineServer) -> None:
    @server.feature(
        types.TEXT_DOCUMENT_INLINE_COMPLETION,
        types.InlineCompletionOptions(),
    )
    async def inline_completion(
        ls: GhostlineServer, params: types.InlineCompletionParams
    ) -> types.InlineCompletionList | None:
        return await complete(ls, params)

    @server.feature(CURSOR_IDLE)
    def cursor_idle(ls: GhostlineServer, params: object) -> None:
        item = _idle_input(ls, params)
        if item is not None:
            core = ls.core
            core.idle_work.submit(lambda: core.completer.prefill(item, core.settings))


async def complete(
    ls: GhostlineServer, params: types.InlineCompletionParams
) -> types.InlineCompletionList | None:
    if params.text_document.uri not in ls.workspace.text_documents:
        return None  # never opened: nothing the editor shows, nothing to complete
    doc = ls.workspace.get_text_document(params.text_document.uri)
    core = ls.core
    settings = core.settings
    if not settings.language_enabled(doc.language_id or ""):
        return None
    source = doc.source
    if not core.workable_text(source):
        return None
    offset, position = cursor_offset(doc, params.position)
    if not await core.ready_for_completion():
        return None
    item = CompletionInput(
        uri=doc.uri, path=ls.document_path(doc.uri), language_id=doc.language_id or "",
        text=source, offset=offset,
    )
    arrived = _arrival(ls, doc.uri)

    async def still_wanted() -> bool:
        return await _debounce(ls, doc.uri, *arrived)

    with usage.track(ls, FEATURE, item.language_id) as tracked:
        try:
            outcome = await core.completer.complete(item, settings, before_model=still_wanted)
        except ModelLoadError as exc:
            core.report_model_error(str(exc))
            return None
        except EngineError as exc:
            raise JsonRpcInternalError(message=f"Ghostline: {exc}") from exc
        outcome = await escalation.improve_completion(ls, item, outcome, doc.version, arrived[0])
        ls.last_completion = outcome
        log.debug("completion %s/%s %r (%s)", outcome.source, outcome.mode, outcome.text,
                  outcome.reason)
        if not outcome.text:
            # A request that gave way to a newer one is not a request the user made.
            tracked.counted = not outcome.reason.startswith("superseded")
            return types.InlineCompletionList(items=[])
        tracked.shown = True
        if settings.idle_prefill and outcome.source in ("model", "cache"):
            shown = outcome.text
            core.idle_work.submit(lambda: core.completer.complete_ahead(item, shown, settings))
        return types.InlineCompletionList(items=[
            types.InlineCompletionItem(
                insert_text=outcome.text,
                range=types.Range(start=position, end=position),
                command=usage.accept_command(ls, tracked, outcome.text),
            )
        ])


def _idle_input(ls: GhostlineServer, params: object) -> CompletionInput | None:
    """The cursor of a ``ghostline/cursorIdle`` notification, when idle-time work may run
    there (an open, enabled, workable document, the model loaded); None otherwise, also
    for malformed parameters (a notification gets no error answer)."""
    try:
        uri = str(_field(_field(params, "textDocument"), "uri"))
        position = _field(params, "position")
        line = int(str(_field(position, "line")))
        character = int(str(_field(position, "character")))
    except (KeyError, TypeError, ValueError):
        log.debug("ignored a malformed %s: %r", CURSOR_IDLE, params)
        return None
    core = ls.core
    settings = core.settings
    if (not settings.idle_prefill or uri not in ls.workspace.text_documents
            or core.model_info is None):
        return None
    doc = ls.workspace.get_text_document(uri)
    if (not settings.language_enabled(doc.language_id or "")
            or not core.workable_text(doc.source)):
        return None
    offset, _ = cursor_offset(doc, types.Position(line=max(line, 0),
                                                  character=max(character, 0)))
    return CompletionInput(uri=doc.uri, path=ls.document_path(doc.uri),
                           language_id=doc.language_id or "", text=doc.source, offset=offset)


def _field(value: object, name: str) -> object:
    """`value[name]` of a notification's parameters (pygls hands over the JSON object of a
    method it does not know as a dict; an object with attributes is accepted too)."""
    if isinstance(value, dict):
        return value[name]
    snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in name)
    for attribute in (name, snake):
        if hasattr(value, attribute):
            return getattr(value, attribute)
    raise KeyError(name)


def _arrival(ls: GhostlineServer, uri: str) -> tuple[int, float]:
    """Number this request for its document; returns (sequence, seconds since the last)."""
    now = time.monotonic()
    gap = now - ls.last_request_at.get(uri, float("-inf"))
    ls.last_request_at[uri] = now
    ls.request_seq[uri] = seq = ls.request_seq.get(uri, 0) + 1
    return seq, gap


async def _debounce(ls: GhostlineServer, uri: str, seq: int, gap: float) -> bool:
    """Adaptive debounce before a model call; False if a newer request took over.

    The first request after a pause goes straight to the model (no added latency); during
    fast typing each request waits `debounce_ms` and gives way if a newer one arrived.
    Answers from the cache or from a shown suggestion never wait.
    """
    delay = ls.core.settings.debounce_ms / 1000
    if delay > 0 and gap < delay:
        await asyncio.sleep(delay)
    return ls.request_seq.get(uri) == seq
