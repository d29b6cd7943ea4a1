"""Demo identity provider: one EC signing key in the data folder and tokens for every role.

Only for demo and development: production verifies tokens from the real identity provider
(GATEWAY_JWKS_URL or GATEWAY_JWKS_FILE), and ``gateway token`` refuses to run there.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from integrations.access.principal import Role

DEMO_KEY_FILE: Final = "demo-jwt-key.pem"
DEMO_JWKS_FILE: Final = "demo-jwks.json"
ALGORITHM: Final = "ES256"


@dataclass(frozen=True, slots=True)
class DemoKeys:
    private_key: ec.EllipticCurvePrivateKey
    kid: str
    jwks_path: Path


def ensure_demo_keys(data_dir: Path) -> DemoKeys:
    """Load the demo key, creating it and its public JWKS file on first use."""
    data_dir.mkdir(parents=True, exist_ok=True)
    key_path, jwks_path = data_dir / DEMO_KEY_FILE, data_dir / DEMO_JWKS_FILE
    if key_path.exists():
        loaded = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        if not isinstance(loaded, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{key_path} is not an EC private key")
        private_key = loaded
    else:
        private_key = ec.generate_private_key(ec.SECP256R1())
        _write_private(key_path, private_key)
    kid = _key_id(private_key.public_key())
    jwk = {**ECAlgorithm.to_jwk(private_key.public_key(), as_dict=True), "kid": kid}
    jwk.update(alg=ALGORITHM, use="sig")
    jwks_path.write_text(json.dumps({"keys": [jwk]}, indent=2) + "\n")
    return DemoKeys(private_key, kid, jwks_path)


def _write_private(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)


def _key_id(public_key: ec.EllipticCurvePublicKey) -> str:
    """A stable id: a digest of the public key, so a new key always gets a new id."""
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return "demo-" + hashlib.sha256(der).hexdigest()[:16]


def mint_token(
    keys: DemoKeys,
    role: Role,
    subject: str,
    *,
    issuer: str,
    audience: str,
    ttl: timedelta = timedelta(hours=1),
    assurance_level: int | None = None,
    tax_code: str | None = None,
    app_id: str | None = None,
    scopes: Iterable[str] = (),
    purpose: str | None = None,
    now: datetime | None = None,
) -> str:
    """A signed token with the claims ``gateway.auth`` reads for ``role``."""
    issued = now or datetime.now(UTC)
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": audience,
        "sub": subject,
        "role": role.value,
        "iat": issued,
        "nbf": issued,
        "exp": issued + ttl,
        "jti": uuid.uuid4().hex,
    }
    optional = {
        "loa": assurance_level,
        "tax_code": tax_code,
        "client_id": app_id,
        "scope": " ".join(scopes) or None,
        "purpose": purpose,
    }
    claims.update({name: value for name, value in optional.items() if value is not None})
    return jwt.encode(claims, keys.private_key, algorithm=ALGORITHM, headers={"kid": keys.kid})
