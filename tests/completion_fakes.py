"""Labelled test doubles for `InlineCompleter`'s collaborators: a model with a fixed engine
and template, and a workspace context made of plain functions. The server's own are
`core.app.CoreCompletionModel` and `context.completion.ContextService`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from ghostline.context.tokenizer import TokenCounter
from ghostline.features.inline_completion import CompletionInput
from ghostline.prompts.fim import FimTemplate
from ghostline.settings import Settings

Snippets = Callable[[CompletionInput, Settings], Awaitable[list[tuple[str, str]]]]


@dataclass
class FixedModel:
    """A `CompletionModel` that always gives this (fake) engine and this template, these
    special tokens, and no tokenizer (the local window is sized in characters)."""

    fixed_engine: Any
    fixed_template: FimTemplate
    tokens: list[str] = field(default_factory=list)

    def engine(self) -> Any:
        return self.fixed_engine

    def template(self) -> FimTemplate:
        return self.fixed_template

    def special_tokens(self) -> list[str]:
        return list(self.tokens)

    def counter(self) -> TokenCounter | None:
        return None


@dataclass
class FakeContext:
    """A `ContextProvider` from functions: `snippets` (none when not given), the receiver's
    `members` (none), the document's path as `shown` (unchanged)."""

    snippets: Snippets | None = None
    members: Callable[[CompletionInput], list[str] | None] | None = None
    shown: Callable[[str], str] | None = None

    async def __call__(self, item: CompletionInput, settings: Settings
                       ) -> list[tuple[str, str]]:
        return await self.snippets(item, settings) if self.snippets is not None else []

    def preferred_first(self, item: CompletionInput) -> list[str] | None:
        return self.members(item) if self.members is not None else None

    def shown_path(self, path: str) -> str:
        return self.shown(path) if self.shown is not None else path
