"""``gateway invoice verify-receipt``: receipts of the running intake, checked against the key set
the gateway publishes, across a rotation of its key."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import jwt
import pytest
from click.testing import CliRunner, Result
from jwt.algorithms import RSAAlgorithm

from gateway.app import create_app
from gateway.cli import SettingsContext
from gateway.commands.invoices import commands
from gateway.config import Settings
from integrations.einvoice.pki import fingerprint
from tests.support.invoices import Keys
from tests.support.receipts import GatewayKey, Published, accept_one, gateway_key, signing_with
from tests.support.servers import live_server

pytestmark = pytest.mark.usefixtures("clean_environ")


def verify(folder: Path, receipt: dict[str, Any], *args: str, **env: str) -> Result:
    """The command on ``receipt`` saved to a file, with ``args`` after it."""
    saved = folder / "receipt.json"
    saved.write_text(json.dumps(receipt, ensure_ascii=False, indent=2), encoding="utf-8")
    return CliRunner().invoke(
        commands,
        ["verify-receipt", str(saved), *args],
        obj=SettingsContext(None),
        env={"GATEWAY_DATA_DIR": str(folder), **env},
    )


def saved(folder: Path, jwks: dict[str, Any]) -> str:
    path = folder / "jwks.json"
    path.write_text(json.dumps(jwks), encoding="utf-8")
    return str(path)


def says(result: Result, exit_code: int, *phrases: str) -> None:
    assert result.exit_code == exit_code, result.output
    assert [p for p in phrases if p not in result.output] == []


@pytest.fixture
def keys_2025(intake_keys: Keys, tmp_path: Path) -> GatewayKey:
    return gateway_key(intake_keys, tmp_path, "2025")


@pytest.fixture
def keys_2026(intake_keys: Keys, tmp_path: Path) -> GatewayKey:
    return gateway_key(intake_keys, tmp_path, "2026")


@pytest.fixture
async def before(settings: Settings, intake_keys: Keys, keys_2025: GatewayKey) -> Published:
    """A receipt of 2025's key, with the key set the gateway published then."""
    return await accept_one(signing_with(settings, intake_keys, keys_2025), intake_keys, 1)


@pytest.fixture
async def after(
    settings: Settings,
    intake_keys: Keys,
    keys_2025: GatewayKey,
    keys_2026: GatewayKey,
    before: Published,
) -> Published:
    """A receipt of 2026's key, once 2025's is retired, on the same database."""
    rotated = signing_with(settings, intake_keys, keys_2026, keys_2025)
    return await accept_one(rotated, intake_keys, 2)


def test_a_receipt_verifies_against_the_published_key_set(
    tmp_path: Path, after: Published, keys_2026: GatewayKey
) -> None:
    kid = fingerprint(keys_2026.identity.certificate)
    says(
        verify(tmp_path, after.receipt, "--jwks", saved(tmp_path, after.jwks)),
        0,
        f"receipt {after.receipt['receiptId']}: valid",
        f"signature: RS256 with key {kid}, from {tmp_path / 'jwks.json'}",
        "certificate: C=VN,CN=Cổng dữ liệu hóa đơn (2026), issued by C=VN,CN=Test Signature CA",
        f"content: all {len(after.receipt) - 1} fields are exactly what was signed",
    )


def test_a_retired_key_still_verifies_its_receipts_after_the_rotation(
    tmp_path: Path, before: Published, after: Published, keys_2025: GatewayKey
) -> None:
    says(
        verify(tmp_path, before.receipt, "--jwks", saved(tmp_path, after.jwks)),
        0,
        f"receipt {before.receipt['receiptId']}: valid",
        f"with key {fingerprint(keys_2025.identity.certificate)}",
    )


def test_a_tampered_receipt_fails(tmp_path: Path, after: Published) -> None:
    tampered = {**after.receipt, "totalPayable": "1"}
    says(
        verify(tmp_path, tampered, "--jwks", saved(tmp_path, after.jwks)),
        1,
        f"receipt {after.receipt['receiptId']}: INVALID",
        "RECEIPT_INVALID",
        "totalPayable differs from the signed receipt",
    )
    forged = {**after.receipt, "signature": before_last(after.receipt["signature"])}
    says(
        verify(tmp_path, forged, "--jwks", saved(tmp_path, after.jwks)),
        1,
        "RECEIPT_INVALID",
        "its signature does not verify",
    )


def before_last(token: str) -> str:
    """The JWS with its signature's first character changed."""
    head, signature = token.rsplit(".", 1)
    return f"{head}.{'B' if signature[0] != 'B' else 'C'}{signature[1:]}"


def test_a_receipt_of_a_key_the_set_does_not_hold_fails_clearly(
    tmp_path: Path, before: Published, after: Published, keys_2026: GatewayKey
) -> None:
    says(
        verify(tmp_path, after.receipt, "--jwks", saved(tmp_path, before.jwks)),
        1,
        "INVALID",
        "RECEIPT_KEY_UNKNOWN",
        f"it names key '{fingerprint(keys_2026.identity.certificate)}', which the key set "
        "does not hold",
    )


def test_without_a_key_set_the_settings_keys_are_used(
    tmp_path: Path, intake_keys: Keys, before: Published, after: Published, keys_2026: GatewayKey
) -> None:
    env = {
        "GATEWAY_TRUST_ANCHORS": str(intake_keys.anchor_file),
        "GATEWAY_SIGNING_KEY": str(keys_2026.key_file),
        "GATEWAY_SIGNING_CERT": str(keys_2026.cert_file),
    }
    says(verify(tmp_path, before.receipt, **env), 1, "RECEIPT_KEY_UNKNOWN")
    retired = {**env, "GATEWAY_SIGNING_RETIRED_CERTS": str(tmp_path / "2025.cert.pem")}
    says(
        verify(tmp_path, before.receipt, **retired),
        0,
        "valid",
        "from the signing keys in the settings",
    )


async def test_the_key_set_is_fetched_from_the_running_gateway(
    settings: Settings, intake_keys: Keys, tmp_path: Path, keys_2026: GatewayKey, after: Published
) -> None:
    rotated = signing_with(settings, intake_keys, keys_2026)
    async with live_server(create_app(rotated)) as base:
        url = f"{base}/.well-known/jwks.json"
        result = await asyncio.to_thread(verify, tmp_path, after.receipt, "--jwks", url)
    says(result, 0, "valid", f"from {url}")


def test_what_is_not_a_receipt_or_a_key_set_is_refused(
    tmp_path: Path, before: Published, after: Published
) -> None:
    says(
        verify(tmp_path, {"receiptId": "x"}, "--jwks", saved(tmp_path, after.jwks)),
        1,
        "not a JSON receipt",
    )
    says(
        verify(tmp_path, after.receipt, "--jwks", saved(tmp_path, {"kid": "x"})),
        1,
        'not a JWK set: expected an object with a "keys" list',
    )
    mislabelled = {"keys": [{**after.jwks["keys"][0], "kid": "0" * 64}]}
    says(
        verify(tmp_path, after.receipt, "--jwks", saved(tmp_path, mislabelled)),
        1,
        "its kid is not its x5c certificate's fingerprint",
    )
    other = jwt.PyJWK(before.jwks["keys"][0]).key
    swapped = {"keys": [{**after.jwks["keys"][0], **RSAAlgorithm.to_jwk(other, as_dict=True)}]}
    says(
        verify(tmp_path, after.receipt, "--jwks", saved(tmp_path, swapped)),
        1,
        "its key is not the key of its x5c certificate",
    )
    says(
        verify(tmp_path, after.receipt, "--jwks", str(tmp_path / "none.json")),
        1,
        "cannot read",
    )
