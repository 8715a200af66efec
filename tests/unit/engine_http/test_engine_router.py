"""EngineRouter: per-feature routes, fallback to the local engine, settings updates.

The local engine is a `FakeEngine` (a scripted stand-in, not a model); remote backends are
real HTTP engines against the replay server or a dead port on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from http_replay import ReplayServer

from ghostline.engine.base import Engine as EngineProtocol
from ghostline.engine.base import (
    EngineError,
    Finished,
    GenerationRequest,
    ModelInfo,
    StreamItem,
    Token,
)
from ghostline.engine.http import OllamaEngine, OpenAIEngine
from ghostline.engine.http.http_base import closing_stream
from ghostline.engine.router import EngineRouter, FallbackEvent, UnavailableEngine
from ghostline.settings import Settings


class FakeEngine:
    """Scripted local engine for routing tests: streams `words`, records requests."""

    def __init__(self, name: str = "local", words: tuple[str, ...] = ("local", " answer")) -> None:
        self.name = name
        self.words = words
        self.requests: list[GenerationRequest] = []
        self.started = 0
        self.closed = False

    async def start(self) -> ModelInfo:
        self.started += 1
        return ModelInfo(name="fake-local", fim_template="fake-fim")

    def stream(self, request: GenerationRequest) -> AsyncIterator[StreamItem]:
        self.requests.append(request)
        return self._stream()

    async def _stream(self) -> AsyncIterator[StreamItem]:
        for word in self.words:
            yield Token(word)
        yield Finished(reason="stop", generated_tokens=len(self.words), backend=self.name)

    async def count_tokens(self, text: str) -> int:
        return len(text.split())

    async def close(self) -> None:
        self.closed = True


def settings_for(
    url: str, *, fallback: bool = True, timeout_s: float = 2.0, **routes: str
) -> Settings:
    return Settings.from_dict(
        {
            "backends": {
                "team": {
                    "kind": "ollama",
                    "url": url,
                    "model": "qwen2.5-coder:1.5b",
                    "timeoutS": timeout_s,
                }
            },
            "routes": routes,
            "fallbackToLocal": fallback,
        }
    )


async def run(router: EngineRouter, feature: str, request: Any) -> list[StreamItem]:
    return [item async for item in router.stream(feature, request)]


def text_of(items: list[StreamItem]) -> str:
    return "".join(i.text for i in items if isinstance(i, Token))


async def test_completion_local_and_tests_remote(replay: ReplayServer) -> None:
    replay.serve("POST", "/api/generate", "ollama/generate_raw_stream.jsonl")
    local = FakeEngine()
    router = EngineRouter(
        settings_for(replay.url, inlineCompletion="local", generateTests="team"), lambda: local
    )
    assert router.backend_name("inlineCompletion") == "local"
    assert router.backend_name("generateTests") == "team"
    assert router.backend_name("hover") == "local"  # unrouted
    assert router.engine_for("inlineCompletion") is local
    assert isinstance(router.engine_for("generateTests"), OllamaEngine)

    completion = await run(router, "inlineCompletion", GenerationRequest(prompt="x"))
    tests = await run(router, "generateTests", GenerationRequest(prompt="def add(a, b):"))
    await router.close()

    assert text_of(completion) == "local answer"
    assert isinstance(completion[-1], Finished) and completion[-1].backend == "local"
    assert text_of(tests) == "\n    return a"
    assert isinstance(tests[-1], Finished) and tests[-1].backend == "team"
    assert [r.feature for r in local.requests] == ["inlineCompletion"]
    assert len(replay.requests) == 1 and replay.requests[0].body["prompt"] == "def add(a, b):"
    assert local.closed


async def test_fallback_on_a_dead_remote(dead_url: str) -> None:
    local = FakeEngine()
    events: list[FallbackEvent] = []
    router = EngineRouter(
        settings_for(dead_url, generateTests="team"), lambda: local, on_fallback=events.append
    )
    items = await run(router, "generateTests", GenerationRequest(prompt="x"))
    await router.close()
    assert text_of(items) == "local answer"
    assert isinstance(items[-1], Finished) and items[-1].backend == "local"
    assert len(events) == 1 and router.last_fallback is events[0]
    assert events[0].feature == "generateTests" and events[0].backend == "team"
    assert "cannot reach" in events[0].reason and dead_url in events[0].reason


async def test_no_fallback_when_turned_off(dead_url: str) -> None:
    local = FakeEngine()
    router = EngineRouter(settings_for(dead_url, fallback=False, hover="team"), lambda: local)
    with pytest.raises(EngineError, match="cannot reach backend 'team'"):
        await run(router, "hover", GenerationRequest(prompt="x"))
    await router.close()
    assert local.requests == []


async def test_fallback_when_the_first_token_is_too_slow(replay: ReplayServer) -> None:
    replay.serve("POST", "/api/generate", "ollama/generate_raw_stream.jsonl", stall_after=0)
    local = FakeEngine()
    events: list[FallbackEvent] = []
    router = EngineRouter(
        settings_for(replay.url, timeout_s=0.3, inlineCompletion="team"),
        lambda: local,
        on_fallback=events.append,
    )
    loop = asyncio.get_running_loop()
    started = loop.time()
    items = await run(router, "inlineCompletion", GenerationRequest(prompt="x"))
    elapsed = loop.time() - started
    await asyncio.wait_for(replay.requests[0].done.wait(), 2)
    await router.close()
    assert 0.3 <= elapsed < 1.5
    assert text_of(items) == "local answer"
    assert "no first token within 0.3 s" in events[0].reason
    assert replay.requests[0].outcome == "client closed"  # the slow remote stream was closed


async def test_fallback_on_an_error_before_the_first_token(replay: ReplayServer) -> None:
    # Recorded: llama-server checks the context size before streaming (HTTP 400).
    replay.serve("POST", "/completion", "llama_server/completion_context_400.json")
    settings = Settings.from_dict(
        {
            "backends": {"gpu": {"kind": "llama-server", "url": replay.url}},
            "routes": {"inlineCompletion": "gpu"},
        }
    )
    local = FakeEngine()
    events: list[FallbackEvent] = []
    router = EngineRouter(settings, lambda: local, on_fallback=events.append)
    items = await run(router, "inlineCompletion", GenerationRequest(prompt="x"))
    await router.close()
    assert text_of(items) == "local answer"
    assert "HTTP 400" in events[0].reason
    assert "exceeds the available context size" in events[0].reason


async def test_an_error_after_the_first_token_is_not_hidden(replay: ReplayServer) -> None:
    replay.serve("POST", "/api/generate", "ollama/generate_error_midstream.jsonl")
    local = FakeEngine()
    router = EngineRouter(settings_for(replay.url, generateTests="team"), lambda: local)
    seen: list[StreamItem] = []
    with pytest.raises(EngineError, match="unexpected EOF"):
        async for item in router.stream("generateTests", GenerationRequest(prompt="x")):
            seen.append(item)
    await router.close()
    assert text_of(seen) == "return"
    assert local.requests == []  # half an answer from the remote, not a mix of two models


async def test_request_builder_gets_the_answering_engines_info(dead_url: str) -> None:
    local = FakeEngine()
    router = EngineRouter(settings_for(dead_url, inlineCompletion="team"), lambda: local)
    calls: list[tuple[str, str]] = []

    async def build(engine: EngineProtocol, info: ModelInfo) -> GenerationRequest:
        calls.append((engine.name, info.fim_template))
        return GenerationRequest(prompt=f"<{info.fim_template}>")

    items = await run(router, "inlineCompletion", build)
    await router.close()
    # The remote engine's start() failed (dead port), so only the local one built a prompt.
    assert calls == [("local", "fake-fim")]
    assert local.requests[0].prompt == "<fake-fim>"
    assert isinstance(items[-1], Finished) and items[-1].backend == "local"


async def test_request_builder_for_a_remote_engine(replay: ReplayServer) -> None:
    replay.serve("POST", "/api/show", "ollama/show.json")
    replay.serve("POST", "/api/generate", "ollama/generate_infill_stream.jsonl")
    router = EngineRouter(settings_for(replay.url, inlineCompletion="team"), FakeEngine)

    async def build(engine: EngineProtocol, info: ModelInfo) -> GenerationRequest:
        assert info.fim_template == "server"
        return GenerationRequest(infill_prefix="a", infill_suffix="b")

    await run(router, "inlineCompletion", build)
    await run(router, "inlineCompletion", build)
    await router.close()
    paths = [r.path for r in replay.requests]
    assert paths == ["/api/show", "/api/generate", "/api/generate"]  # start() once, cached


async def test_closing_the_router_stream_closes_the_remote_stream(replay: ReplayServer) -> None:
    replay.serve("POST", "/api/generate", "ollama/generate_raw_stream.jsonl", delay_s=0.05)
    router = EngineRouter(settings_for(replay.url, inlineCompletion="team"), FakeEngine)
    async with closing_stream(
        router.stream("inlineCompletion", GenerationRequest(prompt="x"))
    ) as items:
        async for _ in items:
            break
    await asyncio.wait_for(replay.requests[0].done.wait(), 2)
    await router.close()
    assert replay.requests[0].outcome == "client closed"


async def test_update_recreates_changed_backends_and_closes_old_ones(replay: ReplayServer) -> None:
    router = EngineRouter(settings_for(replay.url, generateTests="team"), FakeEngine)
    first = router.engine_for("generateTests")
    assert isinstance(first, OllamaEngine)
    first.client()  # open its HTTP client

    await router.update(settings_for(replay.url, generateTests="team"))
    assert router.engine_for("generateTests") is first  # same settings: kept

    changed = Settings.from_dict(
        {
            "backends": {"team": {"kind": "openai", "url": replay.url + "/v1", "apiKeyEnv": "K"}},
            "routes": {"generateTests": "team"},
        }
    )
    await router.update(changed)
    second = router.engine_for("generateTests")
    assert isinstance(second, OpenAIEngine) and second is not first
    assert first._client is None  # closed

    await router.update(Settings())
    assert router.backend_name("generateTests") == "local"
    await router.close()


async def test_unusable_backend_settings_fall_back_instead_of_crashing() -> None:
    settings = Settings.from_dict(
        {
            "backends": {"odd": {"kind": "tgi", "url": "http://127.0.0.1:9"}},
            "routes": {"hover": "odd"},
        }
    )
    local = FakeEngine()
    events: list[FallbackEvent] = []
    router = EngineRouter(settings, lambda: local, on_fallback=events.append)
    assert isinstance(router.engine_for("hover"), UnavailableEngine)
    items = await run(router, "hover", GenerationRequest(prompt="x"))
    await router.close()
    assert text_of(items) == "local answer"
    assert "kind 'tgi'" in events[0].reason


async def test_local_kind_backend_and_lazy_local_engine() -> None:
    made: list[FakeEngine] = []

    def factory() -> FakeEngine:
        made.append(FakeEngine())
        return made[-1]

    settings = Settings.from_dict(
        {"backends": {"mine": {"kind": "local"}}, "routes": {"inlineCompletion": "mine"}}
    )
    router = EngineRouter(settings, factory)
    assert made == []  # nothing created before it is needed
    assert router.backend_name("inlineCompletion") == "local"
    items = await run(router, "inlineCompletion", GenerationRequest(prompt="x"))
    await run(router, "hover", GenerationRequest(prompt="y"))
    await router.close()
    assert len(made) == 1 and made[0].closed
    assert isinstance(items[-1], Finished) and items[-1].backend == "local"
