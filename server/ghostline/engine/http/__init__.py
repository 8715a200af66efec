"""HTTP inference backends: llama-server, Ollama and OpenAI-compatible servers.

`create_http_engine(name, settings)` builds the engine for a `BackendSettings.kind`; every
engine implements `ghostline.engine.base.Engine` and never talks to the network before its
first `start()`, `stream()` or `count_tokens()`.
"""

from __future__ import annotations

import httpx

from ghostline.engine.base import EngineError
from ghostline.engine.http.http_base import HttpEngine, estimate_tokens
from ghostline.engine.http.llama_server import LlamaServerEngine
from ghostline.engine.http.ollama import OllamaEngine
from ghostline.engine.http.openai import OpenAIEngine
from ghostline.settings import BackendSettings

ENGINE_KINDS: dict[str, type[HttpEngine]] = {
    "llama-server": LlamaServerEngine,
    "ollama": OllamaEngine,
    "openai": OpenAIEngine,
}


def create_http_engine(
    name: str,
    settings: BackendSettings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> HttpEngine:
    """The engine for backend `name`; `EngineError` for a kind that is not an HTTP backend."""
    kind = settings.kind.strip().lower().replace("_", "-")
    engine_class = ENGINE_KINDS.get(kind)
    if engine_class is None:
        known = ", ".join(sorted(ENGINE_KINDS))
        raise EngineError(f"backend '{name}' has kind {settings.kind!r}; expected one of {known}")
    return engine_class(name, settings, transport=transport)


__all__ = [
    "ENGINE_KINDS",
    "HttpEngine",
    "LlamaServerEngine",
    "OllamaEngine",
    "OpenAIEngine",
    "create_http_engine",
    "estimate_tokens",
]
