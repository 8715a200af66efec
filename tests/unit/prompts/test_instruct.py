"""Chat formatting with real GGUF chat templates, the plain fallback, base-model prompts."""

from __future__ import annotations

import re

from ghostline.prompts.instruct import completion_prompt, extract_code, format_chat

# Qwen2's template as its GGUF carries it (llama.cpp's vocab test file).
CHATML = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful assistant<|im_end|>\n' }}{% endif %}"
    "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
# Gemma's template (abridged to its turn logic), which raises on a bad role order.
GEMMA = (
    "{{ bos_token }}{% for message in messages %}"
    "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}"
    "{% endif %}{% set role = 'model' if message['role'] == 'assistant' else message['role'] %}"
    "{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\n'}}{% endif %}"
)
USER = [{"role": "user", "content": "Write a docstring."}]


def test_chatml_template() -> None:
    assert format_chat(USER, CHATML) == (
        "<|im_start|>system\nYou are a helpful assistant<|im_end|>\n"
        "<|im_start|>user\nWrite a docstring.<|im_end|>\n"
        "<|im_start|>assistant\n"
    )


def test_gemma_template_with_bos() -> None:
    text = format_chat(USER, GEMMA, bos_token="<bos>")
    assert text == (
        "<bos><start_of_turn>user\nWrite a docstring.<end_of_turn>\n<start_of_turn>model\n"
    )


def test_template_that_raises_falls_back_to_plain_text() -> None:
    messages = [{"role": "assistant", "content": "Hi"}, {"role": "user", "content": "Go"}]
    assert format_chat(messages, GEMMA) == "Assistant: Hi\n\nUser: Go\n\nAssistant:"


def test_plain_transcript_without_template() -> None:
    messages = [{"role": "system", "content": "Be brief. "}, *USER]
    expected = "System: Be brief.\n\nUser: Write a docstring.\n\nAssistant:"
    assert format_chat(messages, None) == expected
    assert format_chat(USER, "", add_generation_prompt=False) == "User: Write a docstring."


def test_sandbox_blocks_attribute_tricks() -> None:
    evil = "{{ messages.__class__.__mro__ }}"
    assert format_chat(USER, evil) == "User: Write a docstring.\n\nAssistant:"


def test_completion_prompt_for_base_models() -> None:
    prompt = completion_prompt(
        "def add(a, b):\n    return a + b\n",
        instruction="Tests for add.\n\nUse pytest.",
        lead_in="def test_",
    )
    assert prompt == (
        "def add(a, b):\n    return a + b\n\n# Tests for add.\n#\n# Use pytest.\ndef test_"
    )
    assert completion_prompt("", instruction="x", line_comment="//") == "// x\n"


def test_extract_code() -> None:
    answer = "Sure! Here it is:\n```python\ndef f():\n    pass\n```\nHope that helps."
    assert extract_code(answer) == "def f():\n    pass"
    assert extract_code("```\nx = 1") == "x = 1"  # unterminated fence
    assert extract_code("\nplain code\n") == "plain code"


def test_extract_code_takes_the_block_that_holds_the_answer() -> None:
    answer = ("The function:\n```python\ndef f(x):\n    return x\n```\nTests:\n"
              "```python\ndef test_f():\n    assert f(1) == 1\n```\n")
    wanted = re.compile(r"^def test_", re.M)
    assert extract_code(answer, wanted) == "def test_f():\n    assert f(1) == 1"
    assert extract_code(answer) == "def f(x):\n    return x"  # no pattern: the first block
    assert extract_code("```python\ndef g():\n    pass\n```", wanted) == "def g():\n    pass"
