"""Run generated Rust tests with ``cargo test``, in a scratch copy of the crate.

Rust's tests live in the source file itself (``#[cfg(test)] mod tests``), so they cannot be
written beside it under a temporary name as other languages' are: the crate would not
compile the file. Instead the crate (its Cargo workspace when it belongs to one) is mirrored
into a scratch folder kept between runs, the candidate replaces the source file there, and
``cargo test --offline`` builds and runs it. The user's files are never touched, and a file
is rewritten in the mirror only when its text changed, so cargo rebuilds only what changed:
the three runs a kept test must pass compile once.

The build runs first (``--no-run``, its own time limit: the first build of a crate with
dependencies takes a while). When it fails, the errors are attributed to the tests whose
lines they are on; if other tests are free of errors, those are built and run without the
broken ones, so one test that does not compile does not condemn the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import tree_sitter

from ghostline.features.testgen_runner import RunResult, last_error, run_command, settle
from ghostline.features.testgen_sandbox import runner_environment
from ghostline.index.languages import spec_by_name
from ghostline.index.testgen_locations import GenPlan

#: Seconds the build may take (its first run compiles the crate's dependencies).
BUILD_TIME_LIMIT_S = 300.0
#: A crate larger than this is not copied (a run says so instead).
MAX_COPIED_FILES = 5_000
MAX_COPIED_BYTES = 200 * 1024 ** 2
#: Folders never copied: build output, version control, editors' and tools' caches.
SKIPPED_FOLDERS = frozenset({"target", ".git", ".hg", ".svn", "node_modules", ".idea",
                             ".vscode"})
_OUTPUT_LIMIT = 20_000

_TEST_LINE = re.compile(r"^test (\S+) \.\.\. (ok|FAILED|ignored)", re.M)
_ERROR_LINE = re.compile(r"^(?P<file>[^\s:][^:]*):(?P<line>\d+):\d+: (?P<message>error.*)$",
                         re.M)
_TEST_ATTRIBUTES = ("attribute_item", "line_comment", "block_comment")
#: ``#[test]``, ``#[tokio::test]``, ``#[rstest]``...
_TEST_ATTRIBUTE = re.compile(rb"#\[[\w:]*test\b")

#: One lock per scratch folder: runs of the same crate take turns.
_locks: dict[Path, asyncio.Lock] = {}


@dataclass(frozen=True)
class _Crate:
    """Where to copy from, and what to build: ``package`` in the workspace at ``root``."""

    root: Path
    package: str
    targets: tuple[str, ...]


async def run_cargo_tests(
    plan: GenPlan, candidate: str, names: list[str], time_limit_s: float
) -> RunResult:
    """Run the tests ``names`` of the Rust source file text ``candidate`` (``plan.path``
    with the tests in it) with ``cargo test``."""
    started = time.perf_counter()
    cargo = _cargo()
    if cargo is None:
        return RunResult(False, reason="cargo is not installed")
    crate = _find_crate(plan)
    if isinstance(crate, str):
        return RunResult(False, reason=crate)
    scratch = _scratch_folder(crate.root)
    lock = _locks.setdefault(scratch, asyncio.Lock())
    source = plan.path.resolve().relative_to(crate.root)
    async with lock:
        copied = await asyncio.to_thread(_mirror, crate.root, scratch / "crate", source)
        if copied:
            return RunResult(False, reason=copied)
        result = await _build_and_run(cargo, crate, scratch / "crate" / source, scratch,
                                      candidate, names, time_limit_s)
    result.seconds = time.perf_counter() - started
    return result


async def _build_and_run(
    cargo: str, crate: _Crate, copy: Path, scratch: Path, candidate: str,
    names: list[str], time_limit_s: float,
) -> RunResult:
    """Build the crate's copy with ``candidate`` at ``copy`` and run ``names``."""
    base = [cargo, "test", "--offline", "-p", crate.package, *crate.targets]
    env = runner_environment({"CARGO_TARGET_DIR": str(scratch / "target"),
                              "RUST_BACKTRACE": "0", "CARGO_TERM_COLOR": "never"})
    _write_if_changed(copy, candidate)
    build = [*base, "--no-run", "--message-format=short"]
    code, output = await run_command(build, copy.parent, env, BUILD_TIME_LIMIT_S)
    broken: dict[str, str] = {}
    if code != 0:
        found = _broken_tests(candidate, output, copy) if code is not None else None
        if not found or set(found) >= set(names):
            return _failed_build(names, output, code, found or {}, build)
        broken = {name: message for name, message in found.items() if name in names}
        candidate = _without_tests(candidate, set(found))
        _write_if_changed(copy, candidate)
        code, output = await run_command(build, copy.parent, env, BUILD_TIME_LIMIT_S)
        if code != 0:
            return _failed_build(names, output, code, broken, build)
    to_run = [name for name in names if name not in broken]
    run = [*base, "--", *to_run]
    code, output = await run_command(run, copy.parent, env, time_limit_s)
    result = _parse(output, to_run)
    settle(result, to_run, run, code, output, time_limit_s)
    result.failed.update(broken)
    return result


def _failed_build(names: list[str], output: str, code: int | None, broken: dict[str, str],
                  command: list[str]) -> RunResult:
    if code is None:
        message = f"the build did not finish within {BUILD_TIME_LIMIT_S:.0f} s"
    else:
        errors = [m.group("message") for m in _ERROR_LINE.finditer(output)]
        message = "does not compile: " + (errors[0] if errors else last_error(output)
                                         or "the build failed")
    failed = {name: broken.get(name, message) for name in names}
    return RunResult(True, failed=failed, command=command, output=output[-_OUTPUT_LIMIT:],
                     reason=message if code is None else "")


def _cargo() -> str | None:
    found = shutil.which("cargo")
    if found is None:
        home = Path(os.environ.get("CARGO_HOME", Path.home() / ".cargo"))
        candidate = home / "bin" / "cargo"
        found = str(candidate) if candidate.exists() else None
    return found


def _find_crate(plan: GenPlan) -> _Crate | str:
    """The crate of ``plan.path`` and the Cargo workspace it belongs to; or why not."""
    if plan.project_root is None:
        return f"no Cargo.toml above {plan.path.name}"
    crate_dir = plan.project_root.resolve()
    manifest = _read(crate_dir / "Cargo.toml")
    if manifest is None:
        return f"{crate_dir / 'Cargo.toml'} cannot be read"
    package = _package_name(manifest)
    if package is None:
        return "Cargo.toml names no package"
    root = crate_dir
    for folder in crate_dir.parents:
        text = _read(folder / "Cargo.toml")
        if text is not None and re.search(r"^\s*\[workspace\]", text, re.M):
            root = folder
            break
    return _Crate(root, package, _test_targets(crate_dir, manifest))


def _package_name(manifest: str) -> str | None:
    """``name`` of the ``[package]`` table (a TOML parser is not in Python 3.10's library,
    and this is the one key needed)."""
    table = re.search(r"^\s*\[package\]\s*$(.*?)(?=^\s*\[|\Z)", manifest, re.M | re.S)
    if table is None:
        return None
    name = re.search(r"^\s*name\s*=\s*[\"']([^\"']+)[\"']", table.group(1), re.M)
    return name.group(1) if name else None


def _test_targets(crate_dir: Path, manifest: str) -> tuple[str, ...]:
    """``--lib`` and/or ``--bins``: the targets in-source tests live in (not doc-tests,
    examples or integration tests, which the new tests are not part of)."""
    targets = []
    if re.search(r"^\s*\[lib\]", manifest, re.M) or (crate_dir / "src" / "lib.rs").exists():
        targets.append("--lib")
    if (re.search(r"^\s*\[\[bin\]\]", manifest, re.M)
            or (crate_dir / "src" / "main.rs").exists() or (crate_dir / "src" / "bin").is_dir()):
        targets.append("--bins")
    return tuple(targets)


def _scratch_folder(root: Path) -> Path:
    """A folder of this user's temp space for ``root``'s copy and build, kept between
    runs (and sessions) so cargo builds incrementally."""
    key = hashlib.sha256(str(root).encode()).hexdigest()[:16]
    user = os.getuid() if hasattr(os, "getuid") else 0
    folder = Path(tempfile.gettempdir()) / f"ghostline-cargo-{user}" / f"{root.name}-{key}"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _mirror(source: Path, copy: Path, candidate: Path) -> str:
    """Make ``copy`` hold ``source``'s files (rewriting only those that differ, removing
    those gone), except the file at ``candidate`` (relative), which the run writes: left as
    the last run wrote it, an unchanged candidate is not rebuilt. "" when done, else why
    not."""
    files: list[Path] = []
    size = 0
    for folder, subfolders, names in os.walk(source):
        subfolders[:] = [d for d in subfolders if d not in SKIPPED_FOLDERS]
        for name in names:
            path = Path(folder) / name
            if path.is_symlink() or not path.is_file():
                continue
            files.append(path.relative_to(source))
            size += path.stat().st_size
            if len(files) > MAX_COPIED_FILES or size > MAX_COPIED_BYTES:
                return (f"the crate is too large to copy for a test run (over "
                        f"{MAX_COPIED_FILES} files or {MAX_COPIED_BYTES >> 20} MiB)")
    wanted = set(files) | {candidate}
    for relative in files:
        if relative == candidate:
            continue
        with contextlib.suppress(OSError):
            _write_bytes_if_changed(copy / relative, (source / relative).read_bytes())
    if copy.exists():
        for folder, _, names in os.walk(copy):
            for name in names:
                path = Path(folder) / name
                if path.relative_to(copy) not in wanted and name != "Cargo.lock":  # cargo's
                    with contextlib.suppress(OSError):
                        path.unlink()
    return ""


def _write_if_changed(path: Path, text: str) -> None:
    _write_bytes_if_changed(path, text.encode("utf-8"))


def _write_bytes_if_changed(path: Path, data: bytes) -> None:
    """Write only what changed: an unchanged file keeps its time, so cargo keeps its build."""
    with contextlib.suppress(OSError):
        if path.read_bytes() == data:
            return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _parse(output: str, names: list[str]) -> RunResult:
    """Which named tests passed; a failure's message is its panic, without the thread line."""
    result = RunResult(True)
    wanted = set(names)
    for path, status in _TEST_LINE.findall(output):
        name = path.rsplit("::", 1)[-1]
        if name not in wanted or status == "ignored":
            continue
        if status == "ok":
            result.passed.append(name)
        else:
            result.failed[name] = _panic(output, path)
    result.passed = list(dict.fromkeys(result.passed))
    return result


def _panic(output: str, path: str) -> str:
    """What the test printed when it panicked: "assertion `left == right` failed left: 2
    right: 3", or its message."""
    section = re.search(rf"^---- {re.escape(path)} stdout ----\n(.*?)(?=^---- |^failures:|\Z)",
                        output, re.S | re.M)
    if section is None:
        return f"{path} failed"
    lines = [line.strip() for line in section.group(1).split("\n")
             if line.strip() and not line.startswith(("thread ", "note: "))]
    return " ".join(lines)[:400] or f"{path} failed"


def _broken_tests(candidate: str, output: str, copy: Path) -> dict[str, str] | None:
    """The tests that compile errors point into → their first error; None when an error
    lies outside every test (then cutting tests out cannot make the file compile)."""
    spans = _test_spans(candidate, None)
    broken: dict[str, str] = {}
    for match in _ERROR_LINE.finditer(output):
        if Path(match.group("file")).name != copy.name:
            return None
        line = int(match.group("line")) - 1
        inside = [name for name, (first, last) in spans.items() if first <= line <= last]
        if not inside:
            return None
        for name in inside:
            broken.setdefault(name, "does not compile: " + match.group("message"))
    return broken


def _test_spans(source: str, names: set[str] | None) -> dict[str, tuple[int, int]]:
    """0-based (first, last) line of each named function (None: of each test function),
    with its attributes (#[test]) and comments above it."""
    spans: dict[str, tuple[int, int]] = {}
    for node, start in _test_functions(source, names):
        name = node.child_by_field_name("name")
        if name is not None and name.text is not None:
            spans[name.text.decode()] = (start.start_point[0], node.end_point[0])
    return spans


def _without_tests(source: str, names: set[str]) -> str:
    """``source`` with the named test functions (and their attributes) removed."""
    data = source.encode("utf-8")
    cuts = sorted(((start.start_byte, node.end_byte) for node, start
                   in _test_functions(source, names)), reverse=True)
    for first, last in cuts:
        data = data[:first] + data[last:]
    return data.decode("utf-8")


def _test_functions(source: str, names: set[str] | None
                    ) -> list[tuple[tree_sitter.Node, tree_sitter.Node]]:
    """(function node, first node of it: its earliest attribute or comment) of each named
    function in ``source``; None: of each function with a test attribute (``#[test]``,
    ``#[tokio::test]``, ...)."""
    spec = spec_by_name("rust")
    if spec is None:
        return []
    data = source.encode("utf-8")
    tree = spec.parser().parse(data)
    found: list[tuple[tree_sitter.Node, tree_sitter.Node]] = []
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.type == "function_item":
            start = node
            while (start.prev_named_sibling is not None
                   and start.prev_named_sibling.type in _TEST_ATTRIBUTES):
                start = start.prev_named_sibling
            if _is_wanted(node, data[start.start_byte:node.start_byte], names):
                found.append((node, start))
                continue
        stack.extend(node.named_children)
    return found


def _is_wanted(function: tree_sitter.Node, above: bytes, names: set[str] | None) -> bool:
    """A named function, or (``names`` None) one whose attributes ``above`` mark a test."""
    if names is None:
        return _TEST_ATTRIBUTE.search(above) is not None
    name = function.child_by_field_name("name")
    return name is not None and name.text is not None and name.text.decode() in names
