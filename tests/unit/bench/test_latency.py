"""`bench latency`'s reading of the server's figures (no model)."""

from __future__ import annotations

import pytest

from ghostline.bench.latency import _first_token_latency


def test_the_first_token_came_when_the_request_took_less_than_the_decoding_after_it() -> None:
    status = {"lastCompletion": {"first_token_s": 0.9, "backendS": 1.3}}
    assert _first_token_latency(1.5, status) == pytest.approx(1.1)


def test_no_first_token_time_without_a_model_request() -> None:
    assert _first_token_latency(0.004, {"lastCompletion": {"source": "cache"}}) is None
    assert _first_token_latency(0.004, {}) is None
