"""``gateway pki``: the demo certificate authority, merchant certificates and the CRL.

The CA lives where the gateway looks for it when no trust anchors are configured
(``<data_dir>/pki``), so what these commands issue and revoke is what a demo gateway trusts.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from gateway.keys import DemoPki
from integrations.einvoice.pki import CertificateAuthority, write_crl
from integrations.errors import IdentityError
from integrations.identity import parse_taxpayer_id

if TYPE_CHECKING:
    from gateway.cli import SettingsContext

CRL_VALIDITY = timedelta(days=7)

folder_option = click.option(
    "--dir",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder of the demo PKI (default: <data_dir>/pki).",
)


def demo_pki(ctx: SettingsContext, folder: Path | None) -> DemoPki:
    return DemoPki(folder if folder is not None else ctx.load().data_dir / "pki")


def existing_pki(ctx: SettingsContext, folder: Path | None) -> DemoPki:
    pki = demo_pki(ctx, folder)
    if not pki.ca_files[1].exists():
        raise click.UsageError(f"no demo CA in {pki.folder}; run `gateway pki init` first")
    return pki


@click.group(name="pki")
def commands() -> None:
    """The demo certificate authority: create it, issue merchant certificates, revoke them."""


@commands.command()
@folder_option
@click.pass_obj
def init(ctx: SettingsContext, folder: Path | None) -> None:
    """Create the demo CA, its CRL and the gateway's identity; existing files are kept."""
    pki = demo_pki(ctx, folder).ensure()
    click.echo(f"trust anchor  {pki.ca_files[1]}")
    click.echo(f"CRL           {pki.crl_file}")
    click.echo(f"gateway       {pki.gateway_files[1]}")


@commands.command()
@click.option("--tax-code", required=True, help="Tax code (or 12-digit personal ID) to certify.")
@click.option("--name", required=True, help="Subject common name, e.g. the business name.")
@click.option(
    "--days", type=click.IntRange(1, 3650), default=730, show_default=True, help="Validity."
)
@folder_option
@click.pass_obj
def issue(ctx: SettingsContext, tax_code: str, name: str, days: int, folder: Path | None) -> None:
    """Issue a signing certificate whose subject carries UID=MST:<tax code>."""
    code = _tax_code(tax_code)
    if not name.strip():
        raise click.BadParameter("must not be empty", param_hint="--name")
    pki = existing_pki(ctx, folder)
    now = datetime.now(UTC)
    identity = pki.authority().issue(
        name.strip(),
        tax_code=code,
        valid_from=now - timedelta(days=1),
        valid_to=now + timedelta(days=days),
    )
    key, cert = identity.to_pem_files(pki.folder, f"merchant-{code}")
    click.echo(f"serial        {identity.serial_number:x}")
    click.echo(f"key           {key}")
    click.echo(f"certificate   {cert}")


@commands.command()
@click.option("--serial", required=True, help="Serial number of the certificate, in hex.")
@folder_option
@click.pass_obj
def revoke(ctx: SettingsContext, serial: str, folder: Path | None) -> None:
    """Add a certificate to the CRL, keeping earlier revocations and their dates."""
    number = _serial(serial)
    pki = existing_pki(ctx, folder)
    revoked = revocations(pki.crl_file)
    if number in revoked:
        click.echo(f"{number:x} was already revoked on {revoked[number].isoformat()}")
        return
    now = datetime.now(UTC)
    revoked[number] = now
    write_crl(signed_crl(pki.authority(), revoked, now), pki.crl_file)
    click.echo(f"revoked {number:x}; {pki.crl_file} lists {len(revoked)} certificate(s)")


def revocations(crl_file: Path) -> dict[int, datetime]:
    """Serial number to revocation date, for every entry of the current CRL."""
    if not crl_file.exists():
        return {}
    crl = x509.load_pem_x509_crl(crl_file.read_bytes())
    return {entry.serial_number: entry.revocation_date_utc for entry in crl}


def signed_crl(
    ca: CertificateAuthority, revoked: dict[int, datetime], issued: datetime
) -> x509.CertificateRevocationList:
    """A new CRL with each serial's own revocation date.

    ``CertificateAuthority.revoke`` dates every entry alike; moving an old revocation to today
    would make invoices signed with that certificate in between look valid again.
    """
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.certificate.subject)
        .last_update(issued)
        .next_update(issued + CRL_VALIDITY)
        .add_extension(x509.CRLNumber(int(issued.timestamp())), critical=False)
    )
    for serial, revoked_at in sorted(revoked.items()):
        entry = x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(revoked_at)
        builder = builder.add_revoked_certificate(entry.build())
    return builder.sign(ca.private_key, hashes.SHA256())


def _tax_code(text: str) -> str:
    try:
        return str(parse_taxpayer_id(text))
    except IdentityError as exc:
        raise click.BadParameter(exc.message, param_hint="--tax-code") from exc


def _serial(text: str) -> int:
    try:
        number = int(text.strip().removeprefix("0x").replace(":", ""), 16)
    except ValueError:
        raise click.BadParameter("a hexadecimal serial number", param_hint="--serial") from None
    if number <= 0:
        raise click.BadParameter("a positive serial number", param_hint="--serial")
    return number
