"""Scanning: bring a ``WorkspaceIndex`` in line with the disk, in a worker thread.

Unchanged files come from memory or the persistent cache; the others are parsed, in worker
processes when there are many (cold scan, ``git checkout``). SQLite writes and parsing
happen outside the state lock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

from ghostline.index.build import BuildJob, build_all
from ghostline.index.languages import spec_for_path
from ghostline.index.model import ScanStats
from ghostline.index.store import FileRecord
from ghostline.index.walker import FoundFile
from ghostline.index.workspace_state import IndexState

ProgressCallback = Callable[[int, int], None]
CancelCheck = Callable[[], bool]

#: Rebuilt records are installed in memory this many at a time (queries see them early).
_INSTALL_BATCH = 64
#: Rebuilt records are written to the cache this many at a time while workers parse on.
_SAVE_BATCH = 1000


class ScanningIndex(IndexState):
    """``scan``: parse new and changed files, drop deleted ones."""

    def scan(
        self,
        progress: ProgressCallback | None = None,
        cancelled: CancelCheck | None = None,
    ) -> ScanStats:
        """Bring the index in line with the disk: parse new and changed files, drop deleted.

        Synchronous; run it in a thread. ``progress(done, total)`` is called as files are
        processed; ``cancelled()`` is polled and stops the scan early (what was done stays).
        """
        started = time.perf_counter()
        stats = ScanStats()
        with self._scan_lock:
            walk = self._rules.walk(cancelled)
            stats.skipped = [f"{path}: {why}" for path, why in walk.skipped]
            stats.files_skipped = len(walk.skipped)
            if walk.cancelled:
                stats.cancelled = True
                stats.seconds = time.perf_counter() - started
                return stats
            stored = self._load_cache_once()
            files = walk.files
            stats.files_total = len(files)
            packages = {str(f.path.parent) for f in files if f.path.name == "__init__.py"}
            to_save = self._sync(files, stored, packages, stats, progress, cancelled)
            removed: list[str] = []
            if not stats.cancelled:
                present = {str(f.path) for f in files}
                with self._lock:
                    gone = [k for k in self._records if k not in present]
                    for key in gone:
                        self._remove(key)
                removed = sorted(set(gone) | {k for k in stored if k not in present})
                stats.files_removed = len(removed)
            if self._cache is not None and (to_save or removed):
                self._cache.save(to_save, removed)
            if progress is not None:
                progress(len(files), len(files))
        stats.seconds = time.perf_counter() - started
        return stats

    def _load_cache_once(self) -> dict[str, FileRecord]:
        if self._cache is None or self._cache_loaded:
            return {}
        self._cache_loaded = True
        return self._cache.load()

    def _sync(
        self,
        files: list[FoundFile],
        stored: dict[str, FileRecord],
        packages: set[str] | None,
        stats: ScanStats,
        progress: ProgressCallback | None = None,
        cancelled: CancelCheck | None = None,
    ) -> list[FileRecord]:
        """Install up-to-date records for ``files``: unchanged ones from memory or the
        cache, the others rebuilt (in worker processes when there are many). Returns the
        records the persistent cache must be told about."""
        to_save: list[FileRecord] = []
        batch: list[FileRecord] = []
        jobs: list[BuildJob] = []
        known_by_path: dict[str, FileRecord] = {}
        for found in files:
            key = str(found.path)
            spec = spec_for_path(key)
            if spec is None:
                continue
            with self._lock:
                current = self._records.get(key)
            known = current or stored.get(key)
            hint = self._module_for(found.path, spec, packages)
            fresh = known is not None and known.language == spec.name
            if fresh and known is not None and spec.name == "python":
                fresh = known.module == hint
            if fresh and known is not None:
                if known.size == found.size and known.mtime_ns == found.mtime_ns:
                    stats.files_cached += 1
                    if known is not current:
                        batch.append(known)
                    continue
                known_by_path[key] = known
            jobs.append(
                BuildJob(key, spec.name, found.size, found.mtime_ns, hint,
                         known.digest if fresh and known is not None else None)
            )  # fmt: skip
        self._install(batch)
        batch = []
        total = len(files)
        done = total - len(jobs)
        step = max(1, total // 100)
        if progress is not None:
            progress(done, total)
        built = 0
        for job, result in build_all(jobs, self.max_file_bytes, self.workers, cancelled):
            built += 1
            done += 1
            if result.status == "skipped":
                stats.files_skipped += 1
                stats.skipped.append(f"{job.path}: {result.reason}")
                if self._remove(job.path):
                    stats.files_removed += 1
            elif result.status == "same":
                stats.files_cached += 1
                known = known_by_path[job.path]
                record = replace(known, size=job.size, mtime_ns=job.mtime_ns)
                to_save.append(record)
                batch.append(record)
            elif result.record is not None:
                stats.files_parsed += 1
                self.parse_count += 1
                to_save.append(result.record)
                batch.append(result.record)
            if len(batch) >= _INSTALL_BATCH:
                self._install(batch)
                batch = []
            if len(to_save) >= _SAVE_BATCH and self._cache is not None:
                self._cache.save(to_save)  # while workers parse on; keeps a cancelled scan
                to_save = []
            if progress is not None and done % step == 0:
                progress(done, total)
        self._install(batch)
        if built < len(jobs):
            stats.cancelled = True
        return to_save
