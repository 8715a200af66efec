"""Open documents: editor buffers whose text wins over the disk while they are open.

Typing re-parses a document incrementally from its last tree; the import graph is checked
only when next needed, not on every keystroke.
"""

from __future__ import annotations

from pathlib import Path

from ghostline.index.documents import OpenDocument
from ghostline.index.languages import spec_for_language_id, spec_for_path
from ghostline.index.workspace_disk import DiskFollowingIndex
from ghostline.index.workspace_state import path_key

#: Closed documents kept, so that reopening one parses from its last tree.
_CLOSED_DOCS_KEPT = 8


class OpenDocumentsIndex(DiskFollowingIndex):
    """``open_document``, ``update_document``, ``close_document``."""

    def open_document(self, path: Path, text: str, language_id: str | None = None) -> bool:
        """Index an editor buffer; its text wins over the disk while open. False if the
        language is not supported."""
        key = path_key(path)
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
        key = path_key(path)
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
        key = path_key(path)
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
            return path_key(path) in self._docs

    def _doc_changed(self, key: str) -> None:
        self._importers = None
        self.generation += 1
        if key not in self._records:
            self._file_set_changed()
