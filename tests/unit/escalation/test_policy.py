"""The escalation policy on its own: settings, the decision, limits over time, exclusions;
and the hover service's hook for an empty summary."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ghostline.engine.base import Engine, Finished, GenerationRequest, ModelInfo, StreamItem, Token
from ghostline.features.docstring import DocstringService
from ghostline.features.docstring_cache import SummaryCache
from ghostline.features.escalation import EscalationPolicy, path_excluded
from ghostline.index.languages import spec_for_path
from ghostline.index.model import Definition
from ghostline.index.parser import extract
from ghostline.settings import EscalationSettings, Settings

SHAPES = Path(__file__).parents[2] / "fixtures" / "docstrings" / "python" / "shapes.py"

BACKENDS = {"team": {"kind": "openai", "url": "http://127.0.0.1:9/v1"}}


def settings(**rule: object) -> Settings:
    return Settings.from_dict({"backends": BACKENDS, "escalate": {
        "inlineCompletion": {"backend": "team", **rule}}})


def test_settings_accept_camel_and_snake_case_and_a_shorthand() -> None:
    parsed = Settings.from_dict({"escalate": {
        "inlineCompletion": {"backend": "team", "below": 0.7, "timeoutMs": 900,
                             "perMinute": 4, "per_day": 40, "excludeLanguages": ["go"],
                             "exclude_globs": ["secret/"]},
        "hover": "team",
        "generateTests": {"backend": "team", "perMinute": "many"}}})
    assert parsed.escalate["inlineCompletion"] == EscalationSettings(
        backend="team", below=0.7, timeout_ms=900, per_minute=4, per_day=40,
        exclude_languages=["go"], exclude_globs=["secret/"])
    assert parsed.escalate["hover"] == EscalationSettings(backend="team")
    assert parsed.escalate["generateTests"].per_minute == 10  # a wrong value: the default
    assert Settings().escalate == {}


def test_the_default_never_escalates() -> None:
    policy = EscalationPolicy()
    for feature in ("inlineCompletion", "generateTests", "hover"):
        assert policy.decide(Settings(), feature, "python", "/a.py", confidence=0.0).backend is None
    assert policy.counts == {}


def test_only_an_unsure_suggestion_escalates() -> None:
    policy = EscalationPolicy()
    decision = policy.decide(settings(below=0.5), "inlineCompletion", "python", "/a.py",
                             confidence=0.3)
    assert decision.backend == "team" and decision.timeout_s == 2.0
    assert policy.decide(settings(below=0.5), "inlineCompletion", "python", "/a.py",
                         confidence=0.5).backend is None
    assert policy.decide(settings(), "inlineCompletion", "python", "/a.py",
                         confidence=None).backend is None
    assert policy.decide(settings(timeoutMs=250), "inlineCompletion", "python", "/a.py",
                         confidence=0.0).timeout_s == 0.25


def test_per_minute_is_a_sliding_window_and_per_day_resets_with_the_day() -> None:
    now = [1000.0]
    day = ["2025-01-01"]
    policy = EscalationPolicy(clock=lambda: now[0], day=lambda: day[0],
                              day_count=lambda feature: 1)
    rule = settings(perMinute=2, perDay=4)

    def go() -> bool:
        return policy.decide(rule, "inlineCompletion", "python", "/a.py").backend is not None

    assert [go(), go(), go()] == [True, True, False]
    now[0] += 59.0
    assert not go()
    now[0] += 1.0  # the first two are a minute old
    assert [go(), go()] == [True, False]  # 1 from the ledger + 3 today: the day is full
    day[0] = "2025-01-02"
    now[0] += 60.0
    assert go()
    assert policy.counts["inlineCompletion"] == {"escalated": 4, "limited": 3}


@pytest.mark.parametrize(("path", "patterns", "excluded"), [
    ("/w/secret/a.py", ["secret"], True),
    ("/w/src/secret.py", ["secret/"], False),
    ("/w/secret/a.py", ["secret/"], True),
    ("/w/src/.env", ["*.env", ".env"], True),
    ("/w/vendor/lib/x.py", ["vendor/**"], True),
    ("/w/src/vendor/x.py", ["vendor/**"], False),
    ("/w/src/vendor/x.py", ["**/vendor/**"], True),
    ("/w/src/keys/k.py", ["src/keys/*.py"], True),
    ("/w/src/keys/deep/k.py", ["src/keys/*.py"], False),
    ("/w/src/keys/deep/k.py", ["src/keys"], True),
    ("/elsewhere/x.py", ["/elsewhere/**"], True),
    ("/w/a.py", [], False),
])
def test_exclude_globs(path: str, patterns: list[str], excluded: bool) -> None:
    assert path_excluded(path, [Path("/w")], patterns) is excluded


def test_an_excluded_request_takes_nothing_from_the_limits() -> None:
    policy = EscalationPolicy()
    rule = settings(perMinute=1, excludeLanguages=["go"], excludeGlobs=["gen/"])
    assert policy.decide(rule, "inlineCompletion", "go", "/w/a.go").backend is None
    assert policy.decide(rule, "inlineCompletion", "python", "/w/gen/a.py", [Path("/w")]
                         ).backend is None
    assert policy.decide(rule, "inlineCompletion", "python", "/w/a.py").backend == "team"
    assert policy.counts["inlineCompletion"] == {"excluded": 2, "escalated": 1}


class Empty:
    """A hover model with nothing to say."""

    name = "local"

    async def start(self) -> ModelInfo:
        return ModelInfo(name="empty")

    async def stream(self, request: GenerationRequest) -> AsyncIterator[StreamItem]:
        await asyncio.sleep(0)
        yield Token(" ")
        yield Finished(reason="stop")

    async def count_tokens(self, text: str) -> int:
        return 1

    async def close(self) -> None:
        return None


class Wise(Empty):
    name = "team"

    async def stream(self, request: GenerationRequest) -> AsyncIterator[StreamItem]:
        await asyncio.sleep(0)
        yield Token(" returns the points moved away from the origin.")
        yield Finished(reason="stop")


async def test_an_empty_summary_goes_to_the_escalation_hook_once(tmp_path: Path) -> None:
    text = SHAPES.read_text()
    spec = spec_for_path(SHAPES)
    assert spec is not None
    data = text.encode()
    found = extract(spec, spec.parser().parse(data), data, SHAPES).definitions
    target = next(d for d in found if d.qualified_name == "scale")
    wise = Wise()
    calls: list[Definition] = []

    async def escalate(definition: Definition, ask: object) -> str:
        calls.append(definition)
        assert callable(ask)
        engine: Engine = wise  # type: ignore[assignment]
        return str(await ask(engine, False))

    async def ready() -> bool:
        return True

    service = DocstringService(engine=lambda: Empty(), ensure_model=ready,
                               model_id=lambda: "local:empty", use_chat=lambda: False,
                               cache=SummaryCache(None), escalate=escalate)
    info = await service.explain(target, text, None, wait_s=5)
    assert info.state == "generated" and "origin" in info.markdown()
    assert [d.name for d in calls] == ["scale"]
