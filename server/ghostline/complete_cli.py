"""`ghostline complete FILE:LINE:COL`: one completion, printed, without an editor."""

from __future__ import annotations

import sys
from pathlib import Path

from ghostline.engine.base import ModelLoadError
from ghostline.engine.local import LocalEngine
from ghostline.features.inline_completion import CompletionInput, InlineCompleter
from ghostline.index.languages import spec_for_path
from ghostline.prompts.fim import template_for_model
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
    settings = Settings(model=model)
    engine = LocalEngine(settings.model)
    try:
        info = await engine.start()
    except ModelLoadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    template = template_for_model(info)
    completer = InlineCompleter(lambda: engine, lambda: template, lambda: info.special_tokens)
    spec = spec_for_path(path)
    try:
        outcome = await completer.complete(CompletionInput(
            uri=path.resolve().as_uri(), path=str(path),
            language_id=spec.language_ids[0] if spec and spec.language_ids else "",
            text=text, offset=offset), settings)
    finally:
        await engine.close()
    print(outcome.text)
    detail = f"{outcome.mode} mode, {outcome.timings.get('total_s', 0.0) * 1000:.0f} ms"
    print(f"[{detail}{', ' + outcome.reason if outcome.reason else ''}]", file=sys.stderr)
    return 0
