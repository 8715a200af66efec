"""Run generated tests with the project's own runner, in a subprocess with a time limit.

The candidate test file is written beside the real one under a temporary name (so the
project's conftest, fixtures and import paths apply), run, and removed again. Only the
tests named are judged. Supported: pytest and unittest (through pytest when it is
installed, else ``python -m unittest``), ``node --test`` for JavaScript, vitest and jest
from the project's ``node_modules``, ``go test``, and ``cargo test`` (Rust's tests live in
the source file, so they run in a scratch copy of the crate: ``testgen_cargo``). Java tests
are not run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import secrets
import shutil
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ghostline.features.testgen_sandbox import isolated, memory_limit, runner_environment
from ghostline.index.testgen_locations import GenPlan

if TYPE_CHECKING:
    from ghostline.features.testgen_coverage import CoverageReport
    from ghostline.features.testgen_mutants import MutantReport

log = logging.getLogger(__name__)

_OUTPUT_LIMIT = 20_000


@dataclass
class RunResult:
    """Which of the named tests passed. ``ran`` is False when no runner was available
    (``reason`` says why); a test missing from both lists did not run."""

    ran: bool
    passed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    reason: str = ""
    output: str = ""
    #: One run's time; for the result of a whole "run and repair", the time spent running
    #: tests in total (every run, coverage and mutants).
    seconds: float = 0.0
    command: list[str] = field(default_factory=list)
    #: How many runs in a row each kept test passed (the summary says 0 when none ran).
    runs: int = 1
    #: Tests that passed a run and failed a later one → the failure.
    flaky: dict[str, str] = field(default_factory=dict)
    #: Tests that passed every run but were left out → why ("adds no coverage", ...).
    dropped: dict[str, str] = field(default_factory=dict)
    coverage: CoverageReport | None = None
    #: Why coverage was not measured ("" when it was).
    coverage_note: str = ""
    mutants: MutantReport | None = None
    #: Why no mutant was run ("" when they were).
    mutants_note: str = ""
    #: Tests whose expected value was taken from what the code returned (name → what
    #: changed): kept as a record of today's behaviour, which may hold a bug.
    observed: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RunOptions:
    """Additions to a Python run: ``python <wrap> -m pytest <pytest_args> ids``, with
    ``python_path`` before the project's paths and ``env`` added to the environment; and to
    a vitest or go run: ``vitest run <runner_args> file``, ``go test <runner_args> ...``."""

    wrap: Sequence[str] = ()
    pytest_args: Sequence[str] = ()
    python_path: Sequence[str] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    runner_args: Sequence[str] = ()


#: Folders a run created for its temp file, and how many runs use each (runs may overlap).
_created_dirs: dict[Path, int] = {}


async def run_tests(
    plan: GenPlan, candidate: str, names: list[str], time_limit_s: float = 60.0,
    options: RunOptions | None = None,
) -> RunResult:
    """Run the tests ``names`` of the ``candidate`` test file text for ``plan``."""
    if plan.in_source and plan.language == "rust":
        from ghostline.features.testgen_cargo import run_cargo_tests  # imports this module

        return await run_cargo_tests(plan, candidate, names, time_limit_s)
    started = time.perf_counter()
    prepared = _prepare(plan, names, options or RunOptions())
    if isinstance(prepared, str):
        return RunResult(False, reason=prepared)
    command_for, suffix = prepared
    temp = plan.path.with_name(_temp_name(plan.path, suffix))
    folder = temp.parent
    if not folder.exists() or folder in _created_dirs:
        _created_dirs[folder] = _created_dirs.get(folder, 0) + 1
    try:
        folder.mkdir(parents=True, exist_ok=True)
        temp.write_text(candidate, encoding="utf-8")
        command, cwd, env = command_for(temp)
        code, output = await run_command(command, cwd, env, time_limit_s)
    finally:
        with contextlib.suppress(OSError):
            temp.unlink()
        _release_dir(folder)
    result = _parse(plan, output, names, temp)
    settle(result, names, command, code, output, time_limit_s)
    result.seconds = time.perf_counter() - started
    return result


def settle(result: RunResult, names: list[str], command: list[str], code: int | None,
           output: str, time_limit_s: float) -> None:
    """Complete a parsed run: its command and output, and a failure for every named test
    the output says nothing of (the run timed out, or died before reporting)."""
    result.command = command
    result.output = output[-_OUTPUT_LIMIT:]
    if code is None:
        result.reason = f"the tests did not finish within {time_limit_s:.0f} s"
        for name in names:
            if name not in result.passed:
                result.failed.setdefault(name, result.reason)
    elif not any(name in result.passed or name in result.failed for name in names):
        message = last_error(output) or f"the test run failed (exit code {code})"
        result.failed = {name: message for name in names}


def _release_dir(folder: Path) -> None:
    """Remove the temp file's folder when a run created it and no other run uses it."""
    users = _created_dirs.get(folder)
    if users is None:
        return
    if users > 1:
        _created_dirs[folder] = users - 1
        return
    del _created_dirs[folder]
    with contextlib.suppress(OSError):
        folder.rmdir()


Command = tuple[list[str], Path, dict[str, str]]
CommandFor = Callable[[Path], Command]


def _prepare(
    plan: GenPlan, names: list[str], options: RunOptions
) -> tuple[CommandFor, str] | str:
    """A function temp-path → (command, cwd, env), and the temp file's suffix; or why not."""
    root = plan.project_root or plan.path.parent
    env = runner_environment()
    if plan.language == "python":
        python = _project_python(root)
        paths = [*options.python_path,
                 *(str(p) for p in (plan.python_path, root) if p is not None)]
        env["PYTHONPATH"] = os.pathsep.join([*paths, env.get("PYTHONPATH", "")]).rstrip(
            os.pathsep)
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env.update(options.env)
        wrap = list(options.wrap)

        def python_command(temp: Path) -> Command:
            ids = [f"{temp}::{_pytest_id(plan, n)}" for n in names]
            return ([python, *wrap, "-m", "pytest", "-q", "-rA", "--tb=short", "-p",
                     "no:cacheprovider", "--no-header", *options.pytest_args, *ids], root, env)

        if _has_module(python, "pytest"):
            return python_command, ".py"
        if plan.framework == "unittest":
            def unittest_command(temp: Path) -> Command:
                env["PYTHONPATH"] = os.pathsep.join([str(temp.parent), env["PYTHONPATH"]])
                return ([python, *wrap, "-m", "unittest", "-v", temp.stem], root, env)

            return unittest_command, ".py"
        return "pytest is not installed for this project"
    if plan.language in ("javascript", "typescript", "tsx"):
        return _prepare_js(plan, root, env, options)
    if plan.language == "go":
        go = shutil.which("go")
        if go is None:
            return "the go tool is not installed"
        pattern = "^(" + "|".join(re.escape(n) for n in names) + ")$"

        def go_command(temp: Path) -> Command:
            return ([go, "test", "-count=1", "-v", *options.runner_args, "-run", pattern, "."],
                    temp.parent, env)

        return go_command, "_test.go"
    return f"running {plan.framework} tests is not supported yet"


def _prepare_js(
    plan: GenPlan, root: Path, env: dict[str, str], options: RunOptions
) -> tuple[CommandFor, str] | str:
    suffix = "".join(plan.path.suffixes[-1:])
    if plan.framework == "node:test":
        node = shutil.which("node")
        if node is None:
            return "node is not installed"
        if plan.language != "javascript":
            return "node:test cannot run TypeScript without a loader"

        def node_command(temp: Path) -> Command:
            return ([node, "--test", "--test-reporter=tap", str(temp)], root, env)

        return node_command, ".test" + suffix
    binary = root / "node_modules" / ".bin" / plan.framework
    if not binary.exists():
        return f"{plan.framework} is not installed in {root / 'node_modules'}"

    def runner_command(temp: Path) -> Command:
        if plan.framework == "vitest":
            return ([str(binary), "run", "--reporter=tap", *options.runner_args, str(temp)],
                    root, env)
        return ([str(binary), "--verbose", str(temp)], root, env)

    return runner_command, ".test" + suffix


def _temp_name(path: Path, suffix: str) -> str:
    stem = path.name.split(".")[0]
    if suffix == "_test.go":
        stem = stem.removesuffix("_test")
    return f"{stem}_ghostline{secrets.token_hex(4)}{suffix}"


def _pytest_id(plan: GenPlan, name: str) -> str:
    if plan.framework == "unittest" and "." in name:
        return name.replace(".", "::")
    return name


def _project_python(root: Path) -> str:
    """The project's virtualenv interpreter when there is one, else ours."""
    for folder in (".venv", "venv", "env"):
        venv = root / folder
        for candidate in (venv / "bin" / "python", venv / "Scripts" / "python.exe"):
            if candidate.exists():
                return str(candidate)
    return sys.executable


def _has_module(python: str, module: str) -> bool:
    if python == sys.executable:
        import importlib.util

        return importlib.util.find_spec(module) is not None
    lib = Path(python).parent.parent / "lib"
    return any(lib.glob(f"python3*/site-packages/{module}"))


async def run_command(
    command: list[str], cwd: Path, env: dict[str, str], time_limit_s: float
) -> tuple[int | None, str]:
    """Run ``command`` fenced (``testgen_sandbox``): its exit code (None on time-out) and
    its combined output."""
    log.info("running generated tests: %s", " ".join(command))
    process = await asyncio.create_subprocess_exec(
        *isolated(command), cwd=cwd, env=env, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        start_new_session=True, preexec_fn=memory_limit(command),
    )
    try:
        out, _ = await asyncio.wait_for(process.communicate(), time_limit_s)
    except asyncio.TimeoutError:
        _kill(process)
        await process.wait()
        return None, ""
    except asyncio.CancelledError:
        _kill(process)
        await process.wait()
        raise
    return process.returncode, out.decode("utf-8", errors="replace")


def _kill(process: asyncio.subprocess.Process) -> None:
    """Kill the runner and everything it started (its own process group)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, 9)


_PYTEST_LINE = re.compile(r"^(PASSED|FAILED|ERROR) (\S+?)::(\S+)(?: - (.*))?$", re.M)
_UNITTEST_LINE = re.compile(
    r"^(\w+) \([\w.]+?\.(\w+)\.\w+\)(?: \.\.\.|\n.*?\.\.\.) (ok|FAIL|ERROR)", re.M)
_TAP_LINE = re.compile(r"^\s*(ok|not ok) \d+ - (.+?)(?: #.*)?$", re.M)
_GO_LINE = re.compile(r"^\s*--- (PASS|FAIL): (\w+)", re.M)
_JEST_LINE = re.compile(r"^\s*([✓✔√]|[✕✗×]) (.+?)(?: \(\d+ ms\))?$", re.M)


def _parse(plan: GenPlan, output: str, names: list[str], temp: Path) -> RunResult:
    result = RunResult(True)
    wanted = set(names)
    if plan.language == "python":
        for match in _PYTEST_LINE.finditer(output):
            status, node = match.group(1), match.group(3)
            name = node.replace("::", ".") if plan.framework == "unittest" else node
            name = name.split("[", 1)[0]
            if name not in wanted:
                continue
            if status == "PASSED":
                result.passed.append(name)
            else:
                result.failed[name] = _failure_message(output, node)
        for match in _UNITTEST_LINE.finditer(output):
            name = f"{match.group(2)}.{match.group(1)}"
            if name not in wanted and match.group(1) in wanted:
                name = match.group(1)
            if name in wanted:
                if match.group(3) == "ok":
                    result.passed.append(name)
                else:
                    result.failed[name] = last_error(output)
    elif plan.language == "go":
        for status, name in _GO_LINE.findall(output):
            if name in wanted:
                if status == "PASS":
                    result.passed.append(name)
                else:
                    result.failed[name] = _go_failure(output, name)
    else:
        for status, title in _TAP_LINE.findall(output):
            for name in wanted:
                if title.strip() == name or title.strip().endswith(f" {name}"):
                    if status == "ok":
                        result.passed.append(name)
                    else:
                        result.failed[name] = last_error(output)
        for mark, title in _JEST_LINE.findall(output):
            if title.strip() in wanted:
                if mark in "✓✔√":
                    result.passed.append(title.strip())
                else:
                    result.failed[title.strip()] = last_error(output)
    result.passed = list(dict.fromkeys(result.passed))
    return result


def _failure_message(output: str, node: str) -> str:
    """The short traceback pytest printed for ``node``: its last ``E`` lines."""
    section = re.search(rf"_{{3,}} [^\n]*{re.escape(node.split('::')[-1])}[^\n]* _{{3,}}\n(.*?)"
                        rf"(?=\n_{{3,}} |\n={{3,}} )", output, re.S)
    text = section.group(1) if section else output
    errors = [line[1:].strip() for line in text.split("\n") if line.startswith("E ")]
    if errors:
        return " ".join(errors[:4])[:400]
    return last_error(text)


def _go_failure(output: str, name: str) -> str:
    lines = [line.strip() for line in output.split("\n") if ".go:" in line]
    return " ".join(lines[:3])[:400] or f"{name} failed"


def last_error(output: str) -> str:
    """The last line of a run's output that reads like an error (else its last line)."""
    lines = [line.strip() for line in output.strip().split("\n") if line.strip()]
    for line in reversed(lines):
        if re.search(r"Error|error:|assert|Exception|FAIL|expected", line):
            return line[:400]
    return lines[-1][:400] if lines else ""


_ASSERT_EQUAL = re.compile(r"\bassert (.+?) == (.+?)(?=\s+[-+?] |\s*$)")
#: Rust's ``assert_eq!(actual, expected)`` as ``testgen_cargo`` reports it.
_RUST_ASSERT_EQ = re.compile(r"assertion `left == right` failed.*?\bleft: (.+?) right: (.+?)$")
_DESCRIBED_CHARS = 100


def describe_failure(message: str) -> str:
    """A failure for the user: "expected X, got Y (a bug, or a wrong expectation?)" for a
    failed ``assert actual == expected`` (Python) or ``assert_eq!(actual, expected)``
    (Rust), else the message, shortened."""
    match = _ASSERT_EQUAL.search(message) or _RUST_ASSERT_EQ.search(message)
    if match:
        got, expected = (_shorten(g, 40) for g in match.groups())
        return f"expected {expected}, got {got} (a bug, or a wrong expectation?)"
    return _shorten(message, _DESCRIBED_CHARS)


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
