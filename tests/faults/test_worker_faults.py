"""The model worker killed mid-generation, and the model file taken away while serving.

The real server and the real default model: the worker is SIGKILLed at random moments
(seeded) while it evaluates a prompt or streams tokens. Every request must get an answer or
a clear error, the next request must be answered by a new worker, the server must reap what
it started (no zombies) and its memory must stay flat.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import psutil
import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from ghostline.engine.model_files import default_model_path
from ghostline.lsp_client import EditorSession
from tests.faults.conftest import (
    request_completion,
    server_process,
    start_editor,
    status,
    zombie_children,
)

pytestmark = pytest.mark.model

ROUNDS = 5
SEED = 10
#: A loose bound: five worker restarts must not grow the server by more than this.
RSS_GROWTH_LIMIT = 60 * 1024 * 1024

# In cart.py: `    return ` in `subtotal` (line 7, after "return "), and the docstring line
# at the top, where a word is typed each round so that every prompt is new to the worker.
CURSOR = (7, 11)
EDIT_AT = (0, 3)
#: Short prompts and answers: each round loads the model and evaluates a cold prompt on one
#: thread of a shared machine; what is under test is the crash handling, not the model.
SMALL = {"promptTokens": 200, "contextSources": [], "maxTokens": 24}


@pytest.fixture
async def small_session(project: Path) -> AsyncIterator[EditorSession]:
    editor = await start_editor(project, SMALL)
    yield editor
    await editor.stop()


async def _fresh_request(session: EditorSession, uri: str, word: str
                         ) -> asyncio.Future[types.InlineCompletionList | None]:
    session.insert(uri, *EDIT_AT, word)
    return asyncio.ensure_future(request_completion(session, uri, *CURSOR))


def _kill(pid: int) -> None:
    psutil.Process(pid).kill()  # SIGKILL: no chance to clean up


async def test_worker_killed_during_generation_repeatedly(
    small_session: EditorSession, project: Path
) -> None:
    session = small_session
    rng = random.Random(SEED)
    server = server_process(session)
    uri = session.open(project / "cart.py")
    await request_completion(session, uri, *CURSOR)
    before = await status(session)
    rss_start = server.memory_info().rss
    killed: list[int] = []
    answered = errors = reasked = 0
    for round_number in range(ROUNDS):
        pid = (await status(session))["workerPid"]
        assert isinstance(pid, int), "no worker running before the kill"
        pending = await _fresh_request(session, uri, f"k{round_number} ")
        await asyncio.sleep(rng.uniform(0.05, 0.5))
        _kill(pid)
        killed.append(pid)
        try:
            await pending
            # Finished before the kill landed, or died before any output and was asked
            # again of a new worker.
            answered += 1
            reasked += (await status(session))["workerPid"] != pid
        except JsonRpcException as exc:
            errors += 1
            assert "worker" in str(exc), f"unclear error: {exc}"
        # The next request is served by a new worker.
        calls = (await status(session))["modelCalls"]
        await (await _fresh_request(session, uri, f"n{round_number} "))
        after = await status(session)
        assert after["workerPid"] not in (None, pid)
        assert after["modelCalls"] > calls
        assert after["state"] == "ready"
    final = await status(session)
    print(f"\n[worker faults] {ROUNDS} kills: {errors} requests got an error, "
          f"{answered} were answered ({reasked} by the new worker); restarts "
          f"{before['workerRestarts']} -> {final['workerRestarts']}; server RSS "
          f"{rss_start / 2**20:.0f} -> {server.memory_info().rss / 2**20:.0f} MiB")
    assert answered + errors == ROUNDS
    assert final["workerRestarts"] == before["workerRestarts"] + ROUNDS
    assert zombie_children(server) == []
    assert not any(psutil.pid_exists(pid) for pid in killed), "a killed worker was not reaped"
    assert len(server.children()) == 1  # the current worker only
    assert server.memory_info().rss < rss_start + RSS_GROWTH_LIMIT


def _place_model(target: Path) -> None:
    """The default GGUF at `target`: a hard link where possible (instant), else a copy."""
    source = default_model_path()
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


async def _restart_worker(session: EditorSession) -> None:
    """Kill the worker so that the next request loads the model file again."""
    pid = (await status(session))["workerPid"]
    assert isinstance(pid, int)
    with contextlib.suppress(psutil.NoSuchProcess):
        worker = psutil.Process(pid)
        worker.kill()
        await asyncio.to_thread(worker.wait, 30)  # gone once the server reaped it


def _errors(session: EditorSession) -> list[str]:
    return [m.message for m in session.messages if m.type == types.MessageType.Error]


async def test_model_file_removed_then_replaced(project: Path, tmp_path: Path) -> None:
    model = tmp_path / "models" / "mine.gguf"
    model.parent.mkdir()
    _place_model(model)
    aside = tmp_path / "aside.gguf"
    session = await start_editor(project, {**SMALL, "model": str(model)})
    try:
        uri = session.open(project / "cart.py")
        assert await request_completion(session, uri, *CURSOR) is not None

        # Removed while running: the loaded worker keeps serving from its open file.
        model.rename(aside)
        session.insert(uri, *EDIT_AT, "a ")
        assert await request_completion(session, uri, *CURSOR) is not None
        # Once the worker must load it again: a clear message naming the file, no answer.
        await _restart_worker(session)
        session.insert(uri, *EDIT_AT, "b ")
        assert await request_completion(session, uri, *CURSOR) is None
        state = await status(session)
        assert state["state"] == "error"
        assert str(model) in str(state["error"])
        assert any(str(model) in message for message in _errors(session))

        # Put back: the next request loads it (no waiting for a retry timer).
        aside.rename(model)
        session.insert(uri, *EDIT_AT, "c ")
        answer = await request_completion(session, uri, *CURSOR)
        assert answer is not None
        assert (await status(session))["state"] == "ready"

        # Replaced by something that is not a model: again a clear message, then recovery.
        model.rename(aside)
        model.write_bytes(b"this is not a model" * 1000)
        await _restart_worker(session)
        shown = len(_errors(session))
        session.insert(uri, *EDIT_AT, "d ")
        assert await request_completion(session, uri, *CURSOR) is None
        assert any(str(model) in m and "GGUF" in m for m in _errors(session)[shown:])
        os.replace(aside, model)
        session.insert(uri, *EDIT_AT, "e ")
        assert await request_completion(session, uri, *CURSOR) is not None
        assert (await status(session))["state"] == "ready"
    finally:
        await session.stop()
