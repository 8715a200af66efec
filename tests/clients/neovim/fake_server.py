"""A fake Ghostline LSP server for the Neovim client's fast tests (no model).

It answers inline completion from the texts in `initializationOptions["fake"]["items"]`: each
text is a completion of the cursor's line from its start, so the reply is what is left of
every text whose start matches the line before the cursor; with "wordRange" the item's range
starts at the identifier before the cursor (positions in the negotiated encoding). A delay
lets a test cancel a request in flight. Hover returns a fixed text,
and code actions with one "Generate tests for NAME" action whose edit appends a line.
Every request, cancellation and reply is appended as one JSON line to the file named by
`$GHOSTLINE_FAKE_LOG`, so tests can see what reached the server.

Run: python fake_server.py  (stdio)
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from typing import Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer

server = LanguageServer("ghostline", "0.0-fake")
_options: dict[str, Any] = {}


def _log(event: str, **fields: Any) -> None:
    path = os.environ.get("GHOSTLINE_FAKE_LOG")
    if not path:
        return
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps({"event": event, "t": time.monotonic(), **fields}) + "\n")


@server.feature(types.INITIALIZE)
def on_initialize(params: types.InitializeParams) -> None:
    opts = params.initialization_options or {}
    _options.update(opts.get("fake", {}) if isinstance(opts, dict) else {})
    _log("initialize", options=opts)


@server.feature(types.INITIALIZED)
async def on_initialized(ls: LanguageServer, _params: types.InitializedParams) -> None:
    if _options.get("errorMessage"):
        ls.window_show_message(
            types.ShowMessageParams(types.MessageType.Error, _options["errorMessage"])
        )
    if _options.get("progress"):
        token = "fake-index"
        await ls.work_done_progress.create_async(token)
        ls.work_done_progress.begin(
            token, types.WorkDoneProgressBegin(title="Indexing", percentage=0)
        )
        await asyncio.sleep(0.05)
        ls.work_done_progress.report(
            token, types.WorkDoneProgressReport(message="3/6 files", percentage=50)
        )
        await asyncio.sleep(0.05)
        ls.work_done_progress.end(token, types.WorkDoneProgressEnd(message="6 files"))


@server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
def on_configuration(params: types.DidChangeConfigurationParams) -> None:
    _log("didChangeConfiguration", settings=params.settings)


@server.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())
async def on_inline_completion(
    params: types.InlineCompletionParams,
) -> types.InlineCompletionList | None:
    doc = server.workspace.get_text_document(params.text_document.uri)
    codec = doc.position_codec
    pos = params.position
    line = doc.lines[pos.line].rstrip("\n") if pos.line < len(doc.lines) else ""
    cursor = codec.position_from_client_units(doc.lines, pos).character
    _log(
        "inlineCompletion",
        line=pos.line,
        character=pos.character,
        text=line,
        trigger=int(params.context.trigger_kind),
        encoding=str(codec.encoding),
    )
    try:
        await asyncio.sleep(float(_options.get("delayMs", 0)) / 1000)
    except asyncio.CancelledError:
        _log("cancelled", line=pos.line, character=pos.character)
        raise
    typed = line[:cursor]
    start = cursor
    if _options.get("wordRange"):
        # Replace from the start of the identifier before the cursor, like some servers do.
        while start > 0 and (typed[start - 1].isalnum() or typed[start - 1] == "_"):
            start -= 1
    start_pos = codec.position_to_client_units(
        doc.lines, types.Position(line=pos.line, character=start)
    )
    items = [
        types.InlineCompletionItem(insert_text=text[start:], range=types.Range(start_pos, pos))
        for text in _options.get("items", [])
        if text.startswith(typed) and len(text) > len(typed)
    ]
    _log("replied", items=len(items))
    return types.InlineCompletionList(items=items)


@server.feature(types.TEXT_DOCUMENT_HOVER)
def on_hover(params: types.HoverParams) -> types.Hover:
    return types.Hover(
        contents=types.MarkupContent(
            kind=types.MarkupKind.Markdown, value=_options.get("hover", "fake docstring")
        )
    )


@server.feature(types.TEXT_DOCUMENT_CODE_ACTION)
def on_code_action(params: types.CodeActionParams) -> list[types.CodeAction]:
    uri = params.text_document.uri
    end = len(server.workspace.get_text_document(uri).lines)
    edit = types.WorkspaceEdit(
        changes={
            uri: [
                types.TextEdit(
                    range=types.Range(types.Position(end, 0), types.Position(end, 0)),
                    new_text="# fake generated tests\n",
                )
            ]
        }
    )
    return [
        types.CodeAction(
            title="Generate tests for add", kind=types.CodeActionKind.Refactor, edit=edit
        )
    ]


if __name__ == "__main__":
    server.start_io()
