"""The admin routes over the merchant registry, with real demo tokens verified by the app."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from gateway.app import create_app
from gateway.config import Settings, load_settings
from gateway.demo_tokens import ensure_demo_keys
from gateway.http import admin
from gateway.keys import DemoPki
from integrations.access.principal import Role
from integrations.einvoice.pki import CertificateAuthority
from tests.conftest import copy_migrated
from tests.support.servers import in_process_client
from tests.support.tokens import token

RESTAURANT = "0100109106"
PROVIDER = "0309612872"
BASE = "/v1/admin/merchants"


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


@pytest.fixture(scope="module")
def template(
    tmp_path_factory: pytest.TempPathFactory, migrated_sqlite: Path, demo_pki: DemoPki
) -> Path:
    """A migrated SQLite database, demo PKI and demo token keys, made once and copied per test."""
    folder = copy_migrated(migrated_sqlite, tmp_path_factory.mktemp("admin"))
    shutil.copytree(demo_pki.folder, folder / "pki")
    ensure_demo_keys(folder)
    return folder


@pytest.fixture
def settings(tmp_path: Path, template: Path) -> Settings:
    data_dir = shutil.copytree(template, tmp_path / "data")
    return load_settings(environ={}, data_dir=str(data_dir))


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with in_process_client(create_app(settings)) as http:
        http.headers.update(bearer(token(settings, Role.ADMIN, "operator-1")))
        yield http


def certificate_pem(tax_code: str) -> bytes:
    now = datetime.now(UTC)
    ca = CertificateAuthority.create("Admin test CA", valid_from=now, valid_days=30)
    identity = ca.issue(
        "Nhà hàng Sen Hồ Tây", tax_code=tax_code, valid_from=now, valid_to=now + timedelta(days=9)
    )
    return identity.certificate.public_bytes(Encoding.PEM)


async def add_restaurant(client: httpx.AsyncClient) -> httpx.Response:
    body = {"taxCode": RESTAURANT, "name": "Nhà hàng Sen Hồ Tây", "address": "Hà Nội"}
    return await client.post(BASE, json=body)


def error_of(response: httpx.Response) -> dict[str, str]:
    (error,) = response.json()["errors"]
    return error


async def test_register_and_read_a_merchant(client: httpx.AsyncClient) -> None:
    created = await add_restaurant(client)
    assert created.status_code == 201, created.text
    assert created.headers["location"] == f"{BASE}/{RESTAURANT}"
    assert created.json()["status"] == "active"
    shown = await client.get(f"{BASE}/{RESTAURANT}")
    assert shown.json() == created.json()
    listed = await client.get(BASE)
    assert [m["taxCode"] for m in listed.json()["merchants"]] == [RESTAURANT]


async def test_status_certificate_and_provider(client: httpx.AsyncClient) -> None:
    await add_restaurant(client)
    status = await client.put(f"{BASE}/{RESTAURANT}/status", json={"status": "suspended"})
    assert status.json()["status"] == "suspended"
    pem = certificate_pem(RESTAURANT)
    cert = await client.post(
        f"{BASE}/{RESTAURANT}/certificates",
        content=pem,
        headers={"Content-Type": "application/x-pem-file"},
    )
    assert cert.status_code == 201, cert.text
    assert cert.json()["subject"].startswith(f"C=VN,UID=MST:{RESTAURANT}")
    granted = await client.put(
        f"{BASE}/{RESTAURANT}/providers/{PROVIDER}", json={"canSign": True, "canSubmit": False}
    )
    assert granted.json()["providers"] == [
        {"taxCode": PROVIDER, "canSign": True, "canSubmit": False}
    ]
    shown = (await client.get(f"{BASE}/{RESTAURANT}")).json()
    assert shown["certificates"][0]["fingerprint"] == cert.json()["fingerprint"]


async def test_pin_a_merchant_to_its_registered_certificates(client: httpx.AsyncClient) -> None:
    assert (await add_restaurant(client)).json()["certificatesOnly"] is False
    pinned = await client.put(f"{BASE}/{RESTAURANT}/pinning", json={"certificatesOnly": True})
    assert pinned.status_code == 200, pinned.text
    assert pinned.json()["certificatesOnly"] is True
    assert (await client.get(f"{BASE}/{RESTAURANT}")).json()["certificatesOnly"] is True
    unpinned = await client.put(f"{BASE}/{RESTAURANT}/pinning", json={"certificatesOnly": False})
    assert unpinned.json()["certificatesOnly"] is False


async def test_a_token_is_required(client: httpx.AsyncClient) -> None:
    del client.headers["Authorization"]
    response = await client.get(BASE)
    assert response.status_code == 401
    assert error_of(response)["code"] == "AUTH_REQUIRED"
    forged = await client.get(BASE, headers=bearer("not.a.token"))
    assert forged.status_code == 401


@pytest.mark.parametrize(
    ("role", "subject", "claims"),
    [
        pytest.param(Role.MERCHANT, "m-1", {"tax_code": RESTAURANT}, id="merchant"),
        pytest.param(Role.CITIZEN, "079301000123", {}, id="citizen"),
        pytest.param(Role.OFFICER, "off-1", {}, id="officer"),
    ],
)
async def test_only_admins_may_manage_merchants(
    client: httpx.AsyncClient, settings: Settings, role: Role, subject: str, claims: dict
) -> None:
    headers = bearer(token(settings, role, subject, **claims))
    for response in (
        await client.get(BASE, headers=headers),
        await client.post(BASE, json={"taxCode": RESTAURANT, "name": "x"}, headers=headers),
    ):
        assert response.status_code == 403
        assert error_of(response)["code"] == "FORBIDDEN"
    assert (await client.get(BASE)).json() == {"merchants": []}


@pytest.mark.parametrize(
    ("body", "status", "code", "path"),
    [
        pytest.param(b"{", 400, "BAD_JSON", "", id="not-json"),
        pytest.param(b"[]", 400, "BAD_JSON", "", id="not-an-object"),
        pytest.param(b'{"name": "x"}', 422, "INVALID_FIELD", "taxCode", id="no-tax-code"),
        pytest.param(b'{"taxCode": 100109106, "name": "x"}', 422, "INVALID_FIELD", "taxCode", id="number"),  # noqa: E501
        pytest.param(b'{"taxCode": "0100109107", "name": "x"}', 422, "REGISTRY_INVALID", "", id="check-digit"),  # noqa: E501
        pytest.param(b'{"taxCode": "0100109106", "name": " "}', 422, "REGISTRY_INVALID", "", id="empty-name"),  # noqa: E501
        pytest.param(b'{"taxCode": "0100109106", "name": "x", "kind": "' + b"k" * 33 + b'"}', 422, "INVALID_FIELD", "kind", id="long-kind"),  # noqa: E501
    ],
)  # fmt: skip
async def test_bad_merchant_bodies(
    client: httpx.AsyncClient, body: bytes, status: int, code: str, path: str
) -> None:
    response = await client.post(BASE, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == status
    error = error_of(response)
    assert (error["code"], error["path"]) == (code, path)
    assert error["message"]


async def test_registering_twice_conflicts(client: httpx.AsyncClient) -> None:
    await add_restaurant(client)
    again = await add_restaurant(client)
    assert again.status_code == 409
    assert error_of(again)["code"] == "MERCHANT_EXISTS"


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        pytest.param("GET", f"{BASE}/0319303270", {}, id="get"),
        pytest.param("PUT", f"{BASE}/0319303270/status", {"json": {"status": "closed"}}, id="status"),  # noqa: E501
        pytest.param("PUT", f"{BASE}/0319303270/pinning", {"json": {"certificatesOnly": True}}, id="pinning"),  # noqa: E501
        pytest.param("POST", f"{BASE}/0319303270/certificates", {"content": b"x"}, id="certificate"),  # noqa: E501
        pytest.param("PUT", f"{BASE}/0319303270/providers/{PROVIDER}", {"json": {}}, id="provider"),
    ],
)  # fmt: skip
async def test_unknown_merchant_is_404(
    client: httpx.AsyncClient, method: str, path: str, kwargs: dict
) -> None:
    response = await client.request(method, path, **kwargs)
    assert response.status_code == 404
    error = error_of(response)
    assert error["code"] == "MERCHANT_NOT_FOUND"
    assert "gateway merchants add" in error["hint"]


@pytest.mark.parametrize(
    ("path", "kwargs", "code", "field"),
    [
        pytest.param("status", {"json": {"status": "gone"}}, "INVALID_FIELD", "status", id="status"),  # noqa: E501
        pytest.param("status", {"json": {}}, "INVALID_FIELD", "status", id="no-status"),
        pytest.param("pinning", {"json": {}}, "INVALID_FIELD", "certificatesOnly", id="no-pinning"),
        pytest.param("pinning", {"json": {"certificatesOnly": "on"}}, "INVALID_FIELD", "certificatesOnly", id="pinning-text"),  # noqa: E501
        pytest.param(f"providers/{PROVIDER}", {"json": {"canSign": "yes"}}, "INVALID_FIELD", "canSign", id="flag"),  # noqa: E501
        pytest.param("providers/12", {"json": {}}, "REGISTRY_INVALID", "", id="provider-code"),
        pytest.param("certificates", {"content": b"not a certificate"}, "REGISTRY_INVALID", "", id="pem"),  # noqa: E501
    ],
)  # fmt: skip
async def test_bad_updates_are_422(
    client: httpx.AsyncClient, path: str, kwargs: dict, code: str, field: str
) -> None:
    await add_restaurant(client)
    method = "POST" if path == "certificates" else "PUT"
    response = await client.request(method, f"{BASE}/{RESTAURANT}/{path}", **kwargs)
    assert response.status_code == 422, response.text
    assert (error_of(response)["code"], error_of(response)["path"]) == (code, field)


async def test_oversized_body_is_413(client: httpx.AsyncClient) -> None:
    await add_restaurant(client)
    response = await client.post(
        f"{BASE}/{RESTAURANT}/certificates", content=b"-" * (admin.MAX_BODY + 1)
    )
    assert response.status_code == 413
    assert error_of(response)["code"] == "PAYLOAD_TOO_LARGE"


def test_every_route_is_exported() -> None:
    assert {(r.path, *sorted(r.methods or ())) for r in admin.routes} == {
        (BASE, "GET", "HEAD"),
        (BASE, "POST"),
        (f"{BASE}/{{tax_code}}", "GET", "HEAD"),
        (f"{BASE}/{{tax_code}}/status", "PUT"),
        (f"{BASE}/{{tax_code}}/pinning", "PUT"),
        (f"{BASE}/{{tax_code}}/certificates", "POST"),
        (f"{BASE}/{{tax_code}}/providers/{{provider}}", "PUT"),
    }
