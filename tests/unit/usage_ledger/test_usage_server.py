"""The server feeds the ledger: inline completion items carry the `ghostline.accepted`
command, running it records the acceptance, `ghostline.status` shows today's totals, and
`ghostline stats` prints them; a broken ledger or the setting off never affects serving.
The server runs in-process with a scripted engine (no model)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from tests.inprocess_server import Transport, send

from ghostline.engine.base import Finished, GenerationRequest, ModelInfo, StreamItem, Token
from ghostline.ledger import Counters, Ledger, local_day
from ghostline.lsp import usage
from ghostline.lsp.app import create_server
from ghostline.lsp.inline_completion import complete
from ghostline.lsp.server import GhostlineServer
from ghostline.stats_cli import run_stats

SOURCE = "def add(a, b):\n    return "


class ScriptedEngine:
    """Answers every completion with "a + b" (two tokens)."""

    name = "scripted"

    async def start(self) -> ModelInfo:
        return ModelInfo(name="scripted base model")

    async def stream(self, request: GenerationRequest) -> AsyncIterator[StreamItem]:
        for piece in ("a + ", "b\n"):
            await asyncio.sleep(0)
            yield Token(piece)
        yield Finished(reason="eos", prompt_tokens=12, generated_tokens=2)

    async def count_tokens(self, text: str) -> int:
        return len(text) // 4

    async def close(self) -> None:
        return None


async def start(tmp_path: Path, settings: dict[str, Any] | None = None,
                capabilities: dict[str, Any] | None = None,
                client: str = "Test Editor") -> tuple[GhostlineServer, Transport, str]:
    server = create_server(engine_factory=lambda s: ScriptedEngine())  # type: ignore[arg-type, return-value]
    transport = Transport()
    server.protocol.set_writer(transport)  # type: ignore[arg-type]
    send(server, {"id": 1, "method": "initialize", "params": {
        "processId": None, "rootUri": None, "capabilities": capabilities or {},
        "clientInfo": {"name": client},
        "initializationOptions": {"debounceMs": 0, **(settings or {})}}})
    await asyncio.sleep(0.05)
    uri = (tmp_path / "calc.py").as_uri()
    send(server, {"method": "textDocument/didOpen", "params": {"textDocument": {
        "uri": uri, "languageId": "python", "version": 1, "text": SOURCE}}})
    await asyncio.sleep(0.01)
    return server, transport, uri


async def ask(server: GhostlineServer, uri: str) -> types.InlineCompletionItem | None:
    result = await complete(server, types.InlineCompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=types.Position(line=1, character=11),
        context=types.InlineCompletionContext(
            trigger_kind=types.InlineCompletionTriggerKind.Automatic)))
    assert result is not None
    return result.items[0] if result.items else None


async def execute(server: GhostlineServer, transport: Transport, msg_id: int, command: str,
                  arguments: list[Any]) -> Any:
    send(server, {"id": msg_id, "method": "workspace/executeCommand",
                  "params": {"command": command, "arguments": arguments}})
    for _ in range(100):
        await asyncio.sleep(0.01)
        for message in transport.messages():
            if message.get("id") == msg_id and "method" not in message:
                assert "error" not in message, message
                return message["result"]
    raise AssertionError(f"no answer to {command}")


def stored(path: Path) -> Counters:
    return Ledger(path, flush_interval_s=0).today()


async def test_an_accepted_item_runs_its_command_and_the_ledger_counts_it(
        tmp_path: Path, _private_usage_ledger: Path) -> None:
    server, transport, uri = await start(
        tmp_path, capabilities={"experimental": {usage.ACCEPT_CAPABILITY: True}})
    assert usage.ACCEPT_COMMAND in server.protocol.fm.commands
    item = await ask(server, uri)
    assert item is not None and item.insert_text == "a + b"
    assert item.command is not None and item.command.command == usage.ACCEPT_COMMAND
    (argument,) = item.command.arguments or []
    assert {k: v for k, v in argument.items() if k != "id"} == {
        "feature": "inlineCompletion", "language": "python", "backend": "local", "length": 5}
    await ask(server, uri)  # shown again (a cache answer), not accepted
    assert await execute(server, transport, 10, usage.ACCEPT_COMMAND, [argument]) == {
        "recorded": True}
    # The same item reported twice counts once.
    assert await execute(server, transport, 11, usage.ACCEPT_COMMAND, [argument]) == {
        "recorded": False}
    today = (await execute(server, transport, 12, "ghostline.status", []))["usageToday"]
    assert today == {"requests": 2, "shown": 2, "accepted": 1, "acceptanceRate": 0.5,
                     "escalations": 0, "fallbacks": 0}
    server.ledger.close()
    row = stored(_private_usage_ledger)
    assert (row.requests, row.shown, row.shown_tracked, row.accepted, row.accepted_chars) == (
        2, 2, 2, 1, 5)
    assert row.generated_tokens > 0 and sum(row.latency) == 2
    assert Ledger(_private_usage_ledger, flush_interval_s=0).sessions() == {
        (local_day(), "Test Editor"): (1, 1)}


async def test_a_partial_accept_counts_its_characters_then_the_rest(tmp_path: Path) -> None:
    server, transport, uri = await start(tmp_path)
    item = await ask(server, uri)
    assert item is not None and item.command is not None
    (argument,) = item.command.arguments or []
    await execute(server, transport, 10, usage.ACCEPT_COMMAND, [{**argument, "acceptedLength": 2}])
    await execute(server, transport, 11, usage.ACCEPT_COMMAND, [argument])
    total = server.ledger.today()
    assert (total.accepted, total.accepted_chars) == (1, 5)


async def test_acceptance_is_unknown_until_the_client_reports_one(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    server, transport, uri = await start(tmp_path)  # no capability: not known to run commands
    await ask(server, uri)
    server.ledger.flush()
    assert run_stats(as_json=True) == 0
    (row,) = json.loads(capsys.readouterr().out)["rows"]
    assert (row["shown"], row["acceptance"], row["acceptanceRate"]) == (1, "unknown", None)
    assert run_stats() == 0
    assert "unknown" in capsys.readouterr().out

    item = await ask(server, (tmp_path / "calc.py").as_uri())
    assert item is not None and item.command is not None
    await execute(server, transport, 10, usage.ACCEPT_COMMAND, item.command.arguments or [])
    server.ledger.flush()
    assert run_stats(as_json=True) == 0
    (row,) = json.loads(capsys.readouterr().out)["rows"]
    # The accepted suggestion counts as shown to a reporting client; the first one does not.
    assert (row["shown"], row["shownTracked"], row["accepted"]) == (2, 1, 1)
    assert row["acceptanceRate"] == 1.0 and row["acceptance"] == "known"


async def test_stats_json_after_a_scripted_session_and_reset(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], _private_usage_ledger: Path) -> None:
    server, transport, uri = await start(
        tmp_path, capabilities={"experimental": {usage.ACCEPT_CAPABILITY: True}})
    for msg_id in (10, 11, 12):
        item = await ask(server, uri)
        assert item is not None and item.command is not None
        if msg_id != 12:
            await execute(server, transport, msg_id, usage.ACCEPT_COMMAND,
                          item.command.arguments or [])
    usage.record_escalation(server, "inlineCompletion", "python", "local")
    send(server, {"id": 20, "method": "shutdown"})
    await asyncio.sleep(0.2)
    assert run_stats(days=1, as_json=True) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["path"] == str(_private_usage_ledger)
    (row,) = report["rows"]
    assert row["day"] == local_day()
    assert (row["feature"], row["language"], row["backend"]) == ("inlineCompletion", "python",
                                                                 "local")
    assert (row["requests"], row["shown"], row["accepted"], row["acceptedChars"]) == (3, 3, 2, 10)
    assert row["acceptanceRate"] == pytest.approx(0.667)
    assert row["escalations"] == 1 and row["fallbacks"] == 0
    assert row["generatedTokens"] > 0
    assert isinstance(row["latencyP50Ms"], int) and row["latencyP90Ms"] >= row["latencyP50Ms"]
    assert report["sessions"] == [{"day": local_day(), "client": "Test Editor", "sessions": 1,
                                   "acceptReported": 1}]

    assert run_stats(reset=True) == 0
    assert "removed 1 usage rows and 1 session rows" in capsys.readouterr().out
    assert run_stats() == 0
    assert "no usage recorded" in capsys.readouterr().out


async def test_the_setting_off_writes_nothing(tmp_path: Path, _private_usage_ledger: Path) -> None:
    server, transport, uri = await start(tmp_path, settings={"ledger": False})
    item = await ask(server, uri)
    assert item is not None and item.command is not None  # the item is the same
    await execute(server, transport, 10, usage.ACCEPT_COMMAND, item.command.arguments or [])
    assert (await execute(server, transport, 11, "ghostline.status", []))["usageToday"] is None
    server.ledger.close()
    assert not _private_usage_ledger.exists()


async def test_a_corrupt_ledger_keeps_the_server_serving(
        tmp_path: Path, _private_usage_ledger: Path, caplog: pytest.LogCaptureFixture) -> None:
    _private_usage_ledger.write_bytes(b"garbage" * 1000)
    server, transport, uri = await start(tmp_path)
    for msg_id in (10, 11):
        item = await ask(server, uri)
        assert item is not None and item.insert_text == "a + b"
        assert not server.ledger.flush()
        await execute(server, transport, msg_id, usage.ACCEPT_COMMAND,
                      item.command.arguments or [] if item.command else [])
    answer = await execute(server, transport, 12, "ghostline.status", [])
    assert answer["usageToday"] is None and answer["state"] == "ready"
    assert sum("ledger is off" in r.getMessage() for r in caplog.records) == 1
