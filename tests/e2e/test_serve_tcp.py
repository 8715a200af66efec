"""`ghostline serve --tcp` answers LSP over a loopback socket."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _send(sock: socket.socket, message: dict[str, object]) -> None:
    body = json.dumps(message).encode()
    sock.sendall(b"Content-Length: %d\r\n\r\n" % len(body) + body)


def _receive(sock: socket.socket) -> dict[str, object]:
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(4096)
    header, rest = data.split(b"\r\n\r\n", 1)
    length = int(header.split(b"Content-Length:")[1].split(b"\r\n")[0])
    while len(rest) < length:
        rest += sock.recv(4096)
    result: dict[str, object] = json.loads(rest[:length])
    return result


def test_tcp_initialize_invalid_params_and_shutdown() -> None:
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "ghostline", "serve", "--tcp",
                               f"127.0.0.1:{port}"], stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                sock = socket.create_connection(("127.0.0.1", port), timeout=30)
                break
            except OSError:
                assert time.monotonic() < deadline, "server did not listen"
                time.sleep(0.1)
        with sock:
            _send(sock, {"jsonrpc": "2.0", "id": 1, "method": "initialize",
                         "params": {"processId": None, "rootUri": None, "capabilities": {}}})
            reply = _receive(sock)
            capabilities = reply["result"]["capabilities"]  # type: ignore[index]
            assert capabilities["inlineCompletionProvider"] is not None
            assert capabilities["codeActionProvider"]["resolveProvider"] is True
            # Parameters of the wrong type get -32602 instead of no answer at all.
            _send(sock, {"jsonrpc": "2.0", "id": "bad", "method": "textDocument/hover",
                         "params": {"textDocument": 5, "position": "here"}})
            reply = _receive(sock)
            assert reply["id"] == "bad"
            assert reply["error"]["code"] == -32602  # type: ignore[index]
            _send(sock, {"jsonrpc": "2.0", "id": 2, "method": "shutdown"})
            assert _receive(sock)["id"] == 2
            _send(sock, {"jsonrpc": "2.0", "method": "exit"})
    finally:
        server.terminate()
        server.wait(timeout=10)
