"""Escalation through the in-process server with scripted engines: the local model answers
unsurely, a second backend ("big", a second local model here) answers instead when the rule,
the limits and the exclusions allow and it is in time for the same request; otherwise the
local answer stands. No model, no network."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from tests.inprocess_server import Transport, send

from ghostline.engine.base import (
    EngineError,
    Finished,
    GenerationRequest,
    ModelInfo,
    StreamItem,
    Token,
)
from ghostline.engine.router import BackendEngine
from ghostline.features.testgen import GenError, GenRequest, GenServices
from ghostline.ledger import Counters, Ledger
from ghostline.lsp import escalation, usage
from ghostline.lsp.app import create_server
from ghostline.lsp.inline_completion import complete
from ghostline.lsp.lifecycle import status
from ghostline.lsp.server import GhostlineServer
from ghostline.settings import Settings

SOURCE = "def add(a, b):\n    return "
BIG = {"big": {"kind": "local", "model": "big"}}


class Scripted:
    """Answers every completion with `text`, each token at probability `p`; `before` runs
    when a stream starts (a delay, a failure, an edit in the editor)."""

    def __init__(self, text: str, p: float,
                 before: Callable[[], Any] | None = None) -> None:
        self.text = text
        self.p = p
        self.before = before
        self.name = "scripted"
        self.requests: list[GenerationRequest] = []

    async def start(self) -> ModelInfo:
        return ModelInfo(name=f"scripted {self.text!r}")

    async def stream(self, request: GenerationRequest) -> AsyncIterator[StreamItem]:
        self.requests.append(request)
        if self.before is not None:
            result = self.before()
            if asyncio.iscoroutine(result):
                await result
        for piece in (self.text[:3], self.text[3:]):
            await asyncio.sleep(0)
            yield Token(piece, logprob=math.log(self.p))
        yield Finished(reason="eos", prompt_tokens=10, generated_tokens=2)

    async def count_tokens(self, text: str) -> int:
        return len(text) // 4

    async def close(self) -> None:
        return None


async def start(tmp_path: Path, settings: dict[str, Any], local: Scripted, big: Scripted,
                name: str = "calc.py", language: str = "python"
                ) -> tuple[GhostlineServer, str]:
    def factory(s: Settings) -> Scripted:
        return big if s.model == "big" else local

    server = create_server(engine_factory=factory)  # type: ignore[arg-type]
    server.protocol.set_writer(Transport())  # type: ignore[arg-type]
    root = tmp_path
    send(server, {"id": 1, "method": "initialize", "params": {
        "processId": None, "rootUri": root.as_uri(), "capabilities": {},
        "initializationOptions": {"debounceMs": 0, **settings}}})
    await asyncio.sleep(0.05)
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    uri = path.as_uri()
    send(server, {"method": "textDocument/didOpen", "params": {"textDocument": {
        "uri": uri, "languageId": language, "version": 1, "text": SOURCE}}})
    await asyncio.sleep(0.01)
    return server, uri


async def ask(server: GhostlineServer, uri: str) -> types.InlineCompletionItem | None:
    server.core.completer.clear_cache()  # every request asks the model
    result = await complete(server, types.InlineCompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=types.Position(line=1, character=11),
        context=types.InlineCompletionContext(
            trigger_kind=types.InlineCompletionTriggerKind.Automatic)))
    assert result is not None
    return result.items[0] if result.items else None


def rule(**extra: Any) -> dict[str, Any]:
    return {"backends": BIG, "escalate": {"inlineCompletion": {"backend": "big", "below": 0.5,
                                                               **extra}}}


def counts(server: GhostlineServer) -> dict[str, int]:
    return status(server)["escalation"]["counts"].get("inlineCompletion", {})


async def test_a_low_confidence_suggestion_is_answered_by_the_escalation_backend(
        tmp_path: Path) -> None:
    local, big = Scripted("a - b", 0.2), Scripted("a + b", 0.9)
    server, uri = await start(tmp_path, rule(), local, big)
    item = await ask(server, uri)
    assert item is not None and item.insert_text == "a + b"
    assert item.command is not None
    (argument,) = item.command.arguments or []
    assert argument["backend"] == "big"
    state = status(server)
    assert state["escalation"]["lastBackend"] == "big"
    assert state["escalation"]["backends"] == {"inlineCompletion": "big"}
    assert counts(server) == {"escalated": 1, "answered": 1}
    assert state["answered"]["inlineCompletion"] == {"local": 1, "big": 1}
    assert state["lastCompletion"]["backend"] == "big"
    # The escalated answer is now this cursor's: typing into it needs no model.
    calls = len(local.requests) + len(big.requests)
    assert server.core.completer._typed_through(uri, SOURCE + "a", "") == " + b"
    assert len(local.requests) + len(big.requests) == calls


async def test_a_confident_suggestion_stays_local(tmp_path: Path) -> None:
    local, big = Scripted("a + b", 0.9), Scripted("a * b", 0.9)
    server, uri = await start(tmp_path, rule(), local, big)
    item = await ask(server, uri)
    assert item is not None and item.insert_text == "a + b"
    assert not big.requests and counts(server) == {}


async def test_a_suggestion_min_confidence_hides_is_escalated(tmp_path: Path) -> None:
    local, big = Scripted("a - b", 0.2), Scripted("a + b", 0.9)
    server, uri = await start(tmp_path, {**rule(), "minConfidence": 0.4}, local, big)
    item = await ask(server, uri)
    assert item is not None and item.insert_text == "a + b"


async def test_a_hidden_suggestion_stays_hidden_when_the_remote_fails(tmp_path: Path) -> None:
    def fail() -> None:
        raise EngineError("backend 'big' is down")

    local, big = Scripted("a - b", 0.2), Scripted("a + b", 0.9, before=fail)
    server, uri = await start(tmp_path, {**rule(), "minConfidence": 0.4}, local, big)
    assert await ask(server, uri) is None
    assert counts(server) == {"escalated": 1, "failed": 1}


async def test_the_local_answer_stands_when_the_remote_errors(tmp_path: Path) -> None:
    def fail() -> None:
        raise EngineError("backend 'big' is down")

    local, big = Scripted("a - b", 0.2), Scripted("a + b", 0.9, before=fail)
    server, uri = await start(tmp_path, rule(), local, big)
    item = await ask(server, uri)
    assert item is not None and item.insert_text == "a - b"
    assert item.command is not None and (item.command.arguments or [{}])[0]["backend"] == "local"
    last = status(server)["escalation"]["last"]
    assert last["outcome"] == "failed" and "down" in last["detail"]
    assert status(server)["escalation"]["lastBackend"] is None


async def test_the_local_answer_stands_when_the_remote_times_out(tmp_path: Path) -> None:
    local, big = Scripted("a - b", 0.2), Scripted("a + b", 0.9,
                                                   before=lambda: asyncio.sleep(30))
    server, uri = await start(tmp_path, rule(timeoutMs=200), local, big)
    started = time.monotonic()
    item = await ask(server, uri)
    assert time.monotonic() - started < 2
    assert item is not None and item.insert_text == "a - b"
    assert counts(server) == {"escalated": 1, "timeout": 1}


async def test_a_request_the_user_moved_on_from_keeps_the_local_answer(tmp_path: Path) -> None:
    server_box: list[GhostlineServer] = []
    uri_box: list[str] = []

    def edit() -> None:  # the user types while the bigger backend thinks
        send(server_box[0], {"method": "textDocument/didChange", "params": {
            "textDocument": {"uri": uri_box[0], "version": 2},
            "contentChanges": [{"text": SOURCE + "a"}]}})

    local, big = Scripted("a - b", 0.2), Scripted("a + b", 0.9, before=edit)
    server, uri = await start(tmp_path, rule(), local, big)
    server_box.append(server)
    uri_box.append(uri)
    item = await ask(server, uri)
    assert item is not None and item.insert_text == "a - b"
    assert counts(server) == {"escalated": 1, "superseded": 1}


async def test_a_newer_request_supersedes_the_escalation(tmp_path: Path) -> None:
    boxes: list[tuple[GhostlineServer, str]] = []

    def newer() -> None:
        server, uri = boxes[0]
        server.request_seq[uri] = server.request_seq.get(uri, 0) + 1

    local, big = Scripted("a - b", 0.2), Scripted("a + b", 0.9, before=newer)
    server, uri = await start(tmp_path, rule(), local, big)
    boxes.append((server, uri))
    item = await ask(server, uri)
    assert item is not None and item.insert_text == "a - b"
    assert counts(server)["superseded"] == 1


async def test_at_most_per_minute_escalations(tmp_path: Path) -> None:
    local, big = Scripted("a - b", 0.2), Scripted("a + b", 0.9)
    server, uri = await start(tmp_path, rule(perMinute=3), local, big)
    texts = [item.insert_text if (item := await ask(server, uri)) else None
             for _ in range(8)]
    assert texts == ["a + b"] * 3 + ["a - b"] * 5
    assert 1 <= len(big.requests) <= 3  # the same cursor again: its completer's cache
    assert counts(server) == {"escalated": 3, "answered": 3, "limited": 5}


async def test_at_most_per_day_escalations_counting_the_ledger(tmp_path: Path) -> None:
    local, big = Scripted("a - b", 0.2), Scripted("a + b", 0.9)
    server, uri = await start(tmp_path, rule(perDay=3), local, big)
    # Two escalations already recorded today (an earlier session).
    server.ledger.record("inlineCompletion", "python", "big", Counters(escalations=2))
    texts = [item.insert_text if (item := await ask(server, uri)) else None
             for _ in range(3)]
    assert texts == ["a + b", "a - b", "a - b"]
    assert counts(server)["limited"] == 2


@pytest.mark.parametrize(("extra", "name"), [
    ({"excludeLanguages": ["python"]}, "calc.py"),
    ({"excludeGlobs": ["secret/"]}, "secret/calc.py"),
    ({"excludeGlobs": ["**/keys/*.py"]}, "src/keys/calc.py"),
    ({"excludeGlobs": ["*.py"]}, "calc.py"),
])
async def test_excluded_languages_and_paths_never_escalate(
        tmp_path: Path, extra: dict[str, Any], name: str) -> None:
    local, big = Scripted("a - b", 0.2), Scripted("a + b", 0.9)
    server, uri = await start(tmp_path, rule(**extra), local, big, name=name)
    item = await ask(server, uri)
    assert item is not None and item.insert_text == "a - b"
    assert not big.requests and counts(server) == {"excluded": 1}


@pytest.mark.parametrize("settings", [
    {"backends": BIG},  # a backend, but no escalate rule: the default
    {"escalate": {"inlineCompletion": {"backend": "big"}}},  # an unknown backend
    {"backends": BIG, "escalate": {"inlineCompletion": {"below": 0.9}}},  # no backend named
])
async def test_without_a_usable_rule_nothing_escalates(
        tmp_path: Path, settings: dict[str, Any], caplog: pytest.LogCaptureFixture) -> None:
    local, big = Scripted("a - b", 0.01), Scripted("a + b", 0.9)
    server, uri = await start(tmp_path, settings, local, big)
    for _ in range(2):
        item = await ask(server, uri)
        assert item is not None and item.insert_text == "a - b"
    assert not big.requests and counts(server) == {}
    if "escalate" in settings:  # a rule that cannot work is said once in the log
        assert sum("not escalating" in r.getMessage() for r in caplog.records) == 1


async def test_the_ledger_records_the_escalation_under_the_backend_that_answered(
        tmp_path: Path, _private_usage_ledger: Path) -> None:
    local, big = Scripted("a - b", 0.2), Scripted("a + b", 0.9)
    server, uri = await start(tmp_path, rule(), local, big)
    await ask(server, uri)
    today = status(server)["usageToday"]
    assert today["escalations"] == 1 and today["shown"] == 1
    server.ledger.close()
    rows = Ledger(_private_usage_ledger, flush_interval_s=0).rows()
    (key,) = [k for k, row in rows.items() if row.escalations]
    assert key.backend == "big" and rows[key].requests == 1


# -- generate tests ---------------------------------------------------------------------------


class FakeGenerator:
    """Stands in for `GenJob`: fails the checks on the local model, succeeds on big."""

    def __init__(self, services: GenServices) -> None:
        self.services = services

    async def generate(self) -> Any:
        if isinstance(self.services.engine, BackendEngine):
            assert self.services.model_info is not None
            return {"engine": self.services.engine.name, "model": self.services.model_info.name}
        raise GenError("the model wrote no usable test for add (2 tries); nothing "
                                  "was changed.")


async def generate(server: GhostlineServer, path: Path) -> Any:
    request = GenRequest(path=path, text=SOURCE, language="python", line=0, byte_col=4,
                          root=path.parent)
    services = GenServices(engine=server.core.engine_for("generateTests"), model_info=None,
                            settings=server.core.settings, read_text=lambda p: None)
    return await escalation.generate_tests(server, request, services,
                                           FakeGenerator)  # type: ignore[arg-type]


async def test_tests_that_fail_the_checks_are_written_again_by_the_escalation_backend(
        tmp_path: Path) -> None:
    local, big = Scripted("", 0.2), Scripted("", 0.9)
    server, _ = await start(tmp_path, {"backends": BIG, "escalate": {
        "generateTests": {"backend": "big"}}}, local, big)
    assert await generate(server, tmp_path / "calc.py") == {"engine": "big",
                                                            "model": "scripted ''"}
    assert status(server)["escalation"]["counts"]["generateTests"] == {"escalated": 1,
                                                                      "answered": 1}


async def test_tests_without_an_escalation_rule_keep_the_local_failure(tmp_path: Path) -> None:
    server, _ = await start(tmp_path, {"backends": BIG}, Scripted("", 0.2), Scripted("", 0.9))
    with pytest.raises(GenError, match="wrote no usable test"):
        await generate(server, tmp_path / "calc.py")


# -- hover ------------------------------------------------------------------------------------


async def test_an_empty_hover_summary_is_asked_of_the_escalation_backend(
        tmp_path: Path) -> None:
    from ghostline.index.model import Definition, Span

    local, big = Scripted("", 0.2), Scripted("", 0.9)
    server, _ = await start(tmp_path, {"backends": BIG, "escalate": {
        "hover": {"backend": "big", "excludeGlobs": ["vendor/"]}}}, local, big)
    asked: list[tuple[str, bool]] = []

    async def ask_summary(engine: Any, chat: bool) -> str:
        asked.append((engine.name, chat))
        return "adds two numbers"

    span = Span(0, 0, 0, 0)
    definition = Definition(name="add", qualified_name="add", kind="function",
                            path=tmp_path / "calc.py", span=span, name_span=span,
                            language="python")
    assert await escalation.hover_summary(server, definition, ask_summary) == "adds two numbers"
    assert asked == [("big", False)]
    vendored = Definition(name="add", qualified_name="add", kind="function",
                          path=tmp_path / "vendor" / "calc.py", span=span, name_span=span,
                          language="python")
    assert await escalation.hover_summary(server, vendored, ask_summary) == ""
    assert len(asked) == 1
    usage_counts = status(server)["escalation"]["counts"]["hover"]
    assert usage_counts == {"escalated": 1, "answered": 1, "excluded": 1}
    assert usage.current() is None
