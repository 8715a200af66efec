"""pygls's protocol, made to answer every request.

A request whose parameters do not match the protocol's types fails while it is decoded,
before any handler runs, and plain pygls only logs it: the editor then waits forever. Here
such a request is answered with the JSON-RPC error -32602 (invalid params) instead.
"""

from __future__ import annotations

import logging
from typing import Any

from pygls.exceptions import JsonRpcException
from pygls.protocol import LanguageServerProtocol

log = logging.getLogger(__name__)


class _AlreadyAnswered:
    """Stands in for a request that was answered with an error while it was decoded."""


ALREADY_ANSWERED = _AlreadyAnswered()


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
        super().handle_message(message)
