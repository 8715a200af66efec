"""The one registry of languages the index understands.

A language is added in one place: a ``LanguageSpec`` entry below plus its query file
``queries/<name>.scm``. Everything else (file detection, LSP language ids, parsing,
extraction) reads this table.
"""

from __future__ import annotations

import functools
import importlib
import threading
from dataclasses import dataclass, field
from pathlib import Path, PurePath

import tree_sitter

QUERIES_DIR = Path(__file__).with_name("queries")


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
        """Text of ``queries/<name>.scm`` (empty if the language has none)."""
        return _query_source(self.name)

    def query(self) -> tree_sitter.Query:
        """The compiled extraction query, compiled once per process."""
        return _compile_query(self.name, self.module, self.factory)


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
def _compile_query(name: str, module: str, factory: str) -> tree_sitter.Query:
    return tree_sitter.Query(_load_language(module, factory), _query_source(name))


LANGUAGES: tuple[LanguageSpec, ...] = (
    LanguageSpec(
        name="python",
        extensions=(".py", ".pyi", ".pyw"),
        language_ids=("python",),
        line_comment="#",
        module="tree_sitter_python",
    ),
    LanguageSpec(
        name="javascript",
        extensions=(".js", ".mjs", ".cjs", ".jsx"),
        language_ids=("javascript", "javascriptreact", "jsx"),
        line_comment="//",
        module="tree_sitter_javascript",
    ),
    LanguageSpec(
        name="typescript",
        extensions=(".ts", ".mts", ".cts"),
        language_ids=("typescript",),
        line_comment="//",
        module="tree_sitter_typescript",
        factory="language_typescript",
    ),
    LanguageSpec(
        name="tsx",
        extensions=(".tsx",),
        language_ids=("typescriptreact", "tsx"),
        line_comment="//",
        module="tree_sitter_typescript",
        factory="language_tsx",
    ),
    LanguageSpec(
        name="go",
        extensions=(".go",),
        language_ids=("go",),
        line_comment="//",
        module="tree_sitter_go",
    ),
    LanguageSpec(
        name="rust",
        extensions=(".rs",),
        language_ids=("rust",),
        line_comment="//",
        module="tree_sitter_rust",
    ),
    LanguageSpec(
        name="java",
        extensions=(".java",),
        language_ids=("java",),
        line_comment="//",
        module="tree_sitter_java",
    ),
    LanguageSpec(
        name="c",
        extensions=(".c", ".h"),
        language_ids=("c",),
        line_comment="//",
        module="tree_sitter_c",
    ),
    LanguageSpec(
        name="cpp",
        extensions=(".cc", ".cpp", ".cxx", ".c++", ".hpp", ".hh", ".hxx", ".h++", ".ipp", ".inl"),
        language_ids=("cpp", "cuda-cpp"),
        line_comment="//",
        module="tree_sitter_cpp",
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
    pure = PurePath(path)
    by_name = _BY_FILE_NAME.get(pure.name)
    if by_name is not None:
        return by_name
    return _BY_EXTENSION.get(pure.suffix.lower())


def spec_for_language_id(lang_id: str) -> LanguageSpec | None:
    """The language for an LSP ``languageId`` (``typescriptreact`` → tsx), or None."""
    return _BY_LANGUAGE_ID.get(lang_id)


def spec_by_name(name: str) -> LanguageSpec | None:
    """The language registered under ``name`` (``python``, ``tsx``, ...)."""
    return _BY_NAME.get(name)


def supported_extensions() -> frozenset[str]:
    """Every file extension the index parses (lower case, with the dot)."""
    return frozenset(_BY_EXTENSION)
