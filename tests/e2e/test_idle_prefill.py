"""Idle-time work through the real server over stdio, with the real default model: a cursor
at rest has its prompt read ahead, and the suggestion after an accepted one is prepared."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from .conftest import inline_suggestion, open_document, server_status, start_session

pytestmark = pytest.mark.model

BODY = (
    "import math\n\n\n"
    "def circle_area(radius: float) -> float:\n"
    '    """Return the area of a circle with the given radius."""\n'
    "    return \n"
)
LINE, COLUMN = 5, 11


def cursor_idle(client: LanguageClient, uri: str, line: int, character: int) -> None:
    client.protocol.notify("ghostline/cursorIdle", {
        "textDocument": {"uri": uri}, "position": {"line": line, "character": character}})


async def idle_work(client: LanguageClient, settle_s: float = 120) -> dict[str, object]:
    """The server's idle-work counters once nothing runs (waits for the piece running)."""
    for _ in range(int(settle_s * 10)):
        status = await server_status(client)
        work = status.get("idleWork")
        assert isinstance(work, dict)
        if not work["busy"]:
            return work
        await asyncio.sleep(0.1)
    raise AssertionError("idle-time work never settled")


async def wait_ready(client: LanguageClient) -> None:
    for _ in range(1200):
        if (await server_status(client)).get("state") == "ready":
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the model never loaded")


async def test_a_cursor_at_rest_has_its_prompt_read_before_it_is_asked(
        client: LanguageClient, project: Path) -> None:
    await start_session(client, project)
    await wait_ready(client)
    uri = open_document(client, project / "geometry.py", BODY)
    cursor_idle(client, uri, LINE, COLUMN)
    work = await idle_work(client)
    assert work["started"] == 1
    await inline_suggestion(client, uri, LINE, COLUMN)
    last = (await server_status(client))["lastCompletion"]
    assert isinstance(last, dict) and last["source"] == "model"
    # All of the prompt but its last token (always read again for fresh logits) was there.
    assert last["cachedTokens"] == last["promptTokens"] - 1


async def test_the_suggestion_after_an_accepted_one_is_prepared_while_it_is_read(
        client: LanguageClient, project: Path) -> None:
    await start_session(client, project, {"minConfidence": 0})
    await wait_ready(client)
    uri = open_document(client, project / "geometry.py", BODY)
    shown = await inline_suggestion(client, uri, LINE, COLUMN)
    assert shown and "\n" not in shown
    work = await idle_work(client)
    assert work["aheadCalls"] == 1
    calls = (await server_status(client))["modelCalls"]
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[types.TextDocumentContentChangePartial(
            range=types.Range(start=types.Position(line=LINE, character=COLUMN),
                              end=types.Position(line=LINE, character=COLUMN)),
            text=shown)]))
    await inline_suggestion(client, uri, LINE, COLUMN + len(shown))
    status = await server_status(client)
    last = status["lastCompletion"]
    assert isinstance(last, dict) and last["source"] == "cache"
    assert status["modelCalls"] == calls


async def test_malformed_or_unknown_cursor_notifications_change_nothing(
        client: LanguageClient, project: Path) -> None:
    await start_session(client, project)
    await wait_ready(client)
    client.protocol.notify("ghostline/cursorIdle", {"position": "nowhere"})
    cursor_idle(client, (project / "never-opened.py").as_uri(), 0, 0)
    uri = open_document(client, project / "geometry.py", BODY)
    assert await inline_suggestion(client, uri, LINE, COLUMN)  # still serving
    work = await idle_work(client)
    # The two notifications started nothing; the one piece is the shown suggestion's sequel.
    assert work["started"] == work["aheadCalls"] == 1


async def test_a_cold_file_gets_a_window_sized_to_the_budget(
        client: LanguageClient, project: Path) -> None:
    """After one request taught the server its prompt speed, the first request in another
    file (nothing of it cached, no idle time) reads a window that fits `coldBudgetMs`."""
    await start_session(client, project, {"coldBudgetMs": 200, "idlePrefill": False})
    await wait_ready(client)
    long_file = "".join(f"value_{i} = {i} * 3\n" for i in range(300))
    first = open_document(client, project / "first.py", long_file + "total = ")
    await inline_suggestion(client, first, 300, len("total = "))
    last = (await server_status(client))["lastCompletion"]
    assert isinstance(last, dict) and "cold_window_tokens" not in last  # speed unknown yet
    other = "".join(f"price_{i} = {i} + 7\n" for i in range(300))
    second = open_document(client, project / "second.py", other + "cost = ")
    await inline_suggestion(client, second, 300, len("cost = "))
    last = (await server_status(client))["lastCompletion"]
    assert isinstance(last, dict) and last["source"] == "model"
    assert last["promptTokens"] <= last["cold_window_tokens"] + 16
    assert last["promptTokens"] < 768 / 2
