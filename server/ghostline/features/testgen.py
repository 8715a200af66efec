"""Generate tests for the function, method or class at a position.

Plain feature code (no LSP types): find the target, decide where its tests go, build the
context, let the model write tests one at a time (a base model continues the test file from
a lead-in such as ``def test_restock_``; an instruction model answers a chat request), keep
each test only if it parses, uses the target, copies no earlier test and (Python) uses no
undefined name or fixture; rename on a name clash; retry once with the rejection reasons in
the prompt; optionally run the tests, repair failures and keep the tests that pass three
runs in a row and (Python) add coverage or catch a mutant (docs/generate-tests.md). The
result is a list of
insertions into the test file (or its full text when it is new): existing lines are never
rewritten.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ghostline.context.testgen import build_context, find_target, parse_definitions
from ghostline.engine.base import Engine, Finished, GenerationRequest, ModelInfo, Token
from ghostline.features.testgen_coverage import (
    CoverageReport,
    covered_by_others,
    measure_coverage,
    select_by_coverage,
    summarize,
)
from ghostline.features.testgen_mutants import run_mutants
from ghostline.features.testgen_observed import observe, unit_line, with_observed_value
from ghostline.features.testgen_runner import RunResult, run_tests
from ghostline.index.resolve import python_module
from ghostline.index.testgen_imports import (
    ImportNeed,
    Insertion,
    apply_insertions,
    existing_imports,
    merge_imports,
)
from ghostline.index.testgen_locations import GenPlan, plan_test_file
from ghostline.index.testgen_target import GenContext, Target
from ghostline.postprocess.testgen_output import (
    Arity,
    body_key,
    complete_unit,
    js_arity,
    js_call_problem,
    js_undefined_names,
    python_arity,
    python_call_problem,
    python_names,
    rename_unit,
    repeated_line_run,
    set_unit_name,
    stdlib_module,
    syntax_errors,
    unit_closed,
    unit_name,
    uses_name,
)
from ghostline.prompts.instruct import extract_code, is_instruction_model
from ghostline.prompts.testgen import (
    GenStyle,
    base_prompt,
    chat_coverage_messages,
    chat_messages,
    chat_repair_messages,
    header_for_new_file,
    style_for,
)
from ghostline.settings import Settings

log = logging.getLogger(__name__)

#: Tests asked for per action.
TEST_COUNT = 3
#: Lead-ins tried per round (each a separate, short generation).
ATTEMPTS_PER_ROUND = 4
RETRY_ATTEMPTS = 3
MAX_TOKENS_PER_TEST = 96
MAX_TOKENS_NAME = 16
#: A generated line longer than this is the model looping inside one line.
MAX_LINE_CHARS = 160
MAX_TOKENS_CHAT = 900
GENERATION_TIME_LIMIT_S = 60.0
#: Once a test is kept, no further one is started after this many seconds.
ENOUGH_AFTER_S = 20.0
RUN_TIME_LIMIT_S = 60.0
#: Runs in a row a generated test must pass to be kept.
RELIABLE_RUNS = 3
#: Rounds of repair: the second only when no test passed after the first.
REPAIR_ROUNDS = 2
#: Rounds of taking expected values from the code (one failing assert per test a round).
OBSERVED_ROUNDS = 3
#: Below this share of the target's lines covered, ask once for tests of the others...
COVERAGE_GOAL = 0.8
#: ...if the command started less than this long ago.
COVERAGE_ROUND_BEFORE_S = 75.0
#: Uncovered lines shown to the model at most.
COVERAGE_LINES_SHOWN = 20
#: A mutant's run may take this many times the slowest plain run (at least the floor
#: below, at most RUN_TIME_LIMIT_S): a mutant that loops forever is caught by its time-out.
MUTANT_TIME_FACTOR = 5.0
MUTANT_TIME_FLOOR_S = 10.0
_ASSERTION = {
    "python": re.compile(r"\bassert|\.assert\w*\(|pytest\.raises|self\.fail\("),
    "js": re.compile(r"\bexpect\((?:[^;]|\n)*?\)\s*\.\s*(?:not\s*\.\s*|resolves\s*\.\s*|"
                     r"rejects\s*\.\s*)?to\w*\(|\bassert(?:\.\w+)?\("),
    "go": re.compile(r"\bt\.(?:Error|Errorf|Fatal|Fatalf|Fail|FailNow)\b"),
    "rust": re.compile(r"\bassert(?:_eq|_ne)?!|\bpanic!|should_panic"),
    "java": re.compile(r"\bassert\w*\(|\bfail\("),
}
_JS = frozenset({"javascript", "typescript", "tsx"})
_VITEST_GLOBALS = ("describe", "it", "test", "expect", "vi", "beforeEach", "afterEach")
_GO_STD = ("fmt", "strings", "reflect", "errors", "math", "sort", "strconv", "bytes", "time",
           "os", "slices", "maps")
_JAVA_UTIL = ("List", "Arrays", "Map", "HashMap", "ArrayList", "Set", "HashSet", "Optional")

ProgressCallback = Callable[[str, "int | None"], None]


class GenError(Exception):
    """Nothing can be generated; the message is one sentence for the user."""


class GenerationCancelled(Exception):
    """The user cancelled the generation."""


class GenFileChanged(Exception):
    """The test file changed while tests were being written (the message says how)."""

    def __init__(self, reason: str, path: Path) -> None:
        super().__init__(reason)
        self.path = path


@dataclass
class GenRequest:
    """The document and position of the action (0-based line, UTF-8 byte column)."""

    path: Path
    text: str
    language: str
    line: int
    byte_col: int
    root: Path | None = None


CrossFile = Callable[[Path, str, Target], list[tuple[str, str]]]


@dataclass
class GenServices:
    """What the feature needs from the server."""

    engine: Engine
    model_info: ModelInfo | None
    settings: Settings
    read_text: Callable[[Path], str | None]
    #: Other files' code for the target (the context service under the test budget):
    #: (source path, source text, target) -> (path as shown, text) pairs in prompt order.
    #: None: the prompt shows the target's own file only.
    cross_file: CrossFile | None = None
    #: Test files the index knows for the source, nearest first (None: look on disk).
    existing_tests: list[Path] | None = None
    #: Says why the test file no longer matches what was read ("" while it does); polled
    #: between tests so a conflicting edit stops the work early.
    conflict: Callable[[Path], str] | None = None
    #: Run the generated tests before handing them over (the user's consent, resolved by
    #: the server from ``runGeneratedTests``): keep the ones that pass, repair the others.
    run_generated: bool = False


@dataclass
class GeneratedTests:
    """The edit to make: ``insertions`` into ``base_text`` (the test file as read; None
    when the file is new), giving ``new_text``."""

    target: str
    plan: GenPlan
    base_text: str | None
    insertions: list[Insertion]
    new_text: str
    tests: list[str]
    rejected: list[str] = field(default_factory=list)
    run: RunResult | None = None
    model_calls: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    #: Other files the prompt showed (as the prompt writes their paths).
    context_files: list[str] = field(default_factory=list)

    @property
    def creates_file(self) -> bool:
        return self.base_text is None


def target_at(request: GenRequest) -> Target | None:
    """The function, method or class at the request's position (None if there is none)."""
    module = python_module(request.path) if request.language == "python" else ""
    definitions = parse_definitions(request.text, request.path, request.language, module)
    return find_target(definitions, request.line, request.byte_col, request.text)


@dataclass
class _Unit:
    text: str
    name: str


@dataclass
class _RunClock:
    """Seconds spent running tests so far, and the slowest single run."""

    spent: float = 0.0
    slowest: float = 0.0

    def add_run(self, seconds: float) -> None:
        self.spent += seconds
        self.slowest = max(self.slowest, seconds)

    def mutant_limit(self) -> float:
        return min(RUN_TIME_LIMIT_S, max(MUTANT_TIME_FLOOR_S, MUTANT_TIME_FACTOR * self.slowest))


class GenJob:
    """One generation: context → model → checks → edit."""

    def __init__(
        self,
        request: GenRequest,
        services: GenServices,
        progress: ProgressCallback | None = None,
        cancelled: asyncio.Event | None = None,
    ) -> None:
        self.request = request
        self.services = services
        self.progress = progress or (lambda message, percent: None)
        self.cancelled = cancelled or asyncio.Event()
        self.model_calls = 0
        self.rejected: list[str] = []
        self.arity: Arity | None = None
        self.plan: GenPlan | None = None
        self.started = time.perf_counter()

    async def generate(self) -> GeneratedTests:
        started = self.started = time.perf_counter()
        request, services = self.request, self.services
        module = python_module(request.path) if request.language == "python" else ""
        definitions = parse_definitions(request.text, request.path, request.language, module)
        target = find_target(definitions, request.line, request.byte_col, request.text)
        if target is None:
            raise GenError("there is no function, method or class at the cursor")
        plan = plan_test_file(request.path, request.language, request.root,
                              services.existing_tests, services.read_text)
        if plan is None:
            raise GenError(f"generating tests for {request.language} is not supported")
        self.plan = plan
        cross_file = await self._cross_file(target)
        context = build_context(target, plan, request.text, definitions, services.read_text,
                                cross_file)
        style = style_for(plan.framework, plan.language, target)
        if target.language == "python":
            self.arity = python_arity(target.source, target.name)
        elif target.language in _JS and target.kind in ("function", "method"):
            self.arity = js_arity(target.source, target.language)
        target_needs = self._target_needs(context)
        label = f"{target.container}.{target.name}" if target.container else target.name
        self.progress(f"writing tests for {label}", 5)
        units = await self._round(context, style, target_needs, note="")
        if not units:
            note = self._note()
            log.info("no usable test in round 1 (%s); retrying", note)
            self.progress(f"retrying: {note}", 50)
            if not is_instruction_model(services.model_info):
                note = self._hint(target)
            units = await self._round(context, style, target_needs, note=note)
        if not units:
            raise GenError(
                f"the model wrote no usable test for {label} ({self._note()}); nothing was "
                "changed. Try again after adding a docstring or an example test, or set "
                "`ghostline.model` to a larger code model."
            )
        generated_s = time.perf_counter() - started
        run: RunResult | None = None
        if services.run_generated:
            units, run = await self._run_and_repair(context, style, target_needs, units)
        result = self._assemble(context, style, target_needs, units, label)
        result.run = run
        result.context_files = list(dict.fromkeys(path for path, _ in context.cross_file))
        result.timings = {"generate_s": generated_s, "total_s": time.perf_counter() - started}
        return result

    async def _cross_file(self, target: Target) -> list[tuple[str, str]]:
        """Other files' code for the prompt; none when it cannot be had (it improves the
        tests, it is never a reason not to write them)."""
        gather = self.services.cross_file
        if gather is None:
            return []
        try:
            return await asyncio.to_thread(gather, self.request.path, self.request.text, target)
        except Exception:
            log.exception("cross-file context for tests failed")
            return []

    # --- generation ---------------------------------------------------------------------------

    async def _round(
        self, context: GenContext, style: GenStyle, needs: list[ImportNeed], note: str
    ) -> list[_Unit]:
        if is_instruction_model(self.services.model_info):
            return await self._chat_round(context, style, needs, note)
        return await self._base_round(context, style, needs, note)

    async def _base_round(
        self, context: GenContext, style: GenStyle, needs: list[ImportNeed], note: str
    ) -> list[_Unit]:
        prompt = base_prompt(context, style, needs, self.request.root, note)
        accepted: list[_Unit] = []
        attempts = ATTEMPTS_PER_ROUND if not note else RETRY_ATTEMPTS
        misses = 0
        for attempt in range(attempts):
            if len(accepted) >= TEST_COUNT:
                break
            lead = style.leads[attempt % len(style.leads)]
            so_far = "".join(u.text + style.separator for u in accepted)
            body = style.body_for(lead)
            if body:  # the model names the test, the server starts its body
                lead = lead + await self._name(prompt + so_far + lead, style, attempt) + body
            text, truncated = await self._complete(prompt + so_far + lead, style, lead)
            unit = complete_unit(lead + text, style.language, style.frame.indent, truncated)
            checked = self._check(unit, context, style, accepted)
            log.debug("generated (truncated=%s): %r -> %s", truncated, lead + text,
                      "kept" if checked else self.rejected[-1])
            if checked is not None:
                accepted.append(checked)
                misses = 0
            else:
                misses += 1
            done = len(accepted) / TEST_COUNT
            self.progress(f"{len(accepted)} of {TEST_COUNT} tests written",
                          int(10 + 80 * max(done, (attempt + 1) / attempts)))
            self._check_still_valid()
            if accepted and misses >= 2:  # the model keeps writing the same: stop here
                break
            if accepted and time.perf_counter() - self.started > ENOUGH_AFTER_S:
                break  # the user is waiting: what is there will do
        return accepted

    async def _chat_round(
        self, context: GenContext, style: GenStyle, needs: list[ImportNeed], note: str
    ) -> list[_Unit]:
        messages = chat_messages(context, style, needs, self.request.root, TEST_COUNT, note)
        answer, _ = await self._stream(GenerationRequest(
            messages=messages, max_tokens=MAX_TOKENS_CHAT, temperature=0.0,
            time_limit_s=GENERATION_TIME_LIMIT_S, feature="generateTests"), watch_loops=False)
        return self._chat_units(answer, context, style, [])[:TEST_COUNT + 2]

    def _chat_units(
        self, answer: str, context: GenContext, style: GenStyle, accepted: list[_Unit],
    ) -> list[_Unit]:
        """The tests of a chat answer's code block that pass the checks (each checked
        against ``accepted`` and the ones before it)."""
        code = extract_code(answer, style.unit_start)
        kept: list[_Unit] = []
        starts = [m.start() for m in style.unit_start.finditer(code)]
        for start in starts:
            piece = _reindent(code[start:], style.frame.indent)
            unit = complete_unit(piece, style.language, style.frame.indent)
            checked = self._check(unit, context, style, [*accepted, *kept])
            if checked is not None:
                kept.append(checked)
        if not starts:
            self.rejected.append("the answer held no test")
        return kept

    async def _name(self, prompt: str, style: GenStyle, attempt: int) -> str:
        """The rest of a test's name, as the model writes it (a few tokens)."""
        request = GenerationRequest(
            prompt=prompt, max_tokens=MAX_TOKENS_NAME, temperature=0.0,
            stop=list(style.name_stops), time_limit_s=GENERATION_TIME_LIMIT_S,
            feature="generateTests")
        text, _ = await self._stream(request, watch_loops=False)
        name = re.sub(style.name_junk, "", text.split("\n")[0]).strip()[:60] if text else ""
        if style.language == "python":
            name = name.strip("_")
        return name or f"case_{attempt + 1}"

    async def _complete(self, prompt: str, style: GenStyle, lead: str) -> tuple[str, bool]:
        """One unit from the model: its text after the lead-in, and whether it was cut."""
        request = GenerationRequest(
            prompt=prompt, max_tokens=MAX_TOKENS_PER_TEST, temperature=0.0,
            stop=list(style.stops), time_limit_s=GENERATION_TIME_LIMIT_S,
            feature="generateTests",
        )

        def closed(text: str) -> bool:
            return unit_closed(lead + text, style.language, style.frame.indent)

        return await self._stream(request, watch_loops=True, closed=closed)

    async def _stream(
        self, request: GenerationRequest, watch_loops: bool,
        closed: Callable[[str], bool] | None = None,
    ) -> tuple[str, bool]:
        if self.cancelled.is_set():
            raise GenerationCancelled
        self.model_calls += 1
        pieces: list[str] = []
        finished: Finished | None = None
        looping = False
        ended = False
        stream = self.services.engine.stream(request)
        async with contextlib.aclosing(stream):  # type: ignore[type-var]
            async for item in stream:
                if self.cancelled.is_set():
                    raise GenerationCancelled
                if isinstance(item, Token):
                    pieces.append(item.text)
                    new_line = "\n" in item.text
                    if closed is not None and new_line and closed("".join(pieces)):
                        ended = True
                        break
                    if watch_loops and _looping("".join(pieces), new_line):
                        looping = True
                        break
                elif isinstance(item, Finished):
                    finished = item
        if self.cancelled.is_set():
            raise GenerationCancelled
        text = "".join(pieces)
        if looping:
            return _before_loop(text), False
        if ended:
            return text, False
        truncated = finished is not None and finished.reason in ("length", "time")
        return text, truncated

    def _check_still_valid(self) -> None:
        plan = self.plan
        if self.services.conflict is None or plan is None:
            return
        reason = self.services.conflict(plan.path)
        if reason:
            raise GenFileChanged(reason, plan.path)

    # --- checks -------------------------------------------------------------------------------

    def _check(
        self, unit: str | None, context: GenContext, style: GenStyle, accepted: list[_Unit]
    ) -> _Unit | None:
        language = style.language
        if unit is None:
            self.rejected.append("a test was cut off before its end")
            return None
        frame = style.frame
        errors = syntax_errors(frame.open + unit + "\n" + frame.close, language)
        if errors:
            self.rejected.append(f"a test does not parse ({errors[0]})")
            return None
        target = context.target
        if not uses_name(unit, language, target.name):
            self.rejected.append(f"a test does not call {target.name}")
            return None
        family = "js" if language in ("javascript", "typescript", "tsx") else language
        assertion = _ASSERTION.get(family)
        if assertion is not None and not assertion.search(unit):
            self.rejected.append("a test checks nothing (no assertion)")
            return None
        key = body_key(unit, language)
        if any(body_key(u.text, language) == key for u in accepted):
            self.rejected.append("a test repeats an earlier one")
            return None
        if language == "python":
            problem = self._python_names_problem(unit, context)
        elif language in _JS:
            problem = self._js_problem(unit, context)
        else:
            problem = ""
        if problem:
            self.rejected.append(problem)
            return None
        taken = {*context.existing_names, *(u.name for u in accepted)}
        renamed, name = rename_unit(unit, language, taken)
        return _Unit(renamed, name or f"test {len(accepted) + 1}")

    def _python_names_problem(self, unit: str, context: GenContext) -> str:
        known = set(context.importable) | set(context.fixtures) | {"pytest", "unittest", "self"}
        if context.existing_text:
            known.update(_python_top_level_names(context.existing_text))
        names = python_names(unit, known, context.fixtures)
        undefined = [n for n in names.undefined if not stdlib_module(n)]
        if undefined:
            return f"a test uses the undefined name {undefined[0]!r}"
        if names.unknown_fixtures and context.plan.framework == "pytest":
            return f"a test asks for the unknown fixture {names.unknown_fixtures[0]!r}"
        if self.arity is not None:
            return python_call_problem(unit, context.target.name, self.arity)
        return ""

    def _js_problem(self, unit: str, context: GenContext) -> str:
        if re.search(r"\bthis\.", unit):
            return "a test uses `this`, which is undefined in a test callback"
        known = set(context.importable) | {context.target.name}
        if context.existing_text:
            known.update(re.findall(r"\b(?:const|let|var|function|class)\s+([\w$]+)",
                                    context.existing_text))
            known.update(n.local_name for i in existing_imports(context.existing_text,
                                                                context.target.language)
                         for n in i.names)
        undefined = js_undefined_names(unit, context.target.language, known)
        if undefined:
            return f"a test uses the undefined name {undefined[0]!r}"
        if self.arity is not None:
            return js_call_problem(unit, context.target.name, self.arity, context.target.language)
        return ""

    def _note(self) -> str:
        """The most frequent rejection reasons so far, for the retry prompt and the user."""
        counts: dict[str, int] = {}
        for reason in self.rejected:
            counts[reason] = counts.get(reason, 0) + 1
        ranked = sorted(counts, key=lambda r: -counts[r])
        return "; ".join(ranked[:2]) or "no test came back"

    def _hint(self, target: Target) -> str:
        """The retry note for a base model: what a good test does, as a code comment a
        small model can follow (it copies words, so the note holds no failure words)."""
        for reason in self.rejected:
            if "; it takes " in reason:
                return f"{target.name} takes {reason.split('; it takes ', 1)[1]}."
        return (f"Each test calls {target.name} with literal values and asserts the value it "
                "returns.")

    # --- imports and the edit ---------------------------------------------------------------

    def _target_needs(self, context: GenContext) -> list[ImportNeed]:
        target, plan = context.target, context.plan
        if plan.language == "python":
            return [ImportNeed(plan.import_from, (target.importable_name,))]
        if plan.language in ("javascript", "typescript", "tsx"):
            name = target.importable_name
            if name not in context.importable:
                raise GenError(
                    f"{name} is not exported from {target.path.name}; export it to test it")
            return [ImportNeed(plan.import_from, (name,))]
        return []

    def _needs(
        self, context: GenContext, style: GenStyle, target_needs: list[ImportNeed],
        code: str,
    ) -> list[ImportNeed]:
        language = style.language
        needs: list[ImportNeed] = []
        for need in style.needs:
            if language in ("javascript", "typescript", "tsx") and need.names:
                used = tuple(n for n in need.names if re.search(rf"\b{n}\s*\(", code))
                if used:
                    needs.append(ImportNeed(need.module, used))
            elif need.default and not re.search(rf"\b{need.default}\b", code):
                continue
            else:
                needs.append(need)
        needs.extend(target_needs)
        if language == "python":
            known = set(context.fixtures) | {"self"}
            if context.existing_text:
                known.update(_python_top_level_names(context.existing_text))
            for name in python_names(code, known, context.fixtures).undefined:
                if name in context.importable:
                    needs.append(context.importable[name])
                elif stdlib_module(name) or name in ("pytest", "unittest"):
                    needs.append(ImportNeed(name))
        elif language in ("javascript", "typescript", "tsx"):
            if style.framework == "vitest" or (
                style.framework == "jest" and "@jest/globals" in (context.existing_text or "")
            ):
                module = "vitest" if style.framework == "vitest" else "@jest/globals"
                used = tuple(g for g in _VITEST_GLOBALS if re.search(rf"\b{g}\s*[(.]", code))
                needs.insert(0, ImportNeed(module, used))
            for name, need in context.importable.items():
                if re.search(rf"(?<![\w$.]){re.escape(name)}(?![\w$])", code):
                    needs.append(need)
        elif language == "go":
            needs.extend(ImportNeed(p) for p in _GO_STD if re.search(rf"\b{p}\.", code))
        elif language == "java":
            needs.extend(ImportNeed("java.util", (n,)) for n in _JAVA_UTIL
                         if re.search(rf"\b{n}\b", code))
        return needs

    def _assemble(
        self, context: GenContext, style: GenStyle, target_needs: list[ImportNeed],
        units: list[_Unit], label: str,
    ) -> GeneratedTests:
        plan = context.plan
        body = style.separator.join(u.text for u in units)
        needs = self._needs(context, style, target_needs, style.frame.open + body)
        base = context.existing_text if plan.exists else None
        if plan.in_source:
            base = self.request.text
        if base is None:
            header = _package_clause(plan) + header_for_new_file(style, needs)
            gap = "\n\n" if style.language == "python" else "\n"
            text = (header + gap if header else "") + style.frame.open + body + "\n"
            text += style.frame.close
            insertions = [Insertion(0, 0, text)]
            new_text = text
        else:
            insertions = _append(base, style, needs, body)
            new_text = apply_insertions(base, insertions)
        errors = syntax_errors(new_text, style.language)
        if errors and (base is None or not syntax_errors(base, style.language)):
            raise GenError(f"the assembled test file does not parse ({errors[0]})")
        return GeneratedTests(
            target=label, plan=plan, base_text=base, insertions=insertions, new_text=new_text,
            tests=[u.name for u in units], rejected=list(self.rejected),
            model_calls=self.model_calls,
        )

    # --- running ------------------------------------------------------------------------------

    async def _run_and_repair(
        self, context: GenContext, style: GenStyle, needs: list[ImportNeed],
        units: list[_Unit],
    ) -> tuple[list[_Unit], RunResult]:
        """Run the tests and repair the failing ones (a second round only while none
        passes; then, as a last resort, expected values taken from the code), keep those
        that pass :data:`RELIABLE_RUNS` runs in a row, then measure coverage and mutants
        (Python)."""
        self._check_cancelled()
        self.progress(f"running the tests (run 1 of {RELIABLE_RUNS})", 90)
        first = await self._run(context, style, needs, units)
        if not first.ran:
            log.info("generated tests not run: %s", first.reason)
            first.runs = 0
            first.coverage_note = f"coverage not measured: {first.reason}"
            first.mutants_note = f"mutants not run: {first.reason}"
            return units, first
        clock = _RunClock(first.seconds, first.seconds)
        passing, failed = self._split(context.plan, style, units, first)
        for round_number in range(REPAIR_ROUNDS):
            if not failed or (passing and round_number > 0):
                break  # a second round only while no test passes
            passing, failed, units = await self._repair_and_rerun(
                context, style, needs, units, passing, failed, clock)
        observed: dict[str, str] = {}
        if not passing and failed and context.plan.language == "python":
            passing, failed, units, observed = await self._take_observed(
                context, style, needs, units, failed, clock)
        passing, flaky = await self._rerun(context, style, needs, passing, clock)
        self.rejected.extend(f"{n} failed: {m}" for n, m in failed.items())
        self.rejected.extend(f"{n} is flaky ({m})" for n, m in flaky.items())
        if not passing:
            first_failure = next(iter([*failed.values(), *flaky.values()]),
                                 first.reason or "no test passed")
            how = "reliably " if flaky else ""
            raise GenError(
                f"none of the generated tests passed {how}({first_failure}); nothing was "
                "changed")
        result = RunResult(True, passed=[u.name for u in passing], failed=failed,
                           command=first.command, output=first.output, runs=RELIABLE_RUNS,
                           flaky=flaky,
                           observed={n: m for n, m in observed.items()
                                     if any(u.name == n for u in passing)})
        kept = await self._measure_quality(context, style, needs, passing, result, clock)
        result.seconds = clock.spent
        return kept, result

    def _split(self, plan: GenPlan, style: GenStyle, units: list[_Unit], result: RunResult
               ) -> tuple[list[_Unit], dict[str, str]]:
        """The units that passed, and the others' failures (by unit name)."""
        passing = [u for u in units if self._run_name(plan, style, u) in result.passed
                   or u.name in result.passed]
        failed = {u.name: result.failed.get(self._run_name(plan, style, u))
                  or result.failed.get(u.name) or "did not run"
                  for u in units if u not in passing}
        return passing, failed

    async def _repair_and_rerun(
        self, context: GenContext, style: GenStyle, needs: list[ImportNeed],
        units: list[_Unit], passing: list[_Unit], failed: dict[str, str], clock: _RunClock,
    ) -> tuple[list[_Unit], dict[str, str], list[_Unit]]:
        """One repair round for the failing tests (``failed``: failure by unit name); the
        repaired ones run once more (their first run), and those that pass join
        ``passing`` in their original place. Returns the passing tests, the failures and
        all tests as they now are."""
        failing = [u for u in units if u.name in failed]
        self.progress(f"repairing {len(failing)} failing tests", 91)
        repaired = await self._repair(context, style, needs, units, failing, failed)
        retry = [repaired[u.name] for u in failing if u.name in repaired]
        if not retry:
            return passing, failed, units
        self._check_cancelled()
        self.progress(f"running the repaired tests (run 1 of {RELIABLE_RUNS})", 92)
        again = await self._run(context, style, needs, retry)
        clock.add_run(again.seconds)
        fixed, still = self._split(context.plan, style, retry, again)
        fixed_names = {u.name for u in fixed}
        order = [repaired.get(u.name, u) for u in units]
        passing_names = {u.name for u in passing} | fixed_names
        # failures by the name each test now has (a repaired one may have a new one)
        failed = {unit.name: still.get(unit.name) or failed.get(unit.name, "did not run")
                  for unit in order if unit.name not in passing_names}
        return [u for u in order if u.name in passing_names], failed, order

    async def _take_observed(
        self, context: GenContext, style: GenStyle, needs: list[ImportNeed],
        units: list[_Unit], failed: dict[str, str], clock: _RunClock,
    ) -> tuple[list[_Unit], dict[str, str], list[_Unit], dict[str, str]]:
        """The last resort when no test passed: each failing ``assert got == expected``
        expects what the code returned instead (see `testgen_observed`), one assert per
        round, for up to :data:`OBSERVED_ROUNDS` rounds. Returns the tests that then pass,
        the failures left, all tests as they now are, and what changed."""
        self._check_cancelled()
        self.progress("no test passed: taking the expected values from the code", 93)
        current = {u.name: u for u in units}
        changes: dict[str, list[str]] = {}
        fixed: set[str] = set()
        for _ in range(OBSERVED_ROUNDS):
            failing = [current[n] for n in failed if n in current and n not in fixed]
            if not failing:
                break
            candidate, names = self._candidate(context, style, needs, failing)
            started = time.perf_counter()
            comparisons = await observe(context.plan, candidate, names, RUN_TIME_LIMIT_S)
            clock.add_run(time.perf_counter() - started)
            retry: list[_Unit] = []
            for unit in failing:
                comparison = comparisons.get(unit.name.rpartition(".")[2])
                text = with_observed_value(
                    unit.text, comparison, unit_line(candidate, unit.text, comparison)
                ) if comparison else None
                if text is None or comparison is None:
                    continue
                current[unit.name] = _Unit(text, unit.name)
                retry.append(current[unit.name])
                changes.setdefault(unit.name, []).append(
                    f"expected {comparison.right[:60]}, the code returned "
                    f"{comparison.left[:60]}")
            if not retry:
                break
            again = await self._run(context, style, needs, retry)
            clock.add_run(again.seconds)
            passed, still = self._split(context.plan, style, retry, again)
            fixed |= {u.name for u in passed}
            failed = {n: still.get(n, m) for n, m in failed.items() if n not in fixed}
        order = [current[u.name] for u in units]
        return ([u for u in order if u.name in fixed], failed, order,
                {n: "; ".join(c) for n, c in changes.items() if n in fixed})

    async def _rerun(
        self, context: GenContext, style: GenStyle, needs: list[ImportNeed],
        passing: list[_Unit], clock: _RunClock,
    ) -> tuple[list[_Unit], dict[str, str]]:
        """Runs 2 to :data:`RELIABLE_RUNS` of the passing tests only; a test that fails one
        is flaky (name → which run, and its failure)."""
        flaky: dict[str, str] = {}
        for run in range(2, RELIABLE_RUNS + 1):
            if not passing:
                break
            self._check_cancelled()
            self.progress(f"running the tests (run {run} of {RELIABLE_RUNS})", 91 + run)
            result = await self._run(context, style, needs, passing)
            clock.add_run(result.seconds)
            passing, failures = self._split(context.plan, style, passing, result)
            flaky.update({n: f"failed run {run} of {RELIABLE_RUNS}: {m}"
                          for n, m in failures.items()})
        return passing, flaky

    async def _measure_quality(
        self, context: GenContext, style: GenStyle, needs: list[ImportNeed],
        units: list[_Unit], result: RunResult, clock: _RunClock,
    ) -> list[_Unit]:
        """Coverage, then mutants: drop the tests that add nothing (never the last one)."""
        plan, target = context.plan, context.target
        self._check_cancelled()
        if plan.language == "python":
            self.progress("measuring coverage", 96)
        candidate, names = self._candidate(context, style, needs, units)
        by_name = dict(zip(names, units, strict=True))
        coverage = await measure_coverage(plan, candidate, names, target, RUN_TIME_LIMIT_S)
        clock.spent += coverage.seconds
        result.coverage_note = coverage.note
        report = coverage.report
        if report is not None and self._wants_more_coverage(report):
            added = await self._cover_more(context, style, needs, units, report, result, clock)
            if added:
                units = [*units, *added]
                candidate, names = self._candidate(context, style, needs, units)
                by_name = dict(zip(names, units, strict=True))
                again = await measure_coverage(plan, candidate, names, target,
                                               RUN_TIME_LIMIT_S)
                clock.spent += again.seconds
                if again.report is not None:
                    report = again.report
                    result.passed.extend(u.name for u in added)
        if report is not None:
            names, dropped = select_by_coverage(names, report)
            self._drop(result, [by_name[n] for n in dropped], "adds no coverage")
        self._check_cancelled()
        candidate, _ = self._candidate(context, style, needs, [by_name[n] for n in names])

        def starting(count: int) -> None:
            self.progress(f"trying {count} mutants", 97)

        mutants = await run_mutants(plan, candidate, names, target, clock.mutant_limit(),
                                    on_start=starting)
        clock.spent += mutants.seconds
        result.mutants, result.mutants_note = mutants.report, mutants.note
        if mutants.report is not None and report is not None:
            catching = {n for item in mutants.report.items for n in item.caught_by}
            for name in list(names):
                others = [o for o in names if o != name]
                if others and name not in catching and covered_by_others(name, others, report):
                    names = others
                    self._drop(result, [by_name[name]],
                               "catches no mutant and covers nothing the others do not")
        if report is not None:
            result.coverage = summarize(report, names)
        return [by_name[n] for n in names]

    def _wants_more_coverage(self, report: CoverageReport) -> bool:
        """A coverage round is worth its time: per-test data to tell the uncovered lines (not
        a whole-run report: vitest, go), an instruction model, lines left uncovered below the
        goal, and the user not yet waiting long."""
        return (bool(report.per_test) and is_instruction_model(self.services.model_info)
                and report.lines_total > 0
                and report.lines / report.lines_total < COVERAGE_GOAL
                and time.perf_counter() - self.started < COVERAGE_ROUND_BEFORE_S)

    async def _cover_more(
        self, context: GenContext, style: GenStyle, needs: list[ImportNeed],
        units: list[_Unit], report: CoverageReport, result: RunResult, clock: _RunClock,
    ) -> list[_Unit]:
        """Ask for tests that run the target's uncovered lines (shown to the model), and
        keep those that pass :data:`RELIABLE_RUNS` runs (no repair: a coverage round is a
        bonus, not the answer)."""
        covered = set().union(*(c.lines for c in report.per_test.values()))
        missing = sorted(report.statements - covered)
        source = self.request.text.split("\n")
        shown = [f"{n}: {source[n - 1].strip()}" for n in missing if 0 < n <= len(source)]
        if not shown:
            return []
        self._check_cancelled()
        self.progress(f"writing tests for {len(missing)} uncovered lines", 96)
        messages = chat_coverage_messages(
            chat_messages(context, style, needs, self.request.root, TEST_COUNT), style,
            [u.text for u in units], shown[:COVERAGE_LINES_SHOWN])
        answer, _ = await self._stream(GenerationRequest(
            messages=messages, max_tokens=MAX_TOKENS_CHAT, temperature=0.0,
            time_limit_s=GENERATION_TIME_LIMIT_S, feature="generateTests"), watch_loops=False)
        taken = {*context.existing_names, *(u.name for u in units)}
        new: list[_Unit] = []
        for unit in self._chat_units(answer, context, style, units):
            text, name = rename_unit(unit.text, style.language, taken)
            taken.add(name or unit.name)
            new.append(_Unit(text, name or unit.name))
        if not new:
            return []
        self.progress(f"running the new tests (run 1 of {RELIABLE_RUNS})", 97)
        first = await self._run(context, style, needs, new)
        clock.add_run(first.seconds)
        passing, failed = self._split(context.plan, style, new, first)
        passing, flaky = await self._rerun(context, style, needs, passing, clock)
        self._drop(result, [u for u in new if u.name in failed or u.name in flaky],
                   "(written for uncovered lines) failed")
        return passing

    def _drop(self, result: RunResult, units: list[_Unit], reason: str) -> None:
        for unit in units:
            result.dropped[unit.name] = reason
            self.rejected.append(f"{unit.name} {reason}")

    def _check_cancelled(self) -> None:
        if self.cancelled.is_set():
            raise GenerationCancelled

    async def _run(self, context: GenContext, style: GenStyle, needs: list[ImportNeed],
                   units: list[_Unit]) -> RunResult:
        candidate, names = self._candidate(context, style, needs, units)
        return await run_tests(context.plan, candidate, names, RUN_TIME_LIMIT_S)

    def _candidate(self, context: GenContext, style: GenStyle, needs: list[ImportNeed],
                   units: list[_Unit]) -> tuple[str, list[str]]:
        """The test file to run with ``units``, and the units' names as the runner knows them."""
        plan = context.plan
        assembled = self._assemble(context, style, needs, units, "")
        candidate = assembled.new_text
        if plan.language == "go" and assembled.base_text is not None:
            body = style.separator.join(u.text for u in units)
            candidate = (_package_clause(plan)
                         + header_for_new_file(style, self._needs(context, style, needs, body))
                         + "\n" + body + "\n")
        return candidate, [self._run_name(plan, style, u) for u in units]

    def _run_name(self, plan: GenPlan, style: GenStyle, unit: _Unit) -> str:
        if plan.framework == "unittest":
            class_name = style.frame.open.split("(")[0].removeprefix("class ").strip()
            return f"{class_name}.{unit.name}"
        return unit.name

    async def _repair(
        self, context: GenContext, style: GenStyle, needs: list[ImportNeed],
        units: list[_Unit], failing: list[_Unit], failures: dict[str, str],
    ) -> dict[str, _Unit]:
        """A corrected version of each failing test the model could correct, by the failing
        test's name (the repaired test keeps that name where it can be written);
        ``failures``: what the run showed, by unit name."""
        passing = [u for u in units if u not in failing]
        if is_instruction_model(self.services.model_info):
            candidates = await self._chat_repair(context, style, needs, units, failing,
                                                 failures)
        else:
            candidates = {}
            for unit in failing:
                candidate = await self._base_repair(context, style, needs, passing, unit,
                                                    failures[unit.name])
                if candidate is not None:
                    candidates[unit.name] = candidate
        repaired: dict[str, _Unit] = {}
        for unit in failing:
            candidate = candidates.get(unit.name)
            if candidate is None:
                continue
            renamed, _ = rename_unit(candidate.text, style.language,
                                     {*context.existing_names,
                                      *(u.name for u in units if u is not unit)})
            name = unit_name(renamed, style.language) or unit.name
            retitled = renamed if name == unit.name else \
                set_unit_name(renamed, style.language, unit.name)
            repaired[unit.name] = (_Unit(retitled, unit.name) if retitled is not None
                                   else _Unit(renamed, name))
        return repaired

    async def _base_repair(
        self, context: GenContext, style: GenStyle, needs: list[ImportNeed],
        passing: list[_Unit], unit: _Unit, failure: str,
    ) -> _Unit | None:
        """A base model rewrites the test's body under its header, told the failure."""
        note = f"{unit.name} failed: {' '.join(failure.split())[:200]}. Corrected test:"
        prompt = base_prompt(context, style, needs, self.request.root, note)
        header = unit.text.split("\n", 1)[0]
        so_far = "".join(u.text + style.separator for u in passing)
        text, truncated = await self._complete(prompt + so_far + header, style, header)
        return self._check(
            complete_unit(header + text, style.language, style.frame.indent, truncated),
            context, style, passing)

    async def _chat_repair(
        self, context: GenContext, style: GenStyle, needs: list[ImportNeed],
        units: list[_Unit], failing: list[_Unit], failures: dict[str, str],
    ) -> dict[str, _Unit]:
        """An instruction model sees its tests and what running them showed, in one
        conversation, and answers with the failing tests corrected. A corrected test is
        matched to a failing one by name, else in order."""
        messages = chat_repair_messages(
            chat_messages(context, style, needs, self.request.root, TEST_COUNT), style,
            [u.text for u in units], [(u.name, failures[u.name]) for u in failing])
        answer, _ = await self._stream(GenerationRequest(
            messages=messages, max_tokens=MAX_TOKENS_CHAT, temperature=0.0,
            time_limit_s=GENERATION_TIME_LIMIT_S, feature="generateTests"), watch_loops=False)
        passing = [u for u in units if u not in failing]
        fixed = self._chat_units(answer, context, style, passing)
        by_name = {u.name: u for u in fixed if u.name in failures}
        others = iter(u for u in fixed if u.name not in failures)
        matched: dict[str, _Unit] = {}
        for unit in failing:
            candidate = by_name.get(unit.name) or next(others, None)
            if candidate is not None and body_key(candidate.text, style.language) != \
                    body_key(unit.text, style.language):  # the same test would fail again
                matched[unit.name] = candidate
        return matched

def _package_clause(plan: GenPlan) -> str:
    """What a new Go or Java test file starts with: its package."""
    if plan.language == "go":
        return f"package {plan.import_from}\n\n"
    if plan.language == "java" and plan.import_from:
        return f"package {plan.import_from};\n\n"
    return ""


def _before_loop(text: str) -> str:
    """The complete lines before the first repeated line (the partial last line dropped)."""
    lines = text.split("\n")[:-1]
    kept: list[str] = []
    seen: set[str] = set()
    for line in lines:
        key = line.strip()
        if key and key in seen:
            break
        seen.add(key)
        kept.append(line)
    return "\n".join(kept)


def _looping(text: str, new_line: bool) -> bool:
    """The model repeats lines, or one line runs on."""
    if new_line and repeated_line_run(text):
        return True
    return len(text) - (text.rfind("\n") + 1) > MAX_LINE_CHARS


def _append(base: str, style: GenStyle, needs: list[ImportNeed], body: str) -> list[Insertion]:
    """Insertions adding ``body`` (the new units) and the missing imports to ``base``."""
    language = style.language
    lines = base.split("\n")
    end_line = len(lines) - 1
    end_col = len(lines[-1])
    if language == "rust":
        return _append_rust(base, style, needs, body)
    if language == "java":
        closing = _last_closing_brace(lines)
        if closing is not None:
            insertions = merge_imports(base, needs, language)
            return [*insertions, Insertion(closing, 0, "\n" + body + "\n")]
    insertions = merge_imports(base, needs, language)
    block = style.frame.open + body + "\n" + style.frame.close
    if not block.endswith("\n"):
        block += "\n"
    if style.framework == "unittest":
        main = _python_main_guard(lines)
        if main is not None:
            return [*insertions, Insertion(main, 0, block + "\n\n")]
    gap = style.separator
    lead = ("" if base.endswith("\n") or not base else "\n")
    stripped = base.rstrip("\n")
    trailing_newlines = len(base) - len(stripped)
    gap = "\n" * max(0, gap.count("\n") - trailing_newlines) if stripped else ""
    return [*insertions, Insertion(end_line, end_col, lead + gap + block)]


def _append_rust(base: str, style: GenStyle, needs: list[ImportNeed], body: str
                 ) -> list[Insertion]:
    lines = base.split("\n")
    start = next((i for i, line in enumerate(lines) if line.strip() == "#[cfg(test)]"), None)
    if start is not None:
        closing = None
        for index in range(start + 1, len(lines)):
            if lines[index].rstrip() == "}":
                closing = index
                break
        if closing is not None:
            uses = [i for i in range(start, closing) if lines[i].strip().startswith("use ")]
            anchor = uses[-1] if uses else start + 1
            insertions = merge_imports("\n".join(lines[start:closing]), needs, "rust",
                                       anchor_line=anchor - start)
            shifted = [Insertion(i.line + start, i.column, i.text) for i in insertions]
            return [*shifted, Insertion(closing, 0, "\n" + body + "\n")]
    lead = "" if base.endswith("\n") else "\n"
    block = style.frame.open + body + "\n" + style.frame.close
    lines_end = len(lines) - 1
    return [Insertion(lines_end, len(lines[-1]), lead + "\n" + block)]


def _last_closing_brace(lines: list[str]) -> int | None:
    for index in range(len(lines) - 1, -1, -1):
        if lines[index].rstrip() == "}":
            return index
    return None


def _python_main_guard(lines: list[str]) -> int | None:
    for index, line in enumerate(lines):
        if line.startswith("if __name__"):
            return index
    return None


def _python_top_level_names(text: str) -> set[str]:
    names = set(re.findall(r"^(?:async\s+)?(?:def|class)\s+(\w+)", text, re.M))
    names.update(re.findall(r"^(\w+)\s*(?::[^=\n]*)?=", text, re.M))
    names.update(re.findall(r"^import\s+(\w+)", text, re.M))
    for match in re.finditer(r"^from\s+\S+\s+import\s+\(?([^)\n]*(?:\n[^)\n]*)*?)\)?$", text,
                             re.M):
        for part in match.group(1).split(","):
            part = part.strip()
            if part:
                names.add(part.split(" as ")[-1].strip())
    for match in re.finditer(r"^import\s+[\w.]+\s+as\s+(\w+)", text, re.M):
        names.add(match.group(1))
    return names


def _reindent(code: str, indent: str) -> str:
    """A unit from a chat answer, indented as the frame wants."""
    lines = code.split("\n")
    first = lines[0]
    current = len(first) - len(first.lstrip())
    result = []
    for line in lines:
        keep_relative = not current or line[:current].isspace()
        stripped = line[current:] if keep_relative else line.lstrip()
        result.append(indent + stripped if line.strip() else "")
    return "\n".join(result)


__all__ = [
    "GenError",
    "GenFileChanged",
    "GenJob",
    "GenRequest",
    "GenServices",
    "GeneratedTests",
    "GenerationCancelled",
    "target_at",
]
