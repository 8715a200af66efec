"""`ghostline bench load`: the real server under an editor's load, with the real model.

(a) Typing storm: keystrokes at a fixed rate on one document; each one is a didChange and a
    new inline completion request, the previous request cancelled with `$/cancelRequest`
    (as VS Code does). Counted: requests, model generations started (`modelCalls`),
    answers, cancellations; CPU of the server and its worker while typing and in the
    second after; memory at the start and the end.
(b) Ten open documents completing in turn (latency per request).
(c) A git workspace of many generated files; `git checkout` of a branch that changes a
    tenth of them while completions run: their latency during the checkout, and the time
    until the index (and its cache) holds the change.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import itertools
import os
import sqlite3
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
from lsprotocol import types
from pygls.exceptions import JsonRpcRequestCancelled

from ghostline.bench.stats import percentile
from ghostline.engine.model_files import cache_dir, resolve_model_path
from ghostline.index.store import cache_file_for
from ghostline.lsp_client import EditorSession, completion_params

SHOP = Path(__file__).parents[1] / "demo_data" / "shop"
#: What the storm types after ``return `` in cart.py, over and over.
TYPED = "sum(item.price * item.quantity for item in items)"
STORM_LINE, STORM_COLUMN = 7, 11


# -- processes --------------------------------------------------------------------------


class Family:
    """The server process and everything it started: CPU time and memory, summed."""

    def __init__(self, pid: int) -> None:
        self.root = psutil.Process(pid)

    def members(self) -> list[psutil.Process]:
        try:
            return [self.root, *self.root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def cpu_seconds(self) -> float:
        total = 0.0
        for process in self.members():
            with contextlib.suppress(psutil.NoSuchProcess):
                times = process.cpu_times()
                total += times.user + times.system
        return total

    def rss_mb(self) -> float:
        total = 0
        for process in self.members():
            with contextlib.suppress(psutil.NoSuchProcess):
                total += process.memory_info().rss
        return total / 2**20

    async def cpu_percent(self, seconds: float) -> float:
        """CPU used over the next `seconds`, in per cent of one core."""
        before, started = self.cpu_seconds(), time.perf_counter()
        await asyncio.sleep(seconds)
        return 100 * (self.cpu_seconds() - before) / (time.perf_counter() - started)


def _family(session: EditorSession) -> Family:
    server = session.client._server
    assert server is not None
    return Family(server.pid)


# -- (a) typing storm -------------------------------------------------------------------


@dataclass
class StormResult:
    seconds: float
    keystrokes: int = 0
    requests: int = 0
    generations: int = 0
    answered: int = 0
    cancelled: int = 0
    errors: int = 0
    unanswered: int = 0
    cpu_typing: float = 0.0
    cpu_after: float = 0.0
    last_answer_s: float = 0.0
    cpu_after_answer: float = 0.0
    rss_start_mb: float = 0.0
    rss_mid_mb: float = 0.0
    rss_end_mb: float = 0.0
    error_messages: list[str] = field(default_factory=list)


async def typing_storm(session: EditorSession, root: Path, seconds: float,
                       rate: float = 20.0) -> StormResult:
    """Type into cart.py at `rate` keys/s for `seconds`, as an editor with cancellation."""
    result = StormResult(seconds=seconds)
    family = _family(session)
    uri = session.open(root / "cart.py")
    base = session.texts[uri].split("\n")[STORM_LINE]
    await asyncio.sleep(1.0)  # let the index settle: measure the storm, not the start
    calls_before = (await session.status())["modelCalls"]
    result.rss_start_mb = family.rss_mb()
    ids = itertools.count(10_000)
    pending: dict[int, asyncio.Future[Any]] = {}
    answered_at_by_id: dict[int, float] = {}  # when each answer (or cancel error) came
    previous: int | None = None
    cpu_before = family.cpu_seconds()
    started = time.perf_counter()
    typed = 0
    while time.perf_counter() - started < seconds:
        if previous is not None and not pending[previous].done():
            session.client.protocol.notify(types.CANCEL_REQUEST,
                                           types.CancelParams(id=previous))
        if typed == len(TYPED):  # the line is full: select it and start again
            session.retype_line(uri, STORM_LINE, base)
            typed = 0
        session.insert(uri, STORM_LINE, STORM_COLUMN + typed, TYPED[typed])
        typed += 1
        result.keystrokes += 1
        previous = next(ids)
        pending[previous] = asyncio.ensure_future(session.client.protocol.send_request_async(
            types.TEXT_DOCUMENT_INLINE_COMPLETION,
            completion_params(uri, STORM_LINE, STORM_COLUMN + typed), msg_id=previous))
        pending[previous].add_done_callback(functools.partial(_note_time, answered_at_by_id,
                                                              previous))
        result.requests += 1
        if not result.rss_mid_mb and time.perf_counter() - started > seconds / 2:
            result.rss_mid_mb = family.rss_mb()
        await asyncio.sleep(max(0.0, result.keystrokes / rate - (time.perf_counter()
                                                                  - started)))
    stopped = time.perf_counter()
    result.cpu_typing = 100 * (family.cpu_seconds() - cpu_before) / (stopped - started)
    # The latest request is computed to the end; within a second the family must be idle.
    result.cpu_after = await family.cpu_percent(1.0)
    result.cpu_after_answer = await family.cpu_percent(1.0)
    done, late = await asyncio.wait(pending.values(), timeout=60)
    answered_at = [answered_at_by_id[i] for i in answered_at_by_id]
    result.last_answer_s = max(answered_at) - stopped if answered_at else float("nan")
    result.unanswered = len(late)
    for future in done:
        error = future.exception()
        if error is None:
            result.answered += 1
        elif isinstance(error, JsonRpcRequestCancelled):
            result.cancelled += 1
        else:
            result.errors += 1
            result.error_messages.append(str(error))
    result.generations = int((await session.status())["modelCalls"]) - int(calls_before)
    result.rss_end_mb = family.rss_mb()
    session.close(uri)
    return result


def _note_time(times: dict[int, float], key: int, _: object) -> None:
    times[key] = time.perf_counter()


# -- (b) ten documents ------------------------------------------------------------------


def _write_documents(root: Path, count: int) -> list[tuple[Path, int, int]]:
    """`count` modules, each ending in a function body to complete: (path, line, column)."""
    documents = []
    for number in range(count):
        path = root / f"doc{number:02d}.py"
        path.write_text(
            f'"""Document {number}: numbers and names."""\n\n'
            f"LIMIT_{number} = {number * 10 + 5}\n\n\n"
            f"def clamp_{number}(value: int) -> int:\n"
            f'    """Clamp value to the range 0..LIMIT_{number}."""\n'
            f"    return \n", encoding="utf-8")
        documents.append((path, 7, 11))
    return documents


async def ten_documents(session: EditorSession, root: Path, rounds: int
                        ) -> dict[str, Any]:
    documents = _write_documents(root, 10)
    uris = [session.open(path) for path, _, _ in documents]
    calls_before = (await session.status())["modelCalls"]
    latencies: list[list[float]] = []
    family = _family(session)
    rss_start = family.rss_mb()
    for round_number in range(rounds):
        times = []
        for uri, (_, line, column) in zip(uris, documents, strict=True):
            if round_number:  # a keystroke since the last visit
                session.insert(uri, line, column, " " if round_number % 2 else "")
            _, elapsed = await session.complete(uri, line, column + (round_number % 2))
            times.append(elapsed)
        latencies.append(times)
    first = latencies[0]
    later = [t for row in latencies[1:] for t in row]
    for uri in uris:
        session.close(uri)
    return {
        "requests": sum(len(row) for row in latencies),
        "generations": int((await session.status())["modelCalls"]) - int(calls_before),
        "first_p50": statistics.median(first), "first_max": max(first),
        "later_p50": statistics.median(later) if later else float("nan"),
        "later_p90": percentile(later, 90),
        "rss_start_mb": rss_start, "rss_end_mb": family.rss_mb(),
    }


# -- (c) big workspace and a checkout ---------------------------------------------------


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid",
                    *args], cwd=root, check=True, capture_output=True)


def make_git_workspace(root: Path, files: int, changed: int) -> None:
    """`files` modules on branch main; branch `change` adds a function to `changed` of them."""
    for number in range(files):
        folder = root / f"pkg{number // 200:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"mod{number:05d}.py").write_text(
            f"def helper_{number}(value: int) -> int:\n    return value + {number}\n\n\n"
            f"class Thing{number}:\n    size = {number}\n", encoding="utf-8")
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "base")
    _git(root, "checkout", "-q", "-b", "change")
    step = max(1, files // changed)
    for number in range(0, step * changed, step):
        path = root / f"pkg{number // 200:03d}" / f"mod{number:05d}.py"
        with path.open("a", encoding="utf-8") as handle:
            handle.write(f"\n\ndef changed_{number}() -> int:\n    return {number}\n")
    _git(root, "commit", "-q", "-am", "change")
    _git(root, "checkout", "-q", "main")


def _changed_in_cache(cache_file: Path) -> int:
    try:
        with sqlite3.connect(f"file:{cache_file}?mode=ro", uri=True, timeout=1) as conn:
            row = conn.execute(
                "SELECT count(*) FROM files WHERE names LIKE '%changed\\_%' ESCAPE '\\'"
            ).fetchone()
            return int(row[0])
    except sqlite3.Error:
        return -1


async def checkout_under_completion(session: EditorSession, root: Path, files: int,
                                    changed: int) -> dict[str, Any]:
    cache_file = cache_file_for([root], cache_dir() / "index")
    await session.wait_indexed(files, timeout=900)
    document = root / "pkg000" / "mod00001.py"
    uri = session.open(document)
    line = 1  # `    return value + N` in helper_1
    latencies: list[tuple[float, float]] = []  # (time since start, latency)
    stop = asyncio.Event()
    started = time.perf_counter()

    async def complete_forever() -> None:
        count = 0
        while not stop.is_set():
            count += 1
            typed = f"    return value + {count} * "  # new text each time: no cached answer
            session.retype_line(uri, line, typed)
            begun = time.perf_counter() - started
            _, elapsed = await session.complete(uri, line, len(typed))
            latencies.append((begun, elapsed))

    worker = asyncio.ensure_future(complete_forever())
    for _ in range(900):  # a baseline before the checkout: three answers, 90 s at most
        if len(latencies) >= 3:
            break
        await asyncio.sleep(0.1)
    checkout_at = time.perf_counter() - started
    await asyncio.to_thread(_git, root, "checkout", "-q", "change")
    checkout_s = time.perf_counter() - started - checkout_at
    reflected_s: float | None = None
    while time.perf_counter() - started - checkout_at < 120:
        if await asyncio.to_thread(_changed_in_cache, cache_file) >= changed:
            reflected_s = time.perf_counter() - started - checkout_at
            break
        await asyncio.sleep(0.1)
    end = time.perf_counter() - started
    for _ in range(600):  # a few answers that began after the checkout, for comparison
        if sum(at >= checkout_at for at, _ in latencies) >= 3:
            break
        await asyncio.sleep(0.1)
    stop.set()
    await worker
    before = [t for at, t in latencies if at + t < checkout_at]
    # Requests in flight at some moment between the checkout and the index holding it.
    during = [t for at, t in latencies if at <= end and at + t >= checkout_at]
    return {
        "files": files, "changed": changed,
        "checkout_s": checkout_s, "reflected_s": reflected_s,
        "before_n": len(before), "before_p50": percentile(before, 50),
        "during_n": len(during), "during_p50": percentile(during, 50),
        "during_p90": percentile(during, 90),
        "indexed_after": (await session.status()).get("indexedFiles"),
    }


# -- report -----------------------------------------------------------------------------


def _fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2f}{unit}" if value == value else "-"
    return f"{value}{unit}"


def format_report(storm: StormResult | None, docs: dict[str, Any] | None,
                  checkout: dict[str, Any] | None) -> str:
    rows: list[tuple[str, str]] = []
    if storm is not None:
        rows += [
            ("storm: keystrokes (s, keys/s)", f"{storm.keystrokes} ({storm.seconds:.0f} s, "
                                              f"{storm.keystrokes / storm.seconds:.0f}/s)"),
            ("storm: requests sent", str(storm.requests)),
            ("storm: model generations started", str(storm.generations)),
            ("storm: answered / cancelled / errors / no answer",
             f"{storm.answered} / {storm.cancelled} / {storm.errors} / {storm.unanswered}"),
            ("storm: CPU while typing (server+worker)", _fmt(storm.cpu_typing, " %")),
            ("storm: CPU in the second after the last key", _fmt(storm.cpu_after, " %")),
            ("storm: last answer after the last key", _fmt(storm.last_answer_s, " s")),
            ("storm: CPU 1-2 s after the last key", _fmt(storm.cpu_after_answer, " %")),
            ("storm: RSS start -> half-time -> end",
             f"{storm.rss_start_mb:.0f} -> {storm.rss_mid_mb:.0f} -> "
             f"{storm.rss_end_mb:.0f} MiB"),
        ]
    if docs is not None:
        rows += [
            ("10 docs: requests / generations", f"{docs['requests']} / {docs['generations']}"),
            ("10 docs: first visit p50 / max", f"{_fmt(docs['first_p50'], ' s')} / "
                                               f"{_fmt(docs['first_max'], ' s')}"),
            ("10 docs: later visits p50 / p90", f"{_fmt(docs['later_p50'], ' s')} / "
                                                f"{_fmt(docs['later_p90'], ' s')}"),
            ("10 docs: RSS start -> end", f"{docs['rss_start_mb']:.0f} -> "
                                          f"{docs['rss_end_mb']:.0f} MiB"),
        ]
    if checkout is not None:
        rows += [
            ("checkout: files, indexed (s after start)", f"{checkout['files']}, "
                                                       f"{_fmt(checkout['indexed_s'], ' s')}"),
            ("checkout: files changed, git checkout", f"{checkout['changed']}, "
                                                      f"{_fmt(checkout['checkout_s'], ' s')}"),
            ("checkout: completion p50 before it (n)", f"{_fmt(checkout['before_p50'], ' s')} "
                                                    f"({checkout['before_n']})"),
            ("checkout: completion p50 / p90 while it lands (n)",
             f"{_fmt(checkout['during_p50'], ' s')} / {_fmt(checkout['during_p90'], ' s')} "
             f"({checkout['during_n']})"),
            ("checkout: index holds the change after", _fmt(checkout["reflected_s"], " s")),
            ("checkout: files in the index after", str(checkout["indexed_after"])),
        ]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name.ljust(width)}  {value}" for name, value in rows)


async def run(args: argparse.Namespace) -> tuple[StormResult | None, dict[str, Any] | None,
                                                 dict[str, Any] | None]:
    settings: dict[str, Any] = {"threads": args.threads, "timeLimitS": 20.0,
                                "model": str(resolve_model_path(args.model))}
    storm = docs = checkout = None
    with tempfile.TemporaryDirectory(prefix="ghostline-load-") as tmp:
        # A private cache folder: the throwaway workspaces stay out of the user's cache.
        os.environ["GHOSTLINE_CACHE_DIR"] = str(Path(tmp) / "cache")
        if "storm" in args.only or "docs" in args.only:
            import shutil

            root = Path(tmp) / "shop"
            shutil.copytree(SHOP, root)
            session = EditorSession(settings)
            await session.start(root)
            try:
                if "storm" in args.only:
                    storm = await typing_storm(session, root, args.seconds)
                if "docs" in args.only:
                    docs = await ten_documents(session, root, args.rounds)
            finally:
                await session.stop()
        if "checkout" in args.only:
            root = Path(tmp) / "big"
            make_git_workspace(root, args.files, args.files // 10)
            begun = time.perf_counter()
            session = EditorSession(settings)
            await session.start(root)
            try:
                waited = await session.wait_indexed(args.files, timeout=900)
                indexed_s = None if waited is None else time.perf_counter() - begun
                checkout = await checkout_under_completion(session, root, args.files,
                                                           args.files // 10)
                checkout["indexed_s"] = indexed_s
            finally:
                await session.stop()
    return storm, docs, checkout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ghostline bench load", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0, help="typing storm length")
    parser.add_argument("--rounds", type=int, default=3, help="visits of each of 10 documents")
    parser.add_argument("--files", type=int, default=20_000,
                        help="files in the git workspace (a tenth change in the checkout)")
    parser.add_argument("--quick", action="store_true",
                        help="short version: 5 s storm, 2 rounds, 2,000 files")
    parser.add_argument("--only", nargs="+", choices=["storm", "docs", "checkout"],
                        default=["storm", "docs", "checkout"], help="run only these parts")
    parser.add_argument("--threads", type=int, default=1, help="llama.cpp threads")
    parser.add_argument("--model", default="", help="GGUF file (default: packaged model)")
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.rounds, args.files = min(args.seconds, 5.0), 2, 2_000
    storm, docs, checkout = asyncio.run(run(args))
    print(format_report(storm, docs, checkout))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
