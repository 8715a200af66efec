"""A tiny real HTTP/1.1 server on 127.0.0.1 that replays recorded response bodies.

Not a mock transport: the adapters talk to it through httpx over a real socket, with chunked
transfer encoding and keep-alive, so closing a stream, a server that drops the connection
or one that stalls behave as they do against llama-server or Ollama. It records what each
request sent and how each response ended ("complete", "client closed", "dropped").
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

RECORDINGS = Path(__file__).resolve().parents[2] / "fixtures" / "recordings"


def recording_pieces(name: str) -> list[bytes]:
    """The body of recording `name` split the way the server sends it (event / line)."""
    data = (RECORDINGS / name).read_bytes()
    if name.endswith(".sse"):
        return [piece + b"\n\n" for piece in data.split(b"\n\n") if piece.strip()]
    if name.endswith(".jsonl"):
        return [line + b"\n" for line in data.split(b"\n") if line.strip()]
    return [data]


def recorded(name: str) -> dict[str, Any]:
    """What `recordings.json` of the recording's folder says about it (request, status)."""
    manifest = RECORDINGS / name.split("/", 1)[0] / "recordings.json"
    if not manifest.exists():
        return {}
    files: dict[str, Any] = json.loads(manifest.read_text())["files"]
    return dict(files.get(name.split("/", 1)[1], {}))


def content_type(name: str) -> str:
    if name.endswith(".sse"):
        return "text/event-stream"
    if name.endswith(".jsonl"):
        return "application/x-ndjson"
    return "application/json"


@dataclass
class Route:
    pieces: list[bytes]
    content_type: str
    status: int = 200
    #: Pause before each piece (lets a test act mid-stream).
    delay_s: float = 0.0
    #: Abort the connection (as a killed server does) after this many pieces.
    drop_after: int | None = None
    #: Stop sending (without closing) after this many pieces.
    stall_after: int | None = None


@dataclass
class Seen:
    """One request the server received and how its response ended."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    sent: int = 0
    outcome: str = "pending"
    done: asyncio.Event = field(default_factory=asyncio.Event)


class ReplayServer:
    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Route] = {}
        self.requests: list[Seen] = []
        self.connections = 0
        self._server: asyncio.Server | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def serve(self, method: str, path: str, recording: str, **options: Any) -> Route:
        """Answer `method path` with `recording`, with its recorded status unless given."""
        if "status" not in options and "status" in recorded(recording):
            options["status"] = recorded(recording)["status"]
        route = Route(recording_pieces(recording), content_type(recording), **options)
        self.routes[(method, path)] = route
        return route

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._connection, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        leftover: bytes | None = b""
        try:
            while leftover is not None:
                leftover = await self._one_request(reader, writer, leftover)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def _one_request(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, leftover: bytes
    ) -> bytes | None:
        """Answer one request; the bytes read past it, or None when the connection is over."""
        head = leftover + await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                key, value = line.split(":", 1)
                headers[key.strip().lower()] = value.strip()
        raw = await reader.readexactly(int(headers.get("content-length", "0")))
        body = json.loads(raw) if raw else None
        seen = Seen(method, path, headers, body)
        self.requests.append(seen)
        route = self.routes.get((method, path))
        if route is None:
            route = Route([b'{"error": "not found"}'], "application/json", status=404)
        writer.write(
            f"HTTP/1.1 {route.status} X\r\nContent-Type: {route.content_type}\r\n"
            "Transfer-Encoding: chunked\r\n\r\n".encode()
        )
        await writer.drain()
        # A read that completes only when the client closes its end (EOF).
        eof = asyncio.ensure_future(reader.read(1))
        try:
            for index, piece in enumerate(route.pieces):
                if route.drop_after is not None and index >= route.drop_after:
                    seen.outcome = "dropped"
                    writer.transport.abort()
                    return None
                if route.stall_after is not None and index >= route.stall_after:
                    await eof
                    seen.outcome = "client closed"
                    return None
                if route.delay_s:
                    await asyncio.wait({eof}, timeout=route.delay_s)
                if eof.done() and not eof.result():
                    seen.outcome = "client closed"
                    return None
                writer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                await writer.drain()
                seen.sent = index + 1
            writer.write(b"0\r\n\r\n")
            await writer.drain()
            seen.outcome = "complete"
        finally:
            seen.done.set()
            if not eof.done():
                eof.cancel()
        return eof.result() if eof.done() and not eof.cancelled() else b""
