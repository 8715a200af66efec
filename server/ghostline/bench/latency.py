"""`ghostline bench latency`: what the server adds on top of llama.cpp, and what users feel.

The same cursors in real code (Python's own standard library: code nobody here wrote,
present wherever Python is) go through
  (a) raw llama-cpp-python in this process, with the prompt the server would build, and
  (b) the full server over stdio, as an editor drives it.
Scenarios: a cold request; a warm request after typing 1-3 new characters; typing through a
shown suggestion; going back to the previous file after working in another
(raw llama-cpp-python keeps one sequence: for it that is a cold request). Time to first
token through the server is the latency of the same
request with ``maxTokens: 1`` (what a streaming client would see first).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import shutil
import statistics
import sysconfig
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ghostline.context.tokenizer import VocabCounter
from ghostline.context.window import enclosing_definition
from ghostline.engine.gguf_meta import read_gguf_vocabulary
from ghostline.engine.model_files import resolve_model_path
from ghostline.features.inline_completion import CompletionInput, build_prompt
from ghostline.index.languages import spec_for_path
from ghostline.lsp_client import EditorSession
from ghostline.prompts.fim import detect_template
from ghostline.settings import Settings

STDLIB_FILES = ("textwrap.py", "shlex.py", "fractions.py", "argparse.py", "ipaddress.py",
                "configparser.py")
_CURSOR_LINE = re.compile(r"^(\s+)(return|if|elif|while|raise|for) (\S.{8,})$")


@dataclass(frozen=True)
class Cursor:
    name: str
    text: str  # the file with the rest of the cursor line removed
    line: int
    column: int
    truth: str  # what was removed


def pick_cursors(count: int, min_offset: int = 3000) -> list[Cursor]:
    """Cursors after a keyword on lines deep enough in a file for a full prompt."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    per_file = max(1, -(-count // len(STDLIB_FILES)))
    cursors: list[Cursor] = []
    for name in STDLIB_FILES:
        source = (stdlib / name).read_text(encoding="utf-8")
        lines = source.split("\n")
        offset = 0
        candidates: list[tuple[int, re.Match[str]]] = []
        for number, line in enumerate(lines):
            match = _CURSOR_LINE.match(line)
            if match and offset > min_offset:
                candidates.append((number, match))
            offset += len(line) + 1
        step = max(1, len(candidates) // per_file)
        for number, match in candidates[::step][:per_file]:
            column = len(match.group(1)) + len(match.group(2)) + 1
            edited = lines.copy()
            edited[number] = edited[number][:column]
            cursors.append(Cursor(name, "\n".join(edited), number, column, match.group(3)))
    return cursors[:count]


def _offset(text: str, line: int, column: int) -> int:
    lines = text.split("\n")
    return sum(len(previous) + 1 for previous in lines[:line]) + column


def _typed(cursor: Cursor, n: int) -> Cursor:
    """The same cursor after the user typed the first `n` characters of the truth."""
    lines = cursor.text.split("\n")
    lines[cursor.line] += cursor.truth[:n]
    return Cursor(cursor.name, "\n".join(lines), cursor.line, cursor.column + n,
                  cursor.truth[n:])


# -- (a) raw llama-cpp-python -----------------------------------------------------------


class RawLlama:
    """Raw llama-cpp-python in this process, given the prompt the server would build."""

    def __init__(self, settings: Settings, model: Path) -> None:
        import llama_cpp

        specials, metadata = read_gguf_vocabulary(model)
        self.settings = settings
        self.template = detect_template(specials, metadata)
        self.llm = llama_cpp.Llama(model_path=str(model), n_ctx=settings.context_size,
                                   n_threads=settings.threads or os.cpu_count() or 1,
                                   verbose=False)
        self.counter = VocabCounter(self.llm)  # the tokenizer the server sizes windows with
        spec = spec_for_path("x.py")
        assert spec is not None
        self.spec = spec

    def prompt_for(self, cursor: Cursor) -> str:
        offset = _offset(cursor.text, cursor.line, cursor.column)
        item = CompletionInput(uri="file:///" + cursor.name, path=cursor.name,
                               language_id="python", text=cursor.text, offset=offset)
        tree = self.spec.parser().parse(cursor.text.encode("utf-8"))
        return build_prompt(item, self.settings, self.template, self.spec, counter=self.counter,
                            definition=enclosing_definition(tree, cursor.text, offset),
                            mode="single")[0]  # every cursor asks for one line

    def tokens(self, prompt: str) -> int:
        return len(self.llm.tokenize(prompt.encode(), special=True))

    def timed(self, prompt: str, cold: bool) -> tuple[float, float]:
        """(total, first token) seconds of one completion; `cold` empties the cache first."""
        if cold:
            self.llm.reset()
        started = time.perf_counter()
        first = None
        for _ in self.llm.create_completion(prompt, max_tokens=self.settings.max_tokens,
                                            temperature=0.0, stop=["\n"], stream=True):
            if first is None:
                first = time.perf_counter() - started
        total = time.perf_counter() - started
        return total, first if first is not None else total


# -- (b) the server over stdio, cursor by cursor after (a) -------------------------------


@contextlib.asynccontextmanager
async def _session_over(cursors: list[Cursor], settings: dict[str, Any]
                        ) -> AsyncIterator[tuple[EditorSession, list[Path]]]:
    """A server on a workspace holding each cursor's file (written before it starts, as a
    user's files are: its first scan indexes them, not each request), once indexed."""
    with tempfile.TemporaryDirectory(prefix="ghostline-bench-") as tmp:
        root = Path(tmp)
        paths = [root / f"{index}_{cursor.name}" for index, cursor in enumerate(cursors)]
        for path, cursor in zip(paths, cursors, strict=True):
            path.write_text(cursor.text, encoding="utf-8")
        session = EditorSession(settings)
        await session.start(root)
        if await session.wait_indexed(len(paths), timeout=120) is None:
            raise SystemExit(f"the server did not index the {len(paths)} files in 120 s")
        yield session, paths


async def run_paired(cursors: list[Cursor], raw: RawLlama, settings: dict[str, Any]
                     ) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Each scenario of each cursor through (a) and right after through (b), so drifts of a
    noisy machine hit both sides alike. The files are in the workspace before the server
    starts, as a user's files are (its first scan indexes them, not each request)."""
    raw_results: dict[str, list[float]] = {
        k: [] for k in ("cold_total", "cold_first", "warm_total", "warm_first",
                        "prompt_tokens")}
    results: dict[str, list[float]] = {k: [] for k in ("cold_total", "warm_total",
                                                        "typed_through", "cached_tokens",
                                                        "back_total", "back_cached")}
    async with _session_over(cursors, settings) as (session, paths):
        left: list[tuple[str, Cursor]] = []  # each file's URI and its last cursor
        try:
            for index, (path, cursor) in enumerate(zip(paths, cursors, strict=True)):
                prompt = raw.prompt_for(cursor)
                raw_results["prompt_tokens"].append(raw.tokens(prompt))
                _record(raw_results, "cold", raw.timed(prompt, cold=True))
                uri = session.open(path)
                _, latency = await session.complete(uri, cursor.line, cursor.column)
                results["cold_total"].append(latency)
                # Re-open with the typed text, so the server cannot answer from what it
                # showed: this measures a model request on a warm KV cache.
                typed = _typed(cursor, 1 + index % 3)
                _record(raw_results, "warm", raw.timed(raw.prompt_for(typed), cold=False))
                session.reopen(uri, typed.text)
                _, latency = await session.complete(uri, typed.line, typed.column)
                results["warm_total"].append(latency)
                stats = (await session.status()).get("lastCompletion") or {}
                if stats.get("promptTokens"):
                    results["cached_tokens"].append(stats["cachedTokens"] / stats["promptTokens"])
                shown, _ = await session.complete(uri, typed.line, typed.column)
                if len(shown) >= 2:
                    session.insert(uri, typed.line, typed.column, shown[0])
                    _, latency = await session.complete(uri, typed.line, typed.column + 1)
                    results["typed_through"].append(latency)
                left.append((uri, typed))
                if len(left) >= 2:
                    # Back to the previous file after working in this one: its prompt
                    # comes from a saved snapshot, not from scratch.
                    back_uri, back = left[-2]
                    again = _typed(back, 1)
                    session.reopen(back_uri, again.text)
                    _, latency = await session.complete(back_uri, again.line, again.column)
                    results["back_total"].append(latency)
                    stats = (await session.status()).get("lastCompletion") or {}
                    if stats.get("promptTokens"):
                        results["back_cached"].append(stats["cachedTokens"]
                                                      / stats["promptTokens"])
        finally:
            await session.stop()
    return raw_results, results


async def run_idle(cursors: list[Cursor], settings: dict[str, Any], rest_s: float
                   ) -> dict[str, list[float]]:
    """The scenarios idle-time work is for, each cursor in a file of its own (cold):
    open the file, let the cursor rest `rest_s` (the client's ``ghostline/cursorIdle``),
    type one character and ask; with the suggestion shown, type its first character (served
    from it), read it for `rest_s`, accept the rest and ask again where the cursor now is;
    then press Enter and ask on the new line."""
    results: dict[str, list[float]] = {"rest_then_type": [], "rest_then_type_first": [],
                                       "after_accept": [], "after_accept_ready": [],
                                       "after_enter": [], "after_enter_ready": [],
                                       "typed_through": []}
    async with _session_over(cursors, settings) as (session, paths):
        try:
            for path, cursor in zip(paths, cursors, strict=True):
                uri = session.open(path)
                session.cursor_idle(uri, cursor.line, cursor.column)
                await asyncio.sleep(rest_s)
                session.insert(uri, cursor.line, cursor.column, cursor.truth[0])
                column = cursor.column + 1
                shown, latency = await session.complete(uri, cursor.line, column)
                results["rest_then_type"].append(latency)
                first = _first_token_latency(latency, await session.status())
                if first is not None:
                    results["rest_then_type_first"].append(first)
                if len(shown) < 2 or "\n" in shown:
                    continue
                # Typing its first character at once: served from the shown suggestion
                # while the idle-time work for it (if on) runs.
                session.insert(uri, cursor.line, column, shown[0])
                _, latency = await session.complete(uri, cursor.line, column + 1)
                results["typed_through"].append(latency)
                await asyncio.sleep(rest_s)  # reading the suggestion
                session.insert(uri, cursor.line, column + 1, shown[1:])
                _, latency = await session.complete(uri, cursor.line, column + len(shown))
                results["after_accept"].append(latency)
                source = ((await session.status()).get("lastCompletion") or {}).get("source")
                results["after_accept_ready"].append(1.0 if source in ("cache", "typed")
                                                     else 0.0)
                # Enter, indented as an editor indents (as the line; deeper after a colon),
                # and ask at the start of the new line.
                end = column + len(shown)
                line_text = cursor.text.split("\n")[cursor.line][: cursor.column] + \
                    cursor.truth[0] + shown
                indent = line_text[: len(line_text) - len(line_text.lstrip())]
                indent += "    " if line_text.rstrip().endswith(":") else ""
                session.insert(uri, cursor.line, end, "\n" + indent)
                _, latency = await session.complete(uri, cursor.line + 1, len(indent))
                results["after_enter"].append(latency)
                source = ((await session.status()).get("lastCompletion") or {}).get("source")
                results["after_enter_ready"].append(1.0 if source in ("cache", "typed")
                                                    else 0.0)
        finally:
            await session.stop()
    return results


def _first_token_latency(latency: float, status: dict[str, Any]) -> float | None:
    """When the editor could have shown the first token: the request's latency less what
    the model spent after its first token (None when the model was not asked)."""
    stats = status.get("lastCompletion") or {}
    first, backend = stats.get("first_token_s"), stats.get("backendS")
    if first is None or backend is None:
        return None
    return latency - max(float(backend) - float(first), 0.0)


def _record(results: dict[str, list[float]], kind: str, timing: tuple[float, float]) -> None:
    results[f"{kind}_total"].append(timing[0])
    results[f"{kind}_first"].append(timing[1])


# -- report ------------------------------------------------------------------------------


def _p(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _row(name: str, raw: list[float] | None, server: list[float], target: str,
         width: int = 32) -> str:
    """p50 and p90 of each side, and the median of the per-cursor ratios (b)/(a): the two
    sides of a pair ran one after the other, so the ratio cancels the machine's drifts,
    and the median of ratios does not depend on which cursor sits at each side's p50."""
    pairs = [b / a for a, b in zip(raw or [], server, strict=False) if a > 0]
    ratio = statistics.median(pairs) if pairs else float("nan")
    raw_text = (f"{_p(raw, 0.5) * 1000:8.0f} {_p(raw, 0.9) * 1000:8.0f}" if raw
                else f"{'-':>8} {'-':>8}")
    return (f"{name:<{width}} {raw_text} {_p(server, 0.5) * 1000:8.0f} "
            f"{_p(server, 0.9) * 1000:8.0f} {ratio:7.2f}  {target}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ghostline bench latency")
    parser.add_argument("--cursors", type=int, default=12)
    parser.add_argument("--model", default="")
    parser.add_argument("--prompt-tokens", type=int, default=768)
    parser.add_argument("--rest", type=float, default=2.0,
                        help="seconds the cursor rests before typing, and a suggestion is "
                        "read before it is accepted (the idle-time scenarios)")
    parser.add_argument("--line-suffix-tokens", type=int, default=Settings().line_suffix_tokens,
                        help="a single-line completion's FIM suffix at most this many tokens, "
                        "on both sides (0: the block's share)")
    parser.add_argument("--no-idle", action="store_true",
                        help="skip the idle-time scenarios (prefill, the suggestion ahead)")
    args = parser.parse_args(argv)
    model = resolve_model_path(args.model)
    threads = os.cpu_count() or 1
    settings = Settings(model=args.model, prompt_tokens=args.prompt_tokens, time_limit_s=30.0,
                        threads=threads, line_suffix_tokens=args.line_suffix_tokens)
    # The same prompt on both sides: raw llama-cpp-python gets the server's local window, so
    # the server runs without cross-file context here (`bench quality` measures that).
    server_settings = {"model": args.model, "promptTokens": args.prompt_tokens,
                       "timeLimitS": 30.0, "threads": threads, "contextTokens": 0,
                       "contextSources": [], "idlePrefill": False, "coldBudgetMs": 0,
                       "lineSuffixTokens": args.line_suffix_tokens}
    cursors = pick_cursors(args.cursors)
    print(f"{len(cursors)} cursors in {', '.join(sorted({c.name for c in cursors}))} "
          f"(Python {sysconfig.get_python_version()} standard library); model {model.name}; "
          f"{os.cpu_count()} CPUs")

    raw_llama = RawLlama(settings, model)
    raw, server = asyncio.run(run_paired(cursors, raw_llama, server_settings))
    raw_first, first = asyncio.run(run_paired(cursors, raw_llama,
                                              {**server_settings, "maxTokens": 1}))
    idle: dict[str, dict[str, list[float]]] = {}
    if not args.no_idle:
        for name, extra in IDLE_ARMS.items():
            idle[name] = asyncio.run(run_idle(cursors, {**server_settings, **extra}, args.rest))
    for path in Path(tempfile.gettempdir()).glob("ghostline-bench-*"):
        shutil.rmtree(path, ignore_errors=True)
    print(f"prompt tokens (cold): median {statistics.median(raw['prompt_tokens']):.0f}, "
          f"max {max(raw['prompt_tokens']):.0f}; share of the warm prompt reused from the "
          f"KV cache: median {_p(first['cached_tokens'], 0.5):.1%}")
    print(f"\n{'ms':<32} {'raw p50':>8} {'raw p90':>8} {'srv p50':>8} {'srv p90':>8} "
          f"{'ratio':>7}  target   (ratio: median of per-cursor (b)/(a))")
    print(_row("cold, one line (total)", raw["cold_total"], server["cold_total"],
               "srv p50 <= 1500 ms; ratio <= 1.10"))
    print(_row("cold, first token", raw_first["cold_first"], first["cold_total"], ""))
    print(_row("warm after 1-3 chars (total)", raw["warm_total"], server["warm_total"],
               "ratio <= 1.10"))
    print(_row("warm after 1-3 chars, 1st token", raw_first["warm_first"], first["warm_total"],
               "srv p50 <= 100 ms"))
    print(_row("typing through a suggestion", None, server["typed_through"],
               "srv p50 <= 20 ms"))
    print(_row("back to the last file (total)", raw["cold_total"], server["back_total"],
               "raw: cold (one sequence)"))
    print(_row("back to the last file, 1st token", raw_first["cold_first"], first["back_total"],
               ""))
    print(f"share of the prompt reused when going back to the last file: median "
          f"{_p(first['back_cached'], 0.5):.1%}")
    if idle:
        _print_idle(idle, args.rest)
    return 0


#: The idle-time scenarios' sessions: nothing, the cold window alone, both (the defaults).
IDLE_ARMS: dict[str, dict[str, Any]] = {
    "off": {"idlePrefill": False, "coldBudgetMs": 0},
    "cold": {"idlePrefill": False, "coldBudgetMs": Settings().cold_budget_ms},
    "on": {"idlePrefill": True, "coldBudgetMs": Settings().cold_budget_ms},
}


def _print_idle(idle: dict[str, dict[str, list[float]]], rest_s: float) -> None:
    """Each arm against "off", the same cursors (ratio: median of per-cursor arm/off)."""
    off = idle["off"]
    print(f"\nidle-time work, {rest_s:g} s of rest before each request; total latency, ms; "
          f"off: neither; cold: coldBudgetMs={Settings().cold_budget_ms} only; on: it and "
          f"idlePrefill (the defaults)")
    print(f"{'ms':<44} {'off p50':>8} {'off p90':>8} {'arm p50':>8} {'arm p90':>8} "
          f"{'ratio':>7}  target")
    rows = (("open, no prefill, type 1 char [cold]", "cold", "rest_then_type", ""),
            ("  the same, first token [cold]", "cold", "rest_then_type_first",
             "arm p50 <= coldBudgetMs"),
            ("open, rest, type 1 char [on]", "on", "rest_then_type", "arm p50 <= 1000 ms"),
            ("  the same, first token [on]", "on", "rest_then_type_first", ""),
            ("typing through, idle work running [on]", "on", "typed_through",
             "arm p50 <= 20 ms"),
            ("after accepting a suggestion [on]", "on", "after_accept", "arm p50 <= 50 ms"),
            ("  then Enter: the line below [on]", "on", "after_enter", ""))
    for name, arm, key, target in rows:
        print(_row(name, off[key], idle[arm][key], target, width=44))
    for key, what in (("after_accept_ready", "after accepting"),
                      ("after_enter_ready", "then Enter")):
        ready = idle["on"][key]
        if ready:
            print(f"{what}: the next suggestion was ready (cache) for {sum(ready):.0f} of "
                  f"{len(ready)}")
