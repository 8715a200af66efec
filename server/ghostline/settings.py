"""Typed settings, read from `initializationOptions` and `workspace/configuration`.

Clients send camelCase keys (``maxTokens``); unknown keys are ignored with a warning so an
older server keeps working with a newer client. Every field has a default, so an empty
dictionary is a valid configuration.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import re
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

#: The values of ``runGeneratedTests``.
RUN_TESTS_CHOICES = ("ask", "always", "never")


@dataclass(frozen=True)
class TokenPrice:
    """A backend's price per million tokens (`pricePerMillionTokens`), in the user's unit."""

    input: float
    output: float

    def cost(self, prompt_tokens: int, generated_tokens: int) -> float:
        return (prompt_tokens * self.input + generated_tokens * self.output) / 1_000_000


@dataclass
class BackendSettings:
    """One inference backend. `kind` is local, llama-server, ollama or openai."""

    kind: str = "local"
    url: str = ""
    model: str = ""
    api_key_env: str = ""
    timeout_s: float = 30.0
    fim_template: str = ""  # empty: detect from the model (local) or use the server's infill
    #: What the user pays this backend (`ghostline stats` shows costs); never a built-in
    #: default, prices go stale.
    price_per_million_tokens: TokenPrice | None = None

    @property
    def is_local(self) -> bool:
        """A model on this machine (the local engine, or a second one with `model`)."""
        return self.kind.strip().lower() == "local"


@dataclass
class EscalationSettings:
    """When a feature's local answer is unsure, ask a bigger backend (`escalate` setting).

    `backend` names one of `backends`; nothing is escalated without it, so nothing leaves
    the machine by default. `below`: inline completion escalates a suggestion whose
    confidence is under it. `timeout_ms` (0: the feature's default) bounds the wait for the
    escalated answer; `per_minute` (any 60 s) and `per_day` cap the escalations. Languages
    in `exclude_languages` and paths matching `exclude_globs` are never sent.
    """

    backend: str = ""
    below: float = 0.5
    timeout_ms: int = 0
    per_minute: int = 10
    per_day: int = 500
    exclude_languages: list[str] = field(default_factory=list)
    exclude_globs: list[str] = field(default_factory=list)


@dataclass
class Settings:
    #: Path of a GGUF file; empty means the packaged default model (Gemma 3 270M Q4_K_M).
    model: str = ""
    context_size: int = 2048
    threads: int = 0  # 0: llama.cpp picks (physical cores)
    #: Speculative decoding with drafts from the prompt (local models, greedy requests).
    #: Off by default: it did not pay on the CPUs measured, and batched logits round
    #: differently, so a near tie can change the text (docs/latency.md).
    lookup_draft: bool = False
    #: A smaller model with the same vocabulary (a GGUF path or a packaged name such as
    #: ``qwen2.5-coder-0.5b`` for the 1.5B) that drafts tokens for greedy requests of
    #: local models, checked by the model in one batch. Empty (off) by default: on the
    #: CPUs measured a batch costs more than the tokens it saves (docs/latency.md).
    draft_model: str = ""
    #: Idle-time work for inline completion (local models): read the prompt of the place
    #: the cursor rests at into the KV cache, and prepare the suggestion for where
    #: accepting the shown one leads (`features/idle_work.py`).
    idle_prefill: bool = True
    #: A completion whose prompt the model has nothing of gets a window sized from the
    #: prompt speed measured on this machine, so its first token is due within this many
    #: milliseconds (0: always the full window; `features/cold_window.py`).
    cold_budget_ms: int = 1500
    #: A single-line completion's FIM suffix, in model tokens, at most (0: the block's
    #: share of the window). Every keystroke re-reads the suffix of a prefix-suffix-middle
    #: prompt, so a shorter one makes a warm keystroke cheaper (docs/latency.md).
    line_suffix_tokens: int = 0
    max_tokens: int = 64
    max_tokens_multiline: int = 128
    temperature: float = 0.0
    debounce_ms: int = 75
    #: Hard limit for one inline completion, seconds.
    time_limit_s: float = 3.0
    #: Languages (LSP language ids) with inline completion turned off.
    disabled_languages: list[str] = field(default_factory=list)
    enabled: bool = True
    #: Prompt budget for inline completion, in model tokens.
    prompt_tokens: int = 768
    #: Files larger than this are not indexed or completed, bytes.
    max_file_bytes: int = 1_000_000
    #: Suppress suggestions whose mean token probability is below this (0 = show all).
    min_confidence: float = 0.0
    #: Budget for cross-file context in inline completion prompts, in model tokens.
    context_tokens: int = 320
    #: Where cross-file context comes from: definitions and usages of the names at the
    #: cursor, the current file's imports when out of the window, recently edited or viewed
    #: regions (ring), lexical search over other files (bm25).
    context_sources: list[str] = field(
        default_factory=lambda: ["definitions", "usages", "header", "ring", "bm25"])
    #: Bias the first tokens after ``receiver.`` toward the members of its type.
    member_bias: bool = True
    #: On a new line in a Python function, lean the first tokens toward the names the code
    #: below the cursor reads but nothing binds (what the line is likely to define), with
    #: the value the first use below implies (``total = 0`` above ``total += 1``); a line
    #: that binds a name its block never reads binds the one the block reads instead.
    names_below_bias: bool = True
    #: On a blank line above Python code, ask again (at most twice, without the first word)
    #: for a line that cannot stand there (see `postprocess.fit`).
    fit_code_below: bool = True
    #: Budget for other files' code in "Generate tests" prompts (definitions the target
    #: uses, code that calls it, recent edits), in model tokens.
    test_context_tokens: int = 384
    #: Budget for the callees' signatures and the call sites in hover and docstring
    #: prompts, in model tokens.
    hover_context_tokens: int = 256
    hover_time_limit_s: float = 4.0
    #: Whether "Generate tests" may run the generated tests (the project's code) before
    #: applying them: "ask" (once per workspace, the answer remembered), "always", "never".
    #: The booleans of older clients still work (true: "always", false: "never").
    run_generated_tests: str = "ask"
    backends: dict[str, BackendSettings] = field(default_factory=dict)
    routes: dict[str, str] = field(default_factory=dict)
    fallback_to_local: bool = True
    #: Per feature (inlineCompletion, generateTests, hover): the backend that answers when the
    #: local answer is unsure (see `EscalationSettings`); empty: never escalate.
    escalate: dict[str, EscalationSettings] = field(default_factory=dict)
    #: Keep the local usage ledger (`ghostline stats`): daily counts per feature, language
    #: and backend in the cache folder; nothing leaves the machine.
    ledger: bool = True

    @classmethod
    def from_dict(cls, raw: dict[str, Any] | None) -> Settings:
        """Build settings from a client dictionary (camelCase or snake_case keys)."""
        settings = cls()
        settings.update(raw or {})
        return settings

    def update(self, raw: dict[str, Any]) -> None:
        """Apply the keys present in `raw`, leaving the others as they are."""
        if not isinstance(raw, dict):
            log.warning("ignoring settings that are not an object: %r", raw)
            return
        names = {f.name: f for f in dataclasses.fields(self)}
        for key, value in raw.items():
            name = _snake(key)
            if name not in names:
                log.warning("unknown setting %r ignored", key)
                continue
            if name == "backends":
                self.backends = _parse_backends(value)
                continue
            if name == "escalate":
                self.escalate = _parse_escalate(value)
                continue
            if name == "run_generated_tests":
                choice = run_tests_choice(value)
                if choice is None:
                    log.warning("setting %r: expected one of %s, got %r; keeping %r", key,
                                ", ".join(f'"{c}"' for c in RUN_TESTS_CHOICES), value,
                                self.run_generated_tests)
                else:
                    self.run_generated_tests = choice
                continue
            current = getattr(self, name)
            try:
                setattr(self, name, _coerce(value, current))
            except (TypeError, ValueError):
                log.warning("setting %r: expected %s, got %r", key, type(current).__name__, value)

    def language_enabled(self, language_id: str) -> bool:
        return self.enabled and language_id not in self.disabled_languages

    def backend_for(self, feature: str) -> str:
        """Name of the backend that serves `feature` ("local" unless routed elsewhere)."""
        name = self.routes.get(feature, "local")
        return name if name == "local" or name in self.backends else "local"


def run_tests_choice(value: Any) -> str | None:
    """The ``runGeneratedTests`` value for a client's ``value`` (None if it is not one):
    a choice in any case, or an older client's boolean."""
    if isinstance(value, bool):
        return "always" if value else "never"
    if isinstance(value, str) and value.strip().lower() in RUN_TESTS_CHOICES:
        return value.strip().lower()
    return None


def _snake(key: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()


def _coerce(value: Any, current: Any) -> Any:
    if isinstance(current, bool):
        if not isinstance(value, bool):
            raise TypeError
        return value
    if isinstance(current, int):
        if isinstance(value, bool):
            raise TypeError
        return int(value)
    if isinstance(current, float):
        return float(value)
    if isinstance(current, str):
        if not isinstance(value, str):
            raise TypeError
        return value
    if isinstance(current, list):
        if not isinstance(value, list):
            raise TypeError
        return [str(v) for v in value]
    if isinstance(current, dict):
        if not isinstance(value, dict):
            raise TypeError
        return {str(k): str(v) for k, v in value.items()}
    return value


def _parse_backends(raw: Any) -> dict[str, BackendSettings]:
    backends: dict[str, BackendSettings] = {}
    if not isinstance(raw, dict):
        log.warning("setting 'backends' must be an object")
        return backends
    fields = {f.name for f in dataclasses.fields(BackendSettings)}
    for name, spec in raw.items():
        if not isinstance(spec, dict):
            log.warning("backend %r must be an object", name)
            continue
        known = {_snake(k): v for k, v in spec.items() if _snake(k) in fields}
        if "price_per_million_tokens" in known:
            known["price_per_million_tokens"] = parse_price(
                str(name), known["price_per_million_tokens"])
        try:
            backends[str(name)] = BackendSettings(**known)
        except TypeError as exc:
            log.warning("backend %r: %s", name, exc)
    return backends


def parse_price(backend: str, raw: Any) -> TokenPrice | None:
    """A backend's ``pricePerMillionTokens``: ``{"input": number, "output": number}``, both
    finite and not negative; anything else is a warning and no price."""
    if raw is None:
        return None
    if isinstance(raw, dict):
        values = [raw.get(key) for key in ("input", "output")]
        numbers = [float(v) for v in values
                   if isinstance(v, int | float) and not isinstance(v, bool)]
        if (set(raw) == {"input", "output"} and len(numbers) == 2
                and all(math.isfinite(v) and v >= 0 for v in numbers)):
            return TokenPrice(numbers[0], numbers[1])
    log.warning("backend %r: pricePerMillionTokens must be {\"input\": number, "
                "\"output\": number} (not negative), got %r; no price", backend, raw)
    return None


def _parse_escalate(raw: Any) -> dict[str, EscalationSettings]:
    """The `escalate` setting: feature -> rule (camelCase or snake_case keys). A rule with a
    wrong value keeps that field's default; whether its backend exists is checked at use
    (the `backends` may come in the same update, after this key)."""
    rules: dict[str, EscalationSettings] = {}
    if not isinstance(raw, dict):
        log.warning("setting 'escalate' must be an object")
        return rules
    defaults = EscalationSettings()
    fields = {f.name for f in dataclasses.fields(EscalationSettings)}
    for feature, spec in raw.items():
        if isinstance(spec, str):  # shorthand: just the backend's name
            spec = {"backend": spec}
        if not isinstance(spec, dict):
            log.warning("escalate %r must be an object", feature)
            continue
        rule = EscalationSettings()
        for key, value in spec.items():
            name = _snake(key)
            if name not in fields:
                log.warning("escalate %r: unknown key %r ignored", feature, key)
                continue
            try:
                setattr(rule, name, _coerce(value, getattr(defaults, name)))
            except (TypeError, ValueError):
                log.warning("escalate %r: %r expected %s, got %r", feature, key,
                            type(getattr(defaults, name)).__name__, value)
        rules[str(feature)] = rule
    return rules
