from __future__ import annotations

import hashlib
from base64 import b64encode
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from lxml import etree

from integrations.einvoice.pki import SignerIdentity, write_certificates, write_crl
from integrations.einvoice.signature import (
    SignatureCheck,
    SignaturePolicy,
    TrustStore,
    TrustStoreError,
    verify_envelope_signature,
    verify_invoice_signature,
)
from integrations.einvoice.signing import (
    DS,
    canonical,
    sign_document,
    sign_envelope,
    sign_invoice,
)
from tests.integrations.einvoice.conftest import (
    NOW,
    SELLER_TAX_CODE,
    SIGNED_AT,
    Pki,
    unsigned_batch,
    unsigned_invoice,
)

NS = {"ds": DS}


def _sign(identity: SignerIdentity, unsigned: bytes | None = None, **options: object) -> bytes:
    return sign_invoice(
        unsigned or unsigned_invoice(),
        identity,
        signing_time=options.pop("signing_time", SIGNED_AT),  # type: ignore[arg-type]
        **options,  # type: ignore[arg-type]
    )


def _verify(raw: bytes, trust: TrustStore, policy: SignaturePolicy | None = None) -> SignatureCheck:
    root = etree.fromstring(raw)
    return verify_invoice_signature(root, trust, policy or SignaturePolicy(), now=NOW)


def _codes(check: SignatureCheck) -> list[str]:
    return [f.code for f in check.findings]


@pytest.mark.parametrize("default_namespace", [True, False], ids=["default-ns", "prefixed"])
def test_valid_invoice_signature_verifies(pki: Pki, default_namespace: bool) -> None:
    check = _verify(_sign(pki.seller, default_namespace=default_namespace), pki.trust)
    assert check.findings == []
    assert check.ok
    assert check.signed_data is not None
    assert check.signed_data.tag == "DLHDon"
    assert check.signed_data.findtext("NDHDon/TToan/TgTTTBSo") == "151200"
    assert check.certificate == pki.seller.certificate
    assert check.signer_tax_code == SELLER_TAX_CODE
    assert check.signing_time == SIGNED_AT
    assert check.algorithm == "rsa-sha256"


def test_sha1_is_accepted_with_a_warning(pki: Pki) -> None:
    check = _verify(_sign(pki.seller, algorithm="rsa-sha1"), pki.trust)
    assert _codes(check) == ["2005"]
    assert check.ok
    assert check.algorithm == "rsa-sha1"


def test_sha1_is_refused_when_the_policy_says_so(pki: Pki) -> None:
    raw = _sign(pki.seller, algorithm="rsa-sha1")
    check = _verify(raw, pki.trust, SignaturePolicy(allow_sha1=False))
    assert _codes(check) == ["2004"]
    assert check.signed_data is None


@pytest.mark.parametrize(
    ("old", "new"),
    [
        pytest.param(b"<TgTTTBSo>151200", b"<TgTTTBSo>1151200", id="total"),
        pytest.param(b"<DGia>65000</DGia>", b"<DGia>6500</DGia>", id="price"),
        pytest.param(b"<MST>0100109106</MST>", b"<MST>0312345678</MST>", id="seller"),
        pytest.param(b"09:30:00</SigningTime>", b"09:29:00</SigningTime>", id="signing-time"),
    ],
)
def test_content_changed_after_signing_does_not_verify(pki: Pki, old: bytes, new: bytes) -> None:
    raw = _sign(pki.seller)
    assert old in raw
    check = _verify(raw.replace(old, new, 1), pki.trust)
    assert _codes(check) == ["2002"]
    assert check.signed_data is None


def test_corrupt_signature_value_does_not_verify(pki: Pki) -> None:
    root = etree.fromstring(_sign(pki.seller))
    value = root.find(".//ds:SignatureValue", NS)
    value.text = "AAAA" + value.text[4:]
    assert _codes(_verify(etree.tostring(root), pki.trust)) == ["2002"]


def test_missing_signature(pki: Pki) -> None:
    check = _verify(unsigned_invoice(), pki.trust)
    assert _codes(check) == ["2001"]
    assert check.findings[0].path == "/HDon/DSCKS/NBan/Signature"


def test_signature_elsewhere_counts_as_missing(pki: Pki) -> None:
    root = etree.fromstring(_sign(pki.seller))
    root.find("DSCKS/NMua").append(root.find("DSCKS/NBan/ds:Signature", NS))
    assert _codes(_verify(etree.tostring(root), pki.trust)) == ["2001"]


def _remove(path: str) -> Callable[[etree._Element], None]:
    def remove(root: etree._Element) -> None:
        element = root.find(path, NS)
        element.getparent().remove(element)

    return remove


def _set_text(path: str, text: str | None) -> Callable[[etree._Element], None]:
    def set_text(root: etree._Element) -> None:
        root.find(path, NS).text = text

    return set_text


def _add_key_value(root: etree._Element) -> None:
    key_value = etree.SubElement(root.find(".//ds:KeyInfo", NS), f"{{{DS}}}KeyValue")
    rsa = etree.SubElement(key_value, f"{{{DS}}}RSAKeyValue")
    etree.SubElement(rsa, f"{{{DS}}}Modulus").text = "AQAB"
    etree.SubElement(rsa, f"{{{DS}}}Exponent").text = "AQAB"


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        pytest.param(_set_text(".//ds:SignatureValue", None), "2002", id="empty-value"),
        pytest.param(_set_text(".//ds:DigestValue", "!!!"), "2002", id="bad-digest"),
        pytest.param(_remove(".//ds:DigestValue"), "2002", id="no-digest"),
        pytest.param(_remove(".//ds:SignedInfo"), "2002", id="no-signed-info"),
        pytest.param(_add_key_value, "2002", id="conflicting-key-value"),
        pytest.param(_remove(".//ds:SigningTime"), "2010", id="no-signing-time"),
    ],
)
def test_malformed_signatures_become_findings(
    pki: Pki, mutate: Callable[[etree._Element], None], code: str
) -> None:
    root = _tree(pki)
    mutate(root)
    assert _codes(_verify(etree.tostring(root), pki.trust)) == [code]


# Signature wrapping: the signed DLHDon is not the one the application reads.


def _tree(pki: Pki) -> etree._Element:
    return etree.fromstring(_sign(pki.seller))


def _forged_data(genuine: etree._Element, new_id: str | None) -> etree._Element:
    forged = etree.fromstring(etree.tostring(genuine))
    forged.find("NDHDon/TToan/TgTTTBSo").text = "1"
    if new_id is None:
        del forged.attrib["Id"]
    else:
        forged.set("Id", new_id)
    return forged


def test_genuine_data_moved_into_an_object_and_forged_in_its_place(pki: Pki) -> None:
    root = _tree(pki)
    genuine = root.find("DLHDon")
    signature = root.find("DSCKS/NBan/ds:Signature", NS)
    genuine.addprevious(_forged_data(genuine, "Forged"))
    etree.SubElement(signature, f"{{{DS}}}Object").append(genuine)
    check = _verify(etree.tostring(root), pki.trust)
    assert _codes(check) == ["2011"]
    assert check.signed_data is None


def test_forged_data_with_the_same_id(pki: Pki) -> None:
    root = _tree(pki)
    genuine = root.find("DLHDon")
    signature = root.find("DSCKS/NBan/ds:Signature", NS)
    genuine.addprevious(_forged_data(genuine, genuine.get("Id")))
    etree.SubElement(signature, f"{{{DS}}}Object").append(genuine)
    assert _codes(_verify(etree.tostring(root), pki.trust)) == ["2012"]


def test_second_dlhdon_appended(pki: Pki) -> None:
    root = _tree(pki)
    root.find("DSCKS").addprevious(_forged_data(root.find("DLHDon"), None))
    assert _codes(_verify(etree.tostring(root), pki.trust)) == ["2011"]


def test_genuine_data_nested_deeper_with_forged_data_on_top(pki: Pki) -> None:
    root = _tree(pki)
    genuine = root.find("DLHDon")
    holder = etree.SubElement(root, "TTKhac")
    genuine.addprevious(_forged_data(genuine, None))
    holder.append(genuine)
    assert _codes(_verify(etree.tostring(root), pki.trust)) == ["2011"]


def test_duplicate_ids_anywhere_in_the_invoice(pki: Pki) -> None:
    raw = _sign(pki.seller).replace(b"<NMua>", b'<NMua Id="SigningData">', 1)
    check = _verify(raw, pki.trust)
    assert _codes(check) == ["2012"]
    assert "SigningData" in check.findings[0].message


def _signed_with_references(pki: Pki, unsigned: bytes, reference_ids: list[str]) -> bytes:
    """A cryptographically valid seller signature over the wrong set of elements."""
    return sign_document(
        unsigned,
        location="DSCKS/NBan",
        reference_ids=reference_ids,
        signer=pki.seller,
        signing_time=SIGNED_AT,
    )


def test_reference_to_a_different_element(pki: Pki) -> None:
    unsigned = unsigned_invoice().replace(b"<NDHDon>", b'<NDHDon Id="content">', 1)
    raw = _signed_with_references(pki, unsigned, ["content"])
    check = _verify(raw, pki.trust)
    assert _codes(check) == ["2003"]
    assert "NDHDon" in check.findings[0].message


def test_extra_reference(pki: Pki) -> None:
    unsigned = unsigned_invoice().replace(b"<NMua>", b'<NMua Id="buyer">', 1)
    raw = _signed_with_references(pki, unsigned, ["SigningData", "buyer"])
    assert _codes(_verify(raw, pki.trust)) == ["2003"]


def test_missing_signing_time_reference(pki: Pki) -> None:
    root = _tree(pki)
    references = root.findall(".//ds:SignedInfo/ds:Reference", NS)
    references[1].getparent().remove(references[1])
    check = _verify(etree.tostring(root), pki.trust)
    assert _codes(check) == ["2003"]
    assert "SigningTime" in check.findings[0].message


def test_two_signatures_in_one_place(pki: Pki) -> None:
    root = _tree(pki)
    signature = root.find("DSCKS/NBan/ds:Signature", NS)
    signature.addnext(etree.fromstring(etree.tostring(signature)))
    assert _codes(_verify(etree.tostring(root), pki.trust)) == ["2003"]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        pytest.param(
            b"xmldsig-more#rsa-sha256", b"xmldsig-more#hmac-sha256", id="hmac-signature-method"
        ),
        pytest.param(b"xmlenc#sha256", b"xmldsig-more#md5", id="md5-digest"),
        pytest.param(
            b"xmldsig#enveloped-signature",
            b"http://www.w3.org/TR/1999/REC-xslt-19991116",
            id="xslt-transform",
        ),
    ],
)
def test_forbidden_algorithms(pki: Pki, old: bytes, new: bytes) -> None:
    raw = _sign(pki.seller)
    assert old in raw
    raw = raw.replace(old, new.removeprefix(b"http://www.w3.org/2000/09/"), 1)
    assert _codes(_verify(raw, pki.trust)) == ["2004"]


# Certificates, judged at the signing time.


def test_untrusted_ca(pki: Pki) -> None:
    check = _verify(_sign(pki.stranger), pki.trust)
    assert _codes(check) == ["2006"]
    assert check.signer_tax_code == SELLER_TAX_CODE


def test_missing_certificate(pki: Pki) -> None:
    root = _tree(pki)
    key_info = root.find(".//ds:KeyInfo", NS)
    key_info.getparent().remove(key_info)
    assert _codes(_verify(etree.tostring(root), pki.trust)) == ["2006"]


def test_garbage_certificate(pki: Pki) -> None:
    root = _tree(pki)
    root.find(".//ds:X509Certificate", NS).text = "bm90IGEgY2VydGlmaWNhdGU="
    assert _codes(_verify(etree.tostring(root), pki.trust)) == ["2006"]


@pytest.mark.parametrize("identity", ["expired", "not_yet_valid"])
def test_certificate_not_valid_at_signing_time(pki: Pki, identity: str) -> None:
    check = _verify(_sign(getattr(pki, identity)), pki.trust)
    assert "2007" in _codes(check)
    assert check.signed_data is None


def test_certificate_expired_now_but_valid_when_signed(pki: Pki) -> None:
    signed_long_ago = NOW - timedelta(days=300)
    raw = _sign(pki.near_expiry, signing_time=signed_long_ago)
    check = verify_invoice_signature(
        etree.fromstring(raw), pki.trust, SignaturePolicy(), now=NOW + timedelta(days=20)
    )
    assert _codes(check) == ["2013"]
    assert check.ok


def test_revoked_before_signing(pki: Pki) -> None:
    check = _verify(_sign(pki.revoked), pki.trust)
    assert _codes(check) == ["2008"]
    assert check.signed_data is None


def test_revoked_after_signing_still_verifies(pki: Pki) -> None:
    check = _verify(_sign(pki.revoked_later), pki.trust)
    assert check.ok
    assert check.findings == []


def test_no_digital_signature_key_usage(pki: Pki) -> None:
    assert _codes(_verify(_sign(pki.no_signing_usage), pki.trust)) == ["2015"]


def test_near_expiry_is_a_warning(pki: Pki) -> None:
    check = _verify(_sign(pki.near_expiry), pki.trust)
    assert _codes(check) == ["2013"]
    assert check.ok


def test_malformed_signing_time(pki: Pki) -> None:
    raw = _sign(pki.seller).replace(b"2026-03-10T09:30:00<", b"10/03/2026 09:30<", 1)
    check = _verify(raw, pki.trust)
    assert _codes(check) == ["2010"]
    assert check.signing_time is None


def test_signing_time_in_the_future(pki: Pki) -> None:
    check = _verify(_sign(pki.seller, signing_time=NOW + timedelta(hours=1)), pki.trust)
    assert _codes(check) == ["2017"]


def test_signing_time_within_clock_skew_is_fine(pki: Pki) -> None:
    check = _verify(_sign(pki.seller, signing_time=NOW + timedelta(minutes=2)), pki.trust)
    assert check.ok


# Batches and invoices inside messages.


def test_envelope_signature_verifies_and_returns_dlieu(pki: Pki) -> None:
    raw = sign_envelope(unsigned_batch(3), pki.seller, signing_time=SIGNED_AT)
    check = verify_envelope_signature(etree.fromstring(raw), pki.trust, SignaturePolicy(), now=NOW)
    assert check.findings == []
    assert check.signed_data is not None
    assert check.signed_data.tag == "DLieu"
    assert len(check.signed_data.findall("HDon")) == 3


@pytest.mark.parametrize("invoice", [0, 1, 2])
def test_changing_any_invoice_in_a_batch_breaks_the_envelope_signature(
    pki: Pki, invoice: int
) -> None:
    raw = sign_envelope(unsigned_batch(3), pki.seller, signing_time=SIGNED_AT)
    root = etree.fromstring(raw)
    root.findall("DLieu/HDon")[invoice].find("DLHDon/NDHDon/TToan/TgTTTBSo").text = "1"
    check = verify_envelope_signature(root, pki.trust, SignaturePolicy(), now=NOW)
    assert _codes(check) == ["2002"]


def test_envelope_without_batch_signature(pki: Pki) -> None:
    raw = unsigned_batch(2)
    check = verify_envelope_signature(etree.fromstring(raw), pki.trust, SignaturePolicy(), now=NOW)
    assert _codes(check) == ["2014"]


def test_invoice_inside_a_message_is_verified_in_its_own_scope(pki: Pki) -> None:
    """Two invoices with the same Ids in one message: each verifies on its own."""
    first, second = (_sign(pki.seller, unsigned_invoice(price=p)) for p in ("5000", "5001"))
    body = b"".join(x.split(b"?>\n", 1)[1] for x in (first, second))
    message = etree.fromstring(b"<TDiep><DLieu>" + body + b"</DLieu></TDiep>")
    for invoice in message.findall("DLieu/HDon"):
        check = verify_invoice_signature(invoice, pki.trust, SignaturePolicy(), now=NOW)
        assert check.ok, check.findings


def test_the_tree_read_is_the_tree_digested(pki: Pki) -> None:
    """Digests are computed on the very tree the application reads: a change made to it after
    parsing breaks them, and verifying leaves the tree exactly as it was."""
    root = etree.fromstring(_sign(pki.seller))
    before = etree.tostring(root)
    assert verify_invoice_signature(root, pki.trust, SignaturePolicy(), now=NOW).ok
    assert etree.tostring(root) == before
    root.find("DLHDon/NDHDon/TToan/TgTTTBSo").text = "1"
    check = verify_invoice_signature(root, pki.trust, SignaturePolicy(), now=NOW)
    assert _codes(check) == ["2002"]


def test_a_comment_in_the_signed_data_never_reaches_the_reader(pki: Pki) -> None:
    """C14N without comments leaves a comment out of the digest; what the application reads
    is the canonical form, so text split by a comment is read whole and the comment is gone."""
    raw = _sign(pki.seller).replace(b"<TgTTTBSo>151200", b"<TgTTTBSo>151<!--x-->200", 1)
    check = _verify(raw, pki.trust)
    assert check.ok, check.findings
    assert check.signed_data is not None
    assert check.signed_data.findtext("NDHDon/TToan/TgTTTBSo") == "151200"
    assert not list(check.signed_data.iter(etree.Comment))


def test_signed_data_without_a_comment_is_the_element_digested(pki: Pki) -> None:
    """With nothing the digest left out, the element read is the received one, not a copy
    parsed again from its canonical bytes."""
    root = etree.fromstring(_sign(pki.seller))
    check = verify_invoice_signature(root, pki.trust, SignaturePolicy(), now=NOW)
    assert check.ok, check.findings
    assert check.signed_data is root.find("DLHDon")


def test_the_canonical_form_digested_in_place_is_offered_for_reuse(pki: Pki) -> None:
    root = etree.fromstring(_sign(pki.seller))
    check = verify_invoice_signature(root, pki.trust, SignaturePolicy(), now=NOW)
    assert check.ok, check.findings
    assert check.canonical == {"DLHDon": canonical(root.find("DLHDon"))}


def _with_comments_c14n(pki: Pki, signed: bytes) -> bytes:
    """The seller signature re-made with C14N 1.0 *with comments* named on DLHDon's reference."""
    root = etree.fromstring(signed)
    info = root.find("DSCKS/NBan/ds:Signature/ds:SignedInfo", NS)
    reference = info.find("ds:Reference", NS)
    etree.SubElement(
        reference.find("ds:Transforms", NS),
        f"{{{DS}}}Transform",
        Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments",
    )
    data = etree.tostring(root.find("DLHDon"), method="c14n", with_comments=True)
    reference.find("ds:DigestValue", NS).text = b64encode(hashlib.sha256(data).digest()).decode()
    value = pki.seller.private_key.sign(canonical(info), padding.PKCS1v15(), hashes.SHA256())
    info.getparent().find("ds:SignatureValue", NS).text = b64encode(value).decode()
    return etree.tostring(root)


def test_a_form_with_comments_is_not_offered_for_reuse(pki: Pki) -> None:
    """Another signature over DLHDon digests it without comments: bytes canonicalised with
    them are not what it needs."""
    commented = unsigned_invoice().replace(b"<TTChung>", b"<TTChung><!-- POS 7 -->", 1)
    check = _verify(_with_comments_c14n(pki, _sign(pki.seller, commented)), pki.trust)
    assert check.ok, check.findings
    assert check.canonical == {}


# Trust material.


def test_trust_store_from_files(pki: Pki, tmp_path: Path) -> None:
    anchors = write_certificates(
        tmp_path / "anchors.pem", pki.ca.certificate, pki.authority_ca.certificate
    )
    crl = write_crl(pki.ca.revoke([pki.revoked.serial_number], revoked_at=NOW), tmp_path / "ca.crl")
    trust = TrustStore.from_files([anchors], [crl])
    assert trust.is_revoked(pki.revoked.certificate, NOW)
    assert not trust.is_revoked(pki.revoked.certificate, NOW - timedelta(seconds=1))
    assert not trust.is_revoked(pki.seller.certificate, NOW)
    assert _verify(_sign(pki.seller), trust).ok


def test_trust_store_refuses_a_crl_from_an_unknown_issuer(pki: Pki) -> None:
    crl = pki.stranger_ca.revoke([1], revoked_at=NOW)
    with pytest.raises(TrustStoreError, match="not signed by an anchor"):
        TrustStore([pki.ca.certificate], [crl])


def test_trust_store_reload_takes_new_crls_whole_and_names_what_they_revoke_anew(pki: Pki) -> None:
    trust = TrustStore(
        [pki.ca.certificate], [pki.ca.revoke([pki.revoked.serial_number], revoked_at=NOW)]
    )
    serials = [pki.revoked.serial_number, pki.seller.serial_number]
    issuer = pki.ca.certificate.subject.rfc4514_string()
    assert trust.reload([pki.ca.revoke(serials, revoked_at=NOW)]) == {
        (issuer, pki.seller.serial_number)
    }
    assert trust.is_revoked(pki.seller.certificate, NOW)
    assert trust.reload([pki.ca.revoke(serials, revoked_at=NOW)]) == set()
    with pytest.raises(TrustStoreError, match="not signed by an anchor"):
        trust.reload([pki.stranger_ca.revoke([1], revoked_at=NOW)])
    assert trust.is_revoked(pki.seller.certificate, NOW), "a refused list leaves the old ones"
    assert trust.reload([]) == set()
    assert not trust.is_revoked(pki.revoked.certificate, NOW)


def test_trust_store_needs_anchors(tmp_path: Path) -> None:
    with pytest.raises(TrustStoreError):
        TrustStore([])
    with pytest.raises(TrustStoreError, match="cannot read"):
        TrustStore.from_files([tmp_path / "missing.pem"])


def test_signature_from_the_wrong_trust_domain(pki: Pki) -> None:
    """Seller signatures are judged against sellers' CAs only, never the tax authority's."""
    assert _codes(_verify(_sign(pki.seller), pki.authority_trust)) == ["2006"]
