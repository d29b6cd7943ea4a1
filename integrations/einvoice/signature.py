"""Signature stage (2xxx): verify seller, batch and tax-authority XML signatures.

signxml checks the cryptography, the digests and the certificate chain; this module decides
everything around it that real invoices and attackers make necessary (see
``docs/signature.md``): the signature sits at one fixed place, its references are exactly the
expected ones and point at the very elements the application reads (no signature wrapping),
Ids are unique, algorithms are allowed, and the certificate was valid, trusted, fit for signing
and not revoked *at the signing time*. Every failure becomes a finding; nothing is raised.
"""

from __future__ import annotations

import binascii
import functools
from base64 import b64decode
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

import cryptography.exceptions
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from lxml import etree
from signxml import SignatureConfiguration, XMLVerifier
from signxml.algorithms import CanonicalizationMethod, DigestAlgorithm, SignatureMethod
from signxml.exceptions import (
    InvalidCertificate,
    InvalidDigest,
    InvalidInput,
    InvalidSignature,
    SignXMLException,
)
from signxml.verifier import VerifyResult

from integrations.einvoice import codes
from integrations.einvoice.findings import Finding, has_errors
from integrations.einvoice.pki import tax_code_of
from integrations.einvoice.signing import (
    C14N,
    DS,
    VIETNAM_TIME,
    InScopeC14N,
    index_ids,
    parse_signing_time,
)
from integrations.errors import GatewayError

_NS = {"ds": DS}
_ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
_C14N_METHODS = frozenset(method.value for method in CanonicalizationMethod)
_STRONG = frozenset(
    algorithm.value
    for algorithm in (
        SignatureMethod.RSA_SHA256,
        SignatureMethod.RSA_SHA384,
        SignatureMethod.RSA_SHA512,
        DigestAlgorithm.SHA256,
        DigestAlgorithm.SHA384,
        DigestAlgorithm.SHA512,
    )
)
_WEAK = frozenset({SignatureMethod.RSA_SHA1.value, DigestAlgorithm.SHA1.value})
# What signxml may meet once the policy has judged the names; HMAC needs a shared key.
_VERIFIABLE_METHODS = frozenset(SignatureMethod) - {SignatureMethod.HMAC_SHA1}
_VERIFIABLE_DIGESTS = frozenset(DigestAlgorithm)
_END_ENTITY_POLICY = x509.verification.ExtensionPolicy.permit_all()
_AUTHORITY_POLICY = x509.verification.ExtensionPolicy.webpki_defaults_ca()
_SIGNING_TIME_HOLDERS = frozenset(
    {"Object", "SignatureProperties", "SignatureProperty", "SigningTime"}
)
_SIGNING_TIMES = etree.XPath("descendant-or-self::*[local-name()='SigningTime']")


class TrustStoreError(GatewayError):
    """The configured trust anchors or revocation lists cannot be used."""

    code = "TRUST_STORE_INVALID"
    hint = "Give PEM CA certificates and CRLs signed by one of them."


@dataclass(frozen=True, slots=True)
class SignaturePolicy:
    """What the intake tolerates; SHA-1 is accepted with warning 2005 unless refused (2004)."""

    allow_sha1: bool = True
    near_expiry: timedelta = timedelta(days=30)
    clock_skew: timedelta = timedelta(minutes=5)
    local_zone: tzinfo = VIETNAM_TIME


_TRUSTED_PATHS = 1024
"""Signing chains whose verified path a trust store remembers (the oldest is dropped first)."""

_Chain = tuple[x509.Certificate, ...]

Revocation = tuple[str, int]
"""A revoked certificate: its issuer (RFC 4514) and its serial number."""


class TrustStore:
    """Trust anchors (the licensed CAs) and their CRLs, parsed once and shared by all checks.

    Each CRL must be signed by one of the anchors; an unverifiable CRL is a configuration
    error, never silently ignored. New CRLs replace the held ones with ``reload``.
    """

    def __init__(
        self,
        anchors: Sequence[x509.Certificate],
        crls: Sequence[x509.CertificateRevocationList] = (),
    ) -> None:
        if not anchors:
            raise TrustStoreError("at least one trust anchor is required")
        self.anchors = tuple(anchors)
        self.store = x509.verification.Store(list(self.anchors))
        self._revoked = self._revocations(crls)
        self._trusted: dict[_Chain, tuple[datetime, datetime]] = {}

    @classmethod
    def from_files(cls, anchor_paths: Iterable[Path], crl_paths: Iterable[Path] = ()) -> TrustStore:
        try:
            anchors = [
                c for p in anchor_paths for c in x509.load_pem_x509_certificates(p.read_bytes())
            ]
        except (OSError, ValueError) as exc:
            raise TrustStoreError(f"cannot read trust material: {exc}") from exc
        return cls(anchors, read_crls(crl_paths))

    def reload(self, crls: Sequence[x509.CertificateRevocationList]) -> set[Revocation]:
        """Hold these CRLs in place of the current ones; returns the certificates revoked anew.

        Checks running meanwhile see the old lists or the new ones whole, never a mix; a list
        no anchor signed raises ``TrustStoreError`` and the old ones stay.
        """
        revoked = self._revocations(crls)
        fresh = revoked.keys() - self._revoked.keys()
        self._revoked = revoked
        return {
            (crl.issuer.rfc4514_string(), entry.serial_number)
            for crl in crls
            for entry in crl
            if (crl.issuer.public_bytes(), entry.serial_number) in fresh
        }

    def untrusted_reason(
        self,
        certificate: x509.Certificate,
        intermediates: Sequence[x509.Certificate],
        at: datetime,
    ) -> str | None:
        """Why no certification path leads from ``certificate`` to an anchor at ``at``, if none.

        Key usage and the end-entity's own validity are judged by the caller, each with its
        own finding; here only the path and the authorities along it count. A path once found
        stays valid while every certificate on it is: within that window the answer is reused
        (anchors never change), so a seller's thousandth invoice costs no path building. A
        failure is never remembered.
        """
        chain = (certificate, *intermediates)
        window = self._trusted.get(chain)
        if window is not None and window[0] <= at <= window[1]:
            return None
        verifier = (
            x509.verification.PolicyBuilder()
            .store(self.store)
            .time(at)
            .extension_policies(ee_policy=_END_ENTITY_POLICY, ca_policy=_AUTHORITY_POLICY)
            .build_client_verifier()
        )
        try:
            path = verifier.verify(certificate, list(intermediates)).chain
        except x509.verification.VerificationError as exc:
            return f"{_describe(certificate)}: {exc}"
        if len(self._trusted) >= _TRUSTED_PATHS:
            self._trusted.pop(next(iter(self._trusted)), None)
        self._trusted[chain] = (
            max(c.not_valid_before_utc for c in path),
            min(c.not_valid_after_utc for c in path),
        )
        return None

    def is_revoked(self, certificate: x509.Certificate, at: datetime) -> bool:
        """True when a CRL of the issuer lists the certificate as revoked on or before ``at``."""
        key = (certificate.issuer.public_bytes(), certificate.serial_number)
        revoked_at = self._revoked.get(key)
        return revoked_at is not None and revoked_at <= at

    def _revocations(
        self, crls: Iterable[x509.CertificateRevocationList]
    ) -> dict[tuple[bytes, int], datetime]:
        """When each certificate the CRLs list was revoked, keyed by issuer and serial."""
        revoked: dict[tuple[bytes, int], datetime] = {}
        for crl in crls:
            if not any(
                a.subject == crl.issuer and crl.is_signature_valid(a.public_key())
                for a in self.anchors
            ):
                raise TrustStoreError(
                    f"CRL of {crl.issuer.rfc4514_string()} is not signed by an anchor"
                )
            issuer = crl.issuer.public_bytes()
            for entry in crl:
                previous = revoked.get((issuer, entry.serial_number))
                when = entry.revocation_date_utc
                revoked[(issuer, entry.serial_number)] = min(when, previous or when)
        return revoked


@dataclass(frozen=True, slots=True)
class SignatureCheck:
    """What the signature stage learnt. Continue only with ``signed_data``: it is the element
    as signed, and None unless the signature verified."""

    findings: list[Finding]
    signed_data: etree._Element | None = None
    signed_elements: dict[str, etree._Element] = field(default_factory=dict)
    certificate: x509.Certificate | None = None
    signer_tax_code: str | None = None
    signing_time: datetime | None = None
    algorithm: str | None = None
    # By tag, the C14N 1.0 form of each signed element digested where it stands in the tree
    # given: what another signature over that element of that tree digests.
    canonical: dict[str, bytes] = field(default_factory=dict)
    # The tree's elements by Id, once its Ids were found unique: another signature's index.
    ids: dict[str, list[etree._Element]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.signed_data is not None and not has_errors(self.findings)


@dataclass(frozen=True, slots=True)
class _Profile:
    location: str
    data_tags: tuple[str, ...]
    missing: codes.Code
    # Inside one invoice every Id must be unique; a batch only needs its own Ids unique,
    # since vendors repeat the same Ids in every invoice it carries.
    unique_ids: bool = True


SELLER = _Profile("DSCKS/NBan", ("DLHDon",), codes.SIGNATURE_MISSING)
ENVELOPE = _Profile("CKSNNT", ("DLieu",), codes.ENVELOPE_SIGNATURE_MISSING, unique_ids=False)
AUTHORITY = _Profile("DSCKS/CQT", ("DLHDon", "MCCQT"), codes.AUTHORITY_SIGNATURE_MISSING)


def verify_invoice_signature(
    root: etree._Element,
    trust: TrustStore,
    policy: SignaturePolicy,
    *,
    now: datetime,
) -> SignatureCheck:
    """Verify the seller signature in ``HDon/DSCKS/NBan``; ``signed_data`` is the DLHDon.

    ``root`` is verified as parsed: it must come from a parser that keeps every node (as
    ``parse.parse_document``'s does), since its digests are computed on it. An ``HDon``
    inside a message is verified in its own scope (Ids repeat across invoices).
    """
    return _verify(root, trust, policy, now, SELLER)


def verify_envelope_signature(
    root: etree._Element,
    trust: TrustStore,
    policy: SignaturePolicy,
    *,
    now: datetime,
) -> SignatureCheck:
    """Verify the 206 batch signature in ``TDiep/CKSNNT``; ``signed_data`` is the DLieu."""
    return _verify(root, trust, policy, now, ENVELOPE)


def verify_authority_signature(
    root: etree._Element,
    trust: TrustStore,
    policy: SignaturePolicy,
    *,
    now: datetime,
) -> SignatureCheck:
    """Verify the tax authority's signature in ``HDon/DSCKS/CQT`` over DLHDon and MCCQT."""
    return _verify(root, trust, policy, now, AUTHORITY)


@dataclass(frozen=True, slots=True)
class _Reference:
    uri: str
    transforms: tuple[str, ...]
    digest: str


@dataclass(frozen=True, slots=True)
class _Claims:
    """What the signature says about itself, read before any of it is trusted."""

    signature: etree._Element
    method: str
    references: tuple[_Reference, ...]
    certificates: tuple[x509.Certificate, ...]


def _verify(
    root: etree._Element,
    trust: TrustStore,
    policy: SignaturePolicy,
    now: datetime,
    profile: _Profile,
) -> SignatureCheck:
    if root.getparent() is not None:
        root = _detached(root)
    path = f"/{root.tag}/{profile.location}/Signature"
    found = root.findall(f"{profile.location}/ds:Signature", _NS)
    if not found:
        return SignatureCheck([profile.missing.finding(path=path)])
    if len(found) > 1:
        return _fail(codes.SIGNATURE_REFERENCE, f"{len(found)} signatures in one place", path)
    claims = _read_claims(found[0])
    if isinstance(claims, Finding):
        return SignatureCheck([claims])
    ids = index_ids(root)
    referenced = {reference.uri for reference in claims.references}
    duplicates = sorted(
        value
        for value, elements in ids.items()
        if len(elements) > 1 and (profile.unique_ids or value in referenced)
    )
    if duplicates:
        return _fail(codes.DUPLICATE_ID, ", ".join(duplicates), path)
    covered = _resolve_targets(root, claims, ids, profile, path)
    if isinstance(covered, Finding):
        return SignatureCheck([covered])
    targets = dict(covered)
    findings = _check_algorithms(claims, policy, path)
    signing_time = _signing_time(targets["SigningTime"], policy, now, path, findings)
    certificate = claims.certificates[0] if claims.certificates else None
    if certificate is None:
        findings.append(codes.CERT_UNTRUSTED.finding("no X509Certificate in KeyInfo", path=path))
    elif signing_time is not None:
        findings.extend(_check_certificate(certificate, signing_time, now, policy, path))
        reason = trust.untrusted_reason(certificate, claims.certificates[1:], signing_time)
        if reason is not None:
            findings.append(codes.CERT_UNTRUSTED.finding(reason, path=path))
    summary = {
        "certificate": certificate,
        "signer_tax_code": tax_code_of(certificate) if certificate else None,
        "signing_time": signing_time,
        "algorithm": claims.method.rpartition("#")[2],
    }
    if has_errors(findings) or certificate is None or signing_time is None:
        return SignatureCheck(findings, **summary)
    verified = _cryptographic_check(root, ids, claims, certificate, signing_time, profile, path)
    if isinstance(verified, Finding):
        return SignatureCheck([*findings, verified], **summary)
    read = _signed_elements(claims, verified, covered, certificate, path)
    if isinstance(read, Finding):
        return SignatureCheck([*findings, read], **summary)
    if trust.is_revoked(certificate, signing_time):
        findings.append(codes.CERT_REVOKED.finding(_describe(certificate), path=path))
        return SignatureCheck(findings, **summary)
    signed, canonical = read
    data = signed[profile.data_tags[0]]
    return SignatureCheck(findings, data, signed, **summary, canonical=canonical, ids=ids)


def _fail(code: codes.Code, detail: str, path: str) -> SignatureCheck:
    return SignatureCheck([code.finding(detail, path=path)])


def _read_claims(signature: etree._Element) -> _Claims | Finding:
    path = signature.getroottree().getpath(signature)
    info = signature.find("ds:SignedInfo", _NS)
    method = signature.find("ds:SignedInfo/ds:SignatureMethod", _NS)
    if info is None or method is None or signature.find("ds:SignatureValue", _NS) is None:
        return codes.SIGNATURE_INVALID.finding("incomplete Signature element", path=path)
    references = []
    for reference in info.findall("ds:Reference", _NS):
        digest = reference.find("ds:DigestMethod", _NS)
        uri = reference.get("URI") or ""
        if digest is None or not uri.startswith("#") or uri.startswith("#xpointer"):
            return codes.SIGNATURE_REFERENCE.finding(f"unusable reference {uri!r}", path=path)
        transforms = tuple(
            t.get("Algorithm") or "" for t in reference.findall("ds:Transforms/ds:Transform", _NS)
        )
        references.append(_Reference(uri[1:], transforms, digest.get("Algorithm") or ""))
    certificates = _certificates(signature)
    if isinstance(certificates, Finding):
        return certificates
    return _Claims(signature, method.get("Algorithm") or "", tuple(references), certificates)


def _certificates(signature: etree._Element) -> tuple[x509.Certificate, ...] | Finding:
    """KeyInfo certificates, the end-entity first whatever order the signer wrote them in."""
    texts = signature.findall("ds:KeyInfo/ds:X509Data/ds:X509Certificate", _NS)
    try:
        return _chain(tuple(t.text or "" for t in texts))
    except (ValueError, binascii.Error) as exc:
        return codes.CERT_UNTRUSTED.finding(f"unreadable certificate: {exc}")


@functools.lru_cache(maxsize=256)
def _chain(texts: tuple[str, ...]) -> tuple[x509.Certificate, ...]:
    """Parsed once per distinct chain: a seller signs every invoice with the same one, and
    the same objects let the trust store recognise a path it already verified."""
    certificates = [x509.load_der_x509_certificate(b64decode(text)) for text in texts]
    certificates.sort(key=_is_ca)
    return tuple(certificates)


def _is_ca(certificate: x509.Certificate) -> bool:
    try:
        return bool(certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _resolve_targets(
    root: etree._Element,
    claims: _Claims,
    ids: dict[str, list[etree._Element]],
    profile: _Profile,
    path: str,
) -> list[tuple[str, etree._Element]] | Finding:
    """What each reference covers, in reference order: one per data tag plus the signing time."""
    covered: list[tuple[str, etree._Element]] = []
    for reference in claims.references:
        element = ids.get(reference.uri, [None])[0]
        role = _role(element, claims.signature, profile)
        if element is None or role is None or role in dict(covered):
            what = "nothing" if element is None else etree.QName(element).localname
            detail = f"reference #{reference.uri} covers {what}"
            return codes.SIGNATURE_REFERENCE.finding(detail, path=path)
        covered.append((role, element))
    expected = {*profile.data_tags, "SigningTime"}
    if {role for role, _ in covered} != expected:
        missing = ", ".join(sorted(expected - {role for role, _ in covered}))
        return codes.SIGNATURE_REFERENCE.finding(f"no reference to {missing}", path=path)
    targets = dict(covered)
    for tag in profile.data_tags:
        read = root.findall(tag)
        if len(read) != 1 or read[0] is not targets[tag]:
            detail = f"the signed {tag} is not the single {root.tag}/{tag}"
            return codes.SIGNATURE_WRAPPED.finding(detail, path=f"/{root.tag}/{tag}")
    return covered


def _role(
    element: etree._Element | None, signature: etree._Element, profile: _Profile
) -> str | None:
    if element is None:
        return None
    inside = any(ancestor is signature for ancestor in element.iterancestors())
    if inside and etree.QName(element).localname in _SIGNING_TIME_HOLDERS:
        return "SigningTime"
    # A data element inside the signature is still classed as data: it is wrapped (2011).
    name = etree.QName(element).localname
    return name if name in profile.data_tags else None


def _signing_time_text(element: etree._Element) -> str | None:
    found = _SIGNING_TIMES(element)
    return None if not found else (found[0].text or "")


def _check_algorithms(claims: _Claims, policy: SignaturePolicy, path: str) -> list[Finding]:
    info = claims.signature.find("ds:SignedInfo", _NS)
    c14n = info.find("ds:CanonicalizationMethod", _NS) if info is not None else None
    used = [claims.method, *(r.digest for r in claims.references)]
    transforms = {t for r in claims.references for t in r.transforms}
    c14n_method = c14n.get("Algorithm") if c14n is not None else None
    if c14n_method not in _C14N_METHODS or not transforms <= {_ENVELOPED, *_C14N_METHODS}:
        return [codes.ALGORITHM_FORBIDDEN.finding("canonicalisation or transform", path=path)]
    weak = [u for u in used if u in _WEAK]
    unknown = [u for u in used if u not in _STRONG and u not in _WEAK]
    if unknown:
        return [codes.ALGORITHM_FORBIDDEN.finding(", ".join(unknown), path=path)]
    if weak and not policy.allow_sha1:
        return [codes.ALGORITHM_FORBIDDEN.finding("SHA-1 is refused", path=path)]
    return [codes.ALGORITHM_WEAK.finding(path=path)] if weak else []


def _signing_time(
    element: etree._Element,
    policy: SignaturePolicy,
    now: datetime,
    path: str,
    findings: list[Finding],
) -> datetime | None:
    text = _signing_time_text(element)
    moment = parse_signing_time(text, policy.local_zone)
    if moment is None:
        findings.append(codes.SIGNING_TIME_INVALID.finding(repr(text), path=path))
    elif moment > _aware(now) + policy.clock_skew:
        findings.append(codes.SIGNING_TIME_FUTURE.finding(text, path=path))
        return None
    return moment


def _check_certificate(
    certificate: x509.Certificate,
    at: datetime,
    now: datetime,
    policy: SignaturePolicy,
    path: str,
) -> list[Finding]:
    """The checks signxml would fold into one exception, each with its own code."""
    findings = []
    if not certificate.not_valid_before_utc <= at <= certificate.not_valid_after_utc:
        detail = f"{_describe(certificate)} at {at.isoformat()}"
        findings.append(codes.CERT_EXPIRED.finding(detail, path=path))
    if not _may_sign(certificate):
        findings.append(codes.CERT_KEY_USAGE.finding(_describe(certificate), path=path))
    if certificate.not_valid_after_utc < _aware(now) + policy.near_expiry:
        detail = f"valid until {certificate.not_valid_after_utc.date().isoformat()}"
        findings.append(codes.CERT_NEAR_EXPIRY.finding(detail, path=path))
    return findings


def _may_sign(certificate: x509.Certificate) -> bool:
    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return False
    return bool(usage.digital_signature)


def _cryptographic_check(
    root: etree._Element,
    ids: dict[str, list[etree._Element]],
    claims: _Claims,
    certificate: x509.Certificate,
    signing_time: datetime,
    profile: _Profile,
    path: str,
) -> tuple[list[VerifyResult], list[etree._Element | None]] | Finding:
    """Digests and signature value, against the certificate whose path was already checked;
    with the results, the element each reference's digest was computed over."""
    config = SignatureConfiguration(
        location=f"./{profile.location}/",
        expect_references=len(claims.references),
        signature_methods=_VERIFIABLE_METHODS,
        digest_algorithms=_VERIFIABLE_DIGESTS,
        verification_time=signing_time,
        default_reference_c14n_method=C14N,
    )
    verifier = _Verifier(root, ids, claims.signature)
    try:
        results = verifier.verify(
            root,
            x509_cert=certificate,
            expect_config=config,
            validate_schema=False,
            parser=_parser(),
        )
    except InvalidDigest as exc:
        return codes.SIGNATURE_INVALID.finding(f"signed content changed ({exc})", path=path)
    except InvalidCertificate as exc:
        return codes.CERT_UNTRUSTED.finding(str(exc), path=path)
    except (InvalidSignature, cryptography.exceptions.InvalidSignature) as exc:
        return codes.SIGNATURE_INVALID.finding(str(exc) or "signature value mismatch", path=path)
    except (SignXMLException, ValueError, etree.LxmlError) as exc:
        return codes.SIGNATURE_INVALID.finding(str(exc), path=path)
    except Exception as exc:  # signxml lets TypeError/KeyError out on malformed signatures
        return codes.SIGNATURE_INVALID.finding(f"{type(exc).__name__}: {exc}", path=path)
    return (results if isinstance(results, list) else [results]), verifier.digested


def _signed_elements(
    claims: _Claims,
    verified: tuple[list[VerifyResult], list[etree._Element | None]],
    covered: list[tuple[str, etree._Element]],
    certificate: x509.Certificate,
    path: str,
) -> tuple[dict[str, etree._Element], dict[str, bytes]] | Finding:
    """The verified elements by tag, after proving they are the ones the application reads:
    the very element digested, or one that canonicalises to exactly the digested bytes. With
    them, the digested bytes of each very element digested by C14N 1.0."""
    results, digested = verified
    key = certificate.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    signed: dict[str, etree._Element] = {}
    forms: dict[str, bytes] = {}
    canonical = InScopeC14N()
    for reference, result, payload, (role, element) in zip(
        claims.references, results, digested, covered, strict=True
    ):
        if result.signature_key != key:
            return codes.SIGNATURE_INVALID.finding("signed with another key", path=path)
        if role == "SigningTime":
            continue
        if result.signed_xml is None or (
            payload is not element
            and canonical._c14n(element, _reference_c14n(reference.transforms))
            != result.signed_data
        ):
            return codes.SIGNATURE_WRAPPED.finding(
                f"{role} differs from what was signed", path=path
            )
        signed[role] = result.signed_xml
        if payload is element and _reference_c14n(reference.transforms) is C14N:
            forms[role] = result.signed_data
    return signed, forms


def _reference_c14n(transforms: Iterable[str | None]) -> CanonicalizationMethod:
    """The canonicalisation a reference's transforms name, C14N 1.0 when they name none."""
    method = next((t for t in transforms if t in _C14N_METHODS), None)
    return CanonicalizationMethod(method or C14N.value)


class _Verifier(InScopeC14N, XMLVerifier):
    """signxml's verifier run on the received tree itself, which it never changes.

    Stock signxml serialises and reparses the whole document once per reference, so that the
    enveloped-signature transform can cut the signature out of a copy, and finds each
    reference by an XPath over every attribute of the document. Here a reference resolves
    through the Id index already built (duplicates were refused before), and the payload is
    canonicalised where it stands: the enveloped transform removes nothing from a payload
    that neither holds the signature nor sits inside it. Any other reference takes signxml's
    own copying path. ``digested`` holds each reference's payload in order (None where signxml
    digested a copy), so the caller can prove it is the very element it reads. The signature
    is the one element found at its place before, so signxml's search for it is not repeated.
    """

    def __init__(
        self,
        root: etree._Element,
        ids: dict[str, list[etree._Element]],
        signature: etree._Element,
    ) -> None:
        super().__init__()
        self._root = root
        self._ids = ids
        self._signature = signature
        self.digested: list[etree._Element | None] = []

    def _get_signature(self, root: etree._Element) -> etree._Element:
        if root is self._root:
            return self._signature
        return super()._get_signature(root)  # type: ignore[no-any-return]

    def get_root(self, data: Any) -> etree._Element:
        if data is not self._root:
            return super().get_root(data)  # type: ignore[no-any-return]
        docinfo = data.getroottree().docinfo
        if docinfo.internalDTD is not None or docinfo.externalDTD is not None:
            raise InvalidInput("DTD declarations are not supported in XML input")
        if next(data.iter(etree.Entity), None) is not None:
            raise InvalidInput("Entities are not supported in XML input")
        return data

    def _check_cert_validity(self, cert: x509.Certificate, cert_source: str) -> None:
        # signxml spells out the certificate for a message it only needs on failure.
        at = self.config.verification_time
        if at is None or not cert.not_valid_before_utc <= at <= cert.not_valid_after_utc:
            super()._check_cert_validity(cert, cert_source)

    def _resolve_reference(
        self, doc_root: etree._Element, reference: etree._Element, uri_resolver: Any = None
    ) -> etree._Element:
        uri = reference.get("URI") or ""
        found = self._ids.get(uri[1:], []) if doc_root is self._root else []
        if uri.startswith("#") and len(found) == 1:
            return found[0]
        return super()._resolve_reference(doc_root, reference, uri_resolver)  # type: ignore[no-any-return]

    def _verify_reference(
        self,
        reference: etree._Element,
        index: int,
        root: etree._Element,
        uri_resolver: Any,
        c14n_algorithm: CanonicalizationMethod,
        signature: etree._Element,
        signature_key_used: Any,
    ) -> VerifyResult:
        transforms = reference.findall("ds:Transforms/ds:Transform", _NS)
        methods = [t for t in transforms if t.get("Algorithm") in _C14N_METHODS]
        payload = self._resolve_reference(root, reference, uri_resolver)
        placed = self._get_signature(root)
        enveloped = any(t.get("Algorithm") == _ENVELOPED for t in transforms)
        copied = root is not self._root or len(methods) > 1
        if copied or (enveloped and _overlaps(payload, placed)):
            self.digested.append(None)
            return super()._verify_reference(  # type: ignore[no-any-return]
                reference, index, root, uri_resolver, c14n_algorithm, signature, signature_key_used
            )
        algorithm = _reference_c14n(t.get("Algorithm") for t in methods)
        prefixes = self._get_inclusive_ns_prefixes(methods[0]) if methods else None
        payload_c14n = self._c14n(payload, algorithm, inclusive_ns_prefixes=prefixes)
        digest_algorithm = DigestAlgorithm(self._find(reference, "DigestMethod").get("Algorithm"))
        self.check_digest_alg_expected(digest_algorithm)
        expected = b64decode(self._find(reference, "DigestValue").text or "")
        if expected != self._get_digest(payload_c14n, digest_algorithm):
            raise InvalidDigest(f"Digest mismatch for reference {index} ({reference.get('URI')})")
        self.digested.append(payload)
        key = signature_key_used
        if not isinstance(key, bytes):
            key = key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
        signed_xml = self._as_signed(payload, payload_c14n)
        return VerifyResult(payload_c14n, signed_xml, signature, signature_key=key)

    def _as_signed(self, payload: etree._Element, payload_c14n: bytes) -> etree._Element | None:
        """What the application may read of a payload digested where it stands.

        A comment is the one node C14N may leave out of the digest, and it splits the text
        around it; then, as signxml does, the canonical bytes are parsed again, so nothing the
        digest did not cover reaches the application. Without one, the payload reads exactly
        as its canonical form, and is returned itself.
        """
        if next(payload.iter(etree.Comment), None) is None:
            return payload
        try:
            return self._fromstring(payload_c14n)  # type: ignore[no-any-return]
        except etree.XMLSyntaxError:
            return None


def _overlaps(payload: etree._Element, signature: etree._Element) -> bool:
    """Whether the payload is the signature, holds it or sits inside it."""
    return any(node is payload for node in (signature, *signature.iterancestors())) or any(
        node is signature for node in payload.iterancestors()
    )


def _detached(element: etree._Element) -> etree._Element:
    """The element as a document of its own, with its in-scope namespaces."""
    return etree.fromstring(etree.tostring(element), _parser())


def _parser() -> etree.XMLParser:
    # Received bytes must digest as received: nothing is stripped or resolved.
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def read_crls(paths: Iterable[Path]) -> list[x509.CertificateRevocationList]:
    """The CRLs in these files, PEM or DER; raises ``TrustStoreError`` naming the problem."""
    try:
        return [_load_crl(path.read_bytes()) for path in paths]
    except (OSError, ValueError) as exc:
        raise TrustStoreError(f"cannot read trust material: {exc}") from exc


def _load_crl(data: bytes) -> x509.CertificateRevocationList:
    if b"-----BEGIN" in data:
        return x509.load_pem_x509_crl(data)
    return x509.load_der_x509_crl(data)


def _describe(certificate: x509.Certificate) -> str:
    return f"{certificate.subject.rfc4514_string()} serial {certificate.serial_number:x}"


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
