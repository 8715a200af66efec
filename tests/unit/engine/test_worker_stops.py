"""Stop strings in the worker's decode loop, across token boundaries."""

from __future__ import annotations

from ghostline.engine.worker import _cut_at_stop


def test_no_stop_passes_the_piece() -> None:
    assert _cut_at_stop("abc", "def", ["\n"]) == ("def", False)


def test_stop_inside_the_piece_cuts_before_it() -> None:
    assert _cut_at_stop("x = 1", " + 2\ny", ["\n"]) == (" + 2", True)


def test_stop_spanning_two_pieces_is_found() -> None:
    # "<eo" was already emitted: nothing more is emitted, and the stop is reported.
    assert _cut_at_stop("a<eo", "s>b", ["<eos>"]) == ("", True)


def test_earliest_of_several_stops_wins() -> None:
    assert _cut_at_stop("", "ab<|x|>cd\n", ["\n", "<|x|>"]) == ("ab", True)
