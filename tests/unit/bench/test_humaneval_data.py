"""The HumanEval infilling sets ship inside the package: a plain clone (or an installed
wheel) runs `bench quality`'s HumanEval suite with no data folder outside it."""

from __future__ import annotations

from pathlib import Path

import ghostline
from ghostline.bench.quality_humaneval import (
    MULTI_LINE_FILE,
    SINGLE_LINE_FILE,
    default_data_dir,
    load_items,
    passes,
)


def test_default_data_dir_is_the_packaged_folder() -> None:
    data = default_data_dir()
    package = Path(ghostline.__file__).resolve().parent
    assert data.is_dir() and data.is_relative_to(package)
    for name in (SINGLE_LINE_FILE, MULTI_LINE_FILE, "LICENSE", "README.md"):
        assert (data / name).is_file(), name
    assert "MIT License" in (data / "LICENSE").read_text(encoding="utf-8")


def test_load_items_samples_reproducibly_from_the_packaged_set() -> None:
    items = load_items(default_data_dir(), 5)
    assert len(items) == 5
    assert len({i.task_id for i in items}) == 5
    assert all(i.task_id.startswith("SingleLineInfilling/HumanEval/") for i in items)
    assert all(i.prompt and i.answer and i.test and i.entry_point for i in items)
    assert [i.task_id for i in load_items(default_data_dir(), 5)] == [i.task_id for i in items]
    assert len(load_items(default_data_dir(), None)) == 1033


def test_the_canonical_answer_passes_and_a_wrong_one_fails() -> None:
    item = load_items(default_data_dir(), 1)[0]
    assert passes(item, item.answer)
    indent = item.answer[: len(item.answer) - len(item.answer.lstrip())]
    assert not passes(item, indent + "raise SystemExit(1)\n")
