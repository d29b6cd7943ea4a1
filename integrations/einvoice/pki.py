"""Certificates for signing invoices: a small CA, signer identities and their PEM files.

Vietnamese seller certificates carry the tax code in the subject as ``UID=MST:<tax code>``;
the demo CA issues the same shape so that the intake's certificate-to-seller tie is exercised
exactly as with certificates from a licensed CA. Keys are RSA-2048, as the licensed CAs issue.

    ca = CertificateAuthority.create("Demo CA", valid_from=now, valid_days=3650)
    seller = ca.issue("Nha hang A", tax_code="0100109106", valid_from=now, valid_to=later)
    seller.to_pem_files(directory, "0100109106")
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.x509.oid import NameOID

KEY_SIZE = 2048
CRL_VALIDITY = timedelta(days=7)

# Where real certificates put the tax code, in the order they are trusted: UID is the
# documented place; CN, serialNumber and OU variants occur in older or foreign-made certificates.
_TAX_CODE_ATTRIBUTES = (
    NameOID.USER_ID,
    NameOID.SERIAL_NUMBER,
    NameOID.COMMON_NAME,
    NameOID.ORGANIZATIONAL_UNIT_NAME,
)
_MST = re.compile(r"\bMST\s*[:=]?\s*(\d{10}(?:-\d{3})?|\d{12,13})(?!\d)", re.IGNORECASE)
# Since Circular 86/2024 a household business's tax code is its representative's personal ID.
_PERSONAL_ID = re.compile(r"\b(?:CCCD|CCCDan)\s*[:=]?\s*(\d{12})(?!\d)", re.IGNORECASE)


def tax_code_of(certificate: x509.Certificate) -> str | None:
    """The tax code a signing certificate was issued for, or None when it names none.

    ``MST:`` anywhere in UID, serialNumber, CN or OU wins (first match in that order); a
    12-digit ``CCCD:`` personal ID counts only when no ``MST:`` is present.
    """
    values = [
        str(attribute.value)
        for oid in _TAX_CODE_ATTRIBUTES
        for attribute in certificate.subject.get_attributes_for_oid(oid)
    ]
    for pattern in (_MST, _PERSONAL_ID):
        for value in values:
            match = pattern.search(value)
            if match:
                return match.group(1)
    return None


def fingerprint(certificate: x509.Certificate) -> str:
    """The SHA-256 of the DER encoding in lower-case hex: how a certificate is registered."""
    return certificate.fingerprint(hashes.SHA256()).hex()


def serial_text(certificate: x509.Certificate) -> str:
    """The serial number in lower-case hex, as every record and message writes it."""
    return format(certificate.serial_number, "x")


def issuer_and_serial(certificate: x509.Certificate) -> tuple[str, str]:
    """The issuer (RFC 4514) and serial a stored invoice notes of the certificate it bears."""
    return certificate.issuer.rfc4514_string(), serial_text(certificate)


@dataclass(frozen=True, slots=True)
class SignerIdentity:
    """A private key with its certificate and the chain above it, parsed once and reused."""

    private_key: rsa.RSAPrivateKey
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...] = ()

    @property
    def certificates(self) -> list[x509.Certificate]:
        """The certificate followed by its chain, as written into KeyInfo/X509Data."""
        return [self.certificate, *self.chain]

    @property
    def tax_code(self) -> str | None:
        return tax_code_of(self.certificate)

    @property
    def serial_number(self) -> int:
        return self.certificate.serial_number

    def to_pem_files(self, directory: Path, stem: str = "signer") -> tuple[Path, Path]:
        """Write ``<stem>.key.pem`` (owner-only) and ``<stem>.cert.pem`` (with the chain)."""
        directory.mkdir(parents=True, exist_ok=True)
        key_path = directory / f"{stem}.key.pem"
        cert_path = directory / f"{stem}.cert.pem"
        write_private_key(self.private_key, key_path)
        write_certificates(cert_path, *self.certificates)
        return key_path, cert_path

    @classmethod
    def load(cls, key_path: Path, cert_path: Path) -> SignerIdentity:
        """Read a key and a PEM bundle whose first certificate belongs to the key."""
        key = _private_key(key_path.read_bytes())
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError(f"{key_path}: only RSA keys are supported")
        certificate, *chain = x509.load_pem_x509_certificates(cert_path.read_bytes())
        if certificate.public_key() != key.public_key():
            raise ValueError(f"{cert_path}: the first certificate does not match {key_path}")
        return cls(key, certificate, tuple(chain))


@dataclass(frozen=True, slots=True)
class CertificateAuthority:
    """A self-signed root that issues signer certificates and revocation lists."""

    private_key: rsa.RSAPrivateKey
    certificate: x509.Certificate

    @classmethod
    def create(
        cls, common_name: str, *, valid_from: datetime, valid_days: int
    ) -> CertificateAuthority:
        key = _new_key()
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            ]
        )
        certificate = (
            _builder(name, name, key.public_key(), valid_from, valid_from + timedelta(valid_days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_key_usage(key_cert_sign=True), critical=True)
            .sign(key, hashes.SHA256())
        )
        return cls(key, certificate)

    @classmethod
    def load(cls, key_path: Path, cert_path: Path) -> CertificateAuthority:
        identity = SignerIdentity.load(key_path, cert_path)
        return cls(identity.private_key, identity.certificate)

    def issue(
        self,
        subject_common_name: str,
        *,
        tax_code: str | None,
        valid_from: datetime,
        valid_to: datetime,
        digital_signature: bool = True,
        organization: str | None = None,
    ) -> SignerIdentity:
        """Issue an end-entity signing certificate whose subject carries ``UID=MST:<tax code>``."""
        attributes = [x509.NameAttribute(NameOID.COMMON_NAME, subject_common_name)]
        if organization:
            attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
        if tax_code:
            attributes.append(x509.NameAttribute(NameOID.USER_ID, f"MST:{tax_code}"))
        attributes.append(x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"))
        key = _new_key()
        certificate = (
            _builder(
                x509.Name(attributes),
                self.certificate.subject,
                key.public_key(),
                valid_from,
                valid_to,
            )
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                _key_usage(
                    digital_signature=digital_signature,
                    content_commitment=True,
                    key_encipherment=not digital_signature,
                ),
                critical=True,
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.private_key.public_key()),
                critical=False,
            )
            .sign(self.private_key, hashes.SHA256())
        )
        return SignerIdentity(key, certificate, (self.certificate,))

    def revoke(
        self,
        serials: Iterable[int],
        *,
        revoked_at: datetime,
        this_update: datetime | None = None,
    ) -> x509.CertificateRevocationList:
        """A CRL listing ``serials`` as revoked from ``revoked_at``, signed by this CA.

        The CRL number is the issue time in seconds, so later lists always number higher
        without the CA keeping a counter.
        """
        issued = this_update or revoked_at
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.certificate.subject)
            .last_update(issued)
            .next_update(issued + CRL_VALIDITY)
            .add_extension(x509.CRLNumber(int(issued.timestamp())), critical=False)
        )
        for serial in serials:
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder()
                .serial_number(serial)
                .revocation_date(revoked_at)
                .build()
            )
        return builder.sign(self.private_key, hashes.SHA256())

    def to_pem_files(self, directory: Path, stem: str = "ca") -> tuple[Path, Path]:
        """Write ``<stem>.key.pem`` (owner-only) and ``<stem>.cert.pem``."""
        directory.mkdir(parents=True, exist_ok=True)
        key_path = directory / f"{stem}.key.pem"
        cert_path = directory / f"{stem}.cert.pem"
        write_private_key(self.private_key, key_path)
        write_certificates(cert_path, self.certificate)
        return key_path, cert_path


def write_certificates(path: Path, *certificates: x509.Certificate) -> Path:
    """Write certificates as one PEM bundle (a trust-anchor file or a signer's chain)."""
    path.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certificates))
    return path


def write_crl(crl: x509.CertificateRevocationList, path: Path) -> Path:
    path.write_bytes(crl.public_bytes(serialization.Encoding.PEM))
    return path


def write_private_key(key: rsa.RSAPrivateKey, path: Path) -> Path:
    """Write an unencrypted PKCS#8 key readable by the owner only (demo and test keys)."""
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)
    return path


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=KEY_SIZE)


def _builder(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: rsa.RSAPublicKey,
    valid_from: datetime,
    valid_to: datetime,
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(valid_from)
        .not_valid_after(valid_to)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )


def _key_usage(
    *,
    digital_signature: bool = False,
    content_commitment: bool = False,
    key_encipherment: bool = False,
    key_cert_sign: bool = False,
) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=content_commitment,
        key_encipherment=key_encipherment,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=key_cert_sign,
        crl_sign=key_cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


@lru_cache(maxsize=16)
def _private_key(pem: bytes) -> PrivateKeyTypes:
    """The key in ``pem``, parsed once per process: OpenSSL checks an RSA key as it loads it
    (about 35 ms here), and every app and command started in a process reads the same file."""
    return serialization.load_pem_private_key(pem, password=None)
