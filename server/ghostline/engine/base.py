"""The one interface every inference backend implements.

Features never talk to llama.cpp or HTTP directly: they build a `GenerationRequest` and
iterate `engine.stream(request)`. Breaking out of the iteration (or closing the generator,
or cancelling the task) stops the generation on the backend within one token.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable


class EngineError(Exception):
    """A backend failed in a way the user should hear about (one actionable sentence)."""


class ModelLoadError(EngineError):
    """The model could not be loaded: missing file, not a GGUF, out of memory."""


class WorkerCrashed(EngineError):
    """The local worker process died while a request was running."""


class Superseded(EngineError):
    """A newer request with the same key replaced this one before it finished."""


@dataclass
class ChatMessage:
    role: Literal["system", "user", "assistant"]
    content: str


@dataclass
class GenerationRequest:
    """What to generate.

    Exactly one of `prompt` (raw text, special tokens allowed) and `messages` (chat) is set.
    `key` groups requests that supersede each other: a new request with the same key
    cancels the older one (the newest keystroke in a document wins).
    """

    prompt: str | None = None
    messages: list[ChatMessage] | None = None
    max_tokens: int = 64
    temperature: float = 0.0
    stop: list[str] = field(default_factory=list)
    key: str | None = None
    time_limit_s: float | None = None
    #: FIM pieces for backends with a native infill endpoint (llama-server /infill, Ollama
    #: suffix); local backends use `prompt`, which already holds the formatted template.
    infill_prefix: str | None = None
    infill_suffix: str | None = None
    infill_extra: list[dict[str, str]] | None = None
    #: Bias the first generated tokens toward these strings (members of a resolved type,
    #: names the code below reads but nothing binds), with this logit bonus for the token
    #: that starts one (None: the worker's constraint-sized default).
    preferred_first: list[str] | None = None
    preferred_bias: float | None = None
    #: Words the first generated token (after any indentation) must not start: a second try
    #: at a line whose first attempt could not stand where it goes.
    avoid_first: list[str] | None = None
    #: False: evaluate the prompt from an empty KV cache, as a cold request would (the
    #: quality benchmark, so that an item's answer does not depend on the items before).
    reuse_cache: bool = True
    feature: str = "inlineCompletion"
    #: Idle-time work (a prompt read ahead, the next suggestion prepared): it yields to
    #: any other request, which cancels it, and is not counted as an answer. With
    #: ``max_tokens == 0`` only the prompt is evaluated (the KV cache keeps it).
    background: bool = False


@dataclass
class Token:
    """One streamed piece of text with the log-probability of the token that produced it."""

    text: str
    logprob: float | None = None


@dataclass
class Finished:
    """Last item of every stream: why it stopped and what it cost."""

    reason: Literal["stop", "length", "cancelled", "time", "eos"]
    prompt_tokens: int = 0
    cached_tokens: int = 0
    generated_tokens: int = 0
    first_token_s: float | None = None
    total_s: float = 0.0
    backend: str = ""
    #: Speculative decoding (local models): tokens drafted, and of them kept by the model.
    drafted_tokens: int = 0
    kept_draft_tokens: int = 0


StreamItem = Token | Finished


@dataclass
class ModelInfo:
    """What a loaded model is, as far as prompts and post-processing need to know."""

    name: str
    path: str = ""
    context_size: int = 0
    #: Name of the FIM template detected from the vocabulary ("none" = prefix only).
    fim_template: str = "none"
    #: Special-token strings the vocabulary has (used for template detection and leak checks).
    special_tokens: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    has_chat_template: bool = False
    self_test: str = "not run"


@runtime_checkable
class Engine(Protocol):
    """An inference backend: embedded worker, llama-server, Ollama or OpenAI-compatible."""

    name: str

    async def start(self) -> ModelInfo:
        """Load or connect; raise `ModelLoadError`/`EngineError` with an actionable message."""
        ...

    def stream(self, request: GenerationRequest) -> AsyncIterator[StreamItem]:
        """Yield `Token`s then one `Finished`. Closing the iterator cancels the generation."""
        ...

    async def count_tokens(self, text: str) -> int:
        """Real token count of `text` with this model's tokenizer."""
        ...

    async def close(self) -> None: ...
