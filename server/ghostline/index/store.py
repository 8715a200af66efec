"""The persistent cache: one SQLite file per workspace in the user's cache folder.

Each row holds one file's stat (size, mtime), content hash and extracted facts, so a
restart re-parses only the files that changed. The cache is an optimisation and never a
reason to fail: a corrupt file or one written by another version is deleted and rebuilt,
and a failed write (disk full, read-only folder) is logged and the index goes on in memory.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from ghostline.index.languages import LANGUAGES

log = logging.getLogger(__name__)

# Bump when what is stored changes shape; the query files are hashed in automatically.
SCHEMA_VERSION = 1


@dataclass(slots=True)
class FileRecord:
    """One indexed file as stored: stat, hash and the facts serialised as JSON.

    ``names`` lists the file's definition names (space-separated) and ``tokens`` every
    word in the file (`` a b c ``), so name lookups and usage searches need not decode the
    facts of every file.
    """

    path: str
    language: str
    size: int
    mtime_ns: int
    digest: str
    module: str
    names: str
    tokens: str
    defs_json: str
    imports_json: str

    def as_row(self) -> tuple[str, str, int, int, str, str, str, str, str, str]:
        return (
            self.path,
            self.language,
            self.size,
            self.mtime_ns,
            self.digest,
            self.module,
            self.names,
            self.tokens,
            self.defs_json,
            self.imports_json,
        )


def content_digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def cache_version() -> str:
    """Schema version plus a hash of every query file: a query change invalidates the cache."""
    digest = hashlib.blake2b(digest_size=8)
    for spec in LANGUAGES:
        digest.update(spec.name.encode())
        digest.update(spec.query_source.encode())
    return f"{SCHEMA_VERSION}:{digest.hexdigest()}"


def default_cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir("ghostline")) / "index"


def cache_file_for(roots: Iterable[Path], cache_dir: Path | None = None) -> Path:
    """``<cache dir>/<hash of the workspace roots>.sqlite``."""
    key = "\n".join(sorted(os.path.abspath(r) for r in roots))
    name = hashlib.sha256(key.encode()).hexdigest()[:24] + ".sqlite"
    return (cache_dir if cache_dir is not None else default_cache_dir()) / name


_COLUMNS = "path, language, size, mtime_ns, digest, module, names, tokens, defs, imports"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY, language TEXT NOT NULL, size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL, digest TEXT NOT NULL, module TEXT NOT NULL,
    names TEXT NOT NULL, tokens TEXT NOT NULL, defs TEXT NOT NULL, imports TEXT NOT NULL
);
"""  # columns listed in _COLUMNS


class IndexCache:
    """SQLite-backed store of ``FileRecord`` rows; every method is safe to call from threads.

    After any failure ``enabled`` turns False and every later call does nothing.
    """

    def __init__(self, roots: Iterable[Path], cache_dir: Path | None = None) -> None:
        self.path = cache_file_for(roots, cache_dir)
        self.enabled = True
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None

    # --- opening --------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection | None:
        if self._conn is not None or not self.enabled:
            return self._conn
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = self._open_checked()
        except (sqlite3.Error, OSError, ValueError) as exc:  # garbage text: UnicodeDecodeError
            log.warning("index cache %s unusable (%s); rebuilding it", self.path, exc)
            self._discard_file()
            try:
                self._conn = self._open_checked()
            except (sqlite3.Error, OSError, ValueError) as again:
                log.warning("index cache disabled, indexing in memory only: %s", again)
                self.enabled = False
                self._conn = None
        return self._conn

    def _open_checked(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            # Damage that reads do not meet (an index page) would otherwise stay forever.
            check = conn.execute("PRAGMA quick_check(1)").fetchone()
            if check is None or check[0] != "ok":
                raise sqlite3.DatabaseError(f"failed its check: {check}")
            conn.executescript(_SCHEMA)
            row = conn.execute("SELECT value FROM meta WHERE key='version'").fetchone()
            version = cache_version()
            if row is None or row[0] != version:
                if row is not None:
                    log.info("index cache written by version %s, rebuilding", row[0])
                conn.execute("BEGIN")
                conn.execute("DELETE FROM files")
                conn.execute("INSERT OR REPLACE INTO meta VALUES ('version', ?)", (version,))
                conn.execute("COMMIT")
        except BaseException:
            conn.close()
            raise
        return conn

    def _discard_file(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
            self._conn = None
        for suffix in ("", "-wal", "-shm", "-journal"):
            try:
                os.unlink(f"{self.path}{suffix}")
            except FileNotFoundError:
                pass
            except OSError as exc:
                log.warning("cannot delete index cache %s%s: %s", self.path, suffix, exc)

    # --- reading and writing --------------------------------------------------------------

    def load(self) -> dict[str, FileRecord]:
        """Every stored record by path; empty (and the file rebuilt) if it cannot be read."""
        with self._lock:
            for attempt in (1, 2):
                conn = self._connect()
                if conn is None:
                    return {}
                try:
                    rows = conn.execute(f"SELECT {_COLUMNS} FROM files").fetchall()
                    return {row[0]: FileRecord(*row) for row in rows if _well_formed(row)}
                except (sqlite3.Error, TypeError, ValueError) as exc:
                    log.warning("index cache %s corrupt (%s); rebuilding it", self.path, exc)
                    self._discard_file()
                    if attempt == 2:
                        self.enabled = False
            return {}

    def save(self, records: Iterable[FileRecord], removed: Iterable[str] = ()) -> bool:
        """Write ``records`` and delete ``removed`` paths in one transaction."""
        with self._lock:
            conn = self._connect()
            if conn is None:
                return False
            try:
                conn.execute("BEGIN")
                conn.executemany("DELETE FROM files WHERE path = ?", ((p,) for p in removed))
                conn.executemany(
                    f"INSERT OR REPLACE INTO files ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (r.as_row() for r in records),
                )
                conn.execute("COMMIT")
                return True
            except (sqlite3.Error, ValueError) as exc:
                log.warning("index cache write failed, going on in memory only: %s", exc)
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                self.enabled = False
                conn.close()
                self._conn = None
                if _damaged(exc):  # readable but broken: rebuilt on the next start
                    self._discard_file()
                return False

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.close()
                self._conn = None


def _damaged(exc: Exception) -> bool:
    """The error says the file is corrupt (not full, not read-only)."""
    return getattr(exc, "sqlite_errorname", "") in ("SQLITE_CORRUPT", "SQLITE_NOTADB")


def _well_formed(row: tuple[object, ...]) -> bool:
    """Columns of the expected types (a damaged row is dropped and its file re-parsed)."""
    return (
        len(row) == 10
        and isinstance(row[2], int)
        and isinstance(row[3], int)
        and all(isinstance(row[i], str) for i in (0, 1, 4, 5, 6, 7, 8, 9))
    )
