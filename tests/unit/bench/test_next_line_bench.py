"""`bench next-line`'s items and report (no model)."""

from __future__ import annotations

from ghostline.bench.next_line import Outcome, _items, report


def test_items_have_a_gap_of_two_lines_of_code_at_least() -> None:
    items = _items(20, 0)
    assert len(items) == 20 and items == _items(20, 0)  # reproducible
    for row in items:
        first, second = row["canonical_solution"].split("\n")[:2]
        assert first.strip() and second.strip()


def test_report_compares_the_product_with_the_fresh_request_on_the_same_items() -> None:
    outcomes = [Outcome("a", "return x", "return x", "return x", 0.2, 1.2),
                Outcome("b", "y += 1", "y += 1", "y = y + 1", 0.4, 1.0),
                Outcome("c", "pass", None, "pass", 0.1, 1.4),  # the fresh answer serves
                Outcome("d", "pass", "break", "break", 0.3, 1.3)]
    text = report(outcomes, 10)
    assert "4 of 10 items" in text
    assert "fresh request 2/4 (50%), product 3/4 (75%)" in text
    assert "wrote the line below for 3/4; it agrees with the fresh request on 2/3" in text
    assert "continued 300 ms, fresh 1250 ms" in text
    assert report([], 5) == "the first line was right for none of 5 items"
