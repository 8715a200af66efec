"""Real watchdog events on temporary folders: the index follows the disk by itself."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

import ghostline.index.watcher as watcher_module
import ghostline.index.workspace_disk as workspace_disk
from ghostline.index.watcher import DebouncedWatcher
from ghostline.index.workspace import WorkspaceIndex

from .conftest import wait_for

MakeIndex = Callable[..., WorkspaceIndex]


def names(index: WorkspaceIndex, name: str) -> list[Path]:
    return [d.path for d in index.definitions(name)]


def test_index_follows_create_modify_rename_delete(
    copy_fixture: Callable[[str], Path], make_index: MakeIndex
) -> None:
    root = copy_fixture("python")
    index = make_index(root)
    index.scan()
    batches: list[list[Path]] = []
    index.start_watching(on_change=batches.append, quiet_s=0.05)

    created = root / "pkg/watched.py"
    created.write_text("def watched():\n    pass\n")
    assert wait_for(lambda: names(index, "watched") == [created])

    created.write_text("def watched_v2():\n    pass\n")
    assert wait_for(lambda: names(index, "watched_v2") == [created])
    assert names(index, "watched") == []

    renamed = root / "pkg/renamed.py"
    created.rename(renamed)
    assert wait_for(lambda: names(index, "watched_v2") == [renamed])
    assert created not in index.all_files()

    renamed.unlink()
    assert wait_for(lambda: names(index, "watched_v2") == [])

    folder = root / "pkg"  # a whole folder moved out of the workspace
    shutil.move(str(folder), str(root.parent / "elsewhere"))
    assert wait_for(lambda: names(index, "Circle") == [])
    assert not any(p.is_relative_to(folder) for p in index.all_files())
    assert all(batch == sorted(batch) for batch in batches) and batches
    index.stop_watching()


def test_gitignored_folder_is_never_indexed(tmp_path: Path, make_index: MakeIndex) -> None:
    root = tmp_path / "proj"
    (root / "out").mkdir(parents=True)
    (root / ".gitignore").write_text("out/\n")
    (root / "main.py").write_text("def main():\n    pass\n")
    index = make_index(root)
    index.scan()
    index.start_watching(quiet_s=0.05)
    (root / "out/gen.py").write_text("def generated():\n    pass\n")
    (root / "sentinel.py").write_text("def sentinel():\n    pass\n")  # written after
    assert wait_for(lambda: len(index.definitions("sentinel")) == 1)
    assert index.definitions("generated") == []
    assert root / "out/gen.py" not in index.all_files()
    index.stop_watching()


def test_a_checkout_of_many_files_is_one_batch(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    batches: list[list[Path]] = []
    arrived = threading.Event()

    def on_batch(batch: list[Path]) -> None:
        batches.append(batch)
        arrived.set()

    watcher = DebouncedWatcher([root], on_batch, quiet_s=0.5, max_delay_s=30)
    watcher.start()
    try:
        for number in range(1000):
            (root / f"f{number}.py").write_text(f"x = {number}\n")
        assert arrived.wait(30)
        assert wait_for(lambda: sum(len(b) for b in batches) >= 1000, timeout=5)
    finally:
        watcher.stop()
    assert len(batches) == 1
    assert {p.name for p in batches[0]} == {f"f{n}.py" for n in range(1000)}


def test_watched_batch_of_files_reaches_the_index(tmp_path: Path, make_index: MakeIndex) -> None:
    root = tmp_path / "proj"
    root.mkdir()
    index = make_index(root)
    index.scan()
    batches: list[list[Path]] = []
    index.start_watching(on_change=batches.append)
    assert index.wait_watching(30)
    for number in range(200):
        (root / f"m{number}.py").write_text(f"def fn{number}():\n    return {number}\n")
    assert wait_for(lambda: len(index.all_files()) == 200)
    assert len(index.definitions("fn199")) == 1
    # `on_change` hears of a batch once the index holds it: a moment after the files show.
    assert wait_for(lambda: len({p.name for b in batches for p in b}) >= 200)
    assert 1 <= len(batches) <= 3  # debounced: not one update per file
    index.stop_watching()
    index.stop_watching()  # idempotent


def test_a_big_batch_is_followed_by_a_scan_that_finds_lost_events(
        tmp_path: Path, make_index: MakeIndex, monkeypatch: pytest.MonkeyPatch) -> None:
    """When the kernel's event queue overflows, watchdog reports nothing for the events it
    lost: after a big batch the index compares itself with the disk."""
    root = tmp_path / "proj"
    root.mkdir()
    index = make_index(root)
    index.scan()
    monkeypatch.setattr(workspace_disk, "RESCAN_BATCH", 50)
    # Events of lost*.py never reach the index, as if the kernel's queue had overflowed.
    monkeypatch.setattr(watcher_module, "_noise", lambda path: "lost" in path)
    index.start_watching(quiet_s=0.1)
    assert index.wait_watching(30)
    (root / "lost.py").write_text("def lost_in_overflow():\n    pass\n")
    for number in range(60):  # ...then a burst big enough to trigger the rescan
        (root / f"burst{number}.py").write_text(f"def burst{number}():\n    pass\n")
    assert wait_for(lambda: len(index.definitions("lost_in_overflow")) == 1)
    assert len(index.definitions("burst59")) == 1
    index.stop_watching()


def test_changes_between_the_scan_and_the_watches_are_caught_up(
    copy_fixture: Callable[[str], Path], make_index: MakeIndex
) -> None:
    """A checkout right after start-up, before the watches exist, reaches no watch: the
    watcher compares with the disk once they are in place."""
    root = copy_fixture("python")
    index = make_index(root)
    index.scan()
    (root / "pkg/util.py").write_text("def after_scan():\n    pass\n")  # no watch yet
    (root / "app.py").unlink()
    index.start_watching(quiet_s=0.05)
    assert wait_for(lambda: names(index, "after_scan") == [root / "pkg/util.py"])
    assert wait_for(lambda: root / "app.py" not in index.all_files())
    index.stop_watching()
