"""The suggestions after an accepted one, from the model's own continuation.

A single-line suggestion is where the model stopped writing the middle of its prompt.
Going on from there (the same prompt, then exactly the text the model wrote) costs only
decoding: the prompt and the suggestion are in the KV cache already. Asking afresh at the
accepted position instead re-reads everything after the cursor, which is most of a
request's cost with a real code model on a laptop CPU (docs/latency.md).

What the model writes next answers two positions a user reaches by accepting:
- the end of the accepted line: the text before the model's next newline (or, where the
  accepted line opens a block, the block, under the same stop rules as a request there);
- the start of the line below, after Enter: the line (or block) after that newline, at
  the indentation the model wrote (an editor that indents the same way finds it ready).

Where the model ends its middle right after the suggestion (the code below is in the
document already), there is nothing more at the end of the line, and the completer asks
afresh for the new line Enter opens instead (`InlineCompleter._continue_ahead`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Generated:
    """A shown suggestion and what produced it: the prompt and the model's text as streamed
    (before the leading whitespace the prompt left out was taken off again)."""

    prompt: str
    raw: str
    before: str
    after: str
    text: str

    def leads_to(self, before: str, after: str, shown: str) -> bool:
        """Whether accepting ``shown`` at this cursor (the suggestion, or what is left of it
        after typing through part) accepts this generation, all of it: the suggestion is
        the model's text (cleanup changed nothing but leading whitespace) and the cursor is
        at the end of its line (the model's next newline ends that line)."""
        if not shown or after != self.after or not before.startswith(self.before):
            return False
        if before + shown != self.before + self.text:
            return False
        text = self.text
        if not self.raw.endswith(text) or self.raw[: len(self.raw) - len(text)].strip():
            return False
        return after == "" or after.startswith("\n")

    @property
    def continuation_prompt(self) -> str:
        return self.prompt + self.raw


@dataclass(frozen=True)
class Continuation:
    """What the model wrote after a suggestion, split at its lines."""

    #: The text before the first newline: the rest of the accepted line.
    same_line: str
    #: The next line's indentation and text, when the model ended the accepted line and
    #: wrote a whole next line; None otherwise.
    next_indent: str | None = None
    next_line: str | None = None


def continuation_done(text: str) -> bool:
    """Whether ``text`` says all `split_continuation` needs (so the model can stop): the
    rest of the accepted line when it has code, else a newline and the whole line below."""
    first = text.find("\n")
    if first < 0:
        return False
    return bool(text[:first].strip()) or text.find("\n", first + 1) >= 0


def split_continuation(text: str, ended: bool = False) -> Continuation:
    """The rest of the accepted line and, where the model wrote it whole, the line below
    (``ended``: the model ended its text there, so its last line is whole)."""
    same_line, newline, rest = text.partition("\n")
    if not newline or same_line.strip():
        return Continuation(same_line)
    line, complete, _ = rest.partition("\n")
    if not (complete or ended) or not line.strip():
        return Continuation(same_line)
    body = line.lstrip(" \t")
    return Continuation(same_line, line[: len(line) - len(body)], body.rstrip())
