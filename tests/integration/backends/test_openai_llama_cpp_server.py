"""The OpenAI-compatible backend end to end against a real llama-cpp-python server.

The server (`python -m llama_cpp.server`, the packaged Gemma 3 270M) runs on 127.0.0.1 once
for the module; the crash test starts a second one of its own to kill.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator

import httpx
import psutil
import pytest

from ghostline.bench.backends import (
    LlamaCppServer,
    default_model_path,
    free_port,
    load,
)
from ghostline.bench.stats import percentile
from ghostline.engine.base import ChatMessage, EngineError, Finished, GenerationRequest, Token
from ghostline.engine.http import OpenAIEngine
from ghostline.engine.http.http_base import closing_stream, estimate_tokens
from ghostline.settings import BackendSettings

pytestmark = pytest.mark.model

KEY_ENV = "GHOSTLINE_TEST_TEAM_KEY"
KEY = "team-secret-1"
PROMPT = "def add(a, b):\n    return"
COUNTING = "1, 2, 3, 4, 5, 6, 7, 8,"


@pytest.fixture(scope="module")
def model_path() -> str:
    return default_model_path()


@pytest.fixture(scope="module")
def server(model_path: str) -> Iterator[LlamaCppServer]:
    with LlamaCppServer(model_path, n_ctx=512, threads=2, alias="gemma-270m", api_key=KEY) as srv:
        yield srv


@pytest.fixture
def engine(server: LlamaCppServer, monkeypatch: pytest.MonkeyPatch) -> OpenAIEngine:
    monkeypatch.setenv(KEY_ENV, KEY)
    return OpenAIEngine("team", BackendSettings(kind="openai", url=server.url, api_key_env=KEY_ENV))


async def test_start_reads_the_served_model(engine: OpenAIEngine, server: LlamaCppServer) -> None:
    info = await engine.start()
    await engine.close()
    assert info.name == "gemma-270m"
    assert info.metadata["url"] == server.url


async def test_streamed_completion_matches_the_servers_own_answer(
    engine: OpenAIEngine, server: LlamaCppServer
) -> None:
    items = [i async for i in engine.stream(GenerationRequest(prompt=PROMPT, max_tokens=8))]
    await engine.close()
    tokens = [i for i in items if isinstance(i, Token)]
    final = items[-1]
    assert isinstance(final, Finished)
    assert len(tokens) >= 2, "a stream, not one piece"
    assert final.reason in ("length", "stop")
    assert final.generated_tokens == len(tokens) <= 8
    assert final.backend == "team"
    assert final.first_token_s is not None and 0 < final.first_token_s < final.total_s

    # The same request without streaming, straight to the server: the same greedy text.
    async with httpx.AsyncClient(trust_env=False, timeout=60) as client:
        answer = await client.post(
            server.url + "/completions",
            json={"prompt": PROMPT, "max_tokens": 8, "temperature": 0.0},
            headers={"Authorization": f"Bearer {KEY}"},
        )
    assert "".join(t.text for t in tokens) == answer.json()["choices"][0]["text"]


async def test_stop_strings(engine: OpenAIEngine) -> None:
    request = GenerationRequest(prompt=COUNTING, max_tokens=30, stop=[" 12"])
    items = [i async for i in engine.stream(request)]
    await engine.close()
    text = "".join(i.text for i in items if isinstance(i, Token))
    final = items[-1]
    assert isinstance(final, Finished) and final.reason == "stop"
    assert " 12" not in text and "11" in text


async def test_chat_stream_matches_the_servers_own_answer(
    engine: OpenAIEngine, server: LlamaCppServer
) -> None:
    messages = [ChatMessage("system", "You write Python."), ChatMessage("user", "Add two numbers.")]
    items = [i async for i in engine.stream(GenerationRequest(messages=messages, max_tokens=12))]
    await engine.close()
    final = items[-1]
    assert isinstance(final, Finished) and final.reason in ("stop", "length")
    # The base model may end its turn at once; what matters is the same text as unstreamed.
    async with httpx.AsyncClient(trust_env=False, timeout=60) as client:
        answer = await client.post(
            server.url + "/chat/completions",
            json={
                "messages": [{"role": m.role, "content": m.content} for m in messages],
                "max_tokens": 12,
                "temperature": 0.0,
            },
            headers={"Authorization": f"Bearer {KEY}"},
        )
    expected = answer.json()["choices"][0]["message"]["content"]
    assert "".join(i.text for i in items if isinstance(i, Token)) == expected


async def test_count_tokens_uses_the_servers_tokenizer(
    engine: OpenAIEngine, model_path: str
) -> None:
    from llama_cpp import Llama

    vocab = Llama(model_path, vocab_only=True, verbose=False)
    text = "def load_config(path: str) -> dict[str, int]:"
    expected = len(vocab.tokenize(text.encode(), add_bos=True, special=True))
    count = await engine.count_tokens(text)
    await engine.close()
    assert count == expected
    assert count != estimate_tokens(text)


def cpu_seconds(server: LlamaCppServer) -> float:
    assert server.process is not None
    times = psutil.Process(server.process.pid).cpu_times()
    return float(times.user + times.system)


async def test_closing_the_stream_stops_the_generation(
    engine: OpenAIEngine, server: LlamaCppServer
) -> None:
    """The server's CPU use while streaming vs. after the client closed the stream."""
    long = GenerationRequest(prompt=COUNTING, max_tokens=400)
    async with closing_stream(engine.stream(long)) as items:
        await anext(items)
        cpu_from, wall_from = cpu_seconds(server), time.monotonic()
        async for _ in items:  # stream until the server has used 0.3 s of CPU (or 10 s pass)
            if cpu_seconds(server) - cpu_from >= 0.3 or time.monotonic() - wall_from > 10:
                break
        busy, window = cpu_seconds(server) - cpu_from, time.monotonic() - wall_from
    # The server notices the closed socket at its next token; give it a second on a busy box
    # (a server that went on would need several more seconds for its 400 tokens).
    await asyncio.sleep(1.0)
    idle_from = cpu_seconds(server)
    await asyncio.sleep(max(window, 0.5))
    idle = cpu_seconds(server) - idle_from
    assert busy >= 0.3, f"the server should be generating: {busy:.2f} s CPU in {window:.1f} s"
    assert idle < busy / 4, f"still generating after close: {idle:.2f} s vs {busy:.2f} s CPU"

    items2 = [i async for i in engine.stream(GenerationRequest(prompt=PROMPT, max_tokens=4))]
    await engine.close()
    assert isinstance(items2[-1], Finished) and items2[-1].generated_tokens >= 1


async def test_wrong_api_key_is_a_clear_error(
    server: LlamaCppServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, "wrong")
    engine = OpenAIEngine(
        "team", BackendSettings(kind="openai", url=server.url, api_key_env=KEY_ENV)
    )
    with pytest.raises(EngineError) as caught:
        [i async for i in engine.stream(GenerationRequest(prompt=PROMPT, max_tokens=2))]
    await engine.close()
    message = str(caught.value)
    assert "HTTP 401" in message and "Invalid API key" in message
    assert server.url + "/completions" in message


async def test_unreachable_url_is_named() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    engine = OpenAIEngine("team", BackendSettings(kind="openai", url=url))
    with pytest.raises(EngineError, match="cannot reach backend 'team'") as caught:
        [i async for i in engine.stream(GenerationRequest(prompt=PROMPT))]
    with pytest.raises(EngineError, match="cannot reach"):
        await engine.start()
    await engine.close()
    assert url + "/completions" in str(caught.value)


async def test_server_killed_mid_stream(model_path: str) -> None:
    victim = LlamaCppServer(model_path, n_ctx=256, threads=2).start()
    engine = OpenAIEngine("team", BackendSettings(kind="openai", url=victim.url))
    seen = 0
    try:
        with pytest.raises(EngineError) as caught:
            async for item in engine.stream(GenerationRequest(prompt=COUNTING, max_tokens=400)):
                seen += isinstance(item, Token)
                if seen == 2:
                    victim.kill()
                    killed_at = time.monotonic()
        assert time.monotonic() - killed_at < 2.0, "no hang after the crash"
        assert "closed the connection" in str(caught.value)
        assert victim.url in str(caught.value)
        with pytest.raises(EngineError, match="cannot reach"):
            await asyncio.wait_for(engine.start(), 5)
    finally:
        victim.kill()
        await engine.close()


async def test_bench_load_from_concurrent_editors(server: LlamaCppServer) -> None:
    """`bench backends`' load loop: every editor gets answers from the one shared server."""
    settings = BackendSettings(kind="openai", url=server.url, api_key_env=KEY_ENV, timeout_s=30)
    os.environ[KEY_ENV] = KEY
    try:
        result = await load(settings, clients=3, seconds=1.0, max_tokens=4)
    finally:
        del os.environ[KEY_ENV]
    assert result.errors == 0
    assert result.requests >= 3 and len(result.latencies) == result.requests
    assert 0 < percentile(result.latencies, 50) <= percentile(result.latencies, 90)
    assert result.per_second == pytest.approx(result.requests / result.seconds)
