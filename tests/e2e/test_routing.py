"""Per-feature routing through the real server: completion on the local model while tests go
to a shared OpenAI-compatible server (llama-cpp-python's own, on loopback, with the default
model), and the fallback to the local model when the routed server is dead.

``ghostline.status`` tells which backend answered each feature (`answered`), so the tests
see the route that was taken, not only that something answered.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from ghostline.bench.backends import LlamaCppServer, default_model_path, free_port
from ghostline.demo_tests import capabilities

from .conftest import inline_suggestion, open_document, server_status
from .test_generate_tests import FIXTURES, Editor, line_of

pytestmark = pytest.mark.model

BODY = "def area(width, height):\n    return "


@pytest.fixture(scope="module")
def team_server() -> Iterator[LlamaCppServer]:
    with LlamaCppServer(default_model_path(), n_ctx=2048, threads=1, alias="team-model") as srv:
        yield srv


def dead_url() -> str:
    """A loopback URL where nothing listens."""
    return f"http://127.0.0.1:{free_port()}/v1"


async def start(client: LanguageClient, root: Path, options: dict[str, Any]) -> None:
    await client.initialize_session(types.InitializeParams(
        process_id=os.getpid(),
        root_uri=root.as_uri(),
        workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name=root.name)],
        capabilities=capabilities(),
        initialization_options={"timeLimitS": 20.0, "threads": 1, **options},
    ))


async def complete(client: LanguageClient, root: Path) -> str:
    uri = open_document(client, root / "area.py", BODY)
    return await inline_suggestion(client, uri, 1, 11)


async def test_completion_stays_local_while_tests_go_to_the_team_server(
        client: LanguageClient, tmp_path: Path, team_server: LlamaCppServer) -> None:
    root = tmp_path / "py_textstats"
    shutil.copytree(FIXTURES / "py_textstats", root)
    editor = Editor(client)
    await start(client, root, {
        "backends": {"team": {"kind": "openai", "url": team_server.url,
                              "model": "team-model", "timeoutS": 60}},
        "routes": {"inlineCompletion": "local", "generateTests": "team"},
        "fallbackToLocal": False,
    })
    assert (await complete(client, root)).strip()
    source = root / "textstats.py"
    uri = editor.open(source, "python")
    outcome = await editor.run(await editor.command_for(
        uri, line_of(source, "def longest_word("), 6))
    assert isinstance(outcome.get("message"), str)  # applied or not: the model's answer

    status = await server_status(client)
    assert status["routes"] == {"inlineCompletion": "local", "generateTests": "team",
                                "hover": "local"}
    answered = status["answered"]
    assert isinstance(answered, dict)
    assert set(answered["inlineCompletion"]) == {"local"}
    assert set(answered["generateTests"]) == {"team"} and answered["generateTests"]["team"] >= 1
    assert status["lastFallback"] is None


async def test_a_dead_team_server_falls_back_to_the_local_model(
        client: LanguageClient, tmp_path: Path) -> None:
    url = dead_url()
    await start(client, tmp_path, {
        "backends": {"team": {"kind": "openai", "url": url, "timeoutS": 5}},
        "routes": {"inlineCompletion": "team"},
        "fallbackToLocal": True,
    })
    assert (await complete(client, tmp_path)).strip()
    status = await server_status(client)
    assert status["answered"] == {"inlineCompletion": {"local": 1}}
    fallback = status["lastFallback"]
    assert isinstance(fallback, dict)
    assert fallback["backend"] == "team" and fallback["feature"] == "inlineCompletion"
    assert "127.0.0.1" in fallback["reason"]
    shown = [m.message for m in client.messages]
    assert any("team failed for inlineCompletion" in m and "local model" in m for m in shown)


async def test_a_dead_team_server_without_fallback_is_a_clear_error(
        client: LanguageClient, tmp_path: Path) -> None:
    url = dead_url()
    await start(client, tmp_path, {
        "backends": {"team": {"kind": "openai", "url": url, "timeoutS": 5}},
        "routes": {"inlineCompletion": "team"},
        "fallbackToLocal": False,
    })
    with pytest.raises(Exception) as failure:
        await complete(client, tmp_path)
    assert url.removesuffix("/v1") in str(failure.value)
    status = await server_status(client)  # still serving
    assert status["answered"] == {} and status["lastFallback"] is None
