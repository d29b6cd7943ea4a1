"""``gateway token``: mint a demo bearer token for any role, signed with the demo key.

Refused when the gateway verifies tokens from a real identity provider, since such a token
would be refused anyway, and in production.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import click
import jwt

from gateway.auth import principal_from_claims
from gateway.demo_tokens import ensure_demo_keys, mint_token
from integrations.access.errors import AccessError
from integrations.access.principal import Role
from integrations.errors import IdentityError
from integrations.identity import PersonalId, parse_taxpayer_id

if TYPE_CHECKING:
    from gateway.cli import SettingsContext


@click.command(name="token")
@click.argument("role", type=click.Choice([r.value for r in Role]))
@click.argument("subject")
@click.option("--tax-code", help="Merchant tax code (merchant role; default: SUBJECT).")
@click.option("--app-id", help="Client id of the app (app role; required).")
@click.option("--scope", "scopes", multiple=True, help="Officer scope, e.g. read:phone; repeat.")
@click.option(
    "--loa",
    type=click.IntRange(1, 3),
    help="Identity assurance level (citizen; default 1: invoices, insurance and utilities need 2).",
)
@click.option("--purpose", help="Purpose bound into the token (apps).")
@click.option(
    "--ttl", type=click.IntRange(1, 86_400), default=3600, show_default=True, help="Seconds."
)
@click.pass_obj
def command(
    ctx: SettingsContext,
    role: str,
    subject: str,
    tax_code: str | None,
    app_id: str | None,
    scopes: tuple[str, ...],
    loa: int | None,
    purpose: str | None,
    ttl: int,
) -> None:
    """Print a demo bearer token for ROLE with subject SUBJECT.

    A citizen's SUBJECT is their 12-digit personal ID number; a merchant's is its tax code
    unless --tax-code names another.
    """
    role_ = Role(role)
    tax_code = _identity(role_, subject, tax_code, app_id)
    settings = ctx.load()
    if settings.mode == "production" or settings.jwks_url or settings.jwks_file:
        raise click.UsageError(
            "demo tokens are only accepted with the demo keys: not in production mode, "
            "nor with GATEWAY_JWKS_URL or GATEWAY_JWKS_FILE set"
        )
    token = mint_token(
        ensure_demo_keys(settings.data_dir),
        role_,
        subject,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        ttl=timedelta(seconds=ttl),
        assurance_level=loa,
        tax_code=tax_code,
        app_id=app_id,
        scopes=scopes,
        purpose=purpose,
    )
    try:
        principal_from_claims(jwt.decode(token, options={"verify_signature": False}))
    except AccessError as exc:
        raise click.UsageError(exc.message) from exc
    click.echo(token)


def _identity(role: Role, subject: str, tax_code: str | None, app_id: str | None) -> str | None:
    """The merchant's tax code (SUBJECT unless --tax-code is given); refuses, naming the
    argument or flag to fix, a token its role could not use."""
    try:
        if role is Role.CITIZEN:
            PersonalId(subject)
        if role is Role.MERCHANT:
            return str(parse_taxpayer_id(tax_code or subject))
    except IdentityError as exc:
        where = "--tax-code" if tax_code else "SUBJECT"
        raise click.BadParameter(exc.message, param_hint=where) from exc
    if role is Role.APP and not app_id:
        raise click.UsageError("an app token needs --app-id")
    return tax_code
