"""A small LSP client that drives the real server over stdio (demo and benchmarks).

It plays an editor: opens documents, edits them, asks for inline completions, and answers
the server's `workspace/configuration` requests with the settings it was given.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.client import LanguageClient


def completion_params(uri: str, line: int, character: int) -> types.InlineCompletionParams:
    """An automatic inline-completion request at a position, as editors send it."""
    return types.InlineCompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=types.Position(line=line, character=character),
        context=types.InlineCompletionContext(
            trigger_kind=types.InlineCompletionTriggerKind.Automatic),
    )


def drain_stderr(session: EditorSession) -> None:
    """Read the server's stderr as it comes. pygls makes it a pipe that nobody reads: a
    server that logs enough would block on it."""
    server = session.client._server
    assert server is not None and server.stderr is not None
    stream = server.stderr

    async def drain() -> None:
        while await stream.readline():
            pass

    session.client._async_tasks.append(asyncio.ensure_future(drain()))


class EditorSession:
    """One server process and the documents opened in it."""

    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        self.settings = settings or {}
        self.client = LanguageClient("ghostline-editor", "0.1")
        self.messages: list[types.ShowMessageParams] = []
        self.versions: dict[str, int] = {}
        self.texts: dict[str, str] = {}
        self.progress: list[Any] = []

        @self.client.feature(types.WORKSPACE_CONFIGURATION)
        def configuration(params: types.ConfigurationParams) -> list[Any]:
            return [self.settings for _ in params.items]

        @self.client.feature(types.WINDOW_SHOW_MESSAGE)
        def show_message(params: types.ShowMessageParams) -> None:
            self.messages.append(params)

        @self.client.feature(types.WINDOW_WORK_DONE_PROGRESS_CREATE)
        def progress_create(params: types.WorkDoneProgressCreateParams) -> None:
            return None

        @self.client.feature(types.PROGRESS)
        def progress(params: types.ProgressParams) -> None:
            self.progress.append(params.value)

    async def start(self, root: Path) -> float:
        """Start the server and initialize; returns seconds until the model was ready."""
        started = time.perf_counter()
        await self.client.start_io(
            sys.executable, "-m", "ghostline", "serve", "--log-level", "WARNING"
        )
        drain_stderr(self)
        await self.client.initialize_async(
            types.InitializeParams(
                process_id=None,
                root_uri=root.resolve().as_uri(),
                workspace_folders=[
                    types.WorkspaceFolder(uri=root.resolve().as_uri(), name=root.name)
                ],
                initialization_options=self.settings,
                capabilities=types.ClientCapabilities(
                    workspace=types.WorkspaceClientCapabilities(configuration=True),
                    window=types.WindowClientCapabilities(work_done_progress=True),
                    general=types.GeneralClientCapabilities(
                        position_encodings=[types.PositionEncodingKind.Utf16]
                    ),
                ),
            )
        )
        self.client.initialized(types.InitializedParams())
        deadline = time.monotonic() + 120
        while (await self.status())["state"] == "loading" and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        return time.perf_counter() - started

    async def status(self) -> dict[str, Any]:
        result = await self.client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="ghostline.status")
        )
        return result if isinstance(result, dict) else {}

    async def wait_indexed(self, files: int, timeout: float) -> float | None:
        """Seconds until the server's index holds `files` files; None after `timeout`."""
        started = time.perf_counter()
        while time.perf_counter() - started < timeout:
            if (await self.status()).get("indexedFiles") == files:
                return time.perf_counter() - started
            await asyncio.sleep(0.1)
        return None

    def open(self, path: Path, language_id: str = "python") -> str:
        uri = path.resolve().as_uri()
        text = path.read_text(encoding="utf-8")
        self.versions[uri] = 1
        self.texts[uri] = text
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=uri, language_id=language_id, version=1, text=text
                )
            )
        )
        return uri

    def close(self, uri: str) -> None:
        self.client.text_document_did_close(types.DidCloseTextDocumentParams(
            text_document=types.TextDocumentIdentifier(uri=uri)))

    def reopen(self, uri: str, text: str, language_id: str = "python") -> None:
        """Close and open again with `text` (the server forgets what it showed there)."""
        self.close(uri)
        self.versions[uri] += 1
        self.texts[uri] = text
        self.client.text_document_did_open(types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id=language_id,
                                                 version=self.versions[uri], text=text)))

    def insert(self, uri: str, line: int, character: int, text: str) -> None:
        """Type `text` at a position (no newlines in `text`, UTF-16 = str for ASCII)."""
        self.replace(uri, line, character, character, text)

    def retype_line(self, uri: str, line: int, text: str) -> None:
        """Select a whole line and type `text` over it (one didChange)."""
        self.replace(uri, line, 0, len(self.texts[uri].split("\n")[line]), text)

    def replace(self, uri: str, line: int, start: int, end: int, text: str) -> None:
        """Replace characters `start`..`end` of a line with `text` (no newlines), one
        didChange: typing is an empty range, retyping a line the whole of it."""
        self.versions[uri] += 1
        lines = self.texts[uri].split("\n")
        lines[line] = lines[line][:start] + text + lines[line][end:]
        self.texts[uri] = "\n".join(lines)
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(
                    uri=uri, version=self.versions[uri]
                ),
                content_changes=[
                    types.TextDocumentContentChangePartial(
                        range=types.Range(start=types.Position(line=line, character=start),
                                          end=types.Position(line=line, character=end)),
                        text=text,
                    )
                ],
            )
        )

    def cursor_idle(self, uri: str, line: int, character: int) -> None:
        """Tell the server the cursor came to rest here (``ghostline/cursorIdle``), as
        Ghostline's editor clients do."""
        self.client.protocol.notify("ghostline/cursorIdle", {
            "textDocument": {"uri": uri},
            "position": {"line": line, "character": character},
        })

    async def complete(
        self, uri: str, line: int, character: int, timeout: float = 60
    ) -> tuple[str, float]:
        """Ask for inline completion; returns the first item's text and the latency."""
        started = time.perf_counter()
        result = await asyncio.wait_for(
            self.client.text_document_inline_completion_async(
                completion_params(uri, line, character)
            ),
            timeout,
        )
        elapsed = time.perf_counter() - started
        items = result.items if isinstance(result, types.InlineCompletionList) else result or []
        text = items[0].insert_text if items else ""
        return (text if isinstance(text, str) else text.value), elapsed

    async def stop(self) -> None:
        try:
            await asyncio.wait_for(self.client.shutdown_async(None), 10)
            self.client.exit(None)
        except Exception:
            pass
        await self.client.stop()
