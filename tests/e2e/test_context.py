"""Cross-file context through the real server over stdio, with the real default model."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from .conftest import (
    completion_params,
    inline_suggestion,
    open_document,
    server_status,
    start_session,
    wait_indexed,
)

pytestmark = pytest.mark.model

FIXTURE = Path(__file__).parents[1] / "fixtures" / "context" / "proj"
TEXT = ("from pkg.geometry import Vector, make_vector\n\n\n"
        "def build() -> Vector:\n"
        "    origin = ")


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    shutil.copytree(FIXTURE, root)
    return root


async def test_context_goes_into_the_prompt_and_stays_cached_while_typing(
        client: LanguageClient, workspace: Path) -> None:
    # One token per request: the stream then ends with the worker's own statistics
    # (a stream the stop rules end early has none).
    await start_session(client, workspace, {"maxTokens": 1})
    await wait_indexed(client)
    uri = open_document(client, workspace / "pkg" / "new.py", TEXT)
    line, column = 4, len("    origin = ")
    shown = await inline_suggestion(client, uri, line, column)
    first = (await server_status(client))["lastCompletion"]
    assert isinstance(first, dict) and first.get("source") == "model"
    # The document alone is about 30 tokens: the rest is cross-file context (the definition
    # and uses of make_vector and Vector from geometry.py, report.py and app.py).
    assert int(first["promptTokens"]) > 80

    typed = "Vec" if not shown.startswith("V") else "make_v"  # not what was shown
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[types.TextDocumentContentChangePartial(
            range=types.Range(start=types.Position(line=line, character=column),
                              end=types.Position(line=line, character=column)),
            text=typed)]))
    await client.text_document_inline_completion_async(
        completion_params(uri, line, column + len(typed)))
    second = (await server_status(client))["lastCompletion"]
    assert isinstance(second, dict) and second.get("source") == "model"
    # Same definition, same imports: the snippets stay in place and only the end of the
    # prompt is evaluated again.
    assert int(second["cachedTokens"]) >= int(first["promptTokens"]) - 8
