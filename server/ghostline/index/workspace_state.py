"""The in-memory state of ``WorkspaceIndex`` and the bookkeeping every other part shares.

One re-entrant lock guards the dictionaries and is held only for dictionary work. Per file
only its stat, names, words and facts as compact JSON are kept; decoded ``Definition``
objects live in a small LRU, parse trees only for open documents (plus a few recently asked
for). The methods here are called with ``self._lock`` held, or take it themselves.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from pathlib import Path

import tree_sitter

from ghostline.index.build import BuildJob, build, default_workers
from ghostline.index.codec import decode_definitions, decode_imports
from ghostline.index.documents import OpenDocument
from ghostline.index.languages import LanguageSpec
from ghostline.index.model import Definition, Import
from ghostline.index.resolve import Resolver, python_module
from ghostline.index.store import FileRecord, IndexCache
from ghostline.index.walker import IgnoreRules
from ghostline.index.watcher import DebouncedWatcher

log = logging.getLogger(__name__)

#: Decoded definitions kept for files that are not open.
_FACTS_LRU = 512


def path_key(path: str | Path) -> str:
    """The key of a file in the index: its absolute path."""
    return os.path.abspath(path)


class IndexState:
    """The dictionaries of a workspace index and the methods that keep them consistent."""

    def __init__(
        self,
        roots: list[Path],
        *,
        cache_dir: Path | None = None,
        max_file_bytes: int = 1_000_000,
        use_cache: bool = True,
        workers: int | None = None,
    ) -> None:
        self.roots = [Path(path_key(r)) for r in roots]
        self.max_file_bytes = max_file_bytes
        self.workers = default_workers() if workers is None else workers
        self._rules = IgnoreRules(self.roots, max_file_bytes)
        self._cache = IndexCache(self.roots, cache_dir) if use_cache else None
        self._cache_loaded = False
        self._lock = threading.RLock()
        self._scan_lock = threading.Lock()
        self._records: dict[str, FileRecord] = {}
        self._docs: dict[str, OpenDocument] = {}
        #: Recently closed documents, kept so that reopening one parses incrementally.
        self._closed_docs: OrderedDict[str, OpenDocument] = OrderedDict()
        self._defs_lru: OrderedDict[str, list[Definition]] = OrderedDict()
        self._imports: dict[str, list[Import]] = {}
        self._trees: OrderedDict[str, tuple[int, tree_sitter.Tree, bytes]] = OrderedDict()
        self._names: dict[str, list[str]] = {}  # definition name -> files, kept current
        self._resolver: Resolver | None = None
        self._importers: tuple[dict[str, set[str]], dict[str, set[str]]] | None = None
        #: Counts changes of indexed files and of the set of open documents (not typing in
        #: an open document), so callers can keep query results until it moves.
        self.generation = 0
        #: Open documents changed since `_importers` was last checked, with their imports
        #: before the first of those changes (None: not known). Checked when next needed,
        #: so typing does not extract facts on every keystroke.
        self._imports_before_change: dict[str, list[Import] | None] = {}
        self._basenames: dict[str, list[Path]] | None = None
        self._watcher: DebouncedWatcher | None = None
        self.parse_count = 0
        """Files parsed from disk since this index was created (open documents excluded)."""

    def _module_for(self, path: Path, spec: LanguageSpec, packages: set[str] | None) -> str:
        if spec.name == "python":
            return python_module(path, packages)
        return ""

    def _install(self, batch: list[FileRecord]) -> None:
        if not batch:
            return
        with self._lock:
            for record in batch:
                key = record.path
                old = self._records.get(key)
                self._records[key] = record
                if old is None or old.digest != record.digest or old.module != record.module:
                    self._defs_lru.pop(key, None)
                    self._imports.pop(key, None)
                    self._trees.pop(key, None)
                    self._unindex_names(key, old)
                    self._index_names(key, record)
                    self._importers = None
                    self.generation += 1
                if old is None:
                    self._file_set_changed()

    def _remove(self, key: str) -> bool:
        with self._lock:
            old = self._records.pop(key, None)
            if old is None:
                return False
            self._defs_lru.pop(key, None)
            self._imports.pop(key, None)
            self._trees.pop(key, None)
            self._unindex_names(key, old)
            self._file_set_changed()
            self.generation += 1
            return True

    def _file_set_changed(self) -> None:
        self._resolver = None
        self._importers = None
        self._basenames = None

    def _index_names(self, key: str, record: FileRecord) -> None:
        for name in record.names.split("\n"):
            if name:
                self._names.setdefault(name, []).append(key)

    def _unindex_names(self, key: str, record: FileRecord | None) -> None:
        if record is None:
            return
        for name in record.names.split("\n"):
            keys = self._names.get(name)
            if keys and key in keys:
                keys.remove(key)
                if not keys:
                    del self._names[name]

    def _remember_defs(self, key: str, definitions: list[Definition]) -> None:
        self._defs_lru[key] = definitions
        self._defs_lru.move_to_end(key)
        while len(self._defs_lru) > _FACTS_LRU:
            self._defs_lru.popitem(last=False)

    def _definitions_of(self, key: str) -> list[Definition]:
        doc = self._docs.get(key)
        if doc is not None:
            return doc.facts.definitions
        cached = self._defs_lru.get(key)
        if cached is not None:
            self._defs_lru.move_to_end(key)
            return cached
        record = self._records.get(key)
        if record is None:
            return []
        try:
            definitions = decode_definitions(
                record.defs_json, Path(key), record.module, record.language
            )
        except (ValueError, TypeError):
            record = self._rebuild_damaged(record)
            if record is None:
                return []
            definitions = decode_definitions(
                record.defs_json, Path(key), record.module, record.language
            )
        self._remember_defs(key, definitions)
        return definitions

    def _raw_imports_of(self, key: str) -> list[Import]:
        doc = self._docs.get(key)
        if doc is not None:
            return doc.facts.imports
        cached = self._imports.get(key)
        if cached is None:
            record = self._records.get(key)
            if record is None:
                return []
            try:
                cached = decode_imports(record.imports_json, Path(key))
            except (ValueError, TypeError):
                record = self._rebuild_damaged(record)
                if record is None:
                    return []
                cached = decode_imports(record.imports_json, Path(key))
            self._imports[key] = cached
        return cached

    def _rebuild_damaged(self, record: FileRecord) -> FileRecord | None:
        """A cached record whose facts do not decode: parse the file again, replace it."""
        log.warning("index cache entry for %s is damaged; re-parsing it", record.path)
        job = BuildJob(
            record.path,
            record.language,
            record.size,
            record.mtime_ns,
            record.module if record.language == "python" else "",
        )
        result = build(job, self.max_file_bytes)
        if result.record is None:
            self._remove(record.path)
            if self._cache is not None:
                self._cache.save([], [record.path])
            return None
        self.parse_count += 1
        self._install([result.record])
        if self._cache is not None:
            self._cache.save([result.record])
        return result.record

    def _language_of(self, key: str) -> str:
        doc = self._docs.get(key)
        if doc is not None:
            return doc.spec.name
        record = self._records.get(key)
        return record.language if record is not None else ""

    def _resolver_now(self) -> Resolver:
        if self._resolver is None:
            files = [(k, r.language, r.module) for k, r in self._records.items()]
            files.extend(
                (k, d.spec.name, d.facts.package or d.module)
                for k, d in self._docs.items()
                if k not in self._records
            )
            self._resolver = Resolver(files)
        return self._resolver
