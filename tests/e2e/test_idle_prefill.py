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


def insert(client: LanguageClient, uri: str, version: int, line: int, character: int,
           text: str) -> None:
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
        content_changes=[types.TextDocumentContentChangePartial(
            range=types.Range(start=types.Position(line=line, character=character),
                              end=types.Position(line=line, character=character)),
            text=text)]))


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


async def shown_and_prepared(client: LanguageClient, project: Path, body: str, line: int,
                             column: int) -> tuple[str, str, int]:
    """A session where a one-line suggestion was shown at (line, column) of a new file and
    its idle-time sequel (one generation) has finished: the file's URI, the suggestion,
    the model calls so far."""
    await start_session(client, project, {"minConfidence": 0})
    await wait_ready(client)
    uri = open_document(client, project / "geometry.py", body)
    shown = await inline_suggestion(client, uri, line, column)
    assert shown and "\n" not in shown
    work = await idle_work(client)
    assert work["aheadCalls"] == 1
    calls = (await server_status(client))["modelCalls"]
    assert isinstance(calls, int)
    return uri, shown, calls


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
    uri, shown, calls = await shown_and_prepared(client, project, BODY, LINE, COLUMN)
    insert(client, uri, 2, LINE, COLUMN, shown)
    await inline_suggestion(client, uri, LINE, COLUMN + len(shown))
    status = await server_status(client)
    last = status["lastCompletion"]
    assert isinstance(last, dict) and last["source"] == "cache"
    assert status["modelCalls"] == calls


AREA_BODY = (
    "import math\n\n\n"
    "def circle_area(radius: float) -> float:\n"
    '    """Return the area of a circle with the given radius."""\n'
    "    area = \n"
)
AREA_LINE, AREA_COLUMN = 5, 11


async def test_after_accepting_a_line_the_line_below_is_ready_from_the_models_continuation(
        client: LanguageClient, project: Path) -> None:
    """The model goes on from where the shown line ended (decoding only), so pressing Enter
    after accepting finds the next line without another request."""
    uri, shown, calls = await shown_and_prepared(client, project, AREA_BODY, AREA_LINE,
                                                 AREA_COLUMN)
    insert(client, uri, 2, AREA_LINE, AREA_COLUMN, shown)
    end = AREA_COLUMN + len(shown)
    await inline_suggestion(client, uri, AREA_LINE, end)
    assert (await server_status(client))["lastCompletion"]["source"] == "cache"
    insert(client, uri, 3, AREA_LINE, end, "\n    ")  # Enter, indented as the editor does
    below = await inline_suggestion(client, uri, AREA_LINE + 1, 4)
    status = await server_status(client)
    assert isinstance(status["lastCompletion"], dict)
    assert status["lastCompletion"]["source"] == "cache" and below.strip()
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
