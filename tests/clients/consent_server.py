"""A stand-in language server for the clients' consent tests (VS Code, Neovim): the server's own
consent logic (`ghostline.lsp.run_consent`) behind one command, so no model loads.

`workspace/executeCommand` `test.decideRunTests` with a folder decides, as "Generate tests"
does under `runGeneratedTests: "ask"`, whether tests may run there (asking the client with
`window/showMessageRequest`), and returns the decision and the remembered answer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pygls.lsp.server import LanguageServer

from ghostline.lsp.run_consent import RunConsent

server = LanguageServer("ghostline-consent-fake", "0")
consent = RunConsent()


@server.command("test.decideRunTests")
async def decide(ls: LanguageServer, *args: Any) -> dict[str, Any]:
    root = Path(str(args[0]))
    decision = await consent.decide("ask", root, ls.window_show_message_request_async)
    return {"run": decision.run, "reason": decision.reason,
            "remembered": consent.store.get(root)}


if __name__ == "__main__":
    server.start_io()
