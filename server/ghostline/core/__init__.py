"""The application core: one object that owns what every entry point shares.

`AppCore` holds the settings, the local engine and the router, the model's facts (its
`ModelInfo`, the FIM template detected for it, its tokenizer), the workspace index handle,
the context service and the features' entry objects (`InlineCompleter`, the docstring
service, the test-generation services). The language server (`lsp/`) is an adapter around
one; `ghostline complete`, `ghostline doctor` and `bench quality` build their own.
"""

from ghostline.core.app import (
    AppCore,
    CoreCompletionModel,
    EngineFactory,
    Frontend,
    Level,
    LogFrontend,
    ModelChooser,
    default_engine_factory,
)

__all__ = [
    "AppCore",
    "CoreCompletionModel",
    "EngineFactory",
    "Frontend",
    "Level",
    "LogFrontend",
    "ModelChooser",
    "default_engine_factory",
]
