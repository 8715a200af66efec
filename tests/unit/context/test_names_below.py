"""Names the code below the cursor reads but nothing binds (tree-sitter, Python)."""

from __future__ import annotations

from ghostline.index.languages import spec_for_path
from ghostline.index.names_below import (
    MAX_NAMES,
    opens_block,
    preferred_starts,
    unbound_names_below,
)


def names(source: str) -> list[str]:
    """`source` with ``<|>`` at the cursor."""
    offset = source.index("<|>")
    text = source.replace("<|>", "")
    tree = spec_for_path("a.py").parser().parse(text.encode("utf-8"))
    return unbound_names_below(tree, text, offset)


def test_a_name_read_below_and_bound_nowhere_is_found() -> None:
    assert names(
        "def total(items):\n"
        "    <|>\n"
        "    for item in items:\n"
        "        subtotal += item.price\n"
        "    return subtotal\n"
    ) == ["subtotal"]


def test_names_bound_before_below_in_parameters_imports_or_the_module_are_not() -> None:
    assert names(
        "import os\n"
        "from json import loads as parse\n"
        "LIMIT = 3\n"
        "def helper(): pass\n"
        "def run(path, *args, flag: bool = False, **options):\n"
        "    seen = set()\n"
        "    <|>\n"
        "    for index, (key, value) in enumerate(parse(os.read(path))):\n"
        "        if (n := len(key)) > LIMIT and flag:\n"
        "            seen.add([k for k in args] + [helper(), options, value, index, n])\n"
        "    with open(path) as handle, handle:\n"
        "        print(handle, key.upper(), dict(x=1))\n"
    ) == []


def test_the_order_is_nearest_first_and_attributes_and_keywords_are_skipped() -> None:
    assert names(
        "def area(shape):\n"
        "    <|>\n"
        "    print(shape.width, height=shape.height)\n"
        "    return width * height + scale\n"
    ) == ["width", "height", "scale"]


def test_only_the_innermost_function_at_a_new_statement_counts() -> None:
    source = (
        "def outer():\n"
        "    def inner():\n"
        "        {cursor}\n"
        "        return depth\n"
        "    return missing\n"
    )
    assert names(source.format(cursor="<|>")) == ["depth"]
    assert names(source.format(cursor="x = <|>")) == []  # not a new statement
    assert names("<|>\nprint(undefined_at_top_level)\n") == []


def test_a_wildcard_import_turns_it_off_and_the_list_is_capped() -> None:
    body = "    return " + " + ".join(f"n{i}" for i in range(9)) + "\n"
    assert names("from os import *\ndef f():\n    <|>\n" + body) == []
    assert names("def f():\n    <|>\n" + body) == [f"n{i}" for i in range(MAX_NAMES)]


def test_a_cursor_at_column_zero_of_a_body_line_still_counts() -> None:
    # HumanEval's single-line holes start at the beginning of the line.
    assert names('def f(x):\n    """Doc."""\n<|>\n    return acc + x\n') == ["acc"]


def test_a_line_that_opens_a_block_prefers_a_loop_over_the_names() -> None:
    source = "def f(rows):\n    {cursor}\n{below}\n    return total\n"
    tree_text = source.format(cursor="<|>", below="        total += row")
    offset = tree_text.index("<|>")
    text = tree_text.replace("<|>", "")
    tree = spec_for_path("a.py").parser().parse(text.encode("utf-8"))
    assert opens_block(text, offset)
    assert preferred_starts(tree, text, offset) == ["for total", "for row"]
    flat = source.format(cursor="", below="    total += 1")
    assert not opens_block(flat, flat.index("\n    \n") + 5)
    # Column 0 of an empty line: the indentation comes from the line above.
    assert opens_block("def f():\n\n        x = 1\n", 9)
    assert not opens_block("def f():\n\n    x = 1\n", 9)


def test_at_column_zero_of_a_written_line_that_line_is_what_follows() -> None:
    # HumanEval's holes: the cursor at the start of the next statement's line.
    text = 'def f(xs):\n    """Doc."""\n    for x in xs:\n        acc.append(x)\n'
    offset = text.index("    for")
    assert not opens_block(text, offset)
    text = 'def f(xs):\n    """Doc."""\n        acc.append(x)\n'
    assert opens_block(text, text.index("        acc"))


def test_deeply_nested_code_does_not_overflow_the_stack() -> None:
    deep = "(" * 3000 + "1" + ")" * 3000
    assert names(f"def f():\n    <|>\n    return y + {deep}\nx = [{deep}]\n") == ["y"]


def starts(body: str) -> list[str]:
    """`preferred_starts` on a blank line at the top of a function with `body` below."""
    text = "def f(xs, n, word):\n    \n" + body
    tree = spec_for_path("a.py").parser().parse(text.encode("utf-8"))
    return preferred_starts(tree, text, text.index("\n    \n") + 5)


def test_the_first_use_below_tells_what_a_name_starts_as() -> None:
    assert starts("    total += 1\n    return total\n") == ["total = 0"]
    assert starts("    hits += (n == 3)\n    return hits\n") == ["hits = 0"]
    assert starts("    area -= n * 2.5\n    return area\n") == ["area = 0"]
    assert starts("    out += '-' + word\n    return out\n") == ['out = ""']
    assert starts("    rows.append(n)\n    return rows\n") == ["rows = []"]
    assert starts("    seen.add(n)\n    return seen\n") == ["seen = set()"]
    assert starts("    prod *= n\n    return prod\n") == ["prod = 1"]
    # Only the first use counts, and a use that says nothing leaves the name alone: a
    # name added may be a number, a string or a list.
    assert starts("    total += n\n    total += 1\n    return total\n") == ["total"]
    assert starts("    print(best)\n    best.append(1)\n") == ["best"]
    assert starts("    rows.sort()\n    return rows\n") == ["rows"]
    # A deep expression is looked into only so far (generated code), without failing.
    deep = "1 + " + " + ".join(["n"] * 3000)  # the number is 3000 operators down
    assert starts(f"    acc += {deep}\n    return acc\n") == ["acc"]
