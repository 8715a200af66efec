"""Where generated tests go and which framework they use, by each language's conventions.

Python: next to the existing tests of the module, else ``tests/test_<module>.py`` in the
nearest ``tests``/``test`` folder (or beside the module when the project keeps its tests
there); pytest unless the project's tests use ``unittest`` only. JavaScript/TypeScript:
``x.test.ts``/``x.spec.ts`` beside the file, in ``__tests__`` or in the project's test folder,
as the project's other tests do; vitest, jest or ``node:test`` from ``package.json``. Go:
``<file>_test.go`` in the same package. Rust: a ``#[cfg(test)] mod tests`` in the file itself.
Java: JUnit 5 (JUnit 4 when the project's tests use it) under ``src/test/java``.

Everything here reads files only; nothing is written.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ghostline.index.conventions import is_test_file
from ghostline.index.resolve import python_module

ReadText = Callable[[Path], "str | None"]

JS_LANGUAGES = frozenset({"javascript", "typescript", "tsx"})
_SKIP_DIRS = frozenset(
    {".git", "node_modules", "__pycache__", ".venv", "venv", ".tox", "build", "dist",
     "target", ".mypy_cache", ".pytest_cache", "site-packages", ".next", "coverage"}
)  # fmt: skip
_SCAN_LIMIT = 3000
_PY_TEST_DIRS = ("tests", "test")
_JS_TEST_DIRS = ("test", "tests", "__tests__", "spec")
#: Files that mark a project's top folder: tests of another project are never "existing".
_PROJECT_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg", "package.json", "go.mod",
                    "Cargo.toml", "pom.xml", "build.gradle", "build.gradle.kts")
_UNITTEST = re.compile(r"^\s*(?:import unittest|from unittest import)|unittest\.TestCase", re.M)
_PYTEST = re.compile(r"^\s*import pytest|^\s*from pytest|^def test_|@pytest\.", re.M)
_GO_PACKAGE = re.compile(r"^package\s+(\w+)", re.M)
_JAVA_PACKAGE = re.compile(r"^\s*package\s+([\w.]+)\s*;", re.M)
_JUNIT4 = re.compile(r"import\s+org\.junit\.(?:Test|Assert|Before)\b")


@dataclass(frozen=True)
class GenPlan:
    """The test file for one source file.

    ``import_from`` is how the test refers to the source: a Python module (``pkg.cart``),
    a relative JS/TS specifier (``./cart``, ``../src/cart.js``), the Go package name, the
    Java package (``com.shop``), or ``super`` for Rust's in-file module.
    ``in_source``: the tests go into the source file itself (Rust).
    ``python_path``: the folder that must be on ``sys.path`` for ``import_from`` to import.
    """

    language: str
    framework: str
    path: Path
    exists: bool
    import_from: str
    in_source: bool = False
    python_path: Path | None = None
    project_root: Path | None = None


def plan_test_file(
    source: Path,
    language: str,
    root: Path | None,
    existing: list[Path] | None = None,
    read_text: ReadText | None = None,
) -> GenPlan | None:
    """Where the tests of ``source`` go. ``existing``: the test files the index knows for
    it, nearest first (``WorkspaceIndex.test_files_for``); None to look on disk.
    Returns None for languages without a convention here."""
    read = read_text or _read_disk
    root = root or source.parent
    if existing is None:
        existing = _existing_tests_on_disk(source, root)
    project = _nearest_with(source, root, _PROJECT_MARKERS) or root
    existing = [p for p in existing
                if (p != source or language == "rust") and _is_below(p, project)]
    if language == "python":
        return _python_plan(source, root, existing, read)
    if language in JS_LANGUAGES:
        return _js_plan(source, language, root, existing, read)
    if language == "go":
        return _go_plan(source, read)
    if language == "rust":
        return GenPlan("rust", "rust", source, True, "super", in_source=True,
                        project_root=_nearest_with(source, root, ("Cargo.toml",)))
    if language == "java":
        return _java_plan(source, root, existing, read)
    return None


# --- Python ---------------------------------------------------------------------------------


def _python_plan(source: Path, root: Path, existing: list[Path], read: ReadText) -> GenPlan:
    module = python_module(source)
    top = source.parent
    for _ in module.split(".")[1:]:
        top = top.parent
    project = _nearest_with(source, root, ("pyproject.toml", "setup.py", "setup.cfg")) or root
    if existing:
        path = existing[0]
        text = read(path) or ""
        framework = _python_framework([text], project)
        return GenPlan("python", framework, path, True, module, python_path=top,
                        project_root=project)
    name = f"test_{module.rsplit('.', 1)[-1] if source.name != '__init__.py' else module}.py"
    folder = _python_test_folder(source, root)
    samples = [read(p) or "" for p in sample_tests(folder, (".py",), 3)]
    framework = _python_framework(samples, project)
    path = folder / name
    return GenPlan("python", framework, path, path.exists(), module, python_path=top,
                    project_root=project)


def _python_test_folder(source: Path, root: Path) -> Path:
    """Beside the module if tests live there, else the nearest ``tests``/``test`` folder
    of an enclosing directory, else ``<root>/tests``."""
    siblings = [p for p in _list_dir(source.parent) if p.suffix == ".py" and is_test_file(
        Path(p.name))]
    if siblings:
        return source.parent
    for folder in _up_to(source.parent, root):
        for name in _PY_TEST_DIRS:
            candidate = folder / name
            if candidate.is_dir():
                return candidate
    return root / "tests"


def _python_framework(samples: list[str], project: Path) -> str:
    """unittest when the project's tests use it and never pytest; else pytest."""
    uses_unittest = any(_UNITTEST.search(s) for s in samples)
    uses_pytest = any(_PYTEST.search(s) for s in samples)
    if uses_unittest and not uses_pytest and not _pytest_configured(project):
        return "unittest"
    return "pytest"


def _pytest_configured(project: Path) -> bool:
    if (project / "pytest.ini").exists() or (project / "conftest.py").exists():
        return True
    for name, marker in (("pyproject.toml", "[tool.pytest"), ("setup.cfg", "[tool:pytest"),
                         ("tox.ini", "[pytest")):
        text = _read_disk(project / name)
        if text and marker in text:
            return True
    return False


# --- JavaScript / TypeScript ------------------------------------------------------------------


def js_framework(package_json: dict[str, object] | None) -> str:
    """vitest, jest or node:test, from a parsed ``package.json``."""
    if not package_json:
        return "node:test"
    deps: dict[str, object] = {}
    for key in ("dependencies", "devDependencies", "peerDependencies"):
        value = package_json.get(key)
        if isinstance(value, dict):
            deps.update(value)
    scripts = package_json.get("scripts")
    test_script = str(scripts.get("test", "")) if isinstance(scripts, dict) else ""
    if "vitest" in deps or "vitest" in test_script:
        return "vitest"
    if any(d in deps for d in ("jest", "ts-jest", "@jest/globals", "babel-jest")) or (
        "jest" in test_script
    ):
        return "jest"
    return "node:test"


def _js_plan(
    source: Path, language: str, root: Path, existing: list[Path], read: ReadText
) -> GenPlan:
    package_dir = _nearest_with(source, root, ("package.json",))
    package = _load_json(package_dir / "package.json") if package_dir else None
    framework = js_framework(package)
    esm = bool(package and package.get("type") == "module")
    path = existing[0] if existing else _js_new_test_path(source, package_dir or root)
    return GenPlan(language, framework, path, path.exists(),
                    js_specifier(path.parent, source, esm and language == "javascript"),
                    project_root=package_dir or root)


def _js_new_test_path(source: Path, project: Path) -> Path:
    """Follow the project's other tests: ``.spec`` or ``.test``, ``__tests__``, a test folder
    mirroring the sources, or beside the file."""
    samples = list(sample_tests(project, (".ts", ".tsx", ".js", ".jsx", ".mjs", ".cjs",
                                           ".mts", ".cts"), 40))
    kind = "spec" if sum(".spec." in p.name for p in samples) > len(samples) / 2 else "test"
    ext = source.suffix
    base = source.name[: -len(ext)] if ext else source.name
    name = f"{base}.{kind}{ext}"
    in_tests_dirs = [p for p in samples if p.parent.name == "__tests__"]
    if samples and len(in_tests_dirs) > len(samples) / 2:
        return source.parent / "__tests__" / name
    for folder_name in _JS_TEST_DIRS:
        folder = project / folder_name
        if folder.is_dir() and any(_is_below(p, folder) for p in samples):
            relative = source.parent.relative_to(project) if _is_below(source, project) else None
            parts = relative.parts if relative is not None else ()
            if parts and parts[0] in ("src", "lib"):
                parts = parts[1:]
            return folder.joinpath(*parts, name)
    return source.parent / name


def js_specifier(from_dir: Path, source: Path, keep_extension: bool = False) -> str:
    """The relative import specifier of ``source`` seen from a file in ``from_dir``."""
    target = source if keep_extension else source.with_suffix("")
    if not keep_extension and source.suffix in (".mts", ".cts"):
        target = source.with_suffix(".js" if source.suffix == ".mts" else ".cjs")
    rel = posixpath.relpath(target.as_posix(), from_dir.as_posix())
    return rel if rel.startswith("../") else f"./{rel}"


# --- Go, Java -----------------------------------------------------------------------------------


def _go_plan(source: Path, read: ReadText) -> GenPlan:
    text = read(source) or ""
    match = _GO_PACKAGE.search(text)
    package = match.group(1) if match else source.parent.name
    path = source.with_name(f"{source.stem}_test.go")
    return GenPlan("go", "go", path, path.exists(), package,
                    project_root=_nearest_with(source, source.parent.parent, ("go.mod",))
                    or source.parent)


def _java_plan(source: Path, root: Path, existing: list[Path], read: ReadText) -> GenPlan:
    text = read(source) or ""
    match = _JAVA_PACKAGE.search(text)
    package = match.group(1) if match else ""
    if existing:
        path = existing[0]
    else:
        parts = source.parts
        mains = [i for i in range(1, len(parts) - 1)
                 if parts[i] == "main" and parts[i - 1] == "src"]
        if mains:
            index = mains[-1]
            path = Path(*parts[:index], "test", *parts[index + 1 : -1], f"{source.stem}Test.java")
        else:
            path = source.with_name(f"{source.stem}Test.java")
    samples = [read(path) or ""] if path.exists() else [
        read(p) or "" for p in sample_tests(root, (".java",), 3)
    ]
    framework = "junit4" if any(_JUNIT4.search(s) for s in samples) else "junit5"
    project = _nearest_with(source, root, ("pom.xml", "build.gradle", "build.gradle.kts"))
    return GenPlan("java", framework, path, path.exists(), package,
                    project_root=project or root)


# --- helpers ------------------------------------------------------------------------------------


def _read_disk(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def _load_json(path: Path) -> dict[str, object] | None:
    text = _read_disk(path)
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _list_dir(folder: Path) -> list[Path]:
    try:
        return list(folder.iterdir())
    except OSError:
        return []


def _up_to(folder: Path, root: Path) -> Iterator[Path]:
    """``folder`` and its parents, stopping at ``root`` (inclusive) or the filesystem top."""
    current = folder
    while True:
        yield current
        if current == root or current.parent == current or not _is_below(current, root):
            return
        current = current.parent


def _nearest_with(source: Path, root: Path, markers: tuple[str, ...]) -> Path | None:
    for folder in _up_to(source.parent, root):
        if any((folder / m).exists() for m in markers):
            return folder
    return None


def _is_below(path: Path, folder: Path) -> bool:
    try:
        path.relative_to(folder)
    except ValueError:
        return False
    return True


def sample_tests(folder: Path, suffixes: tuple[str, ...], limit: int) -> Iterator[Path]:
    """Up to ``limit`` test files under ``folder`` (a bounded walk, build folders skipped)."""
    found = 0
    seen = 0
    for current, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS and not d.startswith("."))
        for name in sorted(files):
            seen += 1
            path = Path(current, name)
            if path.suffix in suffixes and is_test_file(path.relative_to(folder)):
                yield path
                found += 1
                if found >= limit:
                    return
        if seen > _SCAN_LIMIT:
            return


def _existing_tests_on_disk(source: Path, root: Path) -> list[Path]:
    """The index's conventions, looked up on disk (when the index is not ready yet)."""
    from ghostline.index.conventions import find_test_files

    names: dict[str, list[Path]] = {}
    seen = 0
    for current, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in _SKIP_DIRS and not d.startswith(".")]
        for name in files:
            names.setdefault(name, []).append(Path(current, name))
        seen += len(files)
        if seen > _SCAN_LIMIT:
            break
    return find_test_files(source, lambda n: names.get(n, ()), _read_disk, root)
