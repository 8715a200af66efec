"""Context gathering, prompts and hover targets, on fixture files and a fake lookup."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ghostline.context.docstring import (
    called_names,
    dedent,
    definition_text,
    gather,
    shorten,
    span_text,
)
from ghostline.features.docstring import find_target, word_at
from ghostline.features.docstring_prompt import (
    chat_predicate,
    code_part,
    lead_in,
    parse_params,
    summary_request,
)
from ghostline.index.languages import spec_for_path
from ghostline.index.model import Definition, Import, Span, Usage
from ghostline.index.parser import extract

from .helpers import FIXTURES, definitions, named

PY = FIXTURES / "python" / "shapes.py"


class FakeLookup:
    """A workspace of a few files, answering like ``WorkspaceIndex``."""

    def __init__(self, files: dict[Path, str]) -> None:
        self.files = files
        self.defs = {path: definitions(path, text) for path, text in files.items()}

    def definitions(self, name: str) -> list[Definition]:
        return [d for defs in self.defs.values() for d in defs if d.name == name]

    def symbols(self, path: Path) -> list[Definition]:
        return self.defs.get(path, [])

    def imports(self, path: Path) -> list[Import]:
        """The file's imports, resolved to the workspace file of the module's last name."""
        spec = spec_for_path(path)
        assert spec is not None
        data = self.files[path].encode()
        found = extract(spec, spec.parser().parse(data), data, path).imports
        by_stem = {p.stem: p for p in self.files}
        return [replace(i, resolved=by_stem.get(i.module.rpartition(".")[2])) for i in found]

    def usages(self, name: str, limit: int = 50, *, per_file: int | None = None,
               include_definitions: bool = False) -> list[Usage]:
        found = []
        for path, text in self.files.items():
            for number, line in enumerate(text.split("\n")):
                column = line.find(name + "(")
                if column >= 0 and not line.lstrip().startswith("def "):
                    found.append(Usage(name, path, number, column, column + len(name), line))
        return found[:limit]


def test_span_text_uses_byte_columns() -> None:
    text = "x = 'é'; y = 1\n"
    assert span_text(text, Span(0, 0, 0, len("x = 'é'".encode()))) == "x = 'é'"


def test_dedent_and_shorten() -> None:
    method = "    def area(self):\n        return 1\n"
    assert dedent(method.rstrip()) == "def area(self):\n    return 1"
    long = "def f():\n" + "".join(f"    x{i} = {i}\n" for i in range(200))
    short = shorten(long)
    assert short.endswith("    ...") and len(short.split("\n")) <= 82


def test_called_names_skip_keywords_and_self() -> None:
    source = "def f(x):\n    if ok(x):\n        return g(x) + f(x) + print(x)\n"
    assert called_names(source, "f") == ["ok", "g"]


def test_gather_finds_callees_class_and_call_sites(tmp_path: Path) -> None:
    other = tmp_path / "use.py"
    shapes = tmp_path / "shapes.py"
    files = {shapes: PY.read_text(),
             other: "from shapes import scale\n\nbig = scale(points, 2.0)\n"}
    lookup = FakeLookup(files)
    area = named(lookup.defs[shapes], "Rectangle.area")
    context = gather(area, files[shapes], lookup)
    assert context.parent is not None and context.parent.name == "Rectangle"
    assert context.source.startswith("def area(self) -> float:")
    scale = named(lookup.defs[shapes], "scale")
    context = gather(scale, files[shapes], lookup)
    assert [s.text for s in context.call_sites] == ["big = scale(points, 2.0)"]
    # A file that calls another `scale` (it imports no file that defines this one).
    stranger = tmp_path / "image.py"
    lookup = FakeLookup({**files, stranger: "from pillow import scale\n\nim = scale(im, 3)\n"})
    context = gather(named(lookup.defs[shapes], "scale"), files[shapes], lookup)
    assert [s.text for s in context.call_sites] == ["big = scale(points, 2.0)"]
    square = named(lookup.defs[shapes], "Rectangle.square")
    context = gather(square, files[shapes], lookup)
    assert [c.name for c in context.callees] == ["Rectangle"]


def test_base_prompt_shows_signatures_but_no_docstrings(tmp_path: Path) -> None:
    shapes = tmp_path / "shapes.py"
    text = PY.read_text().replace(
        "return [(x * factor", "area = circle_area(factor)\n    return [(x * factor")
    lookup = FakeLookup({shapes: text})
    scale = named(lookup.defs[shapes], "scale")
    context = gather(scale, text, lookup)
    request = summary_request(context, chat=False)
    assert request.prompt is not None
    assert "def circle_area(radius: float) -> float:  ..." in request.prompt
    assert "Area of a circle" not in request.prompt  # small models copy docstrings
    assert request.prompt.endswith("```\n\nThe function `scale`")
    assert "Area of a circle" in "".join(m.content for m in
                                         summary_request(context, chat=True).messages or [])


def test_method_is_shown_inside_its_class() -> None:
    text = PY.read_text()
    defs = definitions(PY, text)
    context = gather(named(defs, "Rectangle.area"), text, FakeLookup({PY: text}))
    assert lead_in(context) == "The method `Rectangle.area`"
    assert "class Rectangle:\n\n    def area(self) -> float:\n        return" in \
        code_part(context, with_docs=False)
    assert lead_in(gather(named(defs, "Rectangle"), text, None)) == "The class `Rectangle` is"


def test_parse_params_keeps_known_names_only() -> None:
    answer = (" the points to move\n- `factor`: how much to scale\n- `other`: nope\n"
              "- `return value`: the moved points")
    assert parse_params(answer, ["points", "factor"], returns=True) == {
        "points": "The points to move.", "factor": "How much to scale.",
        "return value": "The moved points."}


def test_word_at() -> None:
    assert word_at("x = foo_bar(1)", 6) == (4, 11)
    assert word_at("x = foo_bar(1)", 11) == (4, 11)  # right after the word
    assert word_at("x = 12", 5) is None
    assert word_at("a + b", 2) is None


def test_find_target_on_definition_call_and_reference(tmp_path: Path) -> None:
    shapes = tmp_path / "shapes.py"
    text = PY.read_text()
    caller = tmp_path / "main.py"
    caller_text = ("from shapes import scale, Rectangle\n\n"
                   "pts = scale([], 2)\nr: Rectangle = Rectangle.square(2)\ntotal = len(pts)\n")
    lookup = FakeLookup({shapes: text, caller: caller_text})
    here = lookup.defs[shapes]
    on_def = find_target(text, text.index("def scale") + 5, here, lookup.definitions, shapes)
    assert on_def is not None and on_def.how == "definition"
    assert on_def.definition.qualified_name == "scale"
    call = find_target(caller_text, caller_text.index("scale(["), [], lookup.definitions, caller)
    assert call is not None and call.how == "call" and call.definition.path == shapes
    method = find_target(caller_text, caller_text.index("square"), [], lookup.definitions,
                         caller)
    assert method is not None and method.definition.qualified_name == "Rectangle.square"
    ref = find_target(caller_text, caller_text.index("Rectangle ="), [], lookup.definitions,
                      caller)
    assert ref is not None and ref.how == "reference" and ref.definition.kind == "class"
    variable = find_target(caller_text, caller_text.index("total"), lookup.defs[caller],
                           lookup.definitions, caller)
    assert variable is not None and variable.definition.kind == "variable"
    unknown = find_target(caller_text, caller_text.index("len("), lookup.defs[caller],
                          lookup.definitions, caller)
    assert unknown is None


def test_definition_text_is_the_cache_identity() -> None:
    text = PY.read_text()
    scale = named(definitions(PY, text), "scale")
    source = definition_text(text, scale)
    assert source.startswith("def scale(") and source.endswith("for x, y in points]")


def test_chat_answer_that_names_the_definition_its_own_way_keeps_the_predicate() -> None:
    text = PY.read_text()
    defs = definitions(PY, text)
    context = gather(named(defs, "Rectangle.area"), text, FakeLookup({PY: text}))
    assert chat_predicate("The `Rectangle.area` method returns the area.", context) == \
        "returns the area."
    assert chat_predicate("The area method computes it.", context) == "computes it."
    # another name is not stripped: it is part of what the model says
    assert chat_predicate("Rectangle.width times height.", context) == \
        "Rectangle.width times height."
