"""Token-boundary healing: the split is lossless and re-attaching inserts at the cursor."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ghostline.postprocess.healing import (
    StreamingReattacher,
    reattach,
    split_trailing_whitespace,
)


@pytest.mark.parametrize(
    ("prefix", "clean", "stripped"),
    [
        ("x = ", "x =", " "),
        ("def f():\n    ", "def f():\n", "    "),
        ("if a:\n\t\t", "if a:\n", "\t\t"),
        ("print(a, ", "print(a,", " "),
        ("name", "name", ""),
        ("a\n", "a\n", ""),  # the newline itself stays
        ("", "", ""),
    ],
)
def test_split(prefix: str, clean: str, stripped: str) -> None:
    assert split_trailing_whitespace(prefix) == (clean, stripped)


@given(st.text(alphabet=" \t\nab=(", max_size=30))
def test_split_is_lossless(prefix: str) -> None:
    clean, stripped = split_trailing_whitespace(prefix)
    assert clean + stripped == prefix
    assert not clean.endswith((" ", "\t"))
    assert stripped.strip(" \t") == ""


@pytest.mark.parametrize(
    ("stripped", "completion", "expected"),
    [
        (" ", " 42", "42"),  # model re-typed the space the user typed
        (" ", "42", "42"),  # model glued the value to "="
        (" ", "  42", " 42"),  # model wanted two spaces: one is already there
        ("    ", "    return x", "return x"),
        ("    ", "        return x", "    return x"),  # deeper indentation is the model's
        ("    ", "  return x", "return x"),  # shallower: the user's indentation wins
        ("\t", "    return x", "return x"),  # tabs typed, spaces generated
        ("", " + 1", " + 1"),
        (" ", "\n    y = 2", "\n    y = 2"),
        (" ", "", ""),
    ],
)
def test_reattach(stripped: str, completion: str, expected: str) -> None:
    assert reattach(stripped, completion) == expected


def test_round_trip_rebuilds_the_models_text() -> None:
    prefix = "total = "
    clean, stripped = split_trailing_whitespace(prefix)
    model_output = " sum(values)"
    inserted = reattach(stripped, model_output)
    assert prefix + inserted == clean + model_output


@given(
    st.sampled_from(["", " ", "    ", "\t"]),
    st.text(alphabet=" \tab\n", max_size=12),
    st.lists(st.integers(min_value=1, max_value=4), min_size=1, max_size=12),
)
def test_streaming_reattach_matches_whole_text(stripped: str, text: str, cuts: list[int]) -> None:
    stream = StreamingReattacher(stripped)
    out, pos, i = [], 0, 0
    while pos < len(text):
        size = cuts[i % len(cuts)]
        out.append(stream.feed(text[pos : pos + size]))
        pos, i = pos + size, i + 1
    out.append(stream.finish())
    assert "".join(out) == reattach(stripped, text)


def test_streaming_reattach_holds_only_leading_whitespace() -> None:
    stream = StreamingReattacher("    ")
    assert stream.feed("  ") == ""
    assert stream.feed("  ret") == "ret"
    assert stream.feed("urn") == "urn"
    assert stream.finish() == ""
