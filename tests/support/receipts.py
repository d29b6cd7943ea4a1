"""A gateway run with a chosen receipt-signing key, retired ones published beside it.

``accept_one`` starts the app on the test database, submits one invoice as the restaurant and
returns the receipt as the gateway serves it again, with the key set it publishes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from gateway.app import create_app
from gateway.config import Settings
from gateway.demo_tokens import ensure_demo_keys, mint_token
from integrations.access.principal import Role
from integrations.einvoice.pki import SignerIdentity
from integrations.store.database import open_database
from integrations.store.merchants import MerchantRegistry
from tests.support.invoices import RESTAURANT, Keys, draft, signed
from tests.support.servers import in_process_client


@dataclass(frozen=True)
class GatewayKey:
    """A receipt-signing identity and the PEM files the settings name."""

    identity: SignerIdentity
    key_file: Path
    cert_file: Path


def gateway_key(keys: Keys, folder: Path, name: str) -> GatewayKey:
    """A gateway identity from the test CA, as a rotation would install, in ``folder``.

    One identity per CA and name for the whole run: making an RSA key took longer than the
    tests that use it, and no test changes one."""
    held = _identities.get((id(keys.ca), name))
    if held is None:
        now = datetime.now(UTC)
        held = _identities[id(keys.ca), name] = keys.ca.issue(
            f"Cổng dữ liệu hóa đơn ({name})",
            tax_code=None,
            valid_from=now - timedelta(days=1),
            valid_to=now + timedelta(days=365),
        )
    return GatewayKey(held, *held.to_pem_files(folder, name))


_identities: dict[tuple[int, str], SignerIdentity] = {}


def signing_with(
    settings: Settings, keys: Keys, current: GatewayKey, *retired: GatewayKey
) -> Settings:
    return settings.with_values(
        trust_anchors=(keys.anchor_file,),
        crl_files=(keys.crl_file,),
        signing_key=current.key_file,
        signing_cert=current.cert_file,
        signing_retired_certs=tuple(key.cert_file for key in retired),
    )


@dataclass(frozen=True)
class Published:
    receipt: dict[str, Any]
    """The receipt as ``GET /v1/invoices/{id}/receipt`` serves it after the acceptance."""
    jwks: dict[str, Any]
    jwks_headers: dict[str, str]


async def accept_one(settings: Settings, keys: Keys, number: int) -> Published:
    async with open_database(settings.resolved_database_url):
        await MerchantRegistry().ensure(RESTAURANT, "Nhà hàng Sen Hồ Tây", kind="restaurant")
    token = mint_token(
        ensure_demo_keys(settings.data_dir),
        Role.MERCHANT,
        RESTAURANT,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        tax_code=RESTAURANT,
    )
    merchant = {"Authorization": f"Bearer {token}"}
    async with in_process_client(create_app(settings)) as http:
        accepted = await http.post(
            "/v1/invoices",
            content=signed(draft(number), keys.restaurant),
            headers={**merchant, "Content-Type": "application/xml"},
        )
        assert accepted.status_code == 201, accepted.text
        served = await http.get(f"{accepted.headers['location']}/receipt", headers=merchant)
        assert served.json() == accepted.json()
        jwks = await http.get("/.well-known/jwks.json")
        assert jwks.status_code == 200, jwks.text
    return Published(served.json(), jwks.json(), dict(jwks.headers))
