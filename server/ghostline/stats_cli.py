"""`ghostline stats`: what the local usage ledger holds (see `ghostline.ledger`)."""

from __future__ import annotations

import json
import os
import sqlite3
import sys
from pathlib import Path
from typing import Any

from ghostline.ledger import Counters, Ledger, RowKey, default_path
from ghostline.lsp.usage import ACCEPTABLE
from ghostline.settings import Settings, TokenPrice

DEFAULT_DAYS = 7


def default_settings_path() -> Path:
    """Where `ghostline stats` looks for settings (backend prices) without ``--settings``:
    ``$XDG_CONFIG_HOME/ghostline/settings.json``, by default ``~/.config/ghostline/…``."""
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "ghostline" / "settings.json"


def load_prices(path: Path) -> dict[str, TokenPrice]:
    """The priced backends of a settings file: the LSP settings as a plain object, under a
    ``ghostline`` key, or as VS Code's ``ghostline.backends`` key. Raises OSError or
    ValueError when the file cannot be read or is not a JSON object."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(raw, dict):
        raise ValueError("not a JSON object")
    if isinstance(raw.get("ghostline"), dict):
        raw = raw["ghostline"]
    backends = raw.get("backends", raw.get("ghostline.backends"))
    if backends is None:
        return {}
    settings = Settings.from_dict({"backends": backends})  # warns about invalid prices
    return {name: spec.price_per_million_tokens for name, spec in settings.backends.items()
            if spec.price_per_million_tokens is not None}


def cost_report(rows: list[dict[str, Any]], prices: dict[str, TokenPrice]) -> dict[str, Any]:
    """Per priced backend: what its calls cost, and what the tokens of all requests (every
    backend, local included) would have cost at its prices."""
    total = {"requests": 0, "promptTokens": 0, "generatedTokens": 0}
    per_backend: dict[str, dict[str, int]] = {}
    for row in rows:
        counts = per_backend.setdefault(row["backend"], dict.fromkeys(total, 0))
        for name in total:
            counts[name] += row[name]
            total[name] += row[name]
    backends = {}
    for name, price in sorted(prices.items()):
        own = per_backend.get(name, dict.fromkeys(total, 0))
        backends[name] = {
            "pricePerMillionTokens": {"input": price.input, "output": price.output},
            **own,
            "cost": round(price.cost(own["promptTokens"], own["generatedTokens"]), 6),
            "allRequestsCost": round(price.cost(total["promptTokens"],
                                                total["generatedTokens"]), 6),
        }
    return {"allRequests": total, "backends": backends}


def _money(value: float) -> str:
    return f"{value:,.2f}" if value >= 10 else f"{value:.4f}"


def render_costs(costs: dict[str, Any], source: Path) -> str:
    """The cost lines of `ghostline stats` (prices in the unit the settings give them)."""
    total = costs["allRequests"]
    lines = [f"cost at the prices per million tokens in {source}:"]
    for name, entry in costs["backends"].items():
        price = entry["pricePerMillionTokens"]
        lines.append(
            f"  {name} (input {price['input']:g}, output {price['output']:g}): "
            f"{entry['requests']} requests, {entry['promptTokens']:,} prompt + "
            f"{entry['generatedTokens']:,} generated tokens: {_money(entry['cost'])}")
        lines.append(
            f"    had all {total['requests']} requests gone to {name} "
            f"({total['promptTokens']:,} + {total['generatedTokens']:,} tokens): "
            f"{_money(entry['allRequestsCost'])}")
    return "\n".join(lines)


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


def run_stats(days: int = DEFAULT_DAYS, as_json: bool = False, reset: bool = False,
              settings: Path | None = None) -> int:
    """Print the ledger's rows of the last `days` days; with prices in `settings` (else the
    default settings file, if there is one), what the priced backends cost."""
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
    settings_path = settings or default_settings_path()
    prices: dict[str, TokenPrice] = {}
    if settings is not None or settings_path.is_file():
        try:
            prices = load_prices(settings_path)
        except (OSError, ValueError) as exc:
            print(f"{'error' if settings else 'warning'}: cannot read the settings "
                  f"{settings_path}: {exc}", file=sys.stderr)
            if settings is not None:
                return 1
    rows = [row_dict(key, counters) for key, counters in ledger.rows(days).items()]
    sessions = [{"day": day, "client": client, "sessions": count, "acceptReported": reported}
                for (day, client), (count, reported) in sorted(ledger.sessions(days).items())]
    if not ledger.working:
        print(f"error: the usage ledger {path} cannot be read (see the warning above)",
              file=sys.stderr)
        return 1
    costs = cost_report(rows, prices) if prices else None
    if as_json:
        report: dict[str, Any] = {"path": str(path), "days": days, "rows": rows,
                                  "sessions": sessions}
        if costs is not None:
            report["costs"] = {"settings": str(settings_path), **costs}
        print(json.dumps(report, indent=2))
        return 0
    if not rows:
        print(f"no usage recorded in the last {days} days ({path})")
        return 0
    print(render_table(rows))
    if any(row["acceptance"] == "unknown" for row in rows):
        print("\nrate unknown: suggestions shown only to editors that never reported an "
              "accepted one (their client does not run the items' accept command)")
    if costs is not None:
        print("\n" + render_costs(costs, settings_path))
    print(f"\nledger: {path} (local only; `ghostline stats --reset` clears it)")
    return 0
