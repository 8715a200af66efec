"""Fault tests: the real server (`python -m ghostline serve`) driven by `EditorSession`,
its processes watched with psutil."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path
from typing import Any

import psutil
import pytest
from lsprotocol import types

from ghostline.engine.model_files import default_model_path
from ghostline.lsp_client import EditorSession
from tests.e2e import conftest as e2e

#: One llama.cpp thread (the machine is shared); a generous limit (slow CI machines). The
#: model is named so that the cache folder can move to tmp without assembling it again.
SETTINGS: dict[str, Any] = {"timeLimitS": 20.0, "threads": 1,
                            "model": str(default_model_path())}


#: A fresh copy of the sample project (the e2e fixture).
project = e2e.project


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Index caches of these throwaway workspaces go to tmp, not the user's cache."""
    folder = tmp_path / "ghostline-cache"
    monkeypatch.setenv("GHOSTLINE_CACHE_DIR", str(folder))
    return folder


async def start_editor(root: Path, settings: dict[str, Any] | None = None) -> EditorSession:
    """`EditorSession.start` with the settings above (it drains the server's stderr)."""
    editor = EditorSession({**SETTINGS, **(settings or {})})
    await editor.start(root)
    return editor


@pytest.fixture
async def session(project: Path) -> AsyncIterator[EditorSession]:
    """A server on a copy of the sample project, model loaded."""
    editor = await start_editor(project)
    yield editor
    await editor.stop()


def server_process(session: EditorSession) -> psutil.Process:
    server = session.client._server
    assert server is not None
    return psutil.Process(server.pid)


def is_gone(process: psutil.Process) -> bool:
    """Exited: no such process, or only a zombie left to a parent that is not ours to
    reap (a container's pid 1 may never reap reparented processes)."""
    try:
        return not process.is_running() or process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def poll(check: Callable[[], bool], timeout: float) -> float | None:
    """Seconds until `check()` held (polled every 10 ms), or None if not by `timeout`."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if check():
            return time.monotonic() - started
        time.sleep(0.01)
    return None


def wait_gone(processes: Iterable[psutil.Process], timeout: float) -> float | None:
    """Seconds until every process exited, or None if some were still alive at `timeout`."""
    family = list(processes)
    return poll(lambda: all(is_gone(p) for p in family), timeout)


def zombie_children(process: psutil.Process) -> list[psutil.Process]:
    """Children of `process` that exited and were never reaped by it."""
    found = []
    for child in process.children(recursive=True):
        try:
            if child.status() == psutil.STATUS_ZOMBIE:
                found.append(child)
        except psutil.NoSuchProcess:
            pass
    return found


async def status(session: EditorSession) -> dict[str, Any]:
    result = await session.status()
    assert result, "ghostline.status gave no answer"
    return result


async def request_completion(session: EditorSession, uri: str, line: int, character: int,
                             timeout: float = 60) -> types.InlineCompletionList | None:
    """One inline completion request; JSON-RPC errors are raised as exceptions."""
    import asyncio

    result = await asyncio.wait_for(
        session.client.text_document_inline_completion_async(types.InlineCompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=line, character=character),
            context=types.InlineCompletionContext(
                trigger_kind=types.InlineCompletionTriggerKind.Invoked),
        )),
        timeout,
    )
    assert result is None or isinstance(result, types.InlineCompletionList)
    return result


def write_python_workspace(root: Path, files: int, per_folder: int = 100) -> list[Path]:
    """`files` small Python modules in folders of `per_folder`, each with a function and a
    class named after it (so the index has something to find)."""
    written = []
    for number in range(files):
        folder = root / f"pkg{number // per_folder:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"mod{number:05d}.py"
        path.write_text(
            f'"""Module {number}."""\n\n\ndef helper_{number}(value: int) -> int:\n'
            f"    return value + {number}\n\n\nclass Thing{number}:\n"
            f"    def size(self) -> int:\n        return {number}\n",
            encoding="utf-8",
        )
        written.append(path)
    return written
