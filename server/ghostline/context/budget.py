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
) -> LocalWindow:
    """Prefix and suffix around `offset` within real token budgets.

    The prefix starts on a multiple of `ANCHOR_LINES` lines (so it stays put while the user
    types, like `window.local_window`). The suffix is whole lines; it reaches `keep_until`
    (the end offset of the enclosing definition) when that fits, so the definition is seen
    whole, and otherwise as many lines as fit.
    """
    starts = line_starts(text, offset)
    cursor_line = len(starts) - 1
    line_tokens = [counter.count(text[starts[i] : starts[i + 1]])
                   for i in range(cursor_line)]
    current = counter.count(text[starts[cursor_line] : offset])
    # Tokens from each line's start to the cursor, walking up from the cursor line.
    from_line = [0] * (cursor_line + 1)
    total = current
    from_line[cursor_line] = total
    for line in range(cursor_line - 1, -1, -1):
        total += line_tokens[line]
        from_line[line] = total
    first = 0
    while from_line[first] > prefix_tokens and first < cursor_line:
        first = min(first + ANCHOR_LINES, cursor_line)
    prefix = text[starts[first] : offset]
    if from_line[first] > prefix_tokens:  # one enormous line: keep its end
        prefix = prefix[-max(1, int(prefix_tokens * 3)):]
    return LocalWindow(prefix=prefix, suffix=_suffix(text, offset, suffix_tokens, counter,
                                                     keep_until), first_line=first)


def _suffix(text: str, offset: int, budget: int, counter: TokenCounter,
            keep_until: int | None) -> str:
    if budget <= 0:
        return ""
    if keep_until is not None and keep_until > offset:
        whole = text[offset:keep_until]
        if counter.count(whole) <= budget:
            return whole
    used = 0
    end = offset
    while end < len(text):
        newline = text.find("\n", end)
        stop = len(text) if newline == -1 else newline + 1
        cost = counter.count(text[end:stop])
        if used + cost > budget:
            if end == offset:  # not even the rest of the cursor line: keep what fits
                return text[offset : offset + budget * 3]
            break
        used += cost
        end = stop
    return text[offset:end]


def local_window_tokens(total: int, extra_files: Sequence[tuple[str, str]],
                        chars_per_token: int = 3) -> int:
    """What the local window may take of a `total` prompt budget once `extra_files` are
    in, in the same character-based units `build_prompt` sizes the window with (path
    header and comment markers included); at least a third of the total."""
    used = sum(len(path) + len(text) + 2 * text.count("\n") + 12 for path, text in extra_files)
    return max(total - -(-used // chars_per_token), total // 3)


def split_budget(total: int, context_cap: int, local_core: int) -> tuple[int, int]:
    """(local, cross-file) token budgets out of `total`.

    The local window first gets its core (the enclosing definition up to the cursor, capped
    at two thirds of the total), then cross-file context up to `context_cap`, then the local
    window the rest.
    """
    core = min(max(local_core, 0), total * 2 // 3)
    context = max(0, min(context_cap, total - core))
    return total - context, context
