from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from lxml import etree
from signxml import SignatureConfiguration, XMLVerifier
from signxml.algorithms import CanonicalizationMethod

from integrations.einvoice.signing import (
    DS,
    InScopeC14N,
    SigningError,
    format_signing_time,
    parse_signing_time,
    sign_document,
    sign_envelope,
    sign_invoice,
    sign_tree,
)
from tests.integrations.einvoice.conftest import (
    SIGNED_AT,
    Pki,
    unsigned_batch,
    unsigned_invoice,
    xmlsec1_verify,
)

NS = {"ds": DS}
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
RECEIPT = b"""<TDiep><TTChung><MLTDiep>204</MLTDiep></TTChung><DLieu><TBao>\
<DLTBao Id="TB-1"><MSo>01/TB-KTDL</MSo><LTBao>2</LTBao></DLTBao><DSCKS><CQT/></DSCKS>\
</TBao></DLieu></TDiep>"""


def _authority_signs(
    pki: Pki,
    document: bytes | etree._Element,
    location: str,
    ids: list[str],
    *,
    enveloped: bool = False,
    **options: Any,
) -> bytes:
    """Signed by the tax authority; as it signs, without transforms unless ``enveloped``."""
    return sign_document(
        document,
        location=location,
        reference_ids=ids,
        signer=pki.authority,
        signing_time=SIGNED_AT,
        enveloped=enveloped,
        **options,
    )


def _signature(document: bytes, location: str = "DSCKS/NBan") -> etree._Element:
    signature = etree.fromstring(document).find(f"{location}/ds:Signature", NS)
    assert signature is not None
    return signature


def test_seller_signature_has_the_national_profile_shape(pki: Pki) -> None:
    signed = sign_invoice(unsigned_invoice(), pki.seller, signing_time=SIGNED_AT)
    signature = _signature(signed)
    assert signature.nsmap[None] == DS
    assert signature.prefix is None
    children = [etree.QName(c).localname for c in signature]
    assert children == ["SignedInfo", "SignatureValue", "KeyInfo", "Object"]
    info = signature.find("ds:SignedInfo", NS)
    c14n = info.find("ds:CanonicalizationMethod", NS).get("Algorithm")
    assert c14n == CanonicalizationMethod.CANONICAL_XML_1_0.value
    data_ref, time_ref = info.findall("ds:Reference", NS)
    assert data_ref.get("URI") == "#SigningData"
    transforms = [t.get("Algorithm") for t in data_ref.findall("ds:Transforms/ds:Transform", NS)]
    assert transforms == [ENVELOPED]
    assert time_ref.find("ds:Transforms", NS) is None
    time_object = signature.find("ds:Object", NS)
    assert time_ref.get("URI") == f"#{time_object.get('Id')}"
    signing_time = time_object.find(
        "ds:SignatureProperties/ds:SignatureProperty/ds:SigningTime", NS
    )
    assert signing_time.text == "2026-03-10T09:30:00"
    prop = time_object.find("ds:SignatureProperties/ds:SignatureProperty", NS)
    assert prop.get("Target") == f"#{signature.get('Id')}"
    der = base64.b64decode(signature.find("ds:KeyInfo/ds:X509Data/ds:X509Certificate", NS).text)
    assert x509.load_der_x509_certificate(der) == pki.seller.certificate


def test_prefixed_form_on_request(pki: Pki) -> None:
    signed = sign_invoice(
        unsigned_invoice(), pki.seller, signing_time=SIGNED_AT, default_namespace=False
    )
    signature = _signature(signed)
    assert signature.prefix == "ds"
    assert None not in signature.nsmap
    assert signature.find("ds:Object//SigningTime", NS).text == "2026-03-10T09:30:00"


def test_business_content_is_left_byte_for_byte(pki: Pki) -> None:
    unsigned = unsigned_invoice()
    signed = sign_invoice(unsigned, pki.seller, signing_time=SIGNED_AT)
    data = unsigned.split(b"<DLHDon", 1)[1].split(b"</DLHDon>", 1)[0]
    assert data in signed
    assert signed.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<HDon')


def test_rsa_sha1_writes_sha1_algorithms(pki: Pki) -> None:
    signed = sign_invoice(
        unsigned_invoice(), pki.seller, signing_time=SIGNED_AT, algorithm="rsa-sha1"
    )
    info = _signature(signed).find("ds:SignedInfo", NS)
    method = info.find("ds:SignatureMethod", NS).get("Algorithm")
    assert method == "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
    digests = {d.get("Algorithm") for d in info.findall("ds:Reference/ds:DigestMethod", NS)}
    assert digests == {"http://www.w3.org/2000/09/xmldsig#sha1"}


def test_missing_places_and_ids_are_created(pki: Pki) -> None:
    bare = unsigned_invoice().replace(b' Id="SigningData"', b"")
    bare = bare.replace(b"<DSCKS><NBan/><NMua/><CCKSKhac/><CQT/></DSCKS>", b"")
    signed = etree.fromstring(sign_invoice(bare, pki.seller, signing_time=SIGNED_AT))
    data_id = signed.find("DLHDon").get("Id")
    assert data_id.startswith("DLHDon-")
    reference = signed.find("DSCKS/NBan/ds:Signature/ds:SignedInfo/ds:Reference", NS)
    assert reference.get("URI") == f"#{data_id}"
    nban_first = unsigned_invoice().replace(b"<DSCKS><NBan/>", b"<DSCKS>")
    signed = etree.fromstring(sign_invoice(nban_first, pki.seller, signing_time=SIGNED_AT))
    assert [c.tag for c in signed.find("DSCKS")] == ["NBan", "NMua", "CCKSKhac", "CQT"]


def test_aware_signing_time_is_written_as_vietnamese_local_time() -> None:
    assert format_signing_time(datetime(2026, 3, 10, 2, 30, tzinfo=UTC)) == "2026-03-10T09:30:00"
    assert format_signing_time(datetime(2026, 3, 10, 9, 30)) == "2026-03-10T09:30:00"
    assert parse_signing_time("2026-03-10T09:30:00") == SIGNED_AT
    assert parse_signing_time("2026-03-10T02:30:00Z") == SIGNED_AT
    assert parse_signing_time("10/03/2026 09:30") is None
    assert parse_signing_time("") is None


@pytest.mark.parametrize(
    ("document", "message"),
    [
        pytest.param(b"<HDon><DSCKS/></HDon>", "exactly one DLHDon", id="no-data"),
        pytest.param(
            b'<HDon><DLHDon Id="a"/><DLHDon Id="b"/></HDon>', "exactly one DLHDon", id="two"
        ),
        pytest.param(b"<HDon><DLHDon>", "not well-formed", id="broken"),
    ],
)
def test_unsignable_invoices_raise_signing_error(pki: Pki, document: bytes, message: str) -> None:
    with pytest.raises(SigningError, match=message) as caught:
        sign_invoice(document, pki.seller, signing_time=SIGNED_AT)
    assert caught.value.code == "SIGNING_FAILED"


def test_signing_twice_in_one_place_is_refused(pki: Pki) -> None:
    signed = sign_invoice(unsigned_invoice(), pki.seller, signing_time=SIGNED_AT)
    with pytest.raises(SigningError, match="already holds a signature"):
        sign_invoice(signed, pki.seller, signing_time=SIGNED_AT)


@pytest.mark.parametrize(
    ("document", "location", "ids", "enveloped", "message"),
    [
        pytest.param(RECEIPT, "", [], True, "nothing to sign", id="no-reference"),
        pytest.param(
            RECEIPT,
            "DLieu/TBao/DSCKS/CQT",
            ["nope"],
            True,
            "0 elements have the Id 'nope'",
            id="unknown",
        ),
        pytest.param(
            RECEIPT.replace(b"<MSo>", b'<MSo Id="TB-1">'),
            "DLieu/TBao/DSCKS/CQT",
            ["TB-1"],
            True,
            "2 elements have the Id 'TB-1'",
            id="ambiguous",
        ),
        pytest.param(
            RECEIPT,
            "DLieu/TBao/DLTBao/DSCKS",
            ["TB-1"],
            False,
            "#TB-1 holds the signature and is not enveloped",
            id="holds-its-signature",
        ),
    ],
)
def test_a_reference_that_cannot_be_digested_is_refused(
    pki: Pki, document: bytes, location: str, ids: list[str], enveloped: bool, message: str
) -> None:
    with pytest.raises(SigningError, match=message) as caught:
        _authority_signs(pki, document, location, ids, enveloped=enveloped)
    assert caught.value.code == "SIGNING_FAILED"


def test_envelope_signature_covers_dlieu_and_gives_it_an_id(pki: Pki) -> None:
    signed = sign_envelope(unsigned_batch(), pki.seller, signing_time=SIGNED_AT)
    root = etree.fromstring(signed)
    data_id = root.find("DLieu").get("Id")
    assert data_id.startswith("DLieu-")
    references = root.findall("CKSNNT/ds:Signature/ds:SignedInfo/ds:Reference", NS)
    assert references[0].get("URI") == f"#{data_id}"
    assert len(references) == 2


def test_receipt_signature_does_not_modify_the_callers_tree(pki: Pki) -> None:
    tree = etree.fromstring(RECEIPT)
    signed = _authority_signs(pki, tree, "DLieu/TBao/DSCKS/CQT", ["TB-1"])
    assert etree.tostring(tree) == etree.tostring(etree.fromstring(RECEIPT))
    assert _signature(signed, "DLieu/TBao/DSCKS/CQT").find("ds:SignedInfo", NS) is not None


def test_whole_document_receipt_verifies_with_signxml(pki: Pki) -> None:
    """A receipt's canonical XML form covers all of it by referencing the root's Id."""
    receipt = b'<BNhan Id="R-1"><MaSo>00474597512BE94B7BAB367996EF464828</MaSo></BNhan>'
    signed = sign_document(
        receipt,
        location="DSCKS",
        reference_ids=["R-1"],
        signer=pki.authority,
        signing_time=SIGNED_AT,
        default_namespace=False,
    )
    config = SignatureConfiguration(
        location="./DSCKS/",
        expect_references=2,
        default_reference_c14n_method=CanonicalizationMethod.CANONICAL_XML_1_0,
    )
    results = XMLVerifier().verify(
        signed, x509_cert=pki.authority.certificate, expect_config=config, validate_schema=False
    )
    assert etree.QName(results[0].signed_xml).localname == "BNhan"
    assert b"<ds:Signature" not in results[0].signed_data


def test_subtree_canonicalisation_has_no_spurious_default_namespace_undeclaration(
    pki: Pki,
) -> None:
    """The einvoice-format §6.1 pitfall: libxml2 alone writes xmlns="" on grandchildren."""
    signed = sign_invoice(unsigned_invoice(), pki.seller, signing_time=SIGNED_AT)
    time_object = _signature(signed).find("ds:Object", NS)
    naive = etree.tostring(time_object, method="c14n")
    assert b'xmlns=""' in naive
    fixed = InScopeC14N()._c14n(time_object, CanonicalizationMethod.CANONICAL_XML_1_0)
    assert b'xmlns=""' not in fixed
    assert fixed.startswith(b'<Object xmlns="http://www.w3.org/2000/09/xmldsig#"')


@pytest.mark.parametrize(
    "document",
    [
        b'<HDon xmlns:x="urn:x"><DLHDon Id="a"><b><c x:t="1">1</c><x:d/></b></DLHDon></HDon>',
        b'<r xmlns:x="urn:x"><HDon xmlns:y="urn:y"><x:DLHDon Id="a"><y:b/></x:DLHDon></HDon></r>',
        b'<HDon><DLHDon Id="a"><b xmlns="urn:d"><c><e/></c><f xmlns=""/></b></DLHDon></HDon>',
        b'<HDon xmlns="urn:d"><DLHDon Id="a"><b><c>1</c></b></DLHDon></HDon>',
        b'<HDon><DLHDon xmlns="urn:d" Id="a"><b><c>1</c></b></DLHDon></HDon>',
    ],
    ids=["inherited-prefixes", "prefixed-apex", "default-below", "default-above", "default-on"],
)
def test_subtree_canonicalisation_equals_that_of_the_subtree_alone(document: bytes) -> None:
    """Whether it is canonicalised in place or detached, an element gives the C14N 1.0 of
    the element as a document of its own with its in-scope namespaces."""
    element = etree.fromstring(document).find(".//{*}DLHDon")
    alone = etree.tostring(etree.fromstring(etree.tostring(element)), method="c14n")
    assert b'xmlns=""' not in alone.replace(b'<f xmlns="">', b"")
    assert InScopeC14N()._c14n(element, CanonicalizationMethod.CANONICAL_XML_1_0) == alone


@pytest.mark.parametrize("default_namespace", [True, False], ids=["default-ns", "prefixed"])
@pytest.mark.parametrize("algorithm", ["rsa-sha256", "rsa-sha1"])
def test_xmlsec1_accepts_our_invoice_signatures(
    pki: Pki, tmp_path: Path, default_namespace: bool, algorithm: str
) -> None:
    signed = sign_invoice(
        unsigned_invoice(),
        pki.seller,
        signing_time=SIGNED_AT,
        algorithm=algorithm,  # type: ignore[arg-type]
        default_namespace=default_namespace,
    )
    report = xmlsec1_verify(signed, pki.files / "ca.pem", tmp_path)
    assert "SignedInfo References (ok/all): 2/2" in report


def test_xmlsec1_accepts_our_envelope_and_receipt_signatures(pki: Pki, tmp_path: Path) -> None:
    envelope = sign_envelope(unsigned_batch(), pki.seller, signing_time=SIGNED_AT)
    xmlsec1_verify(envelope, pki.files / "ca.pem", tmp_path, id_tags=("DLieu",))
    receipt = _authority_signs(pki, RECEIPT, "DLieu/TBao/DSCKS/CQT", ["TB-1"])
    xmlsec1_verify(receipt, pki.files / "authority-ca.pem", tmp_path)


def test_a_canonical_form_given_is_digested_instead_of_the_elements_own(pki: Pki) -> None:
    """What lets the stamp reuse the form the seller's signature check digested."""
    signed = sign_tree(
        etree.fromstring(RECEIPT),
        location="DLieu/TBao/DSCKS/CQT",
        reference_ids=["TB-1"],
        signer=pki.authority,
        signing_time=SIGNED_AT,
        enveloped=False,
        canonical_forms={"TB-1": b"<given/>"},
    )
    reference = _signature(signed, "DLieu/TBao/DSCKS/CQT").find("ds:SignedInfo/ds:Reference", NS)
    assert reference.get("URI") == "#TB-1"
    given = base64.b64encode(hashlib.sha256(b"<given/>").digest()).decode()
    assert reference.findtext("ds:DigestValue", namespaces=NS) == given


@pytest.mark.parametrize(
    "document",
    [
        b'<HDon xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><DLHDon Id="a"><b>1</b>'
        b"</DLHDon></HDon>",
        b'<HDon xmlns="urn:d" xmlns:x="urn:x"><DLHDon Id="a"><x:b>1</x:b></DLHDon></HDon>',
    ],
    ids=["prefix-above", "default-and-prefix-above"],
)
@pytest.mark.parametrize("default_namespace", [True, False], ids=["default-ns", "prefixed"])
def test_a_signature_under_declared_namespaces_verifies_and_repeats_no_declaration(
    pki: Pki, tmp_path: Path, document: bytes, default_namespace: bool
) -> None:
    """SignedInfo and the signing time are canonicalised as roots declaring what is in scope
    where they then stand: verifiers, canonicalising them in place, must get the same bytes."""
    signed = _authority_signs(
        pki, document, "DSCKS/CQT", ["a"], default_namespace=default_namespace
    )
    xmlsec1_verify(signed, pki.files / "authority-ca.pem", tmp_path)
    for uri in (b"urn:x", b"XMLSchema-instance", DS.encode()):
        assert signed.count(uri) == document.count(uri) + (uri == DS.encode())


def test_xmlsec1_rejects_a_tampered_signature(pki: Pki, tmp_path: Path) -> None:
    """The cross-check can fail: xmlsec1 really compares digests."""
    signed = sign_invoice(unsigned_invoice(), pki.seller, signing_time=SIGNED_AT)
    with pytest.raises(AssertionError, match=r"FAIL|fail"):
        xmlsec1_verify(signed.replace(b"151200", b"151201"), pki.files / "ca.pem", tmp_path)


def test_a_missing_xmlsec1_fails_where_services_are_required(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CI must run the cross-check: without the binary it fails there instead of skipping."""
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr("tests.conftest.REQUIRE_SERVICES", True)
    with pytest.raises(pytest.fail.Exception, match="xmlsec1 is required"):
        _unskipped(lambda: xmlsec1_verify(b"<HDon/>", tmp_path / "ca.pem", tmp_path))


def _unskipped(call: Callable[[], object]) -> None:
    """Run ``call``; a skip it asks for is a failure of the test."""
    try:
        call()
    except pytest.skip.Exception as skipped:
        raise AssertionError(f"skipped instead of failing: {skipped}") from None
