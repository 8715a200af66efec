"""The framed pipe protocol between the server and the worker."""

from __future__ import annotations

import asyncio
import io
import struct

import pytest

from ghostline.engine.protocol import (
    MAX_FRAME_BYTES,
    ProtocolError,
    encode_frame,
    read_frame,
    read_frame_sync,
)


def test_round_trip_sync_keeps_unicode_and_order() -> None:
    messages = [{"type": "token", "id": 1, "text": "😋 日本"}, {"type": "done", "id": 1}]
    stream = io.BytesIO(b"".join(encode_frame(m) for m in messages))
    assert read_frame_sync(stream) == messages[0]
    assert read_frame_sync(stream) == messages[1]
    assert read_frame_sync(stream) is None


def test_truncated_frame_is_end_of_stream() -> None:
    data = encode_frame({"type": "token", "id": 1, "text": "abc"})
    assert read_frame_sync(io.BytesIO(data[:-2])) is None


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'{"no_type": 1}', b"\xff\xfe"])
def test_garbage_is_a_protocol_error(body: bytes) -> None:
    stream = io.BytesIO(struct.pack(">I", len(body)) + body)
    with pytest.raises(ProtocolError):
        read_frame_sync(stream)


def test_absurd_length_is_refused_without_allocating() -> None:
    stream = io.BytesIO(struct.pack(">I", MAX_FRAME_BYTES + 1))
    with pytest.raises(ProtocolError):
        read_frame_sync(stream)


async def test_async_reader_reads_frames_split_anywhere() -> None:
    reader = asyncio.StreamReader()
    data = encode_frame({"type": "ready", "info": {"name": "m"}}) + encode_frame({"type": "x"})
    for index in range(0, len(data), 3):
        reader.feed_data(data[index : index + 3])
    reader.feed_eof()
    assert await read_frame(reader) == {"type": "ready", "info": {"name": "m"}}
    assert await read_frame(reader) == {"type": "x"}
    assert await read_frame(reader) is None
