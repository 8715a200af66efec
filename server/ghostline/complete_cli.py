"""`ghostline complete FILE:LINE:COL`: one completion, printed, without an editor.

The completion is the server's: the same application core (`AppCore`) builds the prompt
with the model's tokenizer and template and asks the model through the router; only the
workspace index is missing (no other files' code)."""

from __future__ import annotations

import sys
from pathlib import Path

from ghostline.core import AppCore
from ghostline.engine.base import ModelLoadError
from ghostline.features.inline_completion import CompletionInput
from ghostline.index.languages import spec_for_path
from ghostline.settings import Settings


def parse_location(location: str) -> tuple[Path, int, int]:
    """FILE:LINE:COL with 1-based line and column (column in characters)."""
    path, line, column = location.rsplit(":", 2)
    return Path(path), int(line), int(column)


def offset_of(text: str, line: int, column: int) -> int:
    lines = text.splitlines(keepends=True)
    if line < 1 or line > max(len(lines), 1):
        raise ValueError(f"line {line} is outside the file (1..{len(lines)})")
    start = sum(len(previous) for previous in lines[: line - 1])
    current = lines[line - 1].rstrip("\r\n") if lines else ""
    return start + min(max(column - 1, 0), len(current))


async def complete_at(location: str, model: str = "") -> int:
    try:
        path, line, column = parse_location(location)
        text = path.read_text(encoding="utf-8")
        offset = offset_of(text, line, column)
    except (ValueError, OSError) as exc:
        print(f"error: {exc} (expected FILE:LINE:COL)", file=sys.stderr)
        return 2
    core = AppCore(Settings(model=model))
    try:
        await core.start_model()
    except ModelLoadError as exc:
        await core.close()
        print(f"error: {exc}", file=sys.stderr)
        return 1
    spec = spec_for_path(path)
    try:
        outcome = await core.completer.complete(CompletionInput(
            uri=path.resolve().as_uri(), path=str(path),
            language_id=spec.language_ids[0] if spec and spec.language_ids else "",
            text=text, offset=offset), core.settings)
    finally:
        await core.close()
    print(outcome.text)
    detail = f"{outcome.mode} mode, {outcome.timings.get('total_s', 0.0) * 1000:.0f} ms"
    print(f"[{detail}{', ' + outcome.reason if outcome.reason else ''}]", file=sys.stderr)
    return 0
