"""Saved prompts of other files in the worker's context (the real default model)."""

from __future__ import annotations

import sysconfig
from pathlib import Path

import pytest

from ghostline.engine.base import Finished, GenerationRequest
from ghostline.engine.kv_slots import common_prefix
from ghostline.engine.local import LocalEngine

pytestmark = pytest.mark.model

STDLIB = Path(sysconfig.get_paths()["stdlib"])


def source(name: str, chars: int = 1200) -> str:
    return (STDLIB / name).read_text(encoding="utf-8")[:chars]


async def cached_tokens(engine: LocalEngine, prompt: str) -> tuple[int, int]:
    finished = None
    async for item in engine.stream(GenerationRequest(prompt=prompt, max_tokens=1)):
        if isinstance(item, Finished):
            finished = item
    assert finished is not None and finished.reason in ("length", "eos", "stop")
    return finished.prompt_tokens, finished.cached_tokens


def test_common_prefix() -> None:
    assert common_prefix([1, 2, 3], [1, 2, 4, 5]) == 2
    assert common_prefix([], [1]) == 0


async def test_switching_back_to_a_file_reuses_its_prompt() -> None:
    engine = LocalEngine("", context_size=2048, threads=1, self_test=False)
    try:
        first, second = source("textwrap.py"), source("shlex.py")
        await cached_tokens(engine, first)
        total, cached = await cached_tokens(engine, second)
        assert cached < 10  # another file: cold
        total, cached = await cached_tokens(engine, first + "\n")
        assert cached >= total - 3  # back to the first file: its prompt was kept
        total, cached = await cached_tokens(engine, second + "\n")
        assert cached >= total - 3
    finally:
        await engine.close()


async def test_a_full_context_drops_the_saved_prompts_and_still_answers() -> None:
    # 512 cells shared by sequence 0 and the slots: the third file cannot fit beside two
    # saved ones, so they are dropped and the prompt is evaluated anyway.
    engine = LocalEngine("", context_size=512, threads=1, self_test=False)
    try:
        for name in ("textwrap.py", "shlex.py", "fractions.py", "argparse.py"):
            total, cached = await cached_tokens(engine, source(name))
            assert total > 150 and cached < total
        total, cached = await cached_tokens(engine, source("argparse.py") + "\n")
        assert cached >= total - 3  # sequence 0 itself still works as a plain cache
    finally:
        await engine.close()
