"""End the prompt on a clean token boundary, then give back what the user already typed.

Tokenizers attach a space to the word after it (`` return``) and merge runs of spaces, so a
prompt that ends in spaces asks the model to continue from a token it has rarely seen split
that way. Cutting the trailing spaces/tabs at the cursor raised prefix-only edit similarity
from 17.4 to 38.4 with the default model (docs/design.md).

Decision: only spaces and tabs after the last newline are cut (``"x = "`` -> ``"x ="``,
``"\\n    "`` -> ``"\\n"``). Newlines stay: every tokenizer we target has a token boundary after
``\\n`` that is common in training, and the newline tells the model the line is finished.
The cut indentation is re-attached by ``reattach``, which removes it from the completion so
the inserted text starts exactly at the cursor.
"""

from __future__ import annotations

__all__ = ["StreamingReattacher", "reattach", "split_trailing_whitespace"]


def split_trailing_whitespace(prefix: str) -> tuple[str, str]:
    """Split ``prefix`` into ``(clean_prefix, stripped)`` where ``stripped`` is the trailing
    spaces/tabs of the cursor line and ``clean_prefix + stripped == prefix``."""
    clean = prefix.rstrip(" \t")
    return clean, prefix[len(clean) :]


def reattach(stripped: str, completion: str) -> str:
    """Completion text to insert at the cursor, given the whitespace cut from the prompt.

    The model continues ``clean_prefix``, so its output usually starts with ``stripped``
    (or more whitespace). That much is already in the document and is removed. When the
    model's leading whitespace differs (fewer spaces, tabs for spaces), the user's typed
    whitespace wins and the model's leading spaces/tabs are dropped.
    """
    if not stripped:
        return completion
    if completion.startswith(stripped):
        return completion[len(stripped) :]
    return completion.lstrip(" \t")


class StreamingReattacher:
    """``reattach`` for streamed text: leading whitespace is held until it can be decided."""

    def __init__(self, stripped: str) -> None:
        self._stripped = stripped
        self._buffer = ""
        self._decided = not stripped

    def feed(self, chunk: str) -> str:
        """Return the part of the stream that is final."""
        if self._decided:
            return chunk
        self._buffer += chunk
        if self._buffer.startswith(self._stripped) or self._buffer.lstrip(" \t"):
            self._decided = True
            text, self._buffer = self._buffer, ""
            return reattach(self._stripped, text)
        return ""

    def finish(self) -> str:
        """The stream ended: release whatever is still held."""
        if self._decided:
            return ""
        self._decided = True
        return reattach(self._stripped, self._buffer)
