"""CERT_REVOKED and CERT_NEAR_EXPIRY: the certificate that signed the invoice, looked at again.

The intake accepted the signature as valid at its signing time. Later revocation (a key
reported stolen) puts every invoice signed with that key in doubt, so it is checked against
today's revocation lists on every assessment and refresh. A certificate that expired within
days of the issue date marks invoices signed in a hurry before a switch of keys, a pattern
worth a look. The certificate is read back from the stored original: nothing else holds it.
Once read, it is remembered by the issuer and serial the intake noted for the invoice, so the
next invoice signed with it is judged without reading its original back. Invoices without a
seller signature (cash-register batches) are not judged.
"""

from __future__ import annotations

import binascii
from base64 import b64decode
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from cryptography import x509

from integrations.einvoice.findings import Rejection
from integrations.einvoice.parse import Limits, parse_document
from integrations.einvoice.pki import issuer_and_serial, serial_text
from integrations.recent import Recent
from integrations.risk.flags import Flag, FlagCode
from integrations.store.risk import InvoiceFacts, RiskStore

REMEMBERED = 10_000
"""Certificates kept by issuer and serial: each merchant signs with one or a few."""

_NS = {"ds": "http://www.w3.org/2000/09/xmldsig#"}
_SELLER_CERTIFICATES = "DSCKS/NBan/ds:Signature/ds:KeyInfo/ds:X509Data/ds:X509Certificate"


class RevocationSource(Protocol):
    """Answers from the current CRLs; ``einvoice.signature.TrustStore`` is one."""

    def is_revoked(self, certificate: x509.Certificate, at: datetime) -> bool: ...


def seller_certificate(original: bytes) -> x509.Certificate | None:
    """The end-entity certificate of the seller signature, or None when there is none."""
    try:
        root = parse_document(original, Limits(max_bytes=max(len(original), 1)))
    except Rejection:
        return None
    for element in root.findall(_SELLER_CERTIFICATES, _NS):
        try:
            certificate = x509.load_der_x509_certificate(b64decode(element.text or ""))
        except (ValueError, binascii.Error):
            continue
        if not _is_ca(certificate):
            return certificate
    return None


def _is_ca(certificate: x509.Certificate) -> bool:
    try:
        return certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return False


@dataclass(frozen=True, slots=True)
class CertificateCheck:
    store: RiskStore
    revocations: RevocationSource
    near_expiry: timedelta
    clock: Callable[[], datetime]
    codes: frozenset[FlagCode] = frozenset({FlagCode.CERT_REVOKED, FlagCode.CERT_NEAR_EXPIRY})
    remembered: Recent[tuple[str, str], x509.Certificate] = field(
        default_factory=lambda: Recent(REMEMBERED)
    )

    async def run(self, facts: InvoiceFacts) -> list[Flag]:
        certificate = await self._certificate(facts)
        if certificate is None:
            return []
        flags = []
        serial = serial_text(certificate)
        if self.revocations.is_revoked(certificate, self.clock()):
            flags.append(Flag(FlagCode.CERT_REVOKED, f"certificate {serial} is revoked"))
        expires = certificate.not_valid_after_utc.date()
        if expires - facts.issued_on < self.near_expiry:
            detail = f"certificate {serial} expires {expires.isoformat()}"
            flags.append(Flag(FlagCode.CERT_NEAR_EXPIRY, detail))
        return flags

    async def _certificate(self, facts: InvoiceFacts) -> x509.Certificate | None:
        """The seller's certificate: remembered, or read from the original. It is remembered
        only when it is the one the intake noted, so a certificate read from one invoice
        answers for another only under the same issuer and serial."""
        signer = facts.signer
        if signer is not None and (known := self.remembered.find(signer)) is not None:
            return known
        original = await self.store.original(facts.id)
        certificate = seller_certificate(original) if original else None
        if certificate is not None and (identity := issuer_and_serial(certificate)) == signer:
            self.remembered.keep(identity, certificate)
        return certificate
