"""From the model's continuation to a summary sentence in each language's convention."""

from __future__ import annotations

import pytest

from ghostline.features.docstring_text import (
    clean_predicate,
    is_copy,
    render_summary,
    to_base,
    to_third,
)


@pytest.mark.parametrize(("raw", "expected"), [
    (" returns the number of words in the path.", "returns the number of words in the path."),
    (" returns the sum.\n    It also logs.\n\nMore text", "returns the sum. It also logs."),
    (" returns the sum. It returns the sum.", "returns the sum."),  # repetition dropped
    ("", ""),
    (" (x)", ""),  # no words
    (" ```python\n", ""),
    (" is used to parse a header line", "is used to parse a header line."),
])
def test_clean_predicate(raw: str, expected: str) -> None:
    assert clean_predicate(raw) == expected


def test_truncated_output_keeps_only_complete_sentences() -> None:
    assert clean_predicate(" parses the line. Then it returns the", truncated=True) == \
        "parses the line."
    assert clean_predicate(" parses the", truncated=True) == ""
    assert clean_predicate(" takes a list of points and returns a tuple of", truncated=True) == ""


@pytest.mark.parametrize(("word", "base"), [
    ("returns", "return"), ("applies", "apply"), ("pushes", "push"), ("parses", "parse"),
    ("matches", "match"), ("does", "do"), ("has", "have"), ("passes", "pass"),
    ("uses", "use"), ("computed", "computed"),
])
def test_to_base(word: str, base: str) -> None:
    assert to_base(word) == base


@pytest.mark.parametrize(("word", "third"), [
    ("return", "returns"), ("apply", "applies"), ("push", "pushes"), ("parse", "parses"),
    ("do", "does"), ("have", "has"), ("play", "plays"),
])
def test_to_third(word: str, third: str) -> None:
    assert to_third(word) == third


@pytest.mark.parametrize(("predicate", "language", "expected"), [
    ("returns the sum of the values.", "python", "Return the sum of the values."),
    ("returns the sum of the values.", "typescript", "Returns the sum of the values."),
    ("returns the sum of the values.", "go", "sum returns the sum of the values."),
    ("is used to parse a header line.", "python", "Parse a header line."),
    ("is used to parse a header line.", "rust", "Parses a header line."),
    ("is used to parse a header line.", "go", "sum parses a header line."),
    ("is a helper function that applies the discount.", "python", "Apply the discount."),
    ("is a helper function that applies the discount.", "java", "Applies the discount."),
    ("will copy the list.", "javascript", "Copies the list."),
    ("is a thin wrapper around open().", "python", "A thin wrapper around open()."),
])
def test_render_function_summary(predicate: str, language: str, expected: str) -> None:
    assert render_summary(predicate, "sum", "function", language) == expected


def test_render_class_summary() -> None:
    assert render_summary("a stack of ints.", "Stack", "class", "python") == "A stack of ints."
    assert render_summary("a stack of ints.", "Stack", "struct", "go") == \
        "Stack is a stack of ints."


def test_copy_detection() -> None:
    docs = ["Return the value of all items in stock (price times quantity).\n\nMore."]
    assert is_copy("returns the value of all items in stock (price times quantity).", docs)
    assert not is_copy("adds amount to the quantity of an item.", docs)
    assert not is_copy("adds amount to the quantity.", [])


def test_verbs_joined_by_and_change_too() -> None:
    predicate = "takes a list of points and returns the scaled points and labels."
    assert render_summary(predicate, "scale", "function", "python") == \
        "Take a list of points and return the scaled points and labels."
    assert render_summary("is used to read keys and values and return them.", "f",
                          "function", "java") == "Reads keys and values and returns them."


def test_passive_predicates_drop_the_is() -> None:
    predicate = "is called when the subscriber is closed."
    assert render_summary(predicate, "f", "method", "typescript") == \
        "Called when the subscriber is closed."
    assert render_summary(predicate, "f", "function", "python") == \
        "Called when the subscriber is closed."
    assert render_summary(predicate, "f", "function", "go") == \
        "f is called when the subscriber is closed."
