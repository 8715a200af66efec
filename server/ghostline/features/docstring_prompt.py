"""Prompts that ask a model what a definition does.

Base models (the default Gemma 3 270M) continue text: the prompt shows the code in Markdown
fences and ends with "The function `name`", and the model writes the rest of the sentence.
Base prompts show callees and the class by their signatures only, never docstrings, and no
examples, because this model copies them instead of reading the code (docs/models.md).
Instruction models get everything, docstrings included, in a chat message.
"""

from __future__ import annotations

import re
import textwrap

from ghostline.context.docstring import DocstringContext
from ghostline.engine.base import ChatMessage, GenerationRequest

_FENCE = {"tsx": "tsx", "cpp": "cpp", "c": "c"}
_CLASS_KINDS = frozenset({"class", "struct", "interface", "trait", "enum"})
BASE_STOPS = ["\n\n", "```"]
SUMMARY_MAX_TOKENS = 48
PARAMS_TOKENS_EACH = 24
PARAMS_MAX_TOKENS = 160
REQUEST_KEY = "ghostline-hover"
#: How chat models often start instead of the lead-in: "The `Client.patch` method".
_NAMED_LEAD = re.compile(
    r"(?:the\s+)?`?([\w.]+)`?(?:\s+(?:function|method|class|property|constructor))?\s+",
    re.IGNORECASE)


def fence(language: str) -> str:
    return _FENCE.get(language, language)


def lead_in(context: DocstringContext) -> str:
    """The words the model's sentence continues: "The function `parse`", "The class `X` is"."""
    definition = context.definition
    if definition.kind in _CLASS_KINDS:
        return f"The {definition.kind} `{definition.name}` is"
    if definition.kind == "method" and definition.parent:
        owner = definition.parent.rpartition(".")[2]
        return f"The method `{owner}.{definition.name}`"
    return f"The function `{definition.name}`"


def _block(language: str, code: str) -> str:
    return f"```{fence(language)}\n{code.rstrip()}\n```\n\n"


def code_part(context: DocstringContext, *, with_docs: bool, bare: bool = False) -> str:
    """Context and definition as fenced code blocks (``bare``: the definition alone)."""
    language = context.language
    parent = None if bare else context.parent
    nest = parent is not None and language == "python"
    stubs: list[str] = []
    if not bare:
        for callee in context.callees:
            if callee.signature:
                stubs.append(callee.signature + (":  ..." if language == "python" else ""))
                if with_docs and callee.doc:
                    stubs.append(textwrap.indent(callee.doc.split("\n\n")[0], "    # "))
        if parent is not None and not nest and parent.signature:
            stubs.append(parent.signature)
    parts: list[str] = []
    if stubs:
        parts.append(_block(language, "\n".join(stubs)))
    source = context.source
    if nest and parent is not None:
        header = parent.signature.rstrip(":") + ":\n"
        if parent.doc:
            first = parent.doc.split("\n\n")[0].strip()
            if with_docs or len(first) < 120:
                header += f'    """{first}"""\n'
        source = header + "\n" + textwrap.indent(source, "    ")
    parts.append(_block(language, source))
    sites = [] if bare else [s.text for s in context.call_sites]
    if sites:
        parts.append("Usage:\n" + _block(language, "\n".join(sites)))
    return "".join(parts)


def summary_request(
    context: DocstringContext, *, chat: bool, bare: bool = False,
    time_limit_s: float | None = None,
) -> GenerationRequest:
    """The request for a one- or two-sentence summary of the definition."""
    if chat:
        return GenerationRequest(
            messages=chat_messages(context, bare=bare), max_tokens=SUMMARY_MAX_TOKENS + 16,
            temperature=0.0, stop=["\n\n"], key=REQUEST_KEY, time_limit_s=time_limit_s,
            feature="hover",
        )
    prompt = code_part(context, with_docs=False, bare=bare) + lead_in(context)
    return GenerationRequest(
        prompt=prompt, max_tokens=SUMMARY_MAX_TOKENS, temperature=0.0, stop=list(BASE_STOPS),
        key=REQUEST_KEY, time_limit_s=time_limit_s, feature="hover",
    )


def chat_messages(context: DocstringContext, *, bare: bool = False) -> list[ChatMessage]:
    definition = context.definition
    kind = definition.kind
    content = (
        f"Here is a {context.language} {kind} `{definition.name}` with some of its context.\n\n"
        + code_part(context, with_docs=True, bare=bare)
        + f"Complete this sentence about what `{definition.name}` does, in at most two short "
        f"sentences, for its documentation. Reply with the completed sentence only.\n\n"
        + lead_in(context)
    )
    return [
        ChatMessage("system", "You write concise, accurate code documentation."),
        ChatMessage("user", content),
    ]


def chat_predicate(answer: str, context: DocstringContext) -> str:
    """A chat answer repeats the lead-in or not; keep only what follows it."""
    text = answer.strip().strip('"').strip()
    lead = lead_in(context)
    for prefix in (lead, lead.removesuffix(" is"), f"`{context.definition.name}`",
                   context.definition.name):
        if text.lower().startswith(prefix.lower()):
            return text[len(prefix):].strip()
    named = _NAMED_LEAD.match(text)  # "The `Client.patch` method sends ..."
    if named and named.group(1).rpartition(".")[2] == context.definition.name:
        return text[named.end():].strip()
    if context.definition.kind in _CLASS_KINDS:
        return text
    first, _, rest = text.partition(" ")
    if first.endswith("s") or first.lower() in {"is", "was"}:  # "Returns ...", "Is used ..."
        return first.lower() + (" " + rest if rest else "")
    return text


def params_request(
    context: DocstringContext, predicate: str, names: list[str], *, returns: bool,
    time_limit_s: float | None = None,
) -> GenerationRequest:
    """Ask for one line per parameter (and the return value) after the summary.

    The answer is a Markdown list the prompt starts: ``- `item`: the item to restock``.
    """
    items = [*names, "return value"] if returns else list(names)
    first = items[0]
    prompt = (
        code_part(context, with_docs=False) + lead_in(context) + " " + predicate
        + "\n\nParameters and return value:\n" + f"- `{first}`:"
    )
    return GenerationRequest(
        prompt=prompt, max_tokens=min(PARAMS_MAX_TOKENS, PARAMS_TOKENS_EACH * len(items)),
        temperature=0.0, stop=["\n\n", "```"], key=REQUEST_KEY, time_limit_s=time_limit_s,
        feature="hover",
    )


def parse_params(answer: str, names: list[str], *, returns: bool) -> dict[str, str]:
    """Descriptions by parameter name (and ``"return value"``) from the model's list."""
    items = [*names, "return value"] if returns else list(names)
    text = f"- `{items[0]}`:" + answer if items else answer
    found: dict[str, str] = {}
    for line in text.split("\n"):
        line = line.strip()
        if not line.startswith("- `"):
            continue
        name, _, description = line[3:].partition("`")
        description = description.lstrip(":").strip().rstrip(".")
        if name in items and name not in found and len(description.split()) >= 2:
            found[name] = description[:1].upper() + description[1:] + "."
    return found
