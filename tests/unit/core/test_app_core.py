"""The application core without a server: its wiring, its model facts, what it tells the
user (labelled fake engines; the real model is covered in e2e)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

from ghostline.context.tokenizer import EstimateCounter
from ghostline.core import AppCore, Level
from ghostline.engine.base import (
    Finished,
    GenerationRequest,
    ModelInfo,
    ModelLoadError,
    StreamItem,
    Token,
)
from ghostline.engine.router import FallbackEvent
from ghostline.features.inline_completion import CompletionInput
from ghostline.prompts.fim import template_by_name
from ghostline.settings import Settings

SOURCE = "def area(width, height):\n    return \n"


class FakeLocalEngine:
    """Stands in for the local worker: answers every request with the same tokens."""

    name = "local"

    def __init__(self, fails: bool = False) -> None:
        self.fails = fails
        self.requests: list[GenerationRequest] = []
        self.closed = 0

    async def start(self) -> ModelInfo:
        if self.fails:
            raise ModelLoadError("no such model")
        return INFO

    async def stream(self, request: GenerationRequest) -> AsyncIterator[StreamItem]:
        self.requests.append(request)
        yield Token("width * height", -0.01)
        yield Finished("eos", prompt_tokens=12, generated_tokens=3)

    async def count_tokens(self, text: str) -> int:
        return len(text) // 3

    async def close(self) -> None:
        self.closed += 1


INFO = ModelInfo(name="fake coder", special_tokens=["<|fim_prefix|>", "<|fim_suffix|>",
                                                    "<|fim_middle|>"])


class RecordingFrontend:
    """A frontend that keeps what it was told and the generations it heard end."""

    def __init__(self) -> None:
        self.told: list[tuple[str, Level]] = []
        self.ended: list[Finished] = []

    def tell(self, message: str, level: Level) -> None:
        self.told.append((message, level))

    def fell_back(self, event: FallbackEvent) -> None:
        pass

    def finished(self, item: Finished) -> None:
        self.ended.append(item)


def _item(path: str = "/w/a.py") -> CompletionInput:
    return CompletionInput(uri=Path(path).as_uri(), path=path, language_id="python",
                           text=SOURCE, offset=len(SOURCE) - 1)


async def test_the_core_completes_through_its_router_with_the_detected_template() -> None:
    engine = FakeLocalEngine()
    frontend = RecordingFrontend()
    core = AppCore(engine_factory=lambda settings: engine, frontend=frontend)  # type: ignore[arg-type, return-value]
    assert core.template.name == "none"  # nothing known before the model starts
    assert await core.ready_for_completion()
    assert core.model_info is INFO and core.template.has_fim  # detected from its tokens
    outcome = await core.completer.complete(_item(), Settings())
    assert outcome.text == "width * height" and outcome.source == "model"
    assert engine.requests[0].prompt.startswith("<|fim_prefix|>")  # type: ignore[union-attr]
    # The router named who answered, and the frontend heard the generation end.
    assert outcome.finished is not None and outcome.finished.backend == "local"
    assert [item.backend for item in frontend.ended] == ["local"]
    await core.close()
    assert engine.closed >= 1


async def test_a_model_that_fails_to_load_is_told_once() -> None:
    frontend = RecordingFrontend()
    core = AppCore(engine_factory=lambda settings: FakeLocalEngine(fails=True),  # type: ignore[arg-type, return-value]
                   frontend=frontend)
    assert not await core.ensure_model()
    assert not await core.ensure_model()
    assert core.model_error == "no such model" and core.model_info is None
    assert frontend.told == [
        ("Ghostline: no such model. Run `ghostline doctor` for details.", "error")]


async def test_a_model_started_elsewhere_brings_its_template_and_tokenizer() -> None:
    core = AppCore(engine_factory=lambda settings: FakeLocalEngine())  # type: ignore[arg-type, return-value]
    counter = EstimateCounter(chars_per_token=1.0)
    core.use_model(INFO, template_by_name("starcoder"), counter)
    assert core.token_counter() is counter
    assert core.template.name == "starcoder"
    assert core.completer is not None and core.model_info is INFO


def test_the_features_share_the_cores_context_and_settings(tmp_path: Path) -> None:
    core = AppCore(engine_factory=lambda settings: FakeLocalEngine())  # type: ignore[arg-type, return-value]
    services = core.test_services(None, read_text=lambda path: None)
    assert services.settings is core.settings
    assert services.cross_file == core.test_context
    assert services.engine.name == "local"  # routed: inline completion's local engine
    assert core.existing_tests(tmp_path / "a.py") is None  # no index yet: look on disk
    # Paths in prompts: unchanged outside every workspace folder (no index yet).
    assert core.context.shown_path("/w/a.py") == "/w/a.py"
    assert core.hover_model_id() == "local:default"
