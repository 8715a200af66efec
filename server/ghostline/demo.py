"""`ghostline demo`: the real server over stdio on a sample project, with timings."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ghostline.lsp_client import EditorSession

SAMPLE = Path(__file__).parent / "demo_data" / "shop"


@dataclass(frozen=True)
class Cursor:
    file: str
    line: int  # 0-based
    character: int
    what: str


CURSORS = (
    Cursor("cart.py", 7, 11, "after `return` in a function with a docstring"),
    Cursor("cart.py", 12, 4, "empty function body"),
    Cursor("cart.py", 17, 17, "mid-expression in a loop"),
)


def _show(text: str) -> str:
    return text.replace("\n", "⏎")


async def run_demo() -> int:
    with tempfile.TemporaryDirectory(prefix="ghostline-demo-") as tmp:
        root = Path(tmp) / "shop"
        shutil.copytree(SAMPLE, root)
        session = EditorSession()
        print(f"Ghostline demo on {root}")
        ready = await session.start(root)
        print(f"server started and model loaded in {ready:.2f} s\n")
        try:
            await _completions(session, root)
        finally:
            await session.stop()
    return 0


async def _completions(session: EditorSession, root: Path) -> None:
    print("Inline completion (ghost text): cold, then while typing")
    uris = {name: session.open(root / name) for name in sorted({c.file for c in CURSORS})}
    for cursor in CURSORS:
        uri = uris[cursor.file]
        line, column = cursor.line, cursor.character
        text, latency = await session.complete(uri, line, column)
        print(f"  {cursor.file}:{line + 1}:{column + 1} ({cursor.what})")
        print(f"    cold                      {latency * 1000:6.0f} ms  {_show(text)!r}")
        if len(text) >= 3 and "\n" not in text[:2]:
            typed = text[:2]
            session.insert(uri, line, column, typed)
            column += len(typed)
            rest, latency = await session.complete(uri, line, column)
            print(f"    typed {typed!r} of it           {latency * 1000:6.0f} ms  {_show(rest)!r}"
                  "  (no model call)")
        session.insert(uri, line, column, " ")
        column += 1
        new, latency = await session.complete(uri, line, column)
        print(f"    typed ' ' instead         {latency * 1000:6.0f} ms  {_show(new)!r}"
              "  (warm: cached prompt prefix)")
