"""The "Generate tests" code action through the real server over stdio, with the real
default model, on sample projects in Python and TypeScript.

The client here answers `workspace/applyEdit` like an editor: it checks the versions of the
documents it has open, creates files and writes the insertions.
"""

from __future__ import annotations

import ast
import asyncio
import difflib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from ghostline.demo_tests import apply_workspace_edit, capabilities
from ghostline.index.conventions import declared_test_names
from ghostline.postprocess.testgen_output import syntax_errors

from .conftest import open_document, wait_indexed

pytestmark = pytest.mark.model

FIXTURES = Path(__file__).parents[1] / "fixtures" / "generate_tests"


class Editor:
    """What the editor side knows: open documents' texts and versions, edits received."""

    def __init__(self, client: LanguageClient) -> None:
        self.client = client
        self.texts: dict[str, str] = {}
        self.versions: dict[str, int] = {}
        self.edits: list[types.ApplyWorkspaceEditParams] = []
        self.results: list[types.ApplyWorkspaceEditResult] = []

        self.questions: list[types.ShowMessageRequestParams] = []

        @client.feature(types.WINDOW_SHOW_MESSAGE_REQUEST)
        def ask(params: types.ShowMessageRequestParams) -> None:
            """The consent question (runGeneratedTests "ask"): dismissed, as a user may."""
            self.questions.append(params)

        @client.feature(types.WORKSPACE_APPLY_EDIT)
        def apply_edit(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
            self.edits.append(params)
            result = apply_workspace_edit(params.edit, self.texts, self.versions)
            self.results.append(result)
            return result

    async def start(self, root: Path, options: dict[str, Any] | None = None) -> None:
        await self.client.initialize_session(types.InitializeParams(
            process_id=os.getpid(),
            root_uri=root.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name=root.name)],
            capabilities=capabilities(),
            # One llama.cpp thread: with two on a 2-core machine that is busy with anything
            # else, ggml's spinning threads slow generation down 10-30 times.
            initialization_options={"timeLimitS": 20.0, "threads": 1, **(options or {})},
        ))

    def open(self, path: Path, language_id: str) -> str:
        text = path.read_text(encoding="utf-8")
        uri = open_document(self.client, path, text, language_id)
        self.texts[uri], self.versions[uri] = text, 1
        return uri

    def change(self, uri: str, appended: str) -> None:
        """Type ``appended`` at the end of the document (not saved)."""
        text = self.texts[uri]
        lines = text.split("\n")
        end = types.Position(line=len(lines) - 1, character=len(lines[-1]))
        self.texts[uri] = text + appended
        self.versions[uri] += 1
        self.client.text_document_did_change(types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri,
                                                                version=self.versions[uri]),
            content_changes=[types.TextDocumentContentChangePartial(
                range=types.Range(start=end, end=end), text=appended)]))

    async def actions(self, uri: str, line: int, character: int,
                      only: list[types.CodeActionKind] | None = None) -> list[types.CodeAction]:
        position = types.Position(line=line, character=character)
        result = await self.client.text_document_code_action_async(types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=types.Range(start=position, end=position),
            context=types.CodeActionContext(diagnostics=[], only=only)))
        return [a for a in result or [] if isinstance(a, types.CodeAction)
                and a.title.startswith("Generate tests")]

    async def command_for(self, uri: str, line: int, character: int) -> types.Command:
        actions = await self.actions(uri, line, character)
        assert actions, "no Generate tests action at the position"
        action = actions[0]
        assert action.command is None and action.edit is None  # resolved lazily
        resolved = await self.client.code_action_resolve_async(action)
        assert resolved.command is not None
        return resolved.command

    async def run(self, command: types.Command) -> dict[str, Any]:
        result = await asyncio.wait_for(self.client.workspace_execute_command_async(
            types.ExecuteCommandParams(command=command.command, arguments=command.arguments)),
            240)
        assert isinstance(result, dict)
        return result

    async def progress_begun(self, timeout: float = 120) -> str:
        """The token of the test generation's progress, once it has begun."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for token, reports in self.client.progress_reports.items():
                if any(isinstance(r, types.WorkDoneProgressBegin) and r.cancellable
                       and (r.message or "").startswith("writing tests") for r in reports):
                    return str(token)
            await asyncio.sleep(0.02)
        raise AssertionError("no cancellable progress for the test generation")


def copy_fixture(name: str, tmp_path: Path) -> Path:
    root = tmp_path / name
    shutil.copytree(FIXTURES / name, root)
    return root


async def textstats_with_tests(client: LanguageClient, tmp_path: Path
                               ) -> tuple[Editor, Path, str, Path]:
    """The textstats project with a test file, `textstats.py` open: the editor, the
    source, its URI and the test file."""
    root = copy_fixture("py_textstats", tmp_path)
    (root / "tests").mkdir()  # stored under another name so that pytest does not collect it
    shutil.copy(FIXTURES / "py_textstats_tests" / "existing_tests.py",
                root / "tests" / "test_textstats.py")
    editor = Editor(client)
    await editor.start(root)
    source = root / "textstats.py"
    return editor, source, editor.open(source, "python"), root / "tests" / "test_textstats.py"


def line_of(path: Path, prefix: str) -> int:
    return next(i for i, line in enumerate(path.read_text(encoding="utf-8").split("\n"))
                if line.startswith(prefix))


def only_insertions(old: str, new: str) -> bool:
    """``new`` is ``old`` with text inserted: no byte of ``old`` removed or replaced."""
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    return all(op in ("equal", "insert") for op, *_ in matcher.get_opcodes())


async def test_python_action_appends_to_the_existing_test_file(
        client: LanguageClient, tmp_path: Path) -> None:
    editor, source, uri, test_file = await textstats_with_tests(client, tmp_path)
    before = test_file.read_text(encoding="utf-8")
    line = line_of(source, "def longest_word(")

    assert await editor.actions(uri, 0, 0) == []  # the module docstring: nothing to test
    listed = await editor.actions(uri, line + 2, 8)
    assert [a.title for a in listed] == ["Generate tests for longest_word"]
    assert listed[0].kind == types.CodeActionKind.Refactor
    as_source = await editor.actions(uri, line, 4, only=[types.CodeActionKind.Source])
    assert [a.kind for a in as_source] == [types.CodeActionKind.Source]

    result = await editor.run(await editor.command_for(uri, line + 2, 8))
    assert result["applied"], result["message"]
    assert not result["created"] and result["path"] == str(test_file)
    # runGeneratedTests "ask": the question came once; dismissed, the tests were not run
    assert len(editor.questions) == 1 and editor.questions[0].actions
    assert "tests not run" in result["message"] and not result["run"]["ran"]
    after = test_file.read_text(encoding="utf-8")
    assert only_insertions(before, after)  # the existing content is intact, byte for byte
    ast.parse(after)
    assert syntax_errors(after, "python") == []
    names = declared_test_names(after, "python")
    assert len(names) == len(set(names))  # renamed on a clash
    assert set(result["tests"]) <= set(names) and len(names) == 2 + len(result["tests"])
    assert "from textstats import longest_word\n" in after

    token = await editor.progress_begun(5)
    reports = client.progress_reports[token]
    assert isinstance(reports[-1], types.WorkDoneProgressEnd)
    assert any(isinstance(r, types.WorkDoneProgressReport) for r in reports)
    assert len(editor.edits) == 1 and editor.results[0].applied


async def test_python_action_creates_a_test_file(client: LanguageClient, tmp_path: Path) -> None:
    root = copy_fixture("py_textstats", tmp_path)
    # Another file calls the target: the context service shows that call to the model.
    (root / "headline.py").write_text(
        "from textstats import longest_word\n\n\ndef banner(title: str) -> str:\n"
        "    return longest_word(title).upper()\n", encoding="utf-8")
    editor = Editor(client)
    await editor.start(root)
    await wait_indexed(client)
    source = root / "textstats.py"
    uri = editor.open(source, "python")
    result = await editor.run(await editor.command_for(uri, line_of(source, "def longest_word("),
                                                       6))
    assert result["applied"], result["message"]
    test_file = root / "tests" / "test_textstats.py"
    assert result["created"] and result["path"] == str(test_file)
    text = test_file.read_text(encoding="utf-8")
    assert text.startswith("from textstats import longest_word\n")
    ast.parse(text)
    assert set(result["tests"]) == set(declared_test_names(text, "python"))
    assert result["contextFiles"] == ["headline.py"]
    edit = editor.edits[0].edit
    assert edit.document_changes is not None
    assert isinstance(edit.document_changes[0], types.CreateFile)


async def test_python_tests_are_run_before_they_are_applied(
        client: LanguageClient, tmp_path: Path) -> None:
    """With consent ("always"), only tests that passed three runs are applied, with the
    coverage of the target they reach; the file then passes a run of its own."""
    root = copy_fixture("py_textstats", tmp_path)
    editor = Editor(client)
    await editor.start(root, {"runGeneratedTests": "always"})
    source = root / "textstats.py"
    uri = editor.open(source, "python")
    result = await editor.run(await editor.command_for(uri, line_of(source, "def longest_word("),
                                                       6))
    assert result["applied"], result["message"]
    run = result["run"]
    assert run["ran"] and run["runs"] == 3
    assert set(result["tests"]) <= set(run["passed"])
    assert run["coverage"] is not None and 0 < run["coverage"]["lines"] <= \
        run["coverage"]["linesTotal"]
    assert "three runs" in result["message"]
    check = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                            "tests"], cwd=root, capture_output=True, text=True, timeout=120,
                           check=False)
    assert check.returncode == 0, check.stdout[-2000:]


async def test_typescript_action_creates_a_vitest_file(
        client: LanguageClient, tmp_path: Path) -> None:
    root = copy_fixture("ts_cart", tmp_path)
    editor = Editor(client)
    await editor.start(root)
    source = root / "src" / "cart.ts"
    uri = editor.open(source, "typescript")
    line = line_of(source, "export function applyDiscount(")
    result = await editor.run(await editor.command_for(uri, line, 20))
    assert result["applied"], result["message"]
    test_file = root / "src" / "cart.test.ts"
    assert result["path"] == str(test_file) and result["created"]
    text = test_file.read_text(encoding="utf-8")
    assert syntax_errors(text, "typescript") == []
    assert text.startswith('import { describe, it, expect } from "vitest";\n'
                           'import { applyDiscount } from "./cart";\n')
    assert 'describe("applyDiscount", () => {' in text
    assert set(result["tests"]) == set(declared_test_names(text, "typescript"))


async def test_cancel_stops_and_applies_nothing(client: LanguageClient, project: Path) -> None:
    editor = Editor(client)
    await editor.start(project)
    source = project / "inventory.py"
    uri = editor.open(source, "python")
    test_file = project / "tests" / "test_inventory.py"
    before = test_file.read_bytes()
    command = await editor.command_for(uri, line_of(source, "def restock("), 6)
    task = asyncio.create_task(editor.run(command))
    token = await editor.progress_begun()
    client.window_work_done_progress_cancel(types.WorkDoneProgressCancelParams(token=token))
    started = time.monotonic()
    result = await task
    assert result["cancelled"] and not result["applied"]
    assert time.monotonic() - started < 20
    assert editor.edits == []
    assert test_file.read_bytes() == before
    assert isinstance(client.progress_reports[token][-1], types.WorkDoneProgressEnd)


async def test_a_changed_test_file_gets_no_edit(client: LanguageClient, tmp_path: Path) -> None:
    editor, source, uri, test_file = await textstats_with_tests(client, tmp_path)
    before = test_file.read_bytes()
    test_uri = editor.open(test_file, "python")
    command = await editor.command_for(uri, line_of(source, "def longest_word("), 6)
    task = asyncio.create_task(editor.run(command))
    await editor.progress_begun()
    editor.change(test_uri, "# the user typed here\n")
    result = await task
    assert result.get("conflict") and not result["applied"], result
    assert "changed while the tests were being written" in result["message"]
    assert all(not r.applied for r in editor.results)  # nothing was written over
    assert test_file.read_bytes() == before
    assert editor.texts[test_uri] == before.decode() + "# the user typed here\n"
    assert any("changed while" in m.message for m in client.messages)
