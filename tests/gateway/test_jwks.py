"""``GET /.well-known/jwks.json``: every receipt-signing key, current and retired, for anyone."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from gateway.config import ConfigError, Settings, load_settings
from gateway.keys import load_key_material
from integrations.einvoice.pki import fingerprint
from tests.support.invoices import Keys
from tests.support.receipts import accept_one, gateway_key, signing_with


async def test_the_key_set_holds_the_current_key_and_the_retired_one(
    settings: Settings, intake_keys: Keys, tmp_path: Path
) -> None:
    retired, current = (
        gateway_key(intake_keys, tmp_path, "2025"),
        gateway_key(intake_keys, tmp_path, "2026"),
    )
    published = await accept_one(
        signing_with(settings, intake_keys, current, retired), intake_keys, 1
    )
    keys = published.jwks["keys"]
    assert [key["kid"] for key in keys] == [
        fingerprint(current.identity.certificate),
        fingerprint(retired.identity.certificate),
    ]
    for key, gateway in zip(keys, (current, retired), strict=True):
        assert (key["kty"], key["alg"], key["use"]) == ("RSA", "RS256", "sig")
        assert "d" not in key
        assert [base64.b64decode(c) for c in key["x5c"]] == [
            c.public_bytes(Encoding.DER) for c in gateway.identity.certificates
        ]
        assert jwt.PyJWK(key).key.public_numbers() == (
            gateway.identity.certificate.public_key().public_numbers()
        )
    assert published.jwks_headers["content-type"] == "application/jwk-set+json"
    assert published.jwks_headers["cache-control"] == "public, max-age=3600"


async def test_a_receipt_names_the_published_key_by_its_kid(
    settings: Settings, intake_keys: Keys, tmp_path: Path
) -> None:
    current = gateway_key(intake_keys, tmp_path, "2026")
    published = await accept_one(signing_with(settings, intake_keys, current), intake_keys, 2)
    header = jwt.api_jws.get_unverified_header(published.receipt["signature"])
    assert header["kid"] == published.jwks["keys"][0]["kid"]
    assert [key["kid"] for key in published.jwks["keys"]] == [header["kid"]]


def test_retired_certificates_are_a_comma_separated_setting() -> None:
    settings = load_settings(environ={"GATEWAY_SIGNING_RETIRED_CERTS": "a.pem, b.pem"})
    assert settings.signing_retired_certs == (Path("a.pem"), Path("b.pem"))


def ec_certificate() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "EC gateway")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(Encoding.PEM)


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (None, "cannot read"),
        (b"not a certificate", "holds no PEM certificate"),
        (ec_certificate(), "is not the certificate of an RSA key"),
    ],
)
def test_an_unusable_retired_certificate_stops_start_up(
    intake_keys: Keys, tmp_path: Path, content: bytes | None, says: str
) -> None:
    bad = tmp_path / "retired.pem"
    if content is not None:
        bad.write_bytes(content)
    current = gateway_key(intake_keys, tmp_path, "2026")
    settings = signing_with(load_settings(environ={}), intake_keys, current).with_values(
        signing_retired_certs=(bad,)
    )
    with pytest.raises(ConfigError, match=f"GATEWAY_SIGNING_RETIRED_CERTS: .*{says}"):
        load_key_material(settings)
