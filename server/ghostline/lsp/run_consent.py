"""Whether "Generate tests" may run the generated tests: the user's consent per workspace.

Running the tests runs the project's code on this machine, so with ``runGeneratedTests``
set to "ask" (the default) the server asks once per workspace root with
``window/showMessageRequest`` and remembers the answer in ``run-tests-consent.json`` in the
server's cache folder (beside the model speeds and the index cache). "always" and "never"
override a remembered answer; deleting the file forgets every answer.

The question goes out when a generation starts and is awaited before the model writes
(the feature decides whether to run from a plain flag it reads once, with no point to
wait at later); it overlaps loading the model. A question that gets no answer (dismissed,
an error, a client without the request, :data:`ASK_TIMEOUT_S`) is not remembered: the
tests are not run this time and the next generation asks again. Concurrent generations in
one workspace share one question.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import tempfile
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from lsprotocol import types

from ghostline.engine.model_files import cache_dir

log = logging.getLogger(__name__)

#: How long a question waits for the user before the tests are not run this time.
ASK_TIMEOUT_S = 120.0
RUN = "Run tests in this workspace"
DONT_RUN = "Don't run"
NEVER_REASON = 'runGeneratedTests is "never"'
REFUSED_REASON = ("you chose not to run tests in this workspace; change it with the "
                  "runGeneratedTests setting")
UNANSWERED_REASON = "the question about running them was not answered; it is asked again next time"

#: Sends the question, returns the action the user picked (None: no answer).
Ask = Callable[[types.ShowMessageRequestParams], Awaitable[types.MessageActionItem | None]]


def consent_file() -> Path:
    return cache_dir() / "run-tests-consent.json"


def question(name: str) -> str:
    return ("Ghostline can run the generated tests before applying them, to keep only the "
            "ones that pass. This runs the project's code on this machine (a subprocess with "
            f"a time limit). Run generated tests in {name}?")


@dataclass(frozen=True)
class Decision:
    """Whether to run the generated tests; ``reason`` says why not ("" when they run)."""

    run: bool
    reason: str = ""


class ConsentStore:
    """The remembered answers, ``{"workspaces": {root: true|false}}``. A file that cannot
    be read as that is treated as empty (with a warning) and replaced on the next answer."""

    def __init__(self, path: Path | None = None) -> None:
        self._path = path

    @property
    def path(self) -> Path:
        return self._path if self._path is not None else consent_file()

    def get(self, root: Path) -> bool | None:
        return self._load().get(_key(root))

    def remember(self, root: Path, allowed: bool) -> None:
        answers = self._load()
        answers[_key(root)] = allowed
        path = self.path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    json.dump({"workspaces": answers}, handle, indent=1, sort_keys=True)
                os.replace(temp, path)
            except BaseException:
                Path(temp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            log.warning("could not remember the answer about running tests in %s: %s",
                        path, exc)

    def _load(self) -> dict[str, bool]:
        path = self.path
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except OSError as exc:
            log.warning("could not read %s (%s); asking again", path, exc)
            return {}
        try:
            data = json.loads(text)
            answers = data["workspaces"]
            if not isinstance(answers, dict) or not all(
                    isinstance(v, bool) for v in answers.values()):
                raise TypeError
        except (ValueError, TypeError, KeyError):
            log.warning("%s is not a valid answers file; treating it as empty", path)
            return {}
        return {str(k): v for k, v in answers.items()}


def _key(root: Path) -> str:
    return str(root.resolve())


class RunConsent:
    """One server's consent decisions: the store, and the question in flight per root."""

    def __init__(self, store: ConsentStore | None = None,
                 timeout_s: float = ASK_TIMEOUT_S) -> None:
        self.store = store or ConsentStore()
        self.timeout_s = timeout_s
        self._asking: dict[str, asyncio.Task[bool | None]] = {}

    async def decide(self, setting: str, root: Path, ask: Ask) -> Decision:
        """The decision for a generation in workspace ``root`` under ``setting``."""
        if setting == "always":
            return Decision(True)
        if setting != "ask":
            return Decision(False, NEVER_REASON)
        remembered = self.store.get(root)
        if remembered is None:
            key = _key(root)
            task = self._asking.get(key)
            if task is None:
                task = asyncio.ensure_future(self._ask(root, ask))
                self._asking[key] = task
                task.add_done_callback(lambda _: self._asking.pop(key, None))
            # Shielded: a cancelled generation leaves the question to the others.
            remembered = await asyncio.shield(task)
            if remembered is None:
                return Decision(False, UNANSWERED_REASON)
        return Decision(True) if remembered else Decision(False, REFUSED_REASON)

    async def _ask(self, root: Path, ask: Ask) -> bool | None:
        params = types.ShowMessageRequestParams(
            type=types.MessageType.Info, message=question(root.name or str(root)),
            actions=[types.MessageActionItem(title=RUN),
                     types.MessageActionItem(title=DONT_RUN)])
        try:
            picked = await asyncio.wait_for(ask(params), timeout=self.timeout_s)
        except asyncio.TimeoutError:
            log.info("no answer about running tests in %s within %.0f s", root, self.timeout_s)
            return None
        except Exception as exc:  # the client cannot ask (no such request) or failed
            log.info("could not ask about running tests in %s: %s", root, exc)
            return None
        title = getattr(picked, "title", None)
        if title not in (RUN, DONT_RUN):
            return None  # dismissed
        allowed = title == RUN
        self.store.remember(root, allowed)
        log.info("running generated tests in %s: %s (remembered in %s)", root,
                 "allowed" if allowed else "refused", self.store.path)
        return allowed


_by_server: weakref.WeakKeyDictionary[object, RunConsent] = weakref.WeakKeyDictionary()


def consent_for(server: object) -> RunConsent:
    """The server's `RunConsent` (one per server object, made on first use)."""
    consent = _by_server.get(server)
    if consent is None:
        consent = _by_server[server] = RunConsent()
    return consent
