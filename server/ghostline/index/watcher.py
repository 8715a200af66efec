"""Disk changes under the workspace, gathered into debounced batches.

watchdog reports every file event; a ``git checkout`` of a thousand files is a storm of
them. Events are collected until the disk has been quiet for ``quiet_s`` (or ``max_delay_s``
has passed since the first one) and then handed over as one batch of paths.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from ghostline.index.walker import SKIP_DIRS

log = logging.getLogger(__name__)

BatchCallback = Callable[[list[Path]], None]


class _Collector(FileSystemEventHandler):
    def __init__(self, sink: Callable[[Iterable[str]], None]) -> None:
        self._sink = sink

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed", "closed_no_write"):
            return
        if event.is_directory and event.event_type == "modified":
            return  # a folder's mtime changed: its files report themselves
        paths = [event.src_path]
        dest = getattr(event, "dest_path", "")
        if dest:
            paths.append(dest)
        self._sink(os.fsdecode(p) for p in paths)


def _noise(path: str) -> bool:
    return any(part in SKIP_DIRS for part in Path(path).parts)


class DebouncedWatcher:
    """Watches ``roots`` recursively and calls ``on_batch`` from its own thread."""

    def __init__(
        self,
        roots: Iterable[Path],
        on_batch: BatchCallback,
        *,
        quiet_s: float = 0.2,
        max_delay_s: float = 2.0,
        on_started: Callable[[], None] | None = None,
    ) -> None:
        """`on_started` runs in the watcher's thread once the watches are in place, before
        any batch: changes made before that moment reached no watch, so it is the place to
        compare with the disk once more."""
        self._roots = [Path(r) for r in roots]
        self._on_batch = on_batch
        self._on_started = on_started
        #: Set once `on_started` has run (at once when there is none).
        self.ready = threading.Event()
        self._quiet_s = quiet_s
        self._max_delay_s = max_delay_s
        self._pending: set[str] = set()
        self._first_at = 0.0
        self._last_at = 0.0
        self._cond = threading.Condition()
        self._stopping = False
        self._observer: Observer | None = None  # type: ignore[valid-type]
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._observer is not None:
            return
        self._stopping = False
        observer = Observer()
        handler = _Collector(self._add)
        for root in self._roots:
            if root.is_dir():
                observer.schedule(handler, str(root), recursive=True)
        observer.daemon = True
        observer.start()
        self._observer = observer
        self._thread = threading.Thread(target=self._run, name="ghostline-index-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        observer, self._observer = self._observer, None
        if observer is not None:
            observer.stop()
            observer.join(timeout=5)
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _add(self, paths: Iterable[str]) -> None:
        fresh = [p for p in paths if not _noise(p)]
        if not fresh:
            return
        now = time.monotonic()
        with self._cond:
            if not self._pending:
                self._first_at = now
            self._pending.update(fresh)
            self._last_at = now
            self._cond.notify_all()

    def _run(self) -> None:
        if self._on_started is not None:
            try:
                self._on_started()
            except Exception:
                log.exception("catching up with the disk failed")
        self.ready.set()
        while True:
            with self._cond:
                while not self._pending and not self._stopping:
                    self._cond.wait()
                if self._stopping:
                    return
                while not self._stopping:
                    now = time.monotonic()
                    due = min(self._last_at + self._quiet_s, self._first_at + self._max_delay_s)
                    if now >= due:
                        break
                    self._cond.wait(due - now)
                if self._stopping:
                    return
                batch, self._pending = sorted(self._pending), set()
            try:
                self._on_batch([Path(p) for p in batch])
            except Exception:
                log.exception("index update from disk events failed")
