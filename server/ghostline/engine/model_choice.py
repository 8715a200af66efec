"""Which packaged model serves each feature on this machine, decided by measurement.

Each feature has a latency budget for a typical request (`BUDGETS`): a keystroke re-reads a
few dozen tokens and wants its first token at once; a test file reads a long prompt and
writes hundreds of tokens behind a progress bar; a hover summary sits in between. The
prompt and decode speed of every installed packaged model is measured once on this machine
(`speed_probe`, in a subprocess) and cached; each feature then gets the biggest model whose
estimated time fits its budget, or the fastest one when none fits. A laptop with more cores
gets bigger models than a 2-core CI box, as it should.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from ghostline.engine import model_catalog
from ghostline.engine.model_files import (
    GEMMA_KEY,
    ModelNotAvailable,
    cache_dir,
    packaged_installed,
    packaged_model_path,
)

log = logging.getLogger(__name__)

FEATURES = ("inlineCompletion", "generateTests", "hover")
#: Models `auto` chooses from, smallest first. Gemma 3 270M has no FIM tokens and is no
#: instruction model: it is a choice only where no Qwen model is installed.
CANDIDATES = (model_catalog.QWEN_05B.key, model_catalog.QWEN_15B.key)
#: How long a probe may take (loading a model and timing it).
PROBE_TIMEOUT_S = 180.0


@dataclass(frozen=True)
class Budget:
    """A feature's typical request and the time it may take on this machine."""

    prompt_tokens: int
    generated_tokens: int
    seconds: float


#: inlineCompletion: a keystroke re-reads the edited line's tail and the suffix (~64 tokens
#: with the KV cache warm) and wants its first token within half a second.
#: generateTests: a 1,500-token prompt and a 300-token test file within a minute.
#: hover: a 600-token prompt and a 60-token summary within 5 s.
BUDGETS: dict[str, Budget] = {
    "inlineCompletion": Budget(64, 1, 0.5),
    "generateTests": Budget(1500, 300, 60.0),
    "hover": Budget(600, 60, 5.0),
}


@dataclass(frozen=True)
class ModelSpeed:
    key: str
    prompt_tps: float
    decode_tps: float

    def seconds(self, budget: Budget) -> float:
        return (budget.prompt_tokens / self.prompt_tps
                + budget.generated_tokens / self.decode_tps)


def speeds_file() -> Path:
    return cache_dir() / "model-speeds.json"


def _machine_key(path: Path, threads: int) -> str:
    """What a cached speed depends on: the model file, the cores, llama.cpp's version."""
    try:
        from importlib.metadata import version

        llama_version = version("llama_cpp_python")
    except Exception:
        llama_version = "?"
    stat = path.stat()
    return f"{path.name}:{stat.st_size}:{os.cpu_count()}:{threads}:{llama_version}"


def _load_cache() -> dict[str, dict[str, float]]:
    try:
        data = json.loads(speeds_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _save_cache(cache: dict[str, dict[str, float]]) -> None:
    target = speeds_file()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = target.with_suffix(".tmp")
        temp.write_text(json.dumps(cache, indent=1), encoding="utf-8")
        os.replace(temp, target)
    except OSError as exc:
        log.warning("could not cache model speeds in %s: %s", target, exc)


def probe(path: Path, threads: int = 0) -> tuple[float, float]:
    """(prompt tokens/s, decode tokens/s) of the model at `path`, measured now."""
    done = subprocess.run(
        [sys.executable, "-m", "ghostline.engine.speed_probe", str(path),
         "--threads", str(threads)],
        capture_output=True, text=True, timeout=PROBE_TIMEOUT_S, check=False)
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"speed probe of {path.name} failed: {tail[0]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return float(result["prompt_tps"]), float(result["decode_tps"])


_lock = threading.Lock()


def measured_speeds(keys: tuple[str, ...] = CANDIDATES, threads: int = 0,
                    remeasure: bool = False) -> list[ModelSpeed]:
    """Speeds of the installed models among `keys` (measured once, then cached)."""
    speeds: list[ModelSpeed] = []
    with _lock:
        cache = _load_cache()
        changed = False
        for key in keys:
            if not packaged_installed(key):
                continue
            try:
                path = packaged_model_path(key)
            except ModelNotAvailable as exc:
                log.warning("%s", exc)
                continue
            cache_key = _machine_key(path, threads)
            entry = cache.get(cache_key)
            if entry is None or remeasure:
                log.info("measuring %s on this machine (once)", key)
                try:
                    prompt_tps, decode_tps = probe(path, threads)
                except (OSError, RuntimeError, ValueError, KeyError,
                        subprocess.TimeoutExpired) as exc:
                    log.warning("%s", exc)
                    continue
                entry = {"prompt_tps": prompt_tps, "decode_tps": decode_tps}
                cache[cache_key] = entry
                changed = True
            speeds.append(ModelSpeed(key, entry["prompt_tps"], entry["decode_tps"]))
        if changed:
            _save_cache(cache)
    return speeds


def choose(speeds: list[ModelSpeed], budgets: dict[str, Budget] = BUDGETS) -> dict[str, str]:
    """Per feature, the biggest model (last in `speeds`, smallest first) whose estimate fits
    the feature's budget, else the fastest at that feature's request; `GEMMA_KEY` when
    nothing was measured."""
    if not speeds:
        return dict.fromkeys(budgets, GEMMA_KEY)
    chosen: dict[str, str] = {}
    for feature, budget in budgets.items():
        fitting = [s for s in speeds if s.seconds(budget) <= budget.seconds]
        best = fitting[-1] if fitting else min(speeds, key=lambda s: s.seconds(budget))
        chosen[feature] = best.key
    return chosen


_chosen: dict[tuple[int, str], dict[str, str]] = {}


def auto_models(threads: int = 0) -> dict[str, str]:
    """The packaged model each feature uses when its `model` setting is `auto` (probing
    the installed models the first time on this machine; remembered for the process)."""
    memo_key = (threads, str(cache_dir()))
    if memo_key not in _chosen:
        _chosen[memo_key] = choose(measured_speeds(threads=threads))
    return _chosen[memo_key]


def describe(speeds: list[ModelSpeed], chosen: dict[str, str]) -> list[str]:
    """Lines for `ghostline doctor`: each model's speed and what each feature uses."""
    lines = [f"{s.key}: prompt {s.prompt_tps:.0f} tok/s, decode {s.decode_tps:.1f} tok/s"
             for s in speeds]
    for feature, key in chosen.items():
        budget = BUDGETS[feature]
        estimate = next((s.seconds(budget) for s in speeds if s.key == key), None)
        timing = f"~{estimate:.2f} s of {budget.seconds:g} s" if estimate is not None else ""
        lines.append(f"{feature}: {key} {timing}".rstrip())
    return lines

