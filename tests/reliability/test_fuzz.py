"""Fuzz the real server (hypothesis, fixed budget, derandomized): random valid-shaped and
invalid requests and notifications, and random frames. Every request gets a response
(result or error) in time, the process stays alive, and a real completion works at the end.

Left out of the methods: `shutdown`/`exit` (they end the server by design), `initialize`
and `workspace/didChangeConfiguration` (random settings could point the model at nothing,
which is a settings error with its own tests, not a crash). Completions ask for at most
four tokens so the fuzzed requests stay cheap.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import HEALTH_TEXT, RawServer, ServerGone, assert_serving, start_ready_server

pytestmark = pytest.mark.model

REQUESTS = [
    "textDocument/inlineCompletion", "textDocument/hover", "textDocument/codeAction",
    "codeAction/resolve", "workspace/executeCommand", "textDocument/completion",
    "textDocument/definition", "textDocument/formatting", "workspace/symbol",
    "textDocument/documentSymbol", "textDocument/semanticTokens/full", "ghostline/unknown",
]
NOTIFICATIONS = [
    "textDocument/didOpen", "textDocument/didChange", "textDocument/didClose",
    "textDocument/didSave", "workspace/didChangeWatchedFiles", "$/cancelRequest",
    "$/setTrace", "window/workDoneProgress/cancel", "initialized", "ghostline/unknown",
]
LEFT_OUT = frozenset({"shutdown", "exit", "initialize", "workspace/didChangeConfiguration"})
COMMANDS = ["ghostline.status", "ghostline.hoverStatus", "ghostline.generateTests", "nope"]
#: Answers must come within this many seconds (a model call is capped at 4 tokens here).
ANSWER_TIMEOUT_S = 60

json_leaf = st.none() | st.booleans() | st.integers(-2**40, 2**40) | st.floats(
    allow_nan=False) | st.text(max_size=20)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=12,
)
line_or_char = st.integers(0, 5) | st.integers(0, 2**31 - 1) | st.integers(-3, -1)
position = st.fixed_dictionaries({"line": line_or_char, "character": line_or_char})
code_text = st.text(
    alphabet=st.sampled_from(list("abc def():\n\t\r ()[]{}'\"#😋日\x00\x0c\u2028\udcff=+.,")),
    max_size=80)


@pytest.fixture(scope="module")
def fuzz_server(module_root: Path, tmp_path_factory: pytest.TempPathFactory
                ) -> Iterator[RawServer]:
    server = start_ready_server(module_root, tmp_path_factory.mktemp("logs"),
                                options={"maxTokens": 4, "maxTokensMultiline": 4})
    yield server
    server.close()


def uris(root: Path) -> st.SearchStrategy[str]:
    names = ["fuzz_a.py", "fuzz_b.ts", "cart.py", "never_opened.py"]
    known = [(root / name).as_uri() for name in names]
    return st.sampled_from(known) | st.sampled_from(
        ["file:///", "untitled:Untitled-1", "not a uri", "file:///../../etc/passwd", ""])


def shaped_params(method: str, uri: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    """Parameters of the right shape for `method`, with random values in them."""
    document = st.fixed_dictionaries({"uri": uri})
    at = {"textDocument": document, "position": position}
    shapes: dict[str, st.SearchStrategy[Any]] = {
        "textDocument/inlineCompletion": st.fixed_dictionaries(
            {**at, "context": st.fixed_dictionaries({"triggerKind": st.sampled_from([1, 2])})}),
        "textDocument/hover": st.fixed_dictionaries(at),
        "textDocument/codeAction": st.fixed_dictionaries({
            "textDocument": document,
            "range": st.fixed_dictionaries({"start": position, "end": position}),
            "context": st.fixed_dictionaries({"diagnostics": st.just([])})}),
        "workspace/executeCommand": st.fixed_dictionaries({
            "command": st.sampled_from(COMMANDS),
            "arguments": st.lists(json_value, max_size=3)}),
        "textDocument/didOpen": st.fixed_dictionaries({"textDocument": st.fixed_dictionaries({
            "uri": uri, "languageId": st.sampled_from(["python", "typescript", "x", ""]),
            "version": st.integers(-5, 10), "text": code_text})}),
        "textDocument/didChange": st.fixed_dictionaries({
            "textDocument": st.fixed_dictionaries({"uri": uri,
                                                   "version": st.integers(-5, 10**6)}),
            "contentChanges": st.lists(st.fixed_dictionaries({"text": code_text}) | (
                st.fixed_dictionaries({
                    "range": st.fixed_dictionaries({"start": position, "end": position}),
                    "text": code_text})), max_size=3)}),
        "textDocument/didClose": st.fixed_dictionaries({"textDocument": document}),
        "$/cancelRequest": st.fixed_dictionaries({"id": st.integers(0, 10**6) | st.text()}),
    }
    return shapes.get(method, json_value)


def messages(root: Path) -> st.SearchStrategy[tuple[str, str, Any]]:
    """(kind, method, params): kind is request, notification or raw (a random frame)."""
    uri = uris(root)
    methods = st.sampled_from(REQUESTS) | st.text(max_size=30).filter(
        lambda m: m not in LEFT_OUT)
    request = st.tuples(st.just("request"), methods, st.none()).flatmap(
        lambda t: st.tuples(st.just(t[0]), st.just(t[1]),
                            shaped_params(t[1], uri) | json_value))
    notification = st.tuples(st.just("notification"), st.sampled_from(NOTIFICATIONS),
                             st.none()).flatmap(
        lambda t: st.tuples(st.just(t[0]), st.just(t[1]),
                            shaped_params(t[1], uri) | json_value))
    raw = st.tuples(st.just("raw"), st.just(""), st.binary(max_size=64))
    return st.one_of(request, request, notification, raw)


_counts: dict[str, int] = {"request": 0, "notification": 0, "raw": 0, "error": 0,
                           "result": 0}
_ids = itertools.count(10_000)


def send(server: RawServer, kind: str, method: str, params: Any) -> None:
    _counts[kind] += 1
    if kind == "raw":
        server.send_raw(params)
    elif kind == "notification":
        server.notify(method, params)
    else:
        try:
            answer = server.request(method, params, timeout=ANSWER_TIMEOUT_S,
                                    msg_id=f"fuzz-{next(_ids)}")
        except ServerGone as exc:
            raise AssertionError(f"{method} with {params!r}: {exc}") from exc
        assert ("result" in answer) != ("error" in answer), answer
        _counts["error" if "error" in answer else "result"] += 1
    assert server.alive(), f"died after {kind} {method} {params!r}: {server.stderr_tail()}"


def test_random_traffic_is_always_answered(fuzz_server: RawServer, module_root: Path) -> None:
    fuzz_server.open(module_root / "fuzz_a.py", HEALTH_TEXT)

    @settings(max_examples=60, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(st.lists(messages(module_root), min_size=1, max_size=4))
    def traffic(batch: list[tuple[str, str, Any]]) -> None:
        for kind, method, params in batch:
            send(fuzz_server, kind, method, params)
        # Nothing queued is lost: a status request after the batch is answered too.
        assert isinstance(fuzz_server.status(), dict)

    traffic()
    print("fuzz counts:", _counts)
    assert _counts["request"] >= 30 and _counts["raw"] >= 5, _counts
    assert _counts["error"] > 0 and _counts["result"] > 0, _counts
    assert_serving(fuzz_server, module_root)
