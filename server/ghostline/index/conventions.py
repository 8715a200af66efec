"""Where each language keeps the tests of a source file.

Python ``test_x.py`` / ``x_test.py`` (next to it or in a ``tests`` folder), JS/TS
``x.test.ts`` / ``x.spec.ts`` / ``__tests__/x.ts``, Go ``x_test.go``, Java
``src/test/java/.../XTest.java``, Rust in-file ``#[cfg(test)]`` modules and ``tests/x.rs``,
C/C++ ``test_x.c`` / ``x_test.cc`` / ``x_unittest.cc``. And how a test file names its tests
(``declared_test_names``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path, PurePath

_JS_SUFFIXES = (".ts", ".tsx", ".js", ".jsx", ".mjs", ".cjs", ".mts", ".cts")
_TEST_DIRS = frozenset({"test", "tests", "__tests__", "spec", "testing"})
_RUST_TEST_MODULE = re.compile(r"#\[cfg\(test\)\]")
#: Where a test file declares a test, by language ("js": JavaScript and TypeScript, whose
#: tests are named by their description, group 2; group 1 elsewhere).
TEST_NAME_PATTERNS = {
    "python": re.compile(r"^[ \t]*(?:async[ \t]+)?def[ \t]+(\w+)", re.M),
    "go": re.compile(r"^func[ \t]+(Test\w*)", re.M),
    "rust": re.compile(r"^[ \t]*(?:pub[ \t]+)?(?:async[ \t]+)?fn[ \t]+(\w+)", re.M),
    "java": re.compile(r"^[ \t]*(?:public[ \t]+|protected[ \t]+)?void[ \t]+(\w+)[ \t]*\(", re.M),
    "js": re.compile(r"""^[ \t]*(?:it|test)(?:\.\w+)?\([ \t]*(["'`])(.*?)\1""", re.M),
}
_JS_LANGUAGES = frozenset({"javascript", "typescript", "tsx"})


def is_test_file(path: PurePath) -> bool:
    """Whether ``path`` looks like a test file by its name or folder."""
    name = path.name
    stem = name.split(".", 1)[0]
    if stem.startswith("test_") or stem.endswith(("_test", "_tests", "_unittest", "_spec")):
        return True
    if any(f".{word}." in name for word in ("test", "spec")):
        return True
    if path.suffix == ".java" and (
        stem.endswith(("Test", "Tests", "IT")) or stem.startswith("Test")
    ):
        return True
    return bool(_TEST_DIRS & set(path.parts[:-1]))


def test_names_for(path: PurePath) -> list[str]:
    """File names a test of ``path`` may have, by its language's conventions."""
    stem, suffix = path.stem, path.suffix
    if suffix in (".py", ".pyi"):
        return [f"test_{stem}.py", f"{stem}_test.py", f"tests_{stem}.py"]
    if suffix in _JS_SUFFIXES:
        base = path.name[: -len(suffix)]
        names = [f"{base}.{kind}{ext}" for kind in ("test", "spec") for ext in _JS_SUFFIXES]
        return [*names, *(f"{base}{ext}" for ext in _JS_SUFFIXES)]  # only under __tests__
    if suffix == ".go":
        return [f"{stem}_test.go"]
    if suffix == ".java":
        return [f"{stem}Test.java", f"{stem}Tests.java", f"Test{stem}.java", f"{stem}IT.java"]
    if suffix == ".rs":
        return [f"{stem}.rs", f"{stem}_test.rs", f"{stem}_tests.rs", f"test_{stem}.rs"]
    if suffix in (".c", ".h", ".cc", ".cpp", ".cxx", ".hpp", ".hh"):
        exts = (".c", ".cc", ".cpp", ".cxx")
        return [
            f"{prefix}{stem}{tail}{ext}"
            for ext in exts
            for prefix, tail in (("test_", ""), ("", "_test"), ("", "_unittest"))
        ]
    return []


def find_test_files(
    path: Path,
    files_named: Callable[[str], Iterable[Path]],
    read_text: Callable[[Path], str | None],
    root: Path | None = None,
) -> list[Path]:
    """The test files of ``path``, nearest first.

    ``files_named(name)`` lists indexed files with that file name; ``read_text`` reads a
    file (for Rust's in-file test modules). Folder names are only looked at below ``root``.
    """
    if is_test_file(_below(path, root)):
        return []
    found: list[Path] = []
    suffix = path.suffix
    if suffix == ".rs":
        text = read_text(path)
        if text is not None and _RUST_TEST_MODULE.search(text):
            found.append(path)
    for name in test_names_for(path):
        for candidate in files_named(name):
            if candidate == path or candidate in found:
                continue
            if _plausible(path, candidate, name, root):
                found.append(candidate)
    return sorted(found, key=lambda c: (c != path, _distance(path, c), str(c)))


def _below(path: Path, root: Path | None) -> PurePath:
    if root is not None and path.is_relative_to(root):
        return PurePath(path.relative_to(root))
    return path


def _plausible(source: Path, candidate: Path, name: str, root: Path | None) -> bool:
    """Same folder, a test folder nearby, or the mirrored Java/Rust test tree."""
    folders = set(_below(candidate, root).parts[:-1])
    if (
        source.suffix in _JS_SUFFIXES
        and name.endswith(_JS_SUFFIXES)
        and ".test." not in name
        and ".spec." not in name
    ):
        return candidate.parent.name == "__tests__"
    if source.suffix == ".go":
        return candidate.parent == source.parent
    if source.suffix == ".java":
        parts = source.parts
        mains = [i for i in range(1, len(parts)) if parts[i] == "main" and parts[i - 1] == "src"]
        if mains:  # src/main/java/a/B.java → src/test/java/a/BTest.java
            index = mains[-1]
            mirrored = Path(*parts[:index], "test", *parts[index + 1 : -1])
            return candidate.parent in (mirrored, source.parent)
        return candidate.parent == source.parent
    if source.suffix == ".rs":
        return candidate.parent.name == "tests"
    return candidate.parent == source.parent or bool(_TEST_DIRS & folders)


def _distance(a: Path, b: Path) -> int:
    """Folders between the two files through their common ancestor."""
    common = 0
    for left, right in zip(a.parts, b.parts, strict=False):
        if left != right:
            break
        common += 1
    return (len(a.parts) - common) + (len(b.parts) - common)


def declared_test_names(code: str, language: str) -> list[str]:
    """Names of every test already in ``code``."""
    key = "js" if language in _JS_LANGUAGES else language
    pattern = TEST_NAME_PATTERNS.get(key)
    if pattern is None:
        return []
    group = 2 if key == "js" else 1
    return [m.group(group) for m in pattern.finditer(code)]
