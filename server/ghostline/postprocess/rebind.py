"""A line that binds a name the code below never reads, above code that reads a name
nothing binds, meant that name: ``except ValueError as e:`` above ``log(err)`` is
``except ValueError as err:``.

A prefix-only model cannot see the block below the cursor, so it binds the name it usually
binds (``e``, ``item``), or none; the block was often written first (a hole filled in, a
header retyped). Python only: ``except … as name:``, ``with … as name:``, ``for name in
…:``, and ``except …:`` or ``with …:`` that bind nothing, which gain ``as name``.
"""

from __future__ import annotations

import re

from tree_sitter import Node

from ghostline.index.languages import LanguageSpec
from ghostline.index.names_below import unbound_reads_after
from ghostline.index.node_text import node_text
from ghostline.index.text import indent_width

_BINDINGS = (
    re.compile(r"^\s*(?P<keyword>except|with|async\s+with)\b.*\bas\s+(?P<name>[A-Za-z_]\w*)"
               r"\s*:\s*$"),
    re.compile(r"^\s*(?:async\s+)?(?P<keyword>for)\s+(?P<name>[A-Za-z_]\w*)\s+in\b.*:\s*$"),
)
#: ``with …:`` or ``except …:`` (not a bare ``except:``) that binds nothing.
_BINDS_NOTHING = re.compile(r"^\s*(?P<keyword>except|with|async\s+with)\s+\S.*(?P<colon>:)\s*$")
#: What stands for the line while the code below is analysed: it binds nothing.
_NEUTRAL_HEADER = "if True:"


def rebind_to_block(completion: str, text: str, offset: int, spec: LanguageSpec) -> str:
    """`completion` (inserted at `offset` of `text`) binding the name the code below reads
    and nothing binds, where that code never reads the name it binds, or where it binds
    none; else `completion` unchanged. The code below is the line's block, or for ``with``
    the rest of the function (``with pytest.raises(E) as excinfo:`` is read after it)."""
    if "\n" in completion:
        return completion
    line_start = text.rfind("\n", 0, offset) + 1
    line_end = text.find("\n", offset)
    line_end = len(text) if line_end == -1 else line_end
    line_prefix, line_suffix = text[line_start:offset], text[offset:line_end]
    line = line_prefix + completion + line_suffix
    match = next((m for p in _BINDINGS if (m := p.search(line)) is not None), None)
    if match is None:
        match = _BINDS_NOTHING.search(line)
        if match is None or " as " in line:
            return completion
    bound = match.groupdict().get("name")
    at = match.start("name" if bound is not None else "colon")
    if at < len(line_prefix):
        return completion  # the user's own text
    names = _unbound_below(spec, text, line_start, line_end, line,
                           whole_function="with" in match.group("keyword"))
    if not names or bound in names:
        return completion
    at -= len(line_prefix)
    if bound is None:
        return completion[:at] + " as " + names[0] + completion[at:]
    return completion[:at] + names[0] + completion[at + len(bound):]


def _unbound_below(spec: LanguageSpec, text: str, line_start: int, line_end: int, line: str,
                   whole_function: bool) -> list[str]:
    """Names read below the line (in its block, or to the end of the function) that
    nothing in scope binds, nearest first. The line itself is replaced by a header that
    binds nothing, so that the name it binds counts as unbound where it is read."""
    block = _block_below(text, line_end, indent_width(line))
    if not block.strip():
        return []
    indent = line[: len(line) - len(line.lstrip())]
    header = text[:line_start] + indent + _NEUTRAL_HEADER
    analysed = header + text[line_end:]
    tree = spec.parser().parse(analysed.encode("utf-8"))
    start = len(header.encode("utf-8"))
    end = start + len(("\n" + block).encode("utf-8")) if not whole_function else None
    # ``total += x`` reads an accumulator, which starts before the line, not on it; a
    # name that is called (``log(err)``) is rather a function defined elsewhere.
    reads = [node for node in unbound_reads_after(tree, start)
             if (end is None or node.start_byte < end)
             and (node.parent is None or node.parent.type != "augmented_assignment")]
    reads.sort(key=_is_called)
    return [node_text(node) for node in reads]


def _is_called(node: Node) -> bool:
    parent = node.parent
    return parent is not None and parent.type == "call" and \
        parent.child_by_field_name("function") == node


def _block_below(text: str, line_end: int, indent: int) -> str:
    """The lines after `line_end` indented deeper than `indent` (blank ones included)."""
    lines: list[str] = []
    for line in text[line_end + 1 :].split("\n"):
        if line.strip() and indent_width(line) <= indent:
            break
        lines.append(line)
    return "\n".join(lines)
