"""Which workspace file an import refers to, by each language's lookup rules (best effort).

Built from the set of indexed files, never from the disk, so resolving is cheap and gives
the same answer as the index. Go packages resolve to their folder; everything else to a
file. Imports of code outside the workspace resolve to None.
"""

from __future__ import annotations

import posixpath
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from ghostline.index.model import Import

_JS_EXTENSIONS = (".ts", ".tsx", ".d.ts", ".js", ".jsx", ".mjs", ".cjs", ".mts", ".cts")


def python_module(path: Path, is_package: set[str] | None = None) -> str:
    """Dotted module name: climb while the folder has an ``__init__.py``.

    ``is_package`` is the set of package folders as strings; without it the disk is asked.
    """
    parts = [] if path.name in ("__init__.py", "__init__.pyi") else [path.stem]
    folder = path.parent
    while True:
        if is_package is not None:
            package = str(folder) in is_package
        else:
            package = (folder / "__init__.py").exists()
        if not package or folder.parent == folder:
            break
        parts.append(folder.name)
        folder = folder.parent
    return ".".join(reversed(parts))


class Resolver:
    """Resolves imports against one snapshot of the indexed files."""

    def __init__(self, files: Iterable[tuple[str, str, str]]) -> None:
        """``files``: (path, language, module) of every indexed file."""
        self._files: set[str] = set()
        self._python: dict[str, str] = {}
        self._by_name: dict[str, list[str]] = defaultdict(list)
        self._go_dirs: dict[str, list[str]] = defaultdict(list)  # last component → folders
        for path, language, module in files:
            self._files.add(path)
            self._by_name[posixpath.basename(path.replace("\\", "/"))].append(path)
            if language == "python" and module:
                self._python.setdefault(module, path)
            elif language == "go":
                folder = str(Path(path).parent)
                name = Path(folder).name
                if folder not in self._go_dirs[name]:
                    self._go_dirs[name].append(folder)

    def resolve(self, imp: Import, language: str) -> Path | None:
        found: str | None
        if language == "python":
            found = self._python_import(imp)
        elif language in ("javascript", "typescript", "tsx"):
            found = self._js_import(imp)
        elif language == "go":
            found = self._go_import(imp)
        elif language == "rust":
            found = self._rust_import(imp)
        elif language == "java":
            found = (
                self._suffix_import(imp.module.replace(".", "/") + "/" + _first_name(imp) + ".java")
                if _first_name(imp) not in ("", "*")
                else None
            )
        elif language in ("c", "cpp"):
            found = self._c_include(imp)
        else:
            found = None
        return Path(found) if found else None

    # --- per language ---------------------------------------------------------------------

    def _python_import(self, imp: Import) -> str | None:
        if imp.level:
            folder = imp.path.parent
            for _ in range(imp.level - 1):
                folder = folder.parent
            base = [*folder.parts]
            parts = imp.module.split(".") if imp.module else []
            for name in _names(imp):
                hit = self._python_file(Path(*base, *parts, name))
                if hit:
                    return hit
            return self._python_file(Path(*base, *parts)) if parts else self._init(folder)
        for name in _names(imp):
            hit = self._python.get(f"{imp.module}.{name}")
            if hit:
                return hit
        module = imp.module
        while module:
            hit = self._python.get(module)
            if hit:
                return hit
            module = module.rpartition(".")[0]
        return None

    def _python_file(self, stem: Path) -> str | None:
        for candidate in (f"{stem}.py", f"{stem}.pyi", str(stem / "__init__.py")):
            if candidate in self._files:
                return candidate
        return None

    def _init(self, folder: Path) -> str | None:
        candidate = str(folder / "__init__.py")
        return candidate if candidate in self._files else None

    def _js_import(self, imp: Import) -> str | None:
        if not imp.module.startswith("."):
            return None
        target = Path(posixpath.normpath(posixpath.join(imp.path.parent.as_posix(), imp.module)))
        stems = [str(target)]
        for ext in (".js", ".jsx", ".mjs", ".cjs"):  # TS sources import "./x.js" for x.ts
            if stems[0].endswith(ext):
                stems.append(stems[0][: -len(ext)])
        for stem in stems:
            for candidate in (stem, *(stem + ext for ext in _JS_EXTENSIONS)):
                if candidate in self._files:
                    return candidate
        for ext in _JS_EXTENSIONS:
            candidate = str(target / f"index{ext}")
            if candidate in self._files:
                return candidate
        return None

    def _go_import(self, imp: Import) -> str | None:
        """The folder whose path ends with the most components of the import path."""
        wanted = imp.module.split("/")
        best: tuple[int, int, str] | None = None
        for folder in self._go_dirs.get(wanted[-1], []):
            parts = Path(folder).parts
            matched = 0
            while (
                matched < len(wanted)
                and matched < len(parts)
                and parts[-1 - matched] == wanted[-1 - matched]
            ):
                matched += 1
            score = (matched, -len(parts), folder)
            if best is None or score[:2] > best[:2]:
                best = score
        return best[2] if best else None

    def _rust_import(self, imp: Import) -> str | None:
        folder = imp.path.parent
        if not imp.names and "::" not in imp.module:  # ``mod x;``
            base = folder if imp.path.stem in ("lib", "main", "mod") else folder / imp.path.stem
            for candidate in (base / f"{imp.module}.rs", base / imp.module / "mod.rs"):
                if str(candidate) in self._files:
                    return str(candidate)
            return None
        parts = imp.module.split("::")
        if parts[0] == "crate":
            root = self._crate_src(folder)
            if root is None:
                return None
            base, parts = root, parts[1:]
        elif parts[0] in ("self", "super"):
            base = folder
            while parts and parts[0] == "super":
                base, parts = base.parent, parts[1:]
            if parts and parts[0] == "self":
                parts = parts[1:]
        else:
            return None
        names = [n for n in _names(imp) if n not in ("*", "self")]
        for count in range(len(parts) + (1 if names else 0), 0, -1):
            chain = [*parts, *names[:1]][:count]
            for candidate in (
                base.joinpath(*chain).with_suffix(".rs"),
                base.joinpath(*chain, "mod.rs"),
            ):
                if str(candidate) in self._files:
                    return str(candidate)
        return None

    def _crate_src(self, folder: Path) -> Path | None:
        for candidate in (folder, *folder.parents):
            if (
                str(candidate / "lib.rs") in self._files
                or str(candidate / "main.rs") in self._files
            ) and (candidate.name == "src" or candidate == folder):
                return candidate
        return None

    def _c_include(self, imp: Import) -> str | None:
        local = str(imp.path.parent / imp.module)
        if local in self._files:
            return local
        return self._suffix_import(imp.module)

    def _suffix_import(self, relative: str) -> str | None:
        """The indexed file whose path ends with ``relative`` (shortest path wins)."""
        relative = relative.replace("\\", "/")
        suffix = "/" + relative
        matches = [
            p
            for p in self._by_name.get(posixpath.basename(relative), [])
            if p.replace("\\", "/").endswith(suffix)
        ]
        return min(matches, key=len) if matches else None


def _names(imp: Import) -> list[str]:
    return [n.name for n in imp.names]


def _first_name(imp: Import) -> str:
    return imp.names[0].name if imp.names else ""
