"""`textDocument/hover` and the "Insert docstring" code action.

Thin handlers: find the document and the cursor, ask ``features.docstring_actions`` and
``features.docstrings`` what to say or insert, build the LSP reply. A hover never fails:
anything unexpected is logged and answered with nothing. ``ghostline.hoverStatus`` reports
the hover's model calls and cache hits (tests count them).
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.workspace import TextDocument
from pygls.workspace.position_codec import ServerTextPosition

from ghostline.engine import model_catalog
from ghostline.engine.base import ModelInfo
from ghostline.engine.router import LOCAL
from ghostline.features.docstring_actions import (
    NoDocstring,
    definition_at_header,
    hover_target,
    offers_insertion,
    plan_docstring,
    with_comment,
)
from ghostline.features.docstring_cache import SummaryCache, default_path
from ghostline.features.docstrings import DocstringService, HoverInfo
from ghostline.index.languages import spec_for_language_id, spec_for_path
from ghostline.index.model import Definition
from ghostline.index.parser import extract
from ghostline.lsp import escalation, usage
from ghostline.lsp.code_actions import ActionProvider, add_provider
from ghostline.lsp.positions import cursor_offset
from ghostline.lsp.server import GhostlineServer
from ghostline.prompts.instruct import is_instruction_model

log = logging.getLogger(__name__)

PROVIDER = "docstring"

_SERVICES: weakref.WeakKeyDictionary[GhostlineServer, DocstringService] = (
    weakref.WeakKeyDictionary()
)
_LOCAL_FACTS: dict[str, tuple[int, list[Definition]]] = {}


def service_for(ls: GhostlineServer) -> DocstringService:
    """The server's docstring service (created on first use)."""
    service = _SERVICES.get(ls)
    if service is None:
        service = DocstringService(
            engine=lambda: ls.engine_for("hover"),
            ensure_model=lambda: _ensure_model(ls),
            model_id=lambda: _model_id(ls),
            model_name=lambda: _model_name(ls),
            use_chat=lambda: _use_chat(ls),
            cache=SummaryCache(default_path()),
            gather_context=lambda definition, text, lookup, with_docs: ls.context.for_definition(
                definition, text, lookup, ls.settings.hover_context_tokens, with_docs),
            escalate=lambda definition, ask: escalation.hover_summary(ls, definition, ask),
        )
        _SERVICES[ls] = service
    return service


def _model_id(ls: GhostlineServer) -> str:
    """Which model writes the summaries, known before it is loaded (the cache key needs it
    at once): the backend and its model (empty: the packaged default)."""
    name = ls.router.backend_name("hover")
    spec = ls.router.spec_of(name) if name != LOCAL else None
    model = spec.model if spec is not None else ls.settings.model
    return f"{name}:{model or 'default'}"


def _runs_here(ls: GhostlineServer) -> bool:
    """Whether hover's model runs on this machine (the local engine or a second one)."""
    name = ls.router.backend_name("hover")
    spec = ls.router.spec_of(name) if name != LOCAL else None
    return spec is None or spec.is_local


async def _ensure_model(ls: GhostlineServer) -> bool:
    """Load hover's model when it runs here; a remote route loads nothing here (its stream
    fails over to the local model by itself where the settings say so)."""
    await ls.choose_models()
    if _runs_here(ls):
        return await ls.model_for("hover") is not None
    return True


def _hover_info(ls: GhostlineServer) -> ModelInfo | None:
    if ls.router.backend_name("hover") == LOCAL:
        return ls.model_info
    return ls.router.known_info("hover")


def _use_chat(ls: GhostlineServer) -> bool:
    """Chat prompts for instruction models (a chat template and a name that says so: some
    base GGUFs carry a template too) and OpenAI-compatible servers; else completion."""
    if not _runs_here(ls):
        spec = ls.router.spec_of(ls.router.backend_name("hover"))
        return spec is not None and spec.kind == "openai"
    return is_instruction_model(_hover_info(ls))


def _model_name(ls: GhostlineServer) -> str:
    """The name of hover's model; for a summary from the cache, before that model was
    started, the packaged model's catalogue name where the route names one."""
    info = _hover_info(ls)
    if info is not None:
        return info.name
    spec = ls.router.spec_of(ls.router.backend_name("hover"))
    packaged = model_catalog.lookup(spec.model) if spec is not None else None
    return packaged.name if packaged is not None else ""


def hover_status(ls: GhostlineServer) -> dict[str, object]:
    """Hover counters: `ghostline.status` carries them as `"hover"`."""
    return service_for(ls).status()


def register(server: GhostlineServer) -> None:
    service_for(server)

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
    if not ls.workable_text(doc.source):
        return []
    path = Path(ls.document_path(doc.uri))
    index = ls.index
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
    if len(_LOCAL_FACTS) > 32:
        _LOCAL_FACTS.pop(next(iter(_LOCAL_FACTS)))
    return definitions


def _text_of(ls: GhostlineServer, path: Path, doc: TextDocument) -> str | None:
    if Path(ls.document_path(doc.uri)) == path:
        return doc.source
    return ls.index.file_text(path) if ls.index is not None else None


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
    if not text or not ls.workable_text(text):
        return None
    offset, _ = cursor_offset(doc, position)
    path = Path(ls.document_path(uri))
    definitions = file_definitions(ls, doc)
    index = ls.index
    target = hover_target(text, offset, definitions, index, path)
    if target is None:
        return None
    file_text = _text_of(ls, target.definition.path, doc)
    if file_text is None:
        return None
    definition = with_comment(target.definition, file_text)
    info: HoverInfo = await service_for(ls).explain(
        definition, file_text, index, ls.settings.hover_time_limit_s,
        location=_location(ls, definition, path),
        generate=ls.settings.language_enabled(doc.language_id or ""),
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
                                         ls.index)
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
