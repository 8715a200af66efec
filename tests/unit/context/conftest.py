"""A copy of the context fixture project, indexed (no persistent cache)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from ghostline.index.workspace import WorkspaceIndex

FIXTURE = Path(__file__).parents[2] / "fixtures" / "context" / "proj"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    shutil.copytree(FIXTURE, root)
    return root


@pytest.fixture
def index(project: Path) -> Iterator[WorkspaceIndex]:
    workspace = WorkspaceIndex([project], use_cache=False, workers=1)
    workspace.scan()
    yield workspace
    workspace.close()
