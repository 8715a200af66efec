"""The completion pipeline with a labelled fake engine (the real model is covered in e2e)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

from tests.completion_fakes import FakeContext, FixedModel

from ghostline.engine.base import Finished, GenerationRequest, StreamItem, Token
from ghostline.features.inline_completion import (
    FIT_RETRIES,
    NAMES_BELOW_BIAS,
    CompletionInput,
    InlineCompleter,
    _steered,
)
from ghostline.postprocess.fit import BLOCK_KEYWORDS
from ghostline.prompts.fim import template_by_name
from ghostline.settings import Settings

SOURCE = (
    "def area(width: float, height: float) -> float:\n"
    '    """Area of a rectangle."""\n'
    "    return \n"
)
CURSOR = SOURCE.index("return ") + len("return ")


class FakeEngine:
    """Replays scripted token lists; records the requests it got."""

    name = "fake"

    def __init__(self, *scripts: list[str], logprob: float = -0.05) -> None:
        self.scripts = list(scripts)
        self.requests: list[GenerationRequest] = []
        self.closed_early = 0
        self.logprob = logprob

    async def stream(self, request: GenerationRequest) -> AsyncIterator[StreamItem]:
        self.requests.append(request)
        script = self.scripts.pop(0)
        finished = False
        try:
            for piece in script:
                yield Token(piece, self.logprob)
            finished = True
            yield Finished("eos", prompt_tokens=10, generated_tokens=len(script))
        finally:
            if not finished:
                self.closed_early += 1


def _completer(engine: FakeEngine) -> InlineCompleter:
    return InlineCompleter(FixedModel(engine, template_by_name("none")))


def _input(text: str = SOURCE, offset: int = CURSOR) -> CompletionInput:
    return CompletionInput(uri="file:///a.py", path="a.py", language_id="python",
                           text=text, offset=offset)


async def test_single_line_stops_at_end_of_line_and_closes_the_stream() -> None:
    engine = FakeEngine([" width", " * height", "\n", "    print(1)\n"])
    outcome = await _completer(engine).complete(_input(), Settings())
    assert outcome.text == "width * height"
    assert outcome.mode == "single" and outcome.source == "model"
    assert engine.closed_early == 1  # the generation was cancelled once the line ended
    assert engine.requests[0].prompt is not None
    assert engine.requests[0].prompt.endswith("return")  # clean token boundary


async def test_the_prompt_writes_the_documents_path_as_shown_path_gives_it() -> None:
    async def context(item: CompletionInput, settings: Settings) -> list[tuple[str, str]]:
        return [("lib/shapes.py", "def scale(): ...")]

    engine = FakeEngine(["width * height"])
    completer = InlineCompleter(
        FixedModel(engine, template_by_name("none")),
        FakeContext(context, shown=lambda path: "src/" + Path(path).name))
    item = replace(_input(), path="/home/someone/project/src/a.py")
    await completer.complete(item, Settings())
    prompt = engine.requests[0].prompt or ""
    assert "# Path: lib/shapes.py\n" in prompt and "# Path: src/a.py\n" in prompt
    assert "/home/someone" not in prompt


async def test_typing_through_and_cache_do_not_call_the_model() -> None:
    engine = FakeEngine([" width * height"])
    completer = _completer(engine)
    await completer.complete(_input(), Settings())
    typed = SOURCE[:CURSOR] + "wi" + SOURCE[CURSOR:]
    outcome = await completer.complete(_input(typed, CURSOR + 2), Settings())
    assert (outcome.source, outcome.text) == ("typed", "dth * height")
    again = await completer.complete(_input(), Settings())
    assert (again.source, again.text) == ("cache", "width * height")
    assert len(engine.requests) == 1


async def test_mid_word_asks_nothing() -> None:
    engine = FakeEngine()
    text = "value = compute_total(x)\n"
    outcome = await _completer(engine).complete(_input(text, text.index("total")), Settings())
    assert outcome.mode == "none" and outcome.text == ""
    assert engine.requests == []


async def test_low_confidence_is_suppressed() -> None:
    engine = FakeEngine([" width * height"], logprob=-3.0)
    outcome = await _completer(engine).complete(_input(), Settings(min_confidence=0.5))
    assert outcome.text == "" and "confidence" in outcome.reason


async def test_leaked_template_tokens_never_reach_the_user() -> None:
    engine = FakeEngine([" width * height", "<end_of_turn>", "junk"])
    completer = InlineCompleter(
        FixedModel(engine, template_by_name("none"), ["<end_of_turn>", "<eos>"]))
    outcome = await completer.complete(_input(), Settings())
    assert outcome.text == "width * height"


async def test_newest_request_carries_the_document_key() -> None:
    engine = FakeEngine([" 1"])
    await _completer(engine).complete(_input(), Settings())
    assert engine.requests[0].key == "file:///a.py"


async def test_known_members_replace_the_snippets_and_names_below_are_preferred() -> None:
    """After ``receiver.`` with members the context provider is not asked; on a new line
    the names the code below needs go to the engine with the softer bonus."""
    asked: list[str] = []

    async def context(item: CompletionInput, settings: Settings) -> list[tuple[str, str]]:
        asked.append(item.text[: item.offset].rsplit("\n", 1)[-1])
        return [("other.py", "def helper(): pass\n")]

    engine = FakeEngine(["rows"], ["total = 0"])
    completer = InlineCompleter(FixedModel(engine, template_by_name("none")),
                                FakeContext(context, members=lambda item: ["rows", "clear"]))
    text = "class Ledger:\n    def size(self):\n        return self.\n"
    await completer.complete(_input(text, text.index("self.") + 5), Settings())
    assert asked == [] and engine.requests[0].preferred_first == ["rows", "clear"]
    assert engine.requests[0].preferred_bias is None  # the worker's constraint

    text = "def f(xs):\n    \n    for x in xs:\n        total += x\n    return total\n"
    plain = InlineCompleter(FixedModel(engine, template_by_name("none")), FakeContext(context))
    await plain.complete(_input(text, text.index("\n    \n") + 5), Settings())
    assert asked == ["    "]
    assert engine.requests[1].preferred_first == ["total"]
    assert engine.requests[1].preferred_bias == NAMES_BELOW_BIAS


async def test_a_bound_name_the_block_never_reads_becomes_the_one_it_reads() -> None:
    engine = FakeEngine([" ValueError as e:"])
    text = ("import logging\ndef f(x):\n    try:\n        x()\n    except \n"
            "        logging.warning(problem)\n")
    outcome = await _completer(engine).complete(
        _input(text, text.index("except ") + 7), Settings())
    assert outcome.text == "ValueError as problem:"
    engine = FakeEngine([" ValueError as e:"])
    outcome = await _completer(engine).complete(
        _input(text, text.index("except ") + 7), Settings(names_below_bias=False))
    assert outcome.text == "ValueError as e:"  # the setting turns it off


LOOP_BODY = "def total(xs):\n    t = 0\n\n        t += x\n    return t\n"
LOOP_CURSOR = LOOP_BODY.index("\n\n") + 1


class LocalFakeEngine(FakeEngine):
    """The fake, named as the embedded worker (the only engine that applies token bans)."""

    name = "local"


async def test_a_line_that_cannot_stand_above_the_code_below_is_asked_for_again() -> None:
    engine = LocalFakeEngine(["    return t\n"], ["    for x in xs:\n"])
    outcome = await _completer(engine).complete(_input(LOOP_BODY, LOOP_CURSOR), Settings())
    assert outcome.text == "    for x in xs:"
    assert engine.requests[0].avoid_first is None
    retry = engine.requests[1]
    assert retry.avoid_first == ["return", "#"]  # not the same line, and not a comment
    # The deeper code below needs a block header; what binds the name it reads is a loop.
    assert retry.preferred_first == ["for x"] and retry.preferred_bias == NAMES_BELOW_BIAS

    counted = "def f(xs):\n    t = 0\n\n        t += 1\n    return t\n"  # no name missing
    engine = LocalFakeEngine(["    return t\n"], ["    for x in xs:\n"])
    await _completer(engine).complete(_input(counted, counted.index("\n\n") + 1), Settings())
    assert engine.requests[1].preferred_first == list(BLOCK_KEYWORDS)


def test_a_header_retry_leans_toward_loops_over_the_names_without_their_values() -> None:
    request = GenerationRequest(prompt="p", preferred_first=["total = 0", "for row"])
    retry = _steered(request, ["return"], "needs a block header")
    assert retry.preferred_first == ["for total", "for row"]


async def test_a_block_header_that_would_take_over_the_next_clause_is_steered_away() -> None:
    text = "def f(xs):\n    if xs:\n        t = 0\n\n    else:\n        t = 1\n"
    engine = LocalFakeEngine(["    if t:\n"], ["    # sum them\n"], ["        t = sum(xs)\n"])
    outcome = await _completer(engine).complete(_input(text, text.index("\n\n") + 1),
                                                Settings())
    assert outcome.text == "        t = sum(xs)"  # the comment was no answer
    avoided = engine.requests[1].avoid_first or []
    assert avoided[:2] == ["if", "#"] and set(avoided) == {"#", *BLOCK_KEYWORDS}
    assert engine.requests[2].avoid_first is not None
    assert engine.requests[2].avoid_first[:2] == ["if", "#"]


async def test_when_no_try_fits_the_first_choice_is_kept() -> None:
    engine = LocalFakeEngine(["    return t\n"], ["    print(t)\n"], ["    t = 1\n"])
    outcome = await _completer(engine).complete(_input(LOOP_BODY, LOOP_CURSOR), Settings())
    assert outcome.text == "    return t"
    assert [r.avoid_first for r in engine.requests] == [
        None, ["return", "#"], ["return", "print", "#"]]
    assert len(engine.requests) == 1 + FIT_RETRIES


async def test_no_second_try_without_token_bans_or_with_the_setting_off() -> None:
    remote = FakeEngine(["    return t\n"])
    assert (await _completer(remote).complete(_input(LOOP_BODY, LOOP_CURSOR), Settings())
            ).text == "    return t"
    local = LocalFakeEngine(["    return t\n"])
    off = Settings(fit_code_below=False)
    assert (await _completer(local).complete(_input(LOOP_BODY, LOOP_CURSOR), off)
            ).text == "    return t"
    assert len(remote.requests) == len(local.requests) == 1


class SlowFakeEngine(LocalFakeEngine):
    """Every stream ends on the time limit."""

    async def stream(self, request: GenerationRequest) -> AsyncIterator[StreamItem]:
        self.requests.append(request)
        for piece in self.scripts.pop(0):
            yield Token(piece, self.logprob)
        yield Finished("time", prompt_tokens=10)


async def test_a_line_cut_by_the_time_limit_gets_no_second_try() -> None:
    engine = SlowFakeEngine(["    return t"], ["    for x in xs:"])
    outcome = await _completer(engine).complete(_input(LOOP_BODY, LOOP_CURSOR), Settings())
    assert outcome.text == "    return t" and len(engine.requests) == 1


async def test_a_template_without_context_asks_no_snippets_and_gives_the_window_all() -> None:
    """A model that other files' code does not help (`uses_context` off: the 0.5B Qwen)
    is asked with the local window alone; the same template with it on shows them."""
    asked: list[str] = []

    async def context(item: CompletionInput, settings: Settings) -> list[tuple[str, str]]:
        asked.append(item.path)
        return [("other.py", "def helper_zq():\n    pass\n")]

    qwen = template_by_name("qwen")
    engine = FakeEngine([" width * height"], [" width * height"])
    with_context = InlineCompleter(FixedModel(engine, qwen), FakeContext(context))
    await with_context.complete(_input(), Settings())
    without = InlineCompleter(FixedModel(engine, replace(qwen, uses_context=False)),
                              FakeContext(context))
    await without.complete(_input(), Settings())
    assert asked == ["a.py"]
    assert "helper_zq" in (engine.requests[0].prompt or "")
    assert "helper_zq" not in (engine.requests[1].prompt or "")
