"""Feeding the usage ledger (``ghostline.ledger``) from the handlers.

Each request runs inside `track(...)`: the router reports every generation's tokens and
backend to the request in progress (a context variable, so concurrent requests do not mix),
and the scope's end adds one row update to the ledger's buffer. Inline completion items
carry the ``ghostline.accepted`` command (LSP 3.18: the client runs an item's command when
the user accepts it); running it records the acceptance. Whether a client runs it at all is
known from its ``experimental.ghostlineAcceptCommand`` capability, or from its first run:
suggestions shown to other clients count as "acceptance unknown".

Nothing here may fail a request: recording errors are logged and dropped.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Protocol

from lsprotocol import types
from pygls.protocol import JsonRPCProtocol
from pygls.workspace import Workspace

from ghostline.core import AppCore
from ghostline.engine.base import Finished
from ghostline.ledger import Counters, Ledger

log = logging.getLogger(__name__)

ACCEPT_COMMAND = "ghostline.accepted"
#: The client capability (under ``experimental``) that says the client runs item commands.
ACCEPT_CAPABILITY = "ghostlineAcceptCommand"
#: How many issued suggestions are remembered for their acceptance (oldest dropped).
ISSUED_LIMIT = 512
#: The features whose answers carry the accept command (the others have no acceptance).
ACCEPTABLE = frozenset({"inlineCompletion"})


@dataclass
class RequestUsage:
    """What one request cost, gathered while it runs."""

    feature: str
    language: str
    started: float = field(default_factory=time.monotonic)
    shown: bool = False
    backend: str = ""
    prompt_tokens: int = 0
    generated_tokens: int = 0
    fallback: bool = False
    escalated: bool = False
    #: False: not recorded (e.g. a request that gave way to a newer one).
    counted: bool = True


@dataclass
class Issued:
    feature: str
    language: str
    backend: str
    length: int


@dataclass
class UsageSession:
    """One client session: whether its client runs accept commands, and the suggestions
    it was given (to record each acceptance once, under the row that showed it)."""

    client: str = ""
    accept_reported: bool = False
    issued: OrderedDict[str, Issued] = field(default_factory=OrderedDict)
    #: Characters recorded per accepted suggestion (a partial accept, then more of it).
    accepted: OrderedDict[str, int] = field(default_factory=OrderedDict)


class UsageServer(Protocol):
    """What this module reads and writes on the server (`GhostlineServer` has it all):
    a type of its own, because the server module imports this one."""

    core: AppCore
    ledger: Ledger
    usage: UsageSession

    @property
    def protocol(self) -> JsonRPCProtocol: ...

    @property
    def workspace(self) -> Workspace: ...


_current: ContextVar[RequestUsage | None] = ContextVar("ghostline_usage", default=None)


def current() -> RequestUsage | None:
    """The request in progress in this task, if it is tracked."""
    return _current.get()


def on_finished(item: Finished) -> None:
    """Router hook: a generation ended; its tokens and backend go to the request."""
    usage = _current.get()
    if usage is None:
        return
    usage.prompt_tokens += item.prompt_tokens
    usage.generated_tokens += item.generated_tokens
    if item.backend:
        usage.backend = item.backend


def on_fallback() -> None:
    """The local model answered in place of the routed backend."""
    usage = _current.get()
    if usage is not None:
        usage.fallback = True


def record_escalation(ls: UsageServer, feature: str, language: str, backend: str) -> None:
    """Hook for escalation (a request handed to a stronger backend): counted in the ledger,
    and marked on the request in progress so its own row is not counted twice."""
    usage = _current.get()
    if usage is not None and usage.feature == feature:
        usage.escalated = True
        return
    if ls.core.settings.ledger:
        ls.ledger.record_escalation(feature, language, backend)


def start_session(ls: UsageServer, params: types.InitializeParams) -> None:
    """Note the client and whether it says it runs the accept command."""
    info = params.client_info
    name = info.name if info is not None else ""
    experimental = params.capabilities.experimental if params.capabilities else None
    reported = isinstance(experimental, dict) and bool(experimental.get(ACCEPT_CAPABILITY))
    ls.usage = UsageSession(client=name, accept_reported=reported)
    if ls.core.settings.ledger:
        ls.ledger.record_session(name, reported)


@contextmanager
def track(ls: UsageServer, feature: str, language: str) -> Iterator[RequestUsage]:
    """Scope of one request; recorded at its end unless it was cancelled."""
    usage = RequestUsage(feature, language)
    token = _current.set(usage)
    cancelled = False
    try:
        yield usage
    except BaseException as exc:
        cancelled = isinstance(exc, asyncio.CancelledError)
        raise
    finally:
        _current.reset(token)
        if not cancelled:
            _record(ls, usage)


def track_command(ls: UsageServer, command: str, feature: str) -> None:
    """Run the registered handler of `command` inside `track` (its module needs no change):
    the first argument's ``uri`` names the document, an ``applied`` result counts as shown."""
    commands = ls.protocol.fm.commands
    handler = commands[command]

    async def tracked(*args: object) -> object:
        data = args[0] if args and isinstance(args[0], dict) else {}
        doc = ls.workspace.text_documents.get(str(data.get("uri", "")))
        with track(ls, feature, (doc.language_id or "") if doc is not None else "") as usage:
            result = handler(*args)
            if inspect.isawaitable(result):
                result = await result
            usage.shown = isinstance(result, dict) and bool(result.get("applied"))
            return result

    commands[command] = tracked


def _record(ls: UsageServer, usage: RequestUsage) -> None:
    if not ls.core.settings.ledger or not usage.counted:
        return
    try:
        counters = Counters(
            requests=1, shown=int(usage.shown),
            shown_tracked=int(usage.shown and ls.usage.accept_reported
                              and usage.feature in ACCEPTABLE),
            fallbacks=int(usage.fallback), escalations=int(usage.escalated),
            prompt_tokens=usage.prompt_tokens, generated_tokens=usage.generated_tokens)
        counters.add_latency(time.monotonic() - usage.started)
        ls.ledger.record(usage.feature, usage.language, backend_of(ls, usage), counters)
    except Exception:  # the ledger must never break a request
        log.exception("usage ledger: recording failed")


def backend_of(ls: UsageServer, usage: RequestUsage) -> str:
    """The backend that answered (the routed one where no generation ran: a cache hit)."""
    return usage.backend or ls.core.router.backend_name(usage.feature)


def accept_command(ls: UsageServer, usage: RequestUsage, text: str) -> types.Command:
    """The command an item carries, run by the client when the user accepts the item."""
    suggestion = Issued(usage.feature, usage.language, backend_of(ls, usage), len(text))
    key = uuid.uuid4().hex[:16]
    issued = ls.usage.issued
    issued[key] = suggestion
    while len(issued) > ISSUED_LIMIT:
        issued.popitem(last=False)
    return types.Command(
        title="Ghostline: suggestion accepted",
        command=ACCEPT_COMMAND,
        arguments=[{"id": key, "feature": suggestion.feature, "language": suggestion.language,
                    "backend": suggestion.backend, "length": suggestion.length}],
    )


def accepted(ls: UsageServer, args: tuple[Any, ...]) -> dict[str, Any]:
    """``ghostline.accepted``: record that the user took a suggestion (or part of it:
    ``acceptedLength``, characters; a later, longer report adds the difference)."""
    data = args[0] if args and isinstance(args[0], dict) else {}
    key = str(data.get("id", ""))
    session = ls.usage
    known = session.issued.get(key)
    suggestion = known or Issued(str(data.get("feature") or "inlineCompletion"),
                                 str(data.get("language") or ""), str(data.get("backend") or ""),
                                 _int(data.get("length")))
    chars = suggestion.length
    if "acceptedLength" in data:
        chars = max(0, min(_int(data.get("acceptedLength")), suggestion.length or 1 << 30))
    before = session.accepted.get(key)
    first = before is None
    added = chars - (before or 0)
    if not first and added <= 0:
        return {"recorded": False}
    session.accepted[key] = chars
    while len(session.accepted) > ISSUED_LIMIT:
        session.accepted.popitem(last=False)
    # A client that never said it runs accept commands just did: from now on its suggestions
    # count toward the rate, and so does this one (it was shown).
    newly_known = not session.accept_reported
    session.accept_reported = True
    if ls.core.settings.ledger:
        ls.ledger.record(suggestion.feature, suggestion.language, suggestion.backend, Counters(
            accepted=int(first), accepted_chars=added, shown_tracked=int(newly_known)))
    return {"recorded": True}


def today(ls: UsageServer) -> dict[str, Any] | None:
    """Today's totals for the status command (None with the ledger off): inline completion
    requests, suggestions shown and accepted; escalations and fallbacks of every feature."""
    if not ls.core.settings.ledger or not ls.ledger.working:
        return None
    try:
        total = ls.ledger.today()
        completion = ls.ledger.today("inlineCompletion")
    except Exception:
        log.exception("usage ledger: reading failed")
        return None
    rate = completion.acceptance_rate()
    return {
        "requests": completion.requests,
        "shown": completion.shown,
        "accepted": completion.accepted,
        "acceptanceRate": round(rate, 3) if rate is not None else None,
        "escalations": total.escalations,
        "fallbacks": total.fallbacks,
    }


def _int(value: object) -> int:
    try:
        return max(0, int(value))  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return 0
