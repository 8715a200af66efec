"""Final cleanup of a finished completion, before it is shown.

Order matters: leaked tokens and markdown fences go first (everything after them is junk),
then single-line mode keeps the first line, brackets are balanced against the suffix,
text the suffix already has is dropped, and what is left is trimmed. The result is either
text worth showing or ``""``, never whitespace only.
"""

from __future__ import annotations

from collections.abc import Sequence

from ghostline.index.text import CLOSERS, first_line, is_identifier_char

from .brackets import cut_unmatched_closer
from .mode import CompletionMode

__all__ = [
    "COMMON_MARKERS",
    "clean_completion",
    "cut_at_markers",
    "drop_repeated_suffix_lines",
    "drop_suffix_overlap",
    "strip_markdown_fence",
]

#: Template and chat tokens of common model families, cut even when the caller's list
#: misses them (a model can spell another family's token as plain text).
COMMON_MARKERS = (
    "<|fim_prefix|>",
    "<|fim_suffix|>",
    "<|fim_middle|>",
    "<|fim_pad|>",
    "<|file_sep|>",
    "<|repo_name|>",
    "<|endoftext|>",
    "<|file_separator|>",
    "<fim_prefix>",
    "<fim_suffix>",
    "<fim_middle>",
    "<file_sep>",
    "<｜fim▁begin｜>",
    "<｜fim▁hole｜>",
    "<｜fim▁end｜>",
    "<｜end▁of▁sentence｜>",
    "<|im_start|>",
    "<|im_end|>",
    "<|eot_id|>",
    "<|EOT|>",
    "<EOT>",
    "<start_of_turn>",
    "<end_of_turn>",
    "<eos>",
)
_MIN_PARTIAL_MARKER = 3  # a dangling "<|f" at the very end is a marker being spelled
_MIN_OVERLAP = 3  # shorter partial overlaps with the suffix are too likely to be chance
_FENCE = "```"


def cut_at_markers(text: str, markers: Sequence[str]) -> str:
    """``text`` up to the first marker, minus a dangling start of one at the very end."""
    tokens = [m.strip() for m in (*markers, *COMMON_MARKERS) if m.strip()]
    hits = [i for i in (text.find(t) for t in tokens) if i >= 0]
    if hits:
        text = text[: min(hits)]
    for token in tokens:
        for size in range(len(token) - 1, _MIN_PARTIAL_MARKER - 1, -1):
            if text.endswith(token[:size]):
                return text[:-size]
    return text


def strip_markdown_fence(text: str, prefix: str) -> str:
    """Drop a chat model's ```` ```lang ```` opening line and cut at its closing fence.

    Left alone when the cursor is itself inside a fenced block (editing Markdown).
    """
    if prefix.count(_FENCE) % 2 == 1:
        return text
    lines = text.split("\n")
    if lines[0].lstrip().startswith(_FENCE):
        lines = lines[1:]
    for i, line in enumerate(lines):
        if line.lstrip().startswith(_FENCE):
            return "\n".join(lines[:i])
    return "\n".join(lines)


def _meaningful(piece: str) -> bool:
    """Overlap made only of closing brackets is left to the bracket rule."""
    return any(ch not in CLOSERS and not ch.isspace() for ch in piece)


def drop_suffix_overlap(text: str, suffix: str) -> str:
    """Remove the end of ``text`` that repeats the start of the rest of the cursor line."""
    rest = first_line(suffix).strip()
    body = text.rstrip()
    if not rest or not body:
        return text
    for size in range(len(rest), 0, -1):
        piece = rest[:size]
        if size < len(rest) and size < _MIN_OVERLAP:
            break
        if body.endswith(piece) and _meaningful(piece):
            return body[:-size].rstrip()
    return text


def drop_repeated_suffix_lines(text: str, suffix: str, prefix_line: str = "") -> str:
    """Remove trailing lines of ``text`` that repeat the first lines below the cursor line.

    Line 0 of ``text`` continues ``prefix_line`` and is compared as the whole line.
    """
    below = [line.strip() for line in suffix.split("\n")[1:] if line.strip()]
    if not below:
        return text
    lines = text.split("\n")
    keys = [(prefix_line + lines[0]).strip(), *(line.strip() for line in lines[1:])]
    nonblank = [i for i, key in enumerate(keys) if key]
    for count in range(min(len(nonblank), len(below)), 0, -1):
        tail = nonblank[-count:]
        if [keys[i] for i in tail] == below[:count]:
            return "\n".join(lines[: tail[0]])
    return text


def _needs_space_before(rest: str) -> bool:
    """The rest of the line starts with something a trailing space separates from."""
    head = rest[:1]
    return bool(head) and (is_identifier_char(head) or head in "\"'`([{")


def _trim(text: str, prefix_line: str, suffix: str, mode: CompletionMode) -> str:
    """Strip trailing whitespace; keep one space the rest of the line needs; in multi-line
    mode put closers left on the cursor line ("{|}") on a line of their own; at column 0
    before code (Enter pressed at the start of a line) end with a newline, so the suggestion
    is a line of its own and the code stays on the next one."""
    lines = [line.rstrip() for line in text.split("\n")]
    while len(lines) > 1 and not lines[-1]:
        lines.pop()
    result = "\n".join(lines)
    if not result.strip():
        return ""
    rest = first_line(suffix)
    if len(lines) == 1 and text.endswith((" ", "\t")) and _needs_space_before(rest):
        result += " "  # "return |x" completed with "not " must not become "return notx"
    if mode == "multi" and len(lines) > 1 and rest.strip():
        indent = prefix_line[: len(prefix_line) - len(prefix_line.lstrip())]
        result += "\n" + indent
    elif _own_line(prefix_line, suffix):
        result += "\n"
    return result


def _own_line(prefix_line: str, suffix: str) -> bool:
    """Column 0 before code (Enter pressed at the start of a line): the suggestion goes in
    as a line of its own above the code on the cursor's line."""
    return not prefix_line and bool(first_line(suffix).strip())


def clean_completion(
    text: str,
    *,
    prefix: str,
    suffix: str,
    mode: CompletionMode,
    special_tokens: Sequence[str] = (),
) -> str:
    """The text to show for a model's ``text`` at the cursor between ``prefix`` and
    ``suffix`` (document text), or ``""``. ``special_tokens``: the template's markers."""
    if mode == "none":
        return ""
    text = cut_at_markers(text, special_tokens)
    text = strip_markdown_fence(text, prefix)
    if mode == "single":
        text = first_line(text)
    text = cut_unmatched_closer(text, prefix, suffix)
    prefix_line = prefix.rsplit("\n", 1)[-1]
    if _own_line(prefix_line, suffix):
        # A line of its own above the cursor's line repeats the code only as a whole line,
        # the cursor's line first.
        text = drop_repeated_suffix_lines(text, "\n" + suffix, prefix_line)
    else:
        text = drop_suffix_overlap(text, suffix)
        text = drop_repeated_suffix_lines(text, suffix, prefix_line)
    return _trim(text, prefix_line, suffix, mode)
