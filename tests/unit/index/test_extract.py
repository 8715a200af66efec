"""Definitions and imports per language, checked against the fixture sources by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from ghostline.index.languages import spec_by_name, spec_for_path
from ghostline.index.model import Definition, Import
from ghostline.index.parser import FileFacts, extract

from .conftest import FIXTURES


def facts_of(relative: str, module: str = "") -> FileFacts:
    path = FIXTURES / relative
    spec = spec_for_path(path)
    assert spec is not None
    source = path.read_bytes()
    return extract(spec, spec.parser().parse(source), source, path, module)


def by_qn(facts: FileFacts) -> dict[str, Definition]:
    return {d.qualified_name: d for d in facts.definitions}


def outline(facts: FileFacts) -> list[tuple[str, str]]:
    return [(d.qualified_name, d.kind) for d in facts.definitions]


def imports_of(facts: FileFacts) -> list[tuple[str, list[tuple[str, str | None]], str | None]]:
    return [(i.module, [(n.name, n.alias) for n in i.names], i.alias) for i in facts.imports]


def spans(d: Definition) -> tuple[tuple[int, int, int, int], tuple[int, int]]:
    return d.span.as_tuple(), (d.name_span.start_line, d.name_span.start_col)


def test_python_definitions() -> None:
    facts = facts_of("python/pkg/shapes.py", module="pkg.shapes")
    assert outline(facts) == [
        ("PI_ROUNDED", "constant"),
        ("default_name", "variable"),
        ("Shape", "class"),
        ("Shape.sides", "field"),
        ("Shape.area", "method"),
        ("Circle", "class"),
        ("Circle.__init__", "method"),
        ("Circle.area", "method"),
        ("Square", "class"),
        ("Square.__init__", "method"),
        ("Square.area", "method"),
        ("total_area", "function"),
        ("total_area.one", "function"),
    ]
    defs = by_qn(facts)
    circle = defs["Circle"]
    assert spans(circle) == ((17, 0, 26, 39), (17, 6))
    assert circle.doc == "A circle of a given radius."
    assert circle.signature == "class Circle"
    assert circle.parent is None
    assert circle.full_name == "pkg.shapes.Circle"
    area = defs["Circle.area"]  # decorated: the span starts at the decorator
    assert spans(area) == ((23, 4, 26, 39), (24, 8))
    assert area.signature == "def area(self) -> float"
    assert area.doc == "Area of the circle."
    assert area.parent == "Circle"
    assert defs["Square"].doc == "A square, the simplest shape."  # leading comment
    assert defs["total_area"].signature == "async def total_area(shapes: list[Shape]) -> float"
    assert defs["total_area.one"].parent == "total_area"
    assert defs["PI_ROUNDED"].signature == "PI_ROUNDED = 3.14"


def test_python_imports() -> None:
    facts = facts_of("python/pkg/util.py")
    assert [(i.module, i.level, [n.name for n in i.names]) for i in facts.imports] == [
        ("", 1, ["shapes"]),
        ("shapes", 1, ["Circle"]),
        ("outside", 2, ["nothing"]),
    ]
    app = facts_of("python/app.py")
    assert imports_of(app) == [
        ("os.path", [], "osp"),
        ("pkg.util", [], None),
        ("pkg.shapes", [("Circle", None), ("total_area", None)], None),
    ]
    init = facts_of("python/pkg/__init__.py")
    assert imports_of(init) == [("shapes", [("Circle", None), ("Square", "Sq")], None)]
    assert [i.line for i in app.imports] == [0, 1, 2]


def test_typescript_definitions() -> None:
    facts = facts_of("ts/src/shapes.ts")
    assert outline(facts) == [
        ("Shape", "interface"),
        ("Shape.area", "method"),
        ("Shape.name", "field"),
        ("Point", "type"),
        ("Color", "enum"),
        ("MAX_SIDES", "constant"),
        ("Circle", "class"),
        ("Circle.name", "field"),
        ("Circle.constructor", "method"),
        ("Circle.area", "method"),
        ("diagonal", "function"),
        ("half", "function"),
        ("Internal", "namespace"),
        ("Internal.secret", "function"),
    ]
    defs = by_qn(facts)
    assert spans(defs["Circle"]) == ((23, 0, 30, 1), (23, 13))  # from ``export``
    assert defs["Circle"].doc == "A circle."
    assert defs["Circle"].signature == "export class Circle implements Shape"
    assert defs["Shape"].doc == "Something with an area."
    assert spans(defs["Circle.area"]) == ((27, 2, 29, 3), (27, 2))
    assert defs["diagonal"].signature == ("export function diagonal(a: number, b: number): number")
    assert defs["half"].signature == "export const half = (n: number): number"
    assert imports_of(facts) == [
        ("./math", [("sqrt", None)], None),
        ("path", [], "path"),
        ("./options", [("Options", None)], None),
        ("./helpers", [("helper", None)], None),
    ]


def test_tsx_uses_the_typescript_queries() -> None:
    facts = facts_of("ts/src/view.tsx")
    assert outline(facts) == [("Props", "type"), ("CircleView", "function")]
    assert spans(by_qn(facts)["CircleView"]) == ((5, 0, 8, 1), (5, 16))
    assert imports_of(facts) == [
        ("react", [("default", "React")], None),
        ("./shapes", [("Circle", None)], None),
    ]


def test_javascript_definitions_and_requires() -> None:
    facts = facts_of("js/index.js")
    assert outline(facts) == [
        ("add", "function"),
        ("multiply", "function"),
        ("Counter", "class"),
        ("Counter.count", "field"),
        ("Counter.increment", "method"),
    ]
    defs = by_qn(facts)
    assert defs["add"].doc == "Adds two numbers."
    assert spans(defs["add"]) == ((5, 0, 7, 1), (5, 9))
    assert defs["multiply"].signature == "const multiply = function (a, b)"
    assert imports_of(facts) == [
        ("fs", [], "fs"),
        ("path", [("join", "joinPath")], None),
        ("./lib.js", [("default", "defaultThing"), ("other", "renamed")], None),
    ]


def test_go_definitions() -> None:
    facts = facts_of("go/geom/geom.go")
    assert facts.module == "geom"
    assert outline(facts) == [
        ("Pi", "constant"),
        ("Zero", "constant"),
        ("One", "constant"),
        ("defaultName", "variable"),
        ("Shape", "interface"),
        ("Shape.Area", "method"),
        ("Circle", "struct"),
        ("Circle.Radius", "field"),
        ("Meters", "type"),
        ("Circle.Area", "method"),
        ("Describe", "function"),
    ]
    defs = by_qn(facts)
    method = defs["Circle.Area"]  # qualified by its receiver type
    assert spans(method) == ((31, 0, 33, 1), (31, 17))
    assert method.parent == "Circle"
    assert method.signature == "func (c *Circle) Area() float64"
    assert method.doc == "Area returns the area of the circle."
    assert method.full_name == "geom.Circle.Area"
    assert defs["Circle"].signature == "type Circle struct"
    assert spans(defs["Zero"]) == ((12, 1, 12, 9), (12, 1))  # inside a const block
    assert defs["Pi"].doc == "Pi is a rounded constant."
    assert imports_of(facts) == [("fmt", [], None), ("math", [], "m")]


def test_rust_definitions() -> None:
    facts = facts_of("rust/src/lib.rs")
    assert outline(facts) == [
        ("geometry", "module"),
        ("MAX_SIDES", "constant"),
        ("Shape", "trait"),
        ("Shape.area", "method"),
        ("Circle", "struct"),
        ("Circle.radius", "field"),
        ("Kind", "enum"),
        ("Circle.area", "method"),  # impl Shape for Circle
        ("Circle.new", "method"),  # impl Circle
        ("count", "function"),
        ("tests", "module"),
        ("tests.circle_area", "function"),
    ]
    defs = by_qn(facts)
    assert defs["geometry"].doc == ""  # the crate's //! comment is not the module's doc
    assert defs["Circle"].doc == "A circle."  # across the #[derive] attribute
    assert spans(defs["Circle.new"]) == ((35, 4, 37, 5), (35, 11))
    assert defs["Circle.new"].doc == "Makes a circle."
    assert defs["Circle.new"].signature == "pub fn new(radius: f64) -> Self"
    assert imports_of(facts) == [
        ("geometry", [], None),
        ("std::collections", [("HashMap", None)], None),
        ("std::fmt", [("self", None), ("Display", "Disp")], None),
        ("crate::geometry", [("area_of", None)], None),
        ("super", [("*", None)], None),
    ]


def test_java_definitions() -> None:
    facts = facts_of("java/src/main/java/com/example/shapes/Circle.java")
    assert facts.module == "com.example.shapes"
    assert outline(facts) == [
        ("Circle", "class"),
        ("Circle.MAX_SIDES", "constant"),
        ("Circle.radius", "field"),
        ("Circle.Circle", "constructor"),
        ("Circle.area", "method"),
        ("Circle.total", "method"),
    ]
    defs = by_qn(facts)
    assert spans(defs["Circle.area"]) == ((16, 4, 19, 5), (17, 18))
    assert defs["Circle.area"].doc == "Area of the circle."
    assert defs["Circle"].doc == "A circle."
    assert defs["Circle.total"].signature == "static double total(List<Shape> shapes)"
    assert imports_of(facts) == [
        ("java.util", [("List", None)], None),
        ("java.lang.Math", [("PI", None)], None),
        ("com.example.shapes.util", [("*", None)], None),
    ]


def test_c_definitions() -> None:
    header = facts_of("c/shapes.h")
    assert outline(header) == [
        ("SHAPES_H", "constant"),
        ("MAX_SIDES", "constant"),
        ("circle", "struct"),
        ("circle.radius", "field"),
        ("circle_t", "type"),
        ("color", "enum"),
        ("circle_area", "function"),
        ("shape_name", "function"),  # returns a pointer: found through the declarator
    ]
    assert by_qn(header)["circle"].doc == "A circle."
    source = facts_of("c/shapes.c")
    defs = by_qn(source)
    assert spans(defs["circle_area"]) == ((4, 0, 7, 1), (4, 7))
    assert defs["circle_area"].doc == "Area of a circle."
    assert defs["shape_name"].signature == "char *shape_name(int sides)"
    assert imports_of(source) == [("math.h", [], None), ("shapes.h", [], None)]


def test_cpp_definitions() -> None:
    header = facts_of("cpp/shapes.hpp")
    assert outline(header) == [
        ("geo", "namespace"),
        ("geo.Shape", "class"),
        ("geo.Shape.~Shape", "method"),
        ("geo.Shape.area", "method"),
        ("geo.Point", "struct"),
        ("geo.Point.x", "field"),
        ("geo.Point.y", "field"),
        ("geo.Circle", "class"),
        ("geo.Circle.Circle", "method"),
        ("geo.Circle.area", "method"),
        ("geo.Circle.radius_", "field"),
        ("geo.twice", "function"),
    ]
    twice = by_qn(header)["geo.twice"]
    assert spans(twice) == ((26, 0, 29, 1), (27, 2))  # from the template line
    source = facts_of("cpp/shapes.cpp")
    defs = by_qn(source)  # out-of-class definitions: Circle::area inside namespace geo
    assert list(defs) == ["geo", "geo.Circle.Circle", "geo.Circle.area"]
    assert defs["geo.Circle.area"].kind == "method"
    assert defs["geo.Circle.area"].parent == "geo.Circle"
    assert defs["geo.Circle.area"].doc == "The area."


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from . import a as b, c\n", [("", 1, [("a", "b"), ("c", None)])]),
        ("from ..x.y import *\n", [("x.y", 2, [("*", None)])]),
        ("from __future__ import annotations\n", [("__future__", 0, [("annotations", None)])]),
        ("import a.b, c as d\n", [("a.b", 0, []), ("c", 0, [])]),
    ],
)
def test_python_import_forms(
    tmp_path: Path, source: str, expected: list[tuple[str, int, list[tuple[str, str | None]]]]
) -> None:
    path = tmp_path / "m.py"
    spec = spec_for_path(path)
    assert spec is not None
    data = source.encode()
    imports: list[Import] = extract(spec, spec.parser().parse(data), data, path).imports
    assert [(i.module, i.level, [(n.name, n.alias) for n in i.names]) for i in imports] == expected


def test_rust_doc_comment_of_several_lines() -> None:
    source = (b"fn first() {}\n\n/// Adds two numbers.\n/// Returns the sum.\n"
              b"fn add(a: i32, b: i32) -> i32 { a + b }\n\n"
              b"const X: i32 = 1; // trailing\nfn after() {}\n")
    spec = spec_by_name("rust")
    facts = extract(spec, spec.parser().parse(source), source, Path("lib.rs"))
    docs = {d.name: d.doc for d in facts.definitions}
    assert docs["add"] == "Adds two numbers.\nReturns the sum."
    assert docs["after"] == ""  # the trailing comment of the line above is not its doc
