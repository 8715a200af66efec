"""End-to-end fixtures: the real server over stdio (pytest-lsp) with the real default model."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from ghostline.lsp_client import completion_params

SERVER = [sys.executable, "-m", "ghostline", "serve", "--log-level", "WARNING"]
SAMPLE = Path(__file__).parents[2] / "server" / "ghostline" / "demo_data" / "shop"


def server_env(**extra: str) -> dict[str, str]:
    return {**os.environ, **extra}


def capabilities(encodings: list[str] | None = None) -> types.ClientCapabilities:
    return types.ClientCapabilities(
        workspace=types.WorkspaceClientCapabilities(configuration=True),
        window=types.WindowClientCapabilities(work_done_progress=True),
        general=types.GeneralClientCapabilities(
            position_encodings=[types.PositionEncodingKind(e) for e in encodings]
            if encodings else None),
    )


async def start_session(client: LanguageClient, root: Path,
                        options: dict[str, object] | None = None,
                        encodings: list[str] | None = None) -> types.InitializeResult:
    return await client.initialize_session(types.InitializeParams(
        process_id=os.getpid(),
        root_uri=root.as_uri(),
        workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name=root.name)],
        capabilities=capabilities(encodings),
        # A generous time limit: CI machines are slow and shared; latency is measured by
        # `ghostline bench latency`, not here.
        initialization_options={"timeLimitS": 20.0, **(options or {})},
    ))


def open_document(client: LanguageClient, path: Path, text: str,
                  language_id: str = "python") -> str:
    uri = path.as_uri()
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=uri, language_id=language_id, version=1,
                                             text=text)))
    return uri


async def inline_suggestion(client: LanguageClient, uri: str, line: int, column: int) -> str:
    """The first inline completion item's text at a position ("" when there is none)."""
    result = await client.text_document_inline_completion_async(
        completion_params(uri, line, column))
    items = result.items if isinstance(result, types.InlineCompletionList) else result or []
    return str(items[0].insert_text) if items else ""


async def suggestion_in_new_session(client: LanguageClient, root: Path,
                                    options: dict[str, object], name: str, text: str,
                                    line: int, column: int) -> str:
    """Start a session with `options`, open `text` as ``root/name`` and return the first
    inline completion item's text at a position."""
    await start_session(client, root, options)
    uri = open_document(client, root / name, text)
    return await inline_suggestion(client, uri, line, column)


async def server_status(client: LanguageClient) -> dict[str, object]:
    result = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="ghostline.status"))
    assert isinstance(result, dict)
    return result


async def wait_indexed(client: LanguageClient) -> None:
    """Until the server's index holds the workspace's files (it scans in the background)."""
    for _ in range(200):
        if (await server_status(client)).get("indexedFiles"):
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the workspace was never indexed")


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER))
async def client(lsp_client: LanguageClient, tmp_path: Path):  # type: ignore[no-untyped-def]
    """A server on a fresh copy of the sample project, default settings."""
    yield lsp_client
    await lsp_client.shutdown_session()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    import shutil

    root = tmp_path / "shop"
    shutil.copytree(SAMPLE, root)
    return root
