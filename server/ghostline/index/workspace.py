"""``WorkspaceIndex``: the live index of every source file in the workspace.

Made for an asyncio server: ``scan`` and the disk watcher run in worker threads, queries
come from the event loop. One re-entrant lock guards the in-memory state and is held only
for dictionary work; reading files, parsing and SQLite writes happen outside it.

Memory stays small on big workspaces: per file only its stat, names, words and facts as
compact JSON are kept; decoded ``Definition`` objects live in a small LRU, parse trees only
for open documents (plus a few recently asked for).
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path

import tree_sitter

from ghostline.index.build import BuildJob, build, build_all, default_workers
from ghostline.index.codec import (
    decode_definitions,
    decode_imports,
)
from ghostline.index.conventions import find_test_files
from ghostline.index.documents import OpenDocument
from ghostline.index.languages import (
    LanguageSpec,
    spec_by_name,
    spec_for_language_id,
    spec_for_path,
)
from ghostline.index.model import Definition, Import, ScanStats, Usage
from ghostline.index.parser import FileFacts
from ghostline.index.resolve import Resolver, python_module
from ghostline.index.store import FileRecord, IndexCache
from ghostline.index.walker import FoundFile, IgnoreRules
from ghostline.index.watcher import DebouncedWatcher

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int], None]
CancelCheck = Callable[[], bool]
ChangeCallback = Callable[[list[Path]], None]

_FACTS_LRU = 512
#: A watched batch at least this big is followed by a full scan (see `start_watching`).
RESCAN_BATCH = 1000
_TREES_LRU = 8
#: Closed documents kept, so that reopening one parses from its last tree.
_CLOSED_DOCS_KEPT = 8
_INSTALL_BATCH = 64
_SAVE_BATCH = 1000


def _key(path: str | Path) -> str:
    return os.path.abspath(path)


class WorkspaceIndex:
    """Definitions, imports and usages of every source file under ``roots``.

    ``cache_dir`` overrides the persistent cache folder (tests use ``tmp_path``);
    ``use_cache=False`` keeps everything in memory. ``workers``: processes that parse a big
    batch of files (cold scan, ``git checkout``); 1 parses in the calling thread; default
    one per CPU, at most 4.
    """

    def __init__(
        self,
        roots: list[Path],
        *,
        cache_dir: Path | None = None,
        max_file_bytes: int = 1_000_000,
        use_cache: bool = True,
        workers: int | None = None,
    ) -> None:
        self.roots = [Path(_key(r)) for r in roots]
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

    # --- scanning ---------------------------------------------------------------------------

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

    def _module_for(self, path: Path, spec: LanguageSpec, packages: set[str] | None) -> str:
        if spec.name == "python":
            return python_module(path, packages)
        return ""

    # --- in-memory state (call with self._lock held, or let these take it) ----------------

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

    # --- open documents -----------------------------------------------------------------

    def open_document(self, path: Path, text: str, language_id: str | None = None) -> bool:
        """Index an editor buffer; its text wins over the disk while open. False if the
        language is not supported."""
        key = _key(path)
        spec = (spec_for_language_id(language_id) if language_id else None) or spec_for_path(key)
        if spec is None:
            return False
        module = self._module_for(Path(key), spec, None)
        with self._lock:
            doc = self._closed_docs.pop(key, None)
        if doc is not None and doc.spec == spec:
            # Editors close and reopen buffers (tabs, unloaded buffers): parse from the
            # last tree, like a change, instead of from scratch (~10 ms for 2,600 lines).
            doc.reopen(text, module)
        else:
            doc = OpenDocument.create(Path(key), spec, text, module)
        with self._lock:
            self._docs[key] = doc
            self._trees.pop(key, None)
            self._doc_changed(key)
        return True

    def update_document(self, path: Path, text: str) -> None:
        """New full text of an open document: re-parsed incrementally from the old tree."""
        key = _key(path)
        with self._lock:
            doc = self._docs.get(key)
            if doc is None:
                self.open_document(Path(key), text)
                return
            if key not in self._imports_before_change:
                known = doc.known_facts()
                self._imports_before_change[key] = known.imports if known else None
            doc.update(text)

    def close_document(self, path: Path) -> None:
        """Forget the editor buffer and fall back to (and re-check) the file on disk."""
        key = _key(path)
        with self._lock:
            doc = self._docs.pop(key, None)
            if doc is not None:
                self._doc_changed(key)
                self._closed_docs[key] = doc
                self._closed_docs.move_to_end(key)
                while len(self._closed_docs) > _CLOSED_DOCS_KEPT:
                    self._closed_docs.popitem(last=False)
        if doc is not None and self._rules.root_of(Path(key)) is not None:
            self.files_changed([Path(key)])

    def is_open(self, path: Path) -> bool:
        with self._lock:
            return _key(path) in self._docs

    def _doc_changed(self, key: str) -> None:
        self._importers = None
        self.generation += 1
        if key not in self._records:
            self._file_set_changed()

    # --- disk changes -------------------------------------------------------------------

    def files_changed(self, paths: Iterable[Path]) -> list[Path]:
        """Re-read these paths (created, modified, deleted or moved files or folders).

        For ``workspace/didChangeWatchedFiles`` and the watcher. Returns the files whose
        index entry changed.
        """
        self._rules.forget()
        keys = sorted({_key(p) for p in paths})
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

    def warm_up(self) -> None:
        """Build the lazily made lookup tables (import graph, file names) now, e.g. in the
        scan thread right after ``scan``, so the first query does not pay for them."""
        with self._lock:
            self._importers_index()
            self._basename_index()

    # --- queries ------------------------------------------------------------------------

    def all_files(self) -> list[Path]:
        """Every indexed file, open documents included."""
        with self._lock:
            return sorted(Path(k) for k in self._records.keys() | self._docs.keys())

    def definitions(self, name: str) -> list[Definition]:
        """Every definition called ``name`` (the short name, not qualified)."""
        with self._lock:
            result: list[Definition] = []
            for key in self._names.get(name, ()):
                if key not in self._docs:
                    result.extend(d for d in self._definitions_of(key) if d.name == name)
            for doc in self._docs.values():
                result.extend(d for d in doc.facts.definitions if d.name == name)
            return result

    def definition_by_qualified_name(self, qualified_name: str) -> Definition | None:
        """The definition whose ``qualified_name`` or ``full_name`` (module-prefixed) is it."""
        name = qualified_name.rpartition(".")[2]
        candidates = self.definitions(name)
        for definition in candidates:
            if definition.full_name == qualified_name:
                return definition
        for definition in candidates:
            if definition.qualified_name == qualified_name:
                return definition
        return None

    def symbols(self, path: Path) -> list[Definition]:
        """Definitions of one file, in source order (outer before inner)."""
        with self._lock:
            return list(self._definitions_of(_key(path)))

    def enclosing_definition(self, path: Path, line: int, col: int) -> Definition | None:
        """The innermost definition containing the position (0-based, byte column)."""
        best: Definition | None = None
        for definition in self.symbols(path):
            if definition.span.contains(line, col):
                best = definition
        return best

    def imports(self, path: Path) -> list[Import]:
        """Imports of one file, each with ``resolved`` set where the target was found."""
        key = _key(path)
        with self._lock:
            language = self._language_of(key)
            resolver = self._resolver_now()
            return [
                replace(i, resolved=resolver.resolve(i, language))
                for i in self._raw_imports_of(key)
            ]

    def importers(self, target: str | Path) -> list[Path]:
        """Files importing ``target``: a workspace file (or Go package folder) given as a
        path, or a module name as written in imports (``pkg.util``, ``./x``, ``net/http``)."""
        with self._lock:
            by_path, by_module = self._importers_index()
            key = _key(target) if isinstance(target, Path) else None
            if key is None and isinstance(target, str) and os.path.isabs(target):
                key = _key(target)
            if key is not None:
                hits = by_path.get(key, set())
                if self._language_of(key) == "go":  # Go imports name the package folder
                    hits = hits | by_path.get(str(Path(key).parent), set())
            else:
                hits = by_module.get(str(target), set())
            return sorted(Path(h) for h in hits)

    def _importers_index(self) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
        for key, before in self._imports_before_change.items():
            doc = self._docs.get(key)
            if doc is not None and (before is None or doc.facts.imports != before):
                self._importers = None
        self._imports_before_change.clear()
        if self._importers is None:
            resolver = self._resolver_now()
            by_path: dict[str, set[str]] = defaultdict(set)
            by_module: dict[str, set[str]] = defaultdict(set)
            for key in self._records.keys() | self._docs.keys():
                language = self._language_of(key)
                for imp in self._raw_imports_of(key):
                    by_module[imp.module].add(key)
                    if language == "python" and imp.level == 0:
                        for name in imp.names:  # ``from pkg import util`` imports pkg.util
                            by_module[f"{imp.module}.{name.name}"].add(key)
                    resolved = resolver.resolve(imp, language)
                    if resolved is not None:
                        by_path[str(resolved)].add(key)
                        record = self._records.get(str(resolved))
                        if record is not None and record.module:
                            by_module[record.module].add(key)
            self._importers = (dict(by_path), dict(by_module))
        return self._importers

    def test_files_for(self, path: Path) -> list[Path]:
        """Test files that belong to ``path`` by its language's conventions, nearest first."""
        key = Path(_key(path))
        with self._lock:
            basenames = self._basename_index()
        return find_test_files(
            key, lambda name: basenames.get(name, ()), self.file_text, self._rules.root_of(key)
        )

    def _basename_index(self) -> dict[str, list[Path]]:
        if self._basenames is None:
            names: dict[str, list[Path]] = defaultdict(list)
            for item in self._records.keys() | self._docs.keys():
                names[os.path.basename(item)].append(Path(item))
            self._basenames = dict(names)
        return self._basenames

    def file_text(self, path: Path) -> str | None:
        """The editor's text of an open document, else the file on disk (None if unreadable)."""
        key = _key(path)
        with self._lock:
            doc = self._docs.get(key)
            if doc is not None:
                return doc.text
        try:
            with open(key, "rb") as handle:
                return handle.read().decode("utf-8", errors="replace")
        except OSError:
            return None

    def tree(self, path: Path) -> tree_sitter.Tree | None:
        """The current parse tree: the open document's, else a fresh parse of the disk file."""
        loaded = self._tree_and_source(_key(path))
        return loaded[0] if loaded is not None else None

    def open_tree(self, path: Path, text: str, language: str) -> tree_sitter.Tree | None:
        """The tree of the open document at `path` if it holds exactly `text`, parsed as
        `language` (saves the completer a second full parse per request); else None."""
        with self._lock:
            doc = self._docs.get(_key(path))
            if doc is None or doc.spec.name != language or doc.text != text:
                return None
            return doc.tree.copy()  # the next change edits the document's tree in place

    def _tree_and_source(self, key: str) -> tuple[tree_sitter.Tree, bytes, LanguageSpec] | None:
        with self._lock:
            doc = self._docs.get(key)
            if doc is not None:
                return doc.tree.copy(), doc.source, doc.spec
            record = self._records.get(key)
            cached = self._trees.get(key)
        spec = spec_by_name(record.language) if record is not None else spec_for_path(key)
        if spec is None:
            return None
        try:
            mtime = os.stat(key).st_mtime_ns
            if cached is not None and cached[0] == mtime:
                return cached[1], cached[2], spec
            with open(key, "rb") as handle:
                source = handle.read()
        except OSError:
            return None
        tree = spec.parser().parse(source)
        with self._lock:
            self._trees[key] = (mtime, tree, source)
            while len(self._trees) > _TREES_LRU:
                self._trees.popitem(last=False)
        return tree, source, spec

    def usages(
        self,
        name: str,
        limit: int = 50,
        *,
        per_file: int | None = None,
        include_definitions: bool = False,
    ) -> list[Usage]:
        """Uses of the identifier ``name`` across the workspace, open documents first.

        Candidates are found by the words each file contains; each candidate is parsed (open
        documents use their live tree) so that only real identifiers count, not words in
        strings or comments. The definition sites themselves are left out unless
        ``include_definitions``.
        """
        if not name or limit <= 0:
            return []
        needle = f" {name} "
        with self._lock:
            open_keys = sorted(self._docs)
            ascii_name = name.isascii()
            disk_keys = sorted(
                k
                for k, r in self._records.items()
                if k not in self._docs and (not ascii_name or needle in r.tokens)
            )
        pattern = re.compile(
            rb"(?<![A-Za-z0-9_$])" + re.escape(name.encode()) + rb"(?![A-Za-z0-9_$])"
        )
        result: list[Usage] = []
        for key in (*open_keys, *disk_keys):
            loaded = self._tree_and_source(key)
            if loaded is None:
                continue
            tree, source, spec = loaded
            with self._lock:
                definitions = list(self._definitions_of(key))
            found = _usages_in(
                name,
                pattern,
                Path(key),
                tree,
                source,
                spec,
                definitions,
                include_definitions,
                per_file,
            )
            result.extend(found[: limit - len(result)])
            if len(result) >= limit:
                break
        return result


def _usages_in(
    name: str,
    pattern: re.Pattern[bytes],
    path: Path,
    tree: tree_sitter.Tree,
    source: bytes,
    spec: LanguageSpec,
    definitions: list[Definition],
    include_definitions: bool,
    per_file: int | None,
) -> list[Usage]:
    identifier_types = spec.rules.identifier_types
    definition_sites = {(d.name_span.start_line, d.name_span.start_col) for d in definitions}
    root = tree.root_node
    result: list[Usage] = []
    for match in pattern.finditer(source):
        start, end = match.span()
        node = root.descendant_for_byte_range(start, end)
        if node is None or node.type not in identifier_types:
            continue
        if node.start_byte != start or node.end_byte != end:
            continue
        line, col = node.start_point.row, node.start_point.column
        if not include_definitions and (line, col) in definition_sites:
            continue
        line_start = source.rfind(b"\n", 0, start) + 1
        line_end = source.find(b"\n", start)
        line_text = source[line_start : line_end if line_end >= 0 else len(source)]
        enclosing = None
        for definition in definitions:
            if definition.span.contains(line, col):
                enclosing = definition.qualified_name
        result.append(
            Usage(name, path, line, col, col + (end - start),
                  line_text.decode("utf-8", errors="replace").rstrip("\r"), enclosing)
        )  # fmt: skip
        if per_file is not None and len(result) >= per_file:
            break
    return result


__all__ = ["FileFacts", "WorkspaceIndex"]
