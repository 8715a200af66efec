"""Streaming stop rules, fed in chunks the way a model streams tokens."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ghostline.postprocess.mode import CompletionMode
from ghostline.postprocess.stops import StreamingStopper

TOKENS = ("<|endoftext|>", "<|file_sep|>")


def run(
    text: str,
    mode: CompletionMode = "multi",
    *,
    chunks: int = 3,
    **kwargs: object,
) -> tuple[str, str | None, list[str]]:
    """Feed ``text`` in pieces of ``chunks`` characters; return (output, reason, emissions)."""
    stopper = StreamingStopper(mode, stop_tokens=TOKENS, **kwargs)  # type: ignore[arg-type]
    emitted: list[str] = []
    for i in range(0, len(text), chunks):
        out, stop = stopper.feed(text[i : i + chunks])
        emitted.append(out)
        if stop:
            break
    else:
        emitted.append(stopper.finish())
    return "".join(emitted), stopper.reason, emitted


def test_single_line_stops_at_newline() -> None:
    out, reason, _ = run("len(items))\n    return x\n", "single")
    assert (out, reason) == ("len(items))", "newline")


def test_single_line_ending_without_newline_is_released_on_finish() -> None:
    out, reason, emitted = run("a + b", "single", chunks=1)
    assert out == "a + b" and reason == "end"
    assert emitted[:-1] == [""] * 5  # nothing before the line was known to be complete


def test_stop_token_split_across_chunks_is_never_emitted() -> None:
    stopper = StreamingStopper("single", stop_tokens=TOKENS)
    parts = [stopper.feed("return x<|end"), stopper.feed("oftext|>junk")]
    assert parts == [("", False), ("return x", True)]
    assert stopper.reason == "stop_token"


def test_stop_token_after_complete_lines() -> None:
    text = "a = 1\n    b = 2<|file_sep|>other.py\n"
    out, reason, _ = run(text, line_prefix="    ", block_indent=4)
    assert (out, reason) == ("a = 1\n    b = 2", "stop_token")


def test_dedent_below_block_ends_the_block() -> None:
    text = "a = 1\n    return a\nprint(f(2))\n"
    out, reason, _ = run(text, line_prefix="    ", block_indent=4)
    assert (out, reason) == ("a = 1\n    return a", "dedent")


def test_line_equal_to_first_line_of_suffix() -> None:
    suffix = "\n    return total\n"
    text = "total = 0\n    for x in xs:\n        total += x\n    return total\n"
    out, reason, _ = run(text, suffix=suffix, line_prefix="    ", block_indent=4)
    assert (out, reason) == ("total = 0\n    for x in xs:\n        total += x", "suffix_line")


def test_first_line_compared_with_the_cursor_line_prefix() -> None:
    out, reason, _ = run("return x\n", "single", suffix="\n    return x\n", line_prefix="    ")
    assert (out, reason) == ("", "suffix_line")


def test_same_line_repeated() -> None:
    text = "x = 1\n    y = 2\n    y = 2\n    y = 2\n"
    out, reason, _ = run(text, line_prefix="    ", block_indent=4)
    assert (out, reason) == ("x = 1\n    y = 2", "repetition")


def test_cycle_of_two_lines_is_held_back_then_dropped() -> None:
    text = "a()\n    b()\n    a()\n    b()\n    a()\n"
    out, reason, emitted = run(text, line_prefix="    ", block_indent=4, chunks=1)
    assert (out, reason) == ("a()\n    b()", "repetition")
    assert "".join(emitted).count("a()") == 1  # the second a() was never emitted


def test_broken_cycle_is_released() -> None:
    text = "a()\n    b()\n    a()\n    c()\n"
    out, reason, _ = run(text, line_prefix="    ", block_indent=4)
    assert (out, reason) == ("a()\n    b()\n    a()\n    c()", "end")


def test_two_blank_lines_end_the_block() -> None:
    out, reason, _ = run("a = 1\n\n\ndef other():\n")
    assert (out, reason) == ("a = 1", "blank_lines")
    out, reason, _ = run("a = 1\n\nb = 2\n")
    assert (out, reason) == ("a = 1\n\nb = 2", "end")


def test_trailing_blank_lines_are_not_emitted() -> None:
    assert run("a = 1\n\n")[0] == "a = 1"


def test_max_lines() -> None:
    out, reason, _ = run("a\nb\nc\nd\ne\n", max_lines=3)
    assert (out, reason) == ("a\nb\nc", "max_lines")


def test_block_opened_at_end_of_line_starts_with_newline() -> None:
    text = "\n    return x * 2\n\nprint(f(1))\n"
    out, reason, _ = run(text, line_prefix="def f(x):", block_indent=1)
    assert (out, reason) == ("\n    return x * 2", "dedent")


def test_truncated_finish_drops_an_unfinished_line_in_multi_mode() -> None:
    stopper = StreamingStopper("multi", line_prefix="    ", block_indent=4)
    assert stopper.feed("a = 1\n    b = comp") == ("a = 1", False)
    assert stopper.finish(truncated=True) == ""
    single = StreamingStopper("single")
    single.feed("foo(a, b")
    assert single.finish(truncated=True) == "foo(a, b"


def test_none_mode_stops_at_once_and_feed_after_stop_is_empty() -> None:
    stopper = StreamingStopper("none")
    assert stopper.stopped and stopper.feed("x") == ("", True) and stopper.finish() == ""
    done = StreamingStopper("single")
    done.feed("x\n")
    assert done.feed("more") == ("", True)


LINES = st.sampled_from(["a()", "    b()", "    a()", "", "c = 1", "<|endoftext|>", "  x"])


@settings(max_examples=150, deadline=None)
@given(
    st.lists(LINES, max_size=8),
    st.lists(st.integers(min_value=1, max_value=7), min_size=1, max_size=40),
    st.sampled_from(["single", "multi"]),
)
def test_chunking_does_not_change_the_result(
    lines: list[str], cuts: list[int], mode: CompletionMode
) -> None:
    text = "\n".join(lines)
    kwargs = {"line_prefix": "    ", "block_indent": 2, "suffix": "\n    x\n"}
    whole, whole_reason, _ = run(text, mode, chunks=max(len(text), 1), **kwargs)
    stopper = StreamingStopper(mode, stop_tokens=TOKENS, **kwargs)  # type: ignore[arg-type]
    out, pos, i = [], 0, 0
    while pos < len(text) and not stopper.stopped:
        size = cuts[i % len(cuts)]
        out.append(stopper.feed(text[pos : pos + size])[0])
        pos, i = pos + size, i + 1
    out.append(stopper.finish())
    assert "".join(out) == whole
    assert stopper.reason == whole_reason
    assert "<|endoftext|>" not in whole
