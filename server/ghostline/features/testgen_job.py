"""``GenJob``: one "Generate tests" command, from the cursor to the edit.

Find the target, plan the test file, build the context, generate (once more with the
rejection reasons when nothing was kept), optionally run, repair and keep, and write the
result as insertions into the test file.
"""

from __future__ import annotations

import asyncio
import logging
import time

from ghostline.context.testgen import build_context, find_target, parse_definitions
from ghostline.features.testgen import GeneratedTests, GenError, Unit
from ghostline.features.testgen_generate import JS_LANGUAGES
from ghostline.features.testgen_keep import KeepingGeneration
from ghostline.features.testgen_runner import RunResult
from ghostline.features.testgen_write import file_edit, needs_of_target
from ghostline.index.resolve import python_module
from ghostline.index.testgen_imports import ImportNeed
from ghostline.index.testgen_locations import plan_test_file
from ghostline.index.testgen_target import GenContext, Target
from ghostline.postprocess.testgen_output import js_arity, python_arity
from ghostline.prompts.instruct import is_instruction_model
from ghostline.prompts.testgen import GenStyle, style_for

log = logging.getLogger(__name__)


class GenJob(KeepingGeneration):
    """One generation: context → model → checks → (runs) → edit."""

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
        elif target.language in JS_LANGUAGES and target.kind in ("function", "method"):
            self.arity = js_arity(target.source, target.language)
        target_needs = needs_of_target(context)
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

    def _assemble(
        self, context: GenContext, style: GenStyle, target_needs: list[ImportNeed],
        units: list[Unit], label: str,
    ) -> GeneratedTests:
        edit = file_edit(context, style, target_needs, units, self.request.text)
        return GeneratedTests(
            target=label, plan=context.plan, base_text=edit.base_text,
            insertions=edit.insertions, new_text=edit.new_text,
            tests=[u.name for u in units], rejected=list(self.rejected),
            model_calls=self.model_calls,
        )
