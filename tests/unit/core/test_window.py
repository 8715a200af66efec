"""The local window keeps its start still while the user types."""

from __future__ import annotations

from ghostline.context.window import ANCHOR_LINES, local_window


def _code(lines: int) -> str:
    return "".join(f"value_{n} = compute({n})\n" for n in range(lines))


def test_small_file_is_taken_whole() -> None:
    text = _code(10)
    window = local_window(text, len(text), 10_000, 100)
    assert window.prefix == text and window.first_line == 0 and window.suffix == ""


def test_prefix_fits_the_budget_and_starts_on_an_anchor_line() -> None:
    text = _code(500)
    offset = len(text) // 2
    window = local_window(text, offset, 2000, 300)
    assert len(window.prefix) <= 2000
    assert window.first_line % ANCHOR_LINES == 0
    assert text[:offset].endswith(window.prefix)
    assert window.suffix == text[offset : offset + 300]


def test_start_is_stable_while_typing_on_one_line() -> None:
    text = _code(500)
    offset = len(text) // 2
    starts = set()
    for typed in range(1, 30):
        edited = text[:offset] + "x" * typed + text[offset:]
        starts.add(local_window(edited, offset + typed, 2000, 300).first_line)
    assert len(starts) == 1


def test_one_enormous_line_keeps_its_end() -> None:
    text = "x" * 50_000
    window = local_window(text, len(text), 1000, 10)
    assert window.prefix == "x" * 1000
