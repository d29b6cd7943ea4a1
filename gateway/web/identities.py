"""The demo's people, merchants, officers and app, for the sign-in page's picker.

Only where the gateway verifies tokens with its own demo key (demo and development modes with
no identity provider configured): the picker mints a token exactly as ``gateway token`` does,
and the page then signs in with it as with any pasted token.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Final

from gateway.config import Settings
from gateway.demo_tokens import ensure_demo_keys, mint_token
from integrations.access import Role
from integrations.simulators.known import MERCHANTS, PEOPLE

TOKEN_TTL: Final = timedelta(hours=8)


@dataclass(frozen=True, slots=True)
class DemoIdentity:
    key: str
    role: Role
    subject: str
    name: str
    claims: dict[str, Any] = field(default_factory=dict)
    note: str = ""
    """A message key that tells two identities of one person apart."""

    @property
    def label(self) -> str:
        return self.name if self.name == self.subject else f"{self.name} ({self.subject})"


def _citizen(id_number: str, key: str, level: int = 2, note: str = "") -> DemoIdentity:
    name = PEOPLE[id_number].full_name
    return DemoIdentity(key, Role.CITIZEN, id_number, name, {"assurance_level": level}, note)


def _merchant(tax_code: str) -> DemoIdentity:
    name = MERCHANTS[tax_code].name
    return DemoIdentity(
        f"merchant-{tax_code}", Role.MERCHANT, tax_code, name, {"tax_code": tax_code}
    )


DEMO_IDENTITIES: Final[tuple[DemoIdentity, ...]] = (
    DemoIdentity(
        "officer",
        Role.OFFICER,
        "officer-01",
        "officer-01",
        {"scopes": ("read:sensitive",)},
        "identity.officer_sensitive",
    ),
    DemoIdentity(
        "officer-masked", Role.OFFICER, "officer-02", "officer-02", note="identity.officer_masked"
    ),
    _citizen("001099012345", "citizen-an"),
    _citizen("001099012345", "citizen-an-loa1", level=1, note="identity.loa1"),
    _citizen("079301000123", "citizen-binh"),
    _merchant("0100109106"),
    _merchant("0319303270"),
    _merchant("0313032391"),
    _merchant("001190007777"),
    DemoIdentity(
        "app",
        Role.APP,
        "001099012345",
        "budget-app",
        {"app_id": "budget-app", "purpose": "budgeting"},
    ),
)
BY_KEY: Final = {identity.key: identity for identity in DEMO_IDENTITIES}


def demo_sign_in_offered(settings: Settings) -> bool:
    """Whether tokens minted with the demo key are the ones this gateway accepts."""
    return settings.mode != "production" and not settings.jwks_url and settings.jwks_file is None


def demo_token(settings: Settings, identity: DemoIdentity) -> str:
    return mint_token(
        ensure_demo_keys(settings.data_dir),
        identity.role,
        identity.subject,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        ttl=TOKEN_TTL,
        **identity.claims,
    )
