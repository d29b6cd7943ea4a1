"""``gateway invoice``: what a merchant does with an invoice file: sign, verify, submit.

``verify`` runs the intake's CPU stages (parse, schema, signature, data, rules) offline with the
gateway's trust anchors and prints every finding; the registry checks need the running gateway.
``verify-receipt`` checks a saved JSON receipt against the gateway's published signing keys.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import aiohttp
import click

from gateway.commands.pki import demo_pki
from gateway.config import ConfigError, Settings
from gateway.keys import load_key_material
from gateway.services import build_checker
from integrations.einvoice import codes
from integrations.einvoice.batches import CASH_REGISTER_BATCH, check_message
from integrations.einvoice.checks import Verdict
from integrations.einvoice.findings import Finding, Rejection, Severity, has_errors
from integrations.einvoice.parse import Limits, parse_document
from integrations.einvoice.pki import SignerIdentity
from integrations.einvoice.receipt_keys import (
    ALGORITHM,
    ReceiptInvalid,
    ReceiptKeys,
    ReceiptKeysInvalid,
    key_set,
)
from integrations.einvoice.receipts import ReceiptSigner
from integrations.einvoice.signature import TrustStore, TrustStoreError
from integrations.einvoice.signing import SigningError, sign_envelope, sign_invoice

if TYPE_CHECKING:
    from gateway.cli import SettingsContext

SUBMIT_TIMEOUT = aiohttp.ClientTimeout(total=60)
readable_file = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.group(name="invoice")
def commands() -> None:
    """Sign, verify and submit invoice files (HDon) and 206 batches (TDiep)."""


@commands.command()
@click.argument("file", type=readable_file)
@click.option("--key", "key_file", type=readable_file, required=True, help="PEM private key.")
@click.option("--cert", "cert_file", type=readable_file, required=True, help="PEM certificate.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the signed file (default: <name>.signed.xml next to FILE).",
)
@click.option("--sha1", is_flag=True, help="Sign with RSA-SHA1, as some legacy software does.")
@click.pass_obj
def sign(
    ctx: SettingsContext, file: Path, key_file: Path, cert_file: Path, out: Path | None, sha1: bool
) -> None:
    """Sign an invoice (DSCKS/NBan) or a 206 cash-register batch (CKSNNT)."""
    try:
        signer = SignerIdentity.load(key_file, cert_file)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--key/--cert") from exc
    raw = file.read_bytes()
    sign_as = sign_envelope if _signable_root(raw, ctx.load()) == "TDiep" else sign_invoice
    try:
        signed = sign_as(
            raw,
            signer,
            signing_time=datetime.now(UTC),
            algorithm="rsa-sha1" if sha1 else "rsa-sha256",
        )
    except SigningError as exc:
        raise click.ClickException(f"{file}: {exc.message}") from exc
    target = out or file.with_name(f"{file.stem}.signed.xml")
    target.write_bytes(signed)
    click.echo(f"signed {file} as MST:{signer.tax_code or '?'} into {target}")


@commands.command()
@click.argument("file", type=readable_file)
@click.pass_obj
def verify(ctx: SettingsContext, file: Path) -> None:
    """Check a signed invoice or message offline and print every finding; exit 1 on any error."""
    settings = ctx.load()
    checker = build_checker(settings, trust_store(ctx, settings))
    raw, now = file.read_bytes(), datetime.now(UTC)
    verdict = checker.invoice(raw, now=now)
    if any(f.code == codes.WRONG_ROOT.code for f in verdict.findings):
        message = check_message(checker, raw, now=now)
        findings = _echo_message(message.findings, message.invoices)
    else:
        findings = _echo_invoice(verdict)
    errors = sum(f.is_error for f in findings)
    click.echo(f"{errors} error(s), {len(findings) - errors} warning(s)")
    if errors:
        raise SystemExit(1)


@commands.command(name="verify-receipt")
@click.argument("file", type=readable_file)
@click.option(
    "--jwks",
    "source",
    metavar="URL_OR_FILE",
    help="The gateway's key set: its /.well-known/jwks.json URL, or a saved copy "
    "(default: the signing keys in the settings).",
)
@click.pass_obj
def verify_receipt(ctx: SettingsContext, file: Path, source: str | None) -> None:
    """Check a saved JSON receipt: its signature verifies with the key its kid names, and it
    signs exactly the receipt's content; print what was checked; exit 1 when it does not hold."""
    receipt = _json_of(file.read_bytes(), str(file))
    keys, origin = _receipt_keys(ctx, source)
    try:
        checked = keys.verify(receipt)
    except ReceiptInvalid as exc:
        label = receipt.get("receiptId") if isinstance(receipt, dict) else None
        click.echo(f"receipt {label or file}: INVALID")
        click.echo(f"{exc.code}\n    {exc.message}\n    hint: {exc.hint}")
        raise SystemExit(1) from None
    click.echo(f"receipt {checked.receipt_id or file}: valid")
    click.echo(f"    signature: {ALGORITHM} with key {checked.key.key_id}, from {origin}")
    if checked.key.chain:
        leaf = checked.key.chain[0]
        click.echo(
            f"    certificate: {leaf.subject.rfc4514_string()}, issued by "
            f"{leaf.issuer.rfc4514_string()}, valid {leaf.not_valid_before_utc:%Y-%m-%d} "
            f"to {leaf.not_valid_after_utc:%Y-%m-%d}"
        )
    click.echo(f"    content: all {checked.fields} fields are exactly what was signed")


@commands.command()
@click.argument("file", type=readable_file)
@click.option("--url", required=True, help="Base URL of the gateway, e.g. http://127.0.0.1:8000")
@click.option(
    "--token", required=True, envvar="GATEWAY_TOKEN", help="Bearer token ($GATEWAY_TOKEN)."
)
@click.option("--message", is_flag=True, help="FILE is a TDiep envelope: post to /v1/messages.")
def submit(file: Path, url: str, token: str, message: bool) -> None:
    """Submit a signed file; print the receipt, or every error and exit 1 when rejected."""
    endpoint = url.rstrip("/") + ("/v1/messages" if message else "/v1/invoices")
    try:
        status, body = asyncio.run(_post(endpoint, file.read_bytes(), token))
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise click.ClickException(f"cannot reach {endpoint}: {exc or type(exc).__name__}") from exc
    click.echo(f"HTTP {status}")
    rejected = _echo_answer(status, body)
    if rejected:
        raise SystemExit(1)


def trust_store(ctx: SettingsContext, settings: Settings) -> TrustStore:
    """The configured trust anchors and CRLs, else those of the demo PKI in the data folder."""
    anchors, crls = settings.trust_anchors, settings.crl_files
    if not anchors:
        pki = demo_pki(ctx, None)
        if not pki.ca_files[1].exists():
            raise click.UsageError(
                "no trust anchors: set GATEWAY_TRUST_ANCHORS or run `gateway pki init`"
            )
        anchors, crls = (pki.ca_files[1],), crls or (pki.crl_file,)
    try:
        return TrustStore.from_files(anchors, crls)
    except TrustStoreError as exc:
        raise click.ClickException(exc.message) from exc


def _receipt_keys(ctx: SettingsContext, source: str | None) -> tuple[ReceiptKeys, str]:
    """The key set to check against, and where it came from."""
    if source is None:
        settings = ctx.load()
        try:
            material = load_key_material(settings)
        except ConfigError as exc:
            raise click.UsageError(str(exc)) from exc
        chains = ReceiptSigner(material.signer, material.retired).chains
        document: Any = key_set(chains)
        origin = "the signing keys in the settings"
    elif urlsplit(source).scheme in ("http", "https"):
        try:
            document = _json_of(asyncio.run(_fetch(source)), source)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise click.ClickException(
                f"cannot fetch {source}: {exc or type(exc).__name__}"
            ) from exc
        origin = source
    else:
        try:
            document = _json_of(Path(source).read_bytes(), source)
        except OSError as exc:
            raise click.ClickException(f"cannot read {source}: {exc.strerror}") from exc
        origin = source
    try:
        return ReceiptKeys.from_jwks(document), origin
    except ReceiptKeysInvalid as exc:
        raise click.ClickException(f"{origin}: {exc.message}") from exc


def _json_of(raw: bytes, origin: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise click.ClickException(f"{origin} is not JSON: {exc}") from exc


async def _fetch(url: str) -> bytes:
    async with (
        aiohttp.ClientSession(timeout=SUBMIT_TIMEOUT) as session,
        session.get(url, headers={"Accept": "application/jwk-set+json, application/json"}) as got,
    ):
        got.raise_for_status()
        return await got.read()


def describe(finding: Finding) -> str:
    """A finding as the CLI prints it: code, severity and path, then message and hint."""
    lines = [f"{finding.code} {finding.severity.value:<7} {finding.path or '-'}"]
    lines.append(f"    {finding.message}")
    if finding.hint:
        lines.append(f"    hint: {finding.hint}")
    return "\n".join(lines)


def _signable_root(raw: bytes, settings: Settings) -> str:
    try:
        root = parse_document(raw, Limits(max_bytes=settings.max_body_bytes))
    except Rejection as rejection:
        raise click.ClickException(_joined(rejection.findings)) from rejection
    if root.tag == "TDiep":
        kind = (root.findtext("TTChung/MLTDiep") or "").strip()
        if kind != str(CASH_REGISTER_BATCH):
            raise click.ClickException(
                f"only {CASH_REGISTER_BATCH} batches carry an envelope signature; "
                f"sign each invoice of a {kind or 'untyped'} message before wrapping it"
            )
    elif root.tag != "HDon":
        raise click.ClickException(f"expected HDon or TDiep, found {root.tag}")
    return str(root.tag)


def _echo_invoice(verdict: Verdict, label: str = "invoice") -> list[Finding]:
    document = verdict.document
    if document is not None:
        key = "/".join(map(str, document.key))
        label = f"{label} {key}" + (
            f" signed by MST:{verdict.signer_tax_code}" if verdict.signer_tax_code else ""
        )
    click.echo(f"{label}: {'valid' if verdict.ok else 'INVALID'}")
    _echo_findings(verdict.findings)
    return list(verdict.findings)


def _echo_message(envelope: list[Finding], invoices: list[Verdict]) -> list[Finding]:
    click.echo(f"message: {'INVALID' if has_errors(envelope) else 'valid'} envelope")
    _echo_findings(envelope)
    findings = list(envelope)
    for position, verdict in enumerate(invoices, start=1):
        findings += _echo_invoice(verdict, f"  invoice {position}")
    return findings


def _echo_findings(findings: Iterable[Finding]) -> None:
    for finding in findings:
        click.echo(describe(finding))


def _joined(findings: list[Finding]) -> str:
    return "; ".join(f"{f.code} {f.message}" for f in findings)


async def _post(endpoint: str, raw: bytes, token: str) -> tuple[int, Any]:
    headers = {
        "Content-Type": "application/xml",
        "Accept": "application/json",
        "Authorization": f"Bearer {token}",
    }
    async with (
        aiohttp.ClientSession(timeout=SUBMIT_TIMEOUT) as session,
        session.post(endpoint, data=raw, headers=headers) as response,
    ):
        text = await response.text()
        try:
            return response.status, json.loads(text)
        except ValueError:
            return response.status, text


def _echo_answer(status: int, body: Any) -> bool:
    """Print the gateway's answer; True when anything was rejected."""
    if not isinstance(body, dict):
        click.echo(str(body))
        return status >= 300
    errors = body.get("errors")
    if isinstance(errors, list):
        for error in errors:
            click.echo(_describe_json(error))
        for warning in body.get("warnings") or ():
            click.echo(_describe_json(warning))
        return True
    items = body.get("items")
    if isinstance(items, list):
        return _echo_items(items) or status >= 300
    click.echo(json.dumps(body, indent=2, ensure_ascii=False))
    return status >= 300


def _echo_items(items: list[dict[str, Any]]) -> bool:
    rejected = False
    for item in items:
        outcome = item.get("outcome", "?")
        click.echo(
            f"invoice {item.get('position')}: {outcome} {item.get('receiptId') or ''}".rstrip()
        )
        for error in [*item.get("errors", ()), *item.get("warnings", ())]:
            click.echo(_describe_json(error))
        rejected = rejected or outcome not in ("accepted", "replayed")
    return rejected


def _describe_json(error: dict[str, Any]) -> str:
    finding = Finding(
        code=str(error.get("code", "")),
        message=str(error.get("message", "")),
        severity=Severity.WARNING if error.get("severity") == "warning" else Severity.ERROR,
        path=str(error.get("path", "")),
        hint=str(error.get("hint", "")),
    )
    return describe(finding)
