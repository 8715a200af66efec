"""Reliability fixtures: the real server over stdio, driven by a raw framed JSON-RPC client.

pytest-lsp cannot send a frame that is not JSON, nor a request whose parameters do not
match the protocol's types; this client writes bytes. A reader thread splits the server's
stdout into frames, keeps responses by id, stores notifications, and answers the server's
own requests (configuration, progress tokens, registrations) as an editor would.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest

SERVER = [sys.executable, "-m", "ghostline", "serve", "--log-level", "WARNING"]
SAMPLE = Path(__file__).parents[2] / "server" / "ghostline" / "demo_data" / "shop"
#: The options of every reliability session: one thread (shared 2-core machines), a
#: generous time limit (latency is measured by the benchmarks, not here).
OPTIONS: dict[str, Any] = {"timeLimitS": 20.0, "threads": 1}
#: A function body the default model completes reliably (a health check after each case).
HEALTH_TEXT = (
    "import math\n\n\n"
    "def circle_area(radius: float) -> float:\n"
    '    """Return the area of a circle with the given radius."""\n'
    "    return \n"
)
HEALTH_POSITION = {"line": 5, "character": 11}

Message = dict[str, Any]


class ServerGone(AssertionError):
    """The server closed its stdout or did not answer in time."""


class RawServer:
    """One `ghostline serve` process spoken to in raw `Content-Length` frames."""

    def __init__(self, stderr_path: Path, env: dict[str, str] | None = None,
                 command: list[str] | None = None) -> None:
        self._stderr = open(stderr_path, "wb")  # noqa: SIM115 (closed in close())
        self.stderr_path = stderr_path
        self.process = subprocess.Popen(
            command or SERVER, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self._stderr, env=env or dict(os.environ),
        )
        self._ids = itertools.count(1)
        self._write_lock = threading.Lock()
        self._waiting: dict[object, queue.Queue[Message]] = {}
        self._waiting_lock = threading.Lock()
        self.notifications: list[Message] = []
        self.server_requests: list[Message] = []
        self.unmatched: list[Message] = []
        self.closed = threading.Event()
        self.documents: dict[str, int] = {}
        self.health_uri: str | None = None
        self._reader = threading.Thread(target=self._read_loop, daemon=True)
        self._reader.start()

    # --- wire ---------------------------------------------------------------------------

    def send_raw(self, body: bytes, header: bytes | None = None) -> None:
        """Write one frame: ``header`` (default: a correct Content-Length) then ``body``."""
        if header is None:
            header = f"Content-Length: {len(body)}\r\n\r\n".encode("ascii")
        stdin = self.process.stdin
        assert stdin is not None
        with self._write_lock:
            stdin.write(header + body)
            stdin.flush()

    def send(self, message: Message) -> None:
        self.send_raw(json.dumps({"jsonrpc": "2.0", **message}).encode("utf-8"))

    def request(self, method: str, params: Any = None, timeout: float = 30.0,
                msg_id: object = None) -> Message:
        """Send a request and wait for its response message (result or error)."""
        msg_id = next(self._ids) if msg_id is None else msg_id
        box: queue.Queue[Message] = queue.Queue()
        with self._waiting_lock:
            self._waiting[msg_id] = box
        message: Message = {"id": msg_id, "method": method}
        if params is not None:
            message["params"] = params
        try:
            self.send(message)
            return self._wait(box, timeout, f"{method} (id {msg_id!r})")
        finally:
            with self._waiting_lock:
                self._waiting.pop(msg_id, None)

    def expect_response(self, msg_id: object, timeout: float = 30.0) -> queue.Queue[Message]:
        """Register interest in a response before sending its request by hand."""
        box: queue.Queue[Message] = queue.Queue()
        with self._waiting_lock:
            self._waiting[msg_id] = box
        return box

    def _wait(self, box: queue.Queue[Message], timeout: float, what: str) -> Message:
        deadline = time.monotonic() + timeout
        while True:
            try:
                return box.get(timeout=0.1)
            except queue.Empty:
                pass
            if self.closed.is_set() and box.empty():
                raise ServerGone(f"server closed its output before answering {what}; "
                                 f"stderr tail: {self.stderr_tail()}")
            if time.monotonic() > deadline:
                raise ServerGone(f"no answer to {what} within {timeout:.0f}s")

    def wait_box(self, box: queue.Queue[Message], timeout: float = 30.0) -> Message:
        return self._wait(box, timeout, "a hand-sent request")

    def notify(self, method: str, params: Any = None) -> None:
        message: Message = {"method": method}
        if params is not None:
            message["params"] = params
        self.send(message)

    def _read_loop(self) -> None:
        stdout = self.process.stdout
        assert stdout is not None
        try:
            while True:
                message = _read_frame(stdout)
                if message is None:
                    break
                self._dispatch(message)
        finally:
            self.closed.set()

    def _dispatch(self, message: Message) -> None:
        if "method" in message and "id" in message:
            self.server_requests.append(message)
            self._answer_server_request(message)
        elif "method" in message:
            self.notifications.append(message)
        else:
            msg_id = message.get("id")
            with self._waiting_lock:
                box = self._waiting.get(msg_id) if isinstance(msg_id, (int, str)) else None
            if box is None:
                self.unmatched.append(message)
            else:
                box.put(message)

    def _answer_server_request(self, message: Message) -> None:
        result: Any = None
        if message["method"] == "workspace/configuration":
            result = [None for _ in message.get("params", {}).get("items", [])]
        with contextlib.suppress(BrokenPipeError, ValueError, OSError):
            self.send({"id": message["id"], "result": result})

    # --- editor actions -----------------------------------------------------------------

    def initialize(self, root: Path, options: dict[str, Any] | None = None,
                   encodings: list[str] | None = None) -> Message:
        capabilities: dict[str, Any] = {
            "workspace": {"configuration": True},
            "window": {"workDoneProgress": True},
        }
        if encodings:
            capabilities["general"] = {"positionEncodings": encodings}
        response = self.request("initialize", {
            "processId": os.getpid(),
            "rootUri": root.as_uri(),
            "workspaceFolders": [{"uri": root.as_uri(), "name": root.name}],
            "capabilities": capabilities,
            "initializationOptions": {**OPTIONS, **(options or {})},
        }, timeout=60)
        assert "result" in response, response
        self.notify("initialized", {})
        return response

    def open(self, path: Path, text: str, language_id: str = "python") -> str:
        uri = path.as_uri()
        self.documents[uri] = 1
        self.notify("textDocument/didOpen", {"textDocument": {
            "uri": uri, "languageId": language_id, "version": 1, "text": text}})
        return uri

    def change(self, uri: str, text: str, start: tuple[int, int] | None = None,
               end: tuple[int, int] | None = None, version: int | None = None) -> None:
        """An edit: the whole text when ``start`` is None, else a ranged replacement."""
        self.documents[uri] = version if version is not None else self.documents[uri] + 1
        change: dict[str, Any] = {"text": text}
        if start is not None:
            end = end or start
            change["range"] = {"start": {"line": start[0], "character": start[1]},
                               "end": {"line": end[0], "character": end[1]}}
        self.notify("textDocument/didChange", {
            "textDocument": {"uri": uri, "version": self.documents[uri]},
            "contentChanges": [change]})

    def complete(self, uri: str, line: int, character: int, timeout: float = 60) -> Message:
        return self.request("textDocument/inlineCompletion", {
            "textDocument": {"uri": uri},
            "position": {"line": line, "character": character},
            "context": {"triggerKind": 2},
        }, timeout=timeout)

    def hover(self, uri: str, line: int, character: int, timeout: float = 60) -> Message:
        return self.request("textDocument/hover", {
            "textDocument": {"uri": uri}, "position": {"line": line, "character": character},
        }, timeout=timeout)

    def code_actions(self, uri: str, line: int, character: int,
                     timeout: float = 60) -> Message:
        position = {"line": line, "character": character}
        return self.request("textDocument/codeAction", {
            "textDocument": {"uri": uri}, "range": {"start": position, "end": position},
            "context": {"diagnostics": []},
        }, timeout=timeout)

    def status(self) -> dict[str, Any]:
        response = self.request("workspace/executeCommand",
                                {"command": "ghostline.status", "arguments": []})
        assert isinstance(response.get("result"), dict), response
        return response["result"]

    def wait_ready(self, timeout: float = 120) -> dict[str, Any]:
        """Wait until the model is loaded and the first index scan is done."""
        deadline = time.monotonic() + timeout
        while True:
            status = self.status()
            if status["state"] != "loading" and status["indexedFiles"] is not None:
                return status
            if time.monotonic() > deadline:
                raise ServerGone(f"server not ready after {timeout:.0f}s: {status}")
            time.sleep(0.1)

    def completion_text(self, response: Message) -> str:
        """The first suggestion's text ('' for an empty answer); fails on an error."""
        assert "error" not in response, response
        result = response.get("result")
        items = result.get("items", []) if isinstance(result, dict) else result or []
        if not items:
            return ""
        text = items[0]["insertText"]
        return text if isinstance(text, str) else str(text["value"])

    def take_messages(self, settle_s: float = 0.3) -> list[str]:
        """`window/showMessage` texts since the last call (after a short settle time)."""
        time.sleep(settle_s)
        shown = [n for n in self.notifications if n.get("method") == "window/showMessage"]
        for item in shown:
            self.notifications.remove(item)
        return [str(n.get("params", {}).get("message", "")) for n in shown]

    # --- health ---------------------------------------------------------------------------

    def alive(self) -> bool:
        return self.process.poll() is None and not self.closed.is_set()

    def stderr_tail(self, size: int = 2000) -> str:
        try:
            return self.stderr_path.read_bytes()[-size:].decode("utf-8", "replace")
        except OSError:
            return ""

    def close(self) -> None:
        if self.alive():
            try:
                self.request("shutdown", timeout=15)
                self.notify("exit")
            except (ServerGone, OSError, ValueError):
                pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        self._stderr.close()


def _read_frame(stream: IO[bytes]) -> Message | None:
    """One message from ``stream``; None at end of file."""
    length = None
    while True:
        line = stream.readline()
        if not line:
            return None
        line = line.strip()
        if not line:
            break
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    if length is None:
        raise ServerGone("a frame without Content-Length from the server")
    body = stream.read(length)
    if len(body) < length:
        return None
    parsed = json.loads(body)
    assert isinstance(parsed, dict), parsed
    return parsed


_checks = itertools.count(1)


def assert_serving(server: RawServer, root: Path) -> None:
    """The server still answers a real inline completion and `ghostline.status`.

    Each check edits the docstring of one health document, so the answer comes from the
    model (not from the result cache of an earlier check) while the prompt's start stays
    the same (the model's KV cache keeps the check cheap).
    """
    assert server.alive(), f"server died; stderr tail: {server.stderr_tail()}"
    number = next(_checks)
    text = HEALTH_TEXT.replace("given radius.", f"given radius (check {number}).")
    if server.health_uri is None:
        server.health_uri = server.open(root / "health_check.py", text)
    else:
        server.change(server.health_uri, text)
    answer = server.complete(server.health_uri, **HEALTH_POSITION)
    text = server.completion_text(answer)
    assert text.strip(), "the health completion came back empty"
    status = server.status()
    assert status["state"] == "ready", status
    assert server.alive()


def copy_sample(target: Path) -> Path:
    root = target / "shop"
    shutil.copytree(SAMPLE, root)
    return root


@pytest.fixture(scope="module")
def module_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_sample(tmp_path_factory.mktemp("workspace"))


def start_ready_server(root: Path, log_dir: Path, options: dict[str, Any] | None = None,
                       encodings: list[str] | None = None,
                       env: dict[str, str] | None = None,
                       command: list[str] | None = None) -> RawServer:
    server = RawServer(log_dir / "server-stderr.log", env=env, command=command)
    try:
        server.initialize(root, options, encodings)
        server.wait_ready()
    except BaseException:
        server.close()
        raise
    return server


@pytest.fixture(scope="module")
def raw_server(module_root: Path, tmp_path_factory: pytest.TempPathFactory
               ) -> Iterator[RawServer]:
    """One ready server for the module (model loaded, workspace indexed)."""
    server = start_ready_server(module_root, tmp_path_factory.mktemp("logs"))
    yield server
    server.close()

