"""Which files of the workspace are indexed: ``.gitignore`` plus the usual noise.

Skipped: version-control folders, virtual environments (any folder with ``pyvenv.cfg``),
``node_modules``, caches, build output next to a project file, files the registry has no
grammar for, and every symbolic link. Links are never followed: a link inside the
workspace points at files that are indexed at their real place anyway, a link out of the
workspace must not pull foreign files in (nor a linked ``.gitignore`` be read), and a link
loop cannot trap a walk that does not follow links.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pathspec

from ghostline.index.languages import spec_for_path

log = logging.getLogger(__name__)

SKIP_DIRS = frozenset(
    {
        ".git", ".hg", ".svn", ".bzr", "node_modules", "bower_components", "__pycache__",
        ".venv", ".tox", ".nox", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".eggs",
        "site-packages", ".gradle", ".idea", ".next", ".nuxt", ".svelte-kit", ".cache",
        ".terraform", ".direnv", ".yarn", ".pnpm-store", ".parcel-cache", ".turbo",
    }
)  # fmt: skip
# Build output, skipped only next to a project file (``go/build`` is a real package).
BUILD_DIRS = frozenset({"build", "dist", "target", "out", "_build"})
PROJECT_MARKERS = frozenset(
    {
        "pyproject.toml", "setup.py", "setup.cfg", "package.json", "Cargo.toml", "go.mod",
        "pom.xml", "build.gradle", "build.gradle.kts", "CMakeLists.txt", "Makefile",
        "meson.build", "tsconfig.json",
    }
)  # fmt: skip
VENV_MARKERS = frozenset({"pyvenv.cfg", "conda-meta"})

_Chain = list[tuple[str, pathspec.PathSpec]]


@dataclass(frozen=True, slots=True)
class FoundFile:
    """A file the walk wants indexed, with the stat it was found with."""

    path: Path
    size: int
    mtime_ns: int


@dataclass(slots=True)
class WalkResult:
    files: list[FoundFile] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    cancelled: bool = False


class IgnoreRules:
    """Decides what is indexed under a set of roots; caches each folder's ``.gitignore``."""

    def __init__(self, roots: Iterable[Path], max_file_bytes: int = 1_000_000) -> None:
        absolute = sorted({Path(os.path.abspath(r)) for r in roots}, key=lambda p: len(p.parts))
        self.roots: list[Path] = []
        for root in absolute:  # drop roots nested in another root: walk each file once
            if not any(root.is_relative_to(kept) for kept in self.roots):
                self.roots.append(root)
        self.max_file_bytes = max_file_bytes
        self._specs: dict[str, pathspec.PathSpec | None] = {}
        self._markers: dict[tuple[str, frozenset[str]], bool] = {}
        self._lock = threading.Lock()

    def forget(self) -> None:
        """Drop cached ``.gitignore`` files and folder facts (they may have changed)."""
        with self._lock:
            self._specs.clear()
            self._markers.clear()

    def root_of(self, path: Path) -> Path | None:
        for root in self.roots:
            if path.is_relative_to(root):
                return root
        return None

    # --- walking --------------------------------------------------------------------------

    def walk(self, cancelled: Callable[[], bool] | None = None) -> WalkResult:
        """Every indexable file under the roots, without reading any of them."""
        result = WalkResult()
        for root in self.roots:
            if not root.is_dir():
                result.skipped.append((str(root), "missing root"))
                continue
            self._walk_root(root, result, cancelled)
            if result.cancelled:
                break
        return result

    def walk_folder(self, folder: Path) -> WalkResult:
        """Indexable files under ``folder`` (inside a root), e.g. a folder moved in."""
        result = WalkResult()
        folder = Path(os.path.abspath(folder))
        root = self.root_of(folder)
        if root is None or not folder.is_dir():
            return result
        if folder != root and self.is_ignored(folder, root, is_dir=True):
            return result
        chain: _Chain = []
        for ancestor in reversed(folder.parents):
            if ancestor.is_relative_to(root):
                spec = self._spec_for(str(ancestor))
                if spec is not None:
                    chain.append((str(ancestor), spec))
        self._walk_root(root, result, None, start=folder, chain=chain)
        return result

    def _walk_root(
        self,
        root: Path,
        result: WalkResult,
        cancelled: Callable[[], bool] | None,
        start: Path | None = None,
        chain: _Chain | None = None,
    ) -> None:
        stack: list[tuple[str, _Chain]] = [(str(start or root), chain or [])]
        while stack:
            if cancelled is not None and cancelled():
                result.cancelled = True
                return
            folder, chain = stack.pop()
            try:
                with os.scandir(folder) as it:
                    entries = list(it)
            except OSError as exc:
                result.skipped.append((folder, f"unreadable: {exc.strerror}"))
                continue
            names = {e.name for e in entries}
            if folder != str(root) and names & VENV_MARKERS:
                continue
            spec = self._spec_for(folder, ".gitignore" in names)
            if spec is not None:
                chain = [*chain, (folder, spec)]
            near_project = folder == str(root) or bool(names & PROJECT_MARKERS)
            for entry in entries:
                self._visit(entry, chain, near_project, stack, result)

    def _visit(
        self,
        entry: os.DirEntry[str],
        chain: _Chain,
        near_project: bool,
        stack: list[tuple[str, _Chain]],
        result: WalkResult,
    ) -> None:
        try:
            if entry.is_symlink():
                return
            if entry.is_dir(follow_symlinks=False):
                if not self._skip_dir_name(entry.name, near_project) and not _ignored(
                    chain, entry.path, True
                ):
                    stack.append((entry.path, chain))
                return
            if not entry.is_file(follow_symlinks=False) or spec_for_path(entry.name) is None:
                return
            if _ignored(chain, entry.path, False):
                return
            stat = entry.stat(follow_symlinks=False)
        except OSError as exc:
            result.skipped.append((entry.path, f"unreadable: {exc.strerror}"))
            return
        if stat.st_size > self.max_file_bytes:
            result.skipped.append((entry.path, "too large"))
            return
        result.files.append(FoundFile(Path(entry.path), stat.st_size, stat.st_mtime_ns))

    @staticmethod
    def _skip_dir_name(name: str, near_project: bool) -> bool:
        return (
            name in SKIP_DIRS
            or name.endswith(".egg-info")
            or (near_project and (name in BUILD_DIRS or name.startswith("cmake-build-")))
        )

    def _spec_for(self, folder: str, has_gitignore: bool | None = None) -> pathspec.PathSpec | None:
        with self._lock:
            if folder in self._specs:
                return self._specs[folder]
        lines: list[str] = []
        files = [os.path.join(folder, ".gitignore")] if has_gitignore is not False else []
        if any(Path(folder) == root for root in self.roots):
            files.append(os.path.join(folder, ".git", "info", "exclude"))
        for name in files:
            if not _stays_inside(name, folder):
                continue  # a linked ignore file: never read a file outside the workspace
            try:
                with open(name, encoding="utf-8", errors="replace") as handle:
                    lines.extend(handle.read().splitlines())
            except OSError:
                continue
        spec = pathspec.GitIgnoreSpec.from_lines(lines) if lines else None
        with self._lock:
            self._specs[folder] = spec
        return spec

    # --- single paths (watcher, didChangeWatchedFiles) ------------------------------------

    def is_indexable(self, path: Path) -> bool:
        """Whether ``path`` (which may no longer exist) belongs in the index."""
        path = Path(os.path.abspath(path))
        root = self.root_of(path)
        if root is None or path == root or spec_for_path(path.name) is None:
            return False
        return not self.is_ignored(path, root)

    def is_ignored(self, path: Path, root: Path, is_dir: bool = False) -> bool:
        """Whether ``path`` under ``root``, or a folder on the way to it, is skipped."""
        parts = path.relative_to(root).parts
        chain: _Chain = []
        folder = str(root)
        for index, part in enumerate(parts):
            spec = self._spec_for(folder)
            if spec is not None:
                chain.append((folder, spec))
            child = os.path.join(folder, part)
            last = index == len(parts) - 1
            if os.path.islink(child):
                return True
            child_is_dir = is_dir if last else True
            if child_is_dir:
                near_project = folder == str(root) or self._has_any(folder, PROJECT_MARKERS)
                if self._skip_dir_name(part, near_project) or self._has_any(child, VENV_MARKERS):
                    return True
            if _ignored(chain, child, child_is_dir):
                return True
            folder = child
        return False

    def _has_any(self, folder: str, names: frozenset[str]) -> bool:
        key = (folder, names)
        with self._lock:
            known = self._markers.get(key)
        if known is None:
            known = any(os.path.exists(os.path.join(folder, name)) for name in names)
            with self._lock:
                self._markers[key] = known
        return known


def _stays_inside(path: str, folder: str) -> bool:
    """Whether ``path`` resolves inside ``folder`` (no link on the way points out)."""
    real = os.path.realpath(path)
    return real.startswith(os.path.join(os.path.realpath(folder), ""))


def _ignored(chain: _Chain, path: str, is_dir: bool) -> bool:
    """The deepest ``.gitignore`` with an opinion about ``path`` decides."""
    for base, spec in reversed(chain):
        rel = path[len(base) + 1 :].replace(os.sep, "/")
        if is_dir:
            rel += "/"
        decision = spec.check_file(rel).include
        if decision is not None:
            return bool(decision)
    return False
