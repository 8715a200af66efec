"""The hover part of `ghostline demo`: docstrings shown, generated, cached and inserted.

``demo_hover(session, root)`` runs on a started ``EditorSession`` over the sample project
(``demo_data/shop``); ``HoverSession`` adds hover and code-action requests to the client
(the benchmark uses it too).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.client import LanguageClient

from ghostline.lsp_client import EditorSession


class HoverSession(EditorSession):
    """An editor session that can also hover and run the "Insert docstring" action."""

    async def hover(
        self, uri: str, line: int, character: int, timeout: float = 60
    ) -> tuple[str, float]:
        """Hover at a position; returns the Markdown shown (or "") and the latency."""
        return await request_hover(self.client, uri, line, character, timeout)

    async def docstring_action(
        self, uri: str, line: int, character: int = 0, timeout: float = 120
    ) -> types.CodeAction | None:
        """List code actions at a position and resolve the "Insert docstring" one."""
        return await request_docstring_action(self.client, uri, line, character, timeout)

    async def hover_status(self) -> dict[str, Any]:
        return await request_hover_status(self.client)


async def request_hover(
    client: LanguageClient, uri: str, line: int, character: int, timeout: float = 60
) -> tuple[str, float]:
    started = time.perf_counter()
    result = await asyncio.wait_for(
        client.text_document_hover_async(types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=line, character=character),
        )),
        timeout,
    )
    return hover_text(result), time.perf_counter() - started


async def request_docstring_action(
    client: LanguageClient, uri: str, line: int, character: int = 0, timeout: float = 120
) -> types.CodeAction | None:
    position = types.Position(line=line, character=character)
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        range=types.Range(start=position, end=position),
        context=types.CodeActionContext(diagnostics=[]),
    ))
    for action in actions or []:
        data = getattr(action, "data", None)
        if isinstance(action, types.CodeAction) and isinstance(data, dict) and \
                data.get("provider") == "docstring":
            return await asyncio.wait_for(client.code_action_resolve_async(action), timeout)
    return None


async def request_hover_status(client: LanguageClient) -> dict[str, Any]:
    result = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="ghostline.hoverStatus"))
    return result if isinstance(result, dict) else {}


def hover_text(result: types.Hover | None) -> str:
    if result is None:
        return ""
    contents = result.contents
    if isinstance(contents, types.MarkupContent):
        return contents.value
    if isinstance(contents, str):
        return contents
    if isinstance(contents, types.MarkedStringWithLanguage):
        return contents.value
    return "\n".join(c if isinstance(c, str) else c.value for c in contents)


def apply_edit(text: str, action: types.CodeAction | None) -> str | None:
    """The document text after the action's single-document edit (ASCII text assumed)."""
    if action is None or action.edit is None or not action.edit.document_changes:
        return None
    change = action.edit.document_changes[0]
    if not isinstance(change, types.TextDocumentEdit):
        return None
    lines = text.split("\n")
    for edit in sorted(change.edits, key=lambda e: (e.range.start.line, e.range.start.character),
                       reverse=True):
        start, end = edit.range.start, edit.range.end
        offset_start = sum(len(x) + 1 for x in lines[: start.line]) + start.character
        offset_end = sum(len(x) + 1 for x in lines[: end.line]) + end.character
        joined = "\n".join(lines)
        new_text = edit.new_text if isinstance(edit, types.TextEdit) else ""
        lines = (joined[:offset_start] + new_text + joined[offset_end:]).split("\n")
    return "\n".join(lines)


def _quote(markdown: str, indent: str = "      ") -> str:
    return "\n".join(indent + line for line in markdown.strip().split("\n"))


async def demo_hover(session: EditorSession, root: Path) -> None:
    """Hover a documented function, an undocumented one twice, then insert its docstring."""
    client = session.client
    path = root / "inventory.py"
    uri = session.open(path) if path.resolve().as_uri() not in session.versions else \
        path.resolve().as_uri()
    lines = session.texts[uri].split("\n")

    def where(name: str) -> tuple[int, int]:
        for number, line in enumerate(lines):
            column = line.find(f"def {name}(")
            if column >= 0:
                return number, column + 4
        raise LookupError(name)

    print("\nHover docstrings (textDocument/hover)")
    line, column = where("total_value")
    text, latency = await request_hover(client, uri, line, column)
    print(f"  total_value (has a docstring)     {latency * 1000:6.0f} ms  (no model call)")
    print(_quote(text))
    line, column = where("restock")
    started = time.perf_counter()
    text, latency = await request_hover(client, uri, line, column)
    print(f"  restock (no docstring), cold     {latency * 1000:6.0f} ms")
    print(_quote(text))
    was_pending = "generating" in text
    while "generating" in text and time.perf_counter() - started < 120:
        await asyncio.sleep(0.5)  # the user hovers again a moment later
        text, latency = await request_hover(client, uri, line, column)
    if was_pending and "generating" not in text:
        print(f"  ... the summary was ready {time.perf_counter() - started:.1f} s after the "
              "first hover:")
        print(_quote(text))
    text, latency = await request_hover(client, uri, line, column)
    print(f"  restock again                    {latency * 1000:6.0f} ms  (from the cache)")
    status = await request_hover_status(client)
    print(f"  hover model calls so far: {status.get('modelCalls')}, cache hits: "
          f"{status.get('cacheHits')}")
    action = await request_docstring_action(client, uri, line, column)
    new_text = apply_edit(session.texts[uri], action)
    if new_text is None:
        print("  Insert docstring: no edit")
        return
    new_lines = new_text.split("\n")
    print("  Insert docstring (code action) gives:")
    print("\n".join("      " + x for x in new_lines[line : line + 5]))
