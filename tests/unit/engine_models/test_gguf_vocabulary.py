"""A GGUF file written here with the ``gguf`` package proves vocabulary reading and detection."""

from __future__ import annotations

from pathlib import Path

import gguf
import pytest

from ghostline.engine.gguf_meta import GgufFormatError, read_gguf_vocabulary
from ghostline.prompts.fim import detect_template

from .helpers import CONTROL, NORMAL, USER, qwen_tokens, write_gguf


def test_qwen_gguf_is_detected(tmp_path: Path) -> None:
    tokens = qwen_tokens()
    ids = {gguf.Keys.Tokenizer.EOS_ID: 200, gguf.Keys.Tokenizer.FIM_PRE_ID: 203}
    path = write_gguf(tmp_path / "qwen.gguf", "qwen2", tokens, ids=ids, name="Qwen2.5 Coder")
    specials, meta = read_gguf_vocabulary(path)
    assert specials == [t for t, k in tokens if k != NORMAL and t.strip()]
    assert meta["general.architecture"] == "qwen2"
    assert meta["general.name"] == "Qwen2.5 Coder"
    assert meta["general.tags"] == ["code", "fim"]
    assert meta["tokenizer.ggml.merges"] is None  # long array left out
    assert meta["ghostline.token.eos"] == "<|endoftext|>"
    assert meta["ghostline.token.fim_pre"] == "<|fim_prefix|>"
    template = detect_template(specials, meta)
    assert template.name == "qwen2.5-coder"
    assert template.build("a", "b") == "<|fim_prefix|>a<|fim_suffix|>b<|fim_middle|>"


def test_codegemma_gguf_is_told_apart_from_qwen(tmp_path: Path) -> None:
    tokens = [
        ("<pad>", CONTROL),
        ("<eos>", CONTROL),
        ("<bos>", CONTROL),
        ("hello", NORMAL),
        ("<|fim_prefix|>", USER),
        ("<|fim_middle|>", USER),
        ("<|fim_suffix|>", USER),
        ("<|file_separator|>", USER),
    ]
    path = write_gguf(tmp_path / "cg.gguf", "gemma", tokens, ids={gguf.Keys.Tokenizer.EOS_ID: 1})
    template = detect_template(*read_gguf_vocabulary(path))
    assert template.name == "codegemma"
    assert "<eos>" in template.stop_tokens


def test_token_named_by_id_counts_even_if_normal(tmp_path: Path) -> None:
    # An unknown family whose FIM tokens are ordinary tokens named only by metadata ids.
    tokens = [("x", NORMAL), ("<PFX>", NORMAL), ("<SFX>", NORMAL), ("<MDL>", NORMAL)]
    ids = {
        gguf.Keys.Tokenizer.FIM_PRE_ID: 1,
        gguf.Keys.Tokenizer.FIM_SUF_ID: 2,
        gguf.Keys.Tokenizer.FIM_MID_ID: 3,
    }
    specials, meta = read_gguf_vocabulary(write_gguf(tmp_path / "u.gguf", "x", tokens, ids=ids))
    assert specials == ["<PFX>", "<SFX>", "<MDL>"]
    assert detect_template(specials, meta).build("a", "b") == "<PFX>a<SFX>b<MDL>"


def test_prefix_only_model_gguf_gets_none(tmp_path: Path) -> None:
    names = ["<pad>", "<eos>", "<bos>", "<start_of_turn>", "<end_of_turn>"]
    tokens = [(t, CONTROL) for t in names] + [("def", NORMAL)]
    path = write_gguf(tmp_path / "g3.gguf", "gemma3", tokens, ids={gguf.Keys.Tokenizer.EOS_ID: 1})
    template = detect_template(*read_gguf_vocabulary(path))
    assert template.name == "none"
    assert template.stop_tokens == ("<eos>", "<end_of_turn>", "<start_of_turn>")


def test_matches_gguf_reader_on_the_same_file(tmp_path: Path) -> None:
    tokens = qwen_tokens()
    path = write_gguf(tmp_path / "q.gguf", "qwen2", tokens, ids={gguf.Keys.Tokenizer.EOS_ID: 200})
    reader = gguf.GGUFReader(path)
    _, meta = read_gguf_vocabulary(path)
    for key in ("general.architecture", "general.name", "tokenizer.ggml.eos_token_id"):
        assert meta[key] == reader.fields[key].contents()


def test_big_endian_file(tmp_path: Path) -> None:
    path = write_gguf(
        tmp_path / "be.gguf", "qwen2", qwen_tokens(), endianess=gguf.GGUFEndian.BIG
    )
    specials, meta = read_gguf_vocabulary(path)
    assert "<|repo_name|>" in specials and "tok1" not in specials
    assert meta["general.architecture"] == "qwen2"


def test_not_gguf_and_truncated_files_raise(tmp_path: Path) -> None:
    bad = tmp_path / "model.bin"
    bad.write_bytes(b"PK\x03\x04" + b"\0" * 64)
    with pytest.raises(GgufFormatError, match="magic"):
        read_gguf_vocabulary(bad)
    empty = tmp_path / "empty.gguf"
    empty.write_bytes(b"")
    with pytest.raises(GgufFormatError):
        read_gguf_vocabulary(empty)
    full = write_gguf(tmp_path / "full.gguf", "qwen2", qwen_tokens()).read_bytes()
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(full[:300])
    with pytest.raises(GgufFormatError, match="truncated"):
        read_gguf_vocabulary(cut)
    with pytest.raises(FileNotFoundError):
        read_gguf_vocabulary(tmp_path / "missing.gguf")
