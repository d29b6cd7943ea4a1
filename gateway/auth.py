"""Bearer tokens in, a ``Principal`` out.

``TokenVerifier`` checks a JWT against the identity provider's keys (a JWKS URL, cached and
refetched on an unknown key id, or a local JWKS file): signature with an allowed asymmetric
algorithm, issuer, audience, expiry and not-before. It then reads the role's claims into a
``Principal``. The purpose and case reference of a request come from ``X-Purpose`` and
``X-Case-Ref`` (or, through ``with_request_context``, from GraphQL extensions).
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Protocol

import aiohttp
import jwt
from starlette.datastructures import Headers
from starlette.types import Scope

from gateway.config import JWT_ALGORITHMS, ConfigError, Settings
from gateway.demo_tokens import DEMO_JWKS_FILE
from integrations.access.errors import (
    AuthenticationError,
    KeysUnavailable,
    RequestContextInvalid,
)
from integrations.access.principal import Principal, Role
from integrations.errors import IdentityError
from integrations.identity import PersonalId, parse_taxpayer_id

PURPOSE_HEADER: Final = "x-purpose"
CASE_REF_HEADER: Final = "x-case-ref"
MAX_CONTEXT: Final = 128
MAX_JWKS_BYTES: Final = 1_048_576
_BEARER = re.compile(r"^\s*bearer\s+(\S+)\s*$", re.IGNORECASE)
_LEVEL = re.compile(r"(\d)$")

TOKEN_CACHE_SIZE: Final = 4096
"""Verified tokens a verifier remembers; past that the least recently used is dropped."""

JwkDict = dict[str, Any]


class KeySource(Protocol):
    async def key(self, kid: str) -> JwkDict:
        """The public JWK with this key id; ``AuthenticationError`` when there is none."""
        ...


def _unknown_key(kid: str) -> AuthenticationError:
    return AuthenticationError(f"no verification key with id {kid!r}", code="AUTH_UNKNOWN_KEY")


def _parse_jwks(raw: bytes | str, origin: str) -> dict[str, JwkDict]:
    """Public asymmetric keys by id; secret (``oct``) keys are never used to verify."""
    try:
        document = json.loads(raw)
        keys = document["keys"]
        if not isinstance(keys, list):
            raise TypeError("keys is not a list")
    except (ValueError, KeyError, TypeError) as exc:
        raise KeysUnavailable(f"{origin} is not a JWKS document: {exc}") from exc
    return {
        str(k["kid"]): k
        for k in keys
        if isinstance(k, dict) and "kid" in k and k.get("kty") in ("RSA", "EC", "OKP")
    }


class JwksFile:
    """Keys from a local JWKS file, read again whenever the file is rewritten or replaced."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._keys: dict[str, JwkDict] = {}
        self._stamp: tuple[int, int, int] | None = None

    async def key(self, kid: str) -> JwkDict:
        try:
            info = self.path.stat()
            stamp = (info.st_mtime_ns, info.st_size, info.st_ino)
            if stamp != self._stamp:
                self._keys = _parse_jwks(self.path.read_bytes(), str(self.path))
                self._stamp = stamp
        except OSError as exc:
            raise KeysUnavailable(f"cannot read JWKS file {self.path}: {exc}") from exc
        if kid not in self._keys:
            raise _unknown_key(kid)
        return self._keys[kid]


class JwksUrl:
    """Keys fetched from the identity provider, reused for ``cache_seconds``.

    An unknown key id (the provider rotated) triggers one refetch, at most every
    ``min_refetch_seconds``, so a flood of made-up key ids cannot flood the provider. When a
    refetch fails, the keys already held keep serving.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        url: str,
        *,
        cache_seconds: float = 300,
        min_refetch_seconds: float = 10,
        timeout_seconds: float = 5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.session = session
        self.url = url
        self.cache_seconds = cache_seconds
        self.min_refetch_seconds = min_refetch_seconds
        self.timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self.clock = clock
        self._keys: dict[str, JwkDict] = {}
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()

    async def key(self, kid: str) -> JwkDict:
        if self._age() >= self.cache_seconds:
            await self._refresh(self.cache_seconds)
        if kid not in self._keys and self._age() >= self.min_refetch_seconds:
            await self._refresh(self.min_refetch_seconds)
        if kid not in self._keys:
            raise _unknown_key(kid)
        return self._keys[kid]

    def _age(self) -> float:
        return float("inf") if self._fetched_at is None else self.clock() - self._fetched_at

    async def _refresh(self, older_than: float) -> None:
        async with self._lock:
            # Another request may have refreshed while this one waited for the lock.
            if self._age() < older_than:
                return
            try:
                self._keys = await self._fetch()
            except KeysUnavailable:
                if not self._keys:
                    raise
            finally:
                self._fetched_at = self.clock()

    async def _fetch(self) -> dict[str, JwkDict]:
        try:
            async with self.session.get(self.url, timeout=self.timeout) as response:
                if response.status != 200:
                    raise KeysUnavailable(f"{self.url} answered HTTP {response.status}")
                raw = await response.content.read(MAX_JWKS_BYTES + 1)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise KeysUnavailable(f"cannot fetch {self.url}: {exc or type(exc).__name__}") from exc
        if len(raw) > MAX_JWKS_BYTES:
            raise KeysUnavailable(f"{self.url} sent more than {MAX_JWKS_BYTES} bytes")
        return _parse_jwks(raw, self.url)


@dataclass(frozen=True, slots=True)
class _Verified:
    """A token that verified: its principal, until when, and the key that vouched for it."""

    principal: Principal
    expires: float
    kid: str
    jwk: JwkDict


class TokenVerifier:
    """Verify bearer tokens and build principals::

    verifier = TokenVerifier(JwksFile(path), issuer="https://id.example",
                             audience="citizen-gateway", algorithms=["ES256"])
    principal = await verifier.verify(token)

    A client sends the same token with every request for its whole lifetime, so a token
    that verified is remembered (at most ``cache_size`` of them) and taken again, without
    its signature and claims being checked anew, until its ``exp`` passes or its key is no
    longer the one the key source serves. A refused token is never remembered.
    """

    def __init__(
        self,
        keys: KeySource,
        *,
        issuer: str,
        audience: str,
        algorithms: Sequence[str],
        leeway_seconds: float = 30,
        cache_size: int = TOKEN_CACHE_SIZE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        refused = [a for a in algorithms if a not in JWT_ALGORITHMS]
        if refused or not algorithms:
            raise ValueError(f"algorithms {refused or '[]'} are not allowed: only asymmetric ones")
        self.keys = keys
        self.issuer = issuer
        self.audience = audience
        self.algorithms = tuple(algorithms)
        self.leeway = leeway_seconds
        self.cache_size = cache_size
        self.clock = clock
        self._jwks: dict[tuple[str, str], tuple[JwkDict, jwt.PyJWK]] = {}
        self._verified: OrderedDict[str, _Verified] = OrderedDict()

    @classmethod
    def from_settings(cls, settings: Settings, session: aiohttp.ClientSession) -> TokenVerifier:
        """The verifier the settings describe; in production the demo keys are refused."""
        keys: KeySource
        if settings.jwks_url:
            keys = JwksUrl(session, settings.jwks_url, cache_seconds=settings.jwks_cache_seconds)
        elif settings.mode == "production" and settings.jwks_file is None:
            raise ConfigError(
                "GATEWAY_JWKS_URL or GATEWAY_JWKS_FILE is required in production: "
                "demo keys are not allowed"
            )
        else:
            keys = JwksFile(settings.jwks_file or settings.data_dir / DEMO_JWKS_FILE)
        return cls(
            keys,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            algorithms=settings.jwt_algorithms,
            leeway_seconds=settings.jwt_leeway_seconds,
        )

    async def verify(self, token: str) -> Principal:
        """Check the token and read its claims; raise ``AuthenticationError`` with a code."""
        known = self._verified.get(token)
        if known is not None:
            if self.clock() < known.expires and await self._still_served(known):
                self._verified.move_to_end(token)
                return known.principal
            self._verified.pop(token, None)
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise AuthenticationError(f"malformed token: {exc}") from exc
        alg, kid = header.get("alg"), header.get("kid")
        if alg not in self.algorithms:
            raise AuthenticationError(f"token algorithm {alg!r} is not accepted")
        if not isinstance(kid, str) or not kid:
            raise AuthenticationError("token header names no key id (kid)")
        jwk, key = await self._key(kid, alg)
        claims = self._decode(token, key)
        principal = principal_from_claims(claims)
        self._remember(token, _Verified(principal, float(claims["exp"]), kid, jwk))
        return principal

    async def _still_served(self, known: _Verified) -> bool:
        try:
            return await self.keys.key(known.kid) == known.jwk
        except AuthenticationError:
            return False

    def _remember(self, token: str, verified: _Verified) -> None:
        self._verified[token] = verified
        while len(self._verified) > self.cache_size:
            self._verified.popitem(last=False)

    async def _key(self, kid: str, alg: str) -> tuple[JwkDict, jwt.PyJWK]:
        jwk = await self.keys.key(kid)
        cached = self._jwks.get((kid, alg))
        if cached is not None and cached[0] == jwk:
            return cached
        try:
            key = jwt.PyJWK(jwk, algorithm=alg)
        except jwt.PyJWTError as exc:
            raise AuthenticationError(f"key {kid!r} cannot verify {alg}: {exc}") from exc
        self._jwks[(kid, alg)] = (jwk, key)
        return jwk, key

    def _decode(self, token: str, key: jwt.PyJWK) -> dict[str, Any]:
        try:
            return jwt.decode(
                token,
                key,
                algorithms=list(self.algorithms),
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={
                    "require": ["exp", "iss", "aud", "sub"],
                    "enforce_minimum_key_length": True,
                },
            )
        except jwt.PyJWTError as exc:
            raise _map_jwt_error(exc) from exc

    async def authenticate(self, scope: Scope) -> Principal | None:
        """The principal of an HTTP request, with its declared context; None without a token.

        The result is kept in the request's state, so later layers (rate limits, GraphQL
        context) verify each token once.
        """
        state = scope.setdefault("state", {})
        if "principal" in state:
            cached: Principal = state["principal"]
            return cached
        headers = Headers(scope=scope)
        authorization = headers.get("authorization")
        if authorization is None:
            return None
        match = _BEARER.match(authorization)
        if match is None:
            raise AuthenticationError("the Authorization header must be 'Bearer <token>'")
        principal = with_request_context(
            await self.verify(match.group(1)),
            purpose=headers.get(PURPOSE_HEADER),
            case_ref=headers.get(CASE_REF_HEADER),
            client_address=client_address(scope),
        )
        state["principal"] = principal
        return principal


def require(principal: Principal | None) -> Principal:
    """The principal, or ``AUTH_REQUIRED`` when the request carried no token."""
    if principal is None:
        raise AuthenticationError("this request needs a bearer token", code="AUTH_REQUIRED")
    return principal


_JWT_ERRORS: Final[tuple[tuple[type[jwt.PyJWTError], str], ...]] = (
    (jwt.ExpiredSignatureError, "AUTH_EXPIRED"),
    (jwt.ImmatureSignatureError, "AUTH_NOT_YET_VALID"),
    (jwt.InvalidAudienceError, "AUTH_WRONG_AUDIENCE"),
    (jwt.InvalidIssuerError, "AUTH_WRONG_ISSUER"),
)


def _map_jwt_error(exc: jwt.PyJWTError) -> AuthenticationError:
    code = next((c for kind, c in _JWT_ERRORS if isinstance(exc, kind)), "AUTH_INVALID_TOKEN")
    return AuthenticationError(f"token refused: {exc}", code=code)


def _bad_claims(message: str) -> AuthenticationError:
    return AuthenticationError(message, code="AUTH_BAD_CLAIMS")


def principal_from_claims(claims: Mapping[str, Any]) -> Principal:
    """Read a verified token's claims; each role needs its own identifying claim."""
    try:
        role = Role(claims.get("role"))
    except ValueError:
        allowed = ", ".join(r.value for r in Role)
        raise _bad_claims(f"role claim {claims.get('role')!r} is not one of {allowed}") from None
    subject = str(claims["sub"])
    try:
        if role is Role.CITIZEN:
            subject = PersonalId(subject).value
        tax_code = str(parse_taxpayer_id(claims["tax_code"])) if role is Role.MERCHANT else None
    except (IdentityError, KeyError, TypeError) as exc:
        raise _bad_claims(f"a {role.value} token needs a valid identity: {exc}") from exc
    app_id = claims.get("client_id") or claims.get("azp")
    if role is Role.APP and not app_id:
        raise _bad_claims("an app token needs a client_id claim")
    return Principal(
        subject=subject,
        role=role,
        assurance_level=_assurance(claims),
        tax_code=tax_code,
        app_id=str(app_id) if app_id else None,
        scopes=_scopes(claims),
        purpose=_context_value(claims.get("purpose"), "purpose claim") or "",
    )


def _assurance(claims: Mapping[str, Any]) -> int:
    """Level from ``loa`` (a number) or the trailing digit of ``acr`` (``loa2``, ``urn:…:2``)."""
    value = claims.get("loa", claims.get("acr"))
    if value is None:
        return 1
    match = _LEVEL.search(str(value))
    if match is None:
        raise _bad_claims(f"assurance level {value!r} does not end in a digit")
    return int(match.group(1))


def _scopes(claims: Mapping[str, Any]) -> frozenset[str]:
    value = claims.get("scope", claims.get("scp", ""))
    items = value.split() if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise _bad_claims("scope must be a space-separated string or a list")
    return frozenset(str(item) for item in items)


def _context_value(value: object, name: str) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    if len(text) > MAX_CONTEXT or not text.isprintable():
        raise RequestContextInvalid(f"{name} must be printable text of at most {MAX_CONTEXT}")
    return text or None


def with_request_context(
    principal: Principal,
    *,
    purpose: str | None,
    case_ref: str | None,
    client_address: str = "",
) -> Principal:
    """Add a request's declared purpose and case reference (headers or GraphQL extensions).

    A purpose bound into the token cannot be changed by the request.
    """
    purpose = _context_value(purpose, "X-Purpose")
    case_ref = _context_value(case_ref, "X-Case-Ref")
    if principal.purpose and purpose and purpose != principal.purpose:
        raise RequestContextInvalid(
            f"the token is bound to the purpose {principal.purpose!r}, not {purpose!r}"
        )
    return principal.for_request(purpose=purpose, case_ref=case_ref, client_address=client_address)


def client_address(scope: Scope) -> str:
    """The peer address as the server saw it (uvicorn applies trusted proxy headers)."""
    client = scope.get("client")
    return str(client[0]) if client else ""
