from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import jwt
import pytest
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from gateway.auth import JwksFile, JwksUrl, TokenVerifier, require, with_request_context
from gateway.config import ConfigError, load_settings
from integrations.access.errors import (
    AuthenticationError,
    KeysUnavailable,
    RequestContextInvalid,
)
from integrations.access.principal import Principal, Role
from tests.support.settings import PRODUCTION_ENV

ISSUER = "https://id.example.vn"
AUDIENCE = "citizen-gateway"
CITIZEN = "079301000123"
SHOP = "0100109106"

RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())
OTHER_EC_KEY = ec.generate_private_key(ec.SECP256R1())


def jwk_of(key: Any, kid: str, **extra: str) -> dict[str, Any]:
    algorithm = RSAAlgorithm if isinstance(key, rsa.RSAPrivateKey) else ECAlgorithm
    return {**algorithm.to_jwk(key.public_key(), as_dict=True), "kid": kid, **extra}


def jwks(*keys: dict[str, Any]) -> dict[str, Any]:
    return {"keys": list(keys)}


def claims(**changes: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    base = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": CITIZEN,
        "role": "citizen",
        "iat": now,
        "exp": now + timedelta(minutes=5),
    }
    base.update(changes)
    return {name: value for name, value in base.items() if value is not None}


def sign(payload: dict[str, Any], key: Any = EC_KEY, kid: str | None = "ec-1", alg="ES256") -> str:
    headers = {"kid": kid} if kid else {}
    return jwt.encode(payload, key, algorithm=alg, headers=headers)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def write_jwks(path: Path, *keys: dict[str, Any]) -> Path:
    path.write_text(json.dumps(jwks(*keys)))
    return path


@pytest.fixture
def jwks_file(tmp_path: Path) -> Path:
    secret = {"kty": "oct", "kid": "shared", "k": b64(b"secret")}
    keys = (jwk_of(EC_KEY, "ec-1"), jwk_of(RSA_KEY, "rsa-1"), secret)
    return write_jwks(tmp_path / "jwks.json", *keys)


@pytest.fixture
def verifier(jwks_file: Path) -> TokenVerifier:
    return TokenVerifier(
        JwksFile(jwks_file),
        issuer=ISSUER,
        audience=AUDIENCE,
        algorithms=["ES256", "RS256", "PS256"],
        leeway_seconds=30,
    )


async def code_of(verifier: TokenVerifier, token: str) -> str:
    with pytest.raises(AuthenticationError) as info:
        await verifier.verify(token)
    return info.value.code


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        pytest.param(
            {"loa": 2}, Principal(CITIZEN, Role.CITIZEN, assurance_level=2), id="citizen-loa"
        ),
        pytest.param(
            {"acr": "urn:vn:eid:loa:2"},
            Principal(CITIZEN, Role.CITIZEN, assurance_level=2),
            id="citizen-acr",
        ),
        pytest.param({}, Principal(CITIZEN, Role.CITIZEN, assurance_level=1), id="citizen-default"),
        pytest.param(
            {"role": "app", "sub": "u-1", "client_id": "budget", "purpose": "budgeting"},
            Principal("u-1", Role.APP, app_id="budget", purpose="budgeting"),
            id="app",
        ),
        pytest.param(
            {"role": "merchant", "sub": "m-1", "tax_code": "0100109106001"},
            Principal("m-1", Role.MERCHANT, tax_code="0100109106-001"),
            id="merchant-branch",
        ),
        pytest.param(
            {"role": "officer", "sub": "off-1", "scope": "read:phone read:email"},
            Principal("off-1", Role.OFFICER, scopes=frozenset({"read:phone", "read:email"})),
            id="officer",
        ),
        pytest.param(
            {"role": "admin", "sub": "root", "scp": ["registry"]},
            Principal("root", Role.ADMIN, scopes=frozenset({"registry"})),
            id="admin",
        ),
    ],
)
async def test_each_role_becomes_a_principal(
    verifier: TokenVerifier, extra: dict[str, Any], expected: Principal
) -> None:
    assert await verifier.verify(sign(claims(**extra))) == expected


async def test_rsa_keys_verify_rs256_and_ps256(verifier: TokenVerifier) -> None:
    for alg in ("RS256", "PS256"):
        token = sign(claims(), RSA_KEY, "rsa-1", alg)
        assert (await verifier.verify(token)).subject == CITIZEN


def now_plus(seconds: int) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        pytest.param(claims(exp=now_plus(-120)), "AUTH_EXPIRED", id="expired"),
        pytest.param(claims(nbf=now_plus(600)), "AUTH_NOT_YET_VALID", id="not-yet-valid"),
        pytest.param(claims(aud="another-service"), "AUTH_WRONG_AUDIENCE", id="audience"),
        pytest.param(claims(iss="https://evil.example"), "AUTH_WRONG_ISSUER", id="issuer"),
        pytest.param(claims(exp=None), "AUTH_INVALID_TOKEN", id="no-expiry"),
        pytest.param(claims(aud=None), "AUTH_INVALID_TOKEN", id="no-audience"),
        pytest.param(claims(role="root"), "AUTH_BAD_CLAIMS", id="unknown-role"),
        pytest.param(claims(sub="079301000"), "AUTH_BAD_CLAIMS", id="citizen-sub-not-an-id"),
        pytest.param(claims(sub="999301000123"), "AUTH_BAD_CLAIMS", id="citizen-bad-province"),
        pytest.param(claims(role="merchant", tax_code="0100109107"), "AUTH_BAD_CLAIMS", id="tax"),
        pytest.param(claims(role="merchant"), "AUTH_BAD_CLAIMS", id="merchant-no-tax-code"),
        pytest.param(claims(role="app"), "AUTH_BAD_CLAIMS", id="app-no-client-id"),
        pytest.param(claims(acr="high"), "AUTH_BAD_CLAIMS", id="assurance-unreadable"),
    ],
)
async def test_bad_claims_are_refused_with_a_code(
    verifier: TokenVerifier, payload: dict[str, Any], code: str
) -> None:
    assert await code_of(verifier, sign(payload)) == code


async def test_small_clock_differences_are_tolerated(verifier: TokenVerifier) -> None:
    token = sign(claims(exp=now_plus(-10), nbf=now_plus(10)))
    assert (await verifier.verify(token)).subject == CITIZEN


def unsigned_token(header: dict[str, Any], payload: dict[str, Any], secret: bytes = b"") -> str:
    body = {k: int(v.timestamp()) if isinstance(v, datetime) else v for k, v in payload.items()}
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(body).encode())}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest() if secret else b""
    return f"{signing_input}.{b64(signature)}"


async def test_alg_none_is_refused(verifier: TokenVerifier) -> None:
    token = unsigned_token({"alg": "none", "kid": "ec-1"}, claims())
    assert await code_of(verifier, token) == "AUTH_INVALID_TOKEN"


async def test_hmac_with_the_public_key_as_secret_is_refused(verifier: TokenVerifier) -> None:
    public_pem = RSA_KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    token = unsigned_token({"alg": "HS256", "kid": "rsa-1"}, claims(), public_pem)
    assert await code_of(verifier, token) == "AUTH_INVALID_TOKEN"


async def test_a_secret_key_in_the_key_set_is_never_used(verifier: TokenVerifier) -> None:
    token = unsigned_token({"alg": "HS256", "kid": "shared"}, claims(), b"secret")
    assert await code_of(verifier, token) == "AUTH_INVALID_TOKEN"


async def test_an_algorithm_not_configured_is_refused(jwks_file: Path) -> None:
    only_es = TokenVerifier(
        JwksFile(jwks_file), issuer=ISSUER, audience=AUDIENCE, algorithms=["ES256"]
    )
    assert await code_of(only_es, sign(claims(), RSA_KEY, "rsa-1", "RS256")) == (
        "AUTH_INVALID_TOKEN"
    )


async def test_a_key_of_the_wrong_kind_is_refused(verifier: TokenVerifier) -> None:
    assert await code_of(verifier, sign(claims(), EC_KEY, "rsa-1")) == "AUTH_INVALID_TOKEN"


async def test_a_signature_by_another_key_is_refused(verifier: TokenVerifier) -> None:
    assert await code_of(verifier, sign(claims(), OTHER_EC_KEY, "ec-1")) == "AUTH_INVALID_TOKEN"


@pytest.mark.parametrize(
    ("token", "code"),
    [
        pytest.param("not.a.token", "AUTH_INVALID_TOKEN", id="garbage"),
        pytest.param(sign(claims(), kid=None), "AUTH_INVALID_TOKEN", id="no-kid"),
        pytest.param(sign(claims(), kid="ec-9"), "AUTH_UNKNOWN_KEY", id="unknown-kid"),
    ],
)
async def test_unusable_tokens_are_refused(verifier: TokenVerifier, token: str, code: str) -> None:
    assert await code_of(verifier, token) == code


@pytest.mark.parametrize("algorithms", [["HS256"], ["none"], ["ES256", "HS512"], []])
def test_symmetric_or_no_algorithms_cannot_be_configured(
    jwks_file: Path, algorithms: list[str]
) -> None:
    with pytest.raises(ValueError, match="only asymmetric"):
        TokenVerifier(JwksFile(jwks_file), issuer=ISSUER, audience=AUDIENCE, algorithms=algorithms)


@pytest.mark.parametrize("value", ["HS256", "RS256,none", ""])
def test_settings_refuse_symmetric_algorithms(value: str) -> None:
    with pytest.raises(ConfigError, match="GATEWAY_JWT_ALGORITHMS"):
        load_settings(environ={"GATEWAY_JWT_ALGORITHMS": value})


async def test_production_needs_real_keys(tmp_path: Path) -> None:
    settings = load_settings(environ=PRODUCTION_ENV)
    async with aiohttp.ClientSession() as session:
        with pytest.raises(ConfigError, match="required in production"):
            TokenVerifier.from_settings(settings, session)


def test_one_key_source_only(tmp_path: Path) -> None:
    both = {"GATEWAY_JWKS_URL": "https://id/jwks", "GATEWAY_JWKS_FILE": str(tmp_path)}
    with pytest.raises(ConfigError, match="not allowed together"):
        load_settings(environ=both)


async def test_a_missing_jwks_file_means_keys_unavailable(tmp_path: Path) -> None:
    with pytest.raises(KeysUnavailable):
        await JwksFile(tmp_path / "absent.json").key("k")


async def test_a_rewritten_jwks_file_is_read_again(jwks_file: Path) -> None:
    source = JwksFile(jwks_file)
    await source.key("ec-1")
    write_jwks(jwks_file, jwk_of(OTHER_EC_KEY, "ec-2"))
    assert (await source.key("ec-2"))["kid"] == "ec-2"


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class IdentityProvider:
    """A real JWKS endpoint on loopback whose keys the test rotates."""

    def __init__(self) -> None:
        self.keys = jwks(jwk_of(EC_KEY, "ec-1"))
        self.fetches = 0
        self.status = 200

    async def handle(self, request: web.Request) -> web.Response:
        self.fetches += 1
        return web.json_response(self.keys, status=self.status)


@pytest.fixture
async def provider() -> AsyncIterator[tuple[IdentityProvider, str]]:
    idp = IdentityProvider()
    app = web.Application()
    app.router.add_get("/jwks", idp.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield idp, f"http://{host}:{port}/jwks"
    finally:
        await runner.cleanup()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


def url_verifier(source: JwksUrl) -> TokenVerifier:
    return TokenVerifier(source, issuer=ISSUER, audience=AUDIENCE, algorithms=["ES256"])


async def test_url_keys_are_cached_and_refetched_on_rotation(
    provider: tuple[IdentityProvider, str], session: aiohttp.ClientSession
) -> None:
    idp, url = provider
    clock = FakeClock()
    source = JwksUrl(session, url, cache_seconds=300, min_refetch_seconds=10, clock=clock)
    verifier = url_verifier(source)
    await verifier.verify(sign(claims()))
    await verifier.verify(sign(claims()))
    assert idp.fetches == 1
    idp.keys = jwks(jwk_of(OTHER_EC_KEY, "ec-2"))
    clock.now += 11
    assert (await verifier.verify(sign(claims(), OTHER_EC_KEY, "ec-2"))).subject == CITIZEN
    assert idp.fetches == 2


async def test_unknown_key_ids_refetch_at_most_once_per_interval(
    provider: tuple[IdentityProvider, str], session: aiohttp.ClientSession
) -> None:
    idp, url = provider
    clock = FakeClock()
    verifier = url_verifier(JwksUrl(session, url, min_refetch_seconds=10, clock=clock))
    await verifier.verify(sign(claims()))
    clock.now += 11
    for n in range(5):
        assert await code_of(verifier, sign(claims(), kid=f"made-up-{n}")) == "AUTH_UNKNOWN_KEY"
    assert idp.fetches == 2


async def test_keys_are_refetched_when_the_cache_expires(
    provider: tuple[IdentityProvider, str], session: aiohttp.ClientSession
) -> None:
    idp, url = provider
    clock = FakeClock()
    verifier = url_verifier(JwksUrl(session, url, cache_seconds=60, clock=clock))
    await verifier.verify(sign(claims()))
    clock.now += 61
    await verifier.verify(sign(claims()))
    assert idp.fetches == 2


async def test_held_keys_keep_serving_while_the_provider_is_down(
    provider: tuple[IdentityProvider, str], session: aiohttp.ClientSession
) -> None:
    idp, url = provider
    clock = FakeClock()
    verifier = url_verifier(JwksUrl(session, url, cache_seconds=60, clock=clock))
    await verifier.verify(sign(claims()))
    idp.status = 503
    clock.now += 61
    assert (await verifier.verify(sign(claims()))).subject == CITIZEN
    assert idp.fetches == 2


async def test_no_keys_at_all_means_keys_unavailable(
    provider: tuple[IdentityProvider, str], session: aiohttp.ClientSession
) -> None:
    idp, url = provider
    idp.status = 500
    with pytest.raises(KeysUnavailable):
        await url_verifier(JwksUrl(session, url)).verify(sign(claims()))


def scope(*headers: tuple[str, str]) -> dict[str, Any]:
    return {
        "type": "http",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers],
        "client": ("203.0.113.9", 5555),
    }


async def test_a_request_without_a_token_has_no_principal(verifier: TokenVerifier) -> None:
    assert await verifier.authenticate(scope()) is None
    with pytest.raises(AuthenticationError) as info:
        require(None)
    assert info.value.code == "AUTH_REQUIRED"


async def test_only_bearer_credentials_are_taken(verifier: TokenVerifier) -> None:
    with pytest.raises(AuthenticationError):
        await verifier.authenticate(scope(("Authorization", "Basic dXNlcjpwdw==")))


async def test_the_request_declares_purpose_and_case(verifier: TokenVerifier) -> None:
    officer = sign(claims(role="officer", sub="off-1"))
    request = scope(
        ("Authorization", f"Bearer {officer}"),
        ("X-Purpose", "tax audit"),
        ("X-Case-Ref", "TT-2026-17"),
    )
    principal = await verifier.authenticate(request)
    assert principal is not None
    assert (principal.purpose, principal.case_ref) == ("tax audit", "TT-2026-17")
    assert principal.client_address == "203.0.113.9"
    assert await verifier.authenticate(request) is principal


@pytest.mark.parametrize(
    ("bound", "purpose", "case_ref"),
    [
        pytest.param("budgeting", "marketing", None, id="contradicts-token"),
        pytest.param("", "x" * 129, None, id="too-long"),
        pytest.param("", "ok", "line\nbreak", id="control-character"),
    ],
)
def test_a_bad_request_context_is_refused(
    bound: str, purpose: str | None, case_ref: str | None
) -> None:
    app = Principal("u", Role.APP, app_id="budget", purpose=bound)
    with pytest.raises(RequestContextInvalid):
        with_request_context(app, purpose=purpose, case_ref=case_ref)


# A verified token is remembered for its lifetime.


class CountingVerifier(TokenVerifier):
    """Counts full verifications: signature and claims checked by PyJWT."""

    decoded = 0

    def _decode(self, token: str, key: jwt.PyJWK) -> dict[str, Any]:
        self.decoded += 1
        return super()._decode(token, key)


def counting_verifier(path: Path, clock: FakeClock, cache_size: int = 8) -> CountingVerifier:
    return CountingVerifier(
        JwksFile(path),
        issuer=ISSUER,
        audience=AUDIENCE,
        algorithms=["ES256"],
        cache_size=cache_size,
        clock=clock,
    )


async def test_a_token_is_verified_once_until_it_expires(jwks_file: Path) -> None:
    clock = FakeClock()
    verifier = counting_verifier(jwks_file, clock)
    expires = datetime.now(UTC) + timedelta(minutes=5)
    token = sign(claims(exp=expires, loa=2))
    clock.now = expires.timestamp() - 1
    first = await verifier.verify(token)
    assert (
        await verifier.verify(token) == first == Principal(CITIZEN, Role.CITIZEN, assurance_level=2)
    )
    assert verifier.decoded == 1
    clock.now = expires.timestamp()
    assert await verifier.verify(token) == first
    assert verifier.decoded == 2


async def test_an_expired_token_is_refused_every_time(jwks_file: Path) -> None:
    verifier = counting_verifier(jwks_file, FakeClock())
    token = sign(claims(exp=datetime.now(UTC) - timedelta(minutes=5)))
    assert await code_of(verifier, token) == "AUTH_EXPIRED"
    assert await code_of(verifier, token) == "AUTH_EXPIRED"
    assert verifier.decoded == 2


async def test_a_refusal_is_never_remembered_as_a_success(jwks_file: Path) -> None:
    verifier = counting_verifier(jwks_file, FakeClock())
    forged = sign(claims(), key=OTHER_EC_KEY)
    for _ in range(2):
        assert await code_of(verifier, forged) == "AUTH_INVALID_TOKEN"
    assert verifier.decoded == 2


async def test_a_remembered_token_is_refused_once_its_key_is_withdrawn(jwks_file: Path) -> None:
    verifier = counting_verifier(jwks_file, FakeClock())
    token = sign(claims())
    await verifier.verify(token)
    write_jwks(jwks_file, jwk_of(OTHER_EC_KEY, "ec-2"))
    assert await code_of(verifier, token) == "AUTH_UNKNOWN_KEY"
    write_jwks(jwks_file, jwk_of(OTHER_EC_KEY, "ec-1"), jwk_of(RSA_KEY, "rsa-1"))
    assert await code_of(verifier, token) == "AUTH_INVALID_TOKEN"


async def test_remembered_tokens_are_bounded(jwks_file: Path) -> None:
    verifier = counting_verifier(jwks_file, FakeClock(), cache_size=2)
    tokens = [sign(claims(sub=f"07930100012{n}")) for n in range(3)]
    for token in tokens:
        await verifier.verify(token)
    await verifier.verify(tokens[0])
    assert verifier.decoded == 4
    await verifier.verify(tokens[2])
    assert verifier.decoded == 4
