"""Fixtures for every test."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _private_usage_ledger(tmp_path_factory: pytest.TempPathFactory,
                          monkeypatch: pytest.MonkeyPatch) -> Path:
    """Servers started by tests (in-process or as editors' subprocesses) keep their usage
    ledger in a folder of the test, never in the user's cache."""
    path = tmp_path_factory.mktemp("ledger") / "usage.sqlite"
    monkeypatch.setenv("GHOSTLINE_LEDGER", str(path))
    return path
