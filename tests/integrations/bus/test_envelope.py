"""A message is read back as sent; anything else is dropped, never half-trusted."""

from __future__ import annotations

import json

import pytest

from integrations.bus import Envelope
from integrations.bus.envelope import MAX_BYTES


def test_an_envelope_reads_back_as_sent() -> None:
    envelope = Envelope("a1", "merchant.changed", {"taxCode": "0100109106"})
    assert Envelope.decode(envelope.encode()) == envelope


def _body(**changes: object) -> bytes:
    body = {"v": 1, "origin": "a1", "topic": "t", "data": {"k": "v"}, **changes}
    return json.dumps(body).encode()


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"not json", id="not-json"),
        pytest.param(b"[1, 2]", id="not-an-object"),
        pytest.param(_body(v=2), id="other-version"),
        pytest.param(_body(origin=7), id="origin-not-text"),
        pytest.param(_body(topic=None), id="no-topic"),
        pytest.param(_body(data=["k"]), id="data-not-an-object"),
        pytest.param(_body(data={"k": 1}), id="value-not-text"),
        pytest.param(_body(data={"k": "v" * MAX_BYTES}), id="too-long"),
    ],
)
def test_anything_but_an_envelope_is_dropped(raw: bytes) -> None:
    assert Envelope.decode(raw) is None
