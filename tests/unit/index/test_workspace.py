"""WorkspaceIndex: scanning, what is skipped, queries, open documents, disk changes."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from ghostline.index import build as build_module
from ghostline.index.build import BuildJob, build
from ghostline.index.workspace import WorkspaceIndex

MakeIndex = Callable[..., WorkspaceIndex]


def rel(paths: list[Path], root: Path) -> list[str]:
    return [p.relative_to(root).as_posix() for p in paths]


@pytest.fixture
def python_ws(
    copy_fixture: Callable[[str], Path], make_index: MakeIndex
) -> tuple[Path, WorkspaceIndex]:
    root = copy_fixture("python")
    index = make_index(root)
    stats = index.scan()
    assert (stats.files_total, stats.files_parsed, stats.files_cached) == (5, 5, 0)
    return root, index


def test_scan_and_definition_queries(python_ws: tuple[Path, WorkspaceIndex]) -> None:
    root, index = python_ws
    assert rel(index.all_files(), root) == [
        "app.py", "pkg/__init__.py", "pkg/shapes.py", "pkg/util.py", "tests/test_shapes.py",
    ]  # fmt: skip
    [circle] = index.definitions("Circle")
    assert circle.path == root / "pkg/shapes.py"
    assert circle.module == "pkg.shapes"
    assert circle.span.as_tuple() == (17, 0, 26, 39)
    areas = index.definitions("area")
    assert sorted(d.qualified_name for d in areas) == ["Circle.area", "Shape.area", "Square.area"]
    by_full = index.definition_by_qualified_name("pkg.shapes.Square.area")
    assert by_full is not None and by_full.span.start_line == 34
    by_short = index.definition_by_qualified_name("Circle.__init__")
    assert by_short is not None and by_short.parent == "Circle"
    assert index.definition_by_qualified_name("Nope.area") is None
    symbols = index.symbols(root / "pkg/util.py")
    assert [s.qualified_name for s in symbols] == ["make_circle", "describe"]
    enclosing = index.enclosing_definition(root / "pkg/shapes.py", 26, 12)
    assert enclosing is not None and enclosing.qualified_name == "Circle.area"
    inner = index.enclosing_definition(root / "pkg/shapes.py", 40, 8)
    assert inner is not None and inner.qualified_name == "total_area.one"
    assert index.enclosing_definition(root / "pkg/shapes.py", 2, 0) is None


def test_imports_importers_and_tests(python_ws: tuple[Path, WorkspaceIndex]) -> None:
    root, index = python_ws
    index.warm_up()
    shapes = root / "pkg/shapes.py"
    resolved = [(i.module, i.level, i.resolved) for i in index.imports(root / "pkg/util.py")]
    assert resolved == [("", 1, shapes), ("shapes", 1, shapes), ("outside", 2, None)]
    app = [(i.module, i.resolved) for i in index.imports(root / "app.py")]
    assert app == [("os.path", None), ("pkg.util", root / "pkg/util.py"), ("pkg.shapes", shapes)]
    assert rel(index.importers(shapes), root) == [
        "app.py", "pkg/__init__.py", "pkg/util.py", "tests/test_shapes.py",
    ]  # fmt: skip
    assert rel(index.importers("pkg.shapes"), root) == [
        "app.py", "pkg/__init__.py", "pkg/util.py", "tests/test_shapes.py",
    ]  # fmt: skip
    assert rel(index.importers("pkg.util"), root) == ["app.py"]
    assert index.importers(root / "app.py") == []
    assert rel(index.test_files_for(shapes), root) == ["tests/test_shapes.py"]
    assert index.test_files_for(root / "tests/test_shapes.py") == []


def test_usages(python_ws: tuple[Path, WorkspaceIndex]) -> None:
    root, index = python_ws
    found = index.usages("Circle")
    where = [(u.path.relative_to(root).as_posix(), u.line, u.col, u.enclosing) for u in found]
    assert where == [
        ("app.py", 2, 23, None),
        ("app.py", 6, 8, "main"),
        ("pkg/__init__.py", 2, 20, None),
        ("pkg/util.py", 1, 20, None),
        ("pkg/util.py", 6, 11, "make_circle"),
        ("pkg/util.py", 9, 23, "describe"),
        ("tests/test_shapes.py", 0, 23, None),
        ("tests/test_shapes.py", 4, 11, "test_circle_area"),
    ]  # the definition itself (pkg/shapes.py) and the string "circle" do not count
    assert found[1].line_text == "    c = Circle(2.0)"
    assert found[1].end_col == 14
    assert len(index.usages("Circle", limit=3)) == 3
    per_file = index.usages("Circle", per_file=1)
    assert len({u.path for u in per_file}) == len(per_file) == 4
    with_defs = index.usages("Circle", include_definitions=True)
    assert (root / "pkg/shapes.py", 17) in {(u.path, u.line) for u in with_defs}
    assert index.usages("no_such_name") == []


@pytest.mark.parametrize(
    ("fixture", "source", "tests"),
    [
        ("ts", "src/shapes.ts", ["src/shapes.test.ts"]),
        ("go", "geom/geom.go", ["geom/geom_test.go"]),
        ("java", "src/main/java/com/example/shapes/Circle.java",
         ["src/test/java/com/example/shapes/CircleTest.java"]),
        ("rust", "src/lib.rs", ["src/lib.rs"]),  # #[cfg(test)] in the file itself
        ("rust", "src/geometry.rs", []),
    ],
)  # fmt: skip
def test_test_files_by_language(
    copy_fixture: Callable[[str], Path],
    make_index: MakeIndex,
    fixture: str,
    source: str,
    tests: list[str],
) -> None:
    root = copy_fixture(fixture)
    index = make_index(root)
    index.scan()
    assert rel(index.test_files_for(root / source), root) == tests


@pytest.mark.parametrize(
    ("fixture", "target", "importers"),
    [
        ("ts", "src/shapes.ts", ["src/shapes.test.ts", "src/view.tsx"]),
        ("ts", "src/math.ts", ["src/shapes.ts"]),
        ("js", "lib.js", ["index.js"]),
        ("go", "geom/geom.go", ["main.go"]),  # Go imports name the package folder
        ("rust", "src/geometry.rs", ["src/lib.rs"]),
        ("c", "shapes.h", ["shapes.c"]),
        ("cpp", "shapes.hpp", ["shapes.cpp"]),
    ],
)
def test_importers_by_language(
    copy_fixture: Callable[[str], Path],
    make_index: MakeIndex,
    fixture: str,
    target: str,
    importers: list[str],
) -> None:
    root = copy_fixture(fixture)
    index = make_index(root)
    index.scan()
    assert rel(index.importers(root / target), root) == importers


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_skips_ignored_generated_and_odd_files(tmp_path: Path, make_index: MakeIndex) -> None:
    root = tmp_path / "proj"
    write(root / "pyproject.toml", "[project]\nname = 'x'\n")
    write(root / ".gitignore", "generated/\n*.gen.py\n!keep.gen.py\n")
    write(root / "src/app.py", "def app():\n    pass\n")
    write(root / "generated/out.py", "def generated():\n    pass\n")
    write(root / "src/skip.gen.py", "def skipped_by_glob():\n    pass\n")
    write(root / "src/keep.gen.py", "def kept_by_negation():\n    pass\n")
    write(root / "src/sub/.gitignore", "local.py\n")
    write(root / "src/sub/local.py", "def nested_ignore():\n    pass\n")
    write(root / "src/sub/other.py", "def other():\n    pass\n")
    write(root / "node_modules/pkg/index.js", "function fromNodeModules() {}\n")
    write(root / "env/pyvenv.cfg", "home = /usr\n")
    write(root / "env/lib/site.py", "def in_venv():\n    pass\n")
    write(root / "build/lib/copy.py", "def build_output():\n    pass\n")
    write(root / ".git/hooks/x.py", "def in_git():\n    pass\n")
    write(root / "notes.txt", "def not_code(): pass\n")
    (root / "src/blob.py").write_bytes(b"def binary():\x00\x01\x02\n")
    write(root / "src/huge.py", "x = 1\n" * 400)
    index = make_index(root, max_file_bytes=2000)
    stats = index.scan()
    assert rel(index.all_files(), root) == ["src/app.py", "src/keep.gen.py", "src/sub/other.py"]
    assert stats.files_skipped == 2  # the binary file and the one over the size limit
    assert any("huge.py" in s and "too large" in s for s in stats.skipped)
    assert any("blob.py" in s and "binary" in s for s in stats.skipped)
    for name in ("generated", "skipped_by_glob", "nested_ignore", "fromNodeModules",
                 "in_venv", "build_output", "in_git", "not_code", "binary"):  # fmt: skip
        assert index.definitions(name) == [], name


def test_symlink_loop_and_links_out_of_the_root(tmp_path: Path, make_index: MakeIndex) -> None:
    outside = tmp_path / "outside"
    write(outside / "secret.py", "def secret():\n    pass\n")
    root = tmp_path / "proj"
    write(root / "a/real.py", "def real():\n    pass\n")
    os.symlink(root / "a", root / "a/loop")  # a folder containing a link to itself
    os.symlink(root, root / "a/up")
    os.symlink(outside, root / "out_dir")
    os.symlink(outside / "secret.py", root / "out_file.py")
    index = make_index(root)
    stats = index.scan()
    assert rel(index.all_files(), root) == ["a/real.py"]
    assert stats.files_total == 1
    assert index.definitions("secret") == []
    index.files_changed([root / "out_file.py", root / "out_dir"])  # events for links too
    assert index.definitions("secret") == []


def test_unreadable_file_is_skipped(tmp_path: Path) -> None:
    result = build(BuildJob(str(tmp_path / "gone.py"), "python", 10, 0, "gone"), 1000)
    assert result.status == "skipped" and result.reason.startswith("unreadable")


def test_open_document_wins_over_disk(python_ws: tuple[Path, WorkspaceIndex]) -> None:
    root, index = python_ws
    util = root / "pkg/util.py"
    disk_text = util.read_text()
    assert index.open_document(util, disk_text, "python")
    assert index.is_open(util)
    index.update_document(util, disk_text + "\n\ndef brand_new(x):\n    return make_circle(x)\n")
    [new] = index.definitions("brand_new")
    assert new.path == util and new.span.start_line == 13 and new.module == "pkg.util"
    assert index.symbols(util)[-1].qualified_name == "brand_new"
    assert index.file_text(util) is not None and "brand_new" in (index.file_text(util) or "")
    uses = index.usages("make_circle")
    assert [(u.path, u.line, u.enclosing) for u in uses] == [(util, 14, "brand_new")]
    tree = index.tree(util)
    assert tree is not None and "brand_new" in (tree.root_node.text or b"").decode()
    index.update_document(util, disk_text.replace("def describe", "def explain"))
    assert index.definitions("brand_new") == []
    assert index.definitions("describe") == []  # the disk copy still has it, the editor not
    assert len(index.definitions("explain")) == 1
    index.close_document(util)
    assert not index.is_open(util)
    assert index.definitions("explain") == []
    assert len(index.definitions("describe")) == 1


def test_documents_outside_the_workspace_and_unknown_languages(
    tmp_path: Path, python_ws: tuple[Path, WorkspaceIndex]
) -> None:
    _, index = python_ws
    loose = tmp_path / "scratch.ts"
    assert index.open_document(loose, "export function scratch(): void {}\n", "typescript")
    assert [d.kind for d in index.definitions("scratch")] == ["function"]
    assert loose in index.all_files()
    assert not index.open_document(tmp_path / "notes.md", "# hi\n", "markdown")
    index.close_document(loose)
    assert index.definitions("scratch") == []


def test_files_changed_follows_the_disk(python_ws: tuple[Path, WorkspaceIndex]) -> None:
    root, index = python_ws
    created = write(root / "pkg/extra.py", "def extra():\n    pass\n")
    assert index.files_changed([created]) == [created]
    assert len(index.definitions("extra")) == 1
    write(created, "def extra_v2():\n    pass\n")
    assert index.files_changed([created]) == [created]
    assert index.definitions("extra") == [] and len(index.definitions("extra_v2")) == 1
    assert index.files_changed([created]) == []  # nothing new
    moved = root / "pkg/moved.py"
    created.rename(moved)
    assert index.files_changed([moved, created]) == [created, moved]
    [definition] = index.definitions("extra_v2")
    assert definition.path == moved and definition.module == "pkg.moved"
    moved.unlink()
    assert index.files_changed([moved]) == [moved]
    assert index.definitions("extra_v2") == []
    before = len(index.all_files())
    (root / "tests/test_shapes.py").unlink()
    (root / "tests").rmdir()
    assert index.files_changed([root / "tests"]) == [root / "tests/test_shapes.py"]
    assert len(index.all_files()) == before - 1
    write(root / "newpkg/a.py", "def in_new_folder():\n    pass\n")
    write(root / "newpkg/b.py", "def also_new():\n    pass\n")
    assert rel(index.files_changed([root / "newpkg"]), root) == ["newpkg/a.py", "newpkg/b.py"]
    assert len(index.definitions("in_new_folder")) == 1


def test_gitignore_change_rescans(python_ws: tuple[Path, WorkspaceIndex]) -> None:
    root, index = python_ws
    gitignore = write(root / ".gitignore", "tests/\n")
    changed = index.files_changed([gitignore])
    assert rel(changed, root) == ["tests/test_shapes.py"]
    assert index.definitions("test_circle_area") == []


def test_scan_reports_progress_and_can_be_cancelled(
    copy_fixture: Callable[[str], Path], make_index: MakeIndex
) -> None:
    root = copy_fixture("python")
    for number in range(40):
        write(root / f"gen/m{number}.py", f"def f{number}():\n    pass\n")
    seen: list[tuple[int, int]] = []
    index = make_index(root, use_cache=False)
    stats = index.scan(progress=lambda done, total: seen.append((done, total)))
    assert seen[0] == (0, 45) and seen[-1] == (45, 45)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    calls = 0

    def cancel_soon() -> bool:
        nonlocal calls
        calls += 1
        return calls > 1

    other = make_index(root, use_cache=False)
    stats = other.scan(cancelled=cancel_soon)
    assert stats.cancelled
    assert stats.files_parsed < 45
    assert len(other.all_files()) == stats.files_parsed


def test_queries_while_scanning_in_a_thread(
    copy_fixture: Callable[[str], Path], make_index: MakeIndex
) -> None:
    root = copy_fixture("python")
    for number in range(150):
        write(root / f"gen/m{number}.py", f"from pkg.shapes import Circle\n\ndef f{number}():\n"
                                          f"    return Circle({number})\n")  # fmt: skip
    index = make_index(root, use_cache=False)
    errors: list[BaseException] = []

    def query() -> None:
        try:
            while not done.is_set():
                index.definitions("Circle")
                index.usages("Circle", limit=5)
                index.importers(root / "pkg/shapes.py")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    done = threading.Event()
    worker = threading.Thread(target=query)
    worker.start()
    try:
        stats = index.scan()
    finally:
        done.set()
        worker.join()
    assert errors == []
    assert stats.files_parsed == 155
    assert len(index.importers(root / "pkg/shapes.py")) == 154


def test_worker_processes_give_the_same_index(
    copy_fixture: Callable[[str], Path], make_index: MakeIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(build_module, "POOL_MIN_JOBS", 1)
    root = copy_fixture("python")
    pooled = make_index(root, workers=2, use_cache=False)
    stats = pooled.scan()
    plain = make_index(root, workers=1, use_cache=False)
    plain.scan()
    assert stats.files_parsed == 5
    assert pooled.all_files() == plain.all_files()
    for path in plain.all_files():
        assert pooled.symbols(path) == plain.symbols(path)
        assert pooled.imports(path) == plain.imports(path)


JAVA_CIRCLE = "src/main/java/com/example/shapes/Circle.java"


@pytest.mark.parametrize(
    ("fixture", "name", "expected"),
    [
        ("go", "Describe", [("main.go", 6, 14, "main")]),
        ("go", "Circle", [("geom/geom.go", 31, 9, "Circle.Area"),
                          ("geom/geom_test.go", 5, 7, "TestCircleArea"),
                          ("main.go", 5, 12, "main")]),
        ("ts", "diagonal", [("src/shapes.test.ts", 0, 17, None),
                            ("src/shapes.test.ts", 4, 9, None)]),
        ("rust", "area_of", [("src/lib.rs", 6, 21, None), ("src/lib.rs", 29, 8, "Circle.area")]),
        ("java", "radius", [(JAVA_CIRCLE, 11, 25, "Circle.Circle"),  # the parameter
                            (JAVA_CIRCLE, 12, 13, "Circle.Circle"),
                            (JAVA_CIRCLE, 12, 22, "Circle.Circle"),
                            (JAVA_CIRCLE, 18, 20, "Circle.area"),
                            (JAVA_CIRCLE, 18, 29, "Circle.area")]),
        ("c", "circle_area", []),  # declared in shapes.h, defined in shapes.c: no call
        ("cpp", "radius_", [("shapes.cpp", 5, 27, "geo.Circle.Circle"),
                            ("shapes.cpp", 9, 18, "geo.Circle.area"),
                            ("shapes.cpp", 9, 28, "geo.Circle.area")]),
    ],
)  # fmt: skip
def test_usages_by_language(
    copy_fixture: Callable[[str], Path],
    make_index: MakeIndex,
    fixture: str,
    name: str,
    expected: list[tuple[str, int, int, str | None]],
) -> None:
    root = copy_fixture(fixture)
    index = make_index(root)
    index.scan()
    found = [(u.path.relative_to(root).as_posix(), u.line, u.col, u.enclosing)
             for u in index.usages(name)]  # fmt: skip
    assert found == expected


def test_typing_an_import_into_an_open_document_updates_importers(
    python_ws: tuple[Path, WorkspaceIndex],
) -> None:
    root, index = python_ws
    app = root / "app.py"
    text = app.read_text()
    assert index.open_document(app, text, "python")
    assert rel(index.importers("pkg.util"), root) == ["app.py"]
    without = "\n".join(line for line in text.split("\n") if "pkg.util" not in line)
    for end in range(1, len(without) + 1, max(1, len(without) // 5)):
        index.update_document(app, without[:end])  # typed in steps; nothing asks between
    index.update_document(app, without)
    assert index.importers("pkg.util") == []
    index.update_document(app, "import pkg.util\n" + without)
    assert rel(index.importers("pkg.util"), root) == ["app.py"]


def test_open_document_facts_are_extracted_when_asked_for(
    python_ws: tuple[Path, WorkspaceIndex],
) -> None:
    root, index = python_ws
    util = root / "pkg/util.py"
    text = util.read_text()
    index.open_document(util, text, "python")
    index.update_document(util, text + "\ndef later():\n    pass\n")
    doc = index._docs[str(util)]
    assert doc.known_facts() is None  # a keystroke does not walk the whole tree
    assert [d.qualified_name for d in index.definitions("later")] == ["later"]
    assert doc.known_facts() is not None


def test_open_tree_is_a_copy_of_the_current_text_only(
    python_ws: tuple[Path, WorkspaceIndex],
) -> None:
    root, index = python_ws
    util = root / "pkg/util.py"
    text = util.read_text()
    assert index.open_tree(util, text, "python") is None  # not open
    index.open_document(util, text, "python")
    tree = index.open_tree(util, text, "python")
    assert tree is not None and tree.root_node.end_byte == len(text.encode())
    assert index.open_tree(util, text + "x", "python") is None  # another text
    assert index.open_tree(util, text, "typescript") is None  # another language
    index.update_document(util, "x = 1\n" + text)
    assert tree.root_node.end_byte == len(text.encode())  # the copy was not edited
    newer = index.open_tree(util, "x = 1\n" + text, "python")
    assert newer is not None and newer.root_node.children[0].type == "expression_statement"


def test_a_reopened_document_is_parsed_from_its_last_tree(
    python_ws: tuple[Path, WorkspaceIndex],
) -> None:
    root, index = python_ws
    util = root / "pkg/util.py"
    text = util.read_text()
    index.open_document(util, text, "python")
    first = index._docs[str(util)]
    index.close_document(util)
    reopened = text + "\ndef added():\n    pass\n"
    index.open_document(util, reopened, "python")
    assert index._docs[str(util)] is first  # the same document, moved to the new text
    assert [d.qualified_name for d in index.definitions("added")] == ["added"]
    tree = index.open_tree(util, reopened, "python")
    assert tree is not None and tree.root_node.end_byte == len(reopened.encode())
    assert not tree.root_node.has_error
