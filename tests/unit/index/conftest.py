"""Shared helpers for the index tests: fixture trees, fresh indexes, polling."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ghostline.index.workspace import WorkspaceIndex

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "index"


@pytest.fixture
def copy_fixture(tmp_path: Path) -> Callable[[str], Path]:
    """Copy ``tests/fixtures/index/<name>`` into a fresh folder and return it."""

    def copy(name: str) -> Path:
        target = tmp_path / "ws" / name
        shutil.copytree(FIXTURES / name, target)
        return target

    return copy


@pytest.fixture
def make_index(tmp_path: Path) -> Iterator[Callable[..., WorkspaceIndex]]:
    """Build indexes with their cache in ``tmp_path``, in-process; all closed afterwards."""
    made: list[WorkspaceIndex] = []

    def make(*roots: Path, **kwargs: object) -> WorkspaceIndex:
        kwargs.setdefault("cache_dir", tmp_path / "cache")
        kwargs.setdefault("workers", 1)
        index = WorkspaceIndex(list(roots), **kwargs)
        made.append(index)
        return index

    yield make
    for index in made:
        index.close()


def wait_for(check: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Poll ``check`` every 20 ms until it holds or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return check()
