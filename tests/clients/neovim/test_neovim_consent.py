"""The question "Run generated tests in <workspace>?" on Neovim 0.11 and 0.12: the built-in
`window/showMessageRequest` handler shows it with `vim.ui.select` (the handler runs in a
coroutine; `vim.fn.inputlist` is its fallback outside one), and the picked action reaches the
server.

The server is a stand-in (tests/clients/consent_server.py) that runs the real server's consent
logic behind one command, so no model loads; the question's text and actions are its own.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from nvim_harness import ROOT, Editor, server_env, write_sample_project

CONSENT_SERVER = ROOT / "tests" / "clients" / "consent_server.py"
RUN = "Run tests in this workspace"


def decide(ed: Editor, root: Path, pick: str | None) -> dict[str, Any]:
    """Ask the stand-in to decide for `root`, answering its question with `pick` (None:
    dismissed); returns its reply plus what `vim.ui.select` was shown."""
    ed.lua(
        """
        local root, pick = ...
        _G.consent = { shown = {} }
        vim.fn.inputlist = function() _G.consent.inputlist = true; return 0 end
        vim.ui.select = function(items, opts, on_choice)
          local titles, chosen = {}, nil
          for _, item in ipairs(items) do
            titles[#titles + 1] = opts.format_item(item)
            if item.title == pick then chosen = item end
          end
          table.insert(_G.consent.shown, { prompt = opts.prompt, titles = titles })
          on_choice(chosen)
        end
        local client = vim.lsp.get_clients({ name = 'ghostline', bufnr = 0 })[1]
        client:request('workspace/executeCommand',
          { command = 'test.decideRunTests', arguments = { root } },
          function(err, result)
            _G.consent.reply = err and { error = err.message } or result
          end, 0)
        """,
        str(root),
        pick if pick is not None else "",
    )
    reply = ed.wait(lambda: ed.lua("return _G.consent.reply"), 15, "the server's decision")
    return {**reply, "shown": ed.lua("return _G.consent.shown"),
            "inputlist": ed.lua("return _G.consent.inputlist or false")}


def test_the_question_is_shown_and_the_answer_reaches_the_server(
    make_editor: Any, nvim_bin: Path, tmp_path: Path
) -> None:
    project = write_sample_project(tmp_path / "proj")
    other = tmp_path / "other"
    other.mkdir()
    cache = tmp_path / "cache"
    ed = make_editor(nvim_bin, project)
    ed.lua(
        "local cmd, env = ... require('ghostline').setup({ cmd = cmd, cmd_env = env })",
        [sys.executable, str(CONSENT_SERVER)],
        {**server_env(), "GHOSTLINE_CACHE_DIR": str(cache)},
    )
    ed.cmd("edit sample/main.py")
    ed.wait_attached()

    chosen = decide(ed, project, RUN)
    assert "error" not in chosen, chosen
    [shown] = chosen["shown"]
    assert shown["titles"] == [RUN, "Don't run"]
    assert "runs the project's code on this machine" in shown["prompt"]
    assert shown["prompt"].endswith("Run generated tests in proj?: ")
    assert not chosen["inputlist"]
    assert chosen["run"] is True and chosen["remembered"] is True
    answers = json.loads((cache / "run-tests-consent.json").read_text(encoding="utf-8"))
    assert answers == {"workspaces": {str(project.resolve()): True}}
    assert decide(ed, project, None)["shown"] == []  # remembered: not asked again

    dismissed = decide(ed, other, None)
    assert len(dismissed["shown"]) == 1
    assert dismissed["run"] is False and dismissed.get("remembered") is None  # null or absent
    assert "not answered" in dismissed["reason"]
