"""Where an expression starts mid-line, the first tokens lean toward the names the file
imports but has not used yet: through the real server and the real default model."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytest_lsp import LanguageClient

from .conftest import suggestion_in_new_session

pytestmark = pytest.mark.model

# An invented name, imported among others and not used yet; the cursor is inside
# ``account.entries.append(`` on the last line.
TEXT = (
    "import logging\n"
    "from decimal import Decimal\n"
    "\n"
    "from .accounts import Account, find_account\n"
    "from .ledger import zq_post_entry\n"
    "from .rates import convert\n"
    "\n"
    "log = logging.getLogger(__name__)\n"
    "\n"
    "\n"
    "def book(amount: Decimal, currency: str, number: str) -> Account:\n"
    '    """Book an amount on an account and return the receipt."""\n'
    "    account = find_account(number)\n"
    "    if account is None:\n"
    "        raise LookupError(number)\n"
    "    value = convert(amount, currency)\n"
    "    account.entries.append()\n"
)
LINE = TEXT.count("\n", 0, TEXT.index("account.entries"))
COLUMN = len("    account.entries.append(")


async def suggestion(client: LanguageClient, root: Path, enabled: bool) -> str:
    return await suggestion_in_new_session(
        client, root, {"importsBias": enabled, "contextSources": []}, "book.py", TEXT, LINE, COLUMN)


async def test_the_argument_starts_with_the_name_imported_for_it(
        client: LanguageClient, tmp_path: Path) -> None:
    text = await suggestion(client, tmp_path, enabled=True)
    assert text.startswith("zq_post_entry("), text


async def test_without_the_bias_the_model_does_not_use_it(
        client: LanguageClient, tmp_path: Path) -> None:
    """The control: if the model used the import alone, the test above would prove nothing."""
    text = await suggestion(client, tmp_path, enabled=False)
    assert not text.startswith("zq_post_entry"), text
