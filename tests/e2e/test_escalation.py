"""Escalation through the real server: the local model's unsure suggestions go to a real
OpenAI-compatible server on loopback (llama-cpp-python's, with the default model), whose answer
is marked as the remote one; a stopped or silent server leaves the local answer standing
within the timeout; a typing storm escalates at most `perMinute` times.

`below` is 1.01, so every local suggestion counts as unsure.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from ghostline.bench.backends import LlamaCppServer, default_model_path
from ghostline.demo_tests import capabilities
from ghostline.lsp_client import completion_params

from .conftest import open_document, server_status

pytestmark = pytest.mark.model

BODY = "def area(width, height):\n    return "
TIMEOUT_MS = 3000


@pytest.fixture(scope="module")
def team_server() -> Iterator[LlamaCppServer]:
    with LlamaCppServer(default_model_path(), n_ctx=2048, threads=1, alias="team-model") as srv:
        yield srv


@pytest.fixture
def silent_url() -> Iterator[str]:
    """A loopback server that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/v1"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    listener.close()


async def start(client: LanguageClient, root: Path, url: str, **rule: Any) -> None:
    await client.initialize_session(types.InitializeParams(
        process_id=os.getpid(),
        root_uri=root.as_uri(),
        workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name=root.name)],
        capabilities=capabilities(),
        initialization_options={
            "timeLimitS": 20.0, "threads": 1, "debounceMs": 0,
            "backends": {"team": {"kind": "openai", "url": url, "model": "team-model",
                                  "timeoutS": 60}},
            "escalate": {"inlineCompletion": {"backend": "team", "below": 1.01,
                                              "timeoutMs": TIMEOUT_MS, **rule}},
        },
    ))


async def item_at(client: LanguageClient, uri: str, line: int, column: int
                  ) -> types.InlineCompletionItem | None:
    result = await client.text_document_inline_completion_async(
        completion_params(uri, line, column))
    items = result.items if isinstance(result, types.InlineCompletionList) else result or []
    return items[0] if items else None


def backend_of(item: types.InlineCompletionItem | None) -> str:
    assert item is not None and item.command is not None
    (argument,) = item.command.arguments or []
    return str(argument["backend"])


def escalation(status: dict[str, object]) -> dict[str, Any]:
    value = status["escalation"]
    assert isinstance(value, dict)
    return value


async def test_an_unsure_completion_is_answered_by_the_remote_until_it_stops(
        client: LanguageClient, tmp_path: Path) -> None:
    with LlamaCppServer(default_model_path(), n_ctx=2048, threads=1, alias="team-model") as team:
        await start(client, tmp_path, team.url, timeoutMs=30000)
        uri = open_document(client, tmp_path / "area.py", BODY)
        item = await item_at(client, uri, 1, 11)
        assert item is not None and str(item.insert_text).strip()
        assert backend_of(item) == "team"
        status = await server_status(client)
        assert escalation(status)["lastBackend"] == "team"
        assert escalation(status)["counts"]["inlineCompletion"] == {"escalated": 1,
                                                                   "answered": 1}
        answered = status["answered"]
        assert isinstance(answered, dict) and answered["inlineCompletion"].get("team") == 1
    # The team server is stopped: the local answer stands.
    other = open_document(client, tmp_path / "box.py", "def volume(w, h, d):\n    return ")
    started = time.monotonic()
    item = await item_at(client, other, 1, 11)
    assert time.monotonic() - started < 30
    assert item is not None and str(item.insert_text).strip()
    assert backend_of(item) == "local"
    last = escalation(await server_status(client))["last"]
    assert last["outcome"] == "failed" and last["backend"] == "team"


async def test_a_silent_remote_costs_at_most_the_timeout(
        client: LanguageClient, tmp_path: Path, silent_url: str) -> None:
    await start(client, tmp_path, silent_url)
    uri = open_document(client, tmp_path / "area.py", BODY)
    local = await item_at(client, open_document(client, tmp_path / "warm.py", "x = 1\n"), 1, 0)
    del local  # the model is loaded and warm now
    started = time.monotonic()
    item = await item_at(client, uri, 1, 11)
    elapsed = time.monotonic() - started
    assert item is not None and backend_of(item) == "local"
    assert elapsed < TIMEOUT_MS / 1000 + 10, elapsed  # the local answer plus the timeout
    last = escalation(await server_status(client))["last"]
    assert last["outcome"] == "timeout"


async def test_a_typing_storm_escalates_at_most_per_minute(
        client: LanguageClient, tmp_path: Path, team_server: LlamaCppServer) -> None:
    await start(client, tmp_path, team_server.url, perMinute=3, timeoutMs=30000)
    uri = open_document(client, tmp_path / "area.py", BODY)
    typed = "width * height"
    requests = []
    for count in range(20):
        text = BODY + typed[: count % len(typed)] + " " * (count // len(typed))
        client.text_document_did_change(types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=count + 2),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)]))
        requests.append(asyncio.ensure_future(client.text_document_inline_completion_async(
            completion_params(uri, 1, len(text.split("\n")[1])))))
        await asyncio.sleep(0.02)
    await asyncio.gather(*requests, return_exceptions=True)
    # How many of the 20 reach the model (not superseded, not typed through) depends on
    # timing; one more request in another file, awaited alone, always does.
    other = open_document(client, tmp_path / "volume.py", BODY)
    await item_at(client, other, 1, 11)
    counts = escalation(await server_status(client))["counts"].get("inlineCompletion", {})
    assert counts.get("escalated", 0) <= 3, counts
    assert counts.get("escalated", 0) + counts.get("limited", 0) >= 1, counts
    answered = (await server_status(client))["answered"]
    assert isinstance(answered, dict)
    assert answered.get("inlineCompletion", {}).get("team", 0) <= 3
