"""Drafts from the prompt and the adaptive draft length (pure functions)."""

from __future__ import annotations

from ghostline.engine.lookup_draft import (
    JUDGE_AFTER_DRAFTS,
    MAX_DRAFT,
    DraftLength,
    lookup_draft,
)


def test_the_tokens_after_the_latest_earlier_occurrence_are_the_draft() -> None:
    history = [1, 2, 3, 4, 5, 9, 1, 2, 3, 7, 8, 0, 2, 3]
    # "2 3" occurred at 1-2 (then 4 5 9) and at 7-8 (then 7 8 0): the latest wins
    assert lookup_draft(history, 3) == [7, 8, 0]
    assert lookup_draft(history, 10) == [7, 8, 0, 2, 3]


def test_longer_matches_win_and_no_match_means_no_draft() -> None:
    history = [5, 1, 2, 3, 6, 4, 2, 3, 7, 1, 2, 3]
    assert lookup_draft(history, 2) == [6, 4]  # "1 2 3" beats the later "2 3"
    assert lookup_draft([1, 2, 3, 4], 4) == []
    assert lookup_draft([1, 2, 1, 2], 0) == []


def test_draft_length_grows_while_drafts_are_kept_and_shrinks_to_what_was_kept() -> None:
    length = DraftLength()
    start = length.length
    length.record(start, start)
    assert length.length == start + 2
    for _ in range(10):
        length.record(length.length, length.length)
    assert length.length == MAX_DRAFT
    length.record(MAX_DRAFT, 2)
    assert length.length == 3


def test_drafting_stops_where_it_does_not_pay() -> None:
    length = DraftLength()
    for _ in range(JUDGE_AFTER_DRAFTS):
        assert length.worth_it
        length.record(4, 0)
    assert not length.worth_it
