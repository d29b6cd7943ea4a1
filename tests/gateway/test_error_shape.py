"""Every route refuses in one shape: ``{"errors": [{code, message, path, hint}], "requestId"}``,
with the status the one table gives, whichever route and whatever the reason."""

from __future__ import annotations

import uuid

import httpx
import pytest

from gateway.config import Settings
from integrations.access.principal import Role
from tests.support.tokens import token

CITIZEN = "001099012345"
INVOICE = f"/v1/invoices/{uuid.uuid4()}"


def bearer(settings: Settings, role: Role, subject: str, **claims: object) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(settings, role, subject, **claims)}"}


CASES = [
    pytest.param("POST", "/v1/invoices", None, 401, "AUTH_REQUIRED", id="intake-anonymous"),
    pytest.param("POST", "/v1/invoices", "citizen", 403, "FORBIDDEN", id="intake-citizen"),
    pytest.param("POST", "/v1/messages", "junk", 401, "AUTH_INVALID_TOKEN", id="messages-junk"),
    pytest.param("GET", INVOICE, None, 401, "AUTH_REQUIRED", id="invoice-anonymous"),
    pytest.param("GET", INVOICE, "citizen", 404, "NOT_FOUND", id="invoice-unknown"),
    pytest.param("GET", "/v1/invoices/x/xml", "citizen", 404, "NOT_FOUND", id="invoice-bad-id"),
    pytest.param("GET", "/v1/admin/merchants", "citizen", 403, "FORBIDDEN", id="admin-citizen"),
    pytest.param("GET", "/v1/admin/merchants/1", "admin", 422, "REGISTRY_INVALID", id="admin"),
    pytest.param("GET", "/v1/officer/invoices.csv?x=1", "citizen", 400, "BAD_REQUEST", id="csv"),
    pytest.param("GET", "/nowhere", None, 404, "NOT_FOUND", id="no-route"),
    pytest.param("DELETE", "/v1/invoices", None, 405, "METHOD_NOT_ALLOWED", id="method"),
]


@pytest.mark.parametrize(("method", "path", "who", "status", "code"), CASES)
async def test_every_refusal_has_one_shape(
    client: httpx.AsyncClient,
    settings: Settings,
    method: str,
    path: str,
    who: str | None,
    status: int,
    code: str,
) -> None:
    headers = {
        None: {},
        "junk": {"Authorization": "Bearer junk"},
        "citizen": bearer(settings, Role.CITIZEN, CITIZEN, assurance_level=2),
        "admin": bearer(settings, Role.ADMIN, "ops-1"),
    }[who]
    response = await client.request(method, path, headers=headers)

    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"errors", "requestId"}
    assert body["requestId"] == response.headers["x-request-id"]
    (error,) = body["errors"]
    assert set(error) == {"code", "message", "path", "hint"}
    assert error["code"] == code
    assert error["message"]
