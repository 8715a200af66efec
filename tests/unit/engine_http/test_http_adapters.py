"""llama-server and Ollama adapters against recorded wire bodies replayed on 127.0.0.1.

The streaming, cancellation and failure tests at the bottom run for every adapter and
endpoint (the "shared" tests); the ones above check what each adapter sends and reads.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from dataclasses import dataclass
from typing import Any

import pytest
from http_replay import RECORDINGS, ReplayServer, recorded, recording_pieces

from ghostline.engine.base import (
    ChatMessage,
    EngineError,
    Finished,
    GenerationRequest,
    StreamItem,
    Superseded,
    Token,
)
from ghostline.engine.http import LlamaServerEngine, OllamaEngine, create_http_engine
from ghostline.engine.http.http_base import HttpEngine, closing_stream
from ghostline.engine.http.llama_server import IndentCut
from ghostline.settings import BackendSettings

PREFIX = "def add(a, b):\n    "
SUFFIX = "\n\nprint(add(1, 2))\n"


async def collect(engine: HttpEngine, request: GenerationRequest) -> list[StreamItem]:
    return [item async for item in engine.stream(request)]


def text_of(items: list[StreamItem]) -> str:
    return "".join(i.text for i in items if isinstance(i, Token))


def recorded_text(name: str) -> str:
    """What the recording says the model generated (independent of the adapters' decoders)."""
    out = []
    for line in (RECORDINGS / name).read_text().splitlines():
        payload = line.partition(":")[2].strip() if name.endswith(".sse") else line
        if not payload or payload == "[DONE]":
            continue
        data = json.loads(payload)
        if "content" in data:
            out.append(data["content"] or "")
        elif "response" in data:
            out.append(data["response"])
        elif "message" in data:
            out.append(data["message"]["content"])
        elif data.get("choices"):
            choice = data["choices"][0]
            out.append(choice.get("text") or (choice.get("delta") or {}).get("content") or "")
    return "".join(out)


def engine(kind: str, url: str, **settings: Any) -> HttpEngine:
    settings.setdefault("model", "qwen2.5-coder:1.5b")
    return create_http_engine("team", BackendSettings(kind=kind, url=url, **settings))


# -- llama-server (bodies recorded from a real llama-server, see recordings/README.md) ---------

LS = "llama_server/"


def events(name: str) -> list[dict[str, Any]]:
    """The JSON payloads of a recorded `.sse` body, in order ("[DONE]" left out)."""
    out = []
    for piece in recording_pieces(name):
        payload = piece.decode().partition(":")[2].strip()
        if payload and payload != "[DONE]":
            out.append(json.loads(payload))
    return out


def final_event(name: str) -> dict[str, Any]:
    return next(e for e in events(name) if e.get("stop") is True)


def recorded_json(name: str) -> Any:
    return json.loads((RECORDINGS / name).read_text())


def sent_as_recorded(seen: Any, name: str) -> None:
    """The adapter sent exactly the request that produced recording `name`."""
    assert seen.method == recorded(name)["request"]["method"]
    assert seen.path == recorded(name)["request"]["path"]
    assert seen.body == recorded(name)["request"]["body"]


async def replay_llama(
    replay: ReplayServer, path: str, name: str, request: GenerationRequest, **settings: Any
) -> list[StreamItem]:
    """Stream `request` through a llama-server engine answered by recording `name`."""
    replay.serve("POST", path, name)
    eng = engine("llama-server", replay.url, **settings)
    items = await collect(eng, request)
    await eng.close()
    return items


#: The request behind infill_stream.sse (`record.py`'s INFILL).
INFILL_REQUEST = GenerationRequest(
    prompt="<raw prompt the local engine would use>",
    infill_prefix=PREFIX,
    infill_suffix=SUFFIX,
    infill_extra=[{"filename": "util.py", "text": "def sub(a, b):\n    return a - b\n"}],
    max_tokens=24,
    time_limit_s=2.5,
)


async def test_llama_server_infill_sends_native_fields_and_reads_the_stream(
    replay: ReplayServer,
) -> None:
    name = LS + "infill_stream.sse"
    items = await replay_llama(replay, "/infill", name, INFILL_REQUEST)
    sent_as_recorded(replay.requests[0], name)
    body = replay.requests[0].body
    assert (body["input_prefix"], body["input_suffix"]) == (PREFIX, SUFFIX)
    assert body["n_indent"] == 4 and body["t_max_predict_ms"] == 2500
    assert "prompt" not in body
    # The server streamed "\n", "print", "(" and then stopped on its n_indent rule
    # ("print" starts a line with fewer than 4 blanks): its own text is "\n" only.
    final_payload = final_event(name)
    assert recorded_text(name) == "\nprint("
    assert final_payload["stop_type"] == "limit" and final_payload["has_new_line"] is True
    assert text_of(items) == "\n"
    final = items[-1]
    assert isinstance(final, Finished)
    assert final.reason == "length"
    assert final.prompt_tokens == final_payload["tokens_evaluated"]
    assert final.generated_tokens == final_payload["tokens_predicted"]
    # `tokens_cached` counts the whole slot (prompt and generated), not cache hits.
    assert final.cached_tokens == final_payload["timings"]["cache_n"]
    assert final_payload["tokens_cached"] != final_payload["timings"]["cache_n"]
    assert final.backend == "team"
    assert final.first_token_s is not None and 0 < final.first_token_s <= final.total_s


async def test_llama_server_infill_on_a_long_prefix_is_trimmed_by_the_server(
    replay: ReplayServer,
) -> None:
    """A prefix far beyond the context: /infill trims it itself and streams (no error)."""
    name = LS + "infill_huge_prefix.sse"
    request = GenerationRequest(infill_prefix="x = 1\n", infill_suffix="")
    items = await replay_llama(replay, "/infill", name, request)
    payload = final_event(name)
    assert recorded("llama_server/props.json")["status"] == 200
    n_ctx = recorded_json(LS + "props.json")["default_generation_settings"]["n_ctx"]
    assert payload["tokens_evaluated"] < n_ctx
    assert text_of(items) == recorded_text(name)  # prefix "x = 1\n": n_indent 0, nothing cut
    final = items[-1]
    assert isinstance(final, Finished) and final.prompt_tokens == payload["tokens_evaluated"]


async def test_llama_server_raw_prompt_uses_completion_and_maps_stop_word(
    replay: ReplayServer,
) -> None:
    name = LS + "completion_stream.sse"
    replay.serve("POST", "/completion", name)
    eng = engine("llama-server", replay.url + "/v1")  # an OpenAI-style base URL is accepted
    request = GenerationRequest(prompt="# Return the sum\ndef add(a, b):", stop=["\n\n"])
    items = await collect(eng, GenerationRequest(**{**request.__dict__, "max_tokens": 24}))
    await eng.close()
    sent_as_recorded(replay.requests[0], name)
    payload = final_event(name)
    assert (payload["stop_type"], payload["stopping_word"]) == ("word", "\n\n")
    # The server held back "\n" (a possible start of the stop word) and sent it with the
    # next piece; the stop word itself never appears.
    assert events(name)[0]["content"] == "" and events(name)[0]["tokens"]
    assert text_of(items) == recorded_text(name) and "\n\n" not in text_of(items)
    final = items[-1]
    assert isinstance(final, Finished)
    assert final.reason == "stop"
    assert final.generated_tokens == payload["tokens_predicted"]
    assert final.cached_tokens == payload["timings"]["cache_n"]


async def test_llama_server_client_template_sends_the_raw_prompt(replay: ReplayServer) -> None:
    replay.serve("POST", "/completion", LS + "completion_stream.sse")
    eng = engine("llama-server", replay.url, fim_template="qwen")
    await collect(
        eng, GenerationRequest(prompt="<|fim_prefix|>x", infill_prefix="x", infill_suffix="")
    )
    await eng.close()
    assert replay.requests[0].path == "/completion"
    assert replay.requests[0].body["prompt"] == "<|fim_prefix|>x"


async def test_llama_server_without_fim_tokens_falls_back_to_completion(
    replay: ReplayServer,
) -> None:
    """The default Gemma 3 270M has no FIM tokens: /infill answers 501 before streaming."""
    refused = LS + "infill_unsupported_501.json"
    replay.serve("POST", "/infill", refused)
    replay.serve("POST", "/completion", LS + "completion_stream.sse")
    assert recorded(refused)["status"] == 501
    assert "Infill is not supported" in recorded_json(refused)["error"]["message"]
    eng = engine("llama-server", replay.url)
    items = await collect(eng, INFILL_REQUEST)
    assert [r.path for r in replay.requests] == ["/infill", "/completion"]
    sent_as_recorded(replay.requests[0], refused)
    assert replay.requests[1].body["prompt"] == INFILL_REQUEST.prompt
    assert "input_prefix" not in replay.requests[1].body
    assert text_of(items) == recorded_text(LS + "completion_stream.sse")
    assert isinstance(items[-1], Finished) and items[-1].reason == "stop"

    # Known from now on: straight to /completion; without a prompt, the prefix is the prompt.
    await collect(eng, GenerationRequest(infill_prefix=PREFIX, infill_suffix=SUFFIX))
    await eng.close()
    assert [r.path for r in replay.requests[2:]] == ["/completion"]
    assert replay.requests[2].body["prompt"] == PREFIX


async def test_llama_server_chat_reads_openai_chunks(replay: ReplayServer) -> None:
    name = LS + "chat_stream.sse"
    messages = [
        ChatMessage("system", "Write pytest tests."),
        ChatMessage("user", "def add(a, b): return a + b"),
    ]
    request = GenerationRequest(messages=messages, max_tokens=12)
    items = await replay_llama(replay, "/v1/chat/completions", name, request, model="")
    sent_as_recorded(replay.requests[0], name)
    recorded_events = events(name)
    assert recorded_events[0]["choices"][0]["delta"] == {"role": "assistant", "content": None}
    assert recorded_events[-2]["choices"][0]["finish_reason"] == "length"
    usage = recorded_events[-1]["usage"]
    assert recorded_events[-1]["choices"] == []
    assert text_of(items) == recorded_text(name) != ""
    final = items[-1]
    assert isinstance(final, Finished)
    assert final.reason == "length"
    assert (final.prompt_tokens, final.generated_tokens) == (
        usage["prompt_tokens"],
        usage["completion_tokens"],
    )


async def test_llama_server_start_and_count_tokens(replay: ReplayServer) -> None:
    replay.serve("GET", "/props", LS + "props.json")
    replay.serve("POST", "/tokenize", LS + "tokenize.json")
    eng = engine("llama-server", replay.url, model="")
    info = await eng.start()
    count = await eng.count_tokens("def add(a, b):")
    await eng.close()
    props = recorded_json(LS + "props.json")
    assert info.name == os.path.basename(props["model_path"]) == "gemma-3-270m-q4_k_m.gguf"
    assert info.context_size == props["default_generation_settings"]["n_ctx"] > 0
    assert info.metadata["build_info"] == props["build_info"]
    assert info.metadata["total_slots"] == props["total_slots"]
    assert info.fim_template == "server"
    assert info.has_chat_template is bool(props["chat_template"])
    assert count == len(recorded_json(LS + "tokenize.json")["tokens"]) > 0
    sent_as_recorded(replay.requests[1], LS + "tokenize.json")


async def test_llama_server_prompt_over_the_context_is_an_http_400(replay: ReplayServer) -> None:
    """Checked before streaming: an HTTP error, not an event."""
    name = LS + "completion_context_400.json"
    replay.serve("POST", "/completion", name)
    eng = engine("llama-server", replay.url)
    with pytest.raises(EngineError) as caught:
        await collect(eng, GenerationRequest(prompt="x = 1\n" * 3000))
    await eng.close()
    message = str(caught.value)
    assert recorded(name)["status"] == 400 and "HTTP 400 Bad Request" in message
    assert recorded_json(name)["error"]["message"][:60] in message
    assert replay.url + "/completion" in message


async def test_llama_server_error_event_after_tokens_is_an_engine_error(
    replay: ReplayServer,
) -> None:
    """`data: {"error": ...}` inside a 200 stream (recorded with two prompts, one slot)."""
    name = LS + "completion_error_midstream.sse"
    pieces = recording_pieces(name)
    assert b'"error"' in pieces[-1]
    # As recorded, the error follows the first prompt's final event: that answer is complete.
    replay.serve("POST", "/completion", name)
    eng = engine("llama-server", replay.url)
    items = await collect(eng, GenerationRequest(prompt="def add(a, b):"))
    assert isinstance(items[-1], Finished) and items[-1].reason == "length"
    assert text_of(items) == "".join(e.get("content", "") for e in events(name))
    # The same error event right after the tokens: the stream fails, naming the URL.
    route = replay.serve("POST", "/completion", name)
    route.pieces = [p for p in pieces if b'"stop":true' not in p]
    seen: list[StreamItem] = []
    with pytest.raises(EngineError, match="failed mid-stream: Prompt contains invalid tokens"):
        async for item in eng.stream(GenerationRequest(prompt="def add(a, b):")):
            seen.append(item)
    await eng.close()
    assert text_of(seen) == text_of(items) != ""


async def test_llama_server_loading_503_names_status_and_message(replay: ReplayServer) -> None:
    name = LS + "loading_503.json"
    replay.serve("POST", "/infill", name)
    eng = engine("llama-server", replay.url)
    with pytest.raises(EngineError) as caught:
        await collect(eng, GenerationRequest(infill_prefix=PREFIX))
    await eng.close()
    message = str(caught.value)
    assert recorded(name)["status"] == 503
    assert "HTTP 503" in message and "Loading model" in message and replay.url in message


def test_indent_cut_follows_the_server_rule() -> None:
    cut = IndentCut(4)
    assert [cut.feed(e["content"]) for e in events(LS + "infill_stream.sse")] == ["\n", "", "", ""]
    assert IndentCut(4).feed("x\n        y\n    z\nw") == "x\n        y\n    z\n"
    assert IndentCut(4).feed("x\n\n    y") == "x\n"  # a blank line is a dedent too
    assert IndentCut(1).feed("\tx\n\ty") == "\tx\n\ty"
    assert IndentCut(0).feed("a\nb") == "a\nb"
    split = IndentCut(2)  # the server keeps the blanks of the cut line
    assert [split.feed(t) for t in ["a\n", " ", " b", "\n", " c"]] == ["a\n", " ", " b", "\n", " "]


# -- Ollama -----------------------------------------------------------------------------------


async def test_ollama_infill_sends_prompt_and_suffix(replay: ReplayServer) -> None:
    replay.serve("POST", "/api/generate", "ollama/generate_infill_stream.jsonl")
    eng = engine("ollama", replay.url)
    request = GenerationRequest(
        prompt="<raw>", infill_prefix=PREFIX, infill_suffix=SUFFIX, max_tokens=16, stop=["\n\n"]
    )
    items = await collect(eng, request)
    await eng.close()
    body = replay.requests[0].body
    assert body["model"] == "qwen2.5-coder:1.5b"
    assert (body["prompt"], body["suffix"]) == (PREFIX, SUFFIX)
    assert "raw" not in body
    assert body["keep_alive"] == "30m"
    assert body["options"] == {"num_predict": 16, "temperature": 0.0, "stop": ["\n\n"]}
    assert text_of(items) == recorded_text("ollama/generate_infill_stream.jsonl") == "return a + b"
    final = items[-1]
    assert isinstance(final, Finished)
    assert (final.reason, final.prompt_tokens, final.generated_tokens) == ("stop", 20, 5)


async def test_ollama_raw_prompt_and_length_reason(replay: ReplayServer) -> None:
    replay.serve("POST", "/api/generate", "ollama/generate_raw_stream.jsonl")
    eng = engine("ollama", replay.url)
    items = await collect(eng, GenerationRequest(prompt="def add(a, b):", max_tokens=4))
    await eng.close()
    body = replay.requests[0].body
    assert body["raw"] is True and body["prompt"] == "def add(a, b):" and "suffix" not in body
    assert text_of(items) == "\n    return a"
    final = items[-1]
    assert isinstance(final, Finished) and final.reason == "length"


async def test_ollama_chat(replay: ReplayServer) -> None:
    replay.serve("POST", "/api/chat", "ollama/chat_stream.jsonl")
    eng = engine("ollama", replay.url)
    items = await collect(eng, GenerationRequest(messages=[ChatMessage("user", "tests please")]))
    await eng.close()
    assert replay.requests[0].body["messages"] == [{"role": "user", "content": "tests please"}]
    assert text_of(items) == "def test_add():"
    final = items[-1]
    assert isinstance(final, Finished) and (final.prompt_tokens, final.generated_tokens) == (31, 5)


async def test_ollama_start_counts_and_missing_model(replay: ReplayServer) -> None:
    replay.serve("POST", "/api/show", "ollama/show.json")
    eng = engine("ollama", replay.url)
    info = await eng.start()
    assert (info.name, info.context_size, info.fim_template) == (
        "qwen2.5-coder:1.5b",
        32768,
        "server",
    )
    assert info.metadata["suffix_in_template"] is True
    assert await eng.count_tokens("x" * 41) == 11  # no tokenize endpoint: 4 characters a token
    await eng.close()

    nameless = engine("ollama", replay.url, model="")
    with pytest.raises(EngineError, match="needs a model name"):
        await collect(nameless, GenerationRequest(prompt="x"))


async def test_ollama_unknown_model_404(replay: ReplayServer) -> None:
    replay.serve("POST", "/api/generate", "ollama/model_not_found_404.json", status=404)
    eng = engine("ollama", replay.url, model="qwen9:1b")
    with pytest.raises(EngineError) as caught:
        await collect(eng, GenerationRequest(prompt="x"))
    await eng.close()
    message = str(caught.value)
    assert "HTTP 404" in message and 'model "qwen9:1b" not found' in message
    assert replay.url + "/api/generate" in message


async def test_ollama_error_line_after_a_token(replay: ReplayServer) -> None:
    replay.serve("POST", "/api/generate", "ollama/generate_error_midstream.jsonl")
    eng = engine("ollama", replay.url)
    seen: list[StreamItem] = []
    with pytest.raises(EngineError, match="unexpected EOF"):
        async for item in eng.stream(GenerationRequest(prompt="x")):
            seen.append(item)
    await eng.close()
    assert text_of(seen) == "return"


# -- shared streaming, cancellation and failure tests -----------------------------------------


@dataclass
class Case:
    kind: str
    path: str
    recording: str
    request: GenerationRequest

    def __str__(self) -> str:
        return f"{self.kind}:{self.path}"


CASES = [
    Case(
        "llama-server",
        "/infill",
        "llama_server/infill_stream.sse",
        # A prefix ending on an unindented line: n_indent 0, so nothing of the stream is cut.
        GenerationRequest(infill_prefix="x = add(1, 2)\n", infill_suffix=SUFFIX),
    ),
    Case(
        "llama-server",
        "/completion",
        "llama_server/completion_stream.sse",
        GenerationRequest(prompt="def add(a, b):"),
    ),
    Case(
        "llama-server",
        "/v1/chat/completions",
        "llama_server/chat_stream.sse",
        GenerationRequest(messages=[ChatMessage("user", "hi")]),
    ),
    Case(
        "ollama",
        "/api/generate",
        "ollama/generate_infill_stream.jsonl",
        GenerationRequest(infill_prefix=PREFIX, infill_suffix=SUFFIX),
    ),
    Case(
        "ollama",
        "/api/chat",
        "ollama/chat_stream.jsonl",
        GenerationRequest(messages=[ChatMessage("user", "hi")]),
    ),
    Case(
        "openai",
        "/v1/completions",
        "openai/completions_stream_usage.sse",
        GenerationRequest(prompt="def add(a, b):\n    "),
    ),
]
shared = pytest.mark.parametrize("case", CASES, ids=str)


@shared
async def test_stream_yields_the_recorded_text_then_finished(
    replay: ReplayServer, case: Case
) -> None:
    replay.serve("POST", case.path, case.recording)
    eng = engine(case.kind, replay.url)
    items = await collect(eng, case.request)
    await eng.close()
    assert text_of(items) == recorded_text(case.recording)
    assert all(isinstance(i, Token) for i in items[:-1]) and isinstance(items[-1], Finished)
    assert items[-1].generated_tokens >= len(items) - 1
    assert replay.requests[0].outcome == "complete"


@shared
async def test_closing_the_stream_closes_the_connection_and_the_next_request_works(
    replay: ReplayServer, case: Case
) -> None:
    route = replay.serve("POST", case.path, case.recording, delay_s=0.05)
    eng = engine(case.kind, replay.url)
    async with closing_stream(eng.stream(case.request)) as items:
        async for item in items:
            assert isinstance(item, Token)
            break
    first = replay.requests[0]
    await asyncio.wait_for(first.done.wait(), 2)
    assert first.outcome == "client closed"
    assert first.sent < len(route.pieces)

    route.delay_s = 0.0
    again = await collect(eng, case.request)
    await eng.close()
    assert text_of(again) == recorded_text(case.recording)


@shared
async def test_cancelling_the_consumer_task_closes_the_connection(
    replay: ReplayServer, case: Case
) -> None:
    replay.serve("POST", case.path, case.recording, stall_after=2)
    eng = engine(case.kind, replay.url)
    got_token = asyncio.Event()

    async def consume() -> None:
        async for item in eng.stream(case.request):
            if isinstance(item, Token):
                got_token.set()

    task = asyncio.ensure_future(consume())
    await asyncio.wait_for(got_token.wait(), 2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.wait_for(replay.requests[0].done.wait(), 2)
    await eng.close()
    assert replay.requests[0].outcome == "client closed"


@shared
async def test_server_dropping_the_connection_is_a_clear_error(
    replay: ReplayServer, case: Case
) -> None:
    replay.serve("POST", case.path, case.recording, drop_after=2)
    eng = engine(case.kind, replay.url)
    seen: list[StreamItem] = []
    started = time.monotonic()
    with pytest.raises(EngineError) as caught:
        async for item in eng.stream(case.request):
            seen.append(item)
    await eng.close()
    assert time.monotonic() - started < 2
    assert "closed the connection" in str(caught.value)
    assert replay.url in str(caught.value)
    assert not any(isinstance(i, Finished) for i in seen)


@shared
async def test_time_limit_ends_a_stalled_stream(replay: ReplayServer, case: Case) -> None:
    replay.serve("POST", case.path, case.recording, stall_after=2)
    eng = engine(case.kind, replay.url)
    request = GenerationRequest(**{**case.request.__dict__, "time_limit_s": 0.3})
    started = time.monotonic()
    items = await collect(eng, request)
    elapsed = time.monotonic() - started
    await asyncio.wait_for(replay.requests[0].done.wait(), 2)
    await eng.close()
    assert 0.3 <= elapsed < 1.5
    final = items[-1]
    assert isinstance(final, Finished) and final.reason == "time"
    assert replay.requests[0].outcome == "client closed"


@shared
async def test_unreachable_server_names_the_url(dead_url: str, case: Case) -> None:
    eng = engine(case.kind, dead_url)
    started = time.monotonic()
    with pytest.raises(EngineError) as caught:
        await collect(eng, case.request)
    await eng.close()
    assert time.monotonic() - started < 2
    assert "cannot reach backend 'team'" in str(caught.value)
    assert dead_url in str(caught.value)


@shared
async def test_a_newer_request_with_the_same_key_supersedes(
    replay: ReplayServer, case: Case
) -> None:
    replay.serve("POST", case.path, case.recording, stall_after=1)
    eng = engine(case.kind, replay.url)
    older = GenerationRequest(**{**case.request.__dict__, "key": "file:///a.py"})
    first = asyncio.ensure_future(collect(eng, older))
    while not replay.requests:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)
    replay.routes[("POST", case.path)].stall_after = None
    newer = await collect(eng, older)
    with pytest.raises(Superseded):
        await asyncio.wait_for(first, 2)
    await asyncio.wait_for(replay.requests[0].done.wait(), 2)
    await eng.close()
    assert text_of(newer) == recorded_text(case.recording)
    assert replay.requests[0].outcome == "client closed"


async def test_requests_reuse_one_connection(replay: ReplayServer) -> None:
    replay.serve("POST", "/infill", "llama_server/infill_stream.sse")
    eng = engine("llama-server", replay.url)
    for _ in range(3):
        await collect(eng, GenerationRequest(infill_prefix=PREFIX))
    await eng.close()
    assert len(replay.requests) == 3
    assert replay.connections == 1


async def test_api_key_comes_from_the_named_environment_variable(
    replay: ReplayServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    replay.serve("POST", "/api/generate", "ollama/generate_raw_stream.jsonl")
    eng = engine("ollama", replay.url, api_key_env="GHOSTLINE_TEST_KEY")
    monkeypatch.delenv("GHOSTLINE_TEST_KEY", raising=False)
    with pytest.raises(EngineError, match="GHOSTLINE_TEST_KEY"):
        await collect(eng, GenerationRequest(prompt="x"))
    monkeypatch.setenv("GHOSTLINE_TEST_KEY", "s3cret")
    await collect(eng, GenerationRequest(prompt="x"))
    await eng.close()
    assert replay.requests[-1].headers["authorization"] == "Bearer s3cret"
    assert "s3cret" not in repr(eng.settings)


def test_unknown_kind_is_an_engine_error() -> None:
    with pytest.raises(EngineError, match="expected one of llama-server, ollama, openai"):
        create_http_engine("x", BackendSettings(kind="tgi", url="http://127.0.0.1:1"))
    assert isinstance(
        create_http_engine("x", BackendSettings(kind="llama_server")), LlamaServerEngine
    )
    assert isinstance(
        create_http_engine("x", BackendSettings(kind="Ollama", model="m")), OllamaEngine
    )


async def test_closing_the_engine_mid_stream_is_an_engine_error_and_it_reopens(
    replay: ReplayServer,
) -> None:
    """`EngineRouter.update` may close an engine while one of its streams is running."""
    replay.serve("POST", "/api/generate", "ollama/generate_raw_stream.jsonl", delay_s=0.05)
    eng = engine("ollama", replay.url)
    seen: list[StreamItem] = []
    with pytest.raises(EngineError, match="closed the connection"):
        async for item in eng.stream(GenerationRequest(prompt="x")):
            seen.append(item)
            await eng.close()
    assert len(seen) == 1
    again = await collect(eng, GenerationRequest(prompt="x"))  # a closed engine starts afresh
    await eng.close()
    assert text_of(again) == "\n    return a"
