"""Idle-time work: one piece at a time, bounded per minute; the completer's two kinds of it
with a labelled fake engine (the real worker and server are covered in
tests/integration/engine/test_background_requests.py and tests/e2e/test_idle_prefill.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from tests.completion_fakes import FixedModel

from ghostline.engine.base import Finished, GenerationRequest, StreamItem, Token
from ghostline.engine.router import LOCAL
from ghostline.features.idle_work import IdleWork
from ghostline.features.inline_completion import IDLE_KEY, CompletionInput, InlineCompleter
from ghostline.prompts.fim import template_by_name
from ghostline.settings import Settings

SOURCE = "def area(width, height):\n    return \n"
CURSOR = SOURCE.index("return ") + len("return ")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_at_most_per_minute_pieces_start_in_a_minute() -> None:
    clock = Clock()
    work = IdleWork(per_minute=3, clock=clock)
    done: list[int] = []

    async def piece(n: int) -> None:
        done.append(n)

    for n in range(5):
        work.submit(lambda n=n: piece(n))  # type: ignore[misc]
        await work.settled()
    assert done == [0, 1, 2]
    assert work.counts == {"started": 3, "refused": 2}
    clock.now = 60.0  # a minute after the first: room again
    assert work.submit(lambda: piece(9))
    await work.settled()
    assert done[-1] == 9


async def test_a_newer_piece_cancels_the_one_running() -> None:
    work = IdleWork()
    started = asyncio.Event()
    cancelled: list[bool] = []

    async def slow() -> None:
        started.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    async def quick() -> str:
        return "quick"

    work.submit(slow)
    await started.wait()
    work.submit(quick)
    assert await work.settled() == "quick"
    assert cancelled == [True]


async def test_a_failing_piece_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    work = IdleWork()

    async def broken() -> None:
        raise RuntimeError("boom")

    work.submit(broken)
    assert await work.settled() is None
    assert "idle-time work failed" in caplog.text


class LocalFake:
    """A labelled fake of the embedded worker: answers prompts from a table, records the
    requests. Named like the local backend, since idle work is for it only."""

    name = LOCAL

    def __init__(self, answers: dict[str, str]) -> None:
        self.answers = answers
        self.requests: list[GenerationRequest] = []

    async def stream(self, request: GenerationRequest) -> AsyncIterator[StreamItem]:
        self.requests.append(request)
        if request.max_tokens == 0:
            yield Finished("length", prompt_tokens=40, cached_tokens=0)
            return
        prompt = request.prompt or ""
        for ending, answer in self.answers.items():
            if prompt.endswith(ending):
                yield Token(answer, -0.05)
                break
        yield Finished("eos", prompt_tokens=40, generated_tokens=1)


def _item(text: str = SOURCE, offset: int = CURSOR) -> CompletionInput:
    return CompletionInput(uri="file:///a.py", path="a.py", language_id="python",
                           text=text, offset=offset)


async def test_prefill_sends_the_prompt_the_request_would_send_as_background_work() -> None:
    engine = LocalFake({"return": " width * height"})
    completer = InlineCompleter(FixedModel(engine, template_by_name("qwen2.5-coder")))
    finished = await completer.prefill(_item(), Settings())
    assert finished is not None and finished.reason == "length"
    await completer.complete(_item(), Settings())
    prefill, request = engine.requests
    assert prefill.max_tokens == 0 and prefill.background and prefill.key == IDLE_KEY
    assert prefill.prompt == request.prompt and not request.background
    assert completer.model_calls == 1


async def test_the_suggestion_after_an_accepted_one_is_ready_from_the_cache() -> None:
    engine = LocalFake({"return": " width * height", "return width * height": ""})
    completer = InlineCompleter(FixedModel(engine, template_by_name("none")))
    shown = await completer.complete(_item(), Settings())
    assert shown.text == "width * height"
    ahead = await completer.complete_ahead(_item(), shown.text, Settings())
    assert ahead is not None and engine.requests[-1].background
    accepted = SOURCE[:CURSOR] + shown.text + SOURCE[CURSOR:]
    engine.answers = {"height": " + 1"}
    ahead = await completer.complete_ahead(_item(accepted, CURSOR + 1), "", Settings())
    assert ahead is None  # nothing shown: nothing to prepare
    # Typing through the first suggestion still works: the ahead work did not replace it.
    typed = await completer.complete(_item(SOURCE[:CURSOR] + "w" + SOURCE[CURSOR:], CURSOR + 1),
                                     Settings())
    assert typed.source == "typed" and typed.text == "idth * height"
    # Two idle generations: the model going on from the suggestion (it ended there), then
    # the line a user opens with Enter below it, asked afresh.
    assert completer.model_calls == 1 and completer.idle_calls == 2
    entered = engine.requests[-1].prompt or ""
    assert entered.endswith("return width * height\n")  # (the indentation goes back on the answer)


async def test_after_acceptance_the_prepared_answer_is_served_without_the_model() -> None:
    engine = LocalFake({"return": " width * height", "return width * height": " + 1"})
    completer = InlineCompleter(FixedModel(engine, template_by_name("none")))
    shown = await completer.complete(_item(), Settings())
    await completer.complete_ahead(_item(), shown.text, Settings())
    accepted = SOURCE[:CURSOR] + shown.text + SOURCE[CURSOR:]
    after = await completer.complete(_item(accepted, CURSOR + len(shown.text)), Settings())
    assert (after.source, after.text) == ("cache", " + 1")
    assert completer.model_calls == 1


async def test_no_idle_work_for_a_remote_backend() -> None:
    engine = LocalFake({})
    engine.name = "team"  # type: ignore[misc]
    completer = InlineCompleter(FixedModel(engine, template_by_name("qwen2.5-coder")))
    assert await completer.prefill(_item(), Settings()) is None
    assert await completer.complete_ahead(_item(), "x", Settings()) is None
    assert engine.requests == []
