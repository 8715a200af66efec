"""The framed pipe protocol between the server and its model worker.

Each frame is a 4-byte big-endian length followed by that many bytes of UTF-8 JSON holding
one object with a ``type`` field. Small, debuggable, and independent of line endings or of
anything the native library might print (the worker keeps fd 1 for frames only).

Server → worker: ``generate``, ``cancel``, ``tokenize``, ``shutdown``.
Worker → server: ``ready``, ``load_error``, ``token``, ``done``, ``error``, ``tokens``.
"""

from __future__ import annotations

import asyncio
import json
import struct
from typing import Any, BinaryIO

HEADER = struct.Struct(">I")
#: Refuse absurd frames instead of allocating them (a corrupted pipe, not a real message).
MAX_FRAME_BYTES = 64 * 1024 * 1024


class ProtocolError(Exception):
    """The peer sent something that is not a frame."""


def encode_frame(message: dict[str, Any]) -> bytes:
    body = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return HEADER.pack(len(body)) + body


def _decode_body(body: bytes) -> dict[str, Any]:
    try:
        message = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProtocolError(f"undecodable frame: {exc}") from exc
    if not isinstance(message, dict) or "type" not in message:
        raise ProtocolError("frame is not an object with a 'type'")
    return message


def read_frame_sync(stream: BinaryIO) -> dict[str, Any] | None:
    """Read one frame from a blocking binary stream; None at end of stream."""
    header = _read_exactly_sync(stream, HEADER.size)
    if header is None:
        return None
    (length,) = HEADER.unpack(header)
    if length > MAX_FRAME_BYTES:
        raise ProtocolError(f"frame of {length} bytes is too large")
    body = _read_exactly_sync(stream, length)
    if body is None:
        return None
    return _decode_body(body)


def _read_exactly_sync(stream: BinaryIO, size: int) -> bytes | None:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = stream.read(size - len(chunks))
        if not chunk:
            return None
        chunks.extend(chunk)
    return bytes(chunks)


async def read_frame(reader: asyncio.StreamReader) -> dict[str, Any] | None:
    """Read one frame from an asyncio stream; None at end of stream."""
    try:
        header = await reader.readexactly(HEADER.size)
        (length,) = HEADER.unpack(header)
        if length > MAX_FRAME_BYTES:
            raise ProtocolError(f"frame of {length} bytes is too large")
        body = await reader.readexactly(length)
    except asyncio.IncompleteReadError:
        return None
    return _decode_body(body)
