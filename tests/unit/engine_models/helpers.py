"""Tiny real GGUF files and fake packaged models for the model catalogue tests."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import gguf
import numpy as np

from ghostline.engine import model_catalog
from ghostline.engine.model_catalog import PackagedModel

CONTROL = int(gguf.TokenType.CONTROL)
USER = int(gguf.TokenType.USER_DEFINED)
NORMAL = int(gguf.TokenType.NORMAL)

def write_gguf(
    path: Path,
    arch: str,
    tokens: list[tuple[str, int]],
    *,
    ids: dict[str, int] | None = None,
    name: str = "test model",
    endianess: gguf.GGUFEndian = gguf.GGUFEndian.LITTLE,
) -> Path:
    """A small but real GGUF: tokenizer arrays, token ids, merges and one tensor."""
    writer = gguf.GGUFWriter(path, arch, endianess=endianess)
    writer.add_name(name)
    writer.add_tokenizer_model("gpt2")
    writer.add_token_list([t for t, _ in tokens])
    writer.add_token_types([k for _, k in tokens])
    writer.add_token_merges([f"a{i} b{i}" for i in range(100)])  # a big array to skip
    writer.add_array("general.tags", ["code", "fim"])
    for key, value in (ids or {}).items():
        writer.add_uint32(key, value)
    writer.add_tensor("tiny", np.arange(8, dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def qwen_tokens() -> list[tuple[str, int]]:
    normal = [(f"tok{i}", NORMAL) for i in range(200)]
    specials = [
        ("<|endoftext|>", CONTROL),
        ("<|im_start|>", CONTROL),
        ("<|im_end|>", CONTROL),
        ("<|fim_prefix|>", USER),
        ("<|fim_middle|>", USER),
        ("<|fim_suffix|>", USER),
        ("<|fim_pad|>", USER),
        ("<|repo_name|>", USER),
        ("<|file_sep|>", USER),
        ("  ", USER),  # whitespace-only user token: never a marker
    ]
    return normal + specials


def write_qwen_gguf(path: Path, arch: str = "qwen2", *, without: tuple[str, ...] = ()) -> Path:
    """A GGUF with a Qwen-like vocabulary, less the special tokens in `without`."""
    tokens = [(t, k) for t, k in qwen_tokens() if t not in without]
    return write_gguf(path, arch, tokens, name="tiny test model")


def split_into_parts(source: Path, folder: Path, count: int = 3) -> list[Path]:
    """`source`'s bytes cut into `count` part files in `folder` (part01.bin, …)."""
    data = source.read_bytes()
    folder.mkdir(parents=True, exist_ok=True)
    step = -(-len(data) // count)
    parts = []
    for n in range(count):
        part = folder / f"part{n + 1:02d}.bin"
        part.write_bytes(data[n * step:(n + 1) * step])
        parts.append(part)
    return parts


def fake_model(source: Path, **changes: object) -> PackagedModel:
    """A packaged model pinned to `source`'s size and SHA-256, with Qwen's required tokens."""
    data = source.read_bytes()
    model = replace(
        model_catalog.QWEN_05B,
        key="fake-0.5b",
        name="Fake Model",
        distribution="ghostline-fake-part{n}",
        version="1.0",
        parts=3,
        part_path="ghostline_fake_part{n}/data/part{nn}.bin",
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        architecture="qwen2",
        file_name="fake-model.gguf",
    )
    return replace(model, **changes)  # type: ignore[arg-type]
