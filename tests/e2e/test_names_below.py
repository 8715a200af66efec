"""On a new line in a function, the first tokens lean toward the names the code below
reads but nothing binds: through the real server with Gemma 3 270M, a model without FIM
tokens (a FIM model reads the code below itself: the hints are off for it)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytest_lsp import LanguageClient

from .conftest import suggestion_in_new_session

pytestmark = pytest.mark.model

#: The hints stand in for the suffix a model without FIM tokens cannot see.
NO_FIM = {"model": "gemma-3-270m"}

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
        client, root, {**NO_FIM, "namesBelowBias": enabled, "contextSources": []}, "settle.py",
        TEXT, 2, 4)


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
        client, tmp_path, {**NO_FIM, "contextSources": []}, "keep.py", text, 2, 4)
    assert suggestion_text.startswith("zq_kept = []"), suggestion_text


async def test_a_name_bound_on_the_line_is_the_one_its_block_reads(
        client: LanguageClient, tmp_path: Path) -> None:
    """``except …`` above a block that reads ``zq_problem``: whatever the model binds, the
    line binds ``zq_problem`` (the model cannot see the block)."""
    text = (
        "def load(path):\n"
        '    """The text of a file, or an empty string."""\n'
        "    try:\n"
        "        return open(path).read()\n"
        "    except \n"
        "        print(zq_problem)\n"
        "        return ''\n"
    )
    suggestion_text = await suggestion_in_new_session(
        client, tmp_path, {**NO_FIM, "contextSources": []}, "load.py", text, 4, 11)
    assert suggestion_text.rstrip().endswith("as zq_problem:"), suggestion_text
