"""GenJob end to end with a scripted model: files, imports, checks, retry, cancel."""

from __future__ import annotations

import ast
import asyncio
from pathlib import Path

import pytest

from ghostline.engine.base import GenerationRequest, ModelInfo
from ghostline.features.testgen import (
    GenerationCancelled,
    GenError,
    GenRequest,
    GenServices,
)
from ghostline.features.testgen_job import GenJob
from ghostline.index.testgen_target import Target
from ghostline.postprocess.testgen_output import syntax_errors
from ghostline.settings import Settings

from .scripted_engine import Answer, ScriptedEngine, instruct_model, lead_of

INVENTORY = '''from dataclasses import dataclass


@dataclass
class Item:
    name: str
    price: float
    quantity: int


def restock(item: Item, amount: int) -> Item:
    """Return `item` with `amount` more in stock."""
    if amount < 0:
        raise ValueError("amount must not be negative")
    return Item(item.name, item.price, item.quantity + amount)
'''
EXISTING = '''"""Tests of the inventory."""
from inventory import Item


def test_restock_adds():
    assert Item("a", 1.0, 1).quantity == 1
'''


def project(tmp_path: Path, existing: str | None = None) -> Path:
    (tmp_path / "inventory.py").write_text(INVENTORY, encoding="utf-8")
    (tmp_path / "tests").mkdir()
    if existing is not None:
        (tmp_path / "tests" / "test_inventory.py").write_text(existing, encoding="utf-8")
    return tmp_path / "inventory.py"


def read(path: Path) -> str | None:
    return path.read_text(encoding="utf-8") if path.exists() else None


def generator(tmp_path: Path, source: Path, answer: Answer, *, line: int = 11,
              language: str = "python", info: ModelInfo | None = None,
              settings: Settings | None = None, run_generated: bool = False,
              cancelled: asyncio.Event | None = None) -> tuple[GenJob, ScriptedEngine]:
    engine = ScriptedEngine(answer, info or ModelInfo(name="scripted base model"))
    services = GenServices(engine=engine, model_info=engine.info,
                            settings=settings or Settings(), read_text=read,
                            run_generated=run_generated)
    request = GenRequest(path=source, text=source.read_text(encoding="utf-8"),
                          language=language, line=line, byte_col=4, root=tmp_path)
    return GenJob(request, services, cancelled=cancelled), engine


async def test_the_prompt_shows_what_the_context_service_gives_for_the_target(
        tmp_path: Path) -> None:
    source = project(tmp_path)
    asked: list[tuple[Path, int, int, str]] = []

    def cross_file(path: Path, text: str, target: Target) -> list[tuple[str, str]]:
        asked.append((path, target.first_line, target.last_line, target.name))
        return [("shop/cart.py", "cart.total = restock(pen, 2)")]

    gen, engine = generator(tmp_path, source, good_answers)
    gen.services.cross_file = cross_file
    await gen.generate()
    lines = INVENTORY.split("\n")
    first = next(i for i, line in enumerate(lines) if line.startswith("def restock"))
    assert asked == [(source, first, asked[0][2], "restock")] and asked[0][2] > first
    assert all(r.prompt is not None and r.prompt.startswith(
        "# shop/cart.py\ncart.total = restock(pen, 2)\n\n\n# inventory.py\n")
        for r in engine.requests)


async def test_tests_are_written_when_the_context_service_fails(tmp_path: Path) -> None:
    source = project(tmp_path)

    def broken(path: Path, text: str, target: Target) -> list[tuple[str, str]]:
        raise RuntimeError("index closed")

    gen, engine = generator(tmp_path, source, good_answers)
    gen.services.cross_file = broken
    result = await gen.generate()
    assert result.tests and all(r.prompt is not None and r.prompt.startswith("# inventory.py")
                                for r in engine.requests)


def naming(request: GenerationRequest) -> bool:
    """The model is asked for a test's name only (the server writes the body's start)."""
    return "(" in request.stop


def good_answers(request: GenerationRequest) -> str:
    lead = lead_of(request)
    if naming(request):
        for ending, name in (("raises_", "on_negative_amount"), ("with_", "zero")):
            if lead.endswith(ending):
                return f"{name}():\n"
        return "adds():\n"  # also for returns_: a copy of the first test, to be dropped
    if lead.endswith("pytest.raises("):
        return "ValueError):\n        restock(Item('pen', 1.0, 1), -1)\n\n\ndef test_x"
    assert lead.endswith("assert restock(")
    if "zero():" in (request.prompt or "").rsplit("\n", 2)[-2]:
        return "Item('pen', 1.0, 1), 0) == Item('pen', 1.0, 1)\n"
    return "Item('pen', 1.0, 1), 2).quantity == 3\n\n\ndef test_"


async def test_new_file_has_imports_tests_and_parses(tmp_path: Path) -> None:
    source = project(tmp_path)
    gen, engine = generator(tmp_path, source, good_answers)
    result = await gen.generate()
    assert result.creates_file and result.plan.path == tmp_path / "tests" / "test_inventory.py"
    assert result.tests == ["test_restock_adds", "test_restock_raises_on_negative_amount",
                            "test_restock_with_zero"]
    ast.parse(result.new_text)
    assert result.new_text.startswith("from inventory import restock, Item\nimport pytest\n\n\n")
    assert "a test repeats an earlier one" in result.rejected
    assert all(r.prompt is not None and "def restock(item: Item" in r.prompt
               for r in engine.requests)
    assert result.new_text.count("\n    assert restock(Item('pen', 1.0, 1), 2)") == 1


async def test_existing_file_keeps_every_byte_and_renames_clashes(tmp_path: Path) -> None:
    source = project(tmp_path, EXISTING)
    gen, _ = generator(tmp_path, source, good_answers)
    result = await gen.generate()
    assert not result.creates_file and result.base_text == EXISTING
    assert "test_restock_adds_2" in result.tests  # the existing test_restock_adds is kept
    lines = result.new_text.split("\n")
    it = iter(lines)
    assert all(line in it for line in EXISTING.split("\n"))  # nothing lost, order kept
    assert result.new_text.startswith(
        '"""Tests of the inventory."""\nfrom inventory import Item\nfrom inventory import '
        "restock\nimport pytest\n")
    assert result.new_text.count("def test_restock_adds():") == 1
    ast.parse(result.new_text)


async def test_retry_puts_a_hint_in_the_prompt(tmp_path: Path) -> None:
    source = project(tmp_path)

    def answer(request: GenerationRequest) -> str:
        assert request.prompt is not None
        fixed = "takes 2 arguments" in request.prompt
        if naming(request):
            return "fixed(" if fixed else "bad("
        return "Item('a', 1.0, 0), 1).quantity == 1\n" if fixed else "Item('a', 1.0, 0)) is None\n"

    gen, engine = generator(tmp_path, source, answer)
    result = await gen.generate()
    assert result.tests and all("fixed" in name for name in result.tests)
    assert any("# restock takes 2 arguments (item, amount)." in (r.prompt or "")
               for r in engine.requests)


async def test_nothing_usable_is_a_clear_error(tmp_path: Path) -> None:
    source = project(tmp_path)
    gen, engine = generator(tmp_path, source,
                            lambda r: "nothing():\n    assert other_function() == 1\n")
    with pytest.raises(GenError, match="no usable test for restock"):
        await gen.generate()
    assert len(engine.requests) == 2 * 7  # name and body; one round plus the retry round


async def test_cancel_stops_the_generation(tmp_path: Path) -> None:
    source = project(tmp_path)
    cancelled = asyncio.Event()
    gen, engine = generator(tmp_path, source, good_answers, cancelled=cancelled)
    engine.on_token = lambda count: cancelled.set() if count == 3 else None
    with pytest.raises(GenerationCancelled):
        await gen.generate()
    assert len(engine.requests) == 2  # the name, then the body it stopped in


async def test_no_target_at_the_position(tmp_path: Path) -> None:
    source = project(tmp_path)
    gen, _ = generator(tmp_path, source, good_answers, line=0)
    with pytest.raises(GenError, match="no function, method or class"):
        await gen.generate()


async def test_instruction_model_gets_a_chat_request(tmp_path: Path) -> None:
    source = project(tmp_path)
    info = instruct_model()

    def answer(request: GenerationRequest) -> str:
        assert request.messages is not None and request.prompt is None
        return ("Here you go:\n```python\nimport pytest\n\n"
                "def test_restock_adds():\n    assert restock(Item('a', 1.0, 1), 1).quantity == 2\n"
                "\n@pytest.mark.parametrize('n', [1, 2])\n"
                "def test_restock_many(n):\n"
                "    assert restock(Item('a', 1.0, 0), n).quantity == n\n"
                "```\n")

    gen, engine = generator(tmp_path, source, answer, info=info)
    result = await gen.generate()
    assert result.tests == ["test_restock_adds", "test_restock_many"]
    assert len(engine.requests) == 1
    assert "@pytest.mark.parametrize('n', [1, 2])" in result.new_text
    ast.parse(result.new_text)


async def test_an_answer_lost_in_a_parametrize_list_is_asked_again_without_one(
        tmp_path: Path) -> None:
    source = project(tmp_path)
    info = instruct_model()
    endless = ("```python\nimport pytest\n\n@pytest.mark.parametrize('n, expected', [\n"
               + "".join(f"    ({n}, {n + 1}),\n" for n in range(40)))

    def answer(request: GenerationRequest) -> str:
        assert request.messages is not None
        if len(engine.requests) == 1:
            return endless  # cut off by its token limit before any test function
        assert "cut off inside a parametrize list" in request.messages[-1].content
        assert "without parametrize" in request.messages[-1].content
        return ("```python\ndef test_restock_adds():\n"
                "    assert restock(Item('a', 1.0, 1), 1).quantity == 2\n```\n")

    gen, engine = generator(tmp_path, source, answer, info=info)
    result = await gen.generate()
    assert result.tests == ["test_restock_adds"] and len(engine.requests) == 2


async def test_the_last_test_of_a_cut_answer_loses_its_cut_line(tmp_path: Path) -> None:
    source = project(tmp_path)
    info = instruct_model()
    line = "    assert restock(Item('a', 1.0, 1), 1).quantity == 2\n"
    # longer than the answer's token limit: cut in the middle of an assert
    long_test = "```python\ndef test_restock_adds():\n" + line * 100

    gen, engine = generator(tmp_path, source, lambda request: long_test, info=info)
    result = await gen.generate()
    assert result.tests == ["test_restock_adds"] and len(engine.requests) == 1
    ast.parse(result.new_text)
    assert 20 < result.new_text.count(line) < 100


async def test_typescript_vitest_file(tmp_path: Path) -> None:
    (tmp_path / "package.json").write_text('{"devDependencies": {"vitest": "^2"}}')
    source = tmp_path / "src" / "cart.ts"
    source.parent.mkdir()
    source.write_text("export function total(prices: number[]): number {\n"
                      "  return prices.reduce((a, b) => a + b, 0);\n}\n", encoding="utf-8")

    def answer(request: GenerationRequest) -> str:
        if '"' in request.stop:
            return 'sums prices", () =>'
        assert lead_of(request) == "    expect(total("
        return '[1, 2])).toBe(3);\n  });\n\n  it("x'

    gen, _ = generator(tmp_path, source, answer, line=1, language="typescript")
    result = await gen.generate()
    assert result.plan.path == tmp_path / "src" / "cart.test.ts"
    assert result.new_text == (
        'import { describe, it, expect } from "vitest";\nimport { total } from "./cart";\n\n'
        'describe("total", () => {\n  it("sums prices", () => {\n'
        "    expect(total([1, 2])).toBe(3);\n  });\n});\n")
    assert syntax_errors(result.new_text, "typescript") == []


async def test_rust_tests_go_into_the_existing_test_module(tmp_path: Path) -> None:
    source = tmp_path / "lib.rs"
    source.write_text("pub fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n\n#[cfg(test)]\n"
                      "mod tests {\n    use super::*;\n\n    #[test]\n    fn add_works() {\n"
                      "        assert_eq!(add(1, 1), 2);\n    }\n}\n", encoding="utf-8")
    original = source.read_text(encoding="utf-8")

    def answer(request: GenerationRequest) -> str:
        return "negative() {\n        assert_eq!(add(-1, -1), -2);\n    }\n"

    gen, _ = generator(tmp_path, source, answer, line=0, language="rust")
    result = await gen.generate()
    assert result.plan.in_source and result.base_text == original
    assert result.new_text.endswith(
        "    }\n\n    #[test]\n    fn add_negative() {\n        assert_eq!(add(-1, -1), -2);\n"
        "    }\n}\n")
    assert syntax_errors(result.new_text, "rust") == []


async def test_go_new_file_starts_with_the_package(tmp_path: Path) -> None:
    source = tmp_path / "cart.go"
    source.write_text("package shop\n\nfunc Total(a, b int) int {\n\treturn a + b\n}\n")

    def answer(request: GenerationRequest) -> str:
        return ("(t *testing.T) {\n\tif got := Total(1, 2); got != 3 {\n"
                '\t\tt.Errorf("got %d", got)\n\t}\n}\n')

    gen, _ = generator(tmp_path, source, answer, line=2, language="go")
    result = await gen.generate()
    assert result.new_text.startswith('package shop\n\nimport "testing"\n\nfunc TestTotal(')
    assert syntax_errors(result.new_text, "go") == []
