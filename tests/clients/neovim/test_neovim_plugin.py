"""Fast tests of the Neovim plugin against a fake LSP server (no model).

The ghost-text tests run the plugin renderer on Neovim 0.11 and 0.12 and the built-in
`vim.lsp.inline_completion` on 0.12; the others run once per binary.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from nvim_harness import Editor, fake_server_cmd, read_jsonl, write_sample_project

DEF_HELLO = "def hello(name):\n    return name"


def start(
    make_editor: Any,
    nvim_bin: Path,
    tmp_path: Path,
    *,
    ghost: str = "auto",
    fake: dict[str, Any] | None = None,
    file: str = "sample/scratch.py",
) -> tuple[Editor, Path]:
    """Editor with setup() pointing at the fake server, `file` open and the client attached."""
    project = write_sample_project(tmp_path / "proj")
    log = tmp_path / "fake.jsonl"
    ed = make_editor(nvim_bin, project)
    ed.lua(
        """
        local cmd, env, fake, ghost = ...
        require('ghostline').setup({
          cmd = cmd, cmd_env = env, ghost_text = ghost, debounce_ms = 30,
          settings = { fake = fake },
        })
        """,
        fake_server_cmd(),
        {"GHOSTLINE_FAKE_LOG": str(log)},
        fake or {},
        ghost,
    )
    ed.cmd(f"edit {file}")
    ed.wait_attached()
    return ed, log


def server_events(log: Path, event: str) -> list[dict[str, Any]]:
    return [e for e in read_jsonl(log) if e["event"] == event]


def wait_ghost(ed: Editor, expected: str, timeout: float = 5) -> None:
    ed.wait(lambda: ed.ghost_text() == expected, timeout, f"ghost text {expected!r}")


# -- configuration -------------------------------------------------------------------------


def test_setup_builds_lsp_config(make_editor: Any, nvim_bin: Path, tmp_path: Path) -> None:
    ed = make_editor(nvim_bin)
    cfg = ed.lua(
        """
        require('ghostline').setup({
          cmd = {'my-ghostline', 'serve'}, filetypes = {'python'}, root_markers = {'setup.cfg'},
          settings = { model = '/models/x.gguf', maxTokens = 32 }, enable = false,
        })
        local c = vim.lsp.config.ghostline
        return {
          cmd = c.cmd, filetypes = c.filetypes, root_markers = c.root_markers,
          settings = c.settings, init_options = c.init_options,
          has_show_message = c.handlers ~= nil and c.handlers['window/showMessage'] ~= nil,
          enabled = vim.lsp.is_enabled('ghostline'),
        }
        """
    )
    assert cfg["cmd"] == ["my-ghostline", "serve"]
    assert cfg["filetypes"] == ["python"]
    assert cfg["root_markers"] == ["setup.cfg"]
    assert cfg["settings"] == {"ghostline": {"model": "/models/x.gguf", "maxTokens": 32}}
    assert cfg["init_options"] == {"model": "/models/x.gguf", "maxTokens": 32}
    assert cfg["has_show_message"] is True  # from lsp/ghostline.lua, kept under setup()
    assert cfg["enabled"] is False

    err = ed.lua("return select(2, pcall(require('ghostline').setup, { bogus = 1 }))")
    assert "unknown option" in err and "bogus" in err
    err = ed.lua("return select(2, pcall(require('ghostline').setup, { ghost_text = 'x' }))")
    assert "ghost_text" in err


def test_enable_without_setup_attaches_with_keymaps(
    make_editor: Any, nvim_bin: Path, tmp_path: Path
) -> None:
    """`vim.lsp.enable('ghostline')` alone (lsp/ghostline.lua) gives ghost text and keymaps."""
    project = write_sample_project(tmp_path / "proj")
    ed = make_editor(nvim_bin, project)
    ed.lua(
        "vim.lsp.config('ghostline', { cmd = ... }) vim.lsp.enable('ghostline')",
        fake_server_cmd(),
    )
    ed.cmd("edit sample/main.py")
    ed.wait_attached()
    expected = "builtin" if "0.12" in ed.lua("return tostring(vim.version())") else "plugin"
    assert ed.ghost_path() == expected
    root = ed.lua("return vim.lsp.get_clients({name='ghostline'})[1].root_dir")
    assert Path(root) == project  # found through the pyproject.toml root marker
    tab = ed.lua("local m = vim.fn.maparg('<Tab>', 'i', false, true) return {m.buffer, m.desc}")
    assert tab == [1, "Ghostline: accept"]
    if expected == "builtin":
        assert ed.lua("return vim.lsp.inline_completion.is_enabled({bufnr = 0})") is True
    # A buffer of another filetype is left alone.
    ed.cmd("edit notes.txt")
    assert ed.lua("return #vim.lsp.get_clients({name='ghostline', bufnr=0})") == 0
    assert ed.lua("return vim.fn.maparg('<Tab>', 'i', false, true).desc") != "Ghostline: accept"


# -- ghost text ----------------------------------------------------------------------------


def test_ghost_text_appears_and_tab_accepts(
    make_editor: Any, nvim_bin: Path, ghost: str, tmp_path: Path
) -> None:
    ed, log = start(make_editor, nvim_bin, tmp_path, ghost=ghost, fake={"items": [DEF_HELLO]})
    assert ed.ghost_path() == ghost
    ed.keys("i")
    wait_ghost(ed, DEF_HELLO)
    mark = ed.ghost_marks()[0]
    assert (mark["row"], mark["col"]) == (0, 0)
    assert mark["text"] == "def hello(name):"  # first line drawn in the line itself
    assert mark["virt_lines"] == ["    return name"]  # the rest below it
    assert ed.lines() == [""]  # ghost text is not buffer text
    ed.keys("<Tab>")
    ed.wait(lambda: ed.lines() == DEF_HELLO.split("\n"), 5, "the accepted text in the buffer")
    assert ed.mode() == "i"
    assert tuple(ed.nvim.current.window.cursor) == (2, len("    return name"))
    accepted = ed.trace("accept")
    assert accepted and accepted[-1]["text"] == DEF_HELLO
    assert server_events(log, "inlineCompletion")[0]["trigger"] == 2  # Automatic


def test_tab_without_suggestion_inserts_a_tab(
    make_editor: Any, nvim_bin: Path, ghost: str, tmp_path: Path
) -> None:
    ed, log = start(make_editor, nvim_bin, tmp_path, ghost=ghost, fake={"items": []})
    ed.keys("ix")
    ed.wait(lambda: server_events(log, "replied"), 5, "the server's (empty) reply")
    assert ed.ghost_marks() == []
    ed.keys("<Tab>")
    assert ed.lines() == ["x   "]  # expandtab, tabstop 4: a normal Tab
    ed.keys("<C-]>")  # dismiss key with nothing shown does what it does without the plugin
    assert ed.mode() == "i"


def test_accept_word_then_line(
    make_editor: Any, nvim_bin: Path, ghost: str, tmp_path: Path
) -> None:
    ed, _ = start(
        make_editor, nvim_bin, tmp_path, ghost=ghost, fake={"items": ["total = add(1, 2)\nx"]}
    )
    ed.keys("i")
    wait_ghost(ed, "total = add(1, 2)\nx")
    ed.keys("<M-Right>")
    ed.wait(lambda: ed.lines() == ["total"], 5, "the first word accepted")
    wait_ghost(ed, " = add(1, 2)\nx")  # the rest stays (plugin) or comes back (built-in)
    ed.keys("<M-Right>")
    ed.wait(lambda: ed.lines() == ["total ="], 5, "the second word accepted")
    wait_ghost(ed, " add(1, 2)\nx")
    ed.keys("<M-C-Right>")
    ed.wait(lambda: ed.lines() == ["total = add(1, 2)"], 5, "the line accepted")
    assert [e["part"] for e in ed.trace("accept")] == ["word", "word", "line"]


def test_next_prev_dismiss(make_editor: Any, nvim_bin: Path, ghost: str, tmp_path: Path) -> None:
    ed, _ = start(
        make_editor, nvim_bin, tmp_path, ghost=ghost, fake={"items": ["alpha = 1", "beta = 2"]}
    )
    ed.keys("i")
    wait_ghost(ed, "alpha = 1")
    ed.keys("<M-]>")
    wait_ghost(ed, "beta = 2")
    ed.keys("<M-[>")
    wait_ghost(ed, "alpha = 1")
    ed.keys("<C-]>")
    ed.wait(lambda: ed.ghost_marks() == [], 5, "the suggestion dismissed")
    assert ed.mode() == "i" and ed.lines() == [""]
    ed.keys("<Tab>")  # nothing shown any more: a plain Tab
    assert ed.lines() == ["    "]


def test_trigger_key_asks_again_after_dismiss(
    make_editor: Any, nvim_bin: Path, ghost: str, tmp_path: Path
) -> None:
    ed, log = start(make_editor, nvim_bin, tmp_path, ghost=ghost, fake={"items": [DEF_HELLO]})
    ed.keys("i")
    wait_ghost(ed, DEF_HELLO)
    ed.keys("<C-]>")
    ed.wait(lambda: ed.ghost_marks() == [], 5, "the suggestion dismissed")
    asked = len(server_events(log, "inlineCompletion"))
    ed.keys("<M-\\>")
    wait_ghost(ed, DEF_HELLO)
    requests = server_events(log, "inlineCompletion")
    assert len(requests) > asked
    if ghost == "plugin":  # the built-in has no public way to send an Invoked request
        assert requests[-1]["trigger"] == 1


def test_insert_leave_clears_ghost_text(
    make_editor: Any, nvim_bin: Path, ghost: str, tmp_path: Path
) -> None:
    ed, _ = start(make_editor, nvim_bin, tmp_path, ghost=ghost, fake={"items": [DEF_HELLO]})
    ed.keys("i")
    wait_ghost(ed, DEF_HELLO)
    ed.keys("<Esc>")
    ed.wait(lambda: ed.ghost_marks() == [], 5, "the ghost text cleared on InsertLeave")
    assert ed.lines() == [""]


def test_typing_and_leaving_insert_cancel_requests(
    make_editor: Any, nvim_bin: Path, ghost: str, tmp_path: Path
) -> None:
    ed, log = start(
        make_editor, nvim_bin, tmp_path, ghost=ghost, fake={"items": [DEF_HELLO], "delayMs": 2000}
    )
    ed.keys("i")
    ed.wait(lambda: server_events(log, "inlineCompletion"), 5, "a request at the server")
    first = ed.trace("request")[-1]["id"]
    ed.keys("d")  # typing makes the request stale
    ed.wait(lambda: any(e["id"] == first for e in ed.trace("cancel")), 5, "a cancel for it")
    ed.wait(lambda: server_events(log, "cancelled"), 5, "the server seeing $/cancelRequest")

    ed.wait(
        lambda: [e for e in ed.trace("request") if e["id"] != first], 5, "a request after typing"
    )
    second = ed.trace("request")[-1]["id"]
    ed.keys("<Esc>")  # leaving insert mode makes it stale too
    ed.wait(lambda: any(e["id"] == second for e in ed.trace("cancel")), 5, "a cancel on Esc")
    ed.wait(lambda: len(server_events(log, "cancelled")) >= 2, 5, "the second cancel served")
    assert server_events(log, "replied") == []  # nothing ran to completion
    assert ed.ghost_marks() == []


def test_plugin_renderer_keeps_suggestion_while_typing_through(
    make_editor: Any, nvim_bin: Path, tmp_path: Path
) -> None:
    ed, log = start(make_editor, nvim_bin, tmp_path, ghost="plugin", fake={"items": [DEF_HELLO]})
    ed.keys("i")
    wait_ghost(ed, DEF_HELLO)
    requests = len(server_events(log, "inlineCompletion"))
    ed.keys("def h")
    wait_ghost(ed, "ello(name):\n    return name")
    assert len(server_events(log, "inlineCompletion")) == requests  # served from the shown one
    ed.keys("X")  # diverges: cleared, and a new request goes out
    ed.wait(lambda: ed.ghost_marks() == [], 5, "the stale suggestion cleared")
    ed.wait(lambda: len(server_events(log, "inlineCompletion")) > requests, 5, "a fresh request")


def test_range_after_multibyte_text(
    make_editor: Any, nvim_bin: Path, ghost: str, tmp_path: Path
) -> None:
    """An item whose range starts mid-line after non-ASCII text lands where the server meant."""
    full = 'msg = "héllo 😀" + fo_bar(1)'
    ed, log = start(
        make_editor, nvim_bin, tmp_path, ghost=ghost, fake={"items": [full], "wordRange": True}
    )
    ed.keys('imsg = "héllo 😀" + fo')
    wait_ghost(ed, "_bar(1)")
    request = server_events(log, "inlineCompletion")[-1]
    enc = ed.lua("return vim.lsp.get_clients({name='ghostline'})[1].offset_encoding")
    assert request["encoding"] == enc
    typed = 'msg = "héllo 😀" + fo'
    units = {"utf-8": len(typed.encode()), "utf-16": len(typed.encode("utf-16-le")) // 2}
    assert request["character"] == units.get(enc, len(typed))
    ed.keys("<Tab>")
    ed.wait(lambda: ed.lines() == [full], 5, "the item replacing its range")


# -- commands, health, progress, errors ----------------------------------------------------


def test_generate_tests_command_applies_the_action(
    make_editor: Any, nvim_bin: Path, tmp_path: Path
) -> None:
    ed, _ = start(make_editor, nvim_bin, tmp_path, file="sample/mathutils.py")
    before = ed.lines()
    ed.cmd("call cursor(4, 5)")
    ed.cmd("Ghostline generate-tests")
    ed.wait(lambda: "# fake generated tests" in ed.lines()[len(before) :], 5, "the action's edit")
    assert ed.lines()[: len(before)] == before


def test_checkhealth(make_editor: Any, nvim_bin: Path, tmp_path: Path) -> None:
    project = write_sample_project(tmp_path / "proj")
    ed = make_editor(nvim_bin, project)
    ed.lua("require('ghostline').setup({ cmd = ..., enable = false })", fake_server_cmd())
    ed.cmd("checkhealth ghostline")
    report = "\n".join(ed.lines())
    version = ed.lua(
        "local v = vim.version() return ('%d.%d.%d'):format(v.major, v.minor, v.patch)"
    )
    assert f"Neovim {version}" in report
    if version.startswith("0.11"):
        assert "ghost text: the plugin renderer" in report
    else:
        assert "ghost text: built-in vim.lsp.inline_completion" in report
    assert "the server starts: ghostline 0.0-fake answered initialize" in report
    assert "ghost text (inlineCompletionProvider)" in report
    assert "hover docstrings (hoverProvider)" in report
    assert "model setting: auto (per feature" in report
    assert "ERROR" not in report

    ed.lua("require('ghostline').setup({ cmd = {'no-such-ghostline-binary'}, enable = false })")
    ed.cmd("bwipeout! | checkhealth ghostline")
    report = "\n".join(ed.lines())
    assert "no-such-ghostline-binary is not executable" in report


def test_status_log_trace_commands(make_editor: Any, nvim_bin: Path, tmp_path: Path) -> None:
    ed, _ = start(make_editor, nvim_bin, tmp_path, fake={"items": [DEF_HELLO]})
    status = ed.nvim.exec_lua("return vim.api.nvim_exec2('Ghostline status', {output=true}).output")
    assert "server: client" in status and "ghostline 0.0-fake" in status
    assert "last error: none" in status
    assert ed.nvim.call("getcompletion", "Ghostline ", "cmdline") == [
        "cancel",
        "generate-tests",
        "log",
        "restart",
        "status",
        "trace",
    ]
    ed.cmd("Ghostline trace")
    assert ed.nvim.current.buffer.name == "ghostline://trace"
    assert any(" attach " in line for line in ed.lines())
    ed.cmd("close")
    ed.cmd("Ghostline log")
    log_name = ed.lua("return vim.lsp.log.get_filename()")
    assert Path(ed.nvim.current.buffer.name).resolve() == Path(log_name).resolve()
    assert str(tmp_path) in log_name  # the test's own XDG_STATE_HOME


def test_progress_and_error_message_are_kept(
    make_editor: Any, nvim_bin: Path, tmp_path: Path
) -> None:
    ed, _ = start(
        make_editor,
        nvim_bin,
        tmp_path,
        fake={"progress": True, "errorMessage": "model file not found: /x.gguf"},
    )
    ed.wait(lambda: ed.lua("return require('ghostline.state').last_error"), 5, "the error kept")
    assert "model file not found" in ed.lua("return require('ghostline.state').last_error.message")
    ed.wait(lambda: any(e["kind"] == "end" for e in ed.trace("progress")), 5, "progress end")
    kinds = [e["kind"] for e in ed.trace("progress")]
    assert kinds == ["begin", "report", "end"]
    assert ed.trace("progress")[1]["message"] == "3/6 files"
    assert ed.lua("return require('ghostline').statusline()") == "ghostline"
    ed.cmd("checkhealth ghostline")
    assert "model file not found: /x.gguf" in "\n".join(ed.lines())


def test_setup_again_sends_new_settings_to_the_running_server(
    make_editor: Any, nvim_bin: Path, tmp_path: Path
) -> None:
    ed, log = start(make_editor, nvim_bin, tmp_path, fake={"items": []})
    ed.lua(
        "local c = require('ghostline.config').options "
        "require('ghostline').setup({ cmd = c.cmd, cmd_env = c.cmd_env, keymaps = false, "
        "settings = { maxTokens = 7 } })"
    )
    ed.wait(
        lambda: any(
            e["settings"] == {"ghostline": {"maxTokens": 7}}
            for e in server_events(log, "didChangeConfiguration")
        ),
        5,
        "workspace/didChangeConfiguration with the new settings",
    )
    # Re-attached with the new options: keymaps = false removed the keys.
    assert ed.lua("return vim.fn.maparg('<Tab>', 'i', false, true).desc") != "Ghostline: accept"


def test_cancel_command_cancels_server_progress(
    make_editor: Any, nvim_bin: Path, tmp_path: Path
) -> None:
    ed, log = start(
        make_editor, nvim_bin, tmp_path, fake={"progress": True, "progressHoldMs": 10000}
    )
    ed.wait(
        lambda: ed.trace("progress")[-1:] and ed.trace("progress")[-1]["kind"] == "report",
        5,
        "progress under way",
    )
    assert "Indexing: 3/6 files (50%)" in ed.lua("return require('ghostline').statusline()")
    ed.cmd("Ghostline cancel")
    ed.wait(lambda: server_events(log, "progressCancel"), 5, "the server seeing the cancel")
    assert server_events(log, "progressCancel")[0]["token"] == "fake-index"
    ed.wait(lambda: ed.trace("progress")[-1]["kind"] == "end", 5, "the progress ending")
    assert ed.lua("return require('ghostline').statusline()") == "ghostline"


def test_restart_starts_a_new_client(make_editor: Any, nvim_bin: Path, tmp_path: Path) -> None:
    ed, _ = start(make_editor, nvim_bin, tmp_path, file="sample/main.py")
    old = ed.lua("return vim.lsp.get_clients({name='ghostline'})[1].id")
    ed.cmd("Ghostline restart")
    ed.wait(
        lambda: (
            ed.lua(
                "local c = vim.lsp.get_clients({name='ghostline', bufnr=0})[1]"
                " return c and c.initialized and c.id"
            )
            not in (None, old)
        ),
        10,
        "a new client attached",
    )
    assert ed.lua("return #vim.lsp.get_clients({name='ghostline'})") == 1
    assert ed.lua("return vim.fn.maparg('<Tab>', 'i', false, true).buffer") == 1


def test_text_helpers(make_editor: Any, nvim_bin: Path) -> None:
    ed = make_editor(nvim_bin)
    got = ed.lua(
        """
        local t = require('ghostline.text')
        return {
          t.next_word('foo_bar(x)'), t.next_word('  = 1'), t.next_word('(a, b)'),
          t.next_word('\\n    return x'), t.next_line('a = 1\\nb = 2'), t.next_line('\\nb = 2\\nc'),
          t.remainder('hello', 'he'), t.remainder('hello', 'hx') or vim.NIL,
          t.remainder('hi', 'hi') or vim.NIL,
          t.plain({ kind = 'snippet', value = 'f(${1:x}, $2)$0' }), t.plain('plain'),
        }
        """
    )
    assert got == [
        "foo_bar",
        "  =",
        "(",
        "\n    ",
        "a = 1",
        "\nb = 2",
        "llo",
        None,
        None,
        "f(x, )",
        "plain",
    ]


@pytest.mark.parametrize("bad", [{"cmd": "ghostline"}, {"debounce_ms": "fast"}])
def test_setup_rejects_bad_types(make_editor: Any, bad: dict[str, Any], tmp_path: Path) -> None:
    from nvim_harness import NVIM_BINARIES

    ed = make_editor(NVIM_BINARIES["0.11"])
    ok = ed.lua("return (pcall(require('ghostline').setup, ...))", bad)
    assert ok is False


def test_help_file_has_valid_tags(make_editor: Any, nvim_bin: Path, tmp_path: Path) -> None:
    """`:helptags` accepts doc/ghostline.txt (no duplicate tags) and `:help` finds its topics."""
    doc = tmp_path / "rtp" / "doc"
    doc.mkdir(parents=True)
    source = Path(__file__).resolve().parents[3] / "clients" / "neovim" / "doc" / "ghostline.txt"
    (doc / "ghostline.txt").write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    ed = make_editor(nvim_bin)
    ed.cmd(f"set runtimepath^={doc.parent}")
    ed.cmd(f"helptags {doc}")
    tags = (doc / "tags").read_text(encoding="utf-8")
    for topic in ("ghostline.setup()", "ghostline-settings", ":Ghostline", "ghostline-api"):
        assert topic + "\t" in tags
        ed.cmd(f"help {topic}")
        assert ed.nvim.current.buffer.name.endswith("ghostline.txt")
        ed.cmd("close")


# -- accepted suggestions (the server's usage ledger) -----------------------------------------


def accept_commands(log: Path) -> list[dict[str, Any]]:
    return [e for e in server_events(log, "executeCommand") if e["command"] == "ghostline.accepted"]


def test_accepting_runs_the_items_command(
    make_editor: Any, nvim_bin: Path, ghost: str, tmp_path: Path
) -> None:
    """Neovim 0.12's built-in runs an accepted item's command (`Completor:accept` calls
    `client:exec_cmd(item.command)`; Ghostline's built-in path applies items the same way), and
    so does the plugin renderer on 0.11 and 0.12: the server hears `ghostline.accepted`."""
    ed, log = start(make_editor, nvim_bin, tmp_path, ghost=ghost,
                    fake={"items": [DEF_HELLO], "acceptCommand": True})
    (init,) = server_events(log, "initialize")
    assert init["experimental"] == {"ghostlineAcceptCommand": True}
    ed.keys("i")
    wait_ghost(ed, DEF_HELLO)
    assert accept_commands(log) == []  # shown, not accepted
    ed.keys("<Tab>")
    ed.wait(lambda: ed.lines() == DEF_HELLO.split("\n"), 5, "the accepted text in the buffer")
    ed.wait(lambda: accept_commands(log), 5, "workspace/executeCommand ghostline.accepted")
    (accepted,) = accept_commands(log)
    assert accepted["arguments"] == [
        {"id": "s0-0", "feature": "inlineCompletion", "length": len(DEF_HELLO)}
    ]


def test_a_partial_accept_reports_its_length(
    make_editor: Any, nvim_bin: Path, ghost: str, tmp_path: Path
) -> None:
    ed, log = start(make_editor, nvim_bin, tmp_path, ghost=ghost,
                    fake={"items": ["total = add(1, 2)"], "acceptCommand": True})
    ed.keys("i")
    wait_ghost(ed, "total = add(1, 2)")
    ed.keys("<M-Right>")
    ed.wait(lambda: ed.lines() == ["total"], 5, "the first word accepted")
    ed.wait(lambda: accept_commands(log), 5, "workspace/executeCommand ghostline.accepted")
    assert accept_commands(log)[0]["arguments"][0]["acceptedLength"] == len("total")


def test_checkhealth_and_status_show_todays_usage(
    make_editor: Any, nvim_bin: Path, tmp_path: Path
) -> None:
    ed, log = start(make_editor, nvim_bin, tmp_path,
                    fake={"items": [DEF_HELLO], "acceptCommand": True})
    ed.keys("i")
    wait_ghost(ed, DEF_HELLO)
    ed.keys("<Tab>")
    ed.wait(lambda: accept_commands(log), 5, "workspace/executeCommand ghostline.accepted")
    ed.keys("<Esc>")
    status = ed.nvim.exec_lua("return vim.api.nvim_exec2('Ghostline status', {output=true}).output")
    assert "usage: today: 1 shown, 1 accepted (100%), 0 escalations" in status
    ed.cmd("checkhealth ghostline")
    report = "\n".join(ed.lines())
    assert "usage ledger today: 1 shown, 1 accepted (100%), 0 escalations" in report
    assert "model loaded: fake model" in report


def test_the_server_hears_where_the_cursor_rests(
    make_editor: Any, nvim_bin: Path, tmp_path: Path
) -> None:
    """`ghostline/cursorIdle` once the cursor stays put (not once per move), with the position
    in the negotiated encoding, and not again for the same resting place."""
    ed, log = start(make_editor, nvim_bin, tmp_path)
    ed.lua("vim.api.nvim_buf_set_lines(0, 0, -1, false, { 'a = 1', 'total = a + 22' })")
    rest = {"line": 1, "character": len("total = a + 2")}
    ed.keys("gg0j$")  # one typeahead: the moves come faster than the rest time
    ed.wait(lambda: [e for e in server_events(log, "cursorIdle") if e["position"] == rest],
            10, "a ghostline/cursorIdle notification for the resting place")
    events = server_events(log, "cursorIdle")
    assert events[-1]["position"] == rest and events[-1]["uri"].endswith("scratch.py")
    # Only resting places were reported (the start, where the buffer opened, may be one).
    assert all(e["position"] in (rest, {"line": 0, "character": 0}) for e in events)
    count = len(events)
    ed.keys("hl")  # back where it rested: nothing new to report
    time.sleep(1.0)
    assert len(server_events(log, "cursorIdle")) == count


def test_idle_ms_false_sends_no_cursor_notifications(
    make_editor: Any, nvim_bin: Path, tmp_path: Path
) -> None:
    project = write_sample_project(tmp_path / "proj")
    log = tmp_path / "fake.jsonl"
    ed = make_editor(nvim_bin, project)
    ed.lua(
        "local cmd, env = ... "
        "require('ghostline').setup({ cmd = cmd, cmd_env = env, idle_ms = false })",
        fake_server_cmd(),
        {"GHOSTLINE_FAKE_LOG": str(log)},
    )
    ed.cmd("edit sample/scratch.py")
    ed.wait_attached()
    ed.lua("vim.api.nvim_buf_set_lines(0, 0, -1, false, { 'a = 1', 'b = 2' })")
    ed.keys("j$")
    time.sleep(1.0)
    assert server_events(log, "cursorIdle") == []
