"""``gateway merchants``: the merchant registry in the configured database.

Each command opens the database (bringing its schema up to date first, as ``gateway migrate``
does), makes one registry call and prints the result.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click

from gateway.fleet import fleet_registry
from integrations.errors import IdentityError
from integrations.identity import parse_taxpayer_id
from integrations.store.database import open_database
from integrations.store.merchants import (
    MerchantNotFound,
    MerchantRegistry,
    MerchantView,
    RegistryError,
)
from integrations.store.models import MerchantStatus

if TYPE_CHECKING:
    from gateway.cli import SettingsContext

T = TypeVar("T")
MAX_KIND = 32


def _tax_code(ctx: click.Context, param: click.Parameter, value: str) -> str:
    try:
        return str(parse_taxpayer_id(value))
    except IdentityError as exc:
        raise click.BadParameter(exc.message) from exc


def _name(ctx: click.Context, param: click.Parameter, value: str) -> str:
    if not value.strip():
        raise click.BadParameter("must not be empty")
    return value.strip()


def _kind(ctx: click.Context, param: click.Parameter, value: str) -> str:
    if not value.strip() or len(value.strip()) > MAX_KIND:
        raise click.BadParameter(f"1 to {MAX_KIND} characters, e.g. business or household")
    return value.strip()


def run_registry(ctx: SettingsContext, work: Callable[[MerchantRegistry], Awaitable[T]]) -> T:
    """Run one registry call against the configured database; registry refusals exit 1."""
    settings = ctx.load()

    async def run() -> T:
        async with (
            open_database(settings.resolved_database_url, migrate_first=True),
            fleet_registry(settings) as registry,
        ):
            return await work(registry)

    try:
        return asyncio.run(run())
    except MerchantNotFound as exc:
        raise click.ClickException(f"{exc.message}. {exc.hint}") from exc
    except RegistryError as exc:
        raise click.ClickException(exc.message) from exc


@click.group(name="merchants")
def commands() -> None:
    """Register merchants, their certificates and the providers acting for them."""


@commands.command()
@click.argument("tax_code", callback=_tax_code)
@click.argument("name", callback=_name)
@click.option(
    "--kind", default="business", show_default=True, callback=_kind, help="e.g. household."
)
@click.option("--address", default="", help="Registered address.")
@click.pass_obj
def add(ctx: SettingsContext, tax_code: str, name: str, kind: str, address: str) -> None:
    """Register a merchant (active from now)."""
    view = run_registry(ctx, lambda r: r.add(tax_code, name, kind=kind, address=address.strip()))
    click.echo(f"registered {view.tax_code} {view.name} ({view.kind}, {view.status.value})")


@commands.command(name="list")
@click.pass_obj
def list_(ctx: SettingsContext) -> None:
    """List every merchant: tax code, status, kind, certificates, providers, name."""
    for view in run_registry(ctx, lambda r: r.all()):
        click.echo(summary(view))


@commands.command()
@click.argument("tax_code", callback=_tax_code)
@click.pass_obj
def show(ctx: SettingsContext, tax_code: str) -> None:
    """Print one merchant with its certificates and providers, as JSON."""
    view = run_registry(ctx, lambda r: r.get(tax_code))
    click.echo(json.dumps(view.as_dict(), indent=2, ensure_ascii=False))


@commands.command()
@click.argument("tax_code", callback=_tax_code)
@click.argument("status", type=click.Choice([s.value for s in MerchantStatus]))
@click.pass_obj
def status(ctx: SettingsContext, tax_code: str, status: str) -> None:
    """Set a merchant's status; only active merchants' invoices are accepted."""
    view = run_registry(ctx, lambda r: r.set_status(tax_code, MerchantStatus(status)))
    click.echo(f"{view.tax_code} is {view.status.value}")


@commands.command()
@click.argument("tax_code", callback=_tax_code)
@click.argument("pem_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_obj
def cert(ctx: SettingsContext, tax_code: str, pem_file: Path) -> None:
    """Record a signing certificate (PEM) for a merchant."""
    pem = pem_file.read_bytes()
    view = run_registry(ctx, lambda r: r.add_certificate(tax_code, pem))
    click.echo(
        f"{tax_code}: certificate {view.serial} {view.subject}, until {view.not_after:%Y-%m-%d}"
    )


@commands.command()
@click.argument("tax_code", callback=_tax_code)
@click.argument("switch", type=click.Choice(["on", "off"]))
@click.pass_obj
def pin(ctx: SettingsContext, tax_code: str, switch: str) -> None:
    """Accept only the merchant's registered certificates (on), or also those naming it (off)."""
    view = run_registry(ctx, lambda r: r.pin(tax_code, certificates_only=switch == "on"))
    if view.certificates_only:
        click.echo(f"{tax_code} takes its {len(view.certificates)} registered certificate(s) only")
    else:
        click.echo(f"{tax_code} takes its registered certificates and those naming it or a signer")


@commands.command()
@click.argument("tax_code", callback=_tax_code)
@click.argument("provider_tax_code", callback=_tax_code)
@click.option("--sign/--no-sign", default=True, show_default=True, help="May sign its invoices.")
@click.option("--submit/--no-submit", default=True, show_default=True, help="May submit them.")
@click.pass_obj
def grant(
    ctx: SettingsContext, tax_code: str, provider_tax_code: str, sign: bool, submit: bool
) -> None:
    """Authorise (or, with --no-sign --no-submit, withdraw) a provider acting for a merchant."""
    given = run_registry(
        ctx, lambda r: r.grant(tax_code, provider_tax_code, can_sign=sign, can_submit=submit)
    )
    rights = [right for right, on in (("sign", given.can_sign), ("submit", given.can_submit)) if on]
    click.echo(
        f"{given.provider_tax_code} may {' and '.join(rights) or 'do nothing'} for {tax_code}"
    )


def summary(view: MerchantView) -> str:
    return (
        f"{view.tax_code:<14} {view.status.value:<9} {view.kind:<10} "
        f"{len(view.certificates)} cert {len(view.grants)} prov  {view.name}"
    )
