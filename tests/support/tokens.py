"""Bearer tokens for the tests, signed with the demo key in the settings' data folder."""

from __future__ import annotations

from typing import Any

from gateway.config import Settings
from gateway.demo_tokens import ensure_demo_keys, mint_token
from integrations.access.principal import Role


def token(settings: Settings, role: Role, subject: str, **claims: Any) -> str:
    """A token the gateway built with ``settings`` accepts; ``claims`` as ``mint_token``
    takes them (``tax_code``, ``app_id``, ``ttl``, ``now``, …)."""
    return mint_token(
        ensure_demo_keys(settings.data_dir),
        role,
        subject,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        **claims,
    )
