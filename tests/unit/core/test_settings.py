"""Settings from client dictionaries."""

from __future__ import annotations

from ghostline.settings import Settings


def test_defaults_are_valid() -> None:
    settings = Settings.from_dict(None)
    assert settings.max_tokens > 0 and settings.model == ""
    assert settings.backend_for("inlineCompletion") == "local"


def test_camel_case_keys_map_to_fields() -> None:
    settings = Settings.from_dict({"maxTokens": 12, "contextSize": 4096, "debounceMs": 10,
                                   "disabledLanguages": ["markdown"]})
    assert (settings.max_tokens, settings.context_size, settings.debounce_ms) == (12, 4096, 10)
    assert not settings.language_enabled("markdown")
    assert settings.language_enabled("python")


def test_wrong_types_and_unknown_keys_are_ignored() -> None:
    settings = Settings.from_dict({"maxTokens": "many", "enabled": "yes", "nonsense": 1,
                                   "temperature": 0.2})
    assert settings.max_tokens == Settings().max_tokens
    assert settings.enabled is True
    assert settings.temperature == 0.2


def test_update_keeps_other_fields() -> None:
    settings = Settings.from_dict({"maxTokens": 12})
    settings.update({"temperature": 0.5})
    assert settings.max_tokens == 12 and settings.temperature == 0.5


def test_backends_and_routes() -> None:
    settings = Settings.from_dict({
        "backends": {"team": {"kind": "openai", "url": "http://127.0.0.1:8080/v1",
                              "model": "qwen", "apiKeyEnv": "TEAM_KEY"},
                     "broken": "not an object"},
        "routes": {"inlineCompletion": "team", "generateTests": "missing"},
    })
    assert set(settings.backends) == {"team"}
    assert settings.backends["team"].api_key_env == "TEAM_KEY"
    assert settings.backend_for("inlineCompletion") == "team"
    assert settings.backend_for("generateTests") == "local"  # unknown backend: local
    assert settings.backend_for("hover") == "local"
