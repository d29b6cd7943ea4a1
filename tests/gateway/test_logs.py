"""The log: one line per record in JSON or text, with the record's fields, and tracebacks only
for faults, never for the answers a client was meant to get."""

from __future__ import annotations

import logging

import orjson
import pytest
from graphql import GraphQLError

from gateway.logs import JsonFormatter, TextFormatter, request_id
from integrations.access import AccessDenied
from integrations.errors import UpstreamTimeout
from resolvers.schema import build_schema

ACCESS_LINE = {"method": "GET", "path": "/healthz", "status": 200, "duration_ms": 1.5}


def record(**extra: object) -> logging.LogRecord:
    made = logging.makeLogRecord({"name": "gateway.http", "msg": "request", "levelno": 20})
    made.__dict__.update(extra)
    return made


def test_a_json_line_carries_the_fields_and_the_request_id_but_no_colour_codes() -> None:
    token = request_id.set("rid-1")
    try:
        line = JsonFormatter().format(record(**ACCESS_LINE, color_message="\x1b[32mrequest\x1b[0m"))
    finally:
        request_id.reset(token)
    entry = orjson.loads(line)
    assert {k: entry[k] for k in ACCESS_LINE} == ACCESS_LINE
    assert entry["request_id"] == "rid-1"
    assert "color_message" not in entry
    assert "\x1b" not in line


def test_a_text_line_carries_the_same_fields() -> None:
    token = request_id.set("rid-2")
    try:
        line = TextFormatter().format(record(**ACCESS_LINE))
    finally:
        request_id.reset(token)
    assert line.endswith(
        " request method=GET path=/healthz status=200 duration_ms=1.5 request_id=rid-2"
    )


@pytest.mark.parametrize(
    ("raised", "logged"),
    [
        pytest.param(AccessDenied("a citizen may read only their own data"), False, id="refusal"),
        pytest.param(UpstreamTimeout("tax", "no answer"), False, id="agency-failure"),
        pytest.param(None, False, id="validation"),
        pytest.param(RuntimeError("bug"), True, id="fault"),
    ],
)
def test_only_faults_are_logged_with_their_traceback(
    caplog: pytest.LogCaptureFixture, raised: Exception | None, logged: bool
) -> None:
    error = GraphQLError("failed", original_error=raised)
    with caplog.at_level(logging.ERROR, logger="strawberry.execution"):
        build_schema().process_errors([error])
    assert bool(caplog.records) is logged
