from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree
from signxml import SignatureConfiguration, XMLVerifier
from signxml.exceptions import InvalidDigest

from integrations.einvoice import codes
from integrations.einvoice.pki import CertificateAuthority
from integrations.einvoice.receipts import (
    CheckedInvoice,
    Envelope,
    NoticeKind,
    ReceiptSigner,
    check_notice,
    is_receipt_id,
    new_receipt_id,
    technical_receipt,
)
from integrations.einvoice.signing import InScopeC14N

NOW = datetime(2026, 11, 29, 9, 30, tzinfo=UTC)


class Verifier(InScopeC14N, XMLVerifier):
    """signxml's verifier with the project's canonicalisation under a default ds namespace."""


@pytest.fixture(scope="module")
def signer() -> ReceiptSigner:
    ca = CertificateAuthority.create(
        "Gateway Test CA", valid_from=NOW - timedelta(days=1), valid_days=30
    )
    identity = ca.issue(
        "Cổng dữ liệu",
        tax_code=None,
        valid_from=NOW - timedelta(days=1),
        valid_to=NOW + timedelta(days=20),
    )
    return ReceiptSigner(identity)


def test_receipt_ids_carry_seller_date_and_a_checksum() -> None:
    receipt_id = new_receipt_id("0100109106", NOW)
    assert receipt_id.startswith("0100109106-20261129-")
    assert is_receipt_id(receipt_id)
    stem, _, check = receipt_id.rpartition("-")
    assert not is_receipt_id(f"{stem}-{'00' if check != '00' else '01'}")
    # Two hex digits catch 255 in 256 changes, not all: this one, a digit changed, is caught.
    assert is_receipt_id("0100109106-20261129-B9FAE8568810-6B")
    assert not is_receipt_id("0100109106-20261129-B9FAE8568811-6B")


def test_json_receipt_seal_verifies_and_detects_changes(
    signer: ReceiptSigner,
) -> None:
    sealed = signer.seal({"receiptId": "x", "totalPayable": "108000"})
    assert signer.verify(sealed)
    assert not signer.verify({**sealed, "totalPayable": "1"})
    assert not signer.verify({k: v for k, v in sealed.items() if k != "signature"})


def test_check_notice_lists_every_error_and_is_signed(
    signer: ReceiptSigner,
) -> None:
    envelope = Envelope(answers="V0100109106ABC", receiver="0100109106", tax_code="0100109106")
    finding = codes.GRAND_TOTAL.finding("payable 10 != 11", path="DLHDon/NDHDon/TToan/TgTTTBSo")
    notice = check_notice(
        envelope,
        kind=NoticeKind.NOT_ELIGIBLE,
        seller_name="Nhà hàng",
        checked=[CheckedInvoice("1", "C26TAA", "12", "2026-11-29", [finding])],
        notice_number="TB-1",
        sent_at=NOW,
    )
    signed = signer.sign_xml(notice, signed_at=NOW)
    root = etree.fromstring(signed)
    assert root.findtext("TTChung/MLTDiep") == "204"
    assert root.findtext("DLieu/TBao/DLTBao/LTBao") == "1"
    assert root.findtext("DLieu/TBao/DLTBao/LCMa/DSLDo/LDo/MLoi") == "5008"
    assert root.findtext("DLieu/TBao/DLTBao/LCMa/DSLDo/LDo/HDXLy") == codes.GRAND_TOTAL.hint
    verified = Verifier().verify(
        signed,
        x509_cert=signer.identity.certificate.public_bytes(Encoding.PEM),
        expect_config=SignatureConfiguration(
            location="./DLieu/TBao/DSCKS/CQT/", expect_references=2
        ),
        validate_schema=False,
    )
    assert verified[0].signed_xml.tag == "TBao"
    tampered = signed.replace(b"<LTBao>1</LTBao>", b"<LTBao>2</LTBao>")
    with pytest.raises(InvalidDigest):
        Verifier().verify(
            tampered,
            x509_cert=signer.identity.certificate.public_bytes(Encoding.PEM),
            expect_config=SignatureConfiguration(
                location="./DLieu/TBao/DSCKS/CQT/", expect_references=2
            ),
            validate_schema=False,
        )


def test_technical_receipt_reports_read_errors() -> None:
    envelope = Envelope(answers="X", receiver="0100109106", tax_code="0100109106")
    ok = technical_receipt(envelope, received_at=NOW)
    bad = technical_receipt(envelope, received_at=NOW, findings=[codes.NOT_WELL_FORMED.finding()])
    assert ok.findtext("DLieu/TBao/TTTNhan") == "0"
    assert bad.findtext("DLieu/TBao/TTTNhan") == "1"
    assert bad.findtext("DLieu/TBao/DSLDo/LDo/MLoi") == "1005"
