"""`ghostline stats`: what the local usage ledger holds (see `ghostline.ledger`)."""

from __future__ import annotations

import json
import sqlite3
import sys
from typing import Any

from ghostline.ledger import Counters, Ledger, RowKey, default_path
from ghostline.lsp.usage import ACCEPTABLE

DEFAULT_DAYS = 7


def row_dict(key: RowKey, counters: Counters) -> dict[str, Any]:
    """One ledger row as JSON: the counters, the acceptance rate and the latency percentiles
    (milliseconds, the upper edge of their histogram bucket; -1: slower than a minute)."""
    rate = counters.acceptance_rate()
    if key.feature not in ACCEPTABLE and counters.accepted == 0:
        acceptance = "n/a"  # hovers and generated tests are not accepted or rejected
    elif rate is not None:
        acceptance = "known"
    elif counters.shown > 0:
        acceptance = "unknown"  # shown only to clients that never ran the accept command
    else:
        acceptance = "none shown"
    return {
        "day": key.day, "feature": key.feature, "language": key.language,
        "backend": key.backend,
        "requests": counters.requests, "shown": counters.shown,
        "shownTracked": counters.shown_tracked, "accepted": counters.accepted,
        "acceptedChars": counters.accepted_chars,
        "acceptanceRate": round(rate, 3) if rate is not None else None,
        "acceptance": acceptance,
        "escalations": counters.escalations, "fallbacks": counters.fallbacks,
        "promptTokens": counters.prompt_tokens, "generatedTokens": counters.generated_tokens,
        "latencyP50Ms": counters.percentile_ms(0.5),
        "latencyP90Ms": counters.percentile_ms(0.9),
    }


def _ms(value: int | None) -> str:
    if value is None:
        return "-"
    return ">60s" if value < 0 else f"≤{value}"


def _rate(row: dict[str, Any]) -> str:
    if row["acceptanceRate"] is not None:
        return f"{row['acceptanceRate'] * 100:.0f}%"
    return "unknown" if row["acceptance"] == "unknown" else "-"


COLUMNS = ("day", "feature", "language", "backend", "requests", "shown", "accepted", "rate",
           "chars", "escal.", "fallb.", "tok in", "tok out", "p50 ms", "p90 ms")


def render_table(rows: list[dict[str, Any]]) -> str:
    lines = [list(COLUMNS)]
    for row in rows:
        lines.append([row["day"], row["feature"], row["language"] or "-", row["backend"] or "-",
                      str(row["requests"]), str(row["shown"]), str(row["accepted"]), _rate(row),
                      str(row["acceptedChars"]), str(row["escalations"]), str(row["fallbacks"]),
                      str(row["promptTokens"]), str(row["generatedTokens"]),
                      _ms(row["latencyP50Ms"]), _ms(row["latencyP90Ms"])])
    widths = [max(len(line[i]) for line in lines) for i in range(len(COLUMNS))]
    text = ["  ".join(cell.ljust(width) if i < 4 else cell.rjust(width)
                      for i, (cell, width) in enumerate(zip(line, widths, strict=True))).rstrip()
            for line in lines]
    return "\n".join(text)


def run_stats(days: int = DEFAULT_DAYS, as_json: bool = False, reset: bool = False) -> int:
    path = default_path()
    if path is None:
        print("the usage ledger is off (GHOSTLINE_LEDGER=off)", file=sys.stderr)
        return 1
    ledger = Ledger(path, flush_interval_s=0)
    if reset:
        try:
            removed = ledger.reset()
        except sqlite3.Error as exc:
            print(f"error: cannot clear {path}: {exc}", file=sys.stderr)
            return 1
        if as_json:
            print(json.dumps({"path": str(path), "removed": removed}))
        else:
            print(f"removed {removed['usage']} usage rows and {removed['sessions']} session rows "
                  f"from {path}")
        return 0
    rows = [row_dict(key, counters) for key, counters in ledger.rows(days).items()]
    sessions = [{"day": day, "client": client, "sessions": count, "acceptReported": reported}
                for (day, client), (count, reported) in sorted(ledger.sessions(days).items())]
    if not ledger.working:
        print(f"error: the usage ledger {path} cannot be read (see the warning above)",
              file=sys.stderr)
        return 1
    if as_json:
        print(json.dumps({"path": str(path), "days": days, "rows": rows,
                          "sessions": sessions}, indent=2))
        return 0
    if not rows:
        print(f"no usage recorded in the last {days} days ({path})")
        return 0
    print(render_table(rows))
    if any(row["acceptance"] == "unknown" for row in rows):
        print("\nrate unknown: suggestions shown only to editors that never reported an "
              "accepted one (their client does not run the items' accept command)")
    print(f"\nledger: {path} (local only; `ghostline stats --reset` clears it)")
    return 0
