"""The persistent cache: restarts re-parse only what changed; a broken cache never hurts."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ghostline.index.store import IndexCache, cache_file_for
from ghostline.index.workspace import WorkspaceIndex

MakeIndex = Callable[..., WorkspaceIndex]


def test_restart_reparses_only_what_changed(
    copy_fixture: Callable[[str], Path], make_index: MakeIndex, tmp_path: Path
) -> None:
    root = copy_fixture("python")
    first = make_index(root)
    assert first.scan().files_parsed == 5
    first.close()

    second = make_index(root)
    stats = second.scan()
    assert (stats.files_parsed, stats.files_cached, second.parse_count) == (0, 5, 0)
    [circle] = second.definitions("Circle")  # facts come back from the cache
    assert circle.span.as_tuple() == (17, 0, 26, 39)
    assert circle.doc == "A circle of a given radius."
    assert [i.module for i in second.imports(root / "app.py")] == [
        "os.path", "pkg.util", "pkg.shapes",
    ]  # fmt: skip
    assert len(second.usages("Circle")) == 8
    second.close()

    util = root / "pkg/util.py"
    util.write_text(util.read_text() + "\n\ndef added():\n    pass\n")
    shapes = root / "pkg/shapes.py"
    stat = shapes.stat()
    os.utime(shapes, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))  # touched only
    (root / "tests/test_shapes.py").unlink()

    third = make_index(root)
    stats = third.scan()
    assert (stats.files_parsed, stats.files_cached, stats.files_removed) == (1, 3, 1)
    assert third.parse_count == 1
    assert len(third.definitions("added")) == 1
    third.close()

    fourth = make_index(root)
    stats = fourth.scan()
    assert (stats.files_parsed, stats.files_cached, stats.files_removed) == (0, 4, 0)


def test_rescan_of_a_live_index_parses_nothing(
    copy_fixture: Callable[[str], Path], make_index: MakeIndex
) -> None:
    root = copy_fixture("go")
    index = make_index(root)
    assert index.scan().files_parsed == 3
    stats = index.scan()
    assert (stats.files_parsed, stats.files_cached) == (0, 3)
    restarted = make_index(root)
    assert restarted.scan().files_parsed == 0  # Go package names survive the round trip


def test_corrupt_cache_is_rebuilt(
    copy_fixture: Callable[[str], Path], make_index: MakeIndex, tmp_path: Path
) -> None:
    root = copy_fixture("python")
    cache_file = cache_file_for([root], tmp_path / "cache")
    cache_file.parent.mkdir(parents=True)
    cache_file.write_bytes(b"this is not a database" * 100)
    index = make_index(root)
    assert index.scan().files_parsed == 5
    assert len(index.definitions("Circle")) == 1
    index.close()
    again = make_index(root)
    assert again.scan().files_parsed == 0  # the rebuilt cache works


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(
            [
                "DROP TABLE files",
                "CREATE TABLE files (path TEXT)",
                "INSERT INTO files VALUES ('x')",
            ],
            id="garbage-rows",
        ),
        pytest.param(
            ["UPDATE meta SET value = '0:old' WHERE key = 'version'"], id="another-version"
        ),
        pytest.param(["UPDATE files SET defs = '{not json'"], id="bad-facts"),
    ],
)
def test_damaged_or_foreign_cache_is_rebuilt(
    copy_fixture: Callable[[str], Path], make_index: MakeIndex, tmp_path: Path, damage: list[str]
) -> None:
    root = copy_fixture("python")
    make_index(root).scan()
    with sqlite3.connect(cache_file_for([root], tmp_path / "cache")) as conn:
        for statement in damage:
            conn.execute(statement)
    index = make_index(root)
    stats = index.scan()
    assert len(index.definitions("Circle")) == 1
    assert stats.files_parsed == (0 if damage[0].startswith("UPDATE files") else 5)


class _FullDisk:
    """A connection whose writes fail the way SQLite does when the disk is full."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self.failed = 0

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        return self._conn.execute(sql, *args)

    def executemany(self, sql: str, rows: object) -> sqlite3.Cursor:
        self.failed += 1
        raise sqlite3.OperationalError("database or disk is full")

    def close(self) -> None:
        self._conn.close()


def test_full_disk_keeps_the_index_in_memory(
    copy_fixture: Callable[[str], Path], make_index: MakeIndex, caplog: object
) -> None:
    root = copy_fixture("python")
    index = make_index(root)
    cache = index._cache
    assert isinstance(cache, IndexCache)
    assert cache.load() == {}
    assert cache._conn is not None
    full = _FullDisk(cache._conn)
    cache._conn = full
    stats = index.scan()
    assert stats.files_parsed == 5
    assert full.failed == 1
    assert not cache.enabled
    assert len(index.definitions("Circle")) == 1
    created = root / "pkg/extra.py"
    created.write_text("def extra():\n    pass\n")
    assert index.files_changed([created]) == [created]  # later writes are skipped quietly
    assert len(index.definitions("extra")) == 1
    assert full.failed == 1
    assert "disk is full" in caplog.text  # type: ignore[attr-defined]


def test_unwritable_cache_folder(copy_fixture: Callable[[str], Path], tmp_path: Path) -> None:
    root = copy_fixture("python")
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    index = WorkspaceIndex([root], cache_dir=blocker / "index", workers=1)
    assert index.scan().files_parsed == 5
    assert len(index.definitions("Circle")) == 1
    index.close()


def test_cache_file_is_per_workspace(tmp_path: Path) -> None:
    a = cache_file_for([tmp_path / "a"], tmp_path)
    b = cache_file_for([tmp_path / "b"], tmp_path)
    assert a != b and a.parent == b.parent == tmp_path and a.suffix == ".sqlite"
    assert cache_file_for([tmp_path / "a", tmp_path / "b"], tmp_path) == cache_file_for(
        [tmp_path / "b", tmp_path / "a"], tmp_path
    )
