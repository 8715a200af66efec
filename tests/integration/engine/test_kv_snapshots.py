"""Saved prompts of other files, restored into the worker's context (the real default model)."""

from __future__ import annotations

import sysconfig
from pathlib import Path

import pytest

from ghostline.engine.base import Finished, GenerationRequest
from ghostline.engine.kv_snapshots import SNAPSHOTS, common_prefix
from ghostline.engine.local import LocalEngine

pytestmark = pytest.mark.model

STDLIB = Path(sysconfig.get_paths()["stdlib"])


def source(name: str, chars: int = 1200) -> str:
    return (STDLIB / name).read_text(encoding="utf-8")[:chars]


async def generate(engine: LocalEngine, prompt: str, max_tokens: int = 1
                   ) -> tuple[int, int, str]:
    """(prompt tokens, tokens reused from the cache, generated text) of one request."""
    finished = None
    text = ""
    async for item in engine.stream(GenerationRequest(prompt=prompt, max_tokens=max_tokens)):
        if isinstance(item, Finished):
            finished = item
        else:
            text += item.text
    assert finished is not None and finished.reason in ("length", "eos", "stop")
    return finished.prompt_tokens, finished.cached_tokens, text


async def cached_tokens(engine: LocalEngine, prompt: str) -> tuple[int, int]:
    total, cached, _ = await generate(engine, prompt)
    return total, cached


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


async def test_the_least_recently_used_file_is_forgotten_first() -> None:
    engine = LocalEngine("", context_size=2048, threads=1, self_test=False)
    names = ["textwrap.py", "shlex.py", "fractions.py", "argparse.py", "ipaddress.py",
             "configparser.py"][: SNAPSHOTS + 2]
    try:
        for name in names:
            total, cached = await cached_tokens(engine, source(name))
            assert cached < 10
        # The last file is in the context itself, the SNAPSHOTS before it are saved.
        total, cached = await cached_tokens(engine, source(names[-SNAPSHOTS - 1]) + "\n")
        assert cached >= total - 3
        total, cached = await cached_tokens(engine, source(names[0]) + "\n")
        assert cached < 10  # the oldest was dropped
    finally:
        await engine.close()


async def test_a_restored_prompt_answers_exactly_like_plain_reuse() -> None:
    """Restored cells are the saved bytes: the same greedy text and the same reuse as when
    the context never left the file."""
    first, second = source("textwrap.py", 2000), source("shlex.py", 2000)
    edited = first + "\n\ndef"
    stayed = LocalEngine("", context_size=2048, threads=1, self_test=False)
    switched = LocalEngine("", context_size=2048, threads=1, self_test=False)
    try:
        await generate(stayed, first)
        plain = await generate(stayed, edited, max_tokens=12)
        await generate(switched, first)
        await generate(switched, second)
        restored = await generate(switched, edited, max_tokens=12)
        assert restored == plain
        assert plain[1] > plain[0] - 10 and plain[2]
    finally:
        await stayed.close()
        await switched.close()


async def logprobs(engine: LocalEngine, prompt: str, reuse_cache: bool) -> tuple[int, list[float]]:
    """(tokens reused from the cache, logprobs of 8 greedy tokens) of one request."""
    found: list[float] = []
    cached = -1
    request = GenerationRequest(prompt=prompt, max_tokens=8, reuse_cache=reuse_cache)
    async for item in engine.stream(request):
        if isinstance(item, Finished):
            cached = item.cached_tokens
        elif item.logprob is not None:
            found.append(item.logprob)
    return cached, found


async def test_without_cache_reuse_a_prompt_is_computed_as_in_a_new_context() -> None:
    """How a prompt is split between cached and new tokens changes the logits; with
    `reuse_cache=False` the answer does not depend on the requests before it."""
    engine = LocalEngine("", context_size=2048, threads=1, self_test=False)
    try:
        prompt = source("textwrap.py", 1500)
        cached, fresh = await logprobs(engine, prompt, reuse_cache=True)
        assert cached <= 1 and len(fresh) == 8  # the first request: a new context
        await generate(engine, source("shlex.py"), max_tokens=4)  # an unrelated prompt
        await generate(engine, prompt[:700], max_tokens=4)  # shares the prompt's first half
        cached, again = await logprobs(engine, prompt, reuse_cache=False)
        assert cached == 0
        assert again == fresh
    finally:
        await engine.close()
