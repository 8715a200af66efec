"""End-to-end: a suggestion accepted in Neovim (0.11 and 0.12) from the real server and the
real default model lands in the local usage ledger, and `ghostline stats --json` shows it.

The server writes the ledger every few seconds and when it exits (Neovim closing its stdin);
the test quits Neovim and then reads the file the way a user does, with `ghostline stats`.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from nvim_harness import Editor, server_env, write_sample_project

pytestmark = pytest.mark.model

SERVER_CMD = [sys.executable, "-m", "ghostline", "serve"]
#: One short suggestion on one thread (the machine's other cores may be busy).
SETTINGS = {"maxTokens": 24, "maxTokensMultiline": 48, "timeLimitS": 40.0, "threads": 1}


def stats(env: dict[str, str]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "ghostline", "stats", "--json"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def completion_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    today = datetime.date.today().isoformat()
    return [r for r in report["rows"] if r["day"] == today and r["feature"] == "inlineCompletion"]


def test_an_accepted_suggestion_is_in_the_ledger(nvim_bin: Path, tmp_path: Path) -> None:
    project = write_sample_project(tmp_path / "proj")
    ledger = tmp_path / "usage.sqlite"
    env = {**server_env(), "GHOSTLINE_LEDGER": str(ledger)}
    ed = Editor(nvim_bin, tmp_path / "home", project)
    try:
        ed.lua(
            "local cmd, env, settings = ... "
            "require('ghostline').setup({ cmd = cmd, cmd_env = env, settings = settings })",
            SERVER_CMD,
            env,
            SETTINGS,
        )
        ed.cmd("edit sample/mathutils.py")
        ed.wait_attached(timeout=30)
        ed.wait(
            lambda: (
                ed.trace("progress") and ed.lua("return require('ghostline.progress').text()") == ""
            ),
            120,
            "the server's startup progress to end",
        )
        # Type the start of a function as a user does; the plugin asks for ghost text.
        ed.keys("Go<CR>def multiply(a: int, b: int) -> int:<CR>")
        ghost = ed.wait(ed.ghost_text, 90, "ghost text from the model")
        assert ghost.strip()
        before = ed.lines()
        ed.keys("<Tab>")  # accept, as a user does (the plugin's mapping)
        ed.wait(lambda: ed.lines() != before, 5, "the suggestion inserted")
        ed.keys("<Esc>")

        # The server heard `ghostline.accepted` (its status reads the ledger's buffer too).
        def accepted_today() -> bool:
            status = str(
                ed.lua("return vim.api.nvim_exec2('Ghostline status', {output = true}).output")
            )
            found = re.search(r"today: (\d+) shown, (\d+) accepted", status)
            return bool(found and int(found[1]) >= 1 and int(found[2]) >= 1)

        ed.wait(accepted_today, 15, "the server's status to count the accepted suggestion")
    finally:
        ed.close()  # `qa!`: Neovim stops the server, which writes what its ledger holds

    # The server may still be exiting: read until the row is there.
    deadline = time.monotonic() + 30
    while True:
        report = stats(env)
        rows = completion_rows(report)
        if any(r["accepted"] >= 1 for r in rows) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert report["path"] == str(ledger)
    assert rows, report
    assert all(r["language"] == "python" for r in rows), rows
    assert sum(r["requests"] for r in rows) >= 1
    assert sum(r["shown"] for r in rows) >= 1
    assert sum(r["accepted"] for r in rows) >= 1, rows
    assert sum(r["acceptedChars"] for r in rows) > 0
    assert any(r["acceptance"] == "known" for r in rows), rows
    assert report["sessions"] and report["sessions"][0]["acceptReported"], report
