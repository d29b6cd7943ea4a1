"""Demo data: the merchants of the simulators' tax registry, their certificates, signed examples.

The demo merchants are the businesses ``integrations.simulators.known`` names (same tax codes
and names), so that an invoice accepted here links to a taxpayer the tax registry simulator
knows. Certificates come from the demo PKI; everything is made once and kept on later runs.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.serialization import Encoding

from gateway import demo_catalogue as catalogue
from gateway.keys import DemoPki
from integrations.einvoice.compose import InvoiceDraft, compose_invoice, compose_message
from integrations.einvoice.pki import SignerIdentity
from integrations.einvoice.signing import sign_envelope, sign_invoice
from integrations.simulators.known import MERCHANTS
from integrations.store.merchants import MerchantRegistry, MerchantView

RESTAURANT = "0100109106"
HOTEL = "0319303270"
SUPERMARKET = "0313032391"
SUPERMARKET_BRANCH = "0313032391-001"
HOUSEHOLD = "001190007777"
PROVIDER = catalogue.PROVIDER_TAX_CODE
PROVIDER_NAME = "Công ty Cổ phần Phần mềm Hóa đơn Việt"
PROVIDER_ADDRESS = "1 Phạm Văn Bạch, Phường Cầu Giấy, Hà Nội"
DEMO_MERCHANTS = (RESTAURANT, HOTEL, SUPERMARKET, SUPERMARKET_BRANCH, HOUSEHOLD)
INVOICES = "/v1/invoices"
MESSAGES = "/v1/messages"


@dataclass(frozen=True, slots=True)
class SignedExample:
    """A ready-to-submit file: where to post it and whose merchant token may submit it."""

    path: Path
    endpoint: str
    submitter: str

    def curl(self, base_url: str, token: str = "$TOKEN") -> str:
        """The command line that submits this file; ``$TOKEN`` is left for the shell to fill."""
        return (
            f"curl -sS -X POST {base_url.rstrip('/')}{self.endpoint} "
            f"-H 'Content-Type: application/xml' -H \"Authorization: Bearer {token}\" "
            f"--data-binary @{shlex.quote(str(self.path))}"
        )


async def seed_demo(registry: MerchantRegistry, pki: DemoPki) -> list[MerchantView]:
    """Register the demo merchants and the software provider, each with its certificate.

    The provider signs and submits for the restaurant. Safe to run again: existing merchants,
    certificates and grants are kept.
    """
    pki.ensure()
    for tax_code in DEMO_MERCHANTS:
        known = MERCHANTS[tax_code]
        await _register(registry, pki, tax_code, known.name, known.kind, known.address)
    await _register(registry, pki, PROVIDER, PROVIDER_NAME, "provider", PROVIDER_ADDRESS)
    await registry.grant(RESTAURANT, PROVIDER, can_sign=True, can_submit=True)
    return [await registry.get(code) for code in (*DEMO_MERCHANTS, PROVIDER)]


def write_signed_examples(folder: Path, pki: DemoPki) -> list[SignedExample]:
    """Sign the example invoices, the provider's and one 206 batch into ``folder``, in
    submission order.

    Files already there are kept: signing again would give the same invoices new bytes, which
    a gateway that took the first ones answers with 409 instead of the original receipts.
    """
    pki.ensure()
    folder.mkdir(parents=True, exist_ok=True)
    examples = [_invoice(folder, pki, name, make) for name, make in catalogue.EXAMPLES.items()]
    by_provider = catalogue.provider_signed_invoice
    examples.append(_invoice(folder, pki, "restaurant-by-provider", by_provider, PROVIDER))
    examples.append(_batch(folder, pki))
    return examples


async def _register(
    registry: MerchantRegistry, pki: DemoPki, tax_code: str, name: str, kind: str, address: str
) -> None:
    await registry.ensure(tax_code, name, kind=kind, address=address)
    identity = pki.ensure_merchant(tax_code, name)
    await registry.add_certificate(tax_code, identity.certificate.public_bytes(Encoding.PEM))


def _invoice(
    folder: Path,
    pki: DemoPki,
    name: str,
    make: Callable[[], InvoiceDraft],
    signer_tax_code: str | None = None,
) -> SignedExample:
    draft = make()
    seller = draft.seller.tax_code or ""
    path = folder / f"{name}.xml"
    if not path.exists():
        signer = _signer(pki, signer_tax_code or seller)
        raw = compose_invoice(draft)
        path.write_bytes(sign_invoice(raw, signer, signing_time=datetime.now(UTC)))
    return SignedExample(path, INVOICES, signer_tax_code or seller)


def _batch(folder: Path, pki: DemoPki) -> SignedExample:
    path = folder / "household-batch-206.xml"
    if not path.exists():
        invoices = [compose_invoice(draft) for draft in catalogue.cash_register_batch()]
        message = compose_message(206, invoices, sender=f"V{PROVIDER}", tax_code=HOUSEHOLD)
        signer = _signer(pki, HOUSEHOLD)
        path.write_bytes(sign_envelope(message, signer, signing_time=datetime.now(UTC)))
    return SignedExample(path, MESSAGES, HOUSEHOLD)


def _signer(pki: DemoPki, tax_code: str) -> SignerIdentity:
    name = PROVIDER_NAME if tax_code == PROVIDER else MERCHANTS[tax_code].name
    return pki.ensure_merchant(tax_code, name)
