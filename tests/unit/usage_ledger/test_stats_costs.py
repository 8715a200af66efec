"""`ghostline stats` with backend prices (`pricePerMillionTokens`): what the priced backends
cost, what all requests' tokens would have cost there; no prices, no cost lines."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from ghostline.ledger import Counters, Ledger
from ghostline.settings import BackendSettings, Settings, TokenPrice
from ghostline.stats_cli import default_settings_path, run_stats


@pytest.fixture(autouse=True)
def _no_user_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The default settings file is looked for in the test's folder, never the user's."""
    config = tmp_path / "config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    return config / "ghostline" / "settings.json"


def fill(path: Path) -> None:
    """A ledger with local, `team` and `cloud` rows (today)."""
    ledger = Ledger(path, flush_interval_s=0)
    ledger.record("inlineCompletion", "python", "local",
                  Counters(requests=10, prompt_tokens=800_000, generated_tokens=50_000))
    ledger.record("hover", "go", "local",
                  Counters(requests=5, prompt_tokens=150_000, generated_tokens=20_000))
    ledger.record("inlineCompletion", "python", "team",
                  Counters(requests=2, prompt_tokens=40_000, generated_tokens=4_000))
    ledger.record("generateTests", "python", "cloud",
                  Counters(requests=1, prompt_tokens=10_000, generated_tokens=6_000))
    assert ledger.flush()


def write(path: Path, settings: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(settings), encoding="utf-8")
    return path


def stats_json(capsys: pytest.CaptureFixture[str], **kwargs: object) -> dict[str, object]:
    assert run_stats(days=1, as_json=True, **kwargs) == 0  # type: ignore[arg-type]
    report = json.loads(capsys.readouterr().out)
    assert isinstance(report, dict)
    return report


def test_prices_parse_in_camel_and_snake_case_and_invalid_ones_are_ignored(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "ghostline.settings")
    settings = Settings.from_dict({"backends": {
        "a": {"kind": "openai", "pricePerMillionTokens": {"input": 0.5, "output": 2}},
        "b": {"kind": "openai", "price_per_million_tokens": {"input": 1, "output": 3.5}},
        "c": {"kind": "openai"},
        "bad1": {"kind": "openai", "pricePerMillionTokens": {"input": -1, "output": 2}},
        "bad2": {"kind": "openai", "pricePerMillionTokens": {"input": "0.5", "output": 2}},
        "bad3": {"kind": "openai", "pricePerMillionTokens": {"input": 0.5}},
        "bad4": {"kind": "openai", "pricePerMillionTokens": 3},
        "bad5": {"kind": "openai", "pricePerMillionTokens": {"input": True, "output": 1}},
        "bad6": {"kind": "openai",
                 "pricePerMillionTokens": {"input": 1, "output": 1, "cached": 0.1}},
    }})
    prices = {name: spec.price_per_million_tokens for name, spec in settings.backends.items()}
    assert prices == {"a": TokenPrice(0.5, 2.0), "b": TokenPrice(1.0, 3.5), "c": None,
                      "bad1": None, "bad2": None, "bad3": None, "bad4": None, "bad5": None,
                      "bad6": None}
    assert settings.backends["bad1"].kind == "openai"  # the backend itself stays
    warned = [r.getMessage() for r in caplog.records if "pricePerMillionTokens" in r.getMessage()]
    assert len(warned) == 6 and all("no price" in message for message in warned)
    assert BackendSettings().price_per_million_tokens is None  # never a built-in price
    assert TokenPrice(0.5, 2.0).cost(1_000_000, 500_000) == pytest.approx(1.5)


def test_costs_per_priced_backend_and_for_all_requests(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        _private_usage_ledger: Path) -> None:
    fill(_private_usage_ledger)
    settings = write(tmp_path / "settings.json", {"backends": {
        "team": {"kind": "openai", "url": "http://x/v1",
                 "pricePerMillionTokens": {"input": 0.5, "output": 2.0}},
        "cloud": {"kind": "openai", "price_per_million_tokens": {"input": 3, "output": 15}},
        "unpriced": {"kind": "ollama"},
    }})
    report = stats_json(capsys, settings=settings)
    costs = report["costs"]
    assert isinstance(costs, dict)
    assert costs["settings"] == str(settings)
    # All rows: 18 requests, 1,000,000 prompt and 80,000 generated tokens.
    assert costs["allRequests"] == {"requests": 18, "promptTokens": 1_000_000,
                                    "generatedTokens": 80_000}
    assert list(costs["backends"]) == ["cloud", "team"]  # priced only, by name
    team = costs["backends"]["team"]
    assert team == {
        "pricePerMillionTokens": {"input": 0.5, "output": 2.0},
        "requests": 2, "promptTokens": 40_000, "generatedTokens": 4_000,
        "cost": pytest.approx(0.04 * 0.5 + 0.004 * 2.0),  # 0.028
        "allRequestsCost": pytest.approx(1.0 * 0.5 + 0.08 * 2.0),  # 0.66
    }
    cloud = costs["backends"]["cloud"]
    assert cloud["cost"] == pytest.approx(0.01 * 3 + 0.006 * 15)  # 0.12
    assert cloud["allRequestsCost"] == pytest.approx(1.0 * 3 + 0.08 * 15)  # 4.2

    assert run_stats(days=1, settings=settings) == 0
    text = capsys.readouterr().out
    assert f"cost at the prices per million tokens in {settings}:" in text
    assert ("  team (input 0.5, output 2): 2 requests, 40,000 prompt + 4,000 generated "
            "tokens: 0.0280") in text
    assert "    had all 18 requests gone to team (1,000,000 + 80,000 tokens): 0.6600" in text
    assert "had all 18 requests gone to cloud (1,000,000 + 80,000 tokens): 4.2000" in text
    assert "unpriced" not in text


def test_a_priced_backend_without_calls_costs_nothing_but_shows_the_total(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        _private_usage_ledger: Path) -> None:
    fill(_private_usage_ledger)
    settings = write(tmp_path / "s.json", {"ghostline": {"backends": {
        "idle": {"kind": "openai", "pricePerMillionTokens": {"input": 1, "output": 10}}}}})
    idle = stats_json(capsys, settings=settings)["costs"]["backends"]["idle"]  # type: ignore[index]
    assert (idle["requests"], idle["cost"]) == (0, 0)
    assert idle["allRequestsCost"] == pytest.approx(1.0 + 0.8)


def test_no_prices_no_cost_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                 _private_usage_ledger: Path) -> None:
    fill(_private_usage_ledger)
    assert "costs" not in stats_json(capsys)  # no settings file at all
    assert run_stats(days=1) == 0
    assert "cost" not in capsys.readouterr().out
    settings = write(tmp_path / "s.json", {"backends": {"team": {"kind": "openai"}}})
    assert "costs" not in stats_json(capsys, settings=settings)
    assert run_stats(days=1, settings=settings) == 0
    assert "cost" not in capsys.readouterr().out


def test_invalid_prices_are_ignored_with_a_warning(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture,
        _private_usage_ledger: Path) -> None:
    fill(_private_usage_ledger)
    settings = write(tmp_path / "s.json", {"backends": {
        "team": {"kind": "openai", "pricePerMillionTokens": {"input": "cheap", "output": 1}},
        "cloud": {"kind": "openai", "pricePerMillionTokens": {"input": 3, "output": 15}}}})
    with caplog.at_level(logging.WARNING, "ghostline.settings"):
        costs = stats_json(capsys, settings=settings)["costs"]
    assert list(costs["backends"]) == ["cloud"]  # type: ignore[index]
    assert any("'team'" in r.getMessage() and "pricePerMillionTokens" in r.getMessage()
               for r in caplog.records)
    only_bad = write(tmp_path / "bad.json", {"backends": {
        "team": {"kind": "openai", "pricePerMillionTokens": [1, 2]}}})
    assert run_stats(days=1, settings=only_bad) == 0
    assert "cost" not in capsys.readouterr().out


def test_the_default_settings_file_and_vscode_keys(
        capsys: pytest.CaptureFixture[str], _no_user_settings: Path,
        _private_usage_ledger: Path) -> None:
    fill(_private_usage_ledger)
    assert default_settings_path() == _no_user_settings
    write(_no_user_settings, {"editor.fontSize": 14, "ghostline.backends": {
        "team": {"kind": "openai", "pricePerMillionTokens": {"input": 0.5, "output": 2}}}})
    costs = stats_json(capsys)["costs"]
    assert costs["settings"] == str(_no_user_settings)  # type: ignore[index]
    assert list(costs["backends"]) == ["team"]  # type: ignore[index]


def test_unreadable_settings(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                             _no_user_settings: Path, _private_usage_ledger: Path) -> None:
    fill(_private_usage_ledger)
    assert run_stats(days=1, settings=tmp_path / "missing.json") == 1
    assert "error: cannot read the settings" in capsys.readouterr().err
    write(_no_user_settings, {}).write_text("{not json", encoding="utf-8")
    assert run_stats(days=1) == 0  # the default file: a warning, the table without costs
    captured = capsys.readouterr()
    assert "warning: cannot read the settings" in captured.err
    assert "inlineCompletion" in captured.out and "cost" not in captured.out
