"""End-to-end: Neovim 0.11 and 0.12 with the plugin, the real server over stdio and the real
default model, editing a small Python project.

One editor (and one server) per Neovim binary serves all tests of this module.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from nvim_harness import Editor, server_env, write_sample_project

pytestmark = pytest.mark.model

SERVER_CMD = [sys.executable, "-m", "ghostline", "serve"]
#: Short suggestions keep each completion around a second on two cores; the generous time
#: limit keeps a loaded CI machine (other jobs on the same two cores) from cutting them off.
SETTINGS = {"maxTokens": 24, "maxTokensMultiline": 48, "timeLimitS": 40.0}


@pytest.fixture(scope="module")
def real(nvim_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Editor]:
    root = tmp_path_factory.mktemp("real")
    project = write_sample_project(root / "proj")
    ed = Editor(nvim_bin, root / "home", project)
    try:
        ed.lua(
            "local cmd, env, settings = ... "
            "require('ghostline').setup({ cmd = cmd, cmd_env = env, settings = settings })",
            SERVER_CMD,
            server_env(),
            SETTINGS,
        )
        # Start the server and let it load the model: its progress ends ("... ready").
        ed.cmd("edit sample/mathutils.py")
        ed.wait_attached(timeout=30)
        ed.wait(
            lambda: (
                ed.trace("progress") and ed.lua("return require('ghostline.progress').text()") == ""
            ),
            90,
            "the server's startup progress to end",
        )
        yield ed
    finally:
        ed.close()


def open_file(ed: Editor, rel: str) -> None:
    ed.keys("<Esc>")
    ed.cmd(f"edit! {rel}")
    ed.wait_attached(timeout=30)


def text_from(ed: Editor, row: int, col: int) -> str:
    """Buffer text from (row, col), 0-based, to the end."""
    lines = ed.lines()[row:]
    lines[0] = lines[0].encode()[col:].decode()
    return "\n".join(lines)


def test_ghost_text_appears_and_tab_inserts_it(real: Editor) -> None:
    ed = real
    open_file(ed, "sample/mathutils.py")
    ed.keys("Go<CR>def multiply(a: int, b: int) -> int:<CR>")
    assert ed.mode() == "i"
    ghost = ed.wait(ed.ghost_text, 60, "ghost text from the model")
    path = ed.ghost_path()
    assert path == ("builtin" if ed.lua("return vim.fn.has('nvim-0.12')") == 1 else "plugin")
    mark = ed.ghost_marks()[0]
    row, col = ed.nvim.current.window.cursor
    assert mark["row"] == row - 1 and mark["col"] == col  # drawn at the cursor
    assert ghost.strip(), "the suggestion has text"
    before = ed.lines()
    ed.keys("<Tab>")
    ed.wait(lambda: ed.lines() != before, 5, "the suggestion inserted")
    assert text_from(ed, row - 1, col).startswith(ghost)
    assert ed.lines()[: row - 1] == before[: row - 1]
    assert ed.mode() == "i"


def test_typing_cancels_the_pending_request(real: Editor) -> None:
    ed = real
    open_file(ed, "sample/main.py")
    ed.keys("Go")
    ed.lua("require('ghostline.trace').clear()")
    ed.keys("print(tot")
    first = ed.wait(lambda: ed.trace("request"), 10, "a request in flight")[-1]["id"]
    ed.keys("a")  # typing while the model works on the old position
    ed.wait(lambda: any(e["id"] == first for e in ed.trace("cancel")), 5, "$/cancelRequest for it")
    # The server answers the cancelled request (no hanging request) ...
    ed.wait(lambda: any(e["id"] == first for e in ed.trace("complete")), 10, "the server's answer")
    # ... with RequestCancelled: a result would reach the plugin renderer's handler.
    if ed.ghost_path() == "plugin":
        assert not [e for e in ed.trace("response") if e["id"] == first]
    # Leaving Insert mode cancels what is in flight, and clears the ghost text.
    ed.keys("l(")
    second = ed.wait(
        lambda: [e for e in ed.trace("request") if e["id"] != first], 10, "a new request"
    )[-1]["id"]
    ed.keys("<Esc>")
    ed.wait(lambda: ed.ghost_marks() == [], 5, "ghost text cleared")
    answered = {e["id"] for e in ed.trace("complete")}
    cancelled = {e["id"] for e in ed.trace("cancel")}
    assert second in answered or second in cancelled


def test_hover_returns_the_docstring(real: Editor) -> None:
    ed = real
    open_file(ed, "sample/main.py")
    ed.cmd("call search('add(result')")
    hover = ed.lua(
        """
        local params = vim.lsp.util.make_position_params(0, 'utf-16')
        local resp = vim.lsp.buf_request_sync(0, 'textDocument/hover', params, 15000) or {}
        for _, r in pairs(resp) do
          if r.result then
            local c = r.result.contents
            return type(c) == 'table' and (c.value or vim.inspect(c)) or c
          end
        end
        return vim.inspect(resp)
        """
    )
    assert "Return the sum of a and b." in hover
    # `K` shows it in a floating window.
    ed.keys("K")

    def float_text() -> str:
        return str(
            ed.lua(
                """
                for _, w in ipairs(vim.api.nvim_list_wins()) do
                  if vim.api.nvim_win_get_config(w).relative ~= '' then
                    local b = vim.api.nvim_win_get_buf(w)
                    return table.concat(vim.api.nvim_buf_get_lines(b, 0, -1, false), '\\n')
                  end
                end
                return ''
                """
            )
        )

    assert "Return the sum of a and b." in ed.wait(float_text, 15, "the hover window")


def test_code_action_menu_lists_generate_tests(real: Editor) -> None:
    ed = real
    open_file(ed, "sample/mathutils.py")
    ed.cmd("call search('def add')")
    ed.lua(
        """
        _G.ghostline_test_menu = nil
        vim.ui.select = function(items, opts, on_choice)
          local titles = {}
          for _, item in ipairs(items) do
            titles[#titles + 1] = item.action and item.action.title or opts.format_item(item)
          end
          _G.ghostline_test_menu = titles
          on_choice(nil)
        end
        vim.lsp.buf.code_action()
        """
    )
    titles: list[Any] = ed.wait(
        lambda: ed.lua("return _G.ghostline_test_menu"), 15, "the code action menu"
    )
    assert any(str(t).startswith("Generate tests for add") for t in titles), titles


def test_checkhealth_with_the_running_server(real: Editor) -> None:
    ed = real
    open_file(ed, "sample/main.py")
    ed.cmd("checkhealth ghostline")
    report = "\n".join(ed.lines())
    ed.cmd("bwipeout")
    assert "running: client" in report
    assert "ghost text (inlineCompletionProvider)" in report
    assert "model setting: auto (per feature" in report
    assert "server reported: " in report  # e.g. "Ghostline: Gemma 3 270m ready"
    assert "model loaded: " in report  # from the server's ghostline.status command
    assert "ERROR" not in report
    status = ed.lua("return vim.api.nvim_exec2('Ghostline status', {output = true}).output")
    assert "model: ready" in status
    assert "last error: none" in status
