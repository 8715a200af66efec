"""`textDocument/codeAction` and `codeAction/resolve`, shared by every action provider.

LSP allows one handler per method, so features plug in here: a provider lists its actions
cheaply (never calling the model) and resolves one when the user picks it. Each action's
`data` carries ``{"provider": name, ...}`` so `codeAction/resolve` finds its provider.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from lsprotocol import types

from ghostline.lsp.server import GhostlineServer

log = logging.getLogger(__name__)

ListActions = Callable[[GhostlineServer, types.CodeActionParams], list[types.CodeAction]]
ResolveAction = Callable[[GhostlineServer, types.CodeAction], Awaitable[types.CodeAction]]


@dataclass(frozen=True)
class ActionProvider:
    name: str
    list_actions: ListActions
    resolve: ResolveAction


PROVIDERS: dict[str, ActionProvider] = {}


def add_provider(provider: ActionProvider) -> None:
    """Register a provider (features call this from their `register`)."""
    PROVIDERS[provider.name] = provider


def register(server: GhostlineServer) -> None:
    kinds = [
        types.CodeActionKind.Source,
        types.CodeActionKind.Refactor,
        types.CodeActionKind.RefactorRewrite,
    ]

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=kinds, resolve_provider=True),
    )
    def code_action(
        ls: GhostlineServer, params: types.CodeActionParams
    ) -> list[types.CodeAction | types.Command] | None:
        actions: list[types.CodeAction | types.Command] = []
        only = params.context.only
        for provider in PROVIDERS.values():
            try:
                found = provider.list_actions(ls, params)
            except Exception:  # one broken provider must not hide the others
                log.exception("code action provider %s failed", provider.name)
                continue
            actions.extend(a for a in found if _wanted(a, only))
        return actions

    @server.feature(types.CODE_ACTION_RESOLVE)
    async def resolve(ls: GhostlineServer, action: types.CodeAction) -> types.CodeAction:
        data = action.data if isinstance(action.data, dict) else {}
        provider = PROVIDERS.get(str(data.get("provider")))
        if provider is None:
            return action
        return await provider.resolve(ls, action)


def _wanted(action: types.CodeAction, only: Sequence[types.CodeActionKind | str] | None) -> bool:
    if not only or action.kind is None:
        return True
    kind = str(action.kind.value if hasattr(action.kind, "value") else action.kind)
    wanted = [str(o.value if isinstance(o, types.CodeActionKind) else o) for o in only]
    return any(kind == o or kind.startswith(f"{o}.") for o in wanted)
