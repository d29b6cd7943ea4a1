"""``gateway audit``: check the access log's hash chains, one per writer, and its signed
checkpoints."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

import click
from cryptography import x509

from gateway.config import ConfigError, Settings
from gateway.keys import load_key_material
from integrations.access.audit import AuditLog, VerifyReport
from integrations.access.checkpoints import CheckpointKeys, CheckpointRefused
from integrations.einvoice.pki import SignerIdentity
from integrations.einvoice.receipts import ReceiptSigner
from integrations.store.audit import Checkpoint
from integrations.store.database import open_database

if TYPE_CHECKING:
    from gateway.cli import SettingsContext


@click.group(name="audit")
def commands() -> None:
    """The access log of reads of personal data."""


@commands.command()
@click.option(
    "--certificate",
    "certificates",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="PEM certificate of a retired gateway key, for checkpoints it signed; repeat.",
)
@click.pass_obj
def verify(ctx: SettingsContext, certificates: tuple[Path, ...]) -> None:
    """Walk every writer's hash chain and hold it to every signed checkpoint; exit 1 at the
    first event changed, deleted or reordered, or the first checkpoint cut away, rewritten or
    forged. Prints each chain's events, head and how many of them a checkpoint covers."""
    settings = ctx.load()
    current = _gateway_identity(settings).certificate
    retired = [
        c for path in certificates for c in x509.load_pem_x509_certificates(path.read_bytes())
    ]
    keys = CheckpointKeys.of([current, *retired])
    report = asyncio.run(_verify(settings.resolved_database_url, keys))
    if not report.ok:
        where = (
            f"event {report.first_bad_id}"
            if report.first_bad_id is not None
            else f"checkpoint #{report.bad_checkpoint_id}"
        )
        chain = "" if report.bad_chain is None else f" (chain {report.bad_chain})"
        click.echo(
            f"audit log broken at {where}{chain}: {report.problem} "
            f"({report.checked} events before it are intact)",
            err=True,
        )
        raise SystemExit(1)
    chains = len(report.chains)
    click.echo(
        f"audit log intact: {report.checked} events in {chains} chain{'' if chains == 1 else 's'}"
    )
    for chain in report.chains:
        click.echo(
            f"  chain {chain.chain}: {chain.events} events, head {chain.head_hash}, "
            f"{chain.signed} signed, {chain.events - chain.signed} after its last checkpoint"
        )
    click.echo(_coverage(report))


@commands.command()
@click.pass_obj
def checkpoint(ctx: SettingsContext) -> None:
    """Sign the heads of the access log's chains now and print the checkpoint, then its JWS
    to keep apart."""
    settings = ctx.load()
    signer = ReceiptSigner(_gateway_identity(settings))
    try:
        made = asyncio.run(_checkpoint(settings.resolved_database_url, signer))
    except CheckpointRefused as exc:
        click.echo(f"no checkpoint signed: {exc.message}", err=True)
        raise SystemExit(1) from None
    click.echo(
        f"checkpoint #{made.id}: {made.count} events up to event {made.head_id}, "
        f"head {made.head_hash}, signed at {made.at.isoformat()} with key {made.key_id}"
    )
    for chain, head in sorted((made.heads or {}).items()):
        click.echo(f"  chain {chain}: {head.seq} events up to event {head.id}, head {head.hash}")
    click.echo(made.signature)


def _gateway_identity(settings: Settings) -> SignerIdentity:
    """The key and certificate the running gateway signs with, receipts and checkpoints alike."""
    try:
        return load_key_material(settings).signer
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc


def _coverage(report: VerifyReport) -> str:
    latest = report.latest_checkpoint
    if latest is None:
        return (
            f"no checkpoint: all {report.checked} events are unprotected against cutting the "
            "newest ones or rewriting the chain; run `gateway audit checkpoint`"
        )
    return (
        f"{report.checkpoints} checkpoint{'' if report.checkpoints == 1 else 's'} confirmed, "
        f"the newest #{latest.id} signed at "
        f"{latest.at.isoformat()}; {report.unprotected} events after the last checkpoint "
        "are covered by none yet"
    )


async def _verify(url: str, keys: CheckpointKeys) -> VerifyReport:
    async with open_database(url, migrate_first=True) as database:
        return await AuditLog(database).verify(keys=keys)


async def _checkpoint(url: str, signer: ReceiptSigner) -> Checkpoint:
    async with open_database(url, migrate_first=True) as database:
        return await AuditLog(database).checkpoint(signer)
