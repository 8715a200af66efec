"""coldBudgetMs: a cold prompt gets a window the model reads within the budget (the speed
learnt from earlier requests); a labelled fake engine plays the local worker."""

from __future__ import annotations

from collections.abc import AsyncIterator

from tests.completion_fakes import FixedModel

from ghostline.engine.base import Finished, GenerationRequest, StreamItem, Token
from ghostline.features.cold_window import MIN_COLD_TOKENS, ColdWindow
from ghostline.features.inline_completion import CompletionInput, InlineCompleter
from ghostline.prompts.fim import template_by_name
from ghostline.settings import Settings


def test_speed_is_learnt_only_from_requests_that_read_enough() -> None:
    cold = ColdWindow()
    cold.measured(Finished("eos", prompt_tokens=500, cached_tokens=490, first_token_s=0.1))
    assert cold.prompt_tps is None  # 10 tokens say nothing
    cold.measured(Finished("eos", prompt_tokens=400, cached_tokens=0, first_token_s=2.0))
    assert cold.prompt_tps == 200.0
    assert cold.tokens_within(1500, 768) == int(200 * 1.35)
    assert cold.tokens_within(0, 768) is None  # off
    assert cold.tokens_within(10_000, 768) is None  # the whole window fits
    assert cold.tokens_within(100, 768) == MIN_COLD_TOKENS


def test_a_prompt_is_cold_when_it_shares_little_with_recent_ones() -> None:
    cold = ColdWindow()
    head = "import os\n" * 50
    assert cold.is_cold(head + "x = 1\n")
    cold.sent(head + "x = 1\n")
    assert not cold.is_cold(head + "x = 2\n")
    assert cold.is_cold("something else entirely\n" * 30)


class TimedFake:
    """A labelled fake of the local worker: reads 100 prompt tokens a second (a prompt of
    N characters counts N // 3 tokens) and records the prompts."""

    name = "local"

    def __init__(self) -> None:
        self.prompts: list[str] = []

    async def stream(self, request: GenerationRequest) -> AsyncIterator[StreamItem]:
        prompt = request.prompt or ""
        self.prompts.append(prompt)
        tokens = len(prompt) // 3
        yield Token(" 1", -0.05)
        yield Finished("eos", prompt_tokens=tokens, cached_tokens=0,
                       first_token_s=tokens / 100, generated_tokens=1)


def _item(name: str, lines: int) -> CompletionInput:
    text = "".join(f"{name}_{i} = {i}\n" for i in range(lines)) + f"{name} = "
    return CompletionInput(uri=f"file:///{name}.py", path=f"{name}.py", language_id="python",
                           text=text, offset=len(text))


async def test_a_cold_prompt_after_the_speed_is_known_gets_a_smaller_window() -> None:
    engine = TimedFake()
    completer = InlineCompleter(FixedModel(engine, template_by_name("none")))
    settings = Settings(prompt_tokens=768, cold_budget_ms=1500)
    first = await completer.complete(_item("alpha", 400), settings)
    assert "cold_window_tokens" not in first.timings  # the speed was unknown
    second = await completer.complete(_item("beta", 400), settings)
    assert second.timings["cold_window_tokens"] == int(100 * 1.35)
    assert len(engine.prompts[1]) < len(engine.prompts[0]) / 3
    # The same file again shares its prompt with a recent one: the full window.
    third = await completer.complete(_item("alpha", 401), settings)
    assert "cold_window_tokens" not in third.timings


async def test_no_cold_window_when_the_budget_is_off() -> None:
    engine = TimedFake()
    completer = InlineCompleter(FixedModel(engine, template_by_name("none")))
    settings = Settings(prompt_tokens=768, cold_budget_ms=0)
    await completer.complete(_item("alpha", 400), settings)
    second = await completer.complete(_item("beta", 400), settings)
    assert "cold_window_tokens" not in second.timings
    assert len(engine.prompts[1]) > len(engine.prompts[0]) * 0.9


def test_a_prefill_in_progress_counts_for_what_it_has_read(monkeypatch: object) -> None:
    import ghostline.features.cold_window as cold_window

    now = [100.0]
    monkeypatch.setattr(cold_window.time, "monotonic", lambda: now[0])  # type: ignore[attr-defined]
    cold = ColdWindow()
    cold.prompt_tps = 100.0
    prompt = "def f():\n" * 200
    cold.reading(prompt)
    now[0] += 1.0  # 100 of 768 tokens read: the rest takes 6.7 s, over the budget
    assert cold.window_tokens(prompt + "x", 1500, 768) == int(100 * 1.35)
    now[0] += 6.0  # 700 read: the rest fits
    assert cold.window_tokens(prompt + "x", 1500, 768) is None
    cold.reading(None)
    assert cold.window_tokens(prompt + "x", 1500, 768) == int(100 * 1.35)
