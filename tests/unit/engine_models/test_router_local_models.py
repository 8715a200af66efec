"""EngineRouter with local engines of other models: `auto` choices and backends of kind
local with a model. Every engine is a scripted fake; no model is loaded."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from ghostline.engine.base import (
    EngineError,
    Finished,
    GenerationRequest,
    ModelInfo,
    StreamItem,
    Token,
)
from ghostline.engine.router import EngineRouter, FallbackEvent, UnavailableEngine
from ghostline.settings import BackendSettings, Settings

AUTO = {"inlineCompletion": "a", "generateTests": "b", "hover": "a"}


class FakeEngine:
    """Scripted engine: streams `words` (or fails with `EngineError` before the first
    token when `fail` is set), records requests; `Finished.backend` is left to the router."""

    def __init__(self, name: str = "local", fail: str = "") -> None:
        self.name = name
        self.fail = fail
        self.requests: list[GenerationRequest] = []
        self.closed = False

    async def start(self) -> ModelInfo:
        if self.fail:
            raise EngineError(self.fail)
        return ModelInfo(name=f"fake {self.name}", fim_template="fake-fim")

    def stream(self, request: GenerationRequest) -> AsyncIterator[StreamItem]:
        self.requests.append(request)
        return self._stream()

    async def _stream(self) -> AsyncIterator[StreamItem]:
        if self.fail:
            raise EngineError(self.fail)
        yield Token(f"from {self.name}")
        yield Finished(reason="stop", generated_tokens=1)

    async def count_tokens(self, text: str) -> int:
        return len(text.split())

    async def close(self) -> None:
        self.closed = True


class ModelFactory:
    """`local_model_factory`: one `FakeEngine` per call, named after the model."""

    def __init__(self, failing: tuple[str, ...] = ()) -> None:
        self.failing = failing
        self.built: dict[str, FakeEngine] = {}
        self.calls: list[str] = []

    def __call__(self, model: str) -> FakeEngine:
        self.calls.append(model)
        engine = FakeEngine(f"model {model}", fail="cannot load" if model in self.failing else "")
        self.built[model] = engine
        return engine


def settings(backends: dict[str, Any] | None = None, fallback: bool = True,
             **routes: str) -> Settings:
    return Settings.from_dict(
        {"backends": backends or {}, "routes": routes, "fallbackToLocal": fallback})


async def run(router: EngineRouter, feature: str) -> list[StreamItem]:
    return [item async for item in router.stream(feature, GenerationRequest(prompt="x"))]


def answer(items: list[StreamItem]) -> tuple[str, str]:
    """(the text, the `Finished.backend`) of a stream."""
    assert isinstance(items[-1], Finished)
    return "".join(i.text for i in items if isinstance(i, Token)), items[-1].backend


async def test_auto_sends_a_feature_to_its_own_model() -> None:
    local, factory = FakeEngine(), ModelFactory()
    router = EngineRouter(settings(), lambda: local, local_model_factory=factory)
    router.auto_models = dict(AUTO)
    assert router.backend_name("generateTests") == "auto:b"
    assert router.backend_name("inlineCompletion") == "local"
    assert router.backend_name("hover") == "local"  # the same model as completion's
    assert router.spec_of("auto:b") == BackendSettings(kind="local", model="b", timeout_s=0)

    assert router.engine_for("generateTests") is factory.built["b"]
    assert router.engine_for("hover") is local
    assert answer(await run(router, "generateTests")) == ("from model b", "auto:b")
    assert answer(await run(router, "hover")) == ("from local", "local")
    assert answer(await run(router, "inlineCompletion")) == ("from local", "local")
    assert factory.calls == ["b"]  # built once, for the one feature that differs
    assert (await router.info_for("generateTests")).name == "fake model b"
    assert router.answered == {"generateTests": {"auto:b": 1}, "hover": {"local": 1},
                               "inlineCompletion": {"local": 1}}
    await router.close()
    assert local.closed and factory.built["b"].closed


async def test_auto_needs_a_model_factory_and_a_choice() -> None:
    router = EngineRouter(settings(), FakeEngine)
    router.auto_models = dict(AUTO)
    assert router.backend_name("generateTests") == "local"  # no second local model here
    router = EngineRouter(settings(), FakeEngine, local_model_factory=ModelFactory())
    assert router.backend_name("generateTests") == "local"  # auto_models not chosen
    router.auto_models = {"inlineCompletion": "a"}
    assert router.backend_name("generateTests") == "local"  # no choice for the feature


async def test_a_configured_backend_overrides_auto() -> None:
    factory = ModelFactory()
    router = EngineRouter(
        settings({"second": {"kind": "local", "model": "x"}}, generateTests="second"),
        FakeEngine, local_model_factory=factory)
    router.auto_models = dict(AUTO)
    assert router.backend_name("generateTests") == "second"
    assert answer(await run(router, "generateTests")) == ("from model x", "second")
    assert factory.calls == ["x"]


async def test_a_local_backend_with_a_model_gets_its_own_engine() -> None:
    local, factory = FakeEngine(), ModelFactory()
    router = EngineRouter(
        settings({"second": {"kind": "local", "model": "x"}}, hover="second"),
        lambda: local, local_model_factory=factory)
    assert router.backend_name("hover") == "second"
    assert router.backend_name("inlineCompletion") == "local"
    assert router.engine_for("hover") is factory.built["x"]
    assert answer(await run(router, "hover")) == ("from model x", "second")
    assert factory.calls == ["x"]
    assert local.requests == []


async def test_a_local_backend_without_a_model_is_the_local_engine() -> None:
    local, factory = FakeEngine(), ModelFactory()
    router = EngineRouter(
        settings({"plain": {"kind": "Local"}}, hover="plain"),
        lambda: local, local_model_factory=factory)
    assert router.backend_name("hover") == "local"
    assert router.engine_for("hover") is local
    assert answer(await run(router, "hover")) == ("from local", "local")
    assert factory.calls == []


async def test_a_failing_local_model_falls_back_to_the_local_engine() -> None:
    local, factory = FakeEngine(), ModelFactory(failing=("x",))
    events: list[FallbackEvent] = []
    router = EngineRouter(
        settings({"second": {"kind": "local", "model": "x"}}, hover="second"),
        lambda: local, local_model_factory=factory, on_fallback=events.append)
    assert answer(await run(router, "hover")) == ("from local", "local")
    assert events == [FallbackEvent("hover", "second", "cannot load")]
    assert [r.feature for r in local.requests] == ["hover"]


async def test_a_failing_auto_model_falls_back_to_the_local_engine() -> None:
    local, factory = FakeEngine(), ModelFactory(failing=("b",))
    router = EngineRouter(settings(), lambda: local, local_model_factory=factory)
    router.auto_models = dict(AUTO)
    assert answer(await run(router, "generateTests")) == ("from local", "local")
    assert router.last_fallback == FallbackEvent("generateTests", "auto:b", "cannot load")


async def test_a_failing_local_model_without_fallback_raises() -> None:
    local = FakeEngine()
    router = EngineRouter(
        settings({"second": {"kind": "local", "model": "x"}}, fallback=False, hover="second"),
        lambda: local, local_model_factory=ModelFactory(failing=("x",)))
    with pytest.raises(EngineError, match="cannot load"):
        await run(router, "hover")
    assert local.requests == []


async def test_a_factory_error_or_no_factory_makes_an_unavailable_backend() -> None:
    def broken(model: str) -> FakeEngine:
        raise EngineError(f"no such model {model}")

    local = FakeEngine()
    config = settings({"second": {"kind": "local", "model": "x"}}, hover="second")
    for factory, reason in ((broken, "no such model x"),
                            (None, "backend 'second': no second local model here")):
        router = EngineRouter(config, lambda: local, local_model_factory=factory)
        assert isinstance(router.engine_for("hover"), UnavailableEngine)
        assert answer(await run(router, "hover")) == ("from local", "local")
        assert router.last_fallback == FallbackEvent("hover", "second", reason)


async def test_update_keeps_unchanged_local_models_and_drops_changed_ones() -> None:
    factory = ModelFactory()
    config = {"second": {"kind": "local", "model": "x"}}
    router = EngineRouter(settings(config, hover="second"), FakeEngine,
                          local_model_factory=factory)
    router.auto_models = dict(AUTO)
    auto_engine = router.engine_for("generateTests")
    second = router.engine_for("hover")
    await router.update(settings(config, hover="second"))
    assert router.engine_for("generateTests") is auto_engine and not auto_engine.closed
    assert router.engine_for("hover") is second and not second.closed
    await router.update(settings({"second": {"kind": "local", "model": "y"}}, hover="second"))
    assert second.closed
    assert router.engine_for("hover") is factory.built["y"]
    assert factory.calls == ["b", "x", "y"]
