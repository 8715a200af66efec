"""HumanEval single-line infilling: items, and running a candidate under limits.

A candidate passes when ``prompt + completion + suffix + test + check(entry_point)`` runs
without error in a separate Python process limited in CPU time, memory, wall time and
output, started in an empty temporary folder with isolated mode (``-I``).
"""

from __future__ import annotations

import gzip
import json
import os
import random
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).resolve().parent / "data" / "human-eval-infilling"
SINGLE_LINE_FILE = "HumanEval-SingleLineInfilling.jsonl.gz"
MULTI_LINE_FILE = "HumanEval-MultiLineInfilling.jsonl.gz"
CPU_SECONDS = 5
WALL_SECONDS = 10
MEMORY_BYTES = 512 * 1024 * 1024


@dataclass(frozen=True)
class HumanEvalItem:
    task_id: str
    prompt: str
    suffix: str
    answer: str
    test: str
    entry_point: str


def default_data_dir() -> Path:
    """The HumanEval infilling sets shipped in this package (``bench/data/``, MIT, see its
    README and LICENSE); ``bench quality --humaneval-data`` reads another folder instead."""
    return DATA_DIR


def load_multi_line_rows() -> list[dict[str, Any]]:
    """The multi-line infilling set's rows as they are in the file (packaged data)."""
    with gzip.open(DATA_DIR / MULTI_LINE_FILE, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def load_items(data_dir: Path, limit: int | None, seed: int = 0) -> list[HumanEvalItem]:
    """Single-line items; `limit` of them sampled reproducibly (all when None)."""
    with gzip.open(data_dir / SINGLE_LINE_FILE, "rt", encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    items = [
        HumanEvalItem(row["task_id"], row["prompt"], row["suffix"],
                      row["canonical_solution"], row["test"], row["entry_point"])
        for row in rows
    ]
    if limit is not None and limit < len(items):
        items = random.Random(seed).sample(items, limit)
        items.sort(key=lambda i: _task_order(i.task_id))
    return items


def _task_order(task_id: str) -> tuple[int, int]:
    parts = task_id.split("/")
    try:
        return int(parts[-2]), int(parts[-1].lstrip("L"))
    except (ValueError, IndexError):
        return (0, 0)


def candidate_line(item: HumanEvalItem, completion: str) -> str:
    """The line the completion puts in the hole (only its first line counts)."""
    return completion.split("\n", 1)[0] + "\n"


def passes(item: HumanEvalItem, completion: str) -> bool:
    program = (item.prompt + candidate_line(item, completion) + item.suffix + "\n"
               + item.test + f"\ncheck({item.entry_point})\n")
    return run_limited(program)


def _limits(cpu_seconds: int = CPU_SECONDS) -> None:  # runs in the child before exec
    import resource

    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds))
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))
    resource.setrlimit(resource.RLIMIT_FSIZE, (1024 * 1024, 1024 * 1024))
    os.setsid()


def run_limited(program: str, wall_seconds: float = WALL_SECONDS,
                cpu_seconds: int = CPU_SECONDS) -> bool:
    """Run `program` in a limited subprocess; True when it exits with status 0."""
    with tempfile.TemporaryDirectory(prefix="ghostline-he-") as folder:
        script = Path(folder) / "candidate.py"
        script.write_text(program, encoding="utf-8")
        try:
            done = subprocess.run(
                [sys.executable, "-I", str(script)], cwd=folder, capture_output=True,
                timeout=wall_seconds,
                preexec_fn=(lambda: _limits(cpu_seconds)) if os.name == "posix" else None,
                env={"PATH": os.environ.get("PATH", ""), "PYTHONHASHSEED": "0"},
            )
        except subprocess.TimeoutExpired:
            return False
        return done.returncode == 0
