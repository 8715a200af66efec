"""Escalation policy: whether a request the local model answered unsurely may go to a bigger
backend (the `escalate` setting), and the counts `ghostline.status` shows.

A request is escalated only when all of these hold: its feature has a rule naming a
configured backend (nothing leaves the machine by default), its language and path are not
excluded, its local answer is unsure (inline completion: confidence under `below`; the
other features decide that themselves), and the limits allow one more: at most `perMinute`
in any 60 seconds (a sliding window, so a typing storm cannot pass twice the limit the way
a refilling bucket could) and `perDay` per local day (seeded from the usage ledger, so a
restarted server does not start the day again). Nothing here talks to a backend.
"""

from __future__ import annotations

import logging
import re
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path, PurePosixPath
from typing import Any

from ghostline.engine.base import ModelInfo
from ghostline.engine.http.openai import SERVER_FIM
from ghostline.prompts.fim import (
    FimTemplate,
    detect_template,
    template_by_name,
    template_for_model,
)
from ghostline.settings import EscalationSettings, Settings

log = logging.getLogger(__name__)

#: How long the escalated answer may take when the rule sets no `timeoutMs`.
DEFAULT_TIMEOUT_MS = {"inlineCompletion": 2000, "hover": 10000, "generateTests": 180000}
WINDOW_S = 60.0
#: What became of an escalation (status counters).
OUTCOMES = ("answered", "timeout", "failed", "empty", "superseded")


@dataclass
class Decision:
    """`backend` to escalate to, or None and `reason` why not."""

    backend: str | None
    reason: str = ""
    rule: EscalationSettings | None = None
    timeout_s: float = 0.0


@dataclass
class _Feature:
    sent: deque[float] = field(default_factory=deque)
    day: str = ""
    today: int = 0


class EscalationPolicy:
    """Decides per request and counts; one per server (limits are per feature)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic,
                 day: Callable[[], str] | None = None,
                 day_count: Callable[[str], int] | None = None) -> None:
        """`day`: the local date now; `day_count(feature)`: escalations already recorded
        today (the ledger), read once per feature and day."""
        from ghostline.ledger import local_day

        self._clock = clock
        self._day = day or local_day
        self._day_count = day_count
        self._features: dict[str, _Feature] = {}
        self._warned: set[tuple[str, str]] = set()
        #: feature -> counter -> count: escalated, answered, timeout, failed, empty,
        #: superseded, limited, excluded.
        self.counts: dict[str, dict[str, int]] = {}
        self.last: dict[str, Any] | None = None

    # -- deciding ------------------------------------------------------------------------------

    def backend(self, settings: Settings, feature: str
                ) -> tuple[str | None, EscalationSettings | None]:
        """The usable backend of `feature`'s rule (a missing or unknown one: a warning,
        logged once, and None)."""
        rule = settings.escalate.get(feature)
        if rule is None:
            return None, None
        name = rule.backend.strip()
        spec = settings.backends.get(name)
        problem = ""
        if not name:
            problem = "names no backend"
        elif spec is None:
            problem = f"names backend {name!r}, which is not in `backends`"
        elif spec.is_local and not spec.model.strip():
            problem = f"names backend {name!r}, the local model itself"
        if problem:
            if (feature, name) not in self._warned:
                self._warned.add((feature, name))
                log.warning("escalate %s %s: not escalating", feature, problem)
            return None, rule
        return name, rule

    def decide(self, settings: Settings, feature: str, language: str, path: str,
               roots: Iterable[Path] = (), confidence: float | None = 0.0) -> Decision:
        """Whether to escalate this request now; a yes takes one from the limits.
        `confidence` (inline completion): the local suggestion's, None when unknown."""
        name, rule = self.backend(settings, feature)
        if name is None or rule is None:
            return Decision(None, "not configured")
        if feature == "inlineCompletion":
            if confidence is None:
                return Decision(None, "confidence unknown")
            if confidence >= rule.below:
                return Decision(None, "confident")
        if language and language in rule.exclude_languages:
            return self._refuse(feature, "excluded", f"language {language} is excluded")
        if path and path_excluded(path, roots, rule.exclude_globs):
            return self._refuse(feature, "excluded", "the path is excluded")
        state = self._state(feature)
        now = self._clock()
        while state.sent and now - state.sent[0] >= WINDOW_S:
            state.sent.popleft()
        if rule.per_minute <= 0 or len(state.sent) >= rule.per_minute:
            return self._refuse(feature, "limited", f"{rule.per_minute} per minute reached")
        if rule.per_day <= 0 or state.today >= rule.per_day:
            return self._refuse(feature, "limited", f"{rule.per_day} per day reached")
        state.sent.append(now)
        state.today += 1
        self._count(feature, "escalated")
        timeout_ms = (rule.timeout_ms if rule.timeout_ms > 0
                      else DEFAULT_TIMEOUT_MS.get(feature, 5000))
        return Decision(name, rule=rule, timeout_s=timeout_ms / 1000)

    def _state(self, feature: str) -> _Feature:
        state = self._features.setdefault(feature, _Feature())
        day = self._day()
        if state.day != day:
            state.day = day
            state.today = 0
            if self._day_count is not None:
                try:
                    state.today = self._day_count(feature)
                except Exception:  # a broken ledger must not stop escalation
                    log.exception("escalation: reading today's count failed")
        return state

    def _refuse(self, feature: str, counter: str, reason: str) -> Decision:
        self._count(feature, counter)
        return Decision(None, reason)

    # -- outcomes ------------------------------------------------------------------------------

    def note(self, feature: str, backend: str, outcome: str, detail: str = "") -> None:
        """What became of an escalation: one of `OUTCOMES` (``answered``: the escalated
        answer was used; the others kept the local one)."""
        self._count(feature, outcome)
        self.last = {"feature": feature, "backend": backend, "outcome": outcome,
                     "detail": detail, "at": time.time()}
        if outcome != "answered":
            log.info("escalation of %s to %s: %s %s; the local answer stands", feature, backend,
                     outcome, detail)

    def _count(self, feature: str, counter: str) -> None:
        counts = self.counts.setdefault(feature, {})
        counts[counter] = counts.get(counter, 0) + 1

    def status(self, settings: Settings) -> dict[str, Any]:
        """For ``ghostline.status``: the configured backend per feature, the counts, and the
        last escalation (which backend answered, or why the local answer stood)."""
        backends = {feature: self.backend(settings, feature)[0] for feature in settings.escalate}
        return {"backends": backends, "counts": self.counts, "last": self.last,
                "lastBackend": self.last["backend"] if self.last
                and self.last["outcome"] == "answered" else None}


def path_excluded(path: str, roots: Iterable[Path], patterns: Iterable[str]) -> bool:
    """Whether `path` matches one of `patterns`, gitignore-like: a pattern without a slash
    matches any file or folder name on the path (``*.env``, ``secrets``); one with a slash
    matches from a workspace root (``vendor/**``, ``src/keys/*.py``), or from the file
    system root when it starts at one; ``**`` spans folders; a match on a folder excludes
    everything under it; a trailing slash matches folders only."""
    patterns = [p.strip().replace("\\", "/") for p in patterns if p.strip()]
    if not patterns:
        return False
    full = Path(path)
    candidates = [PurePosixPath(full.as_posix().lstrip("/"))]
    for root in roots:
        try:
            candidates.append(PurePosixPath(full.relative_to(root).as_posix()))
        except ValueError:
            continue
    return any(_matches(str(c), p) for c in candidates for p in patterns)


def _matches(relative: str, pattern: str) -> bool:
    folder_only = pattern.endswith("/")
    pattern = pattern.strip("/")
    if not pattern:
        return False
    parts = relative.split("/")
    names = parts[:-1] if folder_only else parts
    if "/" not in pattern:
        return any(fnmatchcase(name, pattern) for name in names)
    regex = _glob_regex(pattern)
    prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    if folder_only:
        prefixes = prefixes[:-1]
    return any(regex.fullmatch(prefix) for prefix in prefixes)


def _glob_regex(pattern: str) -> re.Pattern[str]:
    out: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out))


def completion_template(info: ModelInfo, local: bool) -> FimTemplate:
    """The FIM template for inline completion on an escalation backend, as the server picks
    one for a route: a local model's from its file; a server's from its settings, else from
    its tokens (none where the server does FIM itself)."""
    if local:
        return template_for_model(info)
    if info.fim_template not in ("none", SERVER_FIM, ""):
        try:
            return template_by_name(info.fim_template)
        except ValueError as exc:
            log.warning("escalation backend %s: %s", info.name, exc)
    return detect_template(info.special_tokens, info.metadata)
