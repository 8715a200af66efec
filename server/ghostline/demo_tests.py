"""The "Generate tests" step of `ghostline demo`, and the editor session it (and the
benchmark) drive: code actions, resolve, the command, and `workspace/applyEdit` answered
like an editor would (versions checked, files created, insertions written to disk)."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.uris import to_fs_path

from ghostline.lsp_client import EditorSession, drain_stderr

COMMAND = "ghostline.generateTests"


class GenerateTestsSession(EditorSession):
    """An `EditorSession` that also answers `workspace/applyEdit` and runs code actions."""

    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        super().__init__(settings)
        self.applied_at: list[float] = []
        self.edits: list[types.ApplyWorkspaceEditParams] = []

        @self.client.feature(types.WORKSPACE_APPLY_EDIT)
        def apply_edit(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
            self.applied_at.append(time.perf_counter())
            self.edits.append(params)
            return self.apply(params.edit)

    async def start(self, root: Path) -> float:
        """Start the server and initialize (announcing workspace edits, file creation and
        code action resolve); returns seconds until the model was ready."""
        started = time.perf_counter()
        await self.client.start_io(
            sys.executable, "-m", "ghostline", "serve", "--log-level", "WARNING")
        drain_stderr(self)
        await self.client.initialize_async(types.InitializeParams(
            process_id=None,
            root_uri=root.resolve().as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=root.resolve().as_uri(),
                                                     name=root.name)],
            initialization_options=self.settings,
            capabilities=capabilities(),
        ))
        self.client.initialized(types.InitializedParams())
        deadline = time.monotonic() + 120
        while (await self.status())["state"] == "loading" and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        return time.perf_counter() - started

    def apply(self, edit: types.WorkspaceEdit) -> types.ApplyWorkspaceEditResult:
        before = dict(self.versions)
        result = apply_workspace_edit(edit, self.texts, self.versions)
        for uri, version in self.versions.items():
            if before.get(uri) != version:  # tell the server, as an editor does
                self.client.text_document_did_change(types.DidChangeTextDocumentParams(
                    text_document=types.VersionedTextDocumentIdentifier(uri=uri,
                                                                        version=version),
                    content_changes=[types.TextDocumentContentChangeWholeDocument(
                        text=self.texts[uri])]))
        return result

    async def code_actions(self, uri: str, line: int, character: int) -> list[types.CodeAction]:
        position = types.Position(line=line, character=character)
        result = await self.client.text_document_code_action_async(types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=types.Range(start=position, end=position),
            context=types.CodeActionContext(diagnostics=[])))
        return [a for a in result or [] if isinstance(a, types.CodeAction)]

    async def generate_tests(
        self, uri: str, line: int, character: int, timeout: float = 300
    ) -> tuple[dict[str, Any], float | None]:
        """Pick "Generate tests" at the position and run it: the command's result and the
        seconds from running the command until the editor got the edit (None if none)."""
        actions = [a for a in await self.code_actions(uri, line, character)
                   if a.title.startswith("Generate tests")]
        if not actions:
            return {"applied": False, "message": "no Generate tests action here"}, None
        action = actions[0]
        if action.command is None:
            action = await self.client.code_action_resolve_async(action)
        assert action.command is not None
        before = len(self.applied_at)
        started = time.perf_counter()
        result = await asyncio.wait_for(self.client.workspace_execute_command_async(
            types.ExecuteCommandParams(command=action.command.command,
                                       arguments=action.command.arguments)), timeout)
        applied = self.applied_at[before] - started if len(self.applied_at) > before else None
        return (result if isinstance(result, dict) else {}), applied


def apply_workspace_edit(
    edit: types.WorkspaceEdit, texts: dict[str, str], versions: dict[str, int]
) -> types.ApplyWorkspaceEditResult:
    """Apply ``edit`` as an editor would: refuse it whole if a versioned document is not at
    that version, create files, write insertions to disk and to open documents' ``texts``
    (whose ``versions`` then go up by one)."""
    changes: list[Any] = list(edit.document_changes or [])
    for uri, edits in (edit.changes or {}).items():
        changes.append(types.TextDocumentEdit(
            text_document=types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=None),
            edits=list(edits)))
    for change in changes:
        if isinstance(change, types.TextDocumentEdit):
            uri = change.text_document.uri
            version = change.text_document.version
            if version is not None and versions.get(uri) != version:
                return types.ApplyWorkspaceEditResult(
                    applied=False,
                    failure_reason=f"{uri} is at version {versions.get(uri)}, not {version}")
    for change in changes:
        if isinstance(change, types.CreateFile):
            path = Path(to_fs_path(change.uri) or "")
            if path.exists() and not (change.options and change.options.overwrite):
                return types.ApplyWorkspaceEditResult(applied=False,
                                                      failure_reason=f"{path} exists")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("", encoding="utf-8")
        elif isinstance(change, types.TextDocumentEdit):
            _apply_text_edits(change.text_document.uri, list(change.edits), texts, versions)
    return types.ApplyWorkspaceEditResult(applied=True)


def _apply_text_edits(
    uri: str, edits: list[Any], texts: dict[str, str], versions: dict[str, int]
) -> None:
    path = Path(to_fs_path(uri) or "")
    known = texts.get(uri)
    text = known if known is not None else (
        path.read_text(encoding="utf-8") if path.exists() else "")
    lines = text.split("\n")
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)

    def offset(position: types.Position) -> int:
        if position.line >= len(lines):
            return len(text)
        return offsets[position.line] + _utf16_to_index(lines[position.line],
                                                        position.character)

    spans = sorted(((offset(e.range.start), offset(e.range.end), i, e.new_text)
                    for i, e in enumerate(edits)), reverse=True)
    for start, end, _, new_text in spans:
        text = text[:start] + new_text + text[end:]
    if known is not None:  # an open document: its buffer changes (and is saved)
        texts[uri] = text
        versions[uri] += 1
    path.write_text(text, encoding="utf-8")


def capabilities() -> types.ClientCapabilities:
    """What an editor that can take generated tests announces."""
    return types.ClientCapabilities(
        workspace=types.WorkspaceClientCapabilities(
            configuration=True,
            apply_edit=True,
            workspace_edit=types.WorkspaceEditClientCapabilities(
                document_changes=True,
                resource_operations=[types.ResourceOperationKind.Create]),
        ),
        text_document=types.TextDocumentClientCapabilities(
            code_action=types.CodeActionClientCapabilities(
                resolve_support=types.ClientCodeActionResolveOptions(properties=["command"]),
                data_support=True)),
        window=types.WindowClientCapabilities(work_done_progress=True),
        general=types.GeneralClientCapabilities(
            position_encodings=[types.PositionEncodingKind.Utf16]),
    )


def _utf16_to_index(line: str, units: int) -> int:
    count = 0
    for index, char in enumerate(line):
        if count >= units:
            return index
        count += 2 if ord(char) > 0xFFFF else 1
    return len(line)


async def demo_generate_tests(session: EditorSession, root: Path) -> None:
    """Generate tests for two functions of the sample project's inventory module (appended
    to its existing test file). Prints what happened and how long it took."""
    if not isinstance(session, GenerateTestsSession):
        print("Generate tests: skipped (the session does not answer workspace/applyEdit)")
        return
    print("\nGenerate tests (code action → command → workspace/applyEdit)")
    for name, function in (("inventory.py", "find_item"), ("inventory.py", "restock")):
        path = root / name
        text = path.read_text(encoding="utf-8")
        line = next((i for i, t in enumerate(text.split("\n"))
                     if t.startswith(f"def {function}(")), None)
        if line is None:
            continue
        uri = path.resolve().as_uri()
        if uri not in session.versions:
            uri = session.open(path)
        result, seconds = await session.generate_tests(uri, line, 4)
        where = Path(str(result.get("path", ""))).relative_to(root) if result.get("path") else ""
        if result.get("applied"):
            verb = "created" if result.get("created") else "appended to"
            print(f"  {function}: {len(result.get('tests', []))} tests {verb} {where} "
                  f"in {seconds or 0:.1f} s: {', '.join(result.get('tests', []))}")
            print(f"    {_run_line(result.get('run'))}")
        else:
            print(f"  {function}: nothing applied ({result.get('message')})")
    await _run_test_files(root)


def _run_line(run: object) -> str:
    """What the server's own run of the generated tests found."""
    if not isinstance(run, dict):
        return "not run before applying"
    if not run.get("ran"):
        return f"not run: {run.get('reason')}"
    failed = run.get("failed") or {}
    runs = int(run.get("runs") or 1)
    line = (f"run before applying: {len(run.get('passed') or [])} passed "
            f"{runs} run{'s' if runs != 1 else ''} in a row")
    if failed:
        line += f", {len(failed)} failed and left out ({', '.join(failed)})"
    coverage = run.get("coverage")
    if isinstance(coverage, dict):
        line += f"; covers {coverage.get('lines')} of {coverage.get('linesTotal')} lines"
        if coverage.get("branchesTotal"):
            line += f" and {coverage.get('branches')} of {coverage.get('branchesTotal')} branches"
    elif run.get("coverageNote"):
        line += f"; {run.get('coverageNote')}"
    mutants = run.get("mutants")
    if isinstance(mutants, dict) and mutants.get("total"):
        line += f"; caught {mutants.get('caught')} of {mutants.get('total')} mutants"
    return line + f" ({float(run.get('seconds') or 0):.1f} s running tests)"


async def _run_test_files(root: Path) -> None:
    """Run the project's test folder as a user would after accepting the edits."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests",
        cwd=root, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    output, _ = await proc.communicate()
    lines = [line for line in output.decode(errors="replace").splitlines() if line.strip()]
    print(f"  pytest on the edited test folder: {lines[-1] if lines else 'no output'}")
