from __future__ import annotations

import stat
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest

from gateway.auth import TokenVerifier
from gateway.config import load_settings
from gateway.demo_tokens import DEMO_JWKS_FILE, DEMO_KEY_FILE, ensure_demo_keys, mint_token
from integrations.access.errors import AuthenticationError
from integrations.access.principal import Role


def test_the_demo_key_is_made_once_and_kept_private(tmp_path: Path) -> None:
    first = ensure_demo_keys(tmp_path)
    again = ensure_demo_keys(tmp_path)
    assert first.kid == again.kid
    assert stat.S_IMODE((tmp_path / DEMO_KEY_FILE).stat().st_mode) == 0o600
    assert '"d"' not in (tmp_path / DEMO_JWKS_FILE).read_text()


@pytest.mark.parametrize(
    ("role", "subject", "options", "check"),
    [
        pytest.param(
            Role.CITIZEN, "079301000123", {"assurance_level": 2}, "assurance_level", id="citizen"
        ),
        pytest.param(Role.APP, "u-1", {"app_id": "budget"}, "app_id", id="app"),
        pytest.param(Role.MERCHANT, "m-1", {"tax_code": "0100109106"}, "tax_code", id="merchant"),
        pytest.param(Role.OFFICER, "off-1", {"scopes": ["read:phone"]}, "scopes", id="officer"),
        pytest.param(Role.ADMIN, "root", {}, "subject", id="admin"),
    ],
)
async def test_demo_tokens_verify_with_the_default_settings(
    tmp_path: Path, role: Role, subject: str, options: dict[str, object], check: str
) -> None:
    settings = load_settings(environ={}, data_dir=str(tmp_path))
    keys = ensure_demo_keys(tmp_path)
    token = mint_token(
        keys, role, subject, issuer=settings.jwt_issuer, audience=settings.jwt_audience, **options
    )
    async with aiohttp.ClientSession() as session:
        principal = await TokenVerifier.from_settings(settings, session).verify(token)
    assert principal.role is role
    assert principal.subject == subject
    expected = options.get(check, subject)
    assert getattr(principal, check) == (frozenset(expected) if check == "scopes" else expected)


async def test_an_expired_demo_token_is_refused(tmp_path: Path) -> None:
    settings = load_settings(environ={}, data_dir=str(tmp_path))
    token = mint_token(
        ensure_demo_keys(tmp_path),
        Role.ADMIN,
        "root",
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        ttl=timedelta(minutes=-5),
    )
    async with aiohttp.ClientSession() as session:
        with pytest.raises(AuthenticationError) as info:
            await TokenVerifier.from_settings(settings, session).verify(token)
    assert info.value.code == "AUTH_EXPIRED"
