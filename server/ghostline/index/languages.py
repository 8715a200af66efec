"""The one registry of languages the index understands.

A language is added in one place: a ``LanguageSpec`` entry below plus its query file
``queries/<name>.scm``. Everything else (file detection, LSP language ids, parsing,
extraction) reads this table.
"""

from __future__ import annotations

import functools
import importlib
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path, PurePath

import tree_sitter

QUERIES_DIR = Path(__file__).with_name("queries")


@dataclass(frozen=True)
class SyntaxRules:
    """What the extractor must know about a grammar beyond its query file.

    ``wrapper_types``: nodes that wrap one definition (decorators, ``export``, templates);
    the definition's range and leading comment are taken from the outermost wrapper.
    ``identifier_types``: leaf nodes that count as a use of a name.
    ``skip_before_doc``: nodes allowed between a leading comment and its definition.
    ``max_depth``: deepest node at which a query pattern may start. The query walk costs
    about a third of the parse when it visits every node; definitions and imports sit near
    the top (a method in a class in a namespace), so the walk stops well above expressions.
    """

    identifier_types: frozenset[str]
    comment_types: frozenset[str] = frozenset({"comment"})
    wrapper_types: frozenset[str] = frozenset()
    skip_before_doc: frozenset[str] = frozenset()
    python_docstrings: bool = False
    max_depth: int | None = None


@dataclass(frozen=True)
class LanguageSpec:
    """One language: how to recognise its files and which grammar parses them.

    ``module`` / ``factory`` name the grammar wheel and the function in it that returns the
    language pointer (``tree_sitter_typescript.language_tsx`` for TSX).
    """

    name: str
    extensions: tuple[str, ...]
    language_ids: tuple[str, ...]
    line_comment: str
    module: str = field(default="", compare=False)
    factory: str = field(default="language", compare=False)
    file_names: tuple[str, ...] = field(default=(), compare=False)
    queries: tuple[str, ...] = field(default=(), compare=False)
    rules: SyntaxRules = field(default=SyntaxRules(frozenset({"identifier"})), compare=False)

    @property
    def language(self) -> tree_sitter.Language:
        """The grammar, loaded once per process."""
        return _load_language(self.module, self.factory)

    def parser(self) -> tree_sitter.Parser:
        """A parser for this language, one per thread (parsers are not thread-safe)."""
        cache: dict[str, tree_sitter.Parser] = _THREAD_PARSERS.__dict__.setdefault("parsers", {})
        parser = cache.get(self.name)
        if parser is None:
            parser = tree_sitter.Parser(self.language)
            cache[self.name] = parser
        return parser

    @property
    def query_source(self) -> str:
        """Text of the query files ``queries/<q>.scm`` for each q in ``queries`` (default:
        the language name), joined."""
        return "\n".join(_query_source(name) for name in self.queries or (self.name,))

    def query(self) -> tree_sitter.Query:
        """The compiled extraction query, compiled once per process."""
        return _compile_query(self.queries or (self.name,), self.module, self.factory)


_THREAD_PARSERS = threading.local()


@functools.cache
def _load_language(module: str, factory: str) -> tree_sitter.Language:
    mod = importlib.import_module(module)
    return tree_sitter.Language(getattr(mod, factory)())


@functools.cache
def _query_source(name: str) -> str:
    path = QUERIES_DIR / f"{name}.scm"
    return path.read_text(encoding="utf-8") if path.exists() else ""


@functools.cache
def _compile_query(names: tuple[str, ...], module: str, factory: str) -> tree_sitter.Query:
    source = "\n".join(_query_source(name) for name in names)
    return tree_sitter.Query(_load_language(module, factory), source)


_JS_IDS = frozenset(
    {
        "identifier",
        "property_identifier",
        "shorthand_property_identifier",
        "shorthand_property_identifier_pattern",
    }
)
_JS_WRAPPERS = frozenset({"export_statement", "lexical_declaration", "variable_declaration"})
_TS_RULES = SyntaxRules(
    identifier_types=_JS_IDS | {"type_identifier"},
    wrapper_types=_JS_WRAPPERS | {"ambient_declaration", "expression_statement"},
    max_depth=9,
)
_C_IDS = frozenset({"identifier", "field_identifier", "type_identifier"})

LANGUAGES: tuple[LanguageSpec, ...] = (
    LanguageSpec(
        name="python",
        extensions=(".py", ".pyi", ".pyw"),
        language_ids=("python",),
        line_comment="#",
        module="tree_sitter_python",
        rules=SyntaxRules(
            identifier_types=frozenset({"identifier"}),
            wrapper_types=frozenset({"decorated_definition"}),
            python_docstrings=True,
            max_depth=7,
        ),
    ),
    LanguageSpec(
        name="javascript",
        extensions=(".js", ".mjs", ".cjs", ".jsx"),
        language_ids=("javascript", "javascriptreact", "jsx"),
        line_comment="//",
        module="tree_sitter_javascript",
        queries=("ecmascript", "javascript"),
        rules=SyntaxRules(identifier_types=_JS_IDS, wrapper_types=_JS_WRAPPERS, max_depth=9),
    ),
    LanguageSpec(
        name="typescript",
        extensions=(".ts", ".mts", ".cts"),
        language_ids=("typescript",),
        line_comment="//",
        module="tree_sitter_typescript",
        factory="language_typescript",
        queries=("ecmascript", "typescript"),
        rules=_TS_RULES,
    ),
    LanguageSpec(
        name="tsx",
        extensions=(".tsx",),
        language_ids=("typescriptreact", "tsx"),
        line_comment="//",
        module="tree_sitter_typescript",
        factory="language_tsx",
        queries=("ecmascript", "typescript"),
        rules=_TS_RULES,
    ),
    LanguageSpec(
        name="go",
        extensions=(".go",),
        language_ids=("go",),
        line_comment="//",
        module="tree_sitter_go",
        rules=SyntaxRules(
            identifier_types=_C_IDS | {"package_identifier"},
            wrapper_types=frozenset({"type_declaration", "const_declaration", "var_declaration"}),
            max_depth=5,
        ),
    ),
    LanguageSpec(
        name="rust",
        extensions=(".rs",),
        language_ids=("rust",),
        line_comment="//",
        module="tree_sitter_rust",
        rules=SyntaxRules(
            identifier_types=_C_IDS,
            comment_types=frozenset({"line_comment", "block_comment"}),
            skip_before_doc=frozenset({"attribute_item"}),
            max_depth=9,
        ),
    ),
    LanguageSpec(
        name="java",
        extensions=(".java",),
        language_ids=("java",),
        line_comment="//",
        module="tree_sitter_java",
        rules=SyntaxRules(
            identifier_types=frozenset({"identifier", "type_identifier"}),
            comment_types=frozenset({"line_comment", "block_comment"}),
            max_depth=8,
        ),
    ),
    LanguageSpec(
        name="c",
        extensions=(".c", ".h"),
        language_ids=("c",),
        line_comment="//",
        module="tree_sitter_c",
        rules=SyntaxRules(identifier_types=_C_IDS, max_depth=7),
    ),
    LanguageSpec(
        name="cpp",
        extensions=(".cc", ".cpp", ".cxx", ".c++", ".hpp", ".hh", ".hxx", ".h++", ".ipp", ".inl"),
        language_ids=("cpp", "cuda-cpp"),
        line_comment="//",
        module="tree_sitter_cpp",
        rules=SyntaxRules(
            identifier_types=_C_IDS | {"namespace_identifier"},
            wrapper_types=frozenset({"template_declaration"}),
            max_depth=11,
        ),
    ),
)

_BY_NAME: dict[str, LanguageSpec] = {spec.name: spec for spec in LANGUAGES}
_BY_EXTENSION: dict[str, LanguageSpec] = {
    ext: spec for spec in LANGUAGES for ext in spec.extensions
}
_BY_FILE_NAME: dict[str, LanguageSpec] = {
    fname: spec for spec in LANGUAGES for fname in spec.file_names
}
_BY_LANGUAGE_ID: dict[str, LanguageSpec] = {
    lang_id: spec for spec in LANGUAGES for lang_id in spec.language_ids
}


def spec_for_path(path: str | PurePath) -> LanguageSpec | None:
    """The language of a file by its name, or None if the index does not handle it."""
    name = os.path.basename(path) if isinstance(path, str) else path.name
    by_name = _BY_FILE_NAME.get(name)
    if by_name is not None:
        return by_name
    return _BY_EXTENSION.get(os.path.splitext(name)[1].lower())


def spec_for_language_id(lang_id: str) -> LanguageSpec | None:
    """The language for an LSP ``languageId`` (``typescriptreact`` → tsx), or None."""
    return _BY_LANGUAGE_ID.get(lang_id)


def spec_by_name(name: str) -> LanguageSpec | None:
    """The language registered under ``name`` (``python``, ``tsx``, ...)."""
    return _BY_NAME.get(name)


def supported_extensions() -> frozenset[str]:
    """Every file extension the index parses (lower case, with the dot)."""
    return frozenset(_BY_EXTENSION)
