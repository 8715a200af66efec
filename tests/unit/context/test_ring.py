from ghostline.context.ring import EDIT_CONTEXT_LINES, RingBuffer

TEXT = "\n".join(f"line {i}" for i in range(100))


def test_edit_keeps_the_lines_around_the_change() -> None:
    ring = RingBuffer()
    ring.edited("a.py", TEXT, 50)
    (chunk,) = ring.chunks()
    assert (chunk.start, chunk.end) == (50 - EDIT_CONTEXT_LINES, 51 + EDIT_CONTEXT_LINES)
    assert "line 50" in chunk.text and chunk.kind == "edit"


def test_overlapping_edits_replace_each_other_and_the_newest_is_last() -> None:
    ring = RingBuffer()
    ring.edited("a.py", TEXT, 50)
    ring.edited("b.py", TEXT, 10)
    ring.edited("a.py", TEXT, 52)
    chunks = ring.chunks()
    assert [c.path for c in chunks] == ["b.py", "a.py"]
    assert "line 52" in chunks[-1].text


def test_size_limit_drops_the_oldest() -> None:
    ring = RingBuffer(size=3)
    for number in range(5):
        ring.edited(f"{number}.py", TEXT, 5)
    assert [c.path for c in ring.chunks()] == ["2.py", "3.py", "4.py"]


def test_a_view_does_not_displace_an_edit_and_exclusion_works() -> None:
    ring = RingBuffer()
    ring.edited("a.py", TEXT, 3)
    ring.viewed("a.py", TEXT)
    assert [c.kind for c in ring.chunks()] == ["edit"]
    ring.viewed("b.py", TEXT)
    assert [c.path for c in ring.chunks(exclude_path="a.py")] == ["b.py"]
    ring.forget("a.py")
    assert [c.path for c in ring.chunks()] == ["b.py"]


def test_blank_regions_are_ignored() -> None:
    ring = RingBuffer()
    ring.viewed("a.py", "\n\n\n")
    assert len(ring) == 0
