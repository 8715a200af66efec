"""Scores of one completion against its answer, and paired bootstrap intervals."""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

_IDENT = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")


def first_line(text: str) -> str:
    return text.split("\n", 1)[0]


def exact_match(prediction: str, answer: str) -> bool:
    """The first line equals the answer, ignoring whitespace at both ends."""
    return first_line(prediction).strip() == answer.strip()


def levenshtein(a: str, b: str) -> int:
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i]
        for j, char_b in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1,
                               previous[j - 1] + (char_a != char_b)))
        previous = current
    return previous[-1]


def edit_similarity(prediction: str, answer: str) -> float:
    """1 - normalised Levenshtein distance of the stripped first line, in [0, 100]."""
    a, b = first_line(prediction).strip(), answer.strip()
    if not a and not b:
        return 100.0
    return 100.0 * (1 - levenshtein(a, b) / max(len(a), len(b)))


def identifiers(text: str) -> list[str]:
    return _IDENT.findall(text)


def prompt_recall(answer: str, prompt: str) -> float | None:
    """Share of the answer's names that the prompt shows the model (in the local window or
    the cross-file context): what the context contributes, whatever the model then makes
    of it. None for an answer without names."""
    needed = set(identifiers(answer))
    if not needed:
        return None
    return len(needed & set(identifiers(prompt))) / len(needed)


def identifier_match(prediction: str, answer: str) -> bool:
    """The identifiers of the first line, in order, are those of the answer (CrossCodeEval's
    identifier exact match: right names, whatever the spacing and punctuation)."""
    return identifiers(first_line(prediction)) == identifiers(answer)


def identifier_f1(prediction: str, answer: str) -> float:
    predicted, wanted = identifiers(first_line(prediction)), identifiers(answer)
    if not predicted or not wanted:
        return float(predicted == wanted)
    common = 0
    pool = list(wanted)
    for name in predicted:
        if name in pool:
            pool.remove(name)
            common += 1
    if not common:
        return 0.0
    precision, recall = common / len(predicted), common / len(wanted)
    return 2 * precision * recall / (precision + recall)


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def paired_bootstrap(a: Sequence[float], b: Sequence[float], *, samples: int = 2000,
                     seed: int = 0) -> tuple[float, float, float]:
    """Mean of a - b over paired items and its 95% bootstrap interval."""
    if len(a) != len(b):
        raise ValueError("paired samples differ in length")
    if not a:
        return 0.0, 0.0, 0.0
    diffs = [x - y for x, y in zip(a, b, strict=True)]
    rng = random.Random(seed)
    n = len(diffs)
    means = sorted(sum(diffs[rng.randrange(n)] for _ in range(n)) / n for _ in range(samples))
    low = means[int(0.025 * samples)]
    high = means[min(samples - 1, int(0.975 * samples))]
    return mean(diffs), low, high
