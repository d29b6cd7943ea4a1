"""graphql-http's audit suite, the GraphQL-over-HTTP spec's checks, against the live gateway.

The suite (``serverAudits`` of graphql-http 1.23.1, from npm) lives in
tests/support/graphql_http_audit, which CI installs with ``npm ci``. It runs once, against a
real uvicorn server of the whole app; each audit is then one test here, named by its id and
quoting its rule. The suite sends plain requests, and the gateway answers nothing without a
token: the runner's ``fetchFn`` adds a citizen's bearer token to each, as every client does.
Without node or the installed modules these tests skip, or fail where services are required.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from gateway.app import create_app
from gateway.config import load_settings
from integrations.access.principal import Role
from tests.conftest import copy_migrated, service_missing
from tests.support.servers import live_server
from tests.support.tokens import token

SUITE = Path(__file__).parents[1] / "support" / "graphql_http_audit"

# Every audit of graphql-http 1.23.1's serverAudits, in its order, with its rule.
RULES = {
    "22EB": "SHOULD accept application/graphql-response+json and match the content-type",
    "4655": "MUST accept application/json and match the content-type",
    "47DE": "SHOULD accept */* and use application/json for the content-type",
    "80D8": "SHOULD assume application/json content-type when accept is missing",
    "82A3": "MUST use utf-8 encoding when responding",
    "BF61": "MUST accept utf-8 encoded request",
    "78D5": "MUST assume utf-8 in request if encoding is unspecified",
    "2C94": "MUST accept POST requests",
    "5A70": "MAY accept application/x-www-form-urlencoded formatted GET requests",
    "9C48": "MAY NOT allow executing mutations on GET requests",
    "9ABE": "SHOULD respond with 4xx status code if content-type is not supplied on POST requests",
    "03D4": "MUST accept application/json POST requests",
    "A5BF": "MAY use 400 status code when request body is missing on POST",
    "423L": "MAY use 400 status code on missing {query} parameter",
    "LKJ0": "MAY use 400 status code on object {query} parameter",
    "LKJ1": "MAY use 400 status code on number {query} parameter",
    "LKJ2": "MAY use 400 status code on boolean {query} parameter",
    "LKJ3": "MAY use 400 status code on array {query} parameter",
    "34A2": (
        "SHOULD allow string {query} parameter when accepting application/graphql-response+json"
    ),
    "13EE": "MUST allow string {query} parameter when accepting application/json",
    "6C00": "MAY use 400 status code on object {operationName} parameter",
    "6C01": "MAY use 400 status code on number {operationName} parameter",
    "6C02": "MAY use 400 status code on boolean {operationName} parameter",
    "6C03": "MAY use 400 status code on array {operationName} parameter",
    "8161": (
        "SHOULD allow string {operationName} parameter when accepting "
        "application/graphql-response+json"
    ),
    "B8B3": "MUST allow string {operationName} parameter when accepting application/json",
    "94B0": (
        "SHOULD allow null {variables} parameter when accepting application/graphql-response+json"
    ),
    "0220": "MUST allow null {variables} parameter when accepting application/json",
    "94B1": (
        "SHOULD allow null {operationName} parameter when accepting "
        "application/graphql-response+json"
    ),
    "0221": "MUST allow null {operationName} parameter when accepting application/json",
    "94B2": (
        "SHOULD allow null {extensions} parameter when accepting application/graphql-response+json"
    ),
    "0222": "MUST allow null {extensions} parameter when accepting application/json",
    "4760": "MAY use 400 status code on string {variables} parameter",
    "4761": "MAY use 400 status code on number {variables} parameter",
    "4762": "MAY use 400 status code on boolean {variables} parameter",
    "4763": "MAY use 400 status code on array {variables} parameter",
    "2EA1": (
        "SHOULD allow map {variables} parameter when accepting application/graphql-response+json"
    ),
    "28B9": "MUST allow map {variables} parameter when accepting application/json",
    "D6D5": (
        "MAY allow URL-encoded JSON string {variables} parameter in GETs when accepting "
        "application/graphql-response+json"
    ),
    "6A70": (
        "MAY allow URL-encoded JSON string {variables} parameter in GETs when accepting "
        "application/json"
    ),
    "58B0": "MAY use 400 status code on string {extensions} parameter",
    "58B1": "MAY use 400 status code on number {extensions} parameter",
    "58B2": "MAY use 400 status code on boolean {extensions} parameter",
    "58B3": "MAY use 400 status code on array {extensions} parameter",
    "428F": (
        "SHOULD allow map {extensions} parameter when accepting application/graphql-response+json"
    ),
    "1B7A": "MUST allow map {extensions} parameter when accepting application/json",
    "B6DC": (
        "MAY use 2xx, 4xx, or 5xx status codes on JSON parsing failure when accepting "
        "application/json"
    ),
    "BCF8": "SHOULD use 400 status code on JSON parsing failure when accepting application/json",
    "B7N8": (
        "SHOULD use 400 status code on JSON parsing failure when accepting "
        "application/graphql-response+json"
    ),
    "8764": "MAY use 4xx or 5xx status codes if parameters are invalid",
    "3E3A": "MAY use 400 status code if parameters are invalid",
    "572B": (
        "SHOULD use 200 status code on document parsing failure when accepting application/json"
    ),
    "FDE2": (
        "SHOULD use 200 status code on document validation failure when accepting application/json"
    ),
    "7B9B": (
        "SHOULD use a status code of 200 on variable coercion failure when accepting "
        "application/json"
    ),
    "865D": (
        "SHOULD use 4xx or 5xx status codes on document parsing failure when accepting "
        "application/graphql-response+json"
    ),
    "556A": (
        "SHOULD use 400 status code on document parsing failure when accepting "
        "application/graphql-response+json"
    ),
    "D586": (
        "SHOULD not contain the data entry on document parsing failure when accepting "
        "application/graphql-response+json"
    ),
    "51FE": (
        "SHOULD use 4xx or 5xx status codes on document validation failure when accepting"
        " application/graphql-response+json"
    ),
    "74FF": (
        "SHOULD use 400 status code on document validation failure when accepting "
        "application/graphql-response+json"
    ),
    "5E5B": (
        "SHOULD not contain the data entry on document validation failure when accepting "
        "application/graphql-response+json"
    ),
    "86EE": (
        "SHOULD use a status code of 400 on variable coercion failure when accepting "
        "application/graphql-response+json"
    ),
}


@pytest.fixture(scope="module")
async def results(
    tmp_path_factory: pytest.TempPathFactory, migrated_sqlite: Path
) -> dict[str, dict[str, Any]]:
    """Each audit's result by id, from one run of the suite against a live server."""
    node = shutil.which("node")
    if node is None:
        service_missing("node", "it is not on PATH")
    if not (SUITE / "node_modules" / "graphql-http").is_dir():
        service_missing("graphql-http", f"its modules are not installed: run npm ci in {SUITE}")
    data = copy_migrated(migrated_sqlite, tmp_path_factory.mktemp("audit"))
    database_url = f"sqlite://{data / 'gateway.sqlite3'}"
    settings = load_settings(environ={}, data_dir=str(data), database_url=database_url)
    bearer = token(settings, Role.CITIZEN, "001099012345")
    async with live_server(create_app(settings)) as base:
        process = await asyncio.create_subprocess_exec(
            str(node),
            str(SUITE / "audit.mjs"),
            f"{base}/graphql",
            env={**os.environ, "GATEWAY_TOKEN": bearer},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        # A guard against a hang, not a timing assertion.
        out, err = await asyncio.wait_for(process.communicate(), 120)
    lines = [json.loads(line) for line in out.decode().splitlines()]
    assert lines, err.decode()
    return {line["id"]: line for line in lines}


def test_the_rules_are_the_suites(results: dict[str, dict[str, Any]]) -> None:
    """The table above quotes every audit the installed suite runs, word for word."""
    assert {audit_id: result["name"] for audit_id, result in results.items()} == RULES


@pytest.mark.parametrize(
    ("audit_id", "rule"), [pytest.param(*row, id=row[0]) for row in RULES.items()]
)
def test_audit(results: dict[str, dict[str, Any]], audit_id: str, rule: str) -> None:
    result = results[audit_id]
    assert result["status"] == "ok", f"{rule}: {result['reason']}; got {result['got']}"
