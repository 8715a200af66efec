"""The first tokens after ``receiver.`` are biased toward the members the index knows the
receiver's type has: through the real server and the real default model."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from pytest_lsp import LanguageClient

from .conftest import inline_suggestion, open_document, server_status, start_session

pytestmark = pytest.mark.model

LEDGER = '''class Ledger:
    """Money owed, per account."""

    def __init__(self) -> None:
        self.rows: dict[str, float] = {}

    def tally_owed_frobnications(self) -> float:
        return sum(self.rows.values())

    def zq_archive(self, year: int) -> None:
        self.rows.clear()
'''
# Context off: the model sees only this file, so nothing but the index's knowledge of
# Ledger can lead it to the invented member names.
TEXT = "from ledger import Ledger\n\n\ndef close(book: Ledger) -> float:\n    return book."
MEMBERS = ("tally_owed_frobnications", "zq_archive", "rows")


async def suggestion(client: LanguageClient, root: Path, member_bias: bool) -> str:
    (root / "ledger.py").write_text(LEDGER, encoding="utf-8")
    await start_session(client, root, {"memberBias": member_bias, "contextSources": []})
    for _ in range(200):
        if (await server_status(client)).get("indexedFiles"):
            break
        await asyncio.sleep(0.1)
    uri = open_document(client, root / "main.py", TEXT)
    return await inline_suggestion(client, uri, 4, len("    return book."))


async def test_the_first_tokens_spell_a_member_of_the_receivers_type(
        client: LanguageClient, tmp_path: Path) -> None:
    text = await suggestion(client, tmp_path, member_bias=True)
    assert text.startswith(MEMBERS), text


async def test_without_the_bias_the_model_guesses(client: LanguageClient,
                                                  tmp_path: Path) -> None:
    """The control: the same cursor without the bias does not find the invented names
    (if it did, the test above would prove nothing)."""
    text = await suggestion(client, tmp_path, member_bias=False)
    assert not text.startswith(("tally_owed_frobnications", "zq_archive")), text
