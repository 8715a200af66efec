"""Running, repairing and keeping: which of the generated tests are handed over.

The tests run with the project's runner (time-limited); the failing ones are repaired (a
second round only while none passes; then, for Python, expected values are taken from the
code); those that pass ``RELIABLE_RUNS`` runs in a row are kept. Then coverage and mutants
drop the tests that add nothing, and one round asks for tests of the uncovered lines
(docs/generate-tests.md).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from ghostline.engine.base import GenerationRequest
from ghostline.features.testgen import GenError, Unit
from ghostline.features.testgen_coverage import (
    CoverageReport,
    covered_by_others,
    measure_coverage,
    select_by_coverage,
    summarize,
)
from ghostline.features.testgen_generate import (
    GENERATION_TIME_LIMIT_S,
    MAX_TOKENS_CHAT,
    TEST_COUNT,
    Generation,
)
from ghostline.features.testgen_mutants import run_mutants
from ghostline.features.testgen_observed import observe, unit_line, with_observed_value
from ghostline.features.testgen_runner import RunResult, run_tests
from ghostline.features.testgen_write import file_edit, import_needs, package_clause
from ghostline.index.testgen_imports import ImportNeed
from ghostline.index.testgen_locations import GenPlan
from ghostline.index.testgen_target import GenContext
from ghostline.postprocess.testgen_output import (
    body_key,
    complete_unit,
    rename_unit,
    set_unit_name,
    unit_name,
)
from ghostline.prompts.instruct import is_instruction_model
from ghostline.prompts.testgen import (
    GenStyle,
    base_prompt,
    chat_coverage_messages,
    chat_messages,
    chat_repair_messages,
    header_for_new_file,
)

log = logging.getLogger(__name__)

#: Seconds one run of the tests may take.
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


class KeepingGeneration(Generation):
    """A generation that runs its tests before handing them over (``run_generated``)."""

    async def _run_and_repair(
        self, context: GenContext, style: GenStyle, needs: list[ImportNeed],
        units: list[Unit],
    ) -> tuple[list[Unit], RunResult]:
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

    def _split(self, plan: GenPlan, style: GenStyle, units: list[Unit], result: RunResult
               ) -> tuple[list[Unit], dict[str, str]]:
        """The units that passed, and the others' failures (by unit name)."""
        passing = [u for u in units if self._run_name(plan, style, u) in result.passed
                   or u.name in result.passed]
        failed = {u.name: result.failed.get(self._run_name(plan, style, u))
                  or result.failed.get(u.name) or "did not run"
                  for u in units if u not in passing}
        return passing, failed

    async def _repair_and_rerun(
        self, context: GenContext, style: GenStyle, needs: list[ImportNeed],
        units: list[Unit], passing: list[Unit], failed: dict[str, str], clock: _RunClock,
    ) -> tuple[list[Unit], dict[str, str], list[Unit]]:
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
        units: list[Unit], failed: dict[str, str], clock: _RunClock,
    ) -> tuple[list[Unit], dict[str, str], list[Unit], dict[str, str]]:
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
            retry: list[Unit] = []
            for unit in failing:
                comparison = comparisons.get(unit.name.rpartition(".")[2])
                text = with_observed_value(
                    unit.text, comparison, unit_line(candidate, unit.text, comparison)
                ) if comparison else None
                if text is None or comparison is None:
                    continue
                current[unit.name] = Unit(text, unit.name)
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
        passing: list[Unit], clock: _RunClock,
    ) -> tuple[list[Unit], dict[str, str]]:
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
        units: list[Unit], result: RunResult, clock: _RunClock,
    ) -> list[Unit]:
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
        units: list[Unit], report: CoverageReport, result: RunResult, clock: _RunClock,
    ) -> list[Unit]:
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
        new: list[Unit] = []
        for unit in self._chat_units(answer, context, style, units):
            text, name = rename_unit(unit.text, style.language, taken)
            taken.add(name or unit.name)
            new.append(Unit(text, name or unit.name))
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

    def _drop(self, result: RunResult, units: list[Unit], reason: str) -> None:
        for unit in units:
            result.dropped[unit.name] = reason
            self.rejected.append(f"{unit.name} {reason}")

    async def _run(self, context: GenContext, style: GenStyle, needs: list[ImportNeed],
                   units: list[Unit]) -> RunResult:
        candidate, names = self._candidate(context, style, needs, units)
        return await run_tests(context.plan, candidate, names, RUN_TIME_LIMIT_S)

    def _candidate(self, context: GenContext, style: GenStyle, needs: list[ImportNeed],
                   units: list[Unit]) -> tuple[str, list[str]]:
        """The test file to run with ``units``, and the units' names as the runner knows them."""
        plan = context.plan
        assembled = file_edit(context, style, needs, units, self.request.text)
        candidate = assembled.new_text
        if plan.language == "go" and assembled.base_text is not None:
            body = style.separator.join(u.text for u in units)
            candidate = (package_clause(plan)
                         + header_for_new_file(style, import_needs(context, style, needs, body))
                         + "\n" + body + "\n")
        return candidate, [self._run_name(plan, style, u) for u in units]

    def _run_name(self, plan: GenPlan, style: GenStyle, unit: Unit) -> str:
        if plan.framework == "unittest":
            class_name = style.frame.open.split("(")[0].removeprefix("class ").strip()
            return f"{class_name}.{unit.name}"
        return unit.name

    async def _repair(
        self, context: GenContext, style: GenStyle, needs: list[ImportNeed],
        units: list[Unit], failing: list[Unit], failures: dict[str, str],
    ) -> dict[str, Unit]:
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
        repaired: dict[str, Unit] = {}
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
            repaired[unit.name] = (Unit(retitled, unit.name) if retitled is not None
                                   else Unit(renamed, name))
        return repaired

    async def _base_repair(
        self, context: GenContext, style: GenStyle, needs: list[ImportNeed],
        passing: list[Unit], unit: Unit, failure: str,
    ) -> Unit | None:
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
        units: list[Unit], failing: list[Unit], failures: dict[str, str],
    ) -> dict[str, Unit]:
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
        matched: dict[str, Unit] = {}
        for unit in failing:
            candidate = by_name.get(unit.name) or next(others, None)
            if candidate is not None and body_key(candidate.text, style.language) != \
                    body_key(unit.text, style.language):  # the same test would fail again
                matched[unit.name] = candidate
        return matched
