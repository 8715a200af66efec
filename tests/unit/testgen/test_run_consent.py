"""Consent before "Generate tests" runs the project's code: the ``runGeneratedTests``
setting, the per-workspace answer (asked with ``window/showMessageRequest``, remembered in
the cache folder), and what the command reports. The server runs in process with a
scripted model; the client's answers are scripted too."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from tests.inprocess_server import Transport
from tests.inprocess_server import send as _send

from ghostline.lsp import run_consent
from ghostline.lsp.app import create_server
from ghostline.lsp.generate_tests import run_generation
from ghostline.lsp.run_consent import (
    DONT_RUN,
    NEVER_REASON,
    REFUSED_REASON,
    RUN,
    UNANSWERED_REASON,
    ConsentStore,
    Decision,
    RunConsent,
)
from ghostline.lsp.server import GhostlineServer
from ghostline.settings import Settings

from .scripted_engine import ScriptedEngine
from .test_generator import INVENTORY, good_answers


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The answers file (and any index cache) goes to tmp, not the user's cache."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("GHOSTLINE_CACHE_DIR", str(folder))
    return folder


# --- the setting -------------------------------------------------------------------------------


def test_the_setting_defaults_to_ask() -> None:
    assert Settings().run_generated_tests == "ask"
    assert Settings.from_dict({}).run_generated_tests == "ask"


@pytest.mark.parametrize(("value", "expected"), [
    ("ask", "ask"), ("always", "always"), ("never", "never"), ("Always", "always"),
    (" never ", "never"), (True, "always"), (False, "never"),
])
def test_the_setting_takes_the_choices_and_the_old_booleans(value: object, expected: str) -> None:
    assert Settings.from_dict({"runGeneratedTests": value}).run_generated_tests == expected
    assert Settings.from_dict({"run_generated_tests": value}).run_generated_tests == expected


@pytest.mark.parametrize("value", ["yes", "", 1, 0, None, ["always"], {"always": True}])
def test_other_values_are_refused_with_a_warning_and_the_previous_value_kept(
        value: object, caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings.from_dict({"runGeneratedTests": "always"})
    with caplog.at_level(logging.WARNING, logger="ghostline.settings"):
        settings.update({"runGeneratedTests": value})
    assert settings.run_generated_tests == "always"
    assert any("runGeneratedTests" in r.getMessage() and '"ask"' in r.getMessage()
               for r in caplog.records), caplog.text


# --- deciding ----------------------------------------------------------------------------------


class Client:
    """Answers the question with the titles in ``answers`` (None: dismissed), in turn."""

    def __init__(self, *answers: str | None, delay: float = 0.0) -> None:
        self.answers = list(answers)
        self.asked: list[types.ShowMessageRequestParams] = []
        self.delay = delay

    async def __call__(
            self, params: types.ShowMessageRequestParams) -> types.MessageActionItem | None:
        self.asked.append(params)
        await asyncio.sleep(self.delay)
        title = self.answers.pop(0)
        return None if title is None else types.MessageActionItem(title=title)


def roots(tmp_path: Path) -> tuple[Path, Path]:
    first, second = tmp_path / "shop", tmp_path / "blog"
    first.mkdir()
    second.mkdir()
    return first, second


async def test_the_answer_is_asked_once_per_workspace_and_remembered_in_a_file(
        tmp_path: Path, private_cache: Path) -> None:
    shop, blog = roots(tmp_path)
    client = Client(RUN, DONT_RUN)
    consent = RunConsent()
    assert await consent.decide("ask", shop, client) == Decision(True)
    question = client.asked[0]
    assert "runs the project's code on this machine" in question.message
    assert question.message.endswith("Run generated tests in shop?")
    assert [a.title for a in question.actions or []] == [RUN, DONT_RUN]
    assert await consent.decide("ask", shop, client) == Decision(True)
    assert await consent.decide("ask", blog, client) == Decision(False, REFUSED_REASON)
    assert await consent.decide("ask", blog, client) == Decision(False, REFUSED_REASON)
    assert len(client.asked) == 2  # once per workspace
    path = private_cache / "run-tests-consent.json"
    assert json.loads(path.read_text()) == {
        "workspaces": {str(shop.resolve()): True, str(blog.resolve()): False}}
    assert [p.name for p in private_cache.iterdir()] == [path.name]  # no temporary left
    # A new server (a new store) reads the answers back without asking.
    again = Client()
    fresh = RunConsent()
    assert await fresh.decide("ask", shop, again) == Decision(True)
    assert await fresh.decide("ask", blog, again) == Decision(False, REFUSED_REASON)
    assert again.asked == []


async def test_always_and_never_override_the_remembered_answer(tmp_path: Path) -> None:
    shop, blog = roots(tmp_path)
    store = ConsentStore()
    store.remember(shop, False)
    store.remember(blog, True)
    client = Client()
    consent = RunConsent(store)
    assert await consent.decide("always", shop, client) == Decision(True)
    assert await consent.decide("never", blog, client) == Decision(False, NEVER_REASON)
    assert client.asked == []


@pytest.mark.parametrize("how", ["dismissed", "error", "timeout"])
async def test_an_unanswered_question_is_not_remembered(tmp_path: Path, how: str) -> None:
    shop, _ = roots(tmp_path)

    async def unanswered(params: types.ShowMessageRequestParams) -> types.MessageActionItem | None:
        if how == "error":
            raise RuntimeError("Unhandled method window/showMessageRequest")
        if how == "timeout":
            await asyncio.sleep(10)
        return None

    consent = RunConsent(timeout_s=0.05)
    assert await consent.decide("ask", shop, unanswered) == Decision(False, UNANSWERED_REASON)
    assert ConsentStore().get(shop) is None
    assert not ConsentStore().path.exists()
    client = Client(RUN)  # asked again next time
    assert await consent.decide("ask", shop, client) == Decision(True)
    assert len(client.asked) == 1


async def test_concurrent_generations_in_one_workspace_share_one_question(
        tmp_path: Path) -> None:
    shop, _ = roots(tmp_path)
    client = Client(RUN, delay=0.05)
    consent = RunConsent()
    decisions = await asyncio.gather(*(consent.decide("ask", shop, client) for _ in range(3)))
    assert decisions == [Decision(True)] * 3
    assert len(client.asked) == 1


async def test_a_cancelled_generation_leaves_the_shared_question_to_the_others(
        tmp_path: Path) -> None:
    shop, _ = roots(tmp_path)
    client = Client(DONT_RUN, delay=0.05)
    consent = RunConsent()
    first = asyncio.ensure_future(consent.decide("ask", shop, client))
    second = asyncio.ensure_future(consent.decide("ask", shop, client))
    await asyncio.sleep(0.01)
    first.cancel()
    assert await second == Decision(False, REFUSED_REASON)
    assert len(client.asked) == 1 and ConsentStore().get(shop) is False


@pytest.mark.parametrize("content", ["{not json", "[]", '{"workspaces": {"/x": "yes"}}',
                                     '{"other": 1}'])
async def test_a_corrupt_answers_file_counts_as_empty_with_a_warning(
        tmp_path: Path, content: str, caplog: pytest.LogCaptureFixture) -> None:
    shop, _ = roots(tmp_path)
    path = ConsentStore().path
    path.parent.mkdir(parents=True)
    path.write_text(content, encoding="utf-8")
    client = Client(RUN)
    with caplog.at_level(logging.WARNING, logger=run_consent.__name__):
        assert await RunConsent().decide("ask", shop, client) == Decision(True)
    assert "not a valid answers file" in caplog.text
    assert len(client.asked) == 1
    assert json.loads(path.read_text()) == {"workspaces": {str(shop.resolve()): True}}


# --- the command -------------------------------------------------------------------------------


async def serve(root: Path, settings: dict[str, Any],
                client: Client | None = None) -> tuple[GhostlineServer, Transport, str]:
    """A server initialized on ``root`` (no client capabilities: the server writes the new
    test file itself) with ``inventory.py`` open; questions go to ``client``."""
    server = create_server(engine_factory=lambda s: ScriptedEngine(good_answers))  # type: ignore[arg-type, return-value]
    transport = Transport()
    server.protocol.set_writer(transport)  # type: ignore[arg-type]
    _send(server, {"id": 1, "method": "initialize", "params": {
        "processId": None, "rootUri": root.as_uri(), "capabilities": {},
        "initializationOptions": settings}})
    await asyncio.sleep(0.05)
    if client is not None:
        server.window_show_message_request_async = client  # type: ignore[method-assign]
    (root / "tests").mkdir()
    source = root / "inventory.py"
    source.write_text(INVENTORY, encoding="utf-8")
    uri = source.as_uri()
    _send(server, {"method": "textDocument/didOpen", "params": {"textDocument": {
        "uri": uri, "languageId": "python", "version": 1, "text": INVENTORY}}})
    await asyncio.sleep(0.01)
    return server, transport, uri


def at_restock(uri: str) -> dict[str, Any]:
    return {"uri": uri, "line": 11, "character": 4, "name": "restock"}


def shown(transport: Transport) -> list[str]:
    return [m["params"]["message"] for m in transport.messages()
            if m.get("method") == "window/showMessage"]


async def test_never_writes_the_tests_without_running_them_and_says_why(tmp_path: Path) -> None:
    client = Client()
    server, transport, uri = await serve(tmp_path, {"runGeneratedTests": "never"}, client)
    outcome = await run_generation(server, at_restock(uri))
    assert outcome["applied"], outcome
    assert outcome["run"]["ran"] is False and outcome["run"]["reason"] == NEVER_REASON
    assert outcome["message"].endswith('tests not run: runGeneratedTests is "never"')
    assert client.asked == []
    assert (tmp_path / "tests" / "test_inventory.py").exists()
    assert any("test_inventory.py" in m for m in shown(transport))


async def test_a_dismissed_question_writes_the_tests_unrun_and_asks_again(
        tmp_path: Path) -> None:
    client = Client(None, None)
    server, _, uri = await serve(tmp_path, {}, client)
    outcome = await run_generation(server, at_restock(uri))
    assert outcome["applied"], outcome
    assert outcome["run"]["ran"] is False and outcome["run"]["reason"] == UNANSWERED_REASON
    assert "tests not run: the question about running them was not answered" in \
        outcome["message"]
    assert len(client.asked) == 1
    assert client.asked[0].message.endswith(f"Run generated tests in {tmp_path.name}?")
    assert ConsentStore().get(tmp_path) is None
    (tmp_path / "tests" / "test_inventory.py").unlink()
    await run_generation(server, at_restock(uri))
    assert len(client.asked) == 2


async def test_a_refusal_is_remembered_and_named_in_the_message(tmp_path: Path) -> None:
    client = Client(DONT_RUN)
    server, _, uri = await serve(tmp_path, {"runGeneratedTests": "ask"}, client)
    outcome = await run_generation(server, at_restock(uri))
    assert outcome["applied"] and outcome["run"]["reason"] == REFUSED_REASON, outcome
    assert outcome["message"].endswith(
        "tests not run: you chose not to run tests in this workspace; change it with the "
        "runGeneratedTests setting")
    assert ConsentStore().get(tmp_path) is False
    (tmp_path / "tests" / "test_inventory.py").unlink()
    await run_generation(server, at_restock(uri))
    assert len(client.asked) == 1


async def test_run_in_this_workspace_runs_the_generated_tests(tmp_path: Path) -> None:
    client = Client(RUN)
    server, _, uri = await serve(tmp_path, {}, client)
    outcome = await run_generation(server, at_restock(uri))
    assert outcome["applied"], outcome
    assert outcome["run"]["ran"] is True, outcome["run"]
    assert "tests not run" not in outcome["message"]
    assert ConsentStore().get(tmp_path) is True
