"""model_files: what a `model` setting resolves to, and verification failures told plainly."""

from __future__ import annotations

from pathlib import Path

import pytest

from ghostline.engine import model_catalog, model_choice, model_files
from ghostline.engine.model_files import ModelNotAvailable

from .helpers import fake_model, split_into_parts, write_qwen_gguf


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("GHOSTLINE_CACHE_DIR", str(folder))
    return folder


def test_cache_dir_follows_the_environment(cache: Path) -> None:
    assert model_files.cache_dir() == cache
    assert model_files.models_dir() == cache / "models"


def test_unknown_name_that_is_no_file_lists_the_packaged_models(tmp_path: Path) -> None:
    with pytest.raises(ModelNotAvailable) as caught:
        model_files.resolve_model_path("qwen-7b")
    message = str(caught.value)
    assert "model file not found" in message and "qwen-7b" in message
    for key in ("gemma-3-270m", "qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b"):
        assert key in message
    assert model_files.packaged_keys() == ["gemma-3-270m", "qwen2.5-coder-0.5b",
                                           "qwen2.5-coder-1.5b"]


def test_packaged_model_path_of_an_unknown_name_lists_the_known(tmp_path: Path) -> None:
    with pytest.raises(ModelNotAvailable, match=r"no packaged model is called 'qwen-7b'; "
                       r"known: gemma-3-270m, qwen2.5-coder-0.5b, qwen2.5-coder-1.5b"):
        model_files.packaged_model_path("qwen-7b")


def test_an_existing_file_is_taken_as_is(tmp_path: Path) -> None:
    path = tmp_path / "mine.gguf"
    path.write_bytes(b"whatever")
    assert model_files.resolve_model_path(f" {path} ") == path


def test_packaged_names_and_auto_resolve_through_the_catalogue(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []

    def packaged(name: str, assemble: bool = True) -> Path:
        asked.append(name)
        return tmp_path / f"{name}.gguf"

    monkeypatch.setattr(model_files, "packaged_model_path", packaged)
    monkeypatch.setattr(model_choice, "auto_models",
                        lambda threads=0: {"inlineCompletion": "qwen2.5-coder-1.5b"})
    assert model_files.resolve_model_path("Qwen-0.5B") == tmp_path / "Qwen-0.5B.gguf"
    assert model_files.resolve_model_path("gemma").name == "gemma.gguf"
    assert model_files.resolve_model_path("") == tmp_path / "qwen2.5-coder-1.5b.gguf"
    assert model_files.resolve_model_path(" AUTO ") == tmp_path / "qwen2.5-coder-1.5b.gguf"
    assert asked == ["Qwen-0.5B", "gemma", "qwen2.5-coder-1.5b", "qwen2.5-coder-1.5b"]


def test_a_wrong_cached_file_is_refused_with_the_fix(cache: Path) -> None:
    wrong = cache / "models" / "fake-model.gguf"
    wrong.parent.mkdir(parents=True)
    write_qwen_gguf(wrong, arch="llama")
    model = fake_model(wrong)  # size and hash of the file: its architecture is what differs
    with pytest.raises(ModelNotAvailable) as caught:
        model_files.catalog_model_path(model)
    message = str(caught.value)
    assert message.startswith("refusing Fake Model: ")
    assert "architecture 'llama', expected 'qwen2'" in message
    assert "Delete the file" in message and "ghostline model --assemble fake-0.5b" in message
    assert isinstance(caught.value.__cause__, model_catalog.ModelVerificationError)
    assert wrong.exists()  # the user's file is not deleted behind their back


def test_a_failed_assembly_is_refused_with_the_fix(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = write_qwen_gguf(tmp_path / "good.gguf")
    found = split_into_parts(source, tmp_path / "parts")
    monkeypatch.setattr(model_catalog, "part_files", lambda model: found)
    model = fake_model(source, sha256="a" * 64)
    with pytest.raises(ModelNotAvailable) as caught:
        model_files.catalog_model_path(model)
    message = str(caught.value)
    assert message.startswith("refusing Fake Model: ") and "SHA-256" in message
    assert "ghostline model --assemble fake-0.5b" in message
    assert "Reinstall them" in message and "Delete the file" not in message  # none was left
    assert not (cache / "models" / model.file_name).exists()


def test_a_good_assembly_and_then_the_cached_file(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = write_qwen_gguf(tmp_path / "good.gguf")
    found = split_into_parts(source, tmp_path / "parts")
    monkeypatch.setattr(model_catalog, "part_files", lambda model: found)
    model = fake_model(source)
    path = model_files.catalog_model_path(model)
    assert path == cache / "models" / model.file_name
    assert path.read_bytes() == source.read_bytes()
    monkeypatch.setattr(model_catalog, "part_files", lambda model: None)  # uninstalled
    assert model_files.catalog_model_path(model) == path  # verified, not assembled again


def test_not_installed_says_how_to_install(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model_catalog, "part_files", lambda model: None)
    model = fake_model(write_qwen_gguf(tmp_path / "good.gguf"))
    with pytest.raises(ModelNotAvailable, match=r"pip install 'ghostline\[qwen-0-5b\]'"):
        model_files.catalog_model_path(model)
    assert model_files.catalog_model_path(model, assemble=False).name == model.file_name
