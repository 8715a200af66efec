"""``ghostline bench index DIR``: how fast and how big the workspace index is on real code.

Measures, on the files the index would take from DIR: a cold scan (empty cache), a warm
restart (new index, same cache), one edit to an open ~2,000-line document (median of N),
the process RSS after indexing, and the raw tree-sitter parse time of the same files as
the floor; then compares them with the targets of issue 3.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psutil

from ghostline.index.build import default_workers
from ghostline.index.languages import spec_for_path
from ghostline.index.walker import FoundFile, IgnoreRules
from ghostline.index.workspace import WorkspaceIndex

TARGET_COLD_VS_PARSE = 2.0
TARGET_WARM_VS_COLD = 0.10
TARGET_EDIT_MS = 10.0
TARGET_RSS_MB = 300.0  # for 10,000 files


def _rss_mb() -> float:
    gc.collect()
    return float(psutil.Process().memory_info().rss) / 2**20


def _raw_parse_seconds(files: list[FoundFile]) -> tuple[float, float]:
    """(wall, CPU) seconds of the parse alone: each file is read first, only
    ``parser.parse`` is timed."""
    total = 0.0
    cpu = 0.0
    for found in files:
        spec = spec_for_path(found.path)
        if spec is None:
            continue
        try:
            data = found.path.read_bytes()
        except OSError:
            continue
        parser = spec.parser()
        started, cpu_started = time.perf_counter(), time.process_time()
        parser.parse(data)
        total += time.perf_counter() - started
        cpu += time.process_time() - cpu_started
    return total, cpu


def _warm_os_cache(files: list[FoundFile]) -> int:
    """Read every file once so that neither measurement pays for the first disk read."""
    size = 0
    for found in files:
        with contextlib.suppress(OSError):
            size += len(found.path.read_bytes())
    return size


def _edit_file(index: WorkspaceIndex, files: list[FoundFile], lines: int) -> Path | None:
    """The indexed file whose line count is closest to ``lines``."""
    best: tuple[int, Path] | None = None
    for found in files:
        if found.size < lines * 10 or found.size > lines * 200:
            continue
        text = index.file_text(found.path)
        if text is None:
            continue
        distance = abs(text.count("\n") - lines)
        if best is None or distance < best[0]:
            best = (distance, found.path)
    return best[1] if best else None


def _edit_bench(index: WorkspaceIndex, path: Path, edits: int) -> tuple[list[float], int]:
    """Type and delete one character in the middle of ``path``: ms per ``update_document``."""
    text = index.file_text(path) or ""
    index.open_document(path, text)
    lines = text.split("\n")
    middle = len(lines) // 2
    original = lines[middle]
    timings = []
    for number in range(edits):
        lines[middle] = original + ("x" if number % 2 == 0 else "")
        new_text = "\n".join(lines)
        started = time.perf_counter()
        index.update_document(path, new_text)
        timings.append((time.perf_counter() - started) * 1000)
    index.close_document(path)
    return timings, len(lines)


def _cold_scan(directory: Path, cache_dir: Path, workers: int) -> tuple[float, float, int, float]:
    """(wall s, CPU s of this process, files parsed, RSS MB after) of a scan with an empty
    cache."""
    index = WorkspaceIndex([directory], cache_dir=cache_dir, workers=workers)
    started, cpu_started = time.perf_counter(), time.process_time()
    stats = index.scan()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    rss = _rss_mb()
    index.close()
    return seconds, cpu, stats.files_parsed, rss


def run_index_bench(
    directory: Path, *, edits: int = 31, edit_lines: int = 2000, workers: int | None = None
) -> dict[str, Any]:
    """Measure the index on ``directory``; returns the figures as a flat dict.

    The cold scan runs twice: in-process (``workers=1``, the floor's own conditions) and
    as the server runs it (``workers``, default one process per CPU up to 4).
    """
    directory = directory.resolve()
    workers = default_workers() if workers is None else workers
    rss_start = _rss_mb()
    files = IgnoreRules([directory]).walk().files
    total_bytes = _warm_os_cache(files)
    languages = Counter(spec.name for f in files if (spec := spec_for_path(f.path)))
    with tempfile.TemporaryDirectory(prefix="ghostline-bench-") as tmp:
        # The pool scan first: its RSS is measured on a fresh process. The in-process scan
        # needs more memory than that, so measuring it second is not skewed by the first.
        cold_s, _, parsed, rss_pool = _cold_scan(directory, Path(tmp) / "pool", workers)
        warm_index = WorkspaceIndex([directory], cache_dir=Path(tmp) / "pool", workers=workers)
        started = time.perf_counter()
        warm = warm_index.scan()
        warm_s = time.perf_counter() - started
        edit_path = _edit_file(warm_index, files, edit_lines)
        timings, edit_file_lines = (
            _edit_bench(warm_index, edit_path, edits) if edit_path else ([], 0)
        )
        warm_index.close()
        del warm_index
        single_s, single_cpu, _, rss_single = _cold_scan(directory, Path(tmp) / "1", 1)
    raw_s, raw_cpu = _raw_parse_seconds(files)
    edit_ms = statistics.median(timings) if timings else float("nan")
    count = len(files)
    return {
        "directory": str(directory),
        "files": count,
        "bytes": total_bytes,
        "languages": dict(languages.most_common()),
        "workers": workers,
        "cold_single_s": single_s,
        "cold_single_files_per_s": count / single_s if single_s else 0.0,
        "cold_parsed": parsed,
        "cold_s": cold_s,
        "cold_files_per_s": count / cold_s if cold_s else 0.0,
        "warm_s": warm_s,
        "warm_files_per_s": count / warm_s if warm_s else 0.0,
        "warm_parsed": warm.files_parsed,
        "warm_cached": warm.files_cached,
        "raw_parse_s": raw_s,
        "raw_parse_cpu_s": raw_cpu,
        "cold_single_cpu_s": single_cpu,
        "cold_single_cpu_vs_parse_cpu": single_cpu / raw_cpu if raw_cpu else float("nan"),
        "raw_files_per_s": count / raw_s if raw_s else 0.0,
        "edit_file": str(edit_path) if edit_path else "",
        "edit_file_lines": edit_file_lines,
        "edit_ms_median": edit_ms,
        "edit_ms_max": max(timings) if timings else float("nan"),
        "rss_start_mb": rss_start,
        "rss_indexed_mb": rss_single,
        "rss_indexed_pool_mb": rss_pool,
        "cold_single_vs_parse": single_s / raw_s if raw_s else float("nan"),
        "cold_vs_parse": cold_s / raw_s if raw_s else float("nan"),
        "warm_vs_cold": warm_s / cold_s if cold_s else float("nan"),
    }


def format_table(result: dict[str, Any]) -> str:
    """The figures and their targets as a plain-text table."""

    def verdict(ok: bool) -> str:
        return "ok" if ok else "MISSED"

    files = result["files"]
    rows = [
        ("files", f"{files}", f"{result['bytes'] / 2**20:.1f} MB", ""),
        ("raw tree-sitter parse (floor)", f"{result['raw_parse_s']:.2f} s",
         f"{result['raw_files_per_s']:.0f} files/s", ""),
        ("cold scan, 1 process", f"{result['cold_single_s']:.2f} s",
         f"{result['cold_single_files_per_s']:.0f} files/s, "
         f"{result['cold_single_vs_parse']:.2f}x raw parse (target <= {TARGET_COLD_VS_PARSE:.0f}x)",
         verdict(result["cold_single_vs_parse"] <= TARGET_COLD_VS_PARSE)),
        ("  same in CPU time", f"{result['cold_single_cpu_s']:.2f} s",
         f"parse alone {result['raw_parse_cpu_s']:.2f} s CPU: "
         f"{result['cold_single_cpu_vs_parse_cpu']:.2f}x (immune to other load)",
         verdict(result["cold_single_cpu_vs_parse_cpu"] <= TARGET_COLD_VS_PARSE)),
        (f"cold scan, {result['workers']} workers", f"{result['cold_s']:.2f} s",
         f"{result['cold_files_per_s']:.0f} files/s, "
         f"{result['cold_vs_parse']:.2f}x raw parse (target <= {TARGET_COLD_VS_PARSE:.0f}x)",
         verdict(result["cold_vs_parse"] <= TARGET_COLD_VS_PARSE)),
        ("warm restart", f"{result['warm_s']:.2f} s",
         f"{result['warm_files_per_s']:.0f} files/s, {result['warm_parsed']} re-parsed, "
         f"{result['warm_vs_cold'] * 100:.1f} % of cold (target <= "
         f"{TARGET_WARM_VS_COLD * 100:.0f} %)",
         verdict(result["warm_vs_cold"] <= TARGET_WARM_VS_COLD)),
        ("one edit, median", f"{result['edit_ms_median']:.2f} ms",
         f"{result['edit_file_lines']}-line file, max {result['edit_ms_max']:.1f} ms "
         f"(target <= {TARGET_EDIT_MS:.0f} ms)",
         verdict(result["edit_ms_median"] <= TARGET_EDIT_MS)),
        ("RSS after indexing", f"{result['rss_indexed_mb']:.0f} MB",
         f"after the in-process scan; {result['rss_indexed_pool_mb']:.0f} MB after the one "
         f"with workers; {result['rss_start_mb']:.0f} MB before (target <= "
         f"{TARGET_RSS_MB:.0f} MB for 10,000 files)",
         verdict(result["rss_indexed_mb"] <= TARGET_RSS_MB)),
    ]  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [
        f"ghostline index benchmark: {result['directory']}",
        "languages: " + ", ".join(f"{k} {v}" for k, v in result["languages"].items()),
    ]
    lines += ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip()
              for row in rows]  # fmt: skip
    if result["edit_file"]:
        lines.append(f"edited file: {result['edit_file']}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ghostline bench index", description=__doc__)
    parser.add_argument("directory", type=Path, help="source tree to index")
    parser.add_argument("--edits", type=int, default=31, help="edits to time (median)")
    parser.add_argument("--workers", type=int, default=None, help="parse processes")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    if not args.directory.is_dir():
        print(f"not a folder: {args.directory}", file=sys.stderr)
        return 2
    result = run_index_bench(args.directory, edits=args.edits, workers=args.workers)
    print(json.dumps(result, indent=2) if args.json else format_table(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
