"""Checks and repairs of generated tests, one test ("unit") at a time.

A unit is one test function (``def test_…``, ``func TestX``, ``#[test] fn``, ``@Test void``)
or one ``it(…)``/``test(…)`` call. The model writes units one after another; each is cut to
where it is complete, parsed inside its frame (the enclosing ``describe``, class or module)
with tree-sitter, must use the function under test, must not copy an earlier unit, and is
renamed when its name is taken.
"""

from __future__ import annotations

import builtins
import re
import symtable
import sys
import textwrap
from collections.abc import Collection, Iterator
from dataclasses import dataclass

import tree_sitter

from ghostline.index.conventions import TEST_NAME_PATTERNS
from ghostline.index.languages import spec_by_name
from ghostline.index.node_text import node_text
from ghostline.index.parser import iter_nodes
from ghostline.index.text import indent_width

_PY_BUILTINS = frozenset(dir(builtins)) | {"__name__", "__file__"}
#: Fixtures pytest provides itself.
PYTEST_BUILTIN_FIXTURES = frozenset(
    {"tmp_path", "tmp_path_factory", "tmpdir", "tmpdir_factory", "monkeypatch", "capsys",
     "capsysbinary", "capfd", "capfdbinary", "caplog", "request", "recwarn", "pytestconfig",
     "cache", "record_property", "record_testsuite_property", "doctest_namespace"}
)  # fmt: skip
_JS = frozenset({"javascript", "typescript", "tsx"})
_OPENERS = {"(": ")", "[": "]", "{": "}"}
_CLOSERS = frozenset(_OPENERS.values())


def complete_unit(text: str, language: str, indent: str = "", truncated: bool = False
                  ) -> str | None:
    """The first complete unit at the start of ``text`` (header included), or None.

    Python: the header and every following line indented deeper than ``indent``. Brace
    languages: up to the line where the brackets opened by the unit close again.
    ``truncated``: the generation stopped at its token limit, so a last line that is still
    open cannot be trusted.
    """
    if language == "python":
        return _complete_python(text, indent, truncated)[0]
    return _complete_braces(text)


def unit_closed(text: str, language: str, indent: str = "") -> bool:
    """Whether the unit at the start of ``text`` has visibly ended (a dedented line follows
    it, or its brackets closed): generation can stop there."""
    if language == "python":
        unit, ended = _complete_python(text, indent, False)
        return ended and unit is not None
    return _complete_braces(text) is not None


def _complete_python(text: str, indent: str, truncated: bool) -> tuple[str | None, bool]:
    lines = text.split("\n")
    header_end = 0
    while header_end < len(lines) and not lines[header_end].rstrip().endswith(":"):
        header_end += 1  # decorators, or a signature over several lines
        if header_end > 8:
            return None, False
    body: list[str] = []
    ended = False
    for line in lines[header_end + 1 :]:
        stripped = line.strip()
        if stripped and indent_width(line) <= len(indent.expandtabs(4)):
            ended = True
            break
        body.append(line)
    if not ended and truncated and body:
        body.pop()  # the last line was cut by the token limit
    while body and not body[-1].strip():
        body.pop()
    if not any(line.strip() for line in body):
        return None, ended
    return "\n".join([*lines[: header_end + 1], *body]), ended


def _complete_braces(text: str) -> str | None:
    depth = 0
    opened_brace = False
    for index, char in _code_chars(text):
        if char in _OPENERS:
            depth += 1
            opened_brace = opened_brace or char == "{"
        elif char in _CLOSERS:
            depth -= 1
            if depth < 0:
                return None
            if depth == 0 and opened_brace:
                end = text.find("\n", index)
                line_rest = text[index + 1 : end if end >= 0 else len(text)]
                keep = len(line_rest) - len(line_rest.lstrip(");, \t"))
                return text[: index + 1 + keep].rstrip(", \t")
    return None


def _code_chars(text: str) -> Iterator[tuple[int, str]]:
    """Characters outside strings and comments (C-like languages), with their index."""
    index = 0
    length = len(text)
    while index < length:
        char = text[index]
        if char == "/" and text.startswith("//", index):
            end = text.find("\n", index)
            index = length if end < 0 else end
            continue
        if char == "/" and text.startswith("/*", index):
            end = text.find("*/", index + 2)
            index = length if end < 0 else end + 2
            continue
        if char in "\"'`":
            end = index + 1
            while end < length and text[end] != char:
                if text[end] == "\\":
                    end += 1
                elif text[end] == "\n" and char != "`":
                    break
                end += 1
            index = end + 1
            continue
        yield index, char
        index += 1


def syntax_errors(code: str, language: str) -> list[str]:
    """Parse errors as short messages (``line 3: unexpected 'x'``); empty when it parses."""
    spec = spec_by_name(language)
    if spec is None:
        return []
    tree = spec.parser().parse(code.encode("utf-8"))
    if not tree.root_node.has_error:
        return []
    errors: list[str] = []
    for node in _walk(tree.root_node):
        if node.is_missing:
            errors.append(f"line {node.start_point.row + 1}: missing '{node.type}'")
        elif node.type == "ERROR":
            snippet = node_text(node).strip().split("\n")[0][:40]
            errors.append(f"line {node.start_point.row + 1}: unexpected '{snippet}'")
        if len(errors) >= 3:
            break
    return errors or ["the code does not parse"]


def _walk(node: tree_sitter.Node) -> Iterator[tree_sitter.Node]:
    stack = [node]
    while stack:
        current = stack.pop()
        if current.type == "ERROR" or current.is_missing:
            yield current
            continue
        if current.has_error:
            stack.extend(reversed(current.children))


def uses_name(code: str, language: str, name: str) -> bool:
    """Whether ``name`` appears as an identifier (not in a string or comment) in ``code``."""
    spec = spec_by_name(language)
    if spec is None:
        return re.search(rf"(?<![\w$]){re.escape(name)}(?![\w$])", code) is not None
    data = code.encode("utf-8")
    needle = name.encode("utf-8")
    tree = spec.parser().parse(data)
    identifier_types = spec.rules.identifier_types | {"property_identifier", "field_identifier"}
    for match in re.finditer(rb"(?<![\w$])" + re.escape(needle) + rb"(?![\w$])", data):
        node = tree.root_node.descendant_for_byte_range(match.start(), match.end())
        if node is not None and node.type in identifier_types:
            return True
    return False


def unit_name(unit: str, language: str) -> str | None:
    """The test's name: function name, or the description of a JS ``it``/``test`` call."""
    pattern = TEST_NAME_PATTERNS["js" if language in _JS else language] if (
        language in _JS or language in TEST_NAME_PATTERNS) else None
    if pattern is None:
        return None
    match = pattern.search(unit)
    if match is None:
        return None
    return match.group(2) if language in _JS else match.group(1)


def rename_unit(unit: str, language: str, taken: Collection[str]) -> tuple[str, str | None]:
    """``unit`` with a name not in ``taken`` (``_2``, ``_3``… or `` (2)`` for JS)."""
    name = unit_name(unit, language)
    if name is None or name not in taken:
        return unit, name
    number = 2
    while True:
        candidate = f"{name} ({number})" if language in _JS else f"{name}_{number}"
        if candidate not in taken:
            break
        number += 1
    pattern = TEST_NAME_PATTERNS["js" if language in _JS else language]
    match = pattern.search(unit)
    assert match is not None
    group = 2 if language in _JS else 1
    start, end = match.span(group)
    return unit[:start] + candidate + unit[end:], candidate


def set_unit_name(unit: str, language: str, name: str) -> str | None:
    """``unit`` named ``name``; None when it has no name to replace or ``name`` cannot be
    written inside the unit's title literal (a JS title holding that literal's quote)."""
    pattern = TEST_NAME_PATTERNS.get("js" if language in _JS else language)
    match = pattern.search(unit) if pattern is not None else None
    if match is None:
        return None
    if language in _JS:
        if match.group(1) in name or "\\" in name:
            return None
        start, end = match.span(2)
    else:
        start, end = match.span(1)
    return unit[:start] + name + unit[end:]


def body_key(unit: str, language: str = "python") -> str:
    """The unit without its name, whitespace collapsed: equal keys mean a copy."""
    name = unit_name(unit, language)
    text = unit.replace(name, "", 1) if name else unit
    return re.sub(r"\s+", " ", text).strip()


def repeated_line_run(text: str, limit: int = 3) -> bool:
    """True when the last ``limit`` complete lines of ``text`` are the same line, or one
    line was written ``limit`` + 1 times: the model is looping."""
    lines = [line.strip() for line in text.split("\n")[:-1] if line.strip()]
    if len(lines) >= limit and len(set(lines[-limit:])) == 1:
        return True
    counts: dict[str, int] = {}
    for line in lines:
        counts[line] = counts.get(line, 0) + 1
        if counts[line] > limit and len(line) > 3:
            return True
    return False


@dataclass(frozen=True)
class PythonNames:
    """What a Python test may use: imported/defined names and fixtures."""

    undefined: tuple[str, ...]
    unknown_fixtures: tuple[str, ...]


def python_names(unit: str, known: Collection[str], fixtures: Collection[str]) -> PythonNames:
    """Global names ``unit`` uses that are neither ``known`` nor builtins, and parameters of
    a pytest test that are not fixtures (pytest would fail with "fixture not found")."""
    try:
        table = symtable.symtable(textwrap.dedent(unit).strip() + "\n", "<test>", "exec")
    except SyntaxError:
        return PythonNames((), ())
    undefined: list[str] = []
    for child in _tables(table):
        if child.get_type() == "module":
            continue
        for symbol in child.get_symbols():
            name = symbol.get_name()
            if (symbol.is_global() and symbol.is_referenced() and not symbol.is_assigned()
                    and name not in known and name not in _PY_BUILTINS
                    and name not in undefined):
                undefined.append(name)
    unknown: list[str] = []
    for child in table.get_children():
        if child.get_type() != "function" or not child.get_name().startswith("test"):
            continue
        if not isinstance(child, symtable.Function):
            continue
        parameters = [p for p in child.get_parameters() if p != "self"]
        for parameter in parameters:
            if parameter not in fixtures and parameter not in PYTEST_BUILTIN_FIXTURES and (
                "parametrize" not in unit
            ):
                unknown.append(parameter)
    return PythonNames(tuple(undefined), tuple(unknown))


def _tables(table: symtable.SymbolTable) -> Iterator[symtable.SymbolTable]:
    yield table
    for child in table.get_children():
        yield from _tables(child)


def stdlib_module(name: str) -> bool:
    """Whether ``name`` is a top-level module of Python's standard library."""
    return name in sys.stdlib_module_names


@dataclass(frozen=True)
class Arity:
    """How many positional arguments a Python callable takes (``maximum`` None: ``*args``)."""

    required: int
    maximum: int | None
    names: tuple[str, ...]
    keywords: bool = False
    #: Every parameter a keyword argument may name (keyword-only ones included).
    parameters: tuple[str, ...] = ()

    def describe(self) -> str:
        if self.maximum == self.required:
            count = f"{self.required} argument{'s' if self.required != 1 else ''}"
        elif self.maximum is None:
            count = f"at least {self.required} arguments"
        else:
            count = f"{self.required} to {self.maximum} arguments"
        return f"{count} ({', '.join(self.names)})" if self.names else count


_PY_REQUIRED = frozenset({"identifier", "typed_parameter"})
_PY_OPTIONAL = frozenset({"default_parameter", "typed_default_parameter"})


def python_arity(source: str, name: str) -> Arity | None:
    """The arity of the function ``name`` (for a class, of its ``__init__``) in ``source``;
    ``self``/``cls`` left out. None when it cannot be told."""
    spec = spec_by_name("python")
    assert spec is not None
    tree = spec.parser().parse(textwrap.dedent(source).encode("utf-8"))
    function = None
    for node in iter_nodes(tree.root_node):
        if node.type == "function_definition":
            node_name = node.child_by_field_name("name")
            label = node_text(node_name)
            if label in (name, "__init__"):
                function = node
                break
    if function is None:
        return None
    parameters = function.child_by_field_name("parameters")
    if parameters is None:
        return None
    required = 0
    optional = 0
    names: list[str] = []
    keyword_names: list[str] = []
    star = False
    keywords = False
    first = True
    for child in parameters.named_children:
        if child.type in ("list_splat_pattern", "keyword_separator"):
            star = True
            if child.type == "list_splat_pattern":
                optional = -1
            continue
        if child.type == "dictionary_splat_pattern":
            keywords = True
            continue
        if child.type == "positional_separator":
            continue
        label = _parameter_name(child)
        if first and label in ("self", "cls"):
            first = False
            continue
        first = False
        keyword_names.append(label)
        if star:
            continue  # keyword-only
        if child.type in _PY_REQUIRED:
            required += 1
            names.append(label)
        elif child.type in _PY_OPTIONAL and optional >= 0:
            optional += 1
            names.append(f"{label}=…")
    maximum = None if optional < 0 else required + optional
    return Arity(required, maximum, tuple(names), keywords, tuple(keyword_names))


def _keyword_name(node: tree_sitter.Node) -> str:
    name = node.child_by_field_name("name")
    return node_text(name)


def _parameter_name(node: tree_sitter.Node) -> str:
    if node.type == "identifier":
        return node_text(node)
    for child in node.named_children:
        if child.type == "identifier":
            return node_text(child)
    return ""


def python_call_problem(unit: str, name: str, arity: Arity) -> str:
    """Why a call to ``name`` in ``unit`` cannot match ``arity`` ("" when every call can)."""
    spec = spec_by_name("python")
    assert spec is not None
    tree = spec.parser().parse(textwrap.dedent(unit).encode("utf-8"))
    for node in iter_nodes(tree.root_node):
        if node.type != "call":
            continue
        function = node.child_by_field_name("function")
        if function is None:
            continue
        if function.type == "attribute":
            function = function.child_by_field_name("attribute")
        if function is None or node_text(function) != name:
            continue
        arguments = node.child_by_field_name("arguments")
        if arguments is None or arguments.type != "argument_list":
            continue
        args = arguments.named_children
        if any(a.type in ("list_splat", "dictionary_splat") for a in args):
            continue
        positional = sum(1 for a in args if a.type not in ("keyword_argument", "comment"))
        named = [_keyword_name(a) for a in args if a.type == "keyword_argument"]
        unknown = [n for n in named if n not in arity.parameters]
        if unknown and not arity.keywords:
            return f"a test passes {name} the unknown argument {unknown[0]!r}; " \
                f"it takes {arity.describe()}"
        keywords = len(named)
        too_many = arity.maximum is not None and positional > arity.maximum
        too_few = positional + keywords < arity.required
        if too_many or too_few:
            given = positional + keywords
            return (f"a test calls {name} with {given} argument{'s' if given != 1 else ''}; "
                    f"it takes {arity.describe()}")
    return ""


def js_arity(source: str, language: str) -> Arity | None:
    """The arity of the first function in a JavaScript/TypeScript ``source`` (a method's
    source is parsed inside a class). Parameters with a default or ``?`` are optional."""
    spec = spec_by_name(language)
    if spec is None:
        return None
    parameters = _first_formal_parameters(spec.parser().parse(source.encode("utf-8")))
    if parameters is None:
        wrapped = spec.parser().parse(f"class _ {{\n{source}\n}}".encode())
        parameters = _first_formal_parameters(wrapped)
    if parameters is None:
        return None
    required = optional = 0
    rest = False
    names: list[str] = []
    for child in parameters.named_children:
        if child.type == "comment":
            continue
        text = node_text(child)
        label = re.split(r"[?:=\s]", text.lstrip("."), maxsplit=1)[0]
        if text.startswith("...") or any(c.type == "rest_pattern" for c in child.children):
            rest = True
            continue
        if child.type in ("optional_parameter", "assignment_pattern") or (
            child.type == "required_parameter" and child.child_by_field_name("value") is not None
        ):
            optional += 1
            names.append(f"{label}?")
        else:
            required += 1
            names.append(label)
    return Arity(required, None if rest else required + optional, tuple(names))


def _first_formal_parameters(tree: tree_sitter.Tree) -> tree_sitter.Node | None:
    if tree.root_node.has_error:
        return None
    for node in iter_nodes(tree.root_node):
        if node.type == "formal_parameters":
            return node
    return None


def js_call_problem(unit: str, name: str, arity: Arity, language: str) -> str:
    """Why a call to ``name`` in a JS/TS ``unit`` cannot match ``arity`` ("" if none)."""
    spec = spec_by_name(language)
    if spec is None:
        return ""
    tree = spec.parser().parse(unit.encode("utf-8"))
    for node in iter_nodes(tree.root_node):
        if node.type not in ("call_expression", "new_expression"):
            continue
        function = node.child_by_field_name("function") or node.child_by_field_name(
            "constructor")
        if function is not None and function.type == "member_expression":
            function = function.child_by_field_name("property")
        if function is None or node_text(function) != name:
            continue
        arguments = node.child_by_field_name("arguments")
        if arguments is None:
            continue
        args = [a for a in arguments.named_children if a.type != "comment"]
        if any(a.type == "spread_element" for a in args):
            continue
        count = len(args)
        if count < arity.required or (arity.maximum is not None and count > arity.maximum):
            return (f"a test calls {name} with {count} argument{'s' if count != 1 else ''}; "
                    f"it takes {arity.describe()}")
    return ""


#: Names every JavaScript test may use without declaring them.
JS_GLOBALS = frozenset(
    {"Math", "JSON", "Array", "Object", "Number", "String", "Boolean", "Date", "Error",
     "RangeError", "TypeError", "SyntaxError", "Promise", "Set", "Map", "WeakMap", "WeakSet",
     "Symbol", "BigInt", "RegExp", "Infinity", "NaN", "undefined", "console", "parseInt",
     "parseFloat", "isNaN", "isFinite", "structuredClone", "globalThis", "Buffer", "process",
     "setTimeout", "clearTimeout", "Uint8Array", "ArrayBuffer", "TextEncoder", "TextDecoder",
     "URL", "expect", "it", "test", "describe", "vi", "jest", "assert", "beforeEach",
     "afterEach", "beforeAll", "afterAll", "require", "module", "arguments"}
)  # fmt: skip
_JS_DECLARING_PARENTS = frozenset(
    {"variable_declarator", "function_declaration", "class_declaration", "catch_clause",
     "formal_parameters", "required_parameter", "optional_parameter", "rest_pattern",
     "object_pattern", "array_pattern", "pair_pattern", "assignment_pattern",
     "shorthand_property_identifier_pattern", "for_in_statement", "arrow_function",
     "import_specifier", "namespace_import", "import_clause", "labeled_statement",
     "generator_function_declaration", "function_expression"}
)  # fmt: skip


def js_undefined_names(unit: str, language: str, known: Collection[str]) -> list[str]:
    """Identifiers ``unit`` reads that it never declares and that are not ``known`` or
    JavaScript globals (a rough scope-free check: any declaration in the unit counts)."""
    spec = spec_by_name(language)
    if spec is None:
        return []
    tree = spec.parser().parse(unit.encode("utf-8"))
    declared: set[str] = set()
    used: list[str] = []
    for node in iter_nodes(tree.root_node):
        if node.type not in ("identifier", "shorthand_property_identifier_pattern"):
            continue
        name = node_text(node)
        parent = node.parent
        if parent is not None and parent.type in _JS_DECLARING_PARENTS and (
            parent.type not in ("for_in_statement", "arrow_function")
            or node in (parent.child_by_field_name("left"),
                        parent.child_by_field_name("parameter"))
        ):
            declared.add(name)
            continue
        used.append(name)
    return [n for n in dict.fromkeys(used)
            if n not in declared and n not in known and n not in JS_GLOBALS]
