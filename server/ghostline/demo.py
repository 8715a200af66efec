"""`ghostline demo`: the real server over stdio on a sample project, with timings."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ghostline.demo_hover import demo_hover
from ghostline.demo_tests import GenerateTestsSession, demo_generate_tests
from ghostline.lsp_client import EditorSession

SAMPLE = Path(__file__).parent / "demo_data" / "shop"
#: Seconds a user spends reading a suggestion before taking it.
READING_S = 0.5


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


def _models_line(status: dict[str, object]) -> str:
    """Which model answers each feature (the `auto` choice on this machine)."""
    auto = status.get("autoModels")
    if isinstance(auto, dict) and auto:
        return "models (auto, by this machine's speed): " + ", ".join(
            f"{feature} {model}" for feature, model in auto.items())
    return f"model: {status.get('model')}"


def _show(text: str) -> str:
    return text.replace("\n", "⏎")


async def run_demo() -> int:
    with tempfile.TemporaryDirectory(prefix="ghostline-demo-") as tmp:
        root = Path(tmp) / "shop"
        shutil.copytree(SAMPLE, root)
        # The session answers workspace/applyEdit too, as the Generate tests step needs;
        # generated tests are run (and failing ones repaired or left out) before applying.
        session = GenerateTestsSession({"runGeneratedTests": "always"})
        print(f"Ghostline demo on {root}")
        ready = await session.start(root)
        print(f"server started and model loaded in {ready:.2f} s")
        print(_models_line(await session.status()) + "\n")
        try:
            await _completions(session, root)
            await demo_hover(session, root)
            await demo_generate_tests(session, root)
        finally:
            await session.stop()
    return 0


async def _completions(session: EditorSession, root: Path) -> None:
    print("Inline completion (ghost text): cold, while typing through it, after accepting it")
    uris = {name: session.open(root / name) for name in sorted({c.file for c in CURSORS})}
    for cursor in CURSORS:
        uri = uris[cursor.file]
        line, column = cursor.line, cursor.character
        text, latency = await session.complete(uri, line, column)
        print(f"  {cursor.file}:{line + 1}:{column + 1} ({cursor.what})")
        print(f"    cold                      {latency * 1000:6.0f} ms  {_show(text)!r}")
        first_line = text.split("\n")[0]
        if len(first_line) < 3:
            continue
        typed = first_line[:2]
        await asyncio.sleep(READING_S)  # the suggestion is read before it is taken
        session.insert(uri, line, column, typed)
        column += len(typed)
        rest, latency = await session.complete(uri, line, column)
        print(f"    typed {typed!r} of it           {latency * 1000:6.0f} ms  {_show(rest)!r}"
              "  (no model call)")
        session.insert(uri, line, column, first_line[2:])  # Tab: the line accepted
        column += len(first_line) - 2
        after, latency = await session.complete(uri, line, column)
        source = ((await session.status()).get("lastCompletion") or {}).get("source")
        how = ("prepared while the suggestion was read" if source == "cache"
               else "warm: cached prompt prefix")
        print(f"    accepted, asked again     {latency * 1000:6.0f} ms  {_show(after)!r}  ({how})")
    for name, uri in uris.items():  # the edits were a demonstration: back to the files
        session.reopen(uri, (root / name).read_text(encoding="utf-8"))
