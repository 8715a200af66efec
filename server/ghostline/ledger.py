"""The local usage ledger: what Ghostline did for you, per day, in a SQLite file.

Nothing here leaves the machine. Rows are aggregates per local date, feature, language and
backend (no code, no file names): requests, suggestions shown and accepted, characters
accepted, escalations, fallbacks, tokens and a latency histogram (enough for p50/p90).

Recording never touches the disk: it adds to an in-memory buffer that a background thread
writes every few seconds (and `close` at shutdown). A database that cannot be opened or
written (locked, corrupt, read-only) is reported once in the log and the ledger turns
itself off; the server keeps serving.

The file is ``usage.sqlite`` in Ghostline's cache folder; ``GHOSTLINE_LEDGER`` overrides
the path (``off`` turns the ledger off).
"""

from __future__ import annotations

import atexit
import bisect
import dataclasses
import datetime
import json
import logging
import math
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

ENV_PATH = "GHOSTLINE_LEDGER"
SCHEMA_VERSION = "1"
FLUSH_INTERVAL_S = 5.0
#: Upper edges of the latency histogram's buckets, milliseconds; one more bucket holds
#: everything slower. Percentiles are reported as the upper edge of their bucket.
LATENCY_EDGES_MS: tuple[int, ...] = (
    10, 20, 30, 50, 75, 100, 150, 200, 300, 400, 500, 750, 1000, 1500, 2000, 3000, 4000,
    5000, 7500, 10000, 20000, 30000, 60000,
)
#: The counter columns of the ``usage`` table, in order.
COUNTERS = (
    "requests", "shown", "shown_tracked", "accepted", "accepted_chars", "escalations",
    "fallbacks", "prompt_tokens", "generated_tokens",
)

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS usage (
    day TEXT NOT NULL,
    feature TEXT NOT NULL,
    language TEXT NOT NULL,
    backend TEXT NOT NULL,
    {", ".join(f"{name} INTEGER NOT NULL DEFAULT 0" for name in COUNTERS)},
    latency_ms TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (day, feature, language, backend)
);
CREATE TABLE IF NOT EXISTS sessions (
    day TEXT NOT NULL,
    client TEXT NOT NULL,
    sessions INTEGER NOT NULL DEFAULT 0,
    accept_reported INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, client)
);
"""


def default_path() -> Path | None:
    """Where the ledger lives; None when ``GHOSTLINE_LEDGER=off``."""
    override = os.environ.get(ENV_PATH, "")
    if override.lower() in ("off", "none", "0"):
        return None
    if override:
        return Path(override)
    from ghostline.engine.model_files import cache_dir

    return cache_dir() / "usage.sqlite"


def local_day(timestamp: float | None = None) -> str:
    """The local date of `timestamp` (now), ISO format."""
    return datetime.date.fromtimestamp(time.time() if timestamp is None else timestamp).isoformat()


@dataclass(frozen=True, order=True)
class RowKey:
    day: str
    feature: str
    language: str
    backend: str


@dataclass
class Counters:
    """One row's counters. `shown_tracked`: suggestions shown in client sessions known to run
    the accept command (the denominator of the acceptance rate)."""

    requests: int = 0
    shown: int = 0
    shown_tracked: int = 0
    accepted: int = 0
    accepted_chars: int = 0
    escalations: int = 0
    fallbacks: int = 0
    prompt_tokens: int = 0
    generated_tokens: int = 0
    latency: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_EDGES_MS) + 1))

    def add(self, other: Counters) -> None:
        for name in COUNTERS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.latency = _sum_histograms(self.latency, other.latency)

    def add_latency(self, seconds: float) -> None:
        self.latency[bisect.bisect_left(LATENCY_EDGES_MS, seconds * 1000)] += 1

    def percentile_ms(self, fraction: float) -> int | None:
        """The upper edge of the bucket holding the `fraction` quantile (None: no latency;
        -1: slower than the last edge)."""
        total = sum(self.latency)
        if total == 0:
            return None
        rank = max(1, math.ceil(fraction * total))
        seen = 0
        for index, count in enumerate(self.latency):
            seen += count
            if seen >= rank:
                return LATENCY_EDGES_MS[index] if index < len(LATENCY_EDGES_MS) else -1
        return -1

    def acceptance_rate(self) -> float | None:
        """accepted / shown in sessions that report acceptances; None where unknown."""
        if self.shown_tracked <= 0:
            return None
        return min(1.0, self.accepted / self.shown_tracked)


def _sum_histograms(a: list[int], b: list[int]) -> list[int]:
    size = max(len(a), len(b), len(LATENCY_EDGES_MS) + 1)
    return [(a[i] if i < len(a) else 0) + (b[i] if i < len(b) else 0) for i in range(size)]


class Ledger:
    """Buffered writer and reader of the usage file (see the module docstring)."""

    def __init__(self, path: Path | None, flush_interval_s: float = FLUSH_INTERVAL_S,
                 clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self.flush_interval_s = flush_interval_s
        self.clock = clock
        #: False once the file failed (or there is none): recording does nothing.
        self.working = path is not None
        self._buffer: dict[RowKey, Counters] = {}
        self._sessions: dict[tuple[str, str], list[int]] = {}
        self._lock = threading.Lock()  # the buffers
        self._write_lock = threading.Lock()  # one writer at a time
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False

    # -- recording (any thread, never blocks on the disk) --------------------------------

    def record(self, feature: str, language: str, backend: str, counters: Counters,
               day: str | None = None) -> None:
        """Add `counters` to today's row of (feature, language, backend)."""
        if not self.working or self._closed:
            return
        key = RowKey(day or local_day(self.clock()), feature, language or "", backend or "")
        with self._lock:
            self._buffer.setdefault(key, Counters()).add(counters)
        self._start()

    def record_escalation(self, feature: str, language: str, backend: str) -> None:
        """One request handed from `backend` to a stronger one (the escalation hook)."""
        self.record(feature, language, backend, Counters(escalations=1))

    def record_session(self, client: str, accept_reported: bool) -> None:
        """A client session started; whether it said it runs the items' accept command."""
        if not self.working or self._closed:
            return
        with self._lock:
            counts = self._sessions.setdefault((local_day(self.clock()), client or "unknown"),
                                               [0, 0])
            counts[0] += 1
            counts[1] += int(accept_reported)
        self._start()

    # -- writing -------------------------------------------------------------------------

    def _start(self) -> None:
        if self._thread is not None or self.flush_interval_s <= 0:
            return
        with self._lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._run, name="ghostline-ledger",
                                            daemon=True)
            self._thread.start()
        _at_exit(self)

    def _run(self) -> None:
        while not self._closed:
            self._wake.wait(self.flush_interval_s)
            self._wake.clear()
            self.flush()

    def flush(self) -> bool:
        """Write the buffer; False (and the ledger off) when the file fails."""
        with self._lock:
            rows, self._buffer = self._buffer, {}
            sessions, self._sessions = self._sessions, {}
        if not rows and not sessions:
            return self.working
        if not self.working or self.path is None:
            return False
        with self._write_lock:
            try:
                with self._connect() as db:
                    for key, counters in rows.items():
                        _merge_row(db, key, counters)
                    for (day, client), (count, reported) in sessions.items():
                        db.execute(
                            "INSERT INTO sessions (day, client, sessions, accept_reported) "
                            "VALUES (?, ?, ?, ?) ON CONFLICT (day, client) DO UPDATE SET "
                            "sessions = sessions + excluded.sessions, "
                            "accept_reported = accept_reported + excluded.accept_reported",
                            (day, client, count, reported))
            except (sqlite3.Error, OSError) as exc:
                self._fail(exc)
                return False
        return True

    def _fail(self, exc: BaseException) -> None:
        if self.working:
            log.warning("usage ledger %s: %s; the ledger is off until the server restarts",
                        self.path, exc)
        self.working = False
        with self._lock:
            self._buffer.clear()
            self._sessions.clear()

    def _connect(self) -> _Transaction:
        assert self.path is not None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=2.0, isolation_level=None)
        try:
            db.executescript(SCHEMA)
            db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', ?)",
                       (SCHEMA_VERSION,))
            db.execute("BEGIN IMMEDIATE")
        except BaseException:
            db.close()
            raise
        return _Transaction(db)

    def close(self) -> None:
        """Write what is buffered and stop the background thread."""
        if self._closed:
            return
        self._closed = True
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)
        self.flush()

    # -- reading (the CLI, the status command) --------------------------------------------

    def rows(self, days: int | None = None) -> dict[RowKey, Counters]:
        """Rows of the last `days` local dates (all: None), the buffer included."""
        since = (local_day(self.clock() - (days - 1) * 86400) if days is not None and days > 0
                 else "")
        merged: dict[RowKey, Counters] = {}
        for key, counters in self._stored_rows(since):
            merged.setdefault(key, Counters()).add(counters)
        with self._lock:
            pending = [(k, dataclasses.replace(c, latency=list(c.latency)))
                       for k, c in self._buffer.items() if k.day >= since]
        for key, counters in pending:
            merged.setdefault(key, Counters()).add(counters)
        return dict(sorted(merged.items()))

    def sessions(self, days: int | None = None) -> dict[tuple[str, str], tuple[int, int]]:
        """(day, client) -> (sessions, sessions that reported running accept commands)."""
        since = (local_day(self.clock() - (days - 1) * 86400) if days is not None and days > 0
                 else "")
        out: dict[tuple[str, str], tuple[int, int]] = {}
        for day, client, count, reported in self._query(
                "SELECT day, client, sessions, accept_reported FROM sessions WHERE day >= ?",
                (since,)):
            out[(day, client)] = (int(count), int(reported))
        with self._lock:
            for (day, client), (count, reported) in self._sessions.items():
                if day >= since:
                    before = out.get((day, client), (0, 0))
                    out[(day, client)] = (before[0] + count, before[1] + reported)
        return out

    def today(self, feature: str | None = None) -> Counters:
        """Today's totals over every language and backend (and feature, without one)."""
        total = Counters()
        for key, counters in self.rows(days=1).items():
            if feature is None or key.feature == feature:
                total.add(counters)
        return total

    def _stored_rows(self, since: str) -> Iterable[tuple[RowKey, Counters]]:
        columns = ", ".join(COUNTERS)
        for row in self._query(
                f"SELECT day, feature, language, backend, {columns}, latency_ms FROM usage "
                "WHERE day >= ?", (since,)):
            key = RowKey(*row[:4])
            counters = Counters(latency=_sum_histograms([], _histogram(row[-1])))
            for name, value in zip(COUNTERS, row[4:-1], strict=True):
                setattr(counters, name, int(value))
            yield key, counters

    def _query(self, sql: str, args: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        """Rows of a read; none where the file is missing or unreadable (logged once)."""
        if self.path is None or not self.working or not self.path.exists():
            return []
        try:
            db = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True, timeout=0.5)
            try:
                return list(db.execute(sql, args))
            finally:
                db.close()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return []
            self._fail(exc)
            return []
        except sqlite3.Error as exc:
            self._fail(exc)
            return []

    def reset(self) -> dict[str, int]:
        """Delete every row (the buffer too); returns how many of each were removed."""
        with self._lock:
            buffered = len(self._buffer)
            self._buffer.clear()
            self._sessions.clear()
        removed = {"usage": 0, "sessions": 0, "buffered": buffered}
        if self.path is None or not self.path.exists():
            return removed
        with self._write_lock, self._connect() as db:
            for table in ("usage", "sessions"):
                removed[table] = db.execute(f"DELETE FROM {table}").rowcount
        return removed


class _Transaction:
    """A connection in BEGIN IMMEDIATE: commit on success, roll back on error, close."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        return self.db

    def __exit__(self, kind: object, exc: object, tb: object) -> None:
        try:
            self.db.execute("ROLLBACK" if exc is not None else "COMMIT")
        finally:
            self.db.close()


def _histogram(text: str) -> list[int]:
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return []
    return [int(v) for v in value] if isinstance(value, list) else []


def _merge_row(db: sqlite3.Connection, key: RowKey, counters: Counters) -> None:
    row = db.execute("SELECT latency_ms FROM usage WHERE day = ? AND feature = ? AND "
                     "language = ? AND backend = ?",
                     (key.day, key.feature, key.language, key.backend)).fetchone()
    latency = _sum_histograms(_histogram(row[0]) if row else [], counters.latency)
    values = [getattr(counters, name) for name in COUNTERS]
    if row is None:
        db.execute(f"INSERT INTO usage (day, feature, language, backend, {', '.join(COUNTERS)}, "
                   f"latency_ms) VALUES (?, ?, ?, ?, {', '.join('?' * len(COUNTERS))}, ?)",
                   (key.day, key.feature, key.language, key.backend, *values, json.dumps(latency)))
        return
    updates = ", ".join(f"{name} = {name} + ?" for name in COUNTERS)
    db.execute(f"UPDATE usage SET {updates}, latency_ms = ? WHERE day = ? AND feature = ? AND "
               "language = ? AND backend = ?",
               (*values, json.dumps(latency), key.day, key.feature, key.language, key.backend))


_OPEN: weakref.WeakSet[Ledger] = weakref.WeakSet()
_HOOKED = False


def _at_exit(ledger: Ledger) -> None:
    """Flush every started ledger when the process exits (the server may end without a
    `shutdown`: the editor crashed or closed the pipe)."""
    global _HOOKED
    _OPEN.add(ledger)
    if not _HOOKED:
        _HOOKED = True
        atexit.register(_close_all)


def _close_all() -> None:
    for ledger in list(_OPEN):
        ledger.close()
