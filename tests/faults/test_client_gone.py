"""The client disappears: the server and everything it started exit within seconds.

An editor that crashes, or is killed, closes the server's stdin. The server must notice,
stop its model worker and its index processes, and exit: no orphans left to burn CPU.
The measured seconds are printed (run with ``-s`` to see them).
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import psutil
import pytest
from lsprotocol import types

from ghostline.lsp_client import EditorSession, drain_stderr
from tests.faults.conftest import (
    SETTINGS,
    is_gone,
    request_completion,
    server_process,
    start_editor,
    status,
    wait_gone,
    write_python_workspace,
)

pytestmark = pytest.mark.model

#: The issue asks for "within a second"; the assertion leaves room for a loaded CI machine.
EXIT_LIMIT_S = 5.0


async def _started(root: Path) -> tuple[EditorSession, psutil.Process, int]:
    session = await start_editor(root)
    worker = (await status(session))["workerPid"]
    assert isinstance(worker, int)
    return session, server_process(session), worker


async def _close_stdin_and_wait(session: EditorSession, server: psutil.Process,
                                label: str) -> None:
    family = [server, *server.children(recursive=True)]
    pipe = session.client._server
    assert pipe is not None and pipe.stdin is not None
    pipe.stdin.close()
    took = await asyncio.to_thread(wait_gone, family, EXIT_LIMIT_S)
    print(f"\n[client gone] {label}: {len(family)} processes gone in "
          f"{'-' if took is None else f'{took:.2f}'} s")
    alive = [p for p in family if not is_gone(p)]
    for process in alive:  # do not leave them behind for the next test
        process.kill()
    await session.client.stop()
    assert took is not None, f"still running after {EXIT_LIMIT_S} s: {alive}"


async def test_stdin_closed_while_idle(project: Path) -> None:
    session, server, worker = await _started(project)
    uri = session.open(project / "cart.py")
    await request_completion(session, uri, 7, 11)
    assert psutil.pid_exists(worker)
    await _close_stdin_and_wait(session, server, "stdin closed, idle")


async def test_stdin_closed_during_generation(project: Path) -> None:
    session, server, _ = await _started(project)
    uri = session.open(project / "cart.py")
    pending = asyncio.ensure_future(request_completion(session, uri, 7, 11))
    await asyncio.sleep(0.3)  # the prompt is being evaluated or tokens are streaming
    await _close_stdin_and_wait(session, server, "stdin closed during generation")
    pending.cancel()


async def test_stdin_closed_while_indexing(tmp_path: Path) -> None:
    root = tmp_path / "big"
    write_python_workspace(root, 4000)
    session = EditorSession(dict(SETTINGS))
    client = session.client
    await client.start_io(sys.executable, "-m", "ghostline", "serve", "--log-level", "WARNING")
    await client.initialize_async(types.InitializeParams(
        process_id=None, root_uri=root.as_uri(), initialization_options=session.settings,
        capabilities=types.ClientCapabilities(),
        workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name=root.name)]))
    client.initialized(types.InitializedParams())
    drain_stderr(session)
    server = server_process(session)
    # The model worker and the index's parser processes, once they run.
    for _ in range(500):
        if len(server.children(recursive=True)) >= 3:
            break
        await asyncio.sleep(0.02)
    indexed = (await status(session))["indexedFiles"]
    await _close_stdin_and_wait(session, server,
                                f"stdin closed while indexing ({indexed}/4,000 files done)")


CLIENT = textwrap.dedent("""
    import asyncio, json, sys
    from pathlib import Path
    from ghostline.lsp_client import EditorSession

    async def main() -> None:
        session = EditorSession(json.loads(sys.argv[2]))
        await session.start(Path(sys.argv[1]))
        uri = session.open(Path(sys.argv[1]) / "cart.py")
        await session.complete(uri, 7, 11)
        state = await session.status()
        print(json.dumps({"server": session.client._server.pid,
                          "worker": state["workerPid"]}), flush=True)
        await asyncio.sleep(600)

    asyncio.run(main())
""")


async def test_client_process_killed(project: Path, tmp_path: Path) -> None:
    script = tmp_path / "editor.py"
    script.write_text(CLIENT)
    editor = subprocess.Popen([sys.executable, str(script), str(project), json.dumps(SETTINGS)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert editor.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(editor.stdout.readline), 120)
        pids = json.loads(line)
        server = psutil.Process(pids["server"])
        family = [server, *server.children(recursive=True)]
        assert pids["worker"] in {p.pid for p in family}
        editor.send_signal(signal.SIGKILL)
        editor.wait()
        took = await asyncio.to_thread(wait_gone, family, EXIT_LIMIT_S)
        print(f"\n[client gone] client process killed: {len(family)} processes gone in "
              f"{'-' if took is None else f'{took:.2f}'} s")
        alive = [p for p in family if not is_gone(p)]
        for process in alive:
            process.kill()
        assert took is not None, f"still running after {EXIT_LIMIT_S} s: {alive}"
    finally:
        if editor.poll() is None:
            editor.kill()
            editor.wait()
