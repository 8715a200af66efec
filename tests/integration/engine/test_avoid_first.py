"""A banned first word (`GenerationRequest.avoid_first`) in the real worker and model."""

from __future__ import annotations

from dataclasses import replace

import pytest

from ghostline.engine.base import Finished, GenerationRequest
from ghostline.engine.local import LocalEngine
from ghostline.postprocess.fit import first_word

pytestmark = pytest.mark.model

# The model indents first and then writes a word: the ban must wait for the word.
PROMPT = "def area(width, height):\n    \"\"\"Area of a rectangle.\"\"\"\n"


async def line(engine: LocalEngine, request: GenerationRequest) -> str:
    text = ""
    async for item in engine.stream(request):
        if not isinstance(item, Finished):
            text += item.text
    return text


async def test_the_banned_word_is_not_the_first_after_the_indentation() -> None:
    engine = LocalEngine("", context_size=1024, threads=1, self_test=False)
    try:
        await engine.start()
        request = GenerationRequest(prompt=PROMPT, max_tokens=12, stop=["\n"])
        first = await line(engine, request)
        word = first_word(first)
        assert first.startswith("    ") and word.isidentifier(), first
        again = await line(engine, replace(request, avoid_first=[word]))
        assert again.startswith("    ") and first_word(again) != word, again
        assert await line(engine, request) == first  # the ban was for that request only
    finally:
        await engine.close()
