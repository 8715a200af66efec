"""The local window: the enclosing definition, and the prompt sized in real tokens."""

from __future__ import annotations

from ghostline.context.tokenizer import EstimateCounter
from ghostline.context.window import enclosing_definition
from ghostline.features.inline_completion import CompletionInput, build_prompt
from ghostline.index.languages import spec_for_path
from ghostline.prompts.fim import template_by_name
from ghostline.settings import Settings

COUNTER = EstimateCounter(chars_per_token=1.0)  # one token per character

PY = (
    "import os\n"
    + "".join(f"CONSTANT_{n} = {n}\n" for n in range(30))
    + "\n\nclass Shape:\n"
    "    def area(self, width: float, height: float) -> float:\n"
    '        """Area, with émoji ✓."""\n'
    "        total = width * height\n"
    "        return \n"
    "\n"
    "    def name(self) -> str:\n"
    '        return "shape"\n'
)
CURSOR = PY.index("return \n") + len("return ")


def _tree(text: str, name: str = "a.py"):  # type: ignore[no-untyped-def]
    spec = spec_for_path(name)
    assert spec is not None
    return spec.parser().parse(text.encode("utf-8"))


def test_the_innermost_definition_around_the_cursor() -> None:
    first_line, end = enclosing_definition(_tree(PY), PY, CURSOR) or (0, 0)
    assert PY.split("\n")[first_line] == "    def area(self, width: float, height: float) -> float:"
    assert PY[:end].endswith("        return ")  # the cursor line, in characters (émoji)
    assert enclosing_definition(_tree(PY), PY, PY.index("CONSTANT_3")) is None


def test_typescript_methods_and_arrow_functions() -> None:
    ts = ("export class A {\n  run(): number {\n    const f = (x: number) => {\n"
          "      return x\n    };\n    return f(1);\n  }\n}\n")
    inner = ts.index("return x") + len("return ")
    first_line, end = enclosing_definition(_tree(ts, "a.ts"), ts, inner) or (0, 0)
    assert first_line == 2 and ts[:end].endswith("}")  # the arrow function
    outer = ts.index("return f") + len("return ")
    first_line, _ = enclosing_definition(_tree(ts, "a.ts"), ts, outer) or (0, 0)
    assert first_line == 1  # the method


def _item(text: str = PY, offset: int = CURSOR) -> CompletionInput:
    return CompletionInput(uri="file:///a.py", path="a.py", language_id="python",
                           text=text, offset=offset)


def test_prompt_in_tokens_shares_the_budget_with_the_snippets() -> None:
    template = template_by_name("none")
    spec = spec_for_path("a.py")
    settings = Settings(prompt_tokens=300)
    alone, _ = build_prompt(_item(), settings, template, spec, counter=COUNTER)
    assert len(alone) <= 300
    snippet = ("lib.py", "def helper(x):\n    return x * 2\n" * 3)
    shared, _ = build_prompt(_item(), settings, template, spec, [snippet], counter=COUNTER)
    assert "helper" in shared and len(shared) <= 300
    assert len(shared.split("class Shape")[-1]) < len(alone.split("class Shape")[-1]) or \
        "CONSTANT_29" not in shared


def test_prompt_keeps_the_enclosing_definition_whole_when_it_fits() -> None:
    template = template_by_name("codellama")  # a FIM template: the suffix is in the prompt
    spec = spec_for_path("a.py")
    definition = enclosing_definition(_tree(PY), PY, CURSOR)
    # A prefix budget that holds the definition from its first line, not the line above;
    # its first line (34) is not on an anchor, so the anchored window would start below it.
    need = len(PY[PY.index("    def area") : CURSOR])
    total = next(t for t in range(need, 2 * need) if t - t // 5 >= need)
    settings = Settings(prompt_tokens=total)
    plain, _ = build_prompt(_item(), settings, template, spec, counter=COUNTER)
    kept, _ = build_prompt(_item(), settings, template, spec, counter=COUNTER,
                           definition=definition)
    assert "    def area(self" in kept  # its first line, though the anchor would cut it
    assert "    def area(self" not in plain
    suffix = kept.split(" <SUF>")[1]
    end = definition[1] if definition is not None else 0
    assert suffix.startswith(PY[CURSOR:end])  # the definition to its end, then what fits


def test_a_single_line_request_keeps_its_suffix_short_and_its_prefix_as_it_is() -> None:
    template = template_by_name("codellama")
    spec = spec_for_path("a.py")
    settings = Settings(prompt_tokens=400, line_suffix_tokens=20)
    block, _ = build_prompt(_item(), settings, template, spec, counter=COUNTER, mode="multi")
    line, _ = build_prompt(_item(), settings, template, spec, counter=COUNTER, mode="single")
    block_prefix, block_suffix = block.split(" <SUF>")
    line_prefix, line_suffix = line.split(" <SUF>")
    assert line_prefix == block_prefix  # the KV cache keeps the same prefix in either mode
    assert len(block_suffix) > 40 and 0 < len(line_suffix.split(" <MID>")[0]) <= 20
    assert block_suffix.startswith(line_suffix.split(" <MID>")[0])  # whole lines, cut
    off, _ = build_prompt(_item(), Settings(prompt_tokens=400), template, spec,
                          counter=COUNTER, mode="single")
    assert off == block  # 0: the block's share
    chars, _ = build_prompt(_item(), settings, template, spec, mode="single")
    assert len(chars.split(" <SUF>")[1].split(" <MID>")[0]) <= 20 * 3  # in characters
