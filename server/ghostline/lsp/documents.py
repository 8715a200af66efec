"""Keep the workspace index in step with the editor and the disk.

The first scan runs in a thread after `initialized`, reporting `$/progress`; requests are
served meanwhile. Open documents are re-parsed from the editor's text on every change
(their editor text wins over the disk copy); the disk watcher and
`workspace/didChangeWatchedFiles` cover everything else.

A buffer over `maxFileBytes`, or with NUL bytes, is not indexed and not remembered for
context, like such a file on disk: parsing a 58 MB buffer on the event loop froze the
server for 51 s. Completion and hover answer nothing for it anyway.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

from lsprotocol import types

from ghostline.lsp.server import GhostlineServer

log = logging.getLogger(__name__)

#: Seconds between two `$/progress` reports of the scan.
PROGRESS_INTERVAL_S = 0.25


def register(server: GhostlineServer) -> None:
    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def on_open(ls: GhostlineServer, params: types.DidOpenTextDocumentParams) -> None:
        item = params.text_document
        path = Path(ls.document_path(item.uri))
        core = ls.core
        if not core.workable_text(item.text):
            log.info("%s: too large or binary; not indexed", path)
            return
        core.context.opened(str(path), item.text)
        if core.index is not None:
            core.index.open_document(path, item.text, item.language_id)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def on_change(ls: GhostlineServer, params: types.DidChangeTextDocumentParams) -> None:
        uri = params.text_document.uri
        document = ls.workspace.get_text_document(uri)
        path = Path(ls.document_path(uri))
        core = ls.core
        if not core.workable_text(document.source):
            if core.index is not None and core.index.is_open(path):
                core.index.close_document(path)  # it grew past the limit
            return
        core.context.changed(str(path), document.source, next(
            (c.range.start.line for c in params.content_changes if hasattr(c, "range")), 0))
        if core.index is None:
            return
        core.index.update_document(path, document.source)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def on_close(ls: GhostlineServer, params: types.DidCloseTextDocumentParams) -> None:
        core = ls.core
        core.completer.forget(params.text_document.uri)
        if core.index is not None:
            core.index.close_document(Path(ls.document_path(params.text_document.uri)))

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    async def on_watched(ls: GhostlineServer, params: types.DidChangeWatchedFilesParams
                         ) -> None:
        # A checkout can change thousands of files: parse them off the event loop.
        index = ls.core.index
        if index is not None:
            paths = [Path(ls.document_path(c.uri)) for c in params.changes]
            await asyncio.to_thread(index.files_changed, paths)


async def start_index(ls: GhostlineServer) -> None:
    """Create the index over the workspace folders, scan it, then watch the disk."""
    roots = ls.workspace_roots()
    if not roots:
        return
    index = ls.core.open_index(roots)
    for document in list(ls.workspace.text_documents.values()):
        index.open_document(
            Path(ls.document_path(document.uri)), document.source, document.language_id
        )
    token = await ls.begin_progress("indexing workspace")
    loop = asyncio.get_running_loop()
    last_report = 0.0

    def progress(done: int, total: int) -> None:
        nonlocal last_report
        now = time.monotonic()
        if token is None or now - last_report < PROGRESS_INTERVAL_S or total == 0:
            return
        last_report = now
        report = types.WorkDoneProgressReport(
            message=f"{done}/{total} files", percentage=int(100 * done / total)
        )
        loop.call_soon_threadsafe(ls.work_done_progress.report, token, report)

    stop = ls.core.index_stop
    try:
        stats = await ls.core.scan_index(index, progress)
    except Exception as exc:  # the server must keep serving without an index
        log.exception("indexing failed")
        ls.show_message(f"Ghostline: indexing failed: {exc}", types.MessageType.Warning)
        stats = None
    if token is not None:
        message = (
            f"{stats.files_total} files ({stats.files_cached} from cache) in {stats.seconds:.1f}s"
            if stats
            else "failed"
        )
        ls.work_done_progress.end(token, types.WorkDoneProgressEnd(message=message))
    if stats is not None and not stop.is_set():
        log.info(
            "indexed %d files (%d parsed, %d cached) in %.2fs",
            stats.files_total,
            stats.files_parsed,
            stats.files_cached,
            stats.seconds,
        )
        try:
            index.start_watching()
        except Exception as exc:  # inotify limits, vanished folders: index without watching
            log.warning("cannot watch the workspace for changes: %s", exc)

