"""The whole post-processing chain for a completion that arrives in one piece.

Streaming callers run ``StreamingStopper`` themselves (to stop generation early) and then
``clean_completion``; this module does the same for whole texts (HTTP backends, tests).
"""

from __future__ import annotations

from collections.abc import Sequence

from .cleanup import clean_completion
from .healing import reattach
from .mode import CompletionMode, block_indent
from .stops import StreamingStopper

__all__ = ["postprocess_completion"]


def postprocess_completion(
    raw: str,
    *,
    prefix: str,
    suffix: str,
    mode: CompletionMode,
    stop_tokens: Sequence[str] = (),
    stripped: str = "",
    indent: int | None = None,
    max_lines: int = 12,
    truncated: bool = False,
    tab_size: int = 4,
) -> str:
    """Text to insert at the cursor for the model output ``raw``, or ``""``.

    ``prefix``/``suffix``: the document around the cursor (``prefix`` as typed, trailing
    spaces included). ``stripped``: whitespace cut from the prompt by
    ``split_trailing_whitespace``. ``indent``: the block indentation (default from
    ``block_indent``). ``truncated``: generation hit a token or time limit.
    """
    if mode == "none":
        return ""
    lines = prefix.split("\n")
    prefix_line = lines[-1]
    if indent is None:
        indent = block_indent(prefix_line, lines[-8:-1], tab_size=tab_size)
    stopper = StreamingStopper(
        mode,
        block_indent=indent,
        suffix=suffix,
        line_prefix=prefix_line,
        stop_tokens=stop_tokens,
        max_lines=max_lines,
        tab_size=tab_size,
        markdown_fences=prefix.count("```") % 2 == 0,
    )
    text, stopped = stopper.feed(reattach(stripped, raw))
    if not stopped:
        text += stopper.finish(truncated=truncated)
    return clean_completion(
        text, prefix=prefix, suffix=suffix, mode=mode, special_tokens=stop_tokens
    )
