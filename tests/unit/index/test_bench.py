"""The index benchmark runs end to end on a small tree and reports every figure."""

from __future__ import annotations

from pathlib import Path

import pytest

from ghostline.bench import index as bench

from .conftest import FIXTURES


def test_run_index_bench_on_a_fixture() -> None:
    result = bench.run_index_bench(FIXTURES / "python", edits=5, edit_lines=20, workers=1)
    assert result["files"] == 5
    assert result["cold_parsed"] == 5
    assert result["warm_parsed"] == 0 and result["warm_cached"] == 5
    assert result["edit_file"].endswith(".py") and result["edit_file_lines"] > 0
    assert result["edit_ms_median"] > 0
    assert result["raw_parse_s"] > 0 and result["cold_s"] > 0
    assert result["rss_indexed_mb"] > 0
    table = bench.format_table(result)
    for label in ("cold scan, 1 process", "warm restart", "one edit", "RSS", "raw tree-sitter"):
        assert label in table


def test_main_prints_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench.main([str(FIXTURES / "go"), "--edits", "3", "--workers", "1"]) == 0
    out = capsys.readouterr().out
    assert "warm restart" in out and "go 3" in out


def test_main_rejects_a_missing_folder(tmp_path: Path) -> None:
    assert bench.main([str(tmp_path / "missing")]) == 2
