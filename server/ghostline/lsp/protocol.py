"""pygls's protocol, made to answer every request and to survive a confused client.

A request whose parameters do not match the protocol's types fails while it is decoded,
before any handler runs, and plain pygls only logs it: the editor then waits forever. Here
such a request is answered with the JSON-RPC error -32602 (invalid params) instead, and a
request that is not JSON-RPC 2.0 (no ``"jsonrpc": "2.0"``) with -32600 (invalid request).

Document text is kept equal to the editor's: a ``didChange`` for a document that was never
opened is ignored with a warning (pygls raised a KeyError that popped up as "Error in
server"); changes are applied with LSP line breaks only (pygls split lines with
``str.splitlines``, so an edit below a form feed or U+2028 landed a line off); a range whose
end comes before its start is put in order (as VS Code's ``Range`` does; pygls dropped or
duplicated text); a lone surrogate (JSON allows ``"\\udcff"``) becomes U+FFFD, since it
cannot be encoded for the parser or the model.

``ResyncingStream`` keeps the framing loop in step after a broken header: see its docstring.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Generator
from typing import Any, BinaryIO
from urllib.parse import unquote

from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInvalidRequest
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.language_server import lsp_method
from pygls.workspace import TextDocument

from ghostline.lsp.positions import lsp_lines, offsets_at

log = logging.getLogger(__name__)


class _AlreadyAnswered:
    """Stands in for a request that was answered with an error while it was decoded."""


ALREADY_ANSWERED = _AlreadyAnswered()
JSONRPC_VERSION = "2.0"


class GhostlineProtocol(LanguageServerProtocol):
    def structure_message(self, data: dict[str, Any]) -> Any:
        try:
            return super().structure_message(data)
        except JsonRpcException as exc:
            msg_id = data.get("id")
            if "method" not in data or not isinstance(msg_id, (int, str)):
                raise  # a notification or a response: nobody waits for an answer
            log.warning("invalid parameters for %s: %s", data.get("method"), exc)
            self._send_response(msg_id, None, exc.to_response_error())
            return ALREADY_ANSWERED

    def handle_message(self, message: Any) -> None:
        if message is ALREADY_ANSWERED:
            return
        if _not_jsonrpc_request(message):
            msg_id = _field(message, "id")
            log.warning("not a JSON-RPC 2.0 request (id %r): answered -32600", msg_id)
            error = JsonRpcInvalidRequest(
                message='Invalid Request: expected "jsonrpc": "2.0" and a method name'
            )
            self._send_response(msg_id, None, error.to_response_error())
            return
        super().handle_message(message)

    def _execute_handler(self, msg_id: Any, handler: Any, callback: Any,
                         args: Any = None, kwargs: Any = None) -> None:
        """pygls 2.1 files the future of every handler under its message id and forgets it
        when the response goes out; a notification (didChange, didOpen, …) gets a random id
        and no response, so its future stayed for good: about 1 KiB per keystroke, found
        by `bench load`'s typing storm. Forget a notification's future once it is done."""
        super()._execute_handler(msg_id, handler, callback, args, kwargs)
        if callback == self._check_handler_result:  # how pygls runs notifications
            future = self._request_futures.get(msg_id)
            if future is not None:
                future.add_done_callback(lambda _: self._request_futures.pop(msg_id, None))

    @lsp_method(types.TEXT_DOCUMENT_DID_OPEN)
    def lsp_text_document__did_open(
        self, params: types.DidOpenTextDocumentParams
    ) -> Generator[Any, Any, None]:
        params.text_document.text = encodable(params.text_document.text)
        self.workspace.put_text_document(params.text_document)
        user_handler = self.fm.features.get(types.TEXT_DOCUMENT_DID_OPEN)
        if user_handler is not None:
            yield user_handler, (params,), None

    @lsp_method(types.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(
        self, params: types.DidChangeTextDocumentParams
    ) -> Generator[Any, Any, None]:
        """Apply the changes to an open document; ignore changes to unknown documents."""
        uri = params.text_document.uri
        if unquote(uri) not in self.workspace.text_documents:
            log.warning("didChange for %s, which is not open: ignored", uri)
            return
        doc = self.workspace.get_text_document(uri)
        for change in params.content_changes:
            apply_change(doc, change)
        doc.version = params.text_document.version
        user_handler = self.fm.features.get(types.TEXT_DOCUMENT_DID_CHANGE)
        if user_handler is not None:
            yield user_handler, (params,), None


_SURROGATE = re.compile("[\ud800-\udfff]")


def encodable(text: str) -> str:
    """`text` with lone surrogates (never valid in UTF-8) replaced by U+FFFD."""
    return _SURROGATE.sub("\ufffd", text)


def apply_change(doc: TextDocument, change: types.TextDocumentContentChangeEvent) -> None:
    """Apply one content change the LSP way (see the module docstring)."""
    text = encodable(change.text)
    if isinstance(change, types.TextDocumentContentChangePartial):
        source = doc.source
        start, end = sorted(offsets_at(lsp_lines(source), doc.position_codec,
                                       [change.range.start, change.range.end]))
        text = source[:start] + text + source[end:]
    doc.apply_change(types.TextDocumentContentChangeWholeDocument(text=text))


def _field(message: Any, name: str) -> Any:
    if isinstance(message, dict):
        return message.get(name)
    return getattr(message, name, None)


def _not_jsonrpc_request(message: Any) -> bool:
    """A request (an id a client can match, and a method) that is not JSON-RPC 2.0: pygls
    drops it without an answer. Responses and notifications are left to pygls."""
    msg_id = _field(message, "id")
    if not isinstance(msg_id, (int, str)) or isinstance(msg_id, bool):
        return False
    if isinstance(message, dict):  # left undecoded: no "jsonrpc" member
        return "method" in message or ("result" not in message and "error" not in message)
    return _field(message, "jsonrpc") != JSONRPC_VERSION and _field(message, "method") is not None


_HEADER = re.compile(rb"Content-Length: \d+\r\n$")


class ResyncingStream:
    """A binary input stream whose ``readline`` starts a new line at a ``Content-Length``
    header that follows other bytes on the same line.

    pygls's framing loop reads header lines and accepts only a line that is exactly
    ``Content-Length: N\\r\\n``. After a frame with a broken header (or a body shorter than
    its header said), the rest of the broken frame has no line end, so it and the next
    frame's header arrive as one line, the header is not seen, and the same happens to
    every frame after it: the server stays alive but never answers again. Splitting such a
    line before the header lets the loop find the next frame. ``read`` passes through.
    """

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._pending = b""
        self._lock = threading.Lock()

    def readline(self) -> bytes:
        with self._lock:
            line = self._pending or self._stream.readline()
            self._pending = b""
            match = _HEADER.search(line)
            if match is not None and match.start() > 0:
                self._pending = line[match.start():]
                return line[: match.start()] + b"\n"
            return line

    def read(self, size: int = -1) -> bytes:
        with self._lock:
            if not self._pending:
                return self._stream.read(size)
            data, self._pending = self._pending, b""
            if size < 0:
                return data + self._stream.read()
            if len(data) > size:
                data, self._pending = data[:size], data[size:]
                return data
            return data + (self._stream.read(size - len(data)) if size > len(data) else b"")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)
