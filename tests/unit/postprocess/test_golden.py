"""Golden cases: real patterns of bad model output, through the whole post-processing chain.

Each case is a document with the cursor at ``|``, the raw text a model produced after the
(healed) prompt, the template whose tokens may leak, the mode the cursor gets, and the exact
text that must be inserted.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from ghostline.postprocess.healing import split_trailing_whitespace
from ghostline.postprocess.mode import CompletionMode, decide_mode
from ghostline.postprocess.pipeline import postprocess_completion
from ghostline.prompts.fim import template_by_name


@dataclass(frozen=True)
class Case:
    id: str
    document: str
    raw: str
    mode: CompletionMode
    expected: str
    template: str = "qwen2.5-coder"


CASES = [
    # -- the suffix already has it --------------------------------------------------------
    Case("closing-paren-in-suffix", "print(|)\n", "x)", "single", "x"),
    Case("paren-and-colon-in-suffix", "if is_valid(|):\n    pass\n", "value):", "single", "value"),
    Case("rest-of-line-overlap", "if x % 2| == 0:\n", " == 1 or x == 0:", "single", " == 1 or x"),
    Case("call-own-parens-kept", "print(|)\n", "f(x))", "single", "f(x)"),
    Case("nested-closers-in-suffix", "values = sorted(set(|))\n", "items))", "single", "items"),
    Case("range-closer-and-colon", "for i in range(|):\n", "10):", "single", "10"),
    Case("quote-in-suffix", 'name = "|"\n', 'ghost"', "single", "ghost"),
    Case("comment-in-suffix", "timeout = |  # seconds\n", "30  # seconds", "single", "30"),
    Case(
        "line-below-repeated-multi",
        "def area(r):\n    |\n    return result\n",
        "result = 3.14159 * r * r\n    return result\n",
        "multi",
        "result = 3.14159 * r * r",
    ),
    Case(
        "line-below-repeated-single",
        "def f(xs):\n    n = len(xs)\n    |\n    return n\n",
        "return n\n",
        "single",
        "",
    ),
    # -- brackets -------------------------------------------------------------------------
    Case("unmatched-closer", "total = |\n", "price * qty)\n", "single", "price * qty"),
    Case("closer-nobody-has-kept", "print(len(|", "items))", "single", "items))"),
    Case("mismatched-closer", "xs = [1, 2, |]\n", "3)]", "single", "3"),
    # -- indentation ----------------------------------------------------------------------
    Case(
        "dedent-to-module-level",
        "def total(xs):\n    |\n",
        "s = 0\n    for x in xs:\n        s += x\n    return s\n\nprint(total([1, 2]))\n",
        "multi",
        "s = 0\n    for x in xs:\n        s += x\n    return s",
    ),
    Case(
        "js-closing-brace-and-next-function",
        "function add(a, b) {\n  |\n}\n",
        "return a + b;\n}\n\nfunction sub(a, b) {\n",
        "multi",
        "return a + b;",
    ),
    Case(
        "brace-pair-on-one-line",
        "function f() {|}\n",
        "\n  return 1;\n}\n",
        "multi",
        "\n  return 1;\n",
    ),
    Case(
        "opener-at-end-of-line",
        "def double(x):|\n",
        "\n    return 2 * x\n\n\ndef triple(x):\n",
        "multi",
        "\n    return 2 * x",
    ),
    # -- leaked tokens --------------------------------------------------------------------
    Case("fim-middle-leak", "x = |\n", "run(a)<|fim_middle|>run(a)", "single", "run(a)"),
    Case(
        "gemma-end-of-turn",
        "name = |\n",
        "'ghost'<end_of_turn>\n<start_of_turn>user",
        "single",
        "'ghost'",
        "none",
    ),
    Case("gemma-eos-as-text", "count = |\n", "0<eos>", "single", "0", "none"),
    Case(
        "endoftext-after-block",
        "def f():\n    |\n",
        "a = 1\n    return a<|endoftext|>\n# unrelated file",
        "multi",
        "a = 1\n    return a",
    ),
    Case(
        "file-sep-leak",
        "def f():\n    |\n",
        "x = 1\n    return x<|file_sep|>utils.py\nimport os\n",
        "multi",
        "x = 1\n    return x",
    ),
    Case("dangling-partial-token", "y = |\n", "x + 1<|fim", "single", "x + 1"),
    Case(
        "deepseek-end-of-sentence",
        "z = |\n",
        "a * b<｜end▁of▁sentence｜>",
        "single",
        "a * b",
        "deepseek-coder",
    ),
    # -- repetition -----------------------------------------------------------------------
    Case(
        "same-line-loop",
        "def setup():\n    |\n",
        "init()\n    init()\n    init()\n    init()\n",
        "multi",
        "init()",
    ),
    Case(
        "two-line-cycle",
        "def fill(a):\n    |\n",
        "a.append(1)\n    a.append(2)\n    a.append(1)\n    a.append(2)\n    a.append(1)",
        "multi",
        "a.append(1)\n    a.append(2)",
    ),
    # -- chat models ----------------------------------------------------------------------
    Case(
        "markdown-fence-around-code",
        "def add(a, b):\n    |\n",
        "```python\nreturn a + b\n```\nThis function adds two numbers.",
        "multi",
        "return a + b",
    ),
    Case(
        "closing-fence-only",
        "def add(a, b):\n    |\n",
        "return a + b\n```\n",
        "multi",
        "return a + b",
    ),
    # -- nothing worth showing ------------------------------------------------------------
    Case("whitespace-only-single", "x = |\n", "   \n", "single", ""),
    Case("whitespace-only-multi", "def f():\n    |\n", "\n\n\n", "multi", ""),
    Case("mid-word", "result = pri|nt(x)\n", "nt", "none", ""),
    Case("before-a-word", "x = |value\n", "compute_", "none", ""),
    # -- whitespace at the cursor ---------------------------------------------------------
    Case("healed-space-given-back", "total = |\n", " sum(xs)", "single", "sum(xs)"),
    Case("trailing-spaces-trimmed", "x = |\n", "5   ", "single", "5"),
    Case("space-kept-before-string", 'msg = |"world"\n', ' "hello, " + ', "single", '"hello, " + '),
    Case("space-dropped-before-comma", "call(a|, b)\n", " + 1 ", "single", " + 1"),
]


def split_document(document: str) -> tuple[str, str]:
    before, after = document.split("|")
    return before, after


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_golden(case: Case) -> None:
    prefix, suffix = split_document(case.document)
    lines = prefix.split("\n")
    mode = decide_mode(lines[-1], suffix.split("\n", 1)[0], lines[:-1])
    assert mode == case.mode
    _, stripped = split_trailing_whitespace(prefix)
    result = postprocess_completion(
        case.raw,
        prefix=prefix,
        suffix=suffix,
        mode=mode,
        stop_tokens=template_by_name(case.template).markers,
        stripped=stripped,
    )
    assert result == case.expected


def test_there_are_enough_golden_cases() -> None:
    assert len(CASES) >= 25
    assert len({c.id for c in CASES}) == len(CASES)
