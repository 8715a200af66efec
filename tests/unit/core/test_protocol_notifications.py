"""Notifications leave nothing behind in the protocol (the real server object, in process;
no model: a labelled stand-in engine, never asked)."""

from __future__ import annotations

import asyncio
import json

from tests.inprocess_server import Transport
from tests.inprocess_server import send as _send

from ghostline.lsp.app import create_server


class NeverAskedEngine:
    """Stand-in engine: these tests send no request that reaches a model."""

    name = "unused"


async def test_notification_futures_are_forgotten() -> None:
    server = create_server(engine_factory=lambda settings: NeverAskedEngine())  # type: ignore[arg-type, return-value]
    transport = Transport()
    server.protocol.set_writer(transport)  # type: ignore[arg-type]
    _send(server, {"id": 1, "method": "initialize",
                   "params": {"processId": None, "rootUri": None, "capabilities": {}}})
    await asyncio.sleep(0.05)
    uri = "file:///tmp/ghostline-notifications/a.py"
    _send(server, {"method": "textDocument/didOpen", "params": {"textDocument": {
        "uri": uri, "languageId": "python", "version": 1, "text": "x = 1\n"}}})
    for version in range(2, 202):
        _send(server, {"method": "textDocument/didChange", "params": {
            "textDocument": {"uri": uri, "version": version},
            "contentChanges": [{"text": f"x = {version}\n"}]}})
        _send(server, {"method": "$/cancelRequest", "params": {"id": 10_000 + version}})
    await asyncio.sleep(0.05)
    assert server.workspace.get_text_document(uri).source == "x = 201\n"
    assert len(server.protocol._request_futures) == 0  # pygls alone kept 201 here
    answers = [json.loads(data.split(b"\r\n\r\n", 1)[-1]) for data in transport.written]
    assert any(answer.get("id") == 1 and "result" in answer for answer in answers)
