"""Text helpers shared by the prompt builders."""

from __future__ import annotations

__all__ = ["comment_out"]


def comment_out(text: str, line_comment: str) -> str:
    """Every line of ``text`` as a line comment (blank lines keep just the marker)."""
    return "".join(
        f"{line_comment} {line}\n" if line.strip() else f"{line_comment}\n"
        for line in text.strip("\n").split("\n")
    )
