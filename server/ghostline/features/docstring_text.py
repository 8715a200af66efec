"""Turn the model's continuation into a summary sentence in each language's convention.

The base-model prompt ends with "The function `name`" (or "The class `Name` is"), so the
model writes a predicate: "returns the number of words in the path." or "is used to parse
a header line.". That predicate is what gets cached; ``render_summary`` turns it into the
first line of a docstring: imperative for Python (PEP 257: "Return the number ..."), third
person for JSDoc, Javadoc and rustdoc ("Returns the number ..."), and Go's "name returns
...".
"""

from __future__ import annotations

import re
from collections.abc import Callable

_CLASS_KINDS = frozenset({"class", "struct", "interface", "trait", "enum", "impl"})
THIRD_PERSON_LANGUAGES = frozenset({"javascript", "typescript", "tsx", "java", "rust", "c", "cpp"})
MAX_SUMMARY_CHARS = 240
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z`\"'(])")
_WORD = re.compile(r"[A-Za-z0-9_]+")
_LEADING_NAME = re.compile(r"^`[^`]*`\s*")
_PURPOSE = re.compile(
    r"^(?:is|was)\s+(?:(?:primarily|mainly|mostly|basically)\s+)?"
    r"(?:used|designed|meant|intended|responsible|called|needed)\s+(?:to|for)\s+(.+)",
    re.IGNORECASE,
)
_FUNCTION_NOUN = re.compile(
    r"^(?:is|was)\s+(?:a|an|the)\s+(?:[\w-]+\s+){0,3}?"
    r"(?:function|method|helper|routine|procedure|utility|wrapper function)\s*,?\s*"
    r"(?:that|which|who)\s+(.+)",
    re.IGNORECASE,
)
_FUNCTION_TO = re.compile(
    r"^(?:is|was)\s+(?:a|an|the)\s+(?:[\w-]+\s+){0,3}?"
    r"(?:function|method|helper|routine|procedure|utility)\s+(?:to|for)\s+(.+)",
    re.IGNORECASE,
)
_PASSIVE = re.compile(r"^(?:is|was)\s+(\w+ed\b.*|(?:run|done|thrown|written|given)\b.*)",
                      re.IGNORECASE)
_MODAL = re.compile(r"^(?:will|can|should|would|must|may)\s+(.+)", re.IGNORECASE)
_NOUN_PHRASE = re.compile(r"^(?:is|was)\s+((?:a|an|the)\s+.+)", re.IGNORECASE)
_ADVERB = re.compile(r"^(?:simply|just|basically|essentially|actually)\s+", re.IGNORECASE)
_JOINED_VERB = re.compile(r"(\b(?:and|or|then),?\s+(?:also\s+|then\s+)?)([A-Za-z]+)\b")
#: Verbs a summary joins with "and" ("takes a path and returns ..."): only these are
#: changed after the first word, since "and" also joins nouns ("keys and values").
COMMON_VERBS = frozenset({
    "add", "append", "apply", "build", "calculate", "call", "check", "clear", "close",
    "collect", "compare", "compute", "convert", "copy", "count", "create", "delete", "emit",
    "ensure", "extract", "fetch", "filter", "find", "format", "generate", "get", "handle",
    "initialize", "insert", "load", "log", "make", "merge", "move", "normalize", "open",
    "parse", "print", "process", "raise", "read", "register", "remove", "render", "replace",
    "reset", "resolve", "return", "run", "save", "send", "set", "sort", "split", "start",
    "stop", "store", "take", "update", "use", "validate", "wait", "write", "yield",
})
_IRREGULAR_BASE = {"is": "be", "has": "have", "does": "do", "goes": "go", "was": "be"}
_IRREGULAR_THIRD = {v: k for k, v in _IRREGULAR_BASE.items() if k != "was"}
_NOT_VERBS = frozenset({
    "this", "its", "his", "hers", "ours", "yours", "theirs", "thus", "as", "is", "was", "has",
    "does", "always", "perhaps", "sometimes", "bus", "gas", "yes", "less", "unless",
})


def clean_predicate(raw: str, *, truncated: bool = False) -> str:
    """The predicate the model wrote, tidied; "" when it is not usable.

    ``truncated``: generation stopped at its token limit, so a last sentence without an
    end is cut off rather than kept.
    """
    text = raw.split("\n\n", 1)[0]
    text = " ".join(text.replace("```", " ").split())
    text = _LEADING_NAME.sub("", text).strip(" :-")
    if not text:
        return ""
    sentences = _SENTENCE_END.split(text)
    complete = [s for s in sentences if s.endswith((".", "!", "?"))]
    if truncated and not text.endswith((".", "!", "?")):
        sentences = complete  # a sentence cut off in the middle says something wrong
    kept: list[str] = []
    for sentence in sentences[:2]:
        if kept and (len(" ".join(kept)) + len(sentence) > MAX_SUMMARY_CHARS
                     or _similar(kept[0], sentence)):
            break
        kept.append(sentence)
    text = " ".join(kept)[:MAX_SUMMARY_CHARS].strip()
    if not text:
        return ""
    if not text.endswith((".", "!", "?")):
        text = text.rstrip(",;:") + "."
    words = _WORD.findall(text)
    letters = sum(c.isalpha() for c in text)
    if len(words) < 3 or letters < len(text) * 0.6:
        return ""
    return text


def _similar(a: str, b: str) -> bool:
    return overlap(a, b) >= 0.7


def overlap(a: str, b: str) -> float:
    """Jaccard similarity of the lower-case word sets of two texts."""
    wa = {w.lower() for w in _WORD.findall(a)}
    wb = {w.lower() for w in _WORD.findall(b)}
    if not wa or not wb:
        return 0.0
    return len(wa & wb) / len(wa | wb)


def is_copy(predicate: str, docs: list[str]) -> bool:
    """True when the predicate repeats one of the docstrings the prompt showed.

    A small model likes to copy the nearest docstring instead of reading the code.
    """
    for doc in docs:
        first = doc.strip().split("\n\n", 1)[0]
        if first and overlap(predicate, first) >= 0.6:
            return True
    return False


def render_summary(predicate: str, name: str, kind: str, language: str) -> str:
    """The summary sentence for a docstring of ``name`` in ``language``'s convention."""
    predicate = predicate.strip()
    if not predicate:
        return ""
    if kind in _CLASS_KINDS:
        noun = re.sub(r"^(?:is|was)\s+", "", predicate, flags=re.IGNORECASE)
        return f"{name} is {noun}" if language == "go" else _capitalize(noun)
    form, text = _verb_form(predicate)
    if form == "passive":  # "is called when ..." → "Called when ..."
        return f"{name} is {text}" if language == "go" else _capitalize(text)
    if language == "python":
        if form == "third":
            text = _swap_verbs(text, to_base)
        return _capitalize(text)
    if form == "infinitive":
        text = _swap_verbs(text, to_third)
    if language == "go":
        return f"{name} {text}"
    return _capitalize(text)


def _verb_form(predicate: str) -> tuple[str, str]:
    """("third" | "infinitive" | "passive" | "noun", text without filler) of a predicate."""
    text = _ADVERB.sub("", predicate)
    for pattern, form in ((_PURPOSE, "infinitive"), (_FUNCTION_TO, "infinitive"),
                          (_FUNCTION_NOUN, "third"), (_MODAL, "infinitive")):
        match = pattern.match(text)
        if match:
            return form, _ADVERB.sub("", match.group(1))
    match = _PASSIVE.match(text)
    if match:
        return "passive", match.group(1)
    match = _NOUN_PHRASE.match(text)
    if match:
        return "noun", match.group(1)
    first = text.split(" ", 1)[0].lower()
    if first.endswith("s") and first.isalpha() and first not in _NOT_VERBS:
        return "third", text
    if first in _IRREGULAR_BASE:
        return "third", text
    return "noun", text


def _swap_verbs(text: str, change: Callable[[str], str]) -> str:
    """Change the first word, and common verbs joined to it ("takes x and returns y")."""
    head, _, rest = text.partition(" ")
    new = change(head)
    if rest:
        rest = _JOINED_VERB.sub(
            lambda m: m.group(1) + (change(m.group(2)) if _is_common_verb(m.group(2))
                                    else m.group(2)), rest)
    return f"{new} {rest}" if rest else new


def _is_common_verb(word: str) -> bool:
    lower = word.lower()
    return lower in COMMON_VERBS or to_base(lower) in COMMON_VERBS


def to_base(word: str) -> str:
    """``returns`` → ``return``, ``applies`` → ``apply``, ``pushes`` → ``push``."""
    lower = word.lower()
    if lower in _IRREGULAR_BASE:
        return _IRREGULAR_BASE[lower]
    if not lower.endswith("s") or lower in _NOT_VERBS:
        return word
    if lower.endswith("ies") and len(lower) > 4:
        return word[:-3] + "y"
    if lower.endswith(("sses", "xes", "ches", "shes", "zzes", "oes")):
        return word[:-2]
    return word[:-1]


def to_third(word: str) -> str:
    """``return`` → ``returns``, ``apply`` → ``applies``, ``push`` → ``pushes``."""
    lower = word.lower()
    if lower in _IRREGULAR_THIRD:
        return _IRREGULAR_THIRD[lower]
    if not lower.isalpha():
        return word
    if lower.endswith("y") and len(lower) > 2 and lower[-2] not in "aeiou":
        return word[:-1] + "ies"
    if lower.endswith(("s", "sh", "ch", "x", "z", "o")):
        return word + "es"
    return word + "s"


def _capitalize(text: str) -> str:
    return text[:1].upper() + text[1:] if text and not text.startswith("`") else text
