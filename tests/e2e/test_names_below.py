"""On a new line in a function, the first tokens lean toward the names the code below
reads but nothing binds: through the real server and the real default model."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytest_lsp import LanguageClient

from .conftest import suggestion_in_new_session

pytestmark = pytest.mark.model

# The invented name appears only below the cursor: a prefix-only model cannot see it.
TEXT = (
    "def settle(invoices):\n"
    '    """Sum what the invoices still owe."""\n'
    "    \n"
    "    for invoice in invoices:\n"
    "        zq_owed_total += invoice.amount\n"
    "    return zq_owed_total\n"
)


async def suggestion(client: LanguageClient, root: Path, enabled: bool) -> str:
    return await suggestion_in_new_session(
        client, root, {"namesBelowBias": enabled, "contextSources": []}, "settle.py", TEXT, 2, 4)


async def test_the_new_line_starts_with_the_name_the_code_below_needs(
        client: LanguageClient, tmp_path: Path) -> None:
    text = await suggestion(client, tmp_path, enabled=True)
    assert text.startswith("zq_owed_total"), text


async def test_without_the_bias_the_model_does_not_find_it(
        client: LanguageClient, tmp_path: Path) -> None:
    """The control: if the model found the name alone, the test above would prove nothing."""
    text = await suggestion(client, tmp_path, enabled=False)
    assert not text.startswith("zq_owed_total"), text


async def test_the_first_use_below_gives_the_value_the_name_starts_as(
        client: LanguageClient, tmp_path: Path) -> None:
    """``zq_kept.append`` below: the new line is ``zq_kept = []``, whatever the model
    would have put after the name."""
    text = (
        "def keep(values):\n"
        '    """The values above ten."""\n'
        "    \n"
        "    for value in values:\n"
        "        if value > 10:\n"
        "            zq_kept.append(value)\n"
        "    return zq_kept\n"
    )
    suggestion_text = await suggestion_in_new_session(
        client, tmp_path, {"contextSources": []}, "keep.py", text, 2, 4)
    assert suggestion_text.startswith("zq_kept = []"), suggestion_text
