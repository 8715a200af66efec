"""Per-feature routing between the local engine and HTTP backends, with optional fallback.

Settings name a backend per feature (`routes`: inlineCompletion, generateTests, hover); an
unrouted feature, or one routed to an unknown name, uses the local engine. When
`fallback_to_local` is on and the routed remote backend fails before its first token
(`EngineError`: unreachable, HTTP error, bad answer) or sends no first token within its
`timeout_s`, the request is answered by the local engine instead; `Finished.backend` always
names the backend that answered, and `on_fallback` (if given) hears why the remote one did not.

A request can be a ready `GenerationRequest` or an async builder `(engine, info) -> request`,
called with the engine that will serve it and its `ModelInfo` (again for the local engine on
fallback), so prompts follow the FIM template of whichever model answers.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from ghostline.engine.base import (
    Engine,
    EngineError,
    Finished,
    GenerationRequest,
    ModelInfo,
    StreamItem,
    Superseded,
)
from ghostline.engine.http import create_http_engine
from ghostline.engine.http.http_base import closing_stream, estimate_tokens, next_within
from ghostline.settings import BackendSettings, Settings

log = logging.getLogger(__name__)

LOCAL = "local"
FEATURES = ("inlineCompletion", "generateTests", "hover")

RequestBuilder = Callable[[Engine, ModelInfo], Awaitable[GenerationRequest]]
RequestLike = GenerationRequest | RequestBuilder
RemoteFactory = Callable[[str, BackendSettings], Engine]
#: Builds a local engine for another model (a packaged model's name or a GGUF path).
LocalModelFactory = Callable[[str], Engine]
#: Name prefix of the implicit local backends that `auto` model choices create.
AUTO_PREFIX = "auto:"


@dataclass
class FallbackEvent:
    """The local engine answered `feature` because backend `backend` failed for `reason`."""

    feature: str
    backend: str
    reason: str


class UnavailableEngine:
    """Stands in for a backend whose settings are unusable: every call raises `EngineError`."""

    def __init__(self, name: str, message: str) -> None:
        self.name = name
        self.message = message

    async def start(self) -> ModelInfo:
        raise EngineError(self.message)

    def stream(self, request: GenerationRequest) -> AsyncIterator[StreamItem]:
        return self._fail()

    async def _fail(self) -> AsyncIterator[StreamItem]:
        raise EngineError(self.message)
        yield  # pragma: no cover - makes this an async generator

    async def count_tokens(self, text: str) -> int:
        return estimate_tokens(text)

    async def close(self) -> None:
        return None


class EngineRouter:
    """Owns the engines of all configured backends and picks one per feature."""

    def __init__(
        self,
        settings: Settings,
        local_factory: Callable[[], Engine],
        *,
        remote_factory: RemoteFactory = create_http_engine,
        local_model_factory: LocalModelFactory | None = None,
        on_fallback: Callable[[FallbackEvent], None] | None = None,
        on_finished: Callable[[Finished], None] | None = None,
    ) -> None:
        self._settings = settings
        self._local_factory = local_factory
        self._remote_factory = remote_factory
        self._local_model_factory = local_model_factory
        #: With the `model` setting `auto`: the packaged model each feature uses (see
        #: `model_choice`); the local engine serves inline completion's.
        self.auto_models: dict[str, str] | None = None
        self._local: Engine | None = None
        self._remote: dict[str, Engine] = {}
        #: The settings each remote engine was built from (to notice changes in `update`).
        self._specs: dict[str, BackendSettings] = {}
        self._infos: dict[str, ModelInfo] = {}
        self.on_fallback = on_fallback
        #: Hears the last item of every generation (the usage ledger counts its tokens).
        self.on_finished = on_finished
        self.last_fallback: FallbackEvent | None = None
        #: Generations per feature and per backend that answered them (sent a first item).
        self.answered: dict[str, dict[str, int]] = {}

    # -- choosing --------------------------------------------------------------------------

    @property
    def local(self) -> Engine:
        """The local engine, created by `local_factory` on first use."""
        if self._local is None:
            self._local = self._local_factory()
        return self._local

    def backend_name(self, feature: str) -> str:
        """The backend that serves `feature`: a configured name, an `auto:` model, or
        "local" (the local engine, which serves inline completion's model)."""
        name = self._settings.backend_for(feature)
        spec = self._settings.backends.get(name)
        if name == LOCAL or spec is None:
            return self._auto_backend(feature) or LOCAL
        if spec.is_local and not spec.model.strip():
            return LOCAL  # the local engine under another name
        return name

    def _auto_backend(self, feature: str) -> str | None:
        """`auto:MODEL` when `auto` picked another model for `feature` than the local
        engine's (inline completion's)."""
        chosen = self.auto_models
        if not chosen or self._local_model_factory is None:
            return None
        model = chosen.get(feature)
        if model is None or model == chosen.get("inlineCompletion"):
            return None
        return AUTO_PREFIX + model

    def spec_of(self, name: str) -> BackendSettings | None:
        """The settings of backend `name` (those `auto:` backends are built from too)."""
        if name.startswith(AUTO_PREFIX):
            return BackendSettings(kind=LOCAL, model=name[len(AUTO_PREFIX):], timeout_s=0)
        return self._settings.backends.get(name)

    def engine_for(self, feature: str) -> Engine:
        name = self.backend_name(feature)
        return self.local if name == LOCAL else self._remote_engine(name)

    def _remote_engine(self, name: str) -> Engine:
        """The engine of a named backend: HTTP, or a local engine of another model."""
        engine = self._remote.get(name)
        if engine is None:
            spec = dataclasses.replace(self.spec_of(name) or BackendSettings())
            try:
                if spec.is_local:
                    if self._local_model_factory is None:
                        raise EngineError(f"backend '{name}': no second local model here")
                    engine = self._local_model_factory(spec.model)
                else:
                    engine = self._remote_factory(name, spec)
            except EngineError as exc:
                engine = UnavailableEngine(name, str(exc))
            self._remote[name] = engine
            self._specs[name] = spec
        return engine

    async def info_for(self, feature: str) -> ModelInfo:
        """`ModelInfo` of the engine serving `feature` (its `start()`, called once per engine)."""
        name = self.backend_name(feature)
        return await self._info(name, self.engine_for(feature))

    def known_info(self, feature: str) -> ModelInfo | None:
        """`ModelInfo` of the engine serving `feature` if it was started, else None."""
        return self._infos.get(self.backend_name(feature))

    async def _info(self, name: str, engine: Engine) -> ModelInfo:
        info = self._infos.get(name)
        if info is None:
            info = await engine.start()
            self._infos[name] = info
        return info

    def engine_named(self, name: str) -> Engine:
        """The engine of backend `name` itself ("local": the local engine)."""
        return self.local if name == LOCAL else self._remote_engine(name)

    async def info_of(self, name: str) -> ModelInfo:
        """`ModelInfo` of backend `name` (its `start()`, called once per engine)."""
        return await self._info(name, self.engine_named(name))

    def stream_from(self, name: str, feature: str, request: RequestLike
                    ) -> AsyncIterator[StreamItem]:
        """Tokens then one `Finished` from backend `name` for `feature`, without the
        fallback (escalation: a failing backend leaves the local answer standing); counted
        in `answered` and heard by `on_finished` like any other generation."""
        return self._answer(name, self.engine_named(name), feature, request)

    # -- streaming -------------------------------------------------------------------------

    def stream(self, feature: str, request: RequestLike) -> AsyncIterator[StreamItem]:
        """Tokens then one `Finished` from the backend routed for `feature` (or its fallback).

        Closing the iterator closes the stream of whichever engine is answering.
        """
        return self._stream(feature, request)

    async def _stream(self, feature: str, request: RequestLike) -> AsyncIterator[StreamItem]:
        name = self.backend_name(feature)
        if name == LOCAL:
            async for item in self._answer(LOCAL, self.local, feature, request):
                yield item
            return
        engine = self._remote_engine(name)
        if not self._settings.fallback_to_local:
            async for item in self._answer(name, engine, feature, request):
                yield item
            return
        spec = self._specs[name]
        # A local model has no silent network to give up on: only its failure falls back.
        timeout = None if spec.is_local else spec.timeout_s or None
        async with closing_stream(self._answer(name, engine, feature, request)) as remote:
            try:
                first = await next_within(remote, timeout)
            except Superseded:
                raise
            except EngineError as exc:
                reason = str(exc)
            except TimeoutError:
                reason = f"backend '{name}' sent no first token within {timeout:g} s"
            except StopAsyncIteration:
                return
            else:
                yield first
                async for item in remote:
                    yield item
                return
        self._note_fallback(FallbackEvent(feature, name, reason))
        async for item in self._answer(LOCAL, self.local, feature, request):
            yield item

    async def _answer(
        self, name: str, engine: Engine, feature: str, request: RequestLike
    ) -> AsyncIterator[StreamItem]:
        if isinstance(request, GenerationRequest):
            ready = dataclasses.replace(request, feature=feature)
        else:
            ready = await request(engine, await self._info(name, engine))
        counted = False
        tokens = 0
        ended = False
        try:
            async with closing_stream(engine.stream(ready)) as items:
                async for item in items:
                    if ready.background:  # idle-time work answers nobody
                        yield item
                        continue
                    if not counted:  # the first token or the end: this backend is answering
                        counted = True
                        counts = self.answered.setdefault(feature, {})
                        counts[name] = counts.get(name, 0) + 1
                    if isinstance(item, Finished):
                        ended = True
                        if not item.backend:
                            item.backend = name
                        self._note_finished(item)
                    else:
                        tokens += 1
                    yield item
        finally:
            # Closed early (a stop rule): what was generated.
            if not ended and tokens and not ready.background:
                self._note_finished(Finished(reason="cancelled", generated_tokens=tokens,
                                             backend=name))

    def _note_finished(self, item: Finished) -> None:
        if self.on_finished is not None:
            try:
                self.on_finished(item)
            except Exception:  # a broken listener must not break a generation
                log.exception("on_finished listener failed")

    def _note_fallback(self, event: FallbackEvent) -> None:
        log.warning("%s: answered locally; %s", event.feature, event.reason)
        self.last_fallback = event
        if self.on_fallback is not None:
            try:
                self.on_fallback(event)
            except Exception:  # a broken listener must not break completion
                log.exception("on_fallback listener failed")

    # -- lifecycle -------------------------------------------------------------------------

    async def update(self, settings: Settings) -> None:
        """Take new settings; engines of removed or changed backends are closed and dropped,
        and so are second local models whose `auto` choice is gone or whose context size
        or threads changed."""
        local_changed = (settings.context_size, settings.threads) != (
            self._settings.context_size, self._settings.threads)
        self._settings = settings
        for name in list(self._remote):
            spec = self.spec_of(name)
            is_local = spec is not None and spec.is_local
            stale_auto = name.startswith(AUTO_PREFIX) and (
                self.auto_models is None or spec is None
                or spec.model not in self.auto_models.values())
            if (spec is not None and spec == self._specs.get(name) and not stale_auto
                    and not (is_local and local_changed)):
                continue
            engine = self._remote.pop(name)
            self._specs.pop(name, None)
            self._infos.pop(name, None)
            await self._close(engine)

    def forget_local(self) -> None:
        """The local engine was replaced: build it again from `local_factory` on next use."""
        self._local = None
        self._infos.pop(LOCAL, None)

    async def close(self) -> None:
        """Close every engine this router created, the local one included."""
        engines = list(self._remote.values())
        self._remote.clear()
        self._specs.clear()
        self._infos.clear()
        if self._local is not None:
            engines.append(self._local)
            self._local = None
        for engine in engines:
            await self._close(engine)

    @staticmethod
    async def _close(engine: Engine) -> None:
        try:
            await engine.close()
        except Exception:
            log.exception("closing engine %r failed", getattr(engine, "name", engine))


class RoutedEngine:
    """The router seen as one `Engine` for one feature: what a feature calls.

    Streams go through the router, so the route, its fallback and "which backend answered"
    (`Finished.backend`) apply; the router owns the engines, so `close` does nothing.
    """

    def __init__(self, router: EngineRouter, feature: str) -> None:
        self._router = router
        self._feature = feature
        self.name = router.backend_name(feature)

    async def start(self) -> ModelInfo:
        return await self._router.info_for(self._feature)

    def stream(self, request: GenerationRequest) -> AsyncIterator[StreamItem]:
        return self._router.stream(self._feature, request)

    async def count_tokens(self, text: str) -> int:
        return await self._router.engine_for(self._feature).count_tokens(text)

    async def close(self) -> None:
        return None


class BackendEngine:
    """One named backend seen as an `Engine` for one feature (escalation): streams go to
    that backend only, counted by the router; the router owns the engine."""

    def __init__(self, router: EngineRouter, backend: str, feature: str) -> None:
        self._router = router
        self._feature = feature
        self.name = backend

    async def start(self) -> ModelInfo:
        return await self._router.info_of(self.name)

    def stream(self, request: GenerationRequest) -> AsyncIterator[StreamItem]:
        return self._router.stream_from(self.name, self._feature, request)

    async def count_tokens(self, text: str) -> int:
        return await self._router.engine_named(self.name).count_tokens(text)

    async def close(self) -> None:
        return None
