"""Receipts the gateway signs: a JSON body with a JWS, and the message-envelope replies.

Every receipt has an id a merchant can check offline: ``<seller tax code>-<YYYYMMDD>-<12 hex>-
<2 hex>``, the last part being the first byte of the SHA-256 of what precedes it. The JSON form
is stored with its compact JWS (RS256 over the canonical JSON body), so it can be served again
byte for byte for the whole retention period. The XML replies follow the national message
envelope: 999 (technical receipt), 202 (coded invoice) and 204 (data-check notice, form
01/TB-KTDL, listing each error with its code, text and how to fix it). A reply lists at most
``MAX_LISTED`` errors per invoice; one more entry, code 1013, says how many it left out.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import uuid4

import jwt
import orjson
from cryptography import x509
from lxml import etree

from integrations.einvoice import codes
from integrations.einvoice.findings import Finding
from integrations.einvoice.pki import SignerIdentity, fingerprint
from integrations.einvoice.signing import format_signing_time, sign_document

GATEWAY_CODE = "TCT"
NOTICE_FORM = "01/TB-KTDL"
NOTICE_NAME = "Thông báo về việc kết quả kiểm tra dữ liệu hóa đơn điện tử"


class NoticeKind:
    """LTBao values of the 204 notice."""

    NOT_ELIGIBLE = 1
    VALID = 2
    SOME_INVALID = 3
    CASH_REGISTER_INVALID = 7
    OTHER_INVALID = 9


def new_receipt_id(seller_tax_code: str, accepted_at: datetime) -> str:
    stem = f"{seller_tax_code}-{accepted_at:%Y%m%d}-{secrets.token_hex(6).upper()}"
    return f"{stem}-{_check(stem)}"


def is_receipt_id(text: str) -> bool:
    stem, _, check = text.rpartition("-")
    return bool(stem) and check == _check(stem)


def _check(stem: str) -> str:
    return hashlib.sha256(stem.encode()).hexdigest()[:2].upper()


def canonical_json(body: dict[str, Any]) -> bytes:
    return orjson.dumps(body, option=orjson.OPT_SORT_KEYS)


@dataclass(frozen=True, slots=True)
class ReceiptSigner:
    """Signs receipts with the gateway's identity.

    ``retired`` holds the certificate chains of the keys it signed with before a rotation: they
    are published with the current one, so that the receipts they signed still verify.
    """

    identity: SignerIdentity
    retired: tuple[tuple[x509.Certificate, ...], ...] = ()

    @property
    def key_id(self) -> str:
        """The ``kid`` of its signatures: the certificate's SHA-256 fingerprint, stable across
        restarts and the same one ``/.well-known/jwks.json`` publishes."""
        return fingerprint(self.identity.certificate)

    @property
    def chains(self) -> list[tuple[x509.Certificate, ...]]:
        """Every key's certificate chain, leaf first: the current key's, then the retired."""
        return [tuple(self.identity.certificates), *self.retired]

    def seal(self, body: dict[str, Any]) -> dict[str, Any]:
        """The body with a ``signature`` field: a compact JWS whose payload is the body."""
        token = jwt.api_jws.encode(
            canonical_json(body),
            self.identity.private_key,
            algorithm="RS256",
            headers={"kid": self.key_id},
        )
        return {**body, "signature": token}

    def verify(self, sealed: dict[str, Any]) -> bool:
        body = {k: v for k, v in sealed.items() if k != "signature"}
        try:
            payload = jwt.api_jws.decode(
                sealed["signature"],
                self.identity.certificate.public_key(),
                algorithms=["RS256"],
            )
        except (KeyError, jwt.InvalidTokenError):
            return False
        return bool(payload == canonical_json(body))

    def sign_xml(self, root: etree._Element, *, signed_at: datetime) -> bytes:
        notice = root.find("DLieu/TBao")
        if notice is None:
            raise ValueError("a reply to sign needs DLieu/TBao")
        notice_id = notice.get("Id") or f"TBao-{uuid4().hex}"
        notice.set("Id", notice_id)
        return sign_document(
            root,
            location="DLieu/TBao/DSCKS/CQT",
            reference_ids=[notice_id],
            signer=self.identity,
            signing_time=signed_at,
            enveloped=True,
        )


@dataclass(frozen=True, slots=True)
class Envelope:
    """What a reply needs to know about the message it answers."""

    answers: str
    receiver: str
    tax_code: str
    version: str = "2.1.0"


def _header(parent: etree._Element, envelope: Envelope, message_type: int, count: int) -> None:
    header = etree.SubElement(parent, "TTChung")
    _text(header, "PBan", envelope.version)
    _text(header, "MNGui", GATEWAY_CODE)
    _text(header, "MNNhan", envelope.receiver)
    _text(header, "MLTDiep", str(message_type))
    _text(header, "MTDiep", f"{GATEWAY_CODE}{uuid4().hex.upper()}")
    _text(header, "MTDTChieu", envelope.answers)
    _text(header, "MST", envelope.tax_code)
    _text(header, "SLuong", str(count))


def _text(parent: etree._Element, tag: str, value: str) -> etree._Element:
    element = etree.SubElement(parent, tag)
    element.text = value
    return element


def technical_receipt(
    envelope: Envelope, *, received_at: datetime, findings: Sequence[Finding] = ()
) -> etree._Element:
    """999: the message arrived (``TTTNhan`` 0) or could not be read (1, with reasons)."""
    root = etree.Element("TDiep")
    _header(root, envelope, 999, 1)
    notice = etree.SubElement(etree.SubElement(root, "DLieu"), "TBao")
    _text(notice, "MTDiep", envelope.answers)
    _text(notice, "MNGui", envelope.receiver)
    _text(notice, "NNhan", format_signing_time(received_at))
    errors = codes.bounded(f for f in findings if f.is_error)
    _text(notice, "TTTNhan", "1" if errors else "0")
    if errors:
        reasons = etree.SubElement(notice, "DSLDo")
        for finding in errors:
            reason = etree.SubElement(reasons, "LDo")
            _text(reason, "MLoi", finding.code)
            _text(reason, "MTa", finding.message[:255])
    return root


def coded_invoice(envelope: Envelope, stamped_invoice: bytes) -> etree._Element:
    """202: the invoice with its tax authority code and the gateway's signature."""
    root = etree.Element("TDiep")
    _header(root, envelope, 202, 1)
    data = etree.SubElement(root, "DLieu")
    data.append(etree.fromstring(stamped_invoice))
    return root


@dataclass(frozen=True, slots=True)
class CheckedInvoice:
    """One invoice's line in a 204 notice."""

    template: str
    series: str
    number: str
    issued_on: str
    findings: Sequence[Finding]


def check_notice(
    envelope: Envelope,
    *,
    kind: int,
    seller_name: str,
    checked: Iterable[CheckedInvoice],
    notice_number: str,
    sent_at: datetime,
) -> etree._Element:
    """204: the data-check result, one ``LCMa`` group per invoice with its reasons."""
    items = list(checked)
    root = etree.Element("TDiep")
    _header(root, envelope, 204, 1)
    notice = etree.SubElement(etree.SubElement(root, "DLieu"), "TBao")
    body = etree.SubElement(notice, "DLTBao")
    for tag, value in (
        ("PBan", envelope.version),
        ("MSo", NOTICE_FORM),
        ("Ten", NOTICE_NAME),
        ("So", notice_number),
        ("DDanh", "Hà Nội"),
        ("NTBao", sent_at.date().isoformat()),
        ("MST", envelope.tax_code),
        ("TNNT", seller_name[:400]),
        ("TGGui", format_signing_time(sent_at)),
        ("LTBao", str(kind)),
        ("CCu", envelope.answers),
        ("MGDDTu", envelope.answers),
        ("SLuong", str(len(items))),
    ):
        _text(body, tag, value)
    for item in items:
        group = etree.SubElement(body, "LCMa")
        _text(group, "KHMSHDon", item.template)
        _text(group, "KHHDon", item.series)
        _text(group, "SHDon", item.number)
        _text(group, "NLap", item.issued_on)
        reasons = etree.SubElement(group, "DSLDo")
        for position, finding in enumerate(codes.bounded(item.findings), start=1):
            reason = etree.SubElement(reasons, "LDo")
            _text(reason, "STT", str(position))
            _text(reason, "MLoi", finding.code)
            _text(reason, "MTLoi", finding.message[:255])
            _text(reason, "HDXLy", finding.hint[:255])
            _text(reason, "GChu", finding.path[:255])
    return root
