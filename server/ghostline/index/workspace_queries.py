"""Queries of a ``WorkspaceIndex``: definitions, imports, importers, usages, text, trees.

They come from the event loop and hold the state lock only for dictionary work: files are
read and parsed outside it.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import tree_sitter

from ghostline.index.conventions import find_test_files
from ghostline.index.languages import LanguageSpec, spec_by_name, spec_for_path
from ghostline.index.model import Definition, Import, Usage
from ghostline.index.workspace_state import IndexState, path_key

#: Parse trees of files that are not open, kept for repeated questions about them.
_TREES_LRU = 8


class QueryingIndex(IndexState):
    """What the features ask of the index."""

    def warm_up(self) -> None:
        """Build the lazily made lookup tables (import graph, file names) now, e.g. in the
        scan thread right after ``scan``, so the first query does not pay for them."""
        with self._lock:
            self._importers_index()
            self._basename_index()

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
            return list(self._definitions_of(path_key(path)))

    def enclosing_definition(self, path: Path, line: int, col: int) -> Definition | None:
        """The innermost definition containing the position (0-based, byte column)."""
        best: Definition | None = None
        for definition in self.symbols(path):
            if definition.span.contains(line, col):
                best = definition
        return best

    def imports(self, path: Path) -> list[Import]:
        """Imports of one file, each with ``resolved`` set where the target was found."""
        key = path_key(path)
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
            key = path_key(target) if isinstance(target, Path) else None
            if key is None and isinstance(target, str) and os.path.isabs(target):
                key = path_key(target)
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
        key = Path(path_key(path))
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
        key = path_key(path)
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
        loaded = self._tree_and_source(path_key(path))
        return loaded[0] if loaded is not None else None

    def open_tree(self, path: Path, text: str, language: str) -> tree_sitter.Tree | None:
        """The tree of the open document at `path` if it holds exactly `text`, parsed as
        `language` (saves the completer a second full parse per request); else None."""
        with self._lock:
            doc = self._docs.get(path_key(path))
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
