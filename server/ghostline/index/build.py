"""Read, parse and extract one file into a ``FileRecord``; in-process or in worker processes.

A cold scan of a big workspace is parse-bound and tree-sitter holds the GIL while it
parses, so threads do not help; worker processes do. Small jobs stay in-process, where
starting workers would cost more than it saves. Workers never write to stdout (it may be
the LSP channel): their stdout is pointed at stderr when they start.
"""

from __future__ import annotations

import concurrent.futures
import logging
import multiprocessing
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ghostline.index.codec import encode_imports, encode_rows
from ghostline.index.languages import spec_by_name
from ghostline.index.parser import extract
from ghostline.index.store import FileRecord, content_digest

log = logging.getLogger(__name__)

POOL_MIN_JOBS = 256
_CHUNK = 48
_BINARY_PROBE = 8192
_WORD_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_$")
_NOT_WORD_TO_SPACE = bytes(c if c in _WORD_BYTES else 32 for c in range(256))


@dataclass(frozen=True, slots=True)
class BuildJob:
    """One file to (re)index; ``known_digest`` skips the parse if the content is unchanged."""

    path: str
    language: str
    size: int
    mtime_ns: int
    module: str
    known_digest: str | None = None


Status = Literal["parsed", "same", "skipped"]


@dataclass(frozen=True, slots=True)
class BuildResult:
    """``parsed`` (``record`` is new), ``same`` (content unchanged) or ``skipped`` (why)."""

    status: Status
    record: FileRecord | None = None
    reason: str = ""


def words_of(data: bytes) -> str:
    """Every identifier-like word of a file, space-separated with spaces at both ends."""
    words = set(data.translate(_NOT_WORD_TO_SPACE).split())
    return (b" " + b" ".join(words) + b" ").decode("ascii")


def build(job: BuildJob, max_bytes: int) -> BuildResult:
    """Index one file: read it, and parse and extract it unless its content is known."""
    spec = spec_by_name(job.language)
    if spec is None:
        return BuildResult("skipped", reason="no grammar")
    try:
        with open(job.path, "rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        return BuildResult("skipped", reason=f"unreadable: {exc.strerror}")
    if len(data) > max_bytes:
        return BuildResult("skipped", reason="too large")
    if b"\0" in data[:_BINARY_PROBE]:
        return BuildResult("skipped", reason="binary")
    digest = content_digest(data)
    if digest == job.known_digest:
        return BuildResult("same")
    tree = spec.parser().parse(data)
    facts = extract(spec, tree, data, Path(job.path), job.module)
    record = FileRecord(
        path=job.path,
        language=spec.name,
        size=job.size,
        mtime_ns=job.mtime_ns,
        digest=digest,
        module=facts.module,
        names="\n".join(dict.fromkeys(row[0] for row in facts.rows)),
        tokens=words_of(data),
        defs_json=encode_rows(facts.rows),
        imports_json=encode_imports(facts.imports),
    )
    return BuildResult("parsed", record)


def _build_chunk(jobs: list[BuildJob], max_bytes: int) -> list[BuildResult]:
    return [build(job, max_bytes) for job in jobs]


def _worker_init() -> None:
    os.dup2(2, 1)  # stray prints must never reach the LSP stream


def default_workers() -> int:
    try:
        count = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        count = os.cpu_count() or 1
    return max(1, min(4, count))


def build_all(
    jobs: list[BuildJob],
    max_bytes: int,
    workers: int,
    cancelled: Callable[[], bool] | None = None,
) -> Iterator[tuple[BuildJob, BuildResult]]:
    """Results for ``jobs`` as they complete (any order); stops early when cancelled."""
    if workers > 1 and len(jobs) >= POOL_MIN_JOBS:
        done: set[int] = set()
        try:
            for index, result in _pooled(jobs, max_bytes, workers, cancelled):
                done.add(index)
                yield jobs[index], result
            return
        except (OSError, RuntimeError, concurrent.futures.process.BrokenProcessPool) as exc:
            log.warning("index worker processes failed (%s); indexing in-process", exc)
        jobs = [job for index, job in enumerate(jobs) if index not in done]
    for number, job in enumerate(jobs):
        if cancelled is not None and number % 16 == 0 and cancelled():
            return
        yield job, build(job, max_bytes)


def _pooled(
    jobs: list[BuildJob], max_bytes: int, workers: int, cancelled: Callable[[], bool] | None
) -> Iterator[tuple[int, BuildResult]]:
    context = multiprocessing.get_context("spawn")  # fork is unsafe in a threaded server
    executor = concurrent.futures.ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_worker_init
    )
    try:
        pending = {}
        for start in range(0, len(jobs), _CHUNK):
            future = executor.submit(_build_chunk, jobs[start : start + _CHUNK], max_bytes)
            pending[future] = start
        while pending:
            finished, _ = concurrent.futures.wait(
                pending, timeout=0.1, return_when=concurrent.futures.FIRST_COMPLETED
            )
            if cancelled is not None and cancelled():
                return
            for future in finished:
                start = pending.pop(future)
                for offset, result in enumerate(future.result()):
                    yield start + offset, result
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
