"""Instruction prompts: chat formatting and completion-style prompts for base models.

Instruction models get their own chat template (the GGUF's ``tokenizer.chat_template``,
rendered in a Jinja sandbox); without one, a plain transcript. Base models (the default
Gemma 3 270M) follow instructions poorly but continue text well, so features give them the
code, the instruction as a comment and the first words of the answer.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from ghostline.engine.base import ModelInfo

from .text import comment_out

__all__ = ["completion_prompt", "extract_code", "format_chat", "is_instruction_model"]

log = logging.getLogger(__name__)

_ROLE_NAMES = {"system": "System", "user": "User", "assistant": "Assistant"}
_INSTRUCT_WORDS = re.compile(r"(?:^|[-_ .])(?:it|instruct|chat|sft|dpo|rlhf)(?:$|[-_ .])", re.I)
_FENCED = re.compile(r"```[\w+#.-]*[ \t]*\n(.*?)(?:\n```|\Z)", re.DOTALL)


def format_chat(
    messages: Sequence[Mapping[str, str]],
    chat_template: str | None = None,
    *,
    bos_token: str = "",
    eos_token: str = "",
    add_generation_prompt: bool = True,
) -> str:
    """Prompt text for ``messages`` (``{"role": ..., "content": ...}``).

    With ``chat_template`` (Jinja, as GGUF files carry it) the template is rendered; if it
    is missing or fails to render, a plain ``User: ...`` / ``Assistant:`` transcript is used.
    """
    if chat_template:
        try:
            return _render(chat_template, messages, bos_token, eos_token, add_generation_prompt)
        except Exception as exc:  # a template written for another engine's Jinja dialect
            log.warning("chat template failed to render (%s); using plain text", exc)
    turns = [
        f"{_ROLE_NAMES.get(m['role'], m['role'].capitalize())}: {m['content'].strip()}"
        for m in messages
    ]
    if add_generation_prompt:
        turns.append("Assistant:")
    return "\n\n".join(turns)


def _render(
    template: str,
    messages: Sequence[Mapping[str, str]],
    bos_token: str,
    eos_token: str,
    add_generation_prompt: bool,
) -> str:
    from jinja2.sandbox import ImmutableSandboxedEnvironment  # llama-cpp-python needs it too

    def raise_exception(message: str) -> None:
        raise ValueError(message)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.globals["raise_exception"] = raise_exception
    return env.from_string(template).render(
        messages=[dict(m) for m in messages],
        bos_token=bos_token,
        eos_token=eos_token,
        add_generation_prompt=add_generation_prompt,
    )


def completion_prompt(
    context: str, *, instruction: str = "", lead_in: str = "", line_comment: str = "#"
) -> str:
    """A prompt a base model answers by continuing it: the ``context`` code, the
    ``instruction`` as comment lines, then ``lead_in`` (the first words of the answer,
    e.g. ``"def test_"``)."""
    parts = [context.rstrip("\n") + "\n\n"] if context.strip() else []
    if instruction.strip():
        parts.append(comment_out(instruction, line_comment))
    parts.append(lead_in)
    return "".join(parts)


def extract_code(answer: str, wanted: re.Pattern[str] | None = None) -> str:
    """The first fenced code block of a chat answer (with ``wanted``: the first one where
    it matches, else the first), or the whole answer without fences. A model may first
    repeat the code it was shown and put its answer in a later block."""
    blocks = [match.group(1) for match in _FENCED.finditer(answer)]
    if not blocks:
        return answer.strip("\n")
    if wanted is not None:
        for block in blocks:
            if wanted.search(block):
                return block
    return blocks[0]


def is_instruction_model(info: ModelInfo | None) -> bool:
    """Chat prompts for instruction-tuned models, completion prompts for base models.

    A chat template alone does not tell (some base GGUFs carry one); the name or the
    fine-tune tag must say so, or the self-test must have caught the model chatting.
    """
    if info is None:
        return False
    if "instruction/chat model" in info.self_test:
        return True
    tags = " ".join(
        str(info.metadata.get(k, "")) for k in ("general.name", "general.finetune",
                                                 "general.basename")
    )
    named = bool(_INSTRUCT_WORDS.search(f"{info.name} {tags} {Path(info.path).stem}"))
    return named and (info.has_chat_template or not info.path)
