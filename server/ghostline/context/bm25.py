"""Lexical retrieval: BM25 over line chunks of workspace files.

The fallback source of cross-file context (and the "BM25 snippets" baseline of the quality
benchmark): files are cut into overlapping windows of lines, each window is a bag of
identifier words, and the lines above the cursor are the query. Chunks are kept per file
and replaced when the file's text changes, so a query costs a pass over the postings of the
query's words only.
"""

from __future__ import annotations

import math
import re
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

#: Lines per chunk and the step between chunk starts (chunks overlap by half).
CHUNK_LINES = 12
CHUNK_STEP = 6
K1 = 1.2
B = 0.75

_WORD = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
#: Keywords and very common words of the indexed languages: they match everywhere.
_STOPWORDS_TEXT = """
and as assert async await break case catch class const continue def default del do elif
else enum export extends false finally for from function if implements import in instanceof
interface is let new none not null of or pass private protected public raise readonly
return self static super switch this throw true try type typeof undefined var void while
with yield cls str int bool float list dict any string number boolean object the a an to
"""
STOPWORDS = frozenset(_STOPWORDS_TEXT.split())


def words(text: str) -> list[str]:
    """Identifier words of `text`, lowercased, without keywords and one-letter names."""
    return [w for w in (m.lower() for m in _WORD.findall(text)) if len(w) > 1
            and w not in STOPWORDS]


@dataclass(frozen=True)
class Chunk:
    """Lines ``start`` (0-based) up to, not including, ``end`` of one file."""

    path: str
    start: int
    end: int
    text: str


def chunk_lines(path: str, text: str, size: int = CHUNK_LINES,
                step: int = CHUNK_STEP) -> list[Chunk]:
    """Overlapping windows of `size` lines, `step` apart; blank-only windows are dropped."""
    lines = text.split("\n")
    chunks: list[Chunk] = []
    start = 0
    while start < len(lines):
        end = min(start + size, len(lines))
        body = "\n".join(lines[start:end])
        if body.strip():
            chunks.append(Chunk(path, start, end, body))
        if end == len(lines):
            break
        start += step
    return chunks


@dataclass
class _Doc:
    chunk: Chunk
    terms: Counter[str]
    length: int


class Bm25Index:
    """BM25 over chunks, updated one file at a time. Thread-safe."""

    def __init__(self, chunk_size: int = CHUNK_LINES, chunk_step: int = CHUNK_STEP) -> None:
        self.chunk_size = chunk_size
        self.chunk_step = chunk_step
        self._lock = threading.Lock()
        self._files: dict[str, tuple[str, list[int]]] = {}  # path -> (version, doc ids)
        self._docs: dict[int, _Doc] = {}
        self._postings: dict[str, set[int]] = {}
        self._total_length = 0
        self._next_id = 0

    def __len__(self) -> int:
        return len(self._docs)

    def version(self, path: str) -> str | None:
        """The version string `set_file` was last given for `path` (None if unknown)."""
        with self._lock:
            entry = self._files.get(path)
            return entry[0] if entry is not None else None

    def paths(self) -> list[str]:
        with self._lock:
            return list(self._files)

    def set_file(self, path: str, text: str, version: str = "") -> None:
        """Index (or re-index) one file's text."""
        docs = [
            _Doc(chunk, Counter(words(chunk.text)), 0)
            for chunk in chunk_lines(path, text, self.chunk_size, self.chunk_step)
        ]
        with self._lock:
            self._drop(path)
            ids: list[int] = []
            for doc in docs:
                doc.length = sum(doc.terms.values())
                if not doc.length:
                    continue
                doc_id = self._next_id
                self._next_id += 1
                self._docs[doc_id] = doc
                self._total_length += doc.length
                for term in doc.terms:
                    self._postings.setdefault(term, set()).add(doc_id)
                ids.append(doc_id)
            self._files[path] = (version, ids)

    def remove_file(self, path: str) -> None:
        with self._lock:
            self._drop(path)
            self._files.pop(path, None)

    def _drop(self, path: str) -> None:
        entry = self._files.get(path)
        if entry is None:
            return
        for doc_id in entry[1]:
            doc = self._docs.pop(doc_id)
            self._total_length -= doc.length
            for term in doc.terms:
                ids = self._postings.get(term)
                if ids is not None:
                    ids.discard(doc_id)
                    if not ids:
                        del self._postings[term]

    def search(self, query: str | Iterable[str], limit: int = 8,
               exclude: Iterable[str] = ()) -> list[tuple[Chunk, float]]:
        """The best chunks for `query` (text, or words), best first, none from `exclude`."""
        terms = Counter(words(query) if isinstance(query, str) else query)
        excluded = set(exclude)
        with self._lock:
            count = len(self._docs)
            if not count or not terms:
                return []
            average = self._total_length / count
            scores: dict[int, float] = {}
            for term, weight in terms.items():
                ids = self._postings.get(term)
                if not ids:
                    continue
                idf = math.log(1 + (count - len(ids) + 0.5) / (len(ids) + 0.5))
                for doc_id in ids:
                    doc = self._docs[doc_id]
                    tf = doc.terms[term]
                    norm = tf * (K1 + 1) / (tf + K1 * (1 - B + B * doc.length / average))
                    scores[doc_id] = scores.get(doc_id, 0.0) + idf * norm * min(weight, 3)
            ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
            result: list[tuple[Chunk, float]] = []
            for doc_id, score in ranked:
                chunk = self._docs[doc_id].chunk
                if chunk.path in excluded:
                    continue
                result.append((chunk, score))
                if len(result) >= limit:
                    break
            return result
