"""Escalation in the server: a request the local model answered unsurely is asked once more of
the `escalate` backend of its feature, and that answer is used only when it is better placed
than the local one.

Never worse than local: the escalated answer replaces the local one only if it arrives
within the rule's timeout, is not empty, and (inline completion) the user has not moved on —
no newer completion request for the document and the same document version as when the
request started; any failure, timeout or empty answer leaves the local answer standing (or
nothing, where the local suggestion was hidden). The policy (`features.escalation`) decides
and counts; the usage ledger records each escalation (`usage.record_escalation`) under the
backend that answered.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import weakref
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ghostline.context.tokenizer import CounterSlot, TokenCounter
from ghostline.engine.base import Engine, EngineError, ModelInfo
from ghostline.engine.router import BackendEngine, EngineRouter
from ghostline.features.escalation import Decision, EscalationPolicy, completion_template
from ghostline.features.inline_completion import CompletionInput, CompletionOutcome, InlineCompleter
from ghostline.features.testgen import GeneratedTests, GenError, GenRequest, GenServices
from ghostline.features.testgen_job import GenJob
from ghostline.index.model import Definition
from ghostline.lsp import usage
from ghostline.prompts.fim import FimTemplate
from ghostline.prompts.instruct import is_instruction_model

if TYPE_CHECKING:
    from ghostline.lsp.server import GhostlineServer

log = logging.getLogger(__name__)

INLINE = "inlineCompletion"
TESTS = "generateTests"
HOVER = "hover"
#: The local generation's failure that escalation answers (the checks failed after the retry).
NO_USABLE_TEST = "wrote no usable test"


@dataclasses.dataclass
class _Completer:
    """An inline completer for one escalation backend (its template and tokenizer)."""

    spec: object
    completer: InlineCompleter


class EscalationState:
    """A server's policy and the completers of its escalation backends."""

    def __init__(self, ls: GhostlineServer) -> None:
        self.policy = EscalationPolicy(day_count=lambda feature: _ledger_today(ls, feature))
        self.completers: dict[str, _Completer] = {}
        self.counters = CounterSlot()


_STATES: weakref.WeakKeyDictionary[GhostlineServer, EscalationState] = (
    weakref.WeakKeyDictionary())


def state_for(ls: GhostlineServer) -> EscalationState:
    state = _STATES.get(ls)
    if state is None:
        state = _STATES[ls] = EscalationState(ls)
    return state


def status(ls: GhostlineServer) -> dict[str, Any]:
    """``ghostline.status``'s ``escalation``: backends, counts, the last escalation."""
    return state_for(ls).policy.status(ls.core.settings)


def _ledger_today(ls: GhostlineServer, feature: str) -> int:
    if not ls.core.settings.ledger or not ls.ledger.working:
        return 0
    return ls.ledger.today(feature).escalations


def _decide(ls: GhostlineServer, feature: str, language: str, path: str,
            confidence: float | None = 0.0) -> Decision:
    settings = ls.core.settings
    if not settings.escalate:  # the default: nothing to decide, nothing leaves
        return Decision(None, "not configured")
    decision = state_for(ls).policy.decide(settings, feature, language, path,
                                           ls.workspace_roots(), confidence)
    if decision.backend is not None:
        usage.record_escalation(ls, feature, language, decision.backend)
    return decision


# -- inline completion ---------------------------------------------------------------------


def _unsure(outcome: CompletionOutcome) -> float | None:
    """How sure the local suggestion is, for the `below` rule: its confidence (also when
    `minConfidence` hid it), 0 for no suggestion, None when unknown."""
    if outcome.confidence is not None:
        return outcome.confidence
    return None if outcome.text else 0.0


async def improve_completion(ls: GhostlineServer, item: CompletionInput,
                             outcome: CompletionOutcome, version: int | None,
                             seq: int) -> CompletionOutcome:
    """The escalated suggestion where the rule asks for one and it arrives in time for the
    same document version and request; otherwise `outcome` (the local answer)."""
    # The model's own answer, or one `minConfidence` hid (the model ran: it has an end);
    # not a cached or typed-through one, a cancelled one, or no completion at this position.
    hidden = outcome.source == "none" and outcome.finished is not None
    if (outcome.source != "model" and not hidden) or outcome.reason == "cancelled":
        return outcome
    if _moved_on(ls, item.uri, version, seq):  # already: not worth a remote call
        return outcome
    decision = _decide(ls, INLINE, item.language_id, item.path, _unsure(outcome))
    backend = decision.backend
    if backend is None:
        return outcome
    policy = state_for(ls).policy
    tracked = usage.current()
    local_backend = tracked.backend if tracked is not None else ""
    remote: CompletionOutcome | None = None
    kept: tuple[str, str] | None = None
    try:
        remote = await asyncio.wait_for(_remote_completion(ls, backend, item, decision),
                                        decision.timeout_s)
    except TimeoutError:
        kept = ("timeout", f"no answer within {decision.timeout_s:g} s")
    except EngineError as exc:
        kept = ("failed", str(exc))
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # a broken escalation must not cost the local answer
        log.exception("escalation of an inline completion failed")
        kept = ("failed", str(exc))
    if remote is not None and not remote.text:
        kept = ("empty", "the escalated backend had nothing to add")
    elif remote is not None and _moved_on(ls, item.uri, version, seq):
        kept = ("superseded", "the document or the cursor moved on")
    if remote is None or kept is not None:
        policy.note(INLINE, backend, *(kept or ("failed", "")))
        if tracked is not None:
            tracked.backend = local_backend
        return outcome
    policy.note(INLINE, backend, "answered")
    if tracked is not None:
        tracked.backend = backend
    ls.core.completer.adopt(item, outcome.mode, remote.text)
    return dataclasses.replace(remote, source="model", timings={
        **remote.timings, "local_s": outcome.timings.get("total_s", 0.0)})


def _moved_on(ls: GhostlineServer, uri: str, version: int | None, seq: int) -> bool:
    """Whether the user moved on since the request came: a newer completion request for
    the document (a new cursor position or text), or another version of the document."""
    if ls.request_seq.get(uri) != seq:
        return True
    doc = ls.workspace.text_documents.get(uri)
    return doc is None or doc.version != version


async def _remote_completion(ls: GhostlineServer, backend: str, item: CompletionInput,
                             decision: Decision) -> CompletionOutcome:
    completer = await _completer_for(ls, backend)
    settings = dataclasses.replace(
        ls.core.settings, min_confidence=0.0,
        time_limit_s=min(ls.core.settings.time_limit_s, decision.timeout_s))
    return await completer.complete(item, settings)


async def _completer_for(ls: GhostlineServer, backend: str) -> InlineCompleter:
    """The completer of `backend`: its own FIM template and tokens (as the server uses for
    a route to it), the server's context; rebuilt when the backend's settings change."""
    state = state_for(ls)
    core = ls.core
    router = core.router
    spec = router.spec_of(backend)
    known = state.completers.get(backend)
    if known is not None and known.spec == spec:
        return known.completer
    info = await router.info_of(backend)
    local = spec is not None and spec.is_local
    model = _BackendModel(router, backend, info, completion_template(info, local=local),
                          state.counters if local and info.path else None)
    completer = core.new_completer(core.context, model, open_trees=False)
    state.completers[backend] = _Completer(dataclasses.replace(spec) if spec else None, completer)
    return completer


class _BackendModel:
    """Inline completion's model on an escalation backend (a `CompletionModel`): its
    engine through the router, its own FIM template and special tokens, and its tokenizer
    where it is a local model with a file (`counters`; else the window is in characters)."""

    def __init__(self, router: EngineRouter, backend: str, info: ModelInfo,
                 template: FimTemplate, counters: CounterSlot | None) -> None:
        self._router = router
        self._backend = backend
        self._info = info
        self._template = template
        self._counters = counters

    def engine(self) -> Engine:
        return BackendEngine(self._router, self._backend, INLINE)

    def template(self) -> FimTemplate:
        return self._template

    def special_tokens(self) -> list[str]:
        return self._info.special_tokens

    def counter(self) -> TokenCounter | None:
        return self._counters.get(self._info.path) if self._counters is not None else None


# -- generate tests ------------------------------------------------------------------------


async def generate_tests(ls: GhostlineServer, request: GenRequest, services: GenServices,
                         make: Callable[[GenServices], GenJob]) -> GeneratedTests:
    """`make(services).generate()`; when the local tests fail the checks after their retry,
    once more on the escalation backend (if allowed). Its failure re-raises the local one."""
    try:
        return await make(services).generate()
    except GenError as exc:
        if NO_USABLE_TEST not in str(exc):
            raise
        decision = _decide(ls, TESTS, request.language, str(request.path))
        backend = decision.backend
        if backend is None:
            raise
        policy = state_for(ls).policy
        try:
            router = ls.core.router
            info = await asyncio.wait_for(router.info_of(backend), decision.timeout_s)
            escalated = dataclasses.replace(
                services, engine=BackendEngine(router, backend, TESTS), model_info=info)
            result = await asyncio.wait_for(make(escalated).generate(), decision.timeout_s)
        except TimeoutError:
            policy.note(TESTS, backend, "timeout", f"no tests within {decision.timeout_s:g} s")
            raise exc from None
        except (GenError, EngineError) as second:
            policy.note(TESTS, backend, "failed", str(second))
            raise exc from None
        policy.note(TESTS, backend, "answered")
        return result


# -- hover -----------------------------------------------------------------------------------

#: Asks one engine for a summary predicate (chat or completion prompt): "" when unusable.
AskSummary = Callable[[Engine, bool], Awaitable[str]]


async def hover_summary(ls: GhostlineServer, definition: Definition, ask: AskSummary) -> str:
    """An empty or rejected hover summary, asked once of the escalation backend: its
    predicate, or "" (the local answer stands)."""
    decision = _decide(ls, HOVER, definition.language, str(definition.path))
    backend = decision.backend
    if backend is None:
        return ""
    policy = state_for(ls).policy
    try:
        async def escalated() -> str:
            router = ls.core.router
            spec = router.spec_of(backend)
            info = await router.info_of(backend)
            chat = (is_instruction_model(info) if spec is None or spec.is_local
                    else spec.kind == "openai")
            return await ask(BackendEngine(router, backend, HOVER), chat)

        predicate = await asyncio.wait_for(escalated(), decision.timeout_s)
    except TimeoutError:
        policy.note(HOVER, backend, "timeout", f"no summary within {decision.timeout_s:g} s")
        return ""
    except EngineError as exc:
        policy.note(HOVER, backend, "failed", str(exc))
        return ""
    policy.note(HOVER, backend, "answered" if predicate else "empty")
    return predicate
