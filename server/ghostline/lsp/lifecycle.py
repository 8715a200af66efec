"""Initialization, configuration and shutdown."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict
from typing import Any

from lsprotocol import types

from ghostline.engine.router import FEATURES
from ghostline.lsp import escalation, usage
from ghostline.lsp.documents import start_index
from ghostline.lsp.hover import hover_status
from ghostline.lsp.server import GhostlineServer

log = logging.getLogger(__name__)

CONFIG_SECTION = "ghostline"


def register(server: GhostlineServer) -> None:
    @server.feature(types.INITIALIZE)
    def on_initialize(ls: GhostlineServer, params: types.InitializeParams) -> None:
        options = params.initialization_options
        if isinstance(options, dict):
            ls.core.take_initial_settings(options)
        usage.start_session(ls, params)

    @server.feature(types.INITIALIZED)
    async def on_initialized(ls: GhostlineServer, params: types.InitializedParams) -> None:
        core = ls.core
        before = core.engine_settings_key(core.settings)
        await pull_configuration(ls)
        # A request may have started the engine of the initialization options meanwhile.
        await core.apply_settings(before)
        if core.needs_local_model():
            ls._engine_task = asyncio.create_task(load_model_with_progress(ls))
        ls._index_task = asyncio.create_task(start_index(ls))

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def on_configuration(
        ls: GhostlineServer, params: types.DidChangeConfigurationParams
    ) -> None:
        core = ls.core
        before = core.engine_settings_key(core.settings)
        settings = params.settings
        if isinstance(settings, dict) and isinstance(settings.get(CONFIG_SECTION), dict):
            core.settings.update(settings[CONFIG_SECTION])
        else:
            await pull_configuration(ls)
        core.completer.clear_cache()
        if await core.apply_settings(before) and core.needs_local_model():
            ls._engine_task = asyncio.create_task(load_model_with_progress(ls))

    @server.command("ghostline.status")
    def on_status(ls: GhostlineServer, *args: Any) -> dict[str, Any]:
        """State for clients' status displays and for tests."""
        return status(ls)

    @server.command(usage.ACCEPT_COMMAND)
    def on_accepted(ls: GhostlineServer, *args: Any) -> dict[str, Any]:
        """The client ran an accepted inline completion item's command."""
        return usage.accepted(ls, args)

    @server.feature(types.SHUTDOWN)
    async def on_shutdown(ls: GhostlineServer, params: None) -> None:
        ls.core.index_stop.set()
        await asyncio.to_thread(ls.ledger.close)
        await ls.core.close()


async def pull_configuration(ls: GhostlineServer) -> None:
    """Ask the client for the `ghostline` section, where it supports it."""
    if not ls.client_supports("workspace", "configuration"):
        return
    try:
        result = await asyncio.wait_for(
            ls.workspace_configuration_async(
                types.ConfigurationParams(items=[types.ConfigurationItem(section=CONFIG_SECTION)])
            ),
            timeout=5,
        )
    except Exception as exc:  # a client that does not answer must not block start-up
        log.warning("workspace/configuration failed: %s", exc)
        return
    if result and isinstance(result[0], dict):
        ls.core.settings.update(result[0])


async def load_model_with_progress(ls: GhostlineServer) -> None:
    """Load the model in the background, reporting `$/progress` where the client can."""
    token = await ls.begin_progress("loading model")
    ok = await ls.core.ensure_model()
    if token is not None:
        info = ls.core.model_info
        message = f"{info.name} ready" if ok and info else "model failed to load"
        ls.work_done_progress.end(token, types.WorkDoneProgressEnd(message=message))


def status(ls: GhostlineServer) -> dict[str, Any]:
    core = ls.core
    info = core.model_info
    engine = core.engine
    router = core.router
    fallback = router.last_fallback
    return {
        "version": ls.version,
        "state": "error" if core.model_error else ("ready" if info else "loading"),
        "model": info.name if info else None,
        "modelPath": info.path if info else None,
        "template": core.template.name,
        "selfTest": info.self_test if info else None,
        "error": core.model_error,
        "backend": engine.name,
        "workerPid": getattr(engine, "pid", None),
        "workerRestarts": getattr(engine, "restarts", 0),
        "modelCalls": core.completer.model_calls,
        "idleWork": {**core.idle_work.counts, "busy": core.idle_work.busy,
                     "aheadCalls": core.completer.idle_calls},
        "lastCompletion": _completion_stats(ls),
        "indexedFiles": len(core.index.all_files()) if core.index is not None else None,
        "routes": {feature: router.backend_name(feature) for feature in FEATURES},
        "autoModels": router.auto_models,
        "lastFallback": asdict(fallback) if fallback is not None else None,
        "answered": router.answered,
        "hover": hover_status(ls),
        "usageToday": usage.today(ls),
        "escalation": escalation.status(ls),
    }


def _completion_stats(ls: GhostlineServer) -> dict[str, Any] | None:
    outcome = ls.last_completion
    if outcome is None:
        return None
    stats: dict[str, Any] = {"source": outcome.source, "mode": outcome.mode,
                             "confidence": outcome.confidence, **outcome.timings}
    if outcome.finished is not None:
        finished = outcome.finished
        stats.update(promptTokens=finished.prompt_tokens, cachedTokens=finished.cached_tokens,
                     generatedTokens=finished.generated_tokens, stopReason=finished.reason,
                     backend=finished.backend, backendS=finished.total_s)
    return stats
