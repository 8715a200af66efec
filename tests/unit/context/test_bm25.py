from ghostline.context.bm25 import Bm25Index, chunk_lines, words


def test_words_drop_keywords_and_short_names() -> None:
    assert words("def parse_header(self, x): return HeaderMap(x)") == [
        "parse_header", "headermap"]


def test_chunks_overlap_and_skip_blank_windows() -> None:
    text = "\n".join(f"line{i}" for i in range(20)) + "\n" + "\n" * 30 + "tail"
    chunks = chunk_lines("f.py", text, size=8, step=4)
    assert [c.start for c in chunks[:3]] == [0, 4, 8]
    assert all(c.text.strip() for c in chunks)
    assert chunks[-1].text.endswith("tail")
    assert chunks[0].text.split("\n") == [f"line{i}" for i in range(8)]


def test_search_ranks_the_matching_chunk_first_and_excludes() -> None:
    bm25 = Bm25Index(chunk_size=4, chunk_step=4)
    bm25.set_file("a.py", "alpha beta\ngamma\n\n\nconnect_database(url)\npool_size = 4")
    bm25.set_file("b.py", "unrelated words here\nnothing else")
    found = bm25.search("db = connect_database(settings.url)", limit=3)
    assert found and found[0][0].path == "a.py"
    assert "connect_database" in found[0][0].text
    assert bm25.search("connect_database", exclude=["a.py"]) == []


def test_set_file_replaces_and_remove_forgets() -> None:
    bm25 = Bm25Index()
    bm25.set_file("a.py", "old_name()", version="1")
    bm25.set_file("a.py", "new_name()", version="2")
    assert bm25.version("a.py") == "2"
    assert bm25.search("old_name") == []
    assert bm25.search("new_name")[0][0].path == "a.py"
    bm25.remove_file("a.py")
    assert len(bm25) == 0 and bm25.search("new_name") == [] and bm25.version("a.py") is None
