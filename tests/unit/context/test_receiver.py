from pathlib import Path

import pytest

from ghostline.context.receiver import member_access, receiver_members
from ghostline.index.workspace import WorkspaceIndex


def members(index: WorkspaceIndex, path: Path, text: str, language: str = "python"
            ) -> list[str] | None:
    index.open_document(path, text, language)
    return receiver_members(index, path, text)


@pytest.mark.parametrize(("line", "receiver", "partial"), [
    ("    v.", "v", ""),
    ("x = self.center.ra", "self.center", "ra"),
    ("print(g.make", "g", "make"),
])
def test_member_access(line: str, receiver: str, partial: str) -> None:
    access = member_access(line)
    assert access is not None
    assert (access.receiver, access.partial) == (receiver, partial)


@pytest.mark.parametrize("line", ["x = 1.", "from pkg.", "value = name", "a = 'text' "])
def test_no_member_access(line: str) -> None:
    assert member_access(line) is None


def test_assignment_from_a_constructor(index: WorkspaceIndex, project: Path) -> None:
    text = "from pkg.geometry import Vector\n\nv = Vector(1, 2)\nv."
    assert members(index, project / "pkg" / "new.py", text) == [
        "add", "scale", "norm", "x", "y"]


def test_annotation_inherited_members_and_partial(index: WorkspaceIndex, project: Path) -> None:
    path = project / "pkg" / "new.py"
    text = "from pkg.geometry import Circle\n\ndef f(c: Circle):\n    c."
    found = members(index, path, text)
    assert found is not None
    assert {"area", "grow", "center", "radius", "describe"} <= set(found)
    assert "__init__" not in found
    assert members(index, path, text + "gr") == ["ow"]


def test_self_attribute_chain(index: WorkspaceIndex, project: Path) -> None:
    geometry = project / "pkg" / "geometry.py"
    text = geometry.read_text()
    cursor = text.index("        return Circle(self.center")
    edited = text[:cursor] + "        self.center."
    assert members(index, geometry, edited) == ["add", "scale", "norm", "x", "y"]


def test_module_alias(index: WorkspaceIndex, project: Path) -> None:
    text = "from pkg import geometry as g\n\ng."
    found = members(index, project / "pkg" / "new.py", text)
    assert found == ["Vector", "make_vector", "Shape", "Circle"]


def test_typescript_this_and_unknown_receivers(index: WorkspaceIndex, project: Path) -> None:
    models = project / "web" / "models.ts"
    text = models.read_text()
    cursor = text.index("    return this.age >= 18;") + len("    return this.")
    found = members(index, models, text[:cursor], "typescript")
    assert found is not None and {"greet", "isAdult", "name", "age"} <= set(found)
    assert members(index, project / "pkg" / "new.py", "thing = make()\nthing.") is None


def test_private_members_only_inside_the_class(index: WorkspaceIndex, project: Path) -> None:
    geometry = project / "pkg" / "geometry.py"
    text = geometry.read_text()
    cursor = text.index("        pass")  # in ``_private``, the last method
    found = members(index, geometry, text[:cursor] + "        self.")
    assert found is not None and "_private" in found and "norm" in found
    outside = "from pkg.geometry import Vector\n\nv = Vector(1, 2)\nv."
    assert "_private" not in (members(index, project / "pkg" / "new.py", outside) or [])
