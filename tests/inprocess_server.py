"""Drive a `GhostlineServer` in this process, message by message (no stdio): what the server
writes is collected by `Transport`, messages go in through `send`. For unit tests of handlers;
the real server over stdio is covered in tests/e2e."""

from __future__ import annotations

import json
from typing import Any


class Transport:
    """Collects what the server writes."""

    def __init__(self) -> None:
        self.written: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def close(self) -> None:
        pass

    def messages(self) -> list[dict[str, Any]]:
        return [json.loads(data.split(b"\r\n\r\n", 1)[-1]) for data in self.written]


def send(server: Any, message: dict[str, Any]) -> None:
    """Hand one JSON-RPC message to the server as if it had arrived."""
    protocol = server.protocol
    protocol.handle_message(protocol.structure_message({"jsonrpc": "2.0", **message}))
