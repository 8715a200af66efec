"""llama-server and Ollama adapters against recorded wire bodies replayed on 127.0.0.1.

The streaming, cancellation and failure tests at the bottom run for every adapter and
endpoint (the "shared" tests); the ones above check what each adapter sends and reads.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any

import pytest
from http_replay import RECORDINGS, ReplayServer

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


# -- llama-server -----------------------------------------------------------------------------


async def test_llama_server_infill_sends_native_fields_and_reads_the_stream(
    replay: ReplayServer,
) -> None:
    replay.serve("POST", "/infill", "llama_server/infill_stream.sse")
    eng = engine("llama-server", replay.url)
    request = GenerationRequest(
        prompt="<raw prompt the local engine would use>",
        infill_prefix=PREFIX,
        infill_suffix=SUFFIX,
        infill_extra=[{"filename": "util.py", "text": "def sub(a, b):\n    return a - b\n"}],
        max_tokens=24,
        time_limit_s=2.5,
    )
    items = await collect(eng, request)
    await eng.close()

    body = replay.requests[0].body
    assert body["input_prefix"] == PREFIX
    assert body["input_suffix"] == SUFFIX
    assert body["input_extra"] == [{"filename": "util.py", "text": request.infill_extra[0]["text"]}]
    assert body["n_indent"] == 4
    assert body["n_predict"] == 24
    assert body["t_max_predict_ms"] == 2500
    assert body["cache_prompt"] is True and body["stream"] is True
    assert "prompt" not in body
    assert text_of(items) == recorded_text("llama_server/infill_stream.sse") == "return a + b"
    final = items[-1]
    assert isinstance(final, Finished)
    assert (final.reason, final.prompt_tokens, final.generated_tokens) == ("eos", 31, 5)
    assert final.backend == "team"
    assert final.first_token_s is not None and 0 < final.first_token_s <= final.total_s


async def test_llama_server_raw_prompt_uses_completion_and_maps_stop_word(
    replay: ReplayServer,
) -> None:
    replay.serve("POST", "/completion", "llama_server/completion_stream.sse")
    eng = engine("llama-server", replay.url + "/v1")  # an OpenAI-style base URL is accepted
    items = await collect(
        eng, GenerationRequest(prompt="# Return the sum\ndef add(a, b):", stop=["\n\n"])
    )
    await eng.close()
    assert replay.requests[0].body["prompt"] == "# Return the sum\ndef add(a, b):"
    assert replay.requests[0].body["stop"] == ["\n\n"]
    assert text_of(items) == "\n    return a + b"
    final = items[-1]
    assert isinstance(final, Finished)
    assert (final.reason, final.cached_tokens, final.generated_tokens) == ("stop", 8, 7)


async def test_llama_server_client_template_sends_the_raw_prompt(replay: ReplayServer) -> None:
    replay.serve("POST", "/completion", "llama_server/completion_stream.sse")
    eng = engine("llama-server", replay.url, fim_template="qwen")
    await collect(
        eng, GenerationRequest(prompt="<|fim_prefix|>x", infill_prefix="x", infill_suffix="")
    )
    await eng.close()
    assert replay.requests[0].path == "/completion"
    assert replay.requests[0].body["prompt"] == "<|fim_prefix|>x"


async def test_llama_server_chat_reads_openai_chunks(replay: ReplayServer) -> None:
    replay.serve("POST", "/v1/chat/completions", "llama_server/chat_stream.sse")
    eng = engine("llama-server", replay.url)
    messages = [
        ChatMessage("system", "Write pytest tests."),
        ChatMessage("user", "def add(a, b): ..."),
    ]
    items = await collect(eng, GenerationRequest(messages=messages, max_tokens=200))
    await eng.close()
    body = replay.requests[0].body
    assert body["messages"][1] == {"role": "user", "content": "def add(a, b): ..."}
    assert body["max_tokens"] == 200 and body["stream"] is True
    assert text_of(items) == "def test_add():"
    final = items[-1]
    assert isinstance(final, Finished)
    assert (final.reason, final.prompt_tokens, final.generated_tokens) == ("stop", 27, 5)


async def test_llama_server_start_and_count_tokens(replay: ReplayServer) -> None:
    replay.serve("GET", "/props", "llama_server/props.json")
    replay.serve("POST", "/tokenize", "llama_server/tokenize.json")
    eng = engine("llama-server", replay.url, model="")
    info = await eng.start()
    count = await eng.count_tokens("def add(a, b):")
    await eng.close()
    assert info.name == "qwen2.5-coder-1.5b-q8_0.gguf"
    assert info.context_size == 8192
    assert info.fim_template == "server"
    assert info.has_chat_template
    assert count == 6
    assert replay.requests[1].body == {"content": "def add(a, b):", "add_special": False}


async def test_llama_server_error_event_in_stream_is_an_engine_error(replay: ReplayServer) -> None:
    replay.serve("POST", "/infill", "llama_server/infill_error_context.sse")
    eng = engine("llama-server", replay.url)
    with pytest.raises(EngineError, match="exceeds the available context size") as caught:
        await collect(eng, GenerationRequest(infill_prefix=PREFIX, infill_suffix=""))
    await eng.close()
    assert replay.url + "/infill" in str(caught.value)


async def test_llama_server_loading_503_names_status_and_message(replay: ReplayServer) -> None:
    replay.serve("POST", "/infill", "llama_server/loading_503.json", status=503)
    eng = engine("llama-server", replay.url)
    with pytest.raises(EngineError) as caught:
        await collect(eng, GenerationRequest(infill_prefix=PREFIX))
    await eng.close()
    message = str(caught.value)
    assert "HTTP 503" in message and "Loading model" in message and replay.url in message


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
        GenerationRequest(infill_prefix=PREFIX, infill_suffix=SUFFIX),
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
