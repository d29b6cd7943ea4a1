from __future__ import annotations

import stat
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID

from integrations.einvoice.pki import (
    CertificateAuthority,
    SignerIdentity,
    tax_code_of,
    write_crl,
)
from tests.integrations.einvoice.conftest import NOW, SELLER_TAX_CODE, Pki


def _certificate(pki: Pki, *attributes: tuple[x509.ObjectIdentifier, str]) -> x509.Certificate:
    """A certificate with the given subject, signed with an existing key (no key generation)."""
    key = pki.seller.private_key
    name = x509.Name([x509.NameAttribute(oid, value) for oid, value in attributes])
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(pki.ca.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=1))
        .sign(pki.ca.private_key, hashes.SHA256())
    )


def test_issued_certificate_carries_the_tax_code_like_vietnamese_seller_certificates(
    pki: Pki,
) -> None:
    certificate = pki.seller.certificate
    uid = certificate.subject.get_attributes_for_oid(NameOID.USER_ID)
    assert [a.value for a in uid] == [f"MST:{SELLER_TAX_CODE}"]
    assert NameOID.USER_ID.dotted_string == "0.9.2342.19200300.100.1.1"
    assert pki.seller.tax_code == SELLER_TAX_CODE
    assert certificate.issuer == pki.ca.certificate.subject
    certificate.verify_directly_issued_by(pki.ca.certificate)
    assert pki.seller.chain == (pki.ca.certificate,)
    assert pki.seller.private_key.key_size == 2048


def test_key_usage_follows_the_request(pki: Pki) -> None:
    def usage(identity: SignerIdentity) -> x509.KeyUsage:
        return identity.certificate.extensions.get_extension_for_class(x509.KeyUsage).value

    assert usage(pki.seller).digital_signature
    assert not usage(pki.no_signing_usage).digital_signature


def test_authority_is_a_self_signed_ca(pki: Pki) -> None:
    certificate = pki.ca.certificate
    constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical
    assert constraints.value.ca
    assert certificate.subject == certificate.issuer
    certificate.verify_directly_issued_by(certificate)


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        pytest.param([(NameOID.USER_ID, "MST:0312345678")], "0312345678", id="uid"),
        pytest.param([(NameOID.USER_ID, "MST:0100109106-001")], "0100109106-001", id="branch"),
        pytest.param([(NameOID.SERIAL_NUMBER, "MST:0312345678")], "0312345678", id="serial"),
        pytest.param([(NameOID.COMMON_NAME, "CÔNG TY A - MST: 0312345678")], "0312345678", id="cn"),
        pytest.param(
            [(NameOID.ORGANIZATIONAL_UNIT_NAME, "mst=0312345678")], "0312345678", id="ou-lower"
        ),
        pytest.param(
            [(NameOID.USER_ID, "CCCD:001204012345"), (NameOID.COMMON_NAME, "MST:0312345678")],
            "0312345678",
            id="mst-beats-personal-id",
        ),
        pytest.param([(NameOID.USER_ID, "CCCD:001204012345")], "001204012345", id="personal-id"),
        pytest.param([(NameOID.COMMON_NAME, "Nguyễn Văn An")], None, id="none"),
        pytest.param([(NameOID.USER_ID, "MST:12345")], None, id="too-short"),
    ],
)
def test_tax_code_of_reads_the_variants_seen_in_real_certificates(
    pki: Pki, attributes: list[tuple[x509.ObjectIdentifier, str]], expected: str | None
) -> None:
    assert tax_code_of(_certificate(pki, *attributes)) == expected


def test_identity_round_trips_through_pem_files(pki: Pki, tmp_path: Path) -> None:
    key_path, cert_path = pki.seller.to_pem_files(tmp_path, "seller")
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    loaded = SignerIdentity.load(key_path, cert_path)
    assert loaded.certificate == pki.seller.certificate
    assert loaded.chain == (pki.ca.certificate,)
    assert loaded.private_key.private_numbers() == pki.seller.private_key.private_numbers()


def test_loading_a_key_with_someone_elses_certificate_fails(pki: Pki, tmp_path: Path) -> None:
    key_path, _ = pki.seller.to_pem_files(tmp_path, "seller")
    _, other_cert = pki.expired.to_pem_files(tmp_path, "other")
    with pytest.raises(ValueError, match="does not match"):
        SignerIdentity.load(key_path, other_cert)


def test_authority_round_trips_and_keeps_issuing(pki: Pki, tmp_path: Path) -> None:
    loaded = CertificateAuthority.load(*pki.ca.to_pem_files(tmp_path))
    assert loaded.certificate == pki.ca.certificate
    crl = loaded.revoke([7], revoked_at=NOW)
    assert crl.is_signature_valid(pki.ca.certificate.public_key())


def test_revoke_writes_a_signed_crl(pki: Pki, tmp_path: Path) -> None:
    crl = pki.ca.revoke([pki.revoked.serial_number, 42], revoked_at=NOW - timedelta(hours=1))
    path = write_crl(crl, tmp_path / "ca.crl.pem")
    loaded = x509.load_pem_x509_crl(path.read_bytes())
    assert loaded.is_signature_valid(pki.ca.certificate.public_key())
    entry = loaded.get_revoked_certificate_by_serial_number(pki.revoked.serial_number)
    assert entry is not None
    assert entry.revocation_date_utc == NOW - timedelta(hours=1)
    assert loaded.get_revoked_certificate_by_serial_number(pki.seller.serial_number) is None
    later = pki.ca.revoke([], revoked_at=NOW + timedelta(minutes=1))
    number = later.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    assert number > loaded.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
