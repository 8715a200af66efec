"""Generated summaries, in memory and in a small SQLite file, keyed by definition text.

The key is a hash of the definition's exact text, the model and the prompt version, so an
edited function is explained again and an unchanged one never is, across restarts. The
file is ``docstrings.sqlite`` in Ghostline's cache folder (``GHOSTLINE_DOCSTRING_CACHE``
overrides the path; ``off`` keeps the cache in memory only). The index's own cache is not
touched: this table has a different life (model-dependent, never invalidated by a scan).
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import threading
import time
from pathlib import Path

log = logging.getLogger(__name__)

#: Bump when prompts or post-processing change what a summary looks like.
PROMPT_VERSION = "1"
ENV_PATH = "GHOSTLINE_DOCSTRING_CACHE"
MEMORY_LIMIT = 4096


def default_path() -> Path | None:
    """Where the SQLite file lives; None when persistence is turned off."""
    override = os.environ.get(ENV_PATH, "")
    if override.lower() in ("off", "none", ":memory:"):
        return None
    if override:
        return Path(override)
    from ghostline.engine.model_files import cache_dir

    return cache_dir() / "docstrings.sqlite"


def summary_key(definition_text: str, model: str) -> str:
    """The cache key of one definition's summary with one model."""
    digest = hashlib.sha256()
    for part in (PROMPT_VERSION, model, definition_text):
        digest.update(part.encode("utf-8", errors="replace"))
        digest.update(b"\0")
    return digest.hexdigest()


class SummaryCache:
    """A dictionary in front of a SQLite table ``summaries(key, model, value, created)``.

    Failures to open or write the file are logged and the cache goes on in memory only.
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._memory: dict[str, str] = {}
        self._db: sqlite3.Connection | None = None
        self._opened = False
        self._lock = threading.Lock()

    def _connect(self) -> sqlite3.Connection | None:
        if self._opened:
            return self._db
        self._opened = True
        if self.path is None:
            return None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(str(self.path), timeout=2.0, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(
                "CREATE TABLE IF NOT EXISTS summaries (key TEXT PRIMARY KEY, model TEXT NOT NULL,"
                " value TEXT NOT NULL, created REAL NOT NULL)"
            )
            db.commit()
            self._db = db
        except (sqlite3.Error, OSError) as exc:
            log.warning("docstring cache %s unavailable (%s); keeping it in memory", self.path,
                        exc)
            self._db = None
        return self._db

    def get(self, key: str) -> str | None:
        """The stored value, from memory or the file; None if unknown."""
        with self._lock:
            value = self._memory.get(key)
            if value is not None:
                return value
            db = self._connect()
            if db is None:
                return None
            try:
                row = db.execute("SELECT value FROM summaries WHERE key = ?", (key,)).fetchone()
            except sqlite3.Error as exc:
                log.warning("docstring cache read failed: %s", exc)
                return None
            if row is None:
                return None
            self._remember(key, str(row[0]))
            return str(row[0])

    def put(self, key: str, model: str, value: str) -> None:
        with self._lock:
            self._remember(key, value)
            db = self._connect()
            if db is None:
                return
            try:
                db.execute(
                    "INSERT OR REPLACE INTO summaries (key, model, value, created)"
                    " VALUES (?, ?, ?, ?)", (key, model, value, time.time()),
                )
                db.commit()
            except sqlite3.Error as exc:
                log.warning("docstring cache write failed: %s", exc)

    def _remember(self, key: str, value: str) -> None:
        if len(self._memory) >= MEMORY_LIMIT:
            self._memory.pop(next(iter(self._memory)))
        self._memory[key] = value

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
            self._db = None
