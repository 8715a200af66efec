"""`textDocument/hover` and the "Insert docstring" code action.

Thin handlers: find the document and the cursor, ask ``features.docstring_actions`` and
``features.docstring`` what to say or insert, build the LSP reply. A hover never fails:
anything unexpected is logged and answered with nothing. ``ghostline.hoverStatus`` reports
the hover's model calls and cache hits (tests count them).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.workspace import TextDocument
from pygls.workspace.position_codec import ServerTextPosition

from ghostline.features.docstring import DocstringService, HoverInfo
from ghostline.features.docstring_actions import (
    NoDocstring,
    definition_at_header,
    hover_target,
    offers_insertion,
    plan_docstring,
    with_comment,
)
from ghostline.index.languages import spec_for_language_id, spec_for_path
from ghostline.index.model import Definition
from ghostline.index.parser import extract
from ghostline.lsp import escalation, usage
from ghostline.lsp.code_actions import ActionProvider, add_provider
from ghostline.lsp.positions import cursor_offset
from ghostline.lsp.server import GhostlineServer

log = logging.getLogger(__name__)

PROVIDER = "docstring"
#: How many documents' definitions parsed here (no index, or a file it has not opened) are
#: kept, by version: beyond it the earliest entry is dropped, so the cache stays small.
LOCAL_FACTS_SIZE = 32

_LOCAL_FACTS: dict[str, tuple[int, list[Definition]]] = {}


def service_for(ls: GhostlineServer) -> DocstringService:
    """The server's docstring service (the core's)."""
    return ls.core.docstrings


def hover_status(ls: GhostlineServer) -> dict[str, object]:
    """Hover counters: `ghostline.status` carries them as `"hover"`."""
    return service_for(ls).status()


def register(server: GhostlineServer) -> None:
    # An empty or rejected summary goes once to the escalation backend, by the server's rules.
    server.core.escalate_hover = (
        lambda definition, ask: escalation.hover_summary(server, definition, ask))

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    async def hover(ls: GhostlineServer, params: types.HoverParams) -> types.Hover | None:
        uri = params.text_document.uri
        language = _language_of(ls, uri)
        with usage.track(ls, "hover", language) as tracked:
            try:
                answer = await hover_at(ls, uri, params.position)
            except asyncio.CancelledError:
                raise
            except Exception:  # a hover must never surface as an error
                log.exception("hover failed")
                answer = None
            # Hovers over nothing explainable are not counted: only shown or generated ones.
            tracked.shown = answer is not None
            tracked.counted = tracked.shown or tracked.generated_tokens > 0
            return answer

    @server.command("ghostline.hoverStatus")
    def on_hover_status(ls: GhostlineServer, *args: Any) -> dict[str, object]:
        return hover_status(ls)

    add_provider(ActionProvider(PROVIDER, list_actions, resolve_action))


# --- documents and definitions ---------------------------------------------------------------


def _document(ls: GhostlineServer, uri: str) -> TextDocument:
    return ls.workspace.get_text_document(uri)


def _language_of(ls: GhostlineServer, uri: str) -> str:
    doc = ls.workspace.text_documents.get(uri)
    return (doc.language_id or "") if doc is not None else ""


def file_definitions(ls: GhostlineServer, doc: TextDocument) -> list[Definition]:
    """Definitions of an open document: from the index, else parsed here (no index yet)."""
    if not ls.core.workable_text(doc.source):
        return []
    path = Path(ls.document_path(doc.uri))
    index = ls.core.index
    if index is not None and index.is_open(path):
        return index.symbols(path)
    version = doc.version or 0
    cached = _LOCAL_FACTS.get(doc.uri)
    if cached is not None and cached[0] == version:
        return cached[1]
    spec = spec_for_language_id(doc.language_id or "") or spec_for_path(path)
    if spec is None:
        return []
    data = doc.source.encode("utf-8")
    definitions = extract(spec, spec.parser().parse(data), data, path).definitions
    _LOCAL_FACTS[doc.uri] = (version, definitions)
    if len(_LOCAL_FACTS) > LOCAL_FACTS_SIZE:
        _LOCAL_FACTS.pop(next(iter(_LOCAL_FACTS)))
    return definitions


def _text_of(ls: GhostlineServer, path: Path, doc: TextDocument) -> str | None:
    if Path(ls.document_path(doc.uri)) == path:
        return doc.source
    index = ls.core.index
    return index.file_text(path) if index is not None else None


def _location(ls: GhostlineServer, definition: Definition, here: Path) -> str:
    if definition.path == here:
        return ""
    for root in ls.workspace_roots():
        try:
            relative = definition.path.relative_to(root)
        except ValueError:
            continue
        return f"{relative.as_posix()}:{definition.span.start_line + 1}"
    return f"{definition.path.name}:{definition.span.start_line + 1}"


# --- hover ---------------------------------------------------------------------------------


async def hover_at(
    ls: GhostlineServer, uri: str, position: types.Position
) -> types.Hover | None:
    doc = _document(ls, uri)
    text = doc.source
    if not text or not ls.core.workable_text(text):
        return None
    offset, _ = cursor_offset(doc, position)
    path = Path(ls.document_path(uri))
    definitions = file_definitions(ls, doc)
    index = ls.core.index
    target = hover_target(text, offset, definitions, index, path)
    if target is None:
        return None
    file_text = _text_of(ls, target.definition.path, doc)
    if file_text is None:
        return None
    definition = with_comment(target.definition, file_text)
    info: HoverInfo = await service_for(ls).explain(
        definition, file_text, index, ls.core.settings.hover_time_limit_s,
        location=_location(ls, definition, path),
        generate=ls.core.settings.language_enabled(doc.language_id or ""),
    )
    return types.Hover(
        contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=info.markdown()),
        range=types.Range(start=_position(doc, target.start), end=_position(doc, target.end)),
    )


def _position(doc: TextDocument, offset: int) -> types.Position:
    text = doc.source
    line = text.count("\n", 0, offset)
    col = offset - (text.rfind("\n", 0, offset) + 1)
    return _client_position(doc, line, col)


def _client_position(doc: TextDocument, line: int, col: int) -> types.Position:
    lines = doc.lines
    if line >= len(lines):
        return types.Position(line=line, character=0)
    return doc.position_codec.position_to_client_units(lines, ServerTextPosition(line, col))


# --- insert docstring -----------------------------------------------------------------------


def list_actions(ls: GhostlineServer, params: types.CodeActionParams) -> list[types.CodeAction]:
    """An "Insert docstring" action on an undocumented definition's header (no model)."""
    doc = _document(ls, params.text_document.uri)
    definitions = file_definitions(ls, doc)
    _, position = cursor_offset(doc, params.range.start)
    definition = definition_at_header(definitions, position.line)
    if definition is None or not offers_insertion(definition, doc.source):
        return []
    noun = "docstring" if definition.language == "python" else "doc comment"
    return [types.CodeAction(
        title=f"Insert {noun} for `{definition.name}` (Ghostline)",
        kind=types.CodeActionKind.RefactorRewrite,
        data={"provider": PROVIDER, "uri": doc.uri, "qualified": definition.qualified_name,
              "line": definition.span.start_line},
    )]


async def resolve_action(ls: GhostlineServer, action: types.CodeAction) -> types.CodeAction:
    data = action.data if isinstance(action.data, dict) else {}
    uri = str(data.get("uri", ""))
    doc = _document(ls, uri)
    definitions = file_definitions(ls, doc)
    candidates = [d for d in definitions if d.qualified_name == data.get("qualified")]
    if not candidates:
        return action
    line = int(data.get("line", 0))
    definition = min(candidates, key=lambda d: abs(d.span.start_line - line))
    try:
        insertion = await plan_docstring(service_for(ls), definition, doc.source, definitions,
                                         ls.core.index)
    except NoDocstring:
        ls.show_message(
            f"Ghostline: no docstring for `{definition.name}`: the model gave no usable "
            "answer or is not available.", types.MessageType.Warning,
        )
        return action
    if insertion is None:
        return action
    edit = types.TextEdit(
        range=types.Range(
            start=_client_position(doc, insertion.line, insertion.col),
            end=_client_position(doc, insertion.end_line, insertion.end_col),
        ),
        new_text=insertion.text,
    )
    action.edit = types.WorkspaceEdit(document_changes=[types.TextDocumentEdit(
        text_document=types.OptionalVersionedTextDocumentIdentifier(uri=uri,
                                                                    version=doc.version),
        edits=[edit],
    )])
    return action
