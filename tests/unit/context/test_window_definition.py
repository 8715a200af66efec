"""`enclosing_definition` where the cursor follows a nested definition or ends a body."""

from ghostline.context.window import enclosing_definition
from ghostline.index.languages import spec_for_language_id


def _enclosing(text: str, marker: str = "|") -> tuple[int, int] | None:
    offset = text.index(marker)
    text = text.replace(marker, "", 1)
    spec = spec_for_language_id("python")
    assert spec is not None
    tree = spec.parser().parse(text.encode("utf-8"))
    return enclosing_definition(tree, text, offset)


def test_a_line_after_a_nested_function_belongs_to_the_outer_one() -> None:
    # HumanEval/94: the hole is a line of the outer function below a nested one; the
    # outer function must be kept whole (the suffix reaches its end), not cut at the line.
    text = ("def outer(lst):\n    def is_prime(n):\n        return n > 1\n\n"
            "|    i = 0\n    while i < len(lst):\n        i += 1\n    return i\n")
    found = _enclosing(text)
    assert found is not None
    first_line, end = found
    assert first_line == 0
    assert text.replace("|", "")[:end].endswith("return i")


def test_a_new_indented_line_at_the_end_of_a_body_stays_in_the_function() -> None:
    text = "def f():\n    x = 1\n    |\n\ndef g():\n    pass\n"
    assert _enclosing(text) == (0, text.index("|") - 0)


def test_a_top_level_line_after_a_function_is_outside_it() -> None:
    assert _enclosing("def f():\n    return 1\n\n|x = f()\n") is None
