"""Idle-time work in the real worker (the default model): a prefill fills the KV cache for
the request that follows, and any real request cancels it at once."""

from __future__ import annotations

import asyncio
import sysconfig
from pathlib import Path

import pytest

from ghostline.engine.base import Finished, GenerationRequest
from ghostline.engine.local import LocalEngine

pytestmark = pytest.mark.model

STDLIB = Path(sysconfig.get_paths()["stdlib"])


def source(name: str, chars: int) -> str:
    return (STDLIB / name).read_text(encoding="utf-8")[:chars]


async def finish(engine: LocalEngine, request: GenerationRequest) -> Finished:
    finished = None
    async for item in engine.stream(request):
        if isinstance(item, Finished):
            finished = item
    assert finished is not None
    return finished


def prefill(prompt: str) -> GenerationRequest:
    return GenerationRequest(prompt=prompt, max_tokens=0, background=True, key="idle")


async def test_a_prefilled_prompt_is_reused_by_the_request_that_follows() -> None:
    engine = LocalEngine("", context_size=2048, threads=1, self_test=False)
    try:
        prompt = source("textwrap.py", 3000)
        done = await finish(engine, prefill(prompt))
        assert done.reason == "length" and done.generated_tokens == 0
        typed = prompt + "de"
        after = await finish(engine, GenerationRequest(prompt=typed, max_tokens=1))
        # Everything but the typed tail (and the token boundary it may move) was cached.
        assert after.cached_tokens >= done.prompt_tokens - 2
        assert after.prompt_tokens - after.cached_tokens <= 4
    finally:
        await engine.close()


async def test_a_real_request_cancels_a_prefill_at_once() -> None:
    engine = LocalEngine("", context_size=2048, threads=1, self_test=False)
    try:
        await engine.start()
        prompt = source("argparse.py", 6000)  # about 1,500 tokens: seconds to read
        background = asyncio.ensure_future(finish(engine, prefill(prompt)))
        await asyncio.sleep(0.5)
        other = await finish(engine, GenerationRequest(prompt="def add(a, b):\n", max_tokens=2))
        assert other.reason in ("length", "eos", "stop")
        cancelled = await asyncio.wait_for(background, 10)
        assert cancelled.reason == "cancelled"
    finally:
        await engine.close()
