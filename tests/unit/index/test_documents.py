"""Open documents: the minimal edit from old to new text, and incremental re-parsing."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from ghostline.index.documents import OpenDocument, diff_edit
from ghostline.index.languages import spec_for_path


def _point(data: bytes, offset: int) -> tuple[int, int]:
    before = data[:offset]
    return before.count(b"\n"), offset - (before.rfind(b"\n") + 1)


def test_diff_edit_of_an_insertion() -> None:
    old = b"def f():\n    return 1\n"
    new = b"def f():\n    return 12\n"
    edit = diff_edit(old, new)
    assert edit is not None
    assert (edit.start_byte, edit.old_end_byte, edit.new_end_byte) == (21, 21, 22)
    assert edit.start_point == (1, 12)
    assert edit.old_end_point == (1, 12)
    assert edit.new_end_point == (1, 13)
    assert diff_edit(old, old) is None


def test_diff_edit_never_splits_a_character() -> None:
    old = "x = 'é'\n".encode()
    new = "x = 'è'\n".encode()  # same first UTF-8 byte
    edit = diff_edit(old, new)
    assert edit is not None
    assert old[: edit.start_byte].decode() == "x = '"
    assert new[edit.start_byte : edit.new_end_byte].decode() == "è"


text = st.text(alphabet=st.sampled_from(list("ab\n é{}")), max_size=40)


@settings(max_examples=200, deadline=None)
@given(old=text, new=text)
def test_diff_edit_rebuilds_the_new_text(old: str, new: str) -> None:
    a, b = old.encode(), new.encode()
    edit = diff_edit(a, b)
    if edit is None:
        assert a == b
        return
    assert a[: edit.start_byte] + b[edit.start_byte : edit.new_end_byte] + a[edit.old_end_byte :] \
        == b  # fmt: skip
    assert edit.start_point == _point(a, edit.start_byte)
    assert edit.old_end_point == _point(a, edit.old_end_byte)
    assert edit.new_end_point == _point(b, edit.new_end_byte)
    a[: edit.start_byte].decode()  # boundaries fall between characters
    b[edit.start_byte : edit.new_end_byte].decode()


SOURCE = """import os


class Greeter:
    def hello(self, name):
        return "hi " + name


def main():
    Greeter().hello("x")
"""


def _doc(text: str) -> OpenDocument:
    path = Path("/virtual/greet.py")
    spec = spec_for_path(path)
    assert spec is not None
    return OpenDocument.create(path, spec, text, "greet")


def test_update_reparses_incrementally_and_matches_a_fresh_parse() -> None:
    doc = _doc(SOURCE)
    old_tree = doc.tree
    steps = [
        SOURCE.replace("def main():", "def main(argv):"),
        SOURCE.replace("def main():", "def main(argv):") + "\ndef extra():\n    pass\n",
        SOURCE.replace("class Greeter:", "class Greeter(object):"),
        "",
        SOURCE,
    ]
    for text in steps:
        doc.update(text)
        fresh = doc.spec.parser().parse(text.encode())
        assert str(doc.tree.root_node) == str(fresh.root_node)
        assert doc.text == text
    assert doc.tree is not old_tree


def test_update_refreshes_the_facts() -> None:
    doc = _doc(SOURCE)
    assert [d.qualified_name for d in doc.facts.definitions] == [
        "Greeter", "Greeter.hello", "main",
    ]  # fmt: skip
    edit = doc.update(SOURCE + "\n\ndef later():\n    return os.sep\n")
    assert edit is not None and edit.start_byte == len(SOURCE.encode())
    names = [d.qualified_name for d in doc.facts.definitions]
    assert names[-1] == "later"
    later = doc.facts.definitions[-1]
    assert later.span.as_tuple() == (12, 0, 13, 17)
    assert later.module == "greet"
    doc.update(SOURCE.replace("hello", "greet"))
    assert "Greeter.greet" in [d.qualified_name for d in doc.facts.definitions]
    assert "later" not in [d.qualified_name for d in doc.facts.definitions]
