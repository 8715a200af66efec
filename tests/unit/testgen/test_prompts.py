"""Prompt templates for test generation: per framework, per kind of model."""

from __future__ import annotations

from pathlib import Path

from ghostline.engine.base import ModelInfo
from ghostline.index.testgen_imports import ImportNeed
from ghostline.index.testgen_locations import GenPlan
from ghostline.index.testgen_target import GenContext, Target
from ghostline.prompts.instruct import is_instruction_model
from ghostline.prompts.testgen import (
    base_prompt,
    camel,
    chat_messages,
    snake,
    style_for,
)

ROOT = Path("/project")
TARGET = Target("restock", "restock", "function", "python", ROOT / "shop.py",
                "def restock(item, amount):\n    if amount < 0:\n        raise ValueError\n"
                "    return item + amount")


def context(existing: str | None = None, example: str = "") -> GenContext:
    plan = GenPlan("python", "pytest", ROOT / "tests" / "test_shop.py", existing is not None,
                    "shop")
    return GenContext(target=TARGET, plan=plan, existing_text=existing, example=example,
                       related=["class Item:\n    name: str"])


def test_names_convert() -> None:
    assert snake("RestockItem") == "restock_item"
    assert snake("_private") == "private"
    assert camel("restock_item") == "RestockItem"
    assert camel("restockItem", upper=False) == "restockItem"


def test_instruction_models_are_told_by_name_and_template() -> None:
    base = ModelInfo(name="Gemma 3 270m", path="/m/gemma-3-270m-q4_k_m.gguf")
    assert not is_instruction_model(base)
    it = ModelInfo(name="gemma-3-270m-it", path="/m/gemma-3-270m-it.gguf", has_chat_template=True)
    assert is_instruction_model(it)
    coder_base = ModelInfo(name="Qwen2.5 Coder 1.5B", path="/m/qwen.gguf", has_chat_template=True)
    assert not is_instruction_model(coder_base)
    chatting = ModelInfo(name="x", self_test="failed: ... (an instruction/chat model?)")
    assert is_instruction_model(chatting)
    assert not is_instruction_model(None)


def test_leads_start_with_the_target_and_try_the_error_case_early() -> None:
    style = style_for("pytest", "python", TARGET)
    assert style.leads[0] == "def test_restock_"
    assert style.leads[1] == "def test_restock_raises_"
    plain = Target("add", "add", "function", "go", ROOT / "a.go", "func add() int { return 1 }")
    go = style_for("go", "go", plain)
    assert go.leads[0] == "func TestAdd" and all("Error" not in lead for lead in go.leads)
    vitest = style_for("vitest", "typescript", plain)
    assert vitest.frame.open == 'describe("add", () => {\n' and vitest.frame.close == "});\n"


def test_base_prompt_for_a_new_file_shows_source_example_and_header() -> None:
    style = style_for("pytest", "python", TARGET)
    prompt = base_prompt(context(), style, [ImportNeed("shop", ("restock",))], ROOT)
    assert prompt.startswith("# shop.py\nclass Item:")
    assert "def restock(item, amount):" in prompt
    assert "(another test file of this project)" in prompt  # the built-in example
    assert prompt.endswith("# tests/test_shop.py\nfrom shop import restock\n\n\n")


def test_other_files_from_the_context_service_come_first_under_their_paths() -> None:
    style = style_for("pytest", "python", TARGET)
    with_others = context()
    with_others.cross_file = [("stock/item.py", "class Item:\n    quantity: int\n"),
                              ("app.py", "    total = restock(item, 3)")]
    prompt = base_prompt(with_others, style, [ImportNeed("shop", ("restock",))], ROOT)
    assert prompt.startswith("# stock/item.py\nclass Item:\n    quantity: int\n\n\n"
                             "# app.py\n    total = restock(item, 3)\n\n\n# shop.py\n")
    chat = chat_messages(with_others, style, [], ROOT, 3)[1].content
    assert "# app.py\n    total = restock(item, 3)\n```" in chat
    assert chat.index("# stock/item.py") < chat.index("Code under test (shop.py)")
    assert "other files" not in chat_messages(context(), style, [], ROOT, 3)[1].content


def test_base_prompt_for_an_existing_file_uses_it_as_example() -> None:
    style = style_for("pytest", "python", TARGET)
    existing = "from shop import Item\n\n\ndef test_item():\n    assert Item()\n"
    prompt = base_prompt(context(existing, example=existing.rstrip()), style,
                         [ImportNeed("shop", ("restock",))], ROOT, note="restock takes 2.")
    assert "another test file" not in prompt
    assert "def test_item():" in prompt
    assert prompt.endswith("    assert Item()\n\n\n# restock takes 2.\n")


def test_chat_messages_hold_the_code_and_the_rejection() -> None:
    style = style_for("pytest", "python", TARGET)
    messages = chat_messages(context(), style, [ImportNeed("shop", ("restock",))], ROOT, 3,
                             note="a test does not parse")
    assert [m.role for m in messages] == ["system", "user"]
    user = messages[1].content
    assert "Write 3 pytest unit tests in Python for `restock`" in user
    assert "from shop import restock" in user
    assert "```python\nclass Item:" in user
    assert "rejected: a test does not parse" in user
