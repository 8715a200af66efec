"""Token budgets: which snippets fit, and a local window measured in real tokens.

Costs are measured on the text exactly as the prompt template writes it (a comment-style
template adds a ``Path:`` header and a comment marker per line), with the model's own
tokenizer where it is loaded (see `tokenizer`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from ghostline.context.tokenizer import TokenCounter
from ghostline.context.window import ANCHOR_LINES, LocalWindow, line_starts

#: A snippet cut to fit keeps at least this many lines, or is left out.
MIN_CUT_LINES = 2
#: Characters of model text per token, to turn a token budget into characters (code ≈ 3).
CHARS_PER_TOKEN = 3
#: A FIM prompt gives the code after the cursor 1/FIM_SUFFIX_DIVISOR of its local window.
FIM_SUFFIX_DIVISOR = 5
#: Other files' snippets leave the local window at least 1/MIN_LOCAL_DIVISOR of the prompt.
MIN_LOCAL_DIVISOR = 3


@dataclass(frozen=True)
class Snippet:
    """Lines of another file (or of the current file's header) offered as context.

    ``start``/``end``: 0-based line range in ``path`` (end exclusive; -1 when the text is
    not a contiguous region, e.g. a class outline). ``source`` names what found it.
    """

    path: str
    text: str
    score: float
    source: str
    start: int = -1
    end: int = -1

    @property
    def pair(self) -> tuple[str, str]:
        return (self.path, self.text)


CostFunction = Callable[[Snippet], int]


def select(snippets: Sequence[Snippet], budget: int, cost: CostFunction,
           min_cut_lines: int = MIN_CUT_LINES) -> list[Snippet]:
    """Take snippets in the given order (best first) while they fit in `budget` tokens.

    A snippet that does not fit whole is cut to its first lines that do (when at least
    `min_cut_lines` fit); the ones after it are still tried (a smaller one may fit).
    """
    chosen: list[Snippet] = []
    left = budget
    for snippet in snippets:
        if left <= 0:
            break
        need = cost(snippet)
        if need <= left:
            chosen.append(snippet)
            left -= need
            continue
        cut = _cut_to_fit(snippet, left, cost, min_cut_lines)
        if cut is not None:
            chosen.append(cut)
            left -= cost(cut)
    return chosen


def _cut_to_fit(snippet: Snippet, budget: int, cost: CostFunction,
                min_lines: int) -> Snippet | None:
    lines = snippet.text.split("\n")
    low, high = 0, len(lines) - 1  # the largest n with cost(first n lines) <= budget
    while low < high:
        middle = (low + high + 1) // 2
        if cost(_first_lines(snippet, lines, middle)) <= budget:
            low = middle
        else:
            high = middle - 1
    if low < min_lines:
        return None
    return _first_lines(snippet, lines, low)


def _first_lines(snippet: Snippet, lines: list[str], count: int) -> Snippet:
    end = snippet.start + count if snippet.start >= 0 else -1
    return replace(snippet, text="\n".join(lines[:count]), end=end)


def token_window(
    text: str,
    offset: int,
    prefix_tokens: int,
    suffix_tokens: int,
    counter: TokenCounter,
    keep_until: int | None = None,
    keep_from_line: int | None = None,
) -> LocalWindow:
    """Prefix and suffix around `offset` within real token budgets.

    The prefix starts on a multiple of `ANCHOR_LINES` lines (so it stays put while the user
    types, like `window.local_window`), or at `keep_from_line` (the first line of the
    enclosing definition) when the anchor would cut that definition and it fits. The
    suffix is whole lines; it reaches `keep_until` (the end offset of the enclosing
    definition) when that fits, so the definition is seen whole, and otherwise as many
    lines as fit. Lines are counted from the cursor upwards until the budget is spent,
    so the cost follows the window, not the file.
    """
    starts = line_starts(text, offset)
    cursor_line = len(starts) - 1
    total = counter.count(text[starts[cursor_line] : offset])
    top = cursor_line  # the highest line whose start still fits
    while top > 0:
        cost = counter.count(text[starts[top - 1] : starts[top]])
        if total + cost > prefix_tokens:
            break
        total += cost
        top -= 1
    first = min(-(-top // ANCHOR_LINES) * ANCHOR_LINES, cursor_line)
    if keep_from_line is not None and top <= keep_from_line < first:
        first = keep_from_line
    prefix = text[starts[first] : offset]
    if total > prefix_tokens:  # one enormous line: keep its end
        prefix = prefix[-max(1, int(prefix_tokens * CHARS_PER_TOKEN)):]
    return LocalWindow(prefix=prefix, suffix=_suffix(text, offset, suffix_tokens, counter,
                                                     keep_until), first_line=first)


def _suffix(text: str, offset: int, budget: int, counter: TokenCounter,
            keep_until: int | None) -> str:
    """Whole lines after the cursor within `budget`: through `keep_until` (the enclosing
    definition's end) first when that fits, then on while lines fit. A FIM model reads a
    suffix that stops at the definition's last character as a file that ends there (on
    HumanEval, Qwen2.5-Coder then often answers with an empty line where the raw model,
    shown the lines that follow, writes the right one)."""
    if budget <= 0:
        return ""
    used = 0
    end = offset
    if keep_until is not None and keep_until >= offset:
        whole = text[offset:keep_until]
        cost = counter.count(whole)
        if cost <= budget:
            used, end = cost, keep_until
    while end < len(text):
        newline = text.find("\n", end)
        stop = len(text) if newline == -1 else newline + 1
        cost = counter.count(text[end:stop])
        if used + cost > budget:
            if end == offset:  # not even the rest of the cursor line: keep what fits
                return text[offset : offset + budget * CHARS_PER_TOKEN]
            break
        used += cost
        end = stop
    return text[offset:end]
