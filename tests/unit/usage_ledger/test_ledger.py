"""The usage ledger: aggregation per day/feature/language/backend, latency percentiles,
buffered writes, and a broken file that turns the ledger off instead of failing."""

from __future__ import annotations

import logging
import sqlite3
import time
from pathlib import Path

import pytest

from ghostline.ledger import Counters, Ledger, RowKey, local_day


def ledger_at(path: Path, interval: float = 0) -> Ledger:
    return Ledger(path, flush_interval_s=interval)


def test_records_aggregate_per_key_in_the_buffer_and_in_the_file(tmp_path: Path) -> None:
    path = tmp_path / "usage.sqlite"
    ledger = ledger_at(path)
    ledger.record("inlineCompletion", "python", "local",
                  Counters(requests=1, shown=1, prompt_tokens=100, generated_tokens=8))
    ledger.record("inlineCompletion", "python", "local", Counters(requests=1))
    ledger.record("hover", "go", "remote", Counters(requests=1, shown=1))
    assert not path.exists()  # buffered: nothing written yet
    today = local_day()
    rows = ledger.rows()
    assert rows[RowKey(today, "inlineCompletion", "python", "local")].requests == 2
    assert ledger.flush()
    ledger.record("inlineCompletion", "python", "local", Counters(requests=1, accepted=1))
    assert ledger.flush()
    stored = ledger_at(path).rows()  # a second reader sees the file
    row = stored[RowKey(today, "inlineCompletion", "python", "local")]
    assert (row.requests, row.shown, row.accepted) == (3, 1, 1)
    assert (row.prompt_tokens, row.generated_tokens) == (100, 8)
    assert stored[RowKey(today, "hover", "go", "remote")].shown == 1
    assert ledger.today().requests == 4


def test_rows_are_per_local_day_and_days_limits_them(tmp_path: Path) -> None:
    now = time.time()
    clock = [now - 3 * 86400]
    ledger = Ledger(tmp_path / "usage.sqlite", flush_interval_s=0, clock=lambda: clock[0])
    ledger.record("hover", "python", "local", Counters(requests=1))
    clock[0] = now
    ledger.record("hover", "python", "local", Counters(requests=2))
    ledger.flush()
    assert [k.day for k in ledger.rows()] == [local_day(now - 3 * 86400), local_day(now)]
    assert [k.day for k in ledger.rows(days=1)] == [local_day(now)]
    assert ledger.today().requests == 2


def test_latency_percentiles_from_the_histogram_survive_merging(tmp_path: Path) -> None:
    ledger = ledger_at(tmp_path / "usage.sqlite")
    for seconds in [0.040] * 5 + [0.120] * 4:
        counters = Counters(requests=1)
        counters.add_latency(seconds)
        ledger.record("inlineCompletion", "python", "local", counters)
        ledger.flush()  # one read-modify-write per latency
    slow = Counters(requests=1)
    slow.add_latency(90.0)
    ledger.record("inlineCompletion", "python", "local", slow)
    row = next(iter(ledger.rows().values()))
    assert row.requests == 10
    assert row.percentile_ms(0.5) == 50  # 40 ms falls in the (30, 50] bucket
    assert row.percentile_ms(0.9) == 150
    assert row.percentile_ms(1.0) == -1  # slower than the last edge
    assert Counters().percentile_ms(0.5) is None


def test_acceptance_rate_counts_only_suggestions_shown_to_reporting_clients() -> None:
    assert Counters(shown=5).acceptance_rate() is None
    assert Counters(shown=5, shown_tracked=4, accepted=1).acceptance_rate() == 0.25
    assert Counters(shown=1, shown_tracked=1, accepted=2).acceptance_rate() == 1.0


def test_the_background_thread_flushes_every_interval(tmp_path: Path) -> None:
    path = tmp_path / "usage.sqlite"
    ledger = ledger_at(path, interval=0.05)
    ledger.record("hover", "python", "local", Counters(requests=1))
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not ledger_at(path).rows():
        time.sleep(0.02)
    assert ledger_at(path).today().requests == 1
    ledger.record("hover", "python", "local", Counters(requests=1))
    ledger.close()  # writes what the thread has not
    assert ledger_at(path).today().requests == 2
    ledger.record("hover", "python", "local", Counters(requests=1))  # closed: ignored
    assert ledger_at(path).today().requests == 2


def test_sessions_count_clients_that_report_accept_commands(tmp_path: Path) -> None:
    ledger = ledger_at(tmp_path / "usage.sqlite")
    ledger.record_session("Neovim", True)
    ledger.flush()
    ledger.record_session("Neovim", False)
    ledger.record_session("", False)
    assert ledger.sessions() == {(local_day(), "Neovim"): (2, 1), (local_day(), "unknown"): (1, 0)}


@pytest.mark.parametrize("breakage", ["corrupt", "unwritable", "locked"])
def test_a_broken_file_warns_once_and_turns_the_ledger_off(
        tmp_path: Path, breakage: str, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "usage.sqlite"
    holder = None
    if breakage == "corrupt":
        path.write_bytes(b"this is not a database" * 100)
    elif breakage == "unwritable":
        (tmp_path / "file").write_text("x")
        path = tmp_path / "file" / "usage.sqlite"  # its folder is a file
    else:
        ledger_at(path).flush()
        path.touch()
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
    ledger = Ledger(path, flush_interval_s=0)
    ledger.record("inlineCompletion", "python", "local", Counters(requests=1))
    with caplog.at_level(logging.WARNING, logger="ghostline.ledger"):
        started = time.monotonic()
        assert ledger.flush() is False
        assert time.monotonic() - started < 10
        ledger.record("inlineCompletion", "python", "local", Counters(requests=1))
        assert ledger.flush() is False
    assert not ledger.working
    assert ledger.rows() == {}
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "ledger is off" in warnings[0].getMessage()
    if holder is not None:
        holder.close()


def test_reset_removes_everything_and_says_what(tmp_path: Path) -> None:
    path = tmp_path / "usage.sqlite"
    ledger = ledger_at(path)
    ledger.record("hover", "python", "local", Counters(requests=1))
    ledger.record("inlineCompletion", "python", "local", Counters(requests=1))
    ledger.record_session("Neovim", True)
    ledger.flush()
    ledger.record("hover", "go", "local", Counters(requests=1))
    assert ledger.reset() == {"usage": 2, "sessions": 1, "buffered": 1}
    assert ledger.rows() == {} and ledger.sessions() == {}
    assert ledger_at(tmp_path / "missing.sqlite").reset() == {
        "usage": 0, "sessions": 0, "buffered": 0}


def test_no_path_records_nothing(tmp_path: Path) -> None:
    ledger = Ledger(None)
    ledger.record("hover", "python", "local", Counters(requests=1))
    assert ledger.rows() == {} and not ledger.flush()


def test_stats_rows_word_the_acceptance_of_each_feature() -> None:
    from ghostline.stats_cli import render_table, row_dict

    day = local_day()
    hover = row_dict(RowKey(day, "hover", "go", "local"), Counters(requests=2, shown=2))
    unknown = row_dict(RowKey(day, "inlineCompletion", "go", "local"), Counters(shown=3))
    known = row_dict(RowKey(day, "inlineCompletion", "python", "local"),
                     Counters(shown=4, shown_tracked=4, accepted=1))
    assert [r["acceptance"] for r in (hover, unknown, known)] == ["n/a", "unknown", "known"]
    assert known["acceptanceRate"] == 0.25
    table = render_table([hover, unknown, known]).splitlines()
    assert table[0].split()[:4] == ["day", "feature", "language", "backend"]
    assert " - " in table[1] and "unknown" in table[2] and "25%" in table[3]
