"""`ghostline bench load`, the typing storm for a few seconds: structure only, no timings."""

from __future__ import annotations

from pathlib import Path

import pytest

from ghostline.bench.load import format_report, typing_storm
from ghostline.lsp_client import EditorSession

pytestmark = pytest.mark.model


async def test_short_typing_storm_adds_up(session: EditorSession, project: Path) -> None:
    result = await typing_storm(session, project, seconds=4.0)
    assert result.keystrokes >= 20
    assert result.requests == result.keystrokes
    assert result.answered + result.cancelled + result.errors + result.unanswered \
        == result.requests
    assert (result.errors, result.unanswered) == (0, 0), result.error_messages
    assert result.answered >= 1  # the last request has no successor to cancel it
    assert result.cancelled >= 1
    assert 0 < result.generations < result.requests  # only some requests reach the model
    assert result.rss_start_mb > 0
    assert result.rss_end_mb > 0
    lines = format_report(result, None, None).split("\n")
    rows = {name.strip(): value.strip() for name, value in (ln.split("  ", 1) for ln in lines)}
    assert rows["storm: requests sent"] == str(result.requests)
    assert rows["storm: model generations started"] == str(result.generations)
