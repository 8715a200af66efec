"""The suggestions after an accepted one, from the model's continuation (a labelled fake
engine; the real worker and server: tests/e2e/test_idle_prefill.py)."""

from __future__ import annotations

from tests.completion_fakes import FixedModel

from ghostline.features.inline_completion import CompletionInput, InlineCompleter
from ghostline.features.next_line import (
    Continuation,
    Generated,
    continuation_done,
    split_continuation,
)
from ghostline.prompts.fim import template_by_name
from ghostline.settings import Settings

from .test_idle_work import LocalFake

QWEN = template_by_name("qwen2.5-coder")
MIDDLE = "<|fim_middle|>"
SOURCE = "def area(width, height):\n    result = \n\n\nprint(area(2, 3))\n"
CURSOR = SOURCE.index("result = ") + len("result = ")


def _item(text: str = SOURCE, offset: int = CURSOR) -> CompletionInput:
    return CompletionInput(uri="file:///a.py", path="a.py", language_id="python",
                           text=text, offset=offset)


def test_the_continuation_gives_the_rest_of_the_line_and_the_whole_line_below() -> None:
    assert split_continuation("\n    return result\n") == Continuation("", "    ", "return result")
    assert split_continuation(" + 1\n    return") == Continuation(" + 1")
    assert split_continuation("\n    return res") == Continuation("")  # cut: no next line
    # The model ended its text after the line below: that line is whole.
    assert split_continuation("\n    return res", ended=True) == Continuation("", "    ",
                                                                             "return res")
    assert split_continuation("\n\n") == Continuation("")  # a blank line below
    assert not continuation_done("\n    return res")
    assert not continuation_done(" + 1")
    assert continuation_done("\n\n")  # a blank line below: nothing more to wait for
    assert continuation_done("\n    return result\n")
    assert continuation_done(" + 1\n")


def test_a_generation_leads_on_only_where_the_suggestion_is_the_models_text() -> None:
    made = Generated("<prompt>", " width * height", "x = ", "\nrest", "width * height")
    assert made.leads_to("x = ", "\nrest", "width * height")
    assert made.leads_to("x = wid", "\nrest", "th * height")  # typed through part of it
    assert not made.leads_to("x = ", "\nother", "width * height")
    assert not made.leads_to("x = ", ")\nrest", "width * height")  # not at the line's end
    cleaned = Generated("<prompt>", " width * height  # area", "x = ", "\n", "width * height")
    assert not cleaned.leads_to("x = ", "\n", "width * height")
    assert made.continuation_prompt == "<prompt> width * height"


async def test_after_a_suggestion_the_next_line_is_ready_without_asking_the_model_again(
        ) -> None:
    engine = LocalFake({MIDDLE: " width * height",
                        MIDDLE + " width * height": "\n    return result\n"})
    completer = InlineCompleter(FixedModel(engine, QWEN))
    shown = await completer.complete(_item(), Settings())
    assert shown.text == "width * height"
    first_prompt = engine.requests[0].prompt or ""
    ahead = await completer.complete_ahead(_item(), shown.text, Settings())
    assert ahead is not None and ahead.text == ""  # the model ended the line there
    continued = engine.requests[-1]
    assert continued.background and continued.prompt == first_prompt + " width * height"
    assert completer.idle_calls == 1

    accepted = SOURCE[:CURSOR] + shown.text + SOURCE[CURSOR:]
    end_of_line = CURSOR + len(shown.text)
    at_end = await completer.complete(_item(accepted, end_of_line), Settings())
    assert (at_end.source, at_end.text) == ("cache", "")
    entered = accepted[:end_of_line] + "\n    " + accepted[end_of_line:]
    below = await completer.complete(_item(entered, end_of_line + 5), Settings())
    assert (below.source, below.text) == ("cache", "return result")
    assert completer.model_calls == 1 and len(engine.requests) == 2


async def test_a_suggestion_cleanup_changed_is_asked_afresh_at_the_accepted_place() -> None:
    engine = LocalFake({MIDDLE: " width * height   "})
    completer = InlineCompleter(FixedModel(engine, QWEN))
    shown = await completer.complete(_item(), Settings())
    assert shown.text == "width * height"  # the trailing spaces were cleaned off
    await completer.complete_ahead(_item(), shown.text, Settings())
    afresh = engine.requests[-1].prompt or ""
    assert afresh.endswith(MIDDLE) and "result = width * height" + "<|fim_suffix|>" in afresh


async def test_after_a_block_opener_the_block_is_ready_at_the_line_end_and_after_enter() -> None:
    source = "def sign(x):\n    if \n\n\nprint(sign(1))\n"
    cursor = source.index("if ") + len("if ")
    engine = LocalFake({MIDDLE: " x > 0:",
                        MIDDLE + " x > 0:": "\n        return 1\n    return 0\n"})
    completer = InlineCompleter(FixedModel(engine, QWEN))
    shown = await completer.complete(_item(source, cursor), Settings())
    assert shown.text == "x > 0:"
    ahead = await completer.complete_ahead(_item(source, cursor), shown.text, Settings())
    assert ahead is not None and ahead.mode == "multi"
    assert ahead.text == "\n        return 1"  # the block ends where the model dedents
    accepted = source[:cursor] + shown.text + source[cursor:]
    end_of_line = cursor + len(shown.text)
    # Enter straight after accepting (the end-of-line suggestion never shown).
    entered = accepted[:end_of_line] + "\n        " + accepted[end_of_line:]
    below = await completer.complete(_item(entered, end_of_line + 9), Settings())
    assert (below.source, below.text) == ("cache", "return 1")
    at_end = await completer.complete(_item(accepted, end_of_line), Settings())
    assert (at_end.source, at_end.text) == ("cache", "\n        return 1")
    assert completer.model_calls == 1
