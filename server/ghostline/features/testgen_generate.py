"""Generation: the model writes tests one at a time, and each must pass the checks.

A base model continues the test file from a lead-in (``def test_restock_``) and the server
reads one test per short generation, stopping at the test's end or when the model loops; an
instruction model answers a chat request with a code block, cut into tests. A test is kept
only if it parses, calls the target, asserts something, repeats no earlier test and
(Python, JavaScript) uses no undefined name or fixture and calls the target with an
argument count it takes; on a name clash it is renamed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Callable

from ghostline.engine.base import Finished, GenerationRequest, Token
from ghostline.features.testgen import (
    GenerationCancelled,
    GenFileChanged,
    GenRequest,
    GenServices,
    ProgressCallback,
    Unit,
)
from ghostline.features.testgen_write import python_top_level_names
from ghostline.index.testgen_imports import ImportNeed, existing_imports
from ghostline.index.testgen_locations import GenPlan
from ghostline.index.testgen_target import GenContext, Target
from ghostline.postprocess.testgen_output import (
    Arity,
    body_key,
    complete_unit,
    js_call_problem,
    js_undefined_names,
    python_call_problem,
    python_names,
    rename_unit,
    repeated_line_run,
    stdlib_module,
    syntax_errors,
    unit_closed,
    uses_name,
)
from ghostline.prompts.instruct import extract_code, is_instruction_model
from ghostline.prompts.testgen import GenStyle, base_prompt, chat_messages

log = logging.getLogger(__name__)

#: Tests asked for per action.
TEST_COUNT = 3
#: Lead-ins tried per round (each a separate, short generation).
ATTEMPTS_PER_ROUND = 4
#: Lead-ins tried in the retry round.
RETRY_ATTEMPTS = 3
#: Tokens a base model may write for one test, and for a test's name.
MAX_TOKENS_PER_TEST = 96
MAX_TOKENS_NAME = 16
#: A generated line longer than this is the model looping inside one line.
MAX_LINE_CHARS = 160
#: Tokens an instruction model may write for one answer (all its tests).
MAX_TOKENS_CHAT = 900
#: Seconds one model call may take.
GENERATION_TIME_LIMIT_S = 60.0
#: Once a test is kept, no further one is started after this many seconds.
ENOUGH_AFTER_S = 20.0
#: What counts as an assertion, per language family: a test without one checks nothing.
_ASSERTION = {
    "python": re.compile(r"\bassert|\.assert\w*\(|pytest\.raises|self\.fail\("),
    "js": re.compile(r"\bexpect\((?:[^;]|\n)*?\)\s*\.\s*(?:not\s*\.\s*|resolves\s*\.\s*|"
                     r"rejects\s*\.\s*)?to\w*\(|\bassert(?:\.\w+)?\("),
    "go": re.compile(r"\bt\.(?:Error|Errorf|Fatal|Fatalf|Fail|FailNow)\b"),
    "rust": re.compile(r"\bassert(?:_eq|_ne)?!|\bpanic!|should_panic"),
    "java": re.compile(r"\bassert\w*\(|\bfail\("),
}
#: The languages checked and written as JavaScript.
JS_LANGUAGES = frozenset({"javascript", "typescript", "tsx"})


class Generation:
    """One generation's state (the request, what was rejected and why, the model calls, the
    target's arity, the test file's plan), its model rounds and the checks of each test."""

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

    async def _round(
        self, context: GenContext, style: GenStyle, needs: list[ImportNeed], note: str
    ) -> list[Unit]:
        if is_instruction_model(self.services.model_info):
            return await self._chat_round(context, style, needs, note)
        return await self._base_round(context, style, needs, note)

    async def _base_round(
        self, context: GenContext, style: GenStyle, needs: list[ImportNeed], note: str
    ) -> list[Unit]:
        prompt = base_prompt(context, style, needs, self.request.root, note)
        accepted: list[Unit] = []
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
    ) -> list[Unit]:
        messages = chat_messages(context, style, needs, self.request.root, TEST_COUNT, note)
        answer, truncated = await self._stream(GenerationRequest(
            messages=messages, max_tokens=MAX_TOKENS_CHAT, temperature=0.0,
            time_limit_s=GENERATION_TIME_LIMIT_S, feature="generateTests"), watch_loops=False)
        return self._chat_units(answer, context, style, [], truncated)[:TEST_COUNT + 2]

    def _chat_units(
        self, answer: str, context: GenContext, style: GenStyle, accepted: list[Unit],
        truncated: bool = False,
    ) -> list[Unit]:
        """The tests of a chat answer's code block that pass the checks (each checked
        against ``accepted`` and the ones before it). ``truncated``: the answer was cut
        off (its token or time limit)."""
        code = extract_code(answer, style.unit_start)
        kept: list[Unit] = []
        starts = [m.start() for m in style.unit_start.finditer(code)]
        for start in starts:
            piece = _reindent(code[start:], style.frame.indent)
            # the last test of a cut answer ends on a line that may be cut too
            unit = complete_unit(piece, style.language, style.frame.indent,
                                 truncated and start == starts[-1])
            checked = self._check(unit, context, style, [*accepted, *kept])
            if checked is not None:
                kept.append(checked)
        if not starts:
            log.info("the answer held no test: %r", answer[:300])
            self.rejected.append(_no_test_reason(code, truncated))
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

    def _check_cancelled(self) -> None:
        if self.cancelled.is_set():
            raise GenerationCancelled

    # --- checks -------------------------------------------------------------------------------

    def _check(
        self, unit: str | None, context: GenContext, style: GenStyle, accepted: list[Unit]
    ) -> Unit | None:
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
        elif language in JS_LANGUAGES:
            problem = self._js_problem(unit, context)
        else:
            problem = ""
        if problem:
            self.rejected.append(problem)
            return None
        taken = {*context.existing_names, *(u.name for u in accepted)}
        renamed, name = rename_unit(unit, language, taken)
        return Unit(renamed, name or f"test {len(accepted) + 1}")

    def _python_names_problem(self, unit: str, context: GenContext) -> str:
        known = set(context.importable) | set(context.fixtures) | {"pytest", "unittest", "self"}
        if context.existing_text:
            known.update(python_top_level_names(context.existing_text))
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


def _no_test_reason(code: str, truncated: bool) -> str:
    """Why an answer held no test, worded for the retry prompt and the user. The 1.5B
    model can fill its whole answer with one parametrize table that never ends (seen on
    glob.has_magic and difflib.get_close_matches in `bench tests`)."""
    if "parametrize(" in code:
        return ("the answer was cut off inside a parametrize list, before its first test: "
                "write a few short test functions, without parametrize")
    if truncated:
        return "the answer was cut off before its first test: write shorter tests"
    return "the answer held no test"

