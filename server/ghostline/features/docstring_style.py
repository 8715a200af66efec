"""Where a docstring goes and how it is written, per language and per project style.

Python: a triple-quoted string as the first statement of the body, indented like the body,
in the project's style (Google, NumPy or reST sections, detected from its other
docstrings). JavaScript, TypeScript, Java, C and C++: a ``/** */`` block above the
definition (decorators and ``export`` included). Go: ``// Name ...`` lines above. Rust:
``///`` lines above the item and its attributes. Pure text work plus a tree-sitter parse of
the file; no model and no LSP types.
"""

from __future__ import annotations

import re
import textwrap
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

import tree_sitter

from ghostline.index.languages import spec_by_name
from ghostline.index.model import Definition
from ghostline.index.node_text import node_text

GOOGLE, NUMPY, REST, PLAIN, TAGS = "google", "numpy", "rest", "plain", "tags"
LINE_WIDTH = 88
_GOOGLE = re.compile(
    r"^\s*(Args|Arguments|Parameters|Returns|Raises|Yields|Attributes|Examples?|Note):\s*$",
    re.MULTILINE,
)
_NUMPY = re.compile(
    r"^\s*(Parameters|Returns|Raises|Yields|Attributes|See Also|Notes|Examples)\s*\n\s*-{3,}\s*$",
    re.MULTILINE,
)
_REST = re.compile(r"^\s*:(param|type|returns?|rtype|raises?)\b", re.MULTILINE)
_TAG = re.compile(r"^\s*@(param|returns?|throws)\b", re.MULTILINE)
_PY_DEFS = frozenset({"function_definition", "class_definition"})
_SKIP_PARAMS = frozenset({"self", "cls", "this", "_"})
_BLOCK_COMMENT_LANGUAGES = frozenset({"javascript", "typescript", "tsx", "java", "c", "cpp"})


@dataclass(frozen=True)
class DocParts:
    """What a docstring says: the summary, and per-parameter/return descriptions if any."""

    summary: str
    params: list[tuple[str, str]] = field(default_factory=list)
    returns: str = ""


@dataclass(frozen=True)
class Insertion:
    """Replace the text from (line, col) to (end_line, end_col) by ``text``; columns are
    ``str`` indices (the LSP layer converts them to the client's units)."""

    line: int
    col: int
    end_line: int
    end_col: int
    text: str


def detect_style(docs: Iterable[str], language: str = "python") -> str:
    """The docstring style most of ``docs`` use; ``plain`` when none shows one."""
    votes: Counter[str] = Counter()
    for doc in docs:
        if language != "python":
            if _TAG.search(doc):
                votes[TAGS] += 1
            continue
        if _NUMPY.search(doc):
            votes[NUMPY] += 1
        elif _REST.search(doc):
            votes[REST] += 1
        elif _GOOGLE.search(doc):
            votes[GOOGLE] += 1
    if not votes:
        return PLAIN
    (best, count), *rest = votes.most_common()
    return best if not rest or rest[0][1] < count else PLAIN


def wants_sections(style: str) -> bool:
    return style in (GOOGLE, NUMPY, REST, TAGS)


# --- an existing comment the index may have missed ----------------------------------------


_DOC_LINE = {"rust": ("///", "//!", "/**", "*", "*/"), "go": ("//",),
             "javascript": ("/**", "*", "*/"), "typescript": ("/**", "*", "*/"),
             "tsx": ("/**", "*", "*/"), "java": ("/**", "*", "*/"),
             "c": ("//", "/*", "*", "*/"), "cpp": ("//", "/*", "*", "*/")}
_MARKER = re.compile(r"^\s*(?:/\*\*+|\*+/|\*|//[/!]?|/\*)\s?")


def comment_above(text: str, definition: Definition) -> str:
    """The doc comment right above a definition (attributes skipped), markers removed.

    A second look for when the index reports no doc (it can miss multi-line ``///``
    blocks), so that hover does not explain, nor the action re-document, commented code.
    """
    prefixes = _DOC_LINE.get(definition.language)
    if prefixes is None:
        return ""
    lines = text.split("\n")
    row = min(definition.span.start_line, len(lines)) - 1
    while row >= 0 and lines[row].strip().startswith(("#[", "@")):
        row -= 1
    found: list[str] = []
    while row >= 0 and lines[row].strip().startswith(prefixes):
        found.insert(0, _MARKER.sub("", lines[row].rstrip("\r")).removesuffix("*/").rstrip())
        row -= 1
    return "\n".join(found).strip()


# --- the definition in the parse tree ---------------------------------------------------


def parse(language: str, text: str) -> tree_sitter.Tree | None:
    spec = spec_by_name(language)
    return spec.parser().parse(text.encode("utf-8")) if spec is not None else None


def definition_node(tree: tree_sitter.Tree, definition: Definition) -> tree_sitter.Node | None:
    """The node of the definition itself (inside decorators/export wrappers)."""
    name = definition.name_span
    node = tree.root_node.descendant_for_point_range(
        (name.start_line, name.start_col), (name.end_line, name.end_col)
    )
    span = definition.span
    best: tree_sitter.Node | None = None
    while node is not None:
        start, end = node.start_point, node.end_point
        if (start.row, start.column) < (span.start_line, span.start_col) or \
                (end.row, end.column) > (span.end_line, span.end_col):
            break
        if node.type != "identifier" and node.child_by_field_name("name") is not None:
            best = node
            if definition.language == "python" and node.type in _PY_DEFS:
                return node
            if node.child_by_field_name("parameters") is not None or \
                    node.child_by_field_name("body") is not None:
                return node
        node = node.parent
    return best


def parameter_names(node: tree_sitter.Node | None, language: str) -> list[str]:
    """Names of the parameters of a function node (``self``/receivers left out)."""
    if node is None:
        return []
    params = node.child_by_field_name("parameters")
    if params is None:
        value = node.child_by_field_name("value")
        if value is not None:
            params = value.child_by_field_name("parameters") or \
                value.child_by_field_name("parameter")
    if params is None:
        return []
    if params.type == "identifier":  # JS arrow function with a single bare parameter
        return [node_text(params)]
    names: list[str] = []
    for child in params.named_children:
        if child.type in ("self_parameter", "comment", "receiver_parameter"):
            continue
        names.extend(_param_names(child, language))
    return [n for n in dict.fromkeys(names) if n and n not in _SKIP_PARAMS]


def _param_names(node: tree_sitter.Node, language: str) -> list[str]:
    if node.type in ("identifier", "shorthand_property_identifier_pattern"):
        return [node_text(node)]
    if node.type in ("list_splat_pattern", "dictionary_splat_pattern"):
        inner = node.named_children[0] if node.named_children else None
        stars = "*" if node.type == "list_splat_pattern" else "**"
        return [stars + node_text(inner)] if inner is not None and language == "python" else []
    if language == "go":  # `a, b int`: several names
        return [node_text(c) for c in node.children_by_field_name("name")]
    for field_name in ("name", "pattern"):
        child = node.child_by_field_name(field_name)
        if child is not None:
            return _param_names(child, language) if child.type != "identifier" else \
                [node_text(child)]
    for child in node.named_children:
        if child.type == "identifier":
            return [node_text(child)]
    return []


def returns_value(node: tree_sitter.Node | None, definition: Definition) -> bool:
    """Whether the function declares (or obviously has) a return value worth documenting."""
    if node is None or definition.kind not in ("function", "method"):
        return False
    value = node.child_by_field_name("value")
    holders = [node] if value is None else [node, value]
    annotation = None
    for holder in holders:
        annotation = annotation or holder.child_by_field_name("return_type") or \
            holder.child_by_field_name("result")
    if annotation is None and definition.language == "java":
        annotation = node.child_by_field_name("type")
    if annotation is not None:
        text = node_text(annotation).strip().lstrip(":").strip()
        return text not in ("None", "void", "()", "Promise<void>", "")
    if definition.language == "python":
        body = node.child_by_field_name("body")
        return body is not None and re.search(r"\breturn\s+\S", node_text(body)) is not None
    return False


# --- formatting ----------------------------------------------------------------------------


def python_docstring(parts: DocParts, style: str, indent: str) -> list[str]:
    """The lines of a Python docstring (without indentation on the first line)."""
    width = max(40, LINE_WIDTH - len(indent))
    summary = _escape_python(parts.summary)
    sections = _python_sections(parts, style, width)
    one_line = f'"""{summary}"""'
    if not sections and len(one_line) <= width:
        return [one_line]
    lines = textwrap.wrap(summary, width - 3) or [""]
    lines[0] = '"""' + lines[0]
    if sections:
        lines.extend(["", *sections])
    lines.append('"""')
    return lines


def _python_sections(parts: DocParts, style: str, width: int) -> list[str]:
    if not wants_sections(style) or not (parts.params or parts.returns):
        return []
    params = [(n, _escape_python(d)) for n, d in parts.params]
    returns = _escape_python(parts.returns)
    lines: list[str] = []
    if style == GOOGLE:
        if params:
            lines.append("Args:")
            for name, text in params:
                lines.extend(_hanging(f"    {name}: {text}", width, "        "))
        if returns:
            lines.extend(["", "Returns:"] if params else ["Returns:"])
            lines.extend(_hanging(f"    {returns}", width, "    "))
    elif style == NUMPY:
        if params:
            lines.extend(["Parameters", "----------"])
            for name, text in params:
                lines.append(name)
                lines.extend(_hanging(f"    {text}", width, "    "))
        if returns:
            lines.extend(["", "Returns", "-------"] if params else ["Returns", "-------"])
            lines.extend(_hanging(f"    {returns}", width, "    "))
    else:  # reST
        for name, text in params:
            lines.extend(_hanging(f":param {name.lstrip('*')}: {text}", width, "    "))
        if returns:
            lines.extend(_hanging(f":returns: {returns}", width, "    "))
    return lines


def _hanging(text: str, width: int, indent: str) -> list[str]:
    return textwrap.wrap(text, width, subsequent_indent=indent, break_long_words=False) or [text]


def _escape_python(text: str) -> str:
    text = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    return text + " " if text.endswith('"') else text


def block_comment(parts: DocParts, language: str, indent: str) -> list[str]:
    """``/** ... */`` lines (JSDoc, Javadoc, Doxygen), first line without indentation."""
    width = max(40, LINE_WIDTH - len(indent) - 3)
    body = textwrap.wrap(_escape_block(parts.summary), width) or [""]
    tags: list[str] = []
    for name, text in parts.params:
        tags.extend(_hanging(f"@param {name} {_escape_block(text)}", width, "    "))
    if parts.returns:
        tag = "@return" if language == "java" else "@returns"
        tags.extend(_hanging(f"{tag} {_escape_block(parts.returns)}", width, "    "))
    if tags:
        body.extend(["", *tags])
    return ["/**", *[f" * {line}".rstrip() for line in body], " */"]


def _escape_block(text: str) -> str:
    return text.replace("*/", "* /")


def line_comments(parts: DocParts, prefix: str, indent: str) -> list[str]:
    width = max(40, LINE_WIDTH - len(indent) - len(prefix) - 1)
    return [f"{prefix} {line}" for line in textwrap.wrap(parts.summary, width) or [""]]


# --- insertion -----------------------------------------------------------------------------


def plan_insertion(
    text: str, definition: Definition, parts: DocParts, style: str,
    tree: tree_sitter.Tree | None = None,
) -> Insertion | None:
    """Where and what to insert for ``definition`` in ``text``; None if it cannot be placed."""
    language = definition.language
    tree = tree or parse(language, text)
    if tree is None:
        return None
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    if language == "python":
        found = _python_insertion(lines, tree, definition, parts, style)
    else:
        found = _comment_insertion(lines, definition, parts)
    if found is not None and "\r\n" in text:  # keep the file's line endings
        found = replace(found, text=found.text.replace("\n", "\r\n"))
    return found


def _comment_insertion(lines: list[str], definition: Definition, parts: DocParts
                       ) -> Insertion | None:
    language = definition.language
    line = definition.span.start_line
    if language == "rust":
        while line > 0 and lines[line - 1].strip().startswith("#["):
            line -= 1
    if line >= len(lines):
        return None
    indent = _indent_of(lines[line])
    if language == "go":
        comment = line_comments(parts, "//", indent)
    elif language == "rust":
        comment = line_comments(parts, "///", indent)
    elif language in _BLOCK_COMMENT_LANGUAGES:
        comment = block_comment(parts, language, indent)
    else:
        return None
    block = "".join(f"{indent}{c}\n" for c in comment)
    return Insertion(line, 0, line, 0, block)


def _python_insertion(
    lines: list[str], tree: tree_sitter.Tree, definition: Definition, parts: DocParts, style: str
) -> Insertion | None:
    node = definition_node(tree, definition)
    if node is None or node.type not in _PY_DEFS:
        return None
    body = node.child_by_field_name("body")
    colons = [c for c in node.children if c.type == ":"]
    if body is None or not colons:
        return None
    colon = colons[-1]
    colon_row = colon.end_point.row
    header_indent = _indent_of(lines[node.start_point.row])
    first_row = body.start_point.row
    if first_row == colon_row:  # `def f(): return 1` — move the body to its own line
        indent = header_indent + _indent_unit(lines)
        doc = _join(python_docstring(parts, style, indent), indent)
        colon_col = _str_col(lines[colon_row], colon.end_point.column)
        body_col = _str_col(lines[first_row], body.start_point.column)
        return Insertion(colon_row, colon_col, first_row, body_col,
                         f"\n{indent}{doc}\n{indent}")
    indent = _indent_of(lines[first_row]) if first_row < len(lines) else ""
    if len(indent) <= len(header_indent):
        indent = header_indent + _indent_unit(lines)
    doc = _join(python_docstring(parts, style, indent), indent)
    return Insertion(colon_row + 1, 0, colon_row + 1, 0, f"{indent}{doc}\n")


def _join(doc_lines: list[str], indent: str) -> str:
    return "\n".join(doc_lines[:1] + [f"{indent}{x}" if x else "" for x in doc_lines[1:]])


def _indent_of(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def _indent_unit(lines: list[str]) -> str:
    for line in lines:
        indent = _indent_of(line)
        if indent and line.strip():
            return "\t" if indent.startswith("\t") else " " * min(len(indent), 4)
    return "    "


def _str_col(line: str, byte_col: int) -> int:
    return len(line.encode("utf-8")[:byte_col].decode("utf-8", errors="ignore"))


def apply_insertion(text: str, insertion: Insertion) -> str:
    """``text`` with the insertion applied (for tests and the benchmark)."""
    lines = text.split("\n")
    start = sum(len(x) + 1 for x in lines[: insertion.line]) + insertion.col
    end = sum(len(x) + 1 for x in lines[: insertion.end_line]) + insertion.end_col
    return text[:start] + insertion.text + text[end:]
