"""Inline completion through the real server over stdio, with the real default model."""

from __future__ import annotations

import ast
import asyncio
import os
import signal
from pathlib import Path

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import LanguageClient

from .conftest import completion_params, open_document, server_status, start_session

pytestmark = pytest.mark.model

BODY = (
    "import math\n\n\n"
    "def circle_area(radius: float) -> float:\n"
    '    """Return the area of a circle with the given radius."""\n'
    "    return \n"
)


def first_item(result: types.InlineCompletionList | list[types.InlineCompletionItem] | None
               ) -> types.InlineCompletionItem | None:
    items = result.items if isinstance(result, types.InlineCompletionList) else result or []
    return items[0] if items else None


def insert_text(item: types.InlineCompletionItem) -> str:
    text = item.insert_text
    return text if isinstance(text, str) else text.value


async def test_completion_in_function_body_parses_when_spliced(
        client: LanguageClient, project: Path) -> None:
    await start_session(client, project)
    path = project / "geometry.py"
    uri = open_document(client, path, BODY)
    result = await client.text_document_inline_completion_async(completion_params(uri, 5, 11))
    item = first_item(result)
    assert item is not None, "no suggestion inside a function body"
    text = insert_text(item)
    assert text.strip(), "whitespace-only suggestion"
    assert item.range == types.Range(start=types.Position(line=5, character=11),
                                     end=types.Position(line=5, character=11))
    lines = BODY.split("\n")
    lines[5] = lines[5] + text
    ast.parse("\n".join(lines))  # the spliced document must be valid Python
    for marker in ("<eos>", "<end_of_turn>", "<start_of_turn>", "<bos>"):
        assert marker not in text


async def test_typing_through_a_suggestion_is_served_without_the_model(
        client: LanguageClient, project: Path) -> None:
    await start_session(client, project)
    uri = open_document(client, project / "geometry.py", BODY)
    first = first_item(await client.text_document_inline_completion_async(
        completion_params(uri, 5, 11)))
    assert first is not None
    suggestion = insert_text(first)
    assert len(suggestion) >= 3
    calls = (await server_status(client))["modelCalls"]
    typed = suggestion[:2]
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[types.TextDocumentContentChangePartial(
            range=types.Range(start=types.Position(line=5, character=11),
                              end=types.Position(line=5, character=11)),
            text=typed)]))
    second = first_item(await client.text_document_inline_completion_async(
        completion_params(uri, 5, 13)))
    assert second is not None
    assert insert_text(second) == suggestion[2:]
    assert (await server_status(client))["modelCalls"] == calls


async def test_cancel_returns_cancel_error_and_next_request_works(
        client: LanguageClient, project: Path) -> None:
    await start_session(client, project, options={"maxTokensMultiline": 256})
    uri = open_document(client, project / "geometry.py", "def long_function():\n    ")
    params = completion_params(uri, 1, 4)
    request = asyncio.ensure_future(client.protocol.send_request_async(
        types.TEXT_DOCUMENT_INLINE_COMPLETION, params, msg_id="cancel-me"))
    await asyncio.sleep(0.3)
    client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="cancel-me"))
    with pytest.raises(JsonRpcException) as failure:
        await asyncio.wait_for(request, 10)
    assert failure.value.code == types.LSPErrorCodes.RequestCancelled
    uri2 = open_document(client, project / "geometry2.py", BODY)
    item = first_item(await client.text_document_inline_completion_async(
        completion_params(uri2, 5, 11)))
    assert item is not None and insert_text(item).strip()


async def test_a_request_the_worker_died_on_is_answered_and_the_next_succeeds(
        client: LanguageClient, project: Path) -> None:
    await start_session(client, project, options={"maxTokensMultiline": 256,
                                                  "timeLimitS": 30.0})
    uri = open_document(client, project / "geometry.py", "class Matrix:\n    ")
    await client.text_document_inline_completion_async(completion_params(uri, 1, 4))
    status = await server_status(client)
    pid = status["workerPid"]
    assert isinstance(pid, int)
    uri2 = open_document(client, project / "geometry2.py", "def fibonacci(n):\n    ")
    task = asyncio.ensure_future(client.text_document_inline_completion_async(
        completion_params(uri2, 1, 4)))
    await asyncio.sleep(0.4)
    os.kill(pid, signal.SIGKILL)
    # A request the worker died on before any output is asked again of a new worker; one
    # that had output fails with a clear error. Either way it is answered.
    try:
        await task
    except JsonRpcException as failure:
        assert "worker" in str(failure)
    uri3 = open_document(client, project / "geometry3.py", BODY)
    item = first_item(await client.text_document_inline_completion_async(
        completion_params(uri3, 5, 11)))
    assert item is not None and insert_text(item).strip()
    status = await server_status(client)
    assert status["workerPid"] != pid
    assert status["workerRestarts"] == 1


async def test_missing_model_shows_a_message_and_the_server_keeps_answering(
        client: LanguageClient, project: Path, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "model.gguf"
    await start_session(client, project, options={"model": str(missing)})
    uri = open_document(client, project / "geometry.py", BODY)
    result = await client.text_document_inline_completion_async(completion_params(uri, 5, 11))
    assert first_item(result) is None
    for _ in range(50):
        if client.messages:
            break
        await asyncio.sleep(0.1)
    errors = [m for m in client.messages if m.type == types.MessageType.Error]
    assert errors, "no window/showMessage for a missing model"
    assert str(missing) in errors[0].message
    assert "ghostline doctor" in errors[0].message
    # Still serving: a status request answers and names the error.
    status = await server_status(client)
    assert status["state"] == "error"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8"])
async def test_positions_on_an_emoji_and_cjk_line(
        client: LanguageClient, project: Path, encoding: str) -> None:
    result = await start_session(client, project, encodings=[encoding])
    assert result.capabilities.position_encoding == encoding
    line = '    greeting = "😋 日本語 👍" + '
    text = f"def greet(name: str) -> str:\n{line}\n"
    uri = open_document(client, project / "greet.py", text)
    units = len(line.encode("utf-16-le")) // 2 if encoding == "utf-16" else len(
        line.encode("utf-8"))
    assert units != len(line)
    item = first_item(await client.text_document_inline_completion_async(
        completion_params(uri, 1, units)))
    assert item is not None
    # The range echoes the cursor in the negotiated units; a server that counted code
    # points would clamp it to len(line) and answer a different position.
    assert item.range == types.Range(start=types.Position(line=1, character=units),
                                     end=types.Position(line=1, character=units))
