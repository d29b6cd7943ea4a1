"""The intake's CPU-bound stages, cheapest first: parse, schema, signature, rules, identities.

Each stage returns findings; the first stage with an error stops the run, because later stages
would only report consequences of it. Data is read only from the element the signature
verifier vouches for, so a wrapped or forged ``DLHDon`` is never what the rules look at.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from cryptography import x509
from lxml import etree

from integrations.einvoice import codes
from integrations.einvoice.authority import check_cash_register_code
from integrations.einvoice.document import InvoiceDocument, extract_invoice
from integrations.einvoice.findings import Finding, Rejection, has_errors
from integrations.einvoice.link import check_identities
from integrations.einvoice.parse import CheckedTree, Limits, expect_root, parse_document
from integrations.einvoice.pki import fingerprint, tax_code_of
from integrations.einvoice.rules import RuleSettings, check_rules
from integrations.einvoice.schema import Schemas
from integrations.einvoice.signature import (
    SignatureCheck,
    SignaturePolicy,
    TrustStore,
    verify_invoice_signature,
)


@dataclass(frozen=True, slots=True)
class CheckSettings:
    limits: Limits = field(default_factory=Limits)
    rules: RuleSettings = field(default_factory=RuleSettings)
    signature: SignaturePolicy = field(default_factory=SignaturePolicy)


@dataclass(frozen=True, slots=True)
class Checker:
    """Everything the CPU stages need, built once per process."""

    schemas: Schemas
    trust: TrustStore
    settings: CheckSettings = field(default_factory=CheckSettings)

    def invoice(self, raw: bytes, *, now: datetime) -> Verdict:
        """Check one standalone signed invoice (``POST /v1/invoices``)."""
        try:
            root = parse_document(raw, self.settings.limits)
            expect_root(root, "HDon")
        except Rejection as rejection:
            return Verdict(raw=raw, findings=rejection.findings)
        return self.hdon(root, raw, now=now, signature_required=True)

    def hdon(
        self,
        root: etree._Element,
        raw: bytes,
        *,
        now: datetime,
        signature_required: bool,
    ) -> Verdict:
        """Check one ``HDon`` parsed from ``raw`` (a message's invoice: from its own copy).

        Cash-register invoices in a 206 batch need no seller signature (the batch is signed);
        one that carries a signature anyway must still verify.
        """
        findings = self.schemas.validate_invoice(root)
        if has_errors(findings):
            return Verdict(raw=raw, findings=findings)
        certificate = None
        signature: SignatureCheck | None = None
        if signature_required or root.find("DSCKS/NBan/*") is not None:
            signature = verify_invoice_signature(root, self.trust, self.settings.signature, now=now)
            findings += signature.findings
            if not signature.ok or signature.signed_data is None:
                return Verdict(raw=raw, findings=findings)
            data, certificate = signature.signed_data, signature.certificate
        else:
            data = root.find("DLHDon")
        try:
            document, read = extract_invoice(data)
        except Rejection as rejection:
            return Verdict(raw=raw, findings=findings + rejection.findings)
        findings += read
        findings += check_rules(document, self.settings.rules, now=now)
        findings += check_identities(document, now=now)
        cash_register_code = None
        if document.is_cash_register:
            cash_register_code = (root.findtext("MCCQT") or "").strip() or None
            findings += _cash_register_code(cash_register_code, document)
        elif root.find("MCCQT") is not None:
            # Outside the seller's signature: anyone could have written it.
            findings.append(codes.AUTHORITY_CODE_UNEXPECTED.finding(path="/HDon/MCCQT"))
        return Verdict(
            raw=raw,
            findings=findings,
            document=document,
            certificate=certificate,
            cash_register_code=cash_register_code,
            tree=_checked_tree(root, signature) if document.stamped_by_authority else None,
        )


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the CPU stages found; ``certificate`` is the one whose signature vouches for the
    invoice (its own, or its batch's), which the registries then bind to the seller.
    ``cash_register_code`` is the ``MCCQT`` of a cash-register invoice, which sits outside
    the signed ``DLHDon`` the document is read from. ``tree`` is the invoice's parsed tree
    (its own copy, for a message's), for the tax authority's stamp to take over; held only
    for an invoice the authority stamps."""

    raw: bytes
    findings: list[Finding] = field(default_factory=list)
    document: InvoiceDocument | None = None
    certificate: x509.Certificate | None = None
    cash_register_code: str | None = None
    tree: CheckedTree | None = None

    @property
    def ok(self) -> bool:
        return self.document is not None and not has_errors(self.findings)

    @property
    def signer_tax_code(self) -> str | None:
        return tax_code_of(self.certificate) if self.certificate else None

    @property
    def signer_fingerprint(self) -> str | None:
        return fingerprint(self.certificate) if self.certificate else None


def _checked_tree(root: etree._Element, signature: SignatureCheck | None) -> CheckedTree:
    if signature is None:
        return CheckedTree(root)
    return CheckedTree(root, signature.canonical, signature.ids)


def _cash_register_code(code: str | None, document: InvoiceDocument) -> list[Finding]:
    if not code:
        return [codes.CASH_REGISTER_CODE.finding("MCCQT is missing", path="HDon/MCCQT")]
    return check_cash_register_code(code, template=document.template, series=document.series)
