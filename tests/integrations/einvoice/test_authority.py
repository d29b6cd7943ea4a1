from __future__ import annotations

import re
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from lxml import etree

from integrations.einvoice.authority import (
    TAX_AUTHORITY_CODE,
    check_cash_register_code,
    new_tax_authority_code,
    stamp_invoice,
)
from integrations.einvoice.parse import CheckedTree, Limits, parse_document
from integrations.einvoice.signature import (
    SignaturePolicy,
    verify_authority_signature,
    verify_invoice_signature,
)
from integrations.einvoice.signing import DS, SigningError, sign_invoice
from tests.integrations.einvoice.conftest import (
    NOW,
    SIGNED_AT,
    Pki,
    unsigned_invoice,
    xmlsec1_verify,
)

NS = {"ds": DS}
CODED_AT = SIGNED_AT + timedelta(seconds=2)


def checked(pki: Pki, signed: bytes) -> CheckedTree:
    """The tree the intake's checks leave for the stamp: parsed, and the seller's signature
    verified on it."""
    root = parse_document(signed, Limits())
    check = verify_invoice_signature(root, pki.trust, SignaturePolicy(), now=NOW)
    assert check.ok, check.findings
    return CheckedTree(root, check.canonical)


@pytest.fixture(scope="module", params=["from-bytes", "from-the-checked-tree"])
def coded(pki: Pki, request: pytest.FixtureRequest) -> bytes:
    signed = sign_invoice(unsigned_invoice(), pki.seller, signing_time=SIGNED_AT)
    tree = checked(pki, signed) if request.param == "from-the-checked-tree" else None
    return stamp_invoice(
        signed,
        code=new_tax_authority_code(),
        authority=pki.authority,
        signing_time=CODED_AT,
        tree=tree,
    )


def test_tax_authority_code_has_the_real_shape() -> None:
    codes = {new_tax_authority_code() for _ in range(50)}
    assert len(codes) == 50
    for code in codes:
        assert len(code) == 34
        assert TAX_AUTHORITY_CODE.match(code)
    assert TAX_AUTHORITY_CODE.match("00474597512BE94B7BAB367996EF464828")
    assert not TAX_AUTHORITY_CODE.match("00474597512be94b7bab367996ef464828")


def test_stamp_adds_mccqt_before_dscks_and_a_three_reference_signature(coded: bytes) -> None:
    root = etree.fromstring(coded)
    assert [c.tag for c in root] == ["DLHDon", "MCCQT", "DSCKS"]
    mccqt = root.find("MCCQT")
    assert re.fullmatch(r"Id-[0-9a-f]{32}", mccqt.get("Id"))
    signature = root.find("DSCKS/CQT/ds:Signature", NS)
    assert signature.get("Id").startswith("Tct-")
    references = signature.findall("ds:SignedInfo/ds:Reference", NS)
    time_id = signature.find("ds:Object", NS).get("Id")
    assert [r.get("URI") for r in references] == [
        "#SigningData",
        f"#{mccqt.get('Id')}",
        f"#{time_id}",
    ]
    assert all(r.find("ds:Transforms", NS) is None for r in references)
    method = signature.find("ds:SignedInfo/ds:SignatureMethod", NS).get("Algorithm")
    assert method.endswith("#rsa-sha256")


def test_authority_signature_verifies(pki: Pki, coded: bytes) -> None:
    root = etree.fromstring(coded)
    check = verify_authority_signature(root, pki.authority_trust, SignaturePolicy(), now=NOW)
    assert check.findings == []
    assert check.signed_elements["MCCQT"].text == root.findtext("MCCQT")
    assert check.signed_data is not None
    assert check.signed_data.tag == "DLHDon"
    assert check.signer_tax_code is None
    assert check.signing_time == CODED_AT


def test_seller_signature_still_verifies_after_stamping(pki: Pki, coded: bytes) -> None:
    check = verify_invoice_signature(etree.fromstring(coded), pki.trust, SignaturePolicy(), now=NOW)
    assert check.ok, check.findings
    assert check.signing_time == SIGNED_AT


def test_changed_code_breaks_the_authority_signature_only(pki: Pki, coded: bytes) -> None:
    code = etree.fromstring(coded).findtext("MCCQT")
    tampered = coded.replace(code.encode(), new_tax_authority_code().encode())
    root = etree.fromstring(tampered)
    policy = SignaturePolicy()
    check = verify_authority_signature(root, pki.authority_trust, policy, now=NOW)
    assert [f.code for f in check.findings] == ["2002"]
    assert verify_invoice_signature(root, pki.trust, policy, now=NOW).ok


def test_unstamped_invoice_has_no_authority_signature(pki: Pki) -> None:
    raw = sign_invoice(unsigned_invoice(), pki.seller, signing_time=SIGNED_AT)
    check = verify_authority_signature(
        etree.fromstring(raw), pki.authority_trust, SignaturePolicy(), now=NOW
    )
    assert [f.code for f in check.findings] == ["2018"]


def test_stamping_twice_is_refused(pki: Pki, coded: bytes) -> None:
    with pytest.raises(SigningError, match="already carries an MCCQT"):
        stamp_invoice(coded, code="00" + "A" * 32, authority=pki.authority, signing_time=NOW)


def test_xmlsec1_accepts_both_signatures_of_a_coded_invoice(
    pki: Pki, coded: bytes, tmp_path: Path
) -> None:
    seller = "/HDon/DSCKS/NBan/*[local-name()='Signature']"
    authority = "/HDon/DSCKS/CQT/*[local-name()='Signature']"
    xmlsec1_verify(coded, pki.files / "ca.pem", tmp_path, node_xpath=seller)
    report = xmlsec1_verify(coded, pki.files / "authority-ca.pem", tmp_path, node_xpath=authority)
    assert "SignedInfo References (ok/all): 3/3" in report


@pytest.mark.parametrize("from_tree", [False, True], ids=["from-bytes", "from-the-checked-tree"])
def test_signed_content_with_a_comment_digests_as_verifiers_read_it(
    pki: Pki, tmp_path: Path, from_tree: bool
) -> None:
    """A ``#Id`` reference digests its element without comments (XML-DSig §4.4.3.3), so a
    comment a vendor leaves inside DLHDon must not enter either party's digest."""
    commented = unsigned_invoice().replace(b"<TTChung>", b"<TTChung><!-- POS 7 -->", 1)
    signed = sign_invoice(commented, pki.seller, signing_time=SIGNED_AT)
    coded = stamp_invoice(
        signed,
        code=new_tax_authority_code(),
        authority=pki.authority,
        signing_time=CODED_AT,
        tree=checked(pki, signed) if from_tree else None,
    )
    root = etree.fromstring(coded)
    assert b"<!-- POS 7 -->" in coded
    policy = SignaturePolicy()
    assert verify_invoice_signature(root, pki.trust, policy, now=NOW).ok
    assert verify_authority_signature(root, pki.authority_trust, policy, now=NOW).ok
    authority = "/HDon/DSCKS/CQT/*[local-name()='Signature']"
    xmlsec1_verify(coded, pki.files / "authority-ca.pem", tmp_path, node_xpath=authority)


def test_a_tree_checked_on_another_thread_is_left_alone_and_the_bytes_stamped(pki: Pki) -> None:
    signed = sign_invoice(unsigned_invoice(), pki.seller, signing_time=SIGNED_AT)
    trees: list[CheckedTree] = []
    thread = threading.Thread(target=lambda: trees.append(checked(pki, signed)))
    thread.start()
    thread.join()
    coded = stamp_invoice(
        signed,
        code=new_tax_authority_code(),
        authority=pki.authority,
        signing_time=CODED_AT,
        tree=trees[0],
    )
    assert trees[0].root is not None
    assert trees[0].root.find("MCCQT") is None
    root = etree.fromstring(coded)
    check = verify_authority_signature(root, pki.authority_trust, SignaturePolicy(), now=NOW)
    assert check.ok, check.findings


@pytest.mark.parametrize(
    ("code", "template", "series", "problems"),
    [
        pytest.param("M2-26-A1B2C-00001234567", "2", "C26MAA", [], id="valid"),
        pytest.param("M1-26-ZZ999-00000000001", 1, "K26MBC", [], id="int-template"),
        pytest.param("M2-26-A1B2C-0000123456", "2", "C26MAA", ["malformed"], id="ten-digits"),
        pytest.param("M0-26-A1B2C-00001234567", "2", "C26MAA", ["malformed"], id="zero-type"),
        pytest.param("M2-26-a1b2c-00001234567", "2", "C26MAA", ["malformed"], id="lower-case"),
        pytest.param("m2-26-A1B2C-00001234567", "2", "C26MAA", ["malformed"], id="lower-m"),
        pytest.param("M1-26-A1B2C-00001234567", "2", "C26MAA", ["type digit"], id="template"),
        pytest.param("M2-25-A1B2C-00001234567", "2", "C26MAA", ["year 25"], id="year"),
        pytest.param("M1-25-A1B2C-00001234567", "2", "C26MAA", ["type digit", "year"], id="both"),
    ],
)
def test_cash_register_code(
    code: str, template: str | int, series: str, problems: list[str]
) -> None:
    findings = check_cash_register_code(code, template=template, series=series)
    assert [f.code for f in findings] == ["5025"] * len(problems)
    for finding, problem in zip(findings, problems, strict=True):
        assert problem in finding.message
