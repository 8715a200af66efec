"""The "Generate tests for NAME" code action and the ``ghostline.generateTests`` command.

Listing the action only finds the function, method or class at the range (no model call).
Picking it resolves the action to the command (clients without ``codeAction/resolve`` get
the command directly); the command generates with a cancellable ``$/progress`` and applies
the result with ``workspace/applyEdit``: a ``CreateFile`` plus an insertion for a new test
file, versioned insertions for an existing one. The test file must be unchanged since it
was read: an open document keeps its version (the client refuses a stale edit, and the
server checks first), a closed file its content on disk.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lsprotocol import types

from ghostline.engine.base import EngineError
from ghostline.features.testgen import (
    GeneratedTests,
    GenerationCancelled,
    GenError,
    GenFileChanged,
    GenRequest,
)
from ghostline.features.testgen_job import GenJob
from ghostline.features.testgen_runner import RunResult, describe_failure
from ghostline.features.testgen_targets import target_at_cursor
from ghostline.index.languages import spec_for_language_id, spec_for_path
from ghostline.lsp import escalation
from ghostline.lsp.code_actions import ActionProvider, add_provider
from ghostline.lsp.run_consent import Decision, consent_for
from ghostline.lsp.server import GhostlineServer

log = logging.getLogger(__name__)

PROVIDER = "generateTests"
COMMAND = "ghostline.generateTests"
SUPPORTED = frozenset({"python", "javascript", "typescript", "tsx", "go", "rust", "java"})


def register(server: GhostlineServer) -> None:
    add_provider(ActionProvider(PROVIDER, list_actions, resolve))

    @server.command(COMMAND)
    async def generate_tests_command(ls: GhostlineServer, *args: Any) -> dict[str, Any]:
        data = args[0] if args and isinstance(args[0], dict) else {}
        return await run_generation(ls, data)


# --- listing and resolving ---------------------------------------------------------------------


def list_actions(ls: GhostlineServer, params: types.CodeActionParams) -> list[types.CodeAction]:
    uri = params.text_document.uri
    doc = ls.workspace.get_text_document(uri)
    path = Path(ls.document_path(uri))
    spec = spec_for_language_id(doc.language_id or "") or spec_for_path(path)
    if spec is None or spec.name not in SUPPORTED or not ls.core.workable_text(doc.source):
        return []
    lines = doc.lines
    position = params.range.start
    if position.line >= len(lines):
        return []
    server_pos = doc.position_codec.position_from_client_units(lines, position)
    byte_col = len(lines[position.line][: server_pos.character].encode("utf-8"))
    label = _target_label(ls, path, doc.source, spec.name, position.line, byte_col)
    if label is None:
        return []
    data = {"provider": PROVIDER, "uri": uri, "line": position.line,
            "character": position.character, "name": label}
    title = f"Generate tests for {label}"
    resolvable = ls.client_supports("text_document", "code_action", "resolve_support")
    actions = []
    only = params.context.only
    kinds = [types.CodeActionKind.Refactor] if not only else [
        types.CodeActionKind.Source, types.CodeActionKind.Refactor]
    for kind in kinds:
        action = types.CodeAction(title=title, kind=kind, data=dict(data))
        if not resolvable:
            action.command = _command(title, data)
        actions.append(action)
    return actions


def _target_label(
    ls: GhostlineServer, path: Path, text: str, language: str, line: int, byte_col: int
) -> str | None:
    index = ls.core.index
    known = index.symbols(path) if index is not None else []
    target = target_at_cursor(known, path, text, language, line, byte_col)
    if target is None:
        return None
    return f"{target.container}.{target.name}" if target.container else target.name


def _command(title: str, data: dict[str, Any]) -> types.Command:
    return types.Command(title=title, command=COMMAND, arguments=[data])


async def resolve(ls: GhostlineServer, action: types.CodeAction) -> types.CodeAction:
    data = action.data if isinstance(action.data, dict) else {}
    action.command = _command(action.title, data)
    return action


# --- running -----------------------------------------------------------------------------------


@dataclass
class _Snapshot:
    """A file as the feature read it: editor version (None if not open) and text."""

    version: int | None
    text: str | None


async def run_generation(ls: GhostlineServer, data: dict[str, Any]) -> dict[str, Any]:
    """Generate tests for the position in ``data`` and apply them; returns what happened."""
    uri = str(data.get("uri", ""))
    try:
        doc = ls.workspace.get_text_document(uri)
    except Exception:
        return _fail(ls, "the document is not open")
    path = Path(ls.document_path(uri))
    spec = spec_for_language_id(doc.language_id or "") or spec_for_path(path)
    if spec is None or spec.name not in SUPPORTED:
        return _fail(ls, f"generating tests for {doc.language_id or path.suffix} is not supported")
    lines = doc.lines
    line = int(data.get("line", 0))
    character = int(data.get("character", 0))
    if line >= len(lines):
        return _fail(ls, "the position is outside the document")
    server_pos = doc.position_codec.position_from_client_units(
        lines, types.Position(line=line, character=character))
    byte_col = len(lines[line][: server_pos.character].encode("utf-8"))
    label = str(data.get("name") or "the code at the cursor")
    consent = _start_consent(ls, path)  # asked while the model loads, awaited before writing
    core = ls.core
    model_info = await core.model_for("generateTests")
    if model_info is None:
        return _fail(ls, core.model_error or "the model is not available", shown=True)
    snapshots: dict[Path, _Snapshot] = {path: _Snapshot(doc.version, doc.source)}

    def read_text(file: Path) -> str | None:
        snapshot = snapshots.get(file)
        if snapshot is None:
            snapshot = _snapshot(ls, file)
            snapshots[file] = snapshot
        return snapshot.text

    roots = ls.workspace_roots()
    root = next((r for r in roots if path.is_relative_to(r)), None)
    existing = core.existing_tests(path)
    request = GenRequest(path=path, text=doc.source, language=spec.name, line=line,
                         byte_col=byte_col, root=root)
    def conflict(file: Path) -> str:
        before = snapshots.setdefault(file, _snapshot(ls, file))
        return _changed(ls, file, before)

    services = core.test_services(model_info, read_text, existing_tests=existing,
                                  conflict=conflict)
    cancelled = asyncio.Event()
    token = await ls.begin_progress(f"writing tests for {label}", cancellable=True)
    _watch_cancel(ls, token, cancelled)

    def progress(message: str, percent: int | None) -> None:
        if token is not None and not cancelled.is_set():
            ls.work_done_progress.report(token, types.WorkDoneProgressReport(
                message=message, percentage=percent, cancellable=True))

    outcome: dict[str, Any]
    try:
        decision = await _await_consent(consent, cancelled, progress)
        services.run_generated = decision.run
        result = await escalation.generate_tests(
            ls, request, services, lambda s: GenJob(request, s, progress, cancelled))
        if cancelled.is_set():
            raise GenerationCancelled
        if result.run is None and not decision.run:
            result.run = RunResult(ran=False, reason=decision.reason)
        outcome = await _apply(ls, result, snapshots)
    except GenerationCancelled:
        outcome = {"applied": False, "cancelled": True, "message": "cancelled"}
    except GenFileChanged as exc:
        outcome = _conflict_outcome(ls, _display(ls, exc.path), str(exc))
    except asyncio.CancelledError:
        _end(ls, token, "cancelled")
        raise
    except GenError as exc:
        outcome = _fail(ls, str(exc))
    except EngineError as exc:
        outcome = _fail(ls, f"the model failed: {exc}")
    except Exception as exc:  # a bug must still reach the user as one message
        log.exception("test generation failed")
        outcome = _fail(ls, f"test generation failed: {exc}")
    _end(ls, token, str(outcome.get("message", "")))
    return outcome


#: Consent decisions still pending (a generation that failed early no longer awaits its own).
_deciding: set[asyncio.Task[Decision]] = set()


def _start_consent(ls: GhostlineServer, path: Path) -> asyncio.Task[Decision]:
    """Start deciding whether the generated tests may run (see `run_consent`): the
    workspace is the root that holds ``path``, else its folder."""
    root = next((r for r in ls.workspace_roots() if path.is_relative_to(r)), path.parent)
    task = asyncio.ensure_future(consent_for(ls).decide(
        ls.core.settings.run_generated_tests, root, ls.window_show_message_request_async))
    _deciding.add(task)
    task.add_done_callback(_deciding.discard)
    return task


async def _await_consent(
    task: asyncio.Task[Decision], cancelled: asyncio.Event,
    progress: Callable[[str, int | None], None],
) -> Decision:
    """The decision, once the user answered (or the question ended); a cancelled
    generation stops waiting."""
    if not task.done():
        progress("waiting for your answer: run the generated tests?", None)
        stop = asyncio.ensure_future(cancelled.wait())
        try:
            await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
        if not task.done():
            raise GenerationCancelled
    try:
        return task.result()
    except Exception as exc:  # never a reason not to write the tests
        log.exception("deciding whether to run the generated tests failed")
        return Decision(False, f"could not decide whether to run them ({exc})")


def _watch_cancel(ls: GhostlineServer, token: str | None, cancelled: asyncio.Event) -> None:
    """Set ``cancelled`` when the client cancels the progress (pygls cancels the future it
    keeps per token on ``window/workDoneProgress/cancel``)."""
    if token is None:
        return
    future = ls.work_done_progress.tokens.get(token)
    if future is None:
        return
    loop = asyncio.get_running_loop()
    future.add_done_callback(lambda _: loop.call_soon_threadsafe(cancelled.set))


def _end(ls: GhostlineServer, token: str | None, message: str) -> None:
    if token is not None:
        ls.work_done_progress.end(token, types.WorkDoneProgressEnd(message=message))
        ls.work_done_progress.tokens.pop(token, None)


def _fail(ls: GhostlineServer, message: str, shown: bool = False) -> dict[str, Any]:
    if not shown:
        ls.show_message(f"Ghostline: {message}", types.MessageType.Warning)
    return {"applied": False, "cancelled": False, "message": message}


def _snapshot(ls: GhostlineServer, path: Path) -> _Snapshot:
    doc = ls.workspace.text_documents.get(path.as_uri())
    if doc is not None:
        return _Snapshot(doc.version, doc.source)
    try:
        return _Snapshot(None, path.read_bytes().decode("utf-8", errors="replace"))
    except OSError:
        return _Snapshot(None, None)


# --- applying ----------------------------------------------------------------------------------


async def _apply(
    ls: GhostlineServer, result: GeneratedTests, snapshots: dict[Path, _Snapshot]
) -> dict[str, Any]:
    path = result.plan.path
    uri = path.as_uri()
    before = snapshots.get(path) or _Snapshot(None, None)
    rel = _display(ls, path)
    summary = {"path": str(path), "uri": uri, "tests": result.tests,
               "created": result.creates_file, "rejected": result.rejected,
               "modelCalls": result.model_calls, "timings": result.timings,
               "contextFiles": result.context_files,
               "run": _run_summary(result)}
    conflict = _changed(ls, path, before, result.base_text, result.creates_file)
    if conflict:
        return {**summary, **_conflict_outcome(ls, rel, conflict)}
    crlf = "\r\n" in (result.base_text or "")
    edit = _workspace_edit(ls, result, before, crlf)
    if edit is None:  # the client cannot create files: write the new file ourselves
        try:
            with open(path, "x", encoding="utf-8", newline="") as handle:
                handle.write(result.new_text)
        except OSError as exc:
            return _fail(ls, f"could not create {rel}: {exc.strerror}") | summary
        applied, reason = True, ""
    else:
        reply = await ls.workspace_apply_edit_async(types.ApplyWorkspaceEditParams(
            edit=edit, label=f"Generate tests for {result.target}"))
        applied, reason = bool(reply.applied), reply.failure_reason or ""
    if not applied:
        message = (f"the editor refused the edit to {rel}" + (f" ({reason})" if reason else "")
                   + "; nothing was applied. Run the action again.")
        ls.show_message(f"Ghostline: {message}", types.MessageType.Warning)
        return {**summary, "applied": False, "cancelled": False, "conflict": True,
                "message": message}
    verb = "created" if result.creates_file else "added to"
    count = len(result.tests)
    message = f"{count} test{'s' if count != 1 else ''} for {result.target} {verb} {rel}"
    if result.run is not None:
        message += (_run_note(result) if result.run.ran
                    else f"; tests not run: {result.run.reason}" if result.run.reason else "")
    ls.show_message(f"Ghostline: {message}", types.MessageType.Info)
    await _show(ls, uri)
    return {**summary, "applied": True, "cancelled": False, "message": message}


def _changed(
    ls: GhostlineServer, path: Path, before: _Snapshot, base_text: str | None = None,
    creates: bool | None = None,
) -> str:
    """Why the file no longer matches what was read ("" if it does). ``base_text`` and
    ``creates`` default to the snapshot: the text the edit was computed against."""
    base = before.text if base_text is None and creates is None else base_text
    new_file = before.text is None if creates is None else creates
    doc = ls.workspace.text_documents.get(path.as_uri())
    if doc is not None:
        if before.version is not None and doc.version != before.version:
            return f"version {before.version} is now {doc.version}"
        if before.version is None and doc.source != (base or ""):
            return "it was opened and edited"
        return ""
    if new_file:
        return "the file now exists" if path.exists() else ""
    try:
        now = path.read_bytes().decode("utf-8", errors="replace")
    except OSError:
        return "the file is gone"
    return "" if now == base else "its content changed on disk"


def _conflict_outcome(ls: GhostlineServer, rel: str, reason: str) -> dict[str, Any]:
    message = (f"{rel} changed while the tests were being written ({reason}); nothing was "
               "applied. Run the action again.")
    ls.show_message(f"Ghostline: {message}", types.MessageType.Warning)
    return {"applied": False, "cancelled": False, "conflict": True, "message": message}


def _workspace_edit(
    ls: GhostlineServer, result: GeneratedTests, before: _Snapshot, crlf: bool
) -> types.WorkspaceEdit | None:
    uri = result.plan.path.as_uri()
    base = result.base_text or ""
    lines = base.split("\n")
    codec = ls.workspace.position_codec
    edits: list[types.TextEdit] = []
    for insertion in result.insertions:
        line = min(insertion.line, len(lines))
        if line >= len(lines):
            line, column = len(lines) - 1, len(lines[-1])
        else:
            column = insertion.column
        units = codec.client_num_units(lines[line][:column]) if lines else 0
        text = insertion.text.replace("\n", "\r\n") if crlf else insertion.text
        position = types.Position(line=line, character=units)
        edits.append(types.TextEdit(range=types.Range(start=position, end=position),
                                    new_text=text))
    document_changes = ls.client_supports("workspace", "workspace_edit", "document_changes")
    version = before.version if ls.workspace.text_documents.get(uri) is not None else None
    if result.creates_file:
        operations = _resource_operations(ls)
        if not document_changes or types.ResourceOperationKind.Create not in operations:
            return None
        identifier = types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=None)
        return types.WorkspaceEdit(document_changes=[
            types.CreateFile(uri=uri, options=types.CreateFileOptions(
                overwrite=False, ignore_if_exists=False)),
            types.TextDocumentEdit(text_document=identifier, edits=list(edits)),
        ])
    if document_changes:
        identifier = types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=version)
        return types.WorkspaceEdit(document_changes=[
            types.TextDocumentEdit(text_document=identifier, edits=list(edits))])
    return types.WorkspaceEdit(changes={uri: edits})


def _resource_operations(ls: GhostlineServer) -> list[types.ResourceOperationKind]:
    workspace = getattr(ls.client_capabilities, "workspace", None)
    edit = getattr(workspace, "workspace_edit", None)
    return list(getattr(edit, "resource_operations", None) or [])


async def _show(ls: GhostlineServer, uri: str) -> None:
    """Open the test file in the editor, where the client can (never blocks for long)."""
    if not ls.client_supports("window", "show_document", "support"):
        return
    try:
        await asyncio.wait_for(ls.window_show_document_async(
            types.ShowDocumentParams(uri=uri, take_focus=False)), timeout=2)
    except Exception as exc:  # showing the file is a convenience only
        log.debug("showDocument failed: %s", exc)


def _display(ls: GhostlineServer, path: Path) -> str:
    for root in ls.workspace_roots():
        if path.is_relative_to(root):
            return os.path.relpath(path, root)
    return str(path)


def _run_summary(result: GeneratedTests) -> dict[str, Any] | None:
    run = result.run
    if run is None:
        return None
    coverage = run.coverage
    mutants = run.mutants
    note = run.coverage_note
    if coverage is None and not note:
        note = f"coverage not measured: {run.reason or 'the tests did not run'}"
    return {"ran": run.ran, "passed": run.passed, "failed": run.failed, "reason": run.reason,
            "seconds": run.seconds, "runs": run.runs if run.ran else 0,
            "coverage": None if coverage is None else {
                "lines": coverage.lines, "linesTotal": coverage.lines_total,
                "branches": coverage.branches, "branchesTotal": coverage.branches_total},
            "coverageNote": "" if coverage is not None else note,
            "observed": dict(run.observed),
            "mutants": None if mutants is None else {
                "caught": mutants.caught, "total": mutants.total,
                "items": [{"description": m.description, "caught": m.caught}
                          for m in mutants.items]}}


_RUN_WORDS = {1: "one run", 2: "two runs", 3: "three runs"}
#: Failed or flaky tests named in the message (the summary lists them all).
_NOTED_FAILURES = 3


def _run_note(result: GeneratedTests) -> str:
    """What running the tests showed, for the message: " (3 passed three runs; covers 12 of
    14 lines and 5 of 6 branches of f; caught 6 of 8 mutants)" and the tests not applied
    because they failed, with their failure."""
    run = result.run
    if run is None:
        return ""
    parts = [f"{len(run.passed)} passed " + _RUN_WORDS.get(run.runs, f"{run.runs} runs")]
    if run.dropped:
        parts[0] += f", {len(run.dropped)} left out as redundant"
    coverage = run.coverage
    if coverage is not None:
        branches = (f" and {coverage.branches} of {coverage.branches_total} branches"
                    if coverage.branches_total else "")
        parts.append(f"covers {coverage.lines} of {coverage.lines_total} lines{branches} "
                     f"of {result.target}")
    elif run.coverage_note:
        parts.append(run.coverage_note)
    if run.mutants is not None and run.mutants.total:
        parts.append(f"caught {run.mutants.caught} of {run.mutants.total} mutants")
    note = " (" + "; ".join(parts) + ")"
    if run.observed:
        count = len(run.observed)
        note += (f". {count} test{'s' if count != 1 else ''} now expect{'s' if count == 1 else ''}"
                 " what the code returns, not what the model expected: check "
                 f"{'them' if count != 1 else 'it'} (" + "; ".join(
                     f"{name}: {change}" for name, change in list(run.observed.items())[:2])
                 + ")")
    failures = [f"{name} — {describe_failure(text)}" for name, text in run.failed.items()]
    failures += [f"{name} — flaky, {text}" for name, text in run.flaky.items()]
    if failures:
        more = len(failures) - _NOTED_FAILURES
        note += ". Not applied: " + "; ".join(failures[:_NOTED_FAILURES])
        note += f" and {more} more" if more > 0 else ""
    return note
