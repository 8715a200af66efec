"""On a blank line above deeper code, a line that does not open a block is asked for again:
through the real server with Gemma 3 270M, a model without FIM tokens (a FIM model reads
the code below itself: the check is off for it)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytest_lsp import LanguageClient

from ghostline.postprocess.fit import fits_below, misfit_below

from .conftest import suggestion_in_new_session

pytestmark = pytest.mark.model

#: The hints stand in for the suffix a model without FIM tokens cannot see.
NO_FIM = {"model": "gemma-3-270m"}

# The `raise` below is indented deeper: the new line must be a block header.
TEXT = (
    "def check(user):\n"
    "    name = user.name\n"
    "    \n"
    "        raise ValueError('no name')\n"
    "    return name\n"
)
BELOW = TEXT.split("\n", 3)[3]


async def suggestion(client: LanguageClient, root: Path, enabled: bool) -> str:
    return await suggestion_in_new_session(
        client, root, {**NO_FIM, "fitCodeBelow": enabled, "contextSources": []}, "check.py",
        TEXT, 2, 4)


async def test_the_line_above_deeper_code_opens_a_block(
        client: LanguageClient, tmp_path: Path) -> None:
    text = await suggestion(client, tmp_path, enabled=True)
    assert fits_below("    " + text, BELOW), text


async def test_without_the_check_the_model_writes_a_line_that_cannot_stand_there(
        client: LanguageClient, tmp_path: Path) -> None:
    """The control: if the model's first line fitted, the test above would prove nothing."""
    text = await suggestion(client, tmp_path, enabled=False)
    assert misfit_below("    " + text, BELOW) == "needs a block header", text
