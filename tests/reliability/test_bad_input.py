"""Bad input to the real server over stdio (real default model): every request gets a clear
error or a harmless empty answer, and afterwards the server still completes and reports.

One server serves the module's end-to-end tests (starting one costs seconds on a 2-core
machine); each ends with `assert_serving`, a real model completion plus `ghostline.status`.
Unit tests of the fixes they found (framing, document changes, positions) come last.
"""

from __future__ import annotations

import io
import json
import logging
import threading
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pygls.io_ import run
from pygls.workspace import TextDocument
from pygls.workspace.position_codec import PositionCodec

from ghostline.index.workspace import WorkspaceIndex
from ghostline.lsp.positions import cursor_offset, lsp_lines
from ghostline.lsp.protocol import ResyncingStream, apply_change, encodable

from .conftest import RawServer, assert_serving, copy_sample

model = pytest.mark.model

BIG_BYTES = 50 * 1024 * 1024
#: Invalid UTF-8 in the middle of a file whose later definition must still be indexed.
BAD_UTF8 = b"def caf\xe9_price(x):\n    return '\xff\xfe'\n\n\ndef after_bad_bytes():\n    pass\n"
BINARY = b"def binary_only_name():\x00\x01\x02 pass\n" * 200
MIXED = b"def one():\r\n    return 1\n\rdef mixed_endings_two():\r    return 2\r\n"
LONG_LINE = "values = [" + "1, " * 33_400 + "]\n\n\ndef after_long_line():\n    return "
NESTED = "x = " + "[" * 2000 + "]" * 2000 + "\n\n\ndef after_nesting():\n    return "


@pytest.fixture(scope="module")
def module_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample project plus bad files on disk, there before the server scans."""
    root = copy_sample(tmp_path_factory.mktemp("workspace"))
    with open(root / "huge_table.py", "wb") as handle:
        line = b"ROW = ('a', 1, 2.0, None)  # generated data\n"
        handle.write(line * (BIG_BYTES // len(line) + 1))
    (root / "bad_utf8.py").write_bytes(BAD_UTF8)
    (root / "binary.py").write_bytes(BINARY)
    (root / "mixed.py").write_bytes(MIXED)
    (root / "long_line.py").write_text(LONG_LINE)
    (root / "nested.py").write_text(NESTED)
    return root


def error_code(response: dict[str, Any]) -> int | None:
    error = response.get("error")
    return int(error["code"]) if isinstance(error, dict) else None


# --- the wire -----------------------------------------------------------------------------


GARBAGE_FRAMES = [
    b"{not json at all",
    b"\xff\xfe\x00 not even text",
    b'{"jsonrpc": "2.0", "id": 1, "method": "textDocument/hov',  # cut short
    b"[1, 2, 3]",
    b'"a string"',
    b"42",
    b"{}",
    b"",
    b'{"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": "nonsense"}',
]


@model
def test_malformed_frames_get_no_answer_and_do_not_stop_the_server(
        raw_server: RawServer, module_root: Path) -> None:
    unmatched_before = len(raw_server.unmatched)
    for frame in GARBAGE_FRAMES:
        raw_server.send_raw(frame)
    assert raw_server.status()["state"] == "ready"
    # A frame without an id has nobody waiting for it: nothing to answer. The server may
    # say so in a message; it must not answer with ids it made up.
    stray = raw_server.unmatched[unmatched_before:]
    assert all(m.get("id") is None for m in stray), stray
    raw_server.take_messages()
    assert_serving(raw_server, module_root)


@model
def test_requests_that_are_not_jsonrpc_2_get_invalid_request(
        raw_server: RawServer, module_root: Path) -> None:
    status = {"command": "ghostline.status"}
    frames = {
        "no-version": {"id": "no-version", "method": "workspace/executeCommand",
                       "params": status},
        "old-version": {"jsonrpc": "1.0", "id": "old-version",
                        "method": "workspace/executeCommand", "params": status},
    }
    for msg_id, frame in frames.items():
        box = raw_server.expect_response(msg_id)
        raw_server.send_raw(json.dumps(frame).encode())
        answer = raw_server.wait_box(box, timeout=15)
        assert error_code(answer) == -32600, answer
    assert_serving(raw_server, module_root)


@model
def test_unknown_methods(raw_server: RawServer, module_root: Path) -> None:
    for method in ("ghostline/noSuchThing", "textDocument/noSuchFeature", "$/noSuchThing"):
        assert error_code(raw_server.request(method, {"x": 1}, timeout=15)) == -32601
    for method in ("ghostline/noSuchThing", "$/noSuchThing", "textDocument/noSuchEvent"):
        raw_server.notify(method, {"x": 1})
    assert raw_server.take_messages() == []  # an unknown notification is ignored quietly
    assert_serving(raw_server, module_root)


@model
def test_wrong_parameter_types_get_invalid_params(raw_server: RawServer, module_root: Path) -> None:
    uri = raw_server.open(module_root / "typed.py", "def f(x):\n    return x\n")
    position = {"line": 0, "character": 0}
    cases: list[tuple[str, Any]] = [
        ("textDocument/inlineCompletion", {"textDocument": 5, "position": position,
                                           "context": {"triggerKind": 2}}),
        ("textDocument/inlineCompletion", {"textDocument": {"uri": uri},
                                           "position": {"line": "a", "character": 0},
                                           "context": {"triggerKind": 2}}),
        ("textDocument/inlineCompletion", {"textDocument": {"uri": uri},
                                           "position": {"line": -1, "character": -5},
                                           "context": {"triggerKind": 2}}),
        ("textDocument/inlineCompletion", {"textDocument": {"uri": uri}, "position": position}),
        ("textDocument/hover", 5),
        ("textDocument/hover", {"textDocument": {"uri": uri}, "position": [0, 0]}),
        ("textDocument/codeAction", {"textDocument": {"uri": uri}, "context": {}}),
        ("workspace/executeCommand", {"command": "ghostline.status", "arguments": 5}),
        ("workspace/executeCommand", {"command": ["ghostline.status"]}),
        ("codeAction/resolve", {"kind": "refactor"}),
    ]
    for method, params in cases:
        answer = raw_server.request(method, params, timeout=15)
        assert error_code(answer) == -32602, (method, params, answer)
    assert_serving(raw_server, module_root)


# --- documents and positions ----------------------------------------------------------------


@model
def test_positions_past_the_end_are_clamped(raw_server: RawServer, module_root: Path) -> None:
    text = "def area(r):\n    return "
    uri = raw_server.open(module_root / "clamp.py", text)
    end = {"start": {"line": 1, "character": 11}, "end": {"line": 1, "character": 11}}
    for line, character in ((1, 500), (40, 3), (10_000, 10_000), (2**31 - 1, 2**31 - 1)):
        answer = raw_server.complete(uri, line, character)
        assert "error" not in answer, answer
        items = answer["result"]["items"] if answer.get("result") else []
        assert all(item["range"] == end for item in items), items
        assert "error" not in raw_server.hover(uri, line, character)
        assert "error" not in raw_server.code_actions(uri, line, character)
    assert raw_server.take_messages() == []
    assert_serving(raw_server, module_root)


@model
def test_documents_never_opened(raw_server: RawServer, module_root: Path) -> None:
    missing = (module_root / "never_opened.py").as_uri()
    answer = raw_server.complete(missing, 0, 0)
    # Nothing to complete in a document the editor does not show: an empty answer.
    assert "error" not in answer and not (answer.get("result") or {}).get("items"), answer
    assert raw_server.hover(missing, 0, 0).get("result") is None
    assert raw_server.code_actions(missing, 0, 0).get("result") == []
    # Edits and closes of documents the editor never opened: ignored without a pop-up.
    raw_server.notify("textDocument/didChange", {
        "textDocument": {"uri": missing, "version": 2}, "contentChanges": [{"text": "x"}]})
    raw_server.notify("textDocument/didChange", {
        "textDocument": {"uri": missing, "version": 3}, "contentChanges": [{
            "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}},
            "text": "y"}]})
    raw_server.notify("textDocument/didClose", {"textDocument": {"uri": missing}})
    assert raw_server.take_messages() == []
    assert_serving(raw_server, module_root)


def action_titles(server: RawServer, uri: str, line: int) -> list[str]:
    answer = server.code_actions(uri, line, 4)
    assert "error" not in answer, answer
    return [a["title"] for a in answer["result"] or []]


@model
def test_out_of_order_and_odd_did_change(raw_server: RawServer, module_root: Path) -> None:
    uri = raw_server.open(module_root / "edits.py", "def first():\n    return 1\n")
    new_def = "def reversed_range_name():\n    return 2\n"
    raw_server.take_messages(settle_s=0)
    raw_server.change(uri, "\n\n", start=(2, 0), version=5)
    raw_server.change(uri, "# older version\n", start=(0, 0), version=3)  # went backwards
    raw_server.change(uri, "# same version\n", start=(0, 0), version=3)
    raw_server.change(uri, "\n", start=(90, 3), end=(95, 9), version=6)  # past the end
    raw_server.change(uri, new_def, start=(4, 0), end=(4, 0), version=7)
    raw_server.change(uri, "def ordered_name():\n    pass\n\n\n", start=(2, 0),
                      end=(2, 0), version=8)
    raw_server.change(uri, "", start=(2, 0), end=(0, 0), version=9)  # reversed delete
    # Applied in arrival order whatever their versions, each range put in order: line 0
    # is `ordered_name` only if the reversed delete removed both comment lines.
    assert any("`ordered_name`" in t for t in action_titles(raw_server, uri, 0))
    assert any("`first`" in t for t in action_titles(raw_server, uri, 4))
    assert any("`reversed_range_name`" in t for t in action_titles(raw_server, uri, 6))
    assert raw_server.take_messages() == []
    assert_serving(raw_server, module_root)


@model
def test_reversed_range_keeps_the_inserted_text(raw_server: RawServer, module_root: Path) -> None:
    uri = raw_server.open(module_root / "reversed.py", "x = 1\ny = 2\n")
    raw_server.change(uri, "def reversed_range_name():\n    return 3\n", start=(2, 0),
                      end=(1, 0), version=2)
    titles = action_titles(raw_server, uri, 1)
    assert any("`reversed_range_name`" in t for t in titles), titles
    assert_serving(raw_server, module_root)


# --- files ------------------------------------------------------------------------------------


def test_bad_files_on_disk_are_indexed_or_skipped_without_harm(tmp_path: Path) -> None:
    """The index (unit level, no server): binary and over-large files are skipped,
    invalid UTF-8 is read with replacement, mixed line endings and long lines parse."""
    root = tmp_path / "ws"
    root.mkdir()
    (root / "huge.py").write_bytes(b"HUGE_NAME = 1\n" * (2_000_000 // 14 + 1))
    (root / "bad_utf8.py").write_bytes(BAD_UTF8)
    (root / "binary.py").write_bytes(BINARY)
    (root / "mixed.py").write_bytes(MIXED)
    (root / "long_line.py").write_text(LONG_LINE + "1\n")
    (root / "nested.py").write_text(NESTED + "1\n")
    index = WorkspaceIndex([root], use_cache=False, workers=1)
    stats = index.scan()
    reasons = {Path(line.split(": ")[0]).name: line for line in stats.skipped}
    assert "too large" in reasons["huge.py"]
    assert "binary" in reasons["binary.py"]
    assert index.definitions("binary_only_name") == []
    assert index.definitions("HUGE_NAME") == []
    for name in ("after_bad_bytes", "mixed_endings_two", "after_long_line", "after_nesting"):
        assert len(index.definitions(name)) == 1, name
    text = index.file_text(root / "bad_utf8.py")
    assert text is not None and "\ufffd" in text
    index.close()


@model
def test_the_server_indexed_the_workspace_with_bad_files(
        raw_server: RawServer, module_root: Path) -> None:
    indexed = raw_server.status()["indexedFiles"]
    sample = 3  # the sample project's own files
    # bad_utf8, mixed, long_line, nested are indexed; huge_table (50 MB) and binary not.
    assert indexed >= sample + 4
    uri = (module_root / "nested.py").as_uri()
    assert "error" not in raw_server.hover(uri, 3, 5)
    assert_serving(raw_server, module_root)


def big_text() -> str:
    """50 MB of generated data, as a generated module might hold, then a function."""
    line = "DATA = '" + "0123456789abcdef" * 64 + "'\n"
    return line * (BIG_BYTES // len(line) + 1) + "def tail():\n    return "


#: Odd documents opened in the editor: file name -> (text, cursor).
OPEN_CASES: dict[str, tuple[str, tuple[int, int]]] = {
    "nul_bytes.py": ("def f():\n    x = '\x00\x01'\n    return ", (2, 11)),
    "replaced.py": ("def caf\ufffd():\n    return '\ufffd'\n\ndef g():\n    return ", (4, 11)),
    "lone_surrogate.py": ("def f():\n    s = '\udcff'\n    return ", (2, 11)),
    "mixed_endings.py": ("def one():\r\n    return 1\n\rdef two():\r    return ", (3, 11)),
    "long_line.py": (LONG_LINE, (4, 11)),
    "nested.py": (NESTED, (4, 11)),
    "form_feed.py": ("import os\n\x0c\n# page two\u2028still line 3\ndef g():\n    return ",
                     (4, 11)),
    "emoji_cjk.py": ("def greet():\n    return '😋 日本語 👍' + ", (1, 26)),
}


def case(name: str) -> tuple[str, tuple[int, int]]:
    if name == "big_50mb.py":
        text = big_text()
        return text, (text.count("\n"), 11)
    return OPEN_CASES[name]


@model
@pytest.mark.parametrize("name", ["big_50mb.py", *OPEN_CASES])
def test_odd_documents_opened_in_the_editor(raw_server: RawServer, module_root: Path,
                                            name: str) -> None:
    text, (line, character) = case(name)
    uri = raw_server.open(module_root / "opened" / name, text)
    del text
    for answer in (raw_server.complete(uri, line, character, timeout=90),
                   raw_server.hover(uri, 0, 5), raw_server.hover(uri, line, character),
                   raw_server.code_actions(uri, 0, 4),
                   raw_server.code_actions(uri, line, character)):
        assert "error" not in answer, answer
    # An edit at the cursor is applied and the document still answers.
    raw_server.change(uri, "x", start=(line, character))
    assert "error" not in raw_server.hover(uri, line, character + 1)
    assert "error" not in raw_server.code_actions(uri, line, character + 1)
    assert raw_server.take_messages() == []
    assert_serving(raw_server, module_root)


# --- unit tests of the fixes ------------------------------------------------------------------


class _Recorder:
    """Stands in for the protocol in pygls's framing loop: records what it is handed."""

    def __init__(self) -> None:
        self.handled: list[Any] = []

    def structure_message(self, data: dict[str, Any]) -> Any:
        return data

    def handle_message(self, message: Any) -> None:
        self.handled.append(message.get("id") if isinstance(message, dict) else message)


def frame(body: bytes, length: int | None = None, header: bytes | None = None) -> bytes:
    size = len(body) if length is None else length
    return (header or f"Content-Length: {size}\r\n\r\n".encode()) + body


def framed_ids(stream: Any) -> list[Any]:
    recorder = _Recorder()
    run(threading.Event(), stream, recorder,  # type: ignore[arg-type]
        logger=logging.getLogger("test-framing"))
    return recorder.handled


def request(msg_id: int) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": msg_id, "method": "x"}).encode()


@pytest.mark.parametrize("broken", [
    frame(b'{"jsonrpc": "2.0"}', header=b"Content-Length: abc\r\n\r\n"),
    frame(b'{"jsonrpc": "2.0", "id": 99, "method": "x"}', length=10),  # body longer
    frame(b'{"jsonrpc": "2.0"}', header=b"Content-Type: nothing-else\r\n\r\n"),
    b"random bytes with no frame at all",
])
def test_framing_finds_the_next_frame_after_a_broken_one(broken: bytes) -> None:
    data = frame(request(1)) + broken + frame(request(2)) + frame(request(3))
    assert framed_ids(ResyncingStream(io.BytesIO(data))) == [1, 2, 3]


def test_plain_pygls_framing_goes_deaf_after_a_broken_header() -> None:
    """The control: without the resyncing stream every later frame is lost."""
    broken = frame(b'{"jsonrpc": "2.0"}', header=b"Content-Length: abc\r\n\r\n")
    data = frame(request(1)) + broken + frame(request(2)) + frame(request(3))
    assert framed_ids(io.BytesIO(data)) == [1]


def test_resyncing_stream_reads_through_a_split_line() -> None:
    stream = ResyncingStream(io.BytesIO(b"junkContent-Length: 5\r\n\r\nhello"))
    assert stream.readline() == b"junk\n"
    assert stream.readline() == b"Content-Length: 5\r\n"
    assert stream.readline() == b"\r\n"
    assert stream.read(5) == b"hello"
    assert stream.read(5) == b""


def _document(text: str, encoding: str = "utf-16") -> TextDocument:
    return TextDocument("file:///t.py", text,
                        position_codec=PositionCodec(types.PositionEncodingKind(encoding)))


def _edit(doc: TextDocument, start: tuple[int, int], end: tuple[int, int], text: str) -> str:
    apply_change(doc, types.TextDocumentContentChangePartial(
        range=types.Range(start=types.Position(line=start[0], character=start[1]),
                          end=types.Position(line=end[0], character=end[1])),
        text=text))
    return doc.source


def test_lsp_lines_break_only_at_lsp_line_breaks() -> None:
    text = "a\r\nb\rc\x0cd\u2028e\x1cf\n"
    assert lsp_lines(text) == ["a\r\n", "b\r", "c\x0cd\u2028e\x1cf\n", ""]
    assert len(text.splitlines()) == 6  # what pygls counted
    assert lsp_lines("") == [""]
    assert lsp_lines("x") == ["x"]


def test_edit_below_a_form_feed_lands_on_the_editors_line() -> None:
    doc = _document("import os\n\x0c# page two\ndef g():\n    return 1\n")
    edited = _edit(doc, (3, 11), (3, 12), "2")
    assert edited == "import os\n\x0c# page two\ndef g():\n    return 2\n"


@pytest.mark.parametrize(("start", "end", "expected"), [
    ((1, 0), (0, 2), "deS    return x\n"),  # reversed: put in order
    ((5, 0), (1, 0), "def f(x):\nS"),  # reversed and past the end
    ((50, 3), (60, 9), "def f(x):\n    return x\nS"),  # past the end: appended
    ((1, 500), (1, 500), "def f(x):\n    return xS\n"),  # past the line end: at its end
    ((2, 0), (2, 0), "def f(x):\n    return x\nS"),  # the empty last line
])
def test_odd_ranges(start: tuple[int, int], end: tuple[int, int], expected: str) -> None:
    assert _edit(_document("def f(x):\n    return x\n"), start, end, "S") == expected


def test_edits_in_utf8_and_utf16_units_after_an_emoji() -> None:
    for encoding, column in (("utf-16", 8), ("utf-8", 10)):
        doc = _document("s = '😋' + x\n", encoding)
        assert _edit(doc, (0, column), (0, column + 1), "1") == "s = '😋'1+ x\n"


def test_lone_surrogates_become_replacement_characters() -> None:
    assert encodable("a\udcffb\ud800") == "a\ufffdb\ufffd"
    assert encodable("😋 ok") == "😋 ok"
    doc = _document("x = 1\n")
    assert _edit(doc, (0, 4), (0, 5), "'\udcff'") == "x = '\ufffd'\n"
    doc.source.encode("utf-8")


def test_cursor_on_the_empty_last_line_is_at_the_end_of_the_text() -> None:
    text = "def f():\n    return 1\n"
    offset, clamped = cursor_offset(_document(text), types.Position(line=2, character=0))
    assert (offset, clamped) == (len(text), types.Position(line=2, character=0))
    # pygls clamped a character past the end of a last line without a line break to one
    # before its end.
    offset, clamped = cursor_offset(_document("def f():\n    return "),
                                    types.Position(line=1, character=500))
    assert clamped == types.Position(line=1, character=11)


def test_cursor_below_a_form_feed() -> None:
    text = "a = 1\x0c\nb = 2\u2028c\nd = "
    offset, clamped = cursor_offset(_document(text), types.Position(line=2, character=4))
    assert text[:offset].endswith("d = ") and clamped.line == 2


@model
def test_the_real_server_answers_after_a_broken_header(raw_server: RawServer,
                                                       module_root: Path) -> None:
    """`ghostline serve` reads stdin through the resyncing stream (the unit tests above
    show plain pygls going deaf after the same frame)."""
    raw_server.send_raw(b'{"jsonrpc": "2.0"}', header=b"Content-Length: abc\r\n\r\n")
    assert raw_server.status()["state"] == "ready"
    assert_serving(raw_server, module_root)
