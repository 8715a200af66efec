"""Disk changes: re-read changed paths, and follow the disk with a watcher.

``files_changed`` serves ``workspace/didChangeWatchedFiles`` and the watcher's batches.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

from ghostline.index.model import ScanStats
from ghostline.index.walker import FoundFile
from ghostline.index.watcher import DebouncedWatcher
from ghostline.index.workspace_queries import QueryingIndex
from ghostline.index.workspace_scan import ScanningIndex
from ghostline.index.workspace_state import path_key

ChangeCallback = Callable[[list[Path]], None]

#: A watched batch at least this big is followed by a full scan (see `start_watching`).
RESCAN_BATCH = 1000


class DiskFollowingIndex(ScanningIndex, QueryingIndex):
    """Keeps the index in line with files changed on disk."""

    def files_changed(self, paths: Iterable[Path]) -> list[Path]:
        """Re-read these paths (created, modified, deleted or moved files or folders).

        For ``workspace/didChangeWatchedFiles`` and the watcher. Returns the files whose
        index entry changed.
        """
        self._rules.forget()
        keys = sorted({path_key(p) for p in paths})
        if any(Path(k).name == ".gitignore" for k in keys):
            before = set(self.all_files())
            self.scan()
            return sorted(
                before.symmetric_difference(self.all_files())
                | {Path(k) for k in keys if Path(k).name != ".gitignore"}
            )
        stats = ScanStats()
        found: list[FoundFile] = []
        removed: list[str] = []
        vanished: list[str] = []
        for key in keys:
            path = Path(key)
            if os.path.isdir(key) and not os.path.islink(key):
                found.extend(self._rules.walk_folder(path).files)
                continue
            try:
                stat = os.stat(key, follow_symlinks=False)
                exists = True
            except OSError:
                exists = False
            if exists and self._rules.is_indexable(path) and stat.st_size <= self.max_file_bytes:
                found.append(FoundFile(path, stat.st_size, stat.st_mtime_ns))
            elif exists:
                if self._remove(key):
                    removed.append(key)
            elif self._remove(key):
                removed.append(key)
            else:
                vanished.append(key)
        if vanished:  # maybe folders that were deleted or moved away
            prefixes = tuple(k + os.sep for k in vanished)
            with self._lock:
                inside = [k for k in self._records if k.startswith(prefixes)]
                for key in inside:
                    self._remove(key)
            removed.extend(inside)
        with self._lock:
            previous = {str(f.path): self._records.get(str(f.path)) for f in found}
        to_save = self._sync(found, {}, None, stats)
        changed = {Path(k) for k in removed}
        with self._lock:
            for key, old in previous.items():
                new = self._records.get(key)
                if (old is None) != (new is None) or (
                    old is not None and new is not None and old.digest != new.digest
                ):
                    changed.add(Path(key))
                if old is not None and new is None:
                    removed.append(key)
        if self._cache is not None and (to_save or removed):
            self._cache.save(to_save, removed)
        return sorted(changed)

    def start_watching(
        self, on_change: ChangeCallback | None = None, *, quiet_s: float = 0.2
    ) -> None:
        """Follow disk changes with watchdog; ``on_change(paths)`` (from the watcher's
        thread) after each batch. A batch closes once the disk was quiet for ``quiet_s``."""
        if self._watcher is not None:
            return

        def apply(batch: list[Path]) -> None:
            changed = self.files_changed(batch)
            if len(batch) >= RESCAN_BATCH:
                # A burst this big (a checkout) can overflow the kernel's inotify queue,
                # and watchdog then re-arms its watches without reporting what was lost:
                # compare with the disk (unchanged files cost a stat each).
                self.scan()
            if changed and on_change is not None:
                on_change(changed)

        def catch_up() -> None:
            # Whatever changed between the scan and the watches (a checkout right after
            # start-up) was reported to nobody: compare with the disk once more.
            self.scan()

        self._watcher = DebouncedWatcher(self.roots, apply, quiet_s=quiet_s,
                                         on_started=catch_up)
        self._watcher.start()

    def wait_watching(self, timeout: float | None = None) -> bool:
        """Wait until the watches are in place and the disk was compared once more."""
        watcher = self._watcher
        return watcher is not None and watcher.ready.wait(timeout)

    def stop_watching(self) -> None:
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.stop()

    def close(self) -> None:
        """Stop watching and close the cache file."""
        self.stop_watching()
        if self._cache is not None:
            self._cache.close()
