import asyncio
from pathlib import Path

from ghostline.context.budget import token_window
from ghostline.context.completion import ContextQuery, ContextService, relative_to_roots
from ghostline.context.snippets import one_line
from ghostline.context.tokenizer import EstimateCounter
from ghostline.features.inline_completion import CompletionInput
from ghostline.index.model import Definition
from ghostline.index.workspace import WorkspaceIndex
from ghostline.prompts.fim import template_by_name
from ghostline.settings import Settings

HEAD = "from pkg.geometry import Vector, make_vector\nfrom pkg.report import summary\n\n\n"


def service(index: WorkspaceIndex, **kwargs: object) -> ContextService:
    kwargs.setdefault("template", lambda: template_by_name("none"))
    return ContextService(lambda: index, counter=EstimateCounter, **kwargs)  # type: ignore[arg-type]


def query(path: Path, text: str, budget: int = 400, **kwargs: object) -> ContextQuery:
    return ContextQuery(str(path), text, len(text) if "offset" not in kwargs else
                        kwargs.pop("offset"), "python", budget, **kwargs)  # type: ignore[arg-type]


def test_definitions_and_usages_of_imported_names(index: WorkspaceIndex, project: Path) -> None:
    path = project / "pkg" / "new.py"
    text = HEAD + "def build():\n    origin = "
    index.open_document(path, text, "python")
    result = service(index).gather(query(path, text))
    sources = {s.source for s in result.snippets}
    assert {"definition", "usage"} <= sources
    joined = "\n".join(s.text for s in result.snippets)
    assert "def make_vector(x: float, y: float) -> Vector:" in joined
    assert "origin = make_vector(0.0, 0.0)" in joined  # report.py's use, after the same words
    assert all(s.path != str(path) for s in result.snippets)
    assert 0 < result.tokens <= 400


def test_budget_is_respected_as_the_template_writes_it(index: WorkspaceIndex,
                                                       project: Path) -> None:
    path = project / "pkg" / "new.py"
    text = HEAD + "def build():\n    origin = "
    index.open_document(path, text, "python")
    counter = EstimateCounter()
    template = template_by_name("none")
    for budget in (40, 120):
        context = service(index)
        result = context.gather(query(path, text, budget=budget))
        written = template.build("", "", extra_files=[context.shown_pair(s)
                                                      for s in result.snippets])
        assert counter.count(written) <= budget + len(result.snippets)  # rounding per snippet
        assert result.tokens <= budget


def test_prompts_show_paths_relative_to_the_workspace_folder(index: WorkspaceIndex,
                                                             project: Path) -> None:
    path = project / "pkg" / "new.py"
    text = HEAD + "def build():\n    origin = "
    index.open_document(path, text, "python")
    context = service(index)
    item = CompletionInput(uri=path.as_uri(), path=str(path), language_id="python",
                           text=text, offset=len(text))
    pairs = asyncio.run(context(item, Settings()))
    assert pairs and {p for p, _ in pairs} <= {"pkg/geometry.py", "pkg/app.py", "pkg/report.py"}
    assert context.shown_path(str(path)) == "pkg/new.py"
    assert context.shown_path("/elsewhere/x.py") == "/elsewhere/x.py"
    assert relative_to_roots(str(project / "a" / "b.py"), [project, project / "a"]) == "b.py"


def test_text_after_the_cursor_is_never_used(index: WorkspaceIndex, project: Path) -> None:
    path = project / "pkg" / "new.py"
    before = "from pkg.report import summary\n\n\ndef build():\n    x = "
    after = "Shape()\n\nfrom pkg.geometry import Shape\nShape().describe()\n"
    index.open_document(path, before, "python")
    names_only = service(index, sources=("definitions", "usages"))
    result = names_only.gather(query(path, before + after, offset=len(before)))
    assert all("Shape" not in s.text for s in result.snippets)
    assert any("summary" in s.text for s in result.snippets)


def test_same_definition_keeps_the_snippets_in_place(index: WorkspaceIndex,
                                                     project: Path) -> None:
    path = project / "pkg" / "new.py"
    text = HEAD + "def build():\n    origin = "
    index.open_document(path, text, "python")
    context = service(index)
    first = context.gather(query(path, text), "doc")
    typed = text + "make_v"
    index.update_document(path, typed)
    second = context.gather(query(path, typed), "doc")
    assert second.reused
    assert [s.pair for s in second.snippets[: len(first.snippets)]] == \
        [s.pair for s in first.snippets]
    moved = typed + "\n\n\ndef other():\n    y = "
    index.update_document(path, moved)
    third = context.gather(query(path, moved), "doc")
    assert not third.reused


def test_snippets_already_in_the_local_window_are_dropped(index: WorkspaceIndex,
                                                          project: Path) -> None:
    path = project / "pkg" / "new.py"
    text = HEAD + "def unit():\n    origin = make_vector(0.0, 0.0)\n"
    text += "    return Circle(origin, 1.0)\n\n\ndef build():\n    v = "
    index.open_document(path, text, "python")
    result = service(index, sources=("usages",)).gather(query(path, text))
    assert result.snippets  # other uses of make_vector are there
    assert all("origin = make_vector(0.0, 0.0)" not in s.text for s in result.snippets)


def test_header_when_the_window_starts_below_the_imports(index: WorkspaceIndex,
                                                         project: Path) -> None:
    path = project / "pkg" / "new.py"
    body = "".join(f"value_{n} = {n}\n" for n in range(40))
    text = HEAD + body + "result = "
    index.open_document(path, text, "python")
    local_start = text.index("value_30")
    only = service(index, sources=("header",)).gather(query(path, text, local_start=local_start))
    assert [s.source for s in only.snippets] == ["header"]
    assert only.snippets[0].path == str(path)
    assert only.snippets[0].text == ("from pkg.geometry import Vector, make_vector\n"
                                     "from pkg.report import summary")
    every = service(index).gather(query(path, text, budget=2000, local_start=local_start))
    assert every.snippets[0].source == "header"  # first: it changes least
    inside = service(index, sources=("header",)).gather(query(path, text, local_start=10))
    assert inside.snippets == []  # the window shows the imports already


def test_ring_and_bm25_sources(index: WorkspaceIndex, project: Path) -> None:
    path = project / "pkg" / "new.py"
    text = "def total_area(circles):\n    # sum the area of circles\n    return "
    index.open_document(path, text, "python")
    ring_only = service(index, sources=("ring",))
    ring_only.changed(str(project / "notes.py"), "circles_area = sum(c.area() for c in circles)\n"
                      "print(circles_area)", 0)
    found = ring_only.gather(query(path, text))
    assert [s.source for s in found.snippets] == ["ring-edit"]
    bm25 = service(index, sources=("bm25",)).gather(query(path, text))
    assert bm25.snippets and {s.source for s in bm25.snippets} == {"bm25"}
    assert any("area" in s.text for s in bm25.snippets)
    assert all(s.path != str(path) for s in bm25.snippets)


async def test_provider_call_and_preferred_first(index: WorkspaceIndex, project: Path) -> None:
    path = project / "pkg" / "new.py"
    text = HEAD + "def build():\n    v = Vector(1, 2)\n    v."
    index.open_document(path, text, "python")
    context = service(index)
    item = CompletionInput(uri=path.as_uri(), path=str(path), language_id="python", text=text,
                           offset=len(text))
    pairs = await context(item, Settings(context_tokens=200))
    assert pairs and all(isinstance(p, tuple) and len(p) == 2 for p in pairs)
    assert await context(item, Settings(context_tokens=0)) == []
    assert context.preferred_first(item) == ["add", "scale", "norm", "x", "y"]
    no_index = ContextService(lambda: None, template=lambda: template_by_name("none"))
    assert no_index.preferred_first(item) is None


def test_context_for_a_function_with_its_own_budget(index: WorkspaceIndex, project: Path) -> None:
    report = project / "pkg" / "report.py"
    text = report.read_text()
    start = text.index("def unit_circle")
    end = text.index("def summary")
    context = service(index)
    pairs = context.for_range(str(report), text, start, end, budget=400, target="unit_circle")
    joined = "\n".join(body for _, body in pairs)
    assert "def make_vector(x: float, y: float) -> Vector:" in joined  # used in the body
    assert "report.unit_circle()" in joined  # how app.py calls the target
    assert all(path != str(report) for path, _ in pairs)
    small = context.for_range(str(report), text, start, end, budget=20, target="unit_circle")
    assert len(small) < len(pairs)
    assert context.for_range(str(report), text, start, end, budget=0) == []


def unit_circle_of_report(index: WorkspaceIndex, project: Path) -> tuple[str, Definition]:
    """report.py's text and its definition of unit_circle (which app.py calls)."""
    report = project / "pkg" / "report.py"
    return report.read_text(), next(d for d in index.symbols(report) if d.name == "unit_circle")


def test_test_generation_gets_the_same_context_for_a_definitions_lines(
        index: WorkspaceIndex, project: Path) -> None:
    report = project / "pkg" / "report.py"
    text, target = unit_circle_of_report(index, project)
    context = service(index)
    pairs = context.for_lines(str(report), text, target.span.start_line, target.span.end_line,
                              400, target="unit_circle")
    start = text.index("def unit_circle")
    end = text.index("def summary") - 2  # the line after the body: blank
    assert pairs == context.for_range(str(report), text, start, end, 400, target="unit_circle")
    assert {path for path, _ in pairs} <= {"pkg/geometry.py", "pkg/app.py"}
    assert any("report.unit_circle()" in body for _, body in pairs)


def test_a_definitions_context_holds_only_what_its_imports_lead_to(
        index: WorkspaceIndex, project: Path) -> None:
    # A stranger file: its own make_vector, and a unit_circle() that is not report's.
    stranger = project / "pkg" / "stranger.py"
    stranger.write_text("def make_vector(n):\n    return [0] * n\n\n\n"
                        "def plot(shapes):\n    return shapes.unit_circle()\n")
    index.scan()
    report = project / "pkg" / "report.py"
    text, target = unit_circle_of_report(index, project)
    pairs = service(index).for_lines(str(report), text, target.span.start_line,
                                     target.span.end_line, 400, target="unit_circle")
    assert pairs and all(path != "pkg/stranger.py" for path, _ in pairs)
    summary = next(d for d in index.symbols(report) if d.name == "summary")
    pairs = service(index).for_lines(str(report), text, summary.span.start_line,
                                     summary.span.end_line, 400, target="summary")
    shown = "\n".join(body for _, body in pairs)
    assert "class Circle" in shown  # summary's parameter type
    assert "make_vector" not in shown  # imported, but summary never uses it


def test_a_definitions_context_shows_recent_regions_only_of_files_linked_by_imports(
        index: WorkspaceIndex, project: Path) -> None:
    report = project / "pkg" / "report.py"
    text = report.read_text()
    context = service(index, sources=("ring",))
    for name, linked in [("pkg/geometry.py", "report imports it"), ("pkg/app.py", "imports "
                         "report"), ("notes.py", "linked to neither")]:
        edit = f"big = Circle(make_vector(2.0, 1.0), 3.0)  # {linked}\nprint(big.area())"
        context.changed(str(project / name), edit, 0)
    pairs = context.for_range(str(report), text, text.index("def unit_circle"),
                              text.index("def summary"), 400, target="unit_circle",
                              sources=("ring",))
    assert {path for path, _ in pairs} == {"pkg/geometry.py", "pkg/app.py"}
    # At a cursor, whatever the user touched last may come next: the ring is not filtered.
    at_cursor = context.gather(query(report, text, offset=text.index("def summary")))
    assert "notes.py" in {context.shown_path(s.path) for s in at_cursor.snippets}


def test_docstring_context_keeps_callees_and_call_sites_within_the_hover_budget(
        index: WorkspaceIndex, project: Path) -> None:
    text, target = unit_circle_of_report(index, project)
    context = service(index)
    whole = context.for_definition(target, text, index, 10_000, with_docs=True)
    assert [c.name for c in whole.callees] == ["make_vector", "Circle"]
    assert [s.text for s in whole.call_sites] == ["print(report.summary([report.unit_circle()]))"]
    none = context.for_definition(target, text, index, 0, with_docs=True)
    assert none.callees == [] and none.call_sites == [] and none.source == whole.source
    # Taken in turn: the first callee, then the call site, before the second callee.
    counter = EstimateCounter()
    room = counter.count(whole.callees[0].signature) + counter.count(whole.call_sites[0].text)
    some = context.for_definition(target, text, index, room, with_docs=False)
    assert [c.name for c in some.callees] == ["make_vector"]
    assert some.call_sites == whole.call_sites


def test_a_use_after_the_same_words_as_the_cursor_comes_last(index: WorkspaceIndex,
                                                             project: Path) -> None:
    path = project / "pkg" / "new.py"
    for prefix, expected in (("    origin = ", "origin = make_vector(0.0, 0.0)"),
                             ("    start = ", "start = make_vector(1.0, 2.0)")):
        text = "from pkg.geometry import make_vector\n\n\ndef build():\n" + prefix
        index.open_document(path, text, "python")
        result = service(index, sources=("usages",)).gather(query(path, text))
        assert expected in result.snippets[-1].text


def test_import_header_is_one_line_per_statement() -> None:
    assert one_line(["from x import (", "    a,", "    b,", ")"]) == "from x import (a, b)"
    assert one_line(["import { a,", "  b } from './m';"]) == "import {a, b} from './m';"


def test_the_receivers_class_outline_after_a_dot(index: WorkspaceIndex, project: Path) -> None:
    path = project / "pkg" / "new.py"
    text = "from pkg.geometry import Circle\n\n\ndef grow(c: Circle):\n    return c."
    index.open_document(path, text, "python")
    result = service(index, sources=("definitions",)).gather(query(path, text))
    last = result.snippets[-1]
    assert last.text.startswith("class Circle(Shape):")
    assert "def grow(self, amount: float)" in last.text


def test_suffix_source_shows_the_lines_below_only_when_asked(index: WorkspaceIndex,
                                                            project: Path) -> None:
    path = project / "pkg" / "new.py"
    before = "def area(r):\n    pi = 3.14\n"
    after = "\n    return pi * r * r\n\n\ndef other():\n    pass\n"
    text = before + after
    offset = len(before)
    index.open_document(path, before, "python")
    default = service(index).gather(query(path, text, offset=offset))
    assert all(s.source != "suffix" for s in default.snippets)
    asked = service(index, sources=("suffix",)).gather(
        query(path, text, offset=offset, sources=("suffix",)))
    assert [s.source for s in asked.snippets] == ["suffix"]
    assert asked.snippets[0].text == "    return pi * r * r"  # up to the next top-level line


def test_a_cold_bm25_index_is_finished_in_the_background(index: WorkspaceIndex,
                                                         project: Path) -> None:
    path = project / "pkg" / "new.py"
    text = "def total(circles):\n    return sum(c.area() for c in circles)\n    x = "
    index.open_document(path, text, "python")
    context = service(index, sources=("bm25",))
    context.bm25_refresh_s = 0.0  # no time at all on the request path
    context.gather(query(path, text))
    thread = context._bm25_thread
    assert thread is not None
    thread.join(timeout=5)
    assert sorted(context.bm25.paths()) == sorted(
        str(p) for p in index.all_files() if p.suffix == ".py" and p != path)


def test_usages_are_remembered_until_the_workspace_changes(index: WorkspaceIndex,
                                                           project: Path) -> None:
    path = project / "pkg" / "new.py"
    text = "from pkg.geometry import make_vector\n\n\ndef build():\n    v = "
    index.open_document(path, text, "python")
    context = service(index, sources=("usages",))
    first = context.gather(query(path, text))
    assert first.snippets
    calls: list[str] = []
    original = index.usages

    def counted(name: str, *args: object, **kwargs: object) -> object:
        calls.append(name)
        return original(name, *args, **kwargs)  # type: ignore[arg-type]

    index.usages = counted  # type: ignore[method-assign]
    typed = text + "make_"
    index.update_document(path, typed)  # typing in the current document: still remembered
    context.gather(query(path, typed))
    assert calls == []
    other = project / "pkg" / "later.py"
    other.write_text("from pkg.geometry import make_vector\n\nEDGE = make_vector(9.0, 9.0)\n")
    index.files_changed([other])  # another file changed: asked again, and the use is found
    again = context.gather(query(path, typed))
    assert "make_vector" in calls
    assert any("make_vector(9.0, 9.0)" in s.text for s in again.snippets)


class LineCounter:
    """A labelled stand-in tokenizer: one token per line piece (the model's own is in e2e)."""

    def count(self, text: str) -> int:
        return max(1, text.count("\n"))


def test_snippets_are_deduplicated_against_a_window_counted_in_tokens(
        index: WorkspaceIndex) -> None:
    """The surely visible window is the prompt's smallest local window, in the model's
    tokens: here 60 tokens, 60 lines of 40 characters (less the 16-line anchor), where
    3 characters a token would see 4."""
    text = "".join(f"value_{n:02d} = {'x' * 28}\n" for n in range(100))
    item = CompletionInput(uri="file:///a.py", path="/a.py", language_id="python", text=text,
                           offset=len(text))
    context = ContextService(lambda: index, counter=LineCounter,  # type: ignore[arg-type]
                             template=lambda: template_by_name("none"))
    found = context.completion_query(item, Settings(prompt_tokens=100, context_tokens=40))
    assert found is not None
    window = token_window(text, len(text), 60, 0, LineCounter())
    assert found.local_start == len(text) - len(window.prefix)
    assert text[found.local_start:].count("\n") == 52
