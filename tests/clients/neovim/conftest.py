"""Fixtures for the Neovim client tests; the harness is in nvim_harness.py."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from nvim_harness import NVIM_BINARIES, Editor

#: (Neovim version, ghost-text path) pairs: the plugin renderer on both, the built-in on 0.12.
GHOST_PATHS = [("0.11", "plugin"), ("0.12", "builtin"), ("0.12", "plugin")]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests taking `nvim_bin` run once per Neovim binary; with `ghost`, once per ghost path."""
    if "ghost" in metafunc.fixturenames:
        params = [
            pytest.param(NVIM_BINARIES[version], ghost, id=f"nvim{version}-{ghost}")
            for version, ghost in GHOST_PATHS
        ]
        metafunc.parametrize(("nvim_bin", "ghost"), params)
    elif "nvim_bin" in metafunc.fixturenames:
        params = [
            pytest.param(path, id=f"nvim{version}") for version, path in NVIM_BINARIES.items()
        ]
        metafunc.parametrize("nvim_bin", params, scope="module")


@pytest.fixture
def make_editor(tmp_path: Path) -> Iterator[Callable[..., Editor]]:
    """Factory: `make_editor(nvim_bin, cwd)` starts an editor that is closed after the test."""
    editors: list[Editor] = []

    def make(nvim_bin: Path, cwd: Path | None = None) -> Editor:
        ed = Editor(nvim_bin, tmp_path / f"home{len(editors)}", cwd or tmp_path)
        editors.append(ed)
        return ed

    yield make
    for ed in editors:
        ed.close()
