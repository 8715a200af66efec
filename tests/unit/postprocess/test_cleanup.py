"""Each cleanup step on its own, and the bracket scanner."""

from __future__ import annotations

import pytest

from ghostline.postprocess.brackets import (
    cut_unmatched_closer,
    suffix_closes,
    unclosed_openers,
)
from ghostline.postprocess.cleanup import (
    clean_completion,
    cut_at_markers,
    drop_repeated_suffix_lines,
    drop_suffix_overlap,
    strip_markdown_fence,
)
from ghostline.postprocess.stops import StreamingStopper


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a<|im_end|>b", "a"),
        ("a <MY_END> b", "a "),  # from the caller's list
        ("value <|fi", "value "),  # dangling start of a marker
        ("x < y", "x < y"),  # one character is not a marker start
        ("a[PREFIX]b", "a"),
    ],
)
def test_cut_at_markers(text: str, expected: str) -> None:
    assert cut_at_markers(text, ["<MY_END>", "[PREFIX]"]) == expected


def test_markdown_fence_kept_inside_a_markdown_code_block() -> None:
    text = "print(1)\n```\nmore prose"
    assert strip_markdown_fence(text, prefix="# Doc\n```python\n") == text
    assert strip_markdown_fence(text, prefix="x = 1\n") == "print(1)"
    assert strip_markdown_fence("```js\nf();\n```", prefix="") == "f();"


@pytest.mark.parametrize(
    ("text", "suffix", "expected"),
    [
        ("x == 0:", " == 0:\n", "x"),
        ("a, b", ", b)\n", "a"),
        ("f(x)", ")\n", "f(x)"),  # only closers: the bracket rule decides
        ("x + 1", "1)\n", "x + 1"),  # a one-character partial overlap is chance
        ("abc", "\nnext", "abc"),
    ],
)
def test_drop_suffix_overlap(text: str, suffix: str, expected: str) -> None:
    assert drop_suffix_overlap(text, suffix) == expected


def test_drop_repeated_suffix_lines() -> None:
    suffix = "\n    y = 2\n    return y\n"
    assert drop_repeated_suffix_lines("x = 1\n    y = 2\n    return y", suffix, "    ") == "x = 1"
    assert drop_repeated_suffix_lines("x = 1\n    y = 3", suffix, "    ") == "x = 1\n    y = 3"
    assert drop_repeated_suffix_lines("y = 2", suffix, "    ") == ""


def test_bracket_scanner_skips_strings_and_comments() -> None:
    assert unclosed_openers('f(a, ")", [1, # (\n') == ["(", "["]
    assert unclosed_openers("x = {\n  a: g(1),\n  b: ") == ["{"]
    assert suffix_closes(")]\n", ["(", "["]) == 0  # ")" cannot close "[" first
    assert suffix_closes("])\n", ["(", "["]) == 2
    assert suffix_closes("(1))\n", ["("]) == 1


@pytest.mark.parametrize(
    ("completion", "prefix", "suffix", "expected"),
    [
        ("x)", "print(", ")", "x"),
        ("x)", "print(", "", "x)"),
        ("g(1), 2)", "f(", ")", "g(1), 2"),
        ("1, 2]", "xs = [", "", "1, 2]"),
        ("1, 2)", "xs = [", "", "1, 2"),
        ("')' + s)", "f(", ")", "')' + s"),
        ("}", "", "", ""),
    ],
)
def test_cut_unmatched_closer(completion: str, prefix: str, suffix: str, expected: str) -> None:
    assert cut_unmatched_closer(completion, prefix, suffix) == expected


def test_clean_completion_never_returns_whitespace_only() -> None:
    for text in ["", " ", "\n\n", "\t \n  ", "<|endoftext|>"]:
        assert clean_completion(text, prefix="x = ", suffix="\n", mode="multi") == ""
    assert clean_completion("anything", prefix="a", suffix="b", mode="none") == ""


def test_stopper_skips_an_opening_fence_and_indents_the_code_inside() -> None:
    stopper = StreamingStopper("multi", line_prefix="    ", block_indent=4)
    out, stop = stopper.feed("```python\nfor x in xs:\n    print(x)\n```\nExplanation")
    assert (out, stop, stopper.reason) == ("for x in xs:\n        print(x)", True, "fence")


def test_stopper_leaves_fences_alone_when_told() -> None:
    stopper = StreamingStopper("multi", markdown_fences=False)
    out, _ = stopper.feed("code\n```\ntext\n")
    assert out + stopper.finish() == "code\n```\ntext"


def test_at_column_0_before_code_the_suggestion_is_a_line_of_its_own() -> None:
    prefix = "def check(user):\n    name = user.name\n"
    below = "    return name\n"
    assert clean_completion("    age = user.age", prefix=prefix, suffix=below,
                            mode="single") == "    age = user.age\n"
    # Not on a blank line, nor after text on the cursor's line.
    assert clean_completion("    age = 1", prefix=prefix, suffix="\n" + below,
                            mode="single") == "    age = 1"
    assert clean_completion("1", prefix=prefix + "    age = ", suffix="\n" + below,
                            mode="single") == "1"


def test_at_column_0_before_code_only_a_repeat_of_that_code_is_dropped() -> None:
    prefix = "def check(month):\n    if month < 1:\n"
    suffix = "    if month > 12:\n        return False\n"
    # The line that goes above the cursor's line may be the same as the one below it.
    assert clean_completion("        return False", prefix=prefix, suffix=suffix,
                            mode="single") == "        return False\n"
    # The cursor's line itself, or the start of it, is a line of its own, not an overlap.
    assert clean_completion("    if month > 12:", prefix=prefix, suffix=suffix,
                            mode="single") == ""
    assert clean_completion("    if month", prefix=prefix, suffix=suffix,
                            mode="single") == "    if month\n"
