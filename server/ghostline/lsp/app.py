"""The server as an editor meets it: a `GhostlineServer` with every handler registered.

Kept apart from ``server.py`` so that the handler modules, which all import the server's
class, are imported by this module and never by the class's own (no import cycle).
"""

from __future__ import annotations

from ghostline.lsp import (
    code_actions,
    documents,
    generate_tests,
    hover,
    inline_completion,
    lifecycle,
    usage,
)
from ghostline.lsp.server import (
    EngineFactory,
    GhostlineServer,
    ModelChooser,
    default_engine_factory,
)


def create_server(engine_factory: EngineFactory = default_engine_factory,
                  model_chooser: ModelChooser | None = None) -> GhostlineServer:
    """A fully wired server. Tests pass an `engine_factory` to swap the backend; with the
    real engines, `auto` picks each feature's model from this machine's measured speed."""
    if model_chooser is None and engine_factory is default_engine_factory:
        from ghostline.engine.model_choice import auto_models

        model_chooser = auto_models
    server = GhostlineServer(engine_factory, model_chooser)
    lifecycle.register(server)
    documents.register(server)
    inline_completion.register(server)
    code_actions.register(server)
    hover.register(server)
    generate_tests.register(server)
    usage.track_command(server, generate_tests.COMMAND, "generateTests")
    return server
