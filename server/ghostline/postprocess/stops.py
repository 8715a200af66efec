"""Streaming stop rules: decide, chunk by chunk, when a completion is finished.

The model's text arrives in small chunks; ``StreamingStopper.feed`` returns the part that is
final and whether generation should stop now. A line is only released once it is complete
and passed every rule, so nothing is emitted that a later rule would take back:

- a template/special token ends the text at once and is never emitted;
- single-line mode: the first newline ends it;
- multi-line mode: a line indented less than ``block_indent`` (the block is over), a line
  equal to the first non-blank line of the suffix (the code below is being repeated),
  a line that repeats the previous line or a cycle of up to four lines (held back until the
  cycle is complete or broken), two blank lines in a row, ``max_lines`` lines;
- a chat model's Markdown fence: the opening fence line is skipped, a later one ends the text.

Line 0 is the rest of the cursor line: it is compared with ``line_prefix`` in front.
The time limit lives with the caller: when it passes, call ``finish(truncated=True)``.
"""

from __future__ import annotations

from collections.abc import Sequence

from ghostline.index.text import first_nonblank_line, indent_width

from .mode import CompletionMode

__all__ = ["MAX_CYCLE", "StreamingStopper"]

#: Longest repeating cycle of lines that is detected.
MAX_CYCLE = 4


class StreamingStopper:
    """Feed model text chunk by chunk; collect what ``feed`` and ``finish`` return."""

    def __init__(
        self,
        mode: CompletionMode,
        *,
        block_indent: int = 0,
        suffix: str = "",
        line_prefix: str = "",
        stop_tokens: Sequence[str] = (),
        max_lines: int = 12,
        tab_size: int = 4,
        markdown_fences: bool = True,
    ) -> None:
        """``suffix``: the document text after the cursor; ``line_prefix``: the cursor line's
        text before the cursor; ``stop_tokens``: strings that end generation (never shown);
        ``markdown_fences``: a chat model's opening fence line is skipped (the code inside is
        indented like the cursor line) and a fence line ends the text; pass False when the
        cursor is inside a Markdown code block."""
        self.mode = mode
        self.block_indent = block_indent
        self.max_lines = max_lines
        self.tab_size = tab_size
        self._suffix_line = first_nonblank_line(suffix)
        self._line_prefix = line_prefix
        self._fences = markdown_fences
        self._fenced = False  # an opening fence was skipped
        self._indent = line_prefix[: len(line_prefix) - len(line_prefix.lstrip())]
        self._stop_tokens = tuple(t for t in stop_tokens if t)
        self._pending = ""  # the incomplete current line
        self._seen = 0  # complete lines seen (line 0 is the rest of the cursor line)
        self._accepted: list[str] = []  # non-blank lines emitted, for repetition checks
        self._emitted_lines = 0
        self._blank_run = 0  # blank lines waiting for a non-blank line
        self._held: list[tuple[int, str]] = []  # (blank lines before, line): a possible cycle
        self._text: list[str] = []
        self.stopped = mode == "none"
        self.reason: str | None = "mode" if self.stopped else None

    @property
    def text(self) -> str:
        """Everything emitted so far."""
        return "".join(self._text)

    def feed(self, chunk: str) -> tuple[str, bool]:
        """Add model text; return ``(text that is now final, stop generation?)``."""
        if self.stopped:
            return "", True
        start = len(self._text)
        self._pending += chunk
        cut = self._find_stop_token(self._pending)
        if cut is not None:
            self._pending = self._pending[:cut]
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            if self.stopped:
                break
            self._on_line(line)
        if cut is not None and not self.stopped:
            self._finish_pending(truncated=False)
            self._stop("stop_token")
        return "".join(self._text[start:]), self.stopped

    def finish(self, *, truncated: bool = False) -> str:
        """Generation ended: release what is still held back and return it.

        ``truncated``: it ended on a token or time limit, so in multi-line mode an
        unfinished last line is dropped (when a line was already emitted).
        """
        if self.stopped:
            return ""
        start = len(self._text)
        self._finish_pending(truncated=truncated)
        if not self.stopped:
            self._release_held()
            self._stop("end")
        return "".join(self._text[start:])

    # -- rules ---------------------------------------------------------------------------

    def _find_stop_token(self, text: str) -> int | None:
        hits = [i for i in (text.find(t) for t in self._stop_tokens) if i >= 0]
        return min(hits) if hits else None

    def _finish_pending(self, *, truncated: bool) -> None:
        line, self._pending = self._pending, ""
        if truncated and self.mode == "multi" and self._emitted_lines:
            return
        if line or self._seen == 0:
            self._on_line(line, ended_by_newline=False)

    def _stop(self, reason: str) -> None:
        if not self.stopped:
            self.stopped = True
            self.reason = reason

    def _repeats_suffix(self, line: str) -> bool:
        return bool(self._suffix_line) and line.strip() == self._suffix_line

    def _on_line(self, line: str, *, ended_by_newline: bool = True) -> None:
        index = self._seen
        self._seen += 1
        if self._fences and line.lstrip().startswith("```"):
            if index == 0 and not self._fenced:
                self._fenced = True
                self._seen = 0  # the next line is the first line of code
            else:
                self._stop("fence")
            return
        if self._fenced and index > 0 and line.strip():
            line = self._indent + line
        if index == 0:
            if self._repeats_suffix(self._line_prefix + line):
                self._stop("suffix_line")
                return
            self._emit(0, line)
            if self.mode == "single" and ended_by_newline:
                self._stop("newline")
            return
        if not line.strip():
            self._blank_run += 1
            if self._blank_run >= 2:
                self._stop("blank_lines")
            return
        if indent_width(line, self.tab_size) < self.block_indent:
            self._stop("dedent")
        elif self._repeats_suffix(line):
            self._stop("suffix_line")
        else:
            self._check_repetition(line)

    def _cycle(self, candidate: list[str]) -> str:
        """'complete' if ``candidate`` repeats the lines before it, 'partial' if it may."""
        status = "none"
        history = self._accepted
        for period in range(1, MAX_CYCLE + 1):
            if len(candidate) > period or len(history) < period:
                continue
            if candidate == history[len(history) - period :][: len(candidate)]:
                if len(candidate) == period:
                    return "complete"
                status = "partial"
        return status

    def _check_repetition(self, line: str) -> None:
        blanks, self._blank_run = self._blank_run, 0
        key = line.rstrip()
        candidate = [held.rstrip() for _, held in self._held] + [key]
        status = self._cycle(candidate)
        if status == "complete":
            self._stop("repetition")
        elif status == "partial":
            self._held.append((blanks, line))
        else:
            self._release_held()
            if self.stopped:
                return
            alone = self._cycle([key])
            if alone == "complete":
                self._stop("repetition")
            elif alone == "partial":
                self._held.append((blanks, line))
            else:
                self._emit(blanks, line)

    def _release_held(self) -> None:
        held, self._held = self._held, []
        for blanks, line in held:
            if self.stopped:
                return
            self._emit(blanks, line)

    def _emit(self, blanks: int, line: str) -> None:
        if self._emitted_lines:  # line 0 is always the first one emitted
            self._text.append("\n" * (blanks + 1))
        self._text.append(line)
        self._emitted_lines += 1
        if line.strip():
            key = (self._line_prefix + line) if self._emitted_lines == 1 else line
            self._accepted.append(key.rstrip())
        if self._emitted_lines >= self.max_lines:
            self._stop("max_lines")
