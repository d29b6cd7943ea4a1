"""Keys, merchants and signed invoices for intake tests, made once per session."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from gateway.config import Settings
from integrations.einvoice.compose import (
    InvoiceDraft,
    LineDraft,
    PartyDraft,
    compose_invoice,
    compose_message,
)
from integrations.einvoice.pki import (
    CertificateAuthority,
    SignerIdentity,
    write_certificates,
    write_crl,
)
from integrations.einvoice.signing import sign_envelope, sign_invoice

RESTAURANT = "0100109106"
HOTEL = "0319303270"
PROVIDER = "0309612872"
STRANGER = "0106324653"
BUYER_ID = "001099012345"


@dataclass(frozen=True)
class Keys:
    ca: CertificateAuthority
    gateway: SignerIdentity
    restaurant: SignerIdentity
    hotel: SignerIdentity
    provider: SignerIdentity
    stranger: SignerIdentity
    revoked: SignerIdentity
    anchor_file: Path
    crl_file: Path
    gateway_key: Path
    gateway_cert: Path


def intake_ready(settings: Settings, keys: Keys) -> Settings:
    """``settings`` with the test CA as trust anchor, its CRL, and the gateway's signing key."""
    return settings.with_values(
        trust_anchors=(keys.anchor_file,),
        crl_files=(keys.crl_file,),
        signing_key=keys.gateway_key,
        signing_cert=keys.gateway_cert,
    )


def make_keys(folder: Path) -> Keys:
    now = datetime.now(UTC)
    start, end = now - timedelta(days=2), now + timedelta(days=365)
    ca = CertificateAuthority.create("Test Signature CA", valid_from=start, valid_days=400)

    def issue(name: str, tax_code: str | None) -> SignerIdentity:
        return ca.issue(name, tax_code=tax_code, valid_from=start, valid_to=end)

    revoked = issue("Revoked restaurant key", RESTAURANT)
    gateway = issue("Cổng dữ liệu hóa đơn (test)", None)
    anchor = write_certificates(folder / "ca.pem", ca.certificate)
    crl = write_crl(ca.revoke([revoked.serial_number], revoked_at=start), folder / "ca.crl.pem")
    gateway_key, gateway_cert = gateway.to_pem_files(folder, "gateway")
    return Keys(
        ca=ca,
        gateway=gateway,
        restaurant=issue("Nhà hàng Sen Hồ Tây", RESTAURANT),
        hotel=issue("Khách sạn Sông Sài Gòn", HOTEL),
        provider=issue("Phần mềm hóa đơn Phương Nam", PROVIDER),
        stranger=issue("Công ty khác", STRANGER),
        revoked=revoked,
        anchor_file=anchor,
        crl_file=crl,
        gateway_key=gateway_key,
        gateway_cert=gateway_cert,
    )


def draft(
    number: int = 1,
    *,
    seller: str = RESTAURANT,
    coded: bool = True,
    buyer: PartyDraft | None = None,
    quantity: int = 2,
) -> InvoiceDraft:
    today = date.today()
    return InvoiceDraft(
        seller=PartyDraft(
            name="Nhà hàng Sen Hồ Tây", tax_code=seller, address="614 Lạc Long Quân, Hà Nội"
        ),
        buyer=buyer or PartyDraft(name="Nguyễn Văn An", personal_id=BUYER_ID, address="Hà Nội"),
        lines=(
            LineDraft("Phở bò tái", Decimal(quantity), Decimal(65000), "8%", "bát"),
            LineDraft("Bia Hà Nội", Decimal(3), Decimal(25000), "10%", "chai"),
        ),
        series=f"{'C' if coded else 'K'}{today:%y}TAA",
        number=number,
        issued_on=today,
    )


def signed(invoice: InvoiceDraft, signer: SignerIdentity, **kwargs: object) -> bytes:
    return sign_invoice(compose_invoice(invoice), signer, signing_time=datetime.now(UTC), **kwargs)


def cash_register_batch(
    signer: SignerIdentity,
    numbers: tuple[int, ...],
    *,
    series: str = "MAA",
    message_id: str | None = None,
) -> bytes:
    """A signed 206 message of the restaurant's cash-register invoices with these numbers."""
    today = date.today()
    invoices = [
        compose_invoice(
            relabel(
                draft(n),
                series=f"C{today:%y}{series}",
                cash_register_code=f"M1-{today:%y}-AB12C-{n:011d}",
            )
        )
        for n in numbers
    ]
    envelope = compose_message(
        206, invoices, sender=f"V{RESTAURANT}", tax_code=RESTAURANT, message_id=message_id
    )
    return sign_envelope(envelope, signer, signing_time=datetime.now(UTC))


def relabel(invoice: InvoiceDraft, **changes: object) -> InvoiceDraft:
    return replace(invoice, **changes)


BAD_ATTRIBUTES = 60_000


def with_bad_attributes(document: bytes, element: bytes = b"<TTChung>") -> bytes:
    """Tens of thousands of attributes the schema forbids, each one a finding: 590 KB."""
    attributes = b"".join(b' a%d=""' % n for n in range(BAD_ATTRIBUTES))
    return document.replace(element, element[:-1] + attributes + b">", 1)
