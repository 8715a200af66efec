from ghostline.context.budget import Snippet, select, token_window
from ghostline.context.tokenizer import EstimateCounter
from ghostline.context.window import ANCHOR_LINES

COUNTER = EstimateCounter(chars_per_token=1.0)  # one token per character: easy to reason


def cost(snippet: Snippet) -> int:
    return COUNTER.count(snippet.text)


def test_select_takes_in_order_and_cuts_the_one_that_does_not_fit() -> None:
    a = Snippet("a", "x" * 10, 3.0, "usage", 0, 1)
    b = Snippet("b", "\n".join(["yyyy"] * 5), 2.0, "definition", 10, 15)  # 24 chars
    c = Snippet("c", "z" * 5, 1.0, "bm25", 0, 1)
    chosen = select([a, b, c], budget=30, cost=cost)
    assert [s.path for s in chosen] == ["a", "b", "c"][:2]
    assert chosen[1].text == "yyyy\nyyyy\nyyyy\nyyyy"  # 4 of 5 lines fit in 20
    assert chosen[1].end == 14
    assert sum(cost(s) for s in chosen) <= 30


def test_select_skips_what_cannot_be_cut_but_tries_smaller_ones() -> None:
    big = Snippet("big", "one very long line that will never fit", 3.0, "usage")
    small = Snippet("small", "ok", 1.0, "bm25")
    assert [s.path for s in select([big, small], budget=5, cost=cost)] == ["small"]


def test_token_window_anchors_its_start_and_respects_the_budget() -> None:
    lines = [f"row{i:03d}" for i in range(100)]  # 7 characters + newline each
    text = "\n".join(lines)
    offset = len(text)
    window = token_window(text, offset, prefix_tokens=200, suffix_tokens=0, counter=COUNTER)
    assert window.first_line % ANCHOR_LINES == 0
    assert len(window.prefix) <= 200
    assert text.endswith(window.prefix)
    # typing on the same line keeps the start
    more = token_window(text + "x", offset + 1, 200, 0, COUNTER)
    assert more.first_line == window.first_line


def test_suffix_keeps_the_definition_whole_when_it_fits() -> None:
    text = "def f():\n    a = 1\n    b = 2\n    return a + b\n\nother = 3\n"
    offset = text.index("a = 1")
    end = text.index("\n\nother") + 1
    whole = token_window(text, offset, 100, 40, COUNTER, keep_until=end)
    assert whole.suffix == text[offset : text.index("other")]  # then the lines that fit
    assert token_window(text, offset, 100, 60, COUNTER, keep_until=end).suffix == text[offset:]
    cut = token_window(text, offset, 100, COUNTER.count(text[offset:end]), COUNTER,
                       keep_until=end)
    assert cut.suffix == text[offset:end]
    lines_only = token_window(text, offset, 100, 12, COUNTER, keep_until=end)
    assert lines_only.suffix == "a = 1\n"


def test_token_window_starts_at_the_enclosing_definition_when_the_anchor_would_cut_it() -> None:
    lines = [f"row{i:03d}" for i in range(40)]
    lines[21] = "def fn():"  # the definition starts five lines below anchor 16
    text = "\n".join(lines)
    offset = len(text)
    budget = 8 * (40 - 19)  # room for lines 19.. (the anchor at 32 is the first that fits)
    plain = token_window(text, offset, budget, 0, COUNTER)
    assert plain.first_line == 32
    kept = token_window(text, offset, budget, 0, COUNTER, keep_from_line=21)
    assert kept.first_line == 21 and kept.prefix.startswith("def fn():")
    too_big = token_window(text, offset, 8 * 10, 0, COUNTER, keep_from_line=21)
    assert too_big.first_line == 32  # the definition does not fit: the anchor decides


def test_token_window_counts_only_the_lines_it_may_take() -> None:
    counted: list[str] = []

    class Counting:
        def count(self, text: str) -> int:
            counted.append(text)
            return len(text)

    text = "\n".join(f"row{i:05d}" for i in range(5000))
    token_window(text, len(text), 200, 0, Counting())
    assert len(counted) < 40
