"""A fake Ghostline LSP server for the Neovim client's fast tests (no model, stdlib only, so
it starts in a blink).

Inline completion answers from the texts in `initializationOptions["fake"]["items"]`: each
text completes the cursor's line from its start, so the reply holds what is left of every text
whose start matches the line before the cursor. With "wordRange" the item's range starts at
the identifier before the cursor (positions in the negotiated encoding). "delayMs" delays the
reply, so a test can cancel a request in flight: a cancelled request gets RequestCancelled.
Hover returns a fixed text; code actions one "Generate tests for add" action whose edit
appends a line. With "acceptCommand" each item carries the `ghostline.accepted` command (as
the real server's do); `workspace/executeCommand` is logged, and `ghostline.status` answers
with today's shown and accepted counts. "progress" reports cancellable work-done progress
after `initialized` (held "progressHoldMs" or until cancelled), "errorMessage" sends an error
`window/showMessage`.

Every request, cancellation and reply is appended as one JSON line to `$GHOSTLINE_FAKE_LOG`.

Run: python fake_server.py  (stdio)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
from typing import Any

REQUEST_CANCELLED = -32800
METHOD_NOT_FOUND = -32601


def log(event: str, **fields: Any) -> None:
    path = os.environ.get("GHOSTLINE_FAKE_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"event": event, "t": time.monotonic(), **fields}) + "\n")


def units(text: str, encoding: str) -> int:
    """Length of `text` in the code units of `encoding`."""
    if encoding == "utf-8":
        return len(text.encode("utf-8"))
    if encoding == "utf-16":
        return len(text.encode("utf-16-le")) // 2
    return len(text)


def index_of(line: str, character: int, encoding: str) -> int:
    """Python index in `line` of an LSP character offset in `encoding`."""
    for i in range(len(line) + 1):
        if units(line[:i], encoding) >= character:
            return i
    return len(line)


class FakeServer:
    def __init__(self) -> None:
        self.options: dict[str, Any] = {}
        self.encoding = "utf-16"
        self.docs: dict[str, str] = {}
        self.tasks: dict[Any, asyncio.Task[None]] = {}
        self.pending: dict[Any, asyncio.Future[Any]] = {}
        self.notifications: set[asyncio.Task[None]] = set()
        self.progress_done = asyncio.Event()
        self.next_id = 0
        self.shown = 0
        self.accepted = 0
        self.client_capabilities: dict[str, Any] = {}

    # -- transport -------------------------------------------------------------------------

    def send(self, msg: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **msg}).encode()
        sys.stdout.buffer.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        sys.stdout.buffer.flush()

    async def request(self, method: str, params: Any) -> Any:
        self.next_id += 1
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.pending[self.next_id] = fut
        self.send({"id": self.next_id, "method": method, "params": params})
        return await fut

    async def serve(self) -> None:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        while True:
            length = 0
            while True:
                line = await reader.readline()
                if not line:
                    return
                if line in (b"\r\n", b"\n"):
                    break
                name, _, value = line.decode().partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            msg = json.loads(await reader.readexactly(length))
            if msg.get("method") == "exit":
                return
            self.dispatch(msg)

    def dispatch(self, msg: dict[str, Any]) -> None:
        if "method" not in msg:  # a response to one of our requests
            fut = self.pending.pop(msg.get("id"), None)
            if fut and not fut.done():
                fut.set_result(msg.get("result"))
            return
        method, params, msg_id = msg["method"], msg.get("params") or {}, msg.get("id")
        if method == "$/cancelRequest":
            task = self.tasks.get(params.get("id"))
            if task:
                task.cancel()
            return
        handler = getattr(self, "on_" + method.replace("/", "_").replace("$", "S"), None)
        if msg_id is None:
            if handler:
                task = asyncio.ensure_future(handler(params))
                self.notifications.add(task)  # keep a reference until it is done
                task.add_done_callback(self.notifications.discard)
            return
        self.tasks[msg_id] = asyncio.ensure_future(self.answer(msg_id, handler, params, method))

    async def answer(self, msg_id: Any, handler: Any, params: Any, method: str) -> None:
        try:
            if handler is None:
                self.send({"id": msg_id, "error": {"code": METHOD_NOT_FOUND, "message": method}})
            else:
                self.send({"id": msg_id, "result": await handler(params)})
        except asyncio.CancelledError:
            self.send({"id": msg_id, "error": {"code": REQUEST_CANCELLED, "message": "cancelled"}})
        finally:
            self.tasks.pop(msg_id, None)

    # -- lifecycle and documents -----------------------------------------------------------

    async def on_initialize(self, params: dict[str, Any]) -> dict[str, Any]:
        opts = params.get("initializationOptions") or {}
        self.options = opts.get("fake", {}) if isinstance(opts, dict) else {}
        offered = (params.get("capabilities") or {}).get("general", {}).get("positionEncodings")
        self.encoding = "utf-16" if not offered or "utf-16" in offered else offered[0]
        self.client_capabilities = params.get("capabilities") or {}
        log("initialize", options=opts, experimental=self.client_capabilities.get("experimental"))
        return {
            "capabilities": {
                "positionEncoding": self.encoding,
                "textDocumentSync": {"openClose": True, "change": 1},
                "inlineCompletionProvider": {},
                "hoverProvider": True,
                "codeActionProvider": True,
                "executeCommandProvider": {"commands": ["ghostline.accepted", "ghostline.status"]},
            },
            "serverInfo": {"name": "ghostline", "version": "0.0-fake"},
        }

    async def on_initialized(self, _params: Any) -> None:
        if self.options.get("errorMessage"):
            message = {"type": 1, "message": self.options["errorMessage"]}
            self.send({"method": "window/showMessage", "params": message})
        if self.options.get("progress"):
            token = "fake-index"
            await self.request("window/workDoneProgress/create", {"token": token})
            hold = float(self.options.get("progressHoldMs", 0)) / 1000
            begin = {"kind": "begin", "title": "Indexing", "percentage": 0, "cancellable": True}
            for value, pause in (
                (begin, 0.05),
                ({"kind": "report", "message": "3/6 files", "percentage": 50}, hold),
                ({"kind": "end", "message": "6 files"}, 0),
            ):
                self.send({"method": "$/progress", "params": {"token": token, "value": value}})
                self.progress_done.clear()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self.progress_done.wait(), pause or 0.05)

    async def on_window_workDoneProgress_cancel(self, params: dict[str, Any]) -> None:
        log("progressCancel", token=params.get("token"))
        self.progress_done.set()

    async def on_shutdown(self, _params: Any) -> None:
        return None

    async def on_textDocument_didOpen(self, params: dict[str, Any]) -> None:
        self.docs[params["textDocument"]["uri"]] = params["textDocument"]["text"]

    async def on_textDocument_didChange(self, params: dict[str, Any]) -> None:
        self.docs[params["textDocument"]["uri"]] = params["contentChanges"][-1]["text"]

    async def on_workspace_didChangeConfiguration(self, params: dict[str, Any]) -> None:
        log("didChangeConfiguration", settings=params.get("settings"))

    # -- features --------------------------------------------------------------------------

    async def on_textDocument_inlineCompletion(self, params: dict[str, Any]) -> dict[str, Any]:
        pos = params["position"]
        lines = self.docs.get(params["textDocument"]["uri"], "").split("\n")
        line = lines[pos["line"]] if pos["line"] < len(lines) else ""
        cursor = index_of(line, pos["character"], self.encoding)
        log(
            "inlineCompletion",
            line=pos["line"],
            character=pos["character"],
            text=line,
            trigger=params.get("context", {}).get("triggerKind"),
            encoding=self.encoding,
        )
        try:
            await asyncio.sleep(float(self.options.get("delayMs", 0)) / 1000)
        except asyncio.CancelledError:
            log("cancelled", line=pos["line"], character=pos["character"])
            raise
        typed = line[:cursor]
        start = cursor
        if self.options.get("wordRange"):
            while start > 0 and (typed[start - 1].isalnum() or typed[start - 1] == "_"):
                start -= 1
        start_pos = {"line": pos["line"], "character": units(line[:start], self.encoding)}
        items = [
            {"insertText": text[start:], "range": {"start": start_pos, "end": pos}}
            for text in self.options.get("items", [])
            if text.startswith(typed) and len(text) > len(typed)
        ]
        if self.options.get("acceptCommand"):
            for number, item in enumerate(items):
                argument = {"id": f"s{self.shown}-{number}", "feature": "inlineCompletion",
                            "length": len(item["insertText"])}
                item["command"] = {"title": "accepted", "command": "ghostline.accepted",
                                   "arguments": [argument]}
        self.shown += bool(items)
        log("replied", items=len(items))
        return {"items": items}

    async def on_ghostline_cursorIdle(self, params: dict[str, Any]) -> None:
        log("cursorIdle", uri=params["textDocument"]["uri"], position=params["position"])

    async def on_workspace_executeCommand(self, params: dict[str, Any]) -> Any:
        command = params.get("command")
        log("executeCommand", command=command, arguments=params.get("arguments"))
        if command == "ghostline.accepted":
            self.accepted += 1
            return {"recorded": True}
        if command == "ghostline.status":
            rate = self.accepted / self.shown if self.shown else None
            return {"state": "ready", "model": "fake model", "modelPath": "/fake.gguf",
                    "template": "none", "backend": "fake",
                    "usageToday": {"requests": self.shown, "shown": self.shown,
                                   "accepted": self.accepted, "acceptanceRate": rate,
                                   "escalations": 0, "fallbacks": 0}}
        return None

    async def on_textDocument_hover(self, _params: Any) -> dict[str, Any]:
        text = self.options.get("hover", "fake docstring")
        return {"contents": {"kind": "markdown", "value": text}}

    async def on_textDocument_codeAction(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        uri = params["textDocument"]["uri"]
        end = {"line": self.docs.get(uri, "").count("\n"), "character": 0}
        edit = {"range": {"start": end, "end": end}, "newText": "# fake generated tests\n"}
        return [
            {
                "title": "Generate tests for add",
                "kind": "refactor",
                "edit": {"changes": {uri: [edit]}},
            }
        ]


if __name__ == "__main__":
    asyncio.run(FakeServer().serve())
