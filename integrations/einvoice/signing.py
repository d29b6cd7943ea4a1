"""Enveloped XML signatures in the national e-invoice profile.

Every signature this module writes has the shape real invoices have (``einvoice-format.md``
§6): inclusive C14N 1.0, one reference per signed element (``#<Id>``, optionally with the
enveloped-signature transform and nothing else) plus one reference, without transforms, to
an ``Object/SignatureProperties/SignatureProperty/SigningTime`` inside the signature, and
``KeyInfo/X509Data`` with the signer's certificate chain. By default the ``Signature`` declares
the XML-DSig namespace as the default namespace, as .NET vendors and the tax authority do.

Three call sites share :func:`sign_tree`: the seller signature (:func:`sign_invoice`), the
206 batch signature (:func:`sign_envelope`) and the gateway's own receipts and tax-authority
signatures. The signature is written straight into the caller's tree: libxml2 canonicalises
(through lxml), hashlib digests and ``cryptography`` makes the RSA signature, so nothing of the
document is copied or parsed again. signxml's signer would serialise and reparse the document
and each referenced element, which cost the tax-authority stamp more than its RSA signature.
"""

from __future__ import annotations

import hashlib
import secrets
from base64 import b64encode
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from typing import Any, Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree
from signxml.algorithms import (
    CanonicalizationMethod,
    DigestAlgorithm,
    SignatureConstructionMethod,
    SignatureMethod,
)
from signxml.processor import XMLSignatureProcessor

from integrations.einvoice.pki import SignerIdentity
from integrations.errors import GatewayError

DS = "http://www.w3.org/2000/09/xmldsig#"
C14N = CanonicalizationMethod.CANONICAL_XML_1_0
# SigningTime is written as local wall-clock time without a zone, as real invoices do.
VIETNAM_TIME = timezone(timedelta(hours=7), "ICT")
SIGNING_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S"
_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'

Algorithm = Literal["rsa-sha256", "rsa-sha1"]
ALGORITHMS: dict[str, tuple[SignatureMethod, DigestAlgorithm]] = {
    "rsa-sha256": (SignatureMethod.RSA_SHA256, DigestAlgorithm.SHA256),
    "rsa-sha1": (SignatureMethod.RSA_SHA1, DigestAlgorithm.SHA1),
}
_ENVELOPED = SignatureConstructionMethod.enveloped.value


class SigningError(GatewayError):
    """A document could not be signed: the element to sign or the signature place is wrong."""

    code = "SIGNING_FAILED"
    hint = "Give the signed elements unique Id attributes and leave the signature place empty."


class InScopeC14N(XMLSignatureProcessor):
    """Canonicalise a subtree as if it were detached, with its in-scope namespaces.

    libxml2's C14N of an element that has a default namespace in scope writes a spurious
    ``xmlns=""`` on the element's grandchildren, so a ``SignedInfo`` or ``Object`` under
    ``<Signature xmlns="…xmldsig#">`` digests differently from what every other implementation
    (and the signer) computed. Serialising such an element alone carries its in-scope
    namespaces onto it; canonicalising that reparsed copy gives the C14N 1.0 result. An
    element without a default namespace in scope (a ``DLHDon``) is canonicalised where it
    stands: libxml2 gets it right, and the copy would cost a serialisation and a parse.
    """

    def _c14n(
        self,
        nodes: Any,
        algorithm: CanonicalizationMethod,
        inclusive_ns_prefixes: list[str] | None = None,
    ) -> bytes:
        nodes = nodes if isinstance(nodes, list) else [nodes]
        return super()._c14n(  # type: ignore[no-any-return]
            [detached(node) for node in nodes], algorithm, inclusive_ns_prefixes
        )


def detached(node: Any) -> Any:
    """``node`` where libxml2 canonicalises it right, else a copy of it alone (see above)."""
    if isinstance(node, etree._Element) and node.getparent() is not None and None in node.nsmap:
        return _parse(etree.tostring(node))
    return node


def canonical(element: etree._Element) -> bytes:
    """The inclusive C14N 1.0 of ``element`` as a document subset, its namespaces in scope.

    Without comments: what a ``#Id`` reference and ``SignedInfo`` digest (XML-DSig §4.4.3.3).
    """
    return etree.tostring(  # type: ignore[no-any-return]
        detached(element), method="c14n", with_comments=False
    )


_ID_ATTRIBUTES = etree.XPath(
    "descendant-or-self::*/@*[local-name()='Id' or local-name()='ID' or local-name()='id']"
)


def index_ids(root: etree._Element) -> dict[str, list[etree._Element]]:
    """Every element under ``root`` by each Id/ID/id value it carries, in one scan: signxml
    resolves a reference through any of these attributes."""
    index: dict[str, list[etree._Element]] = defaultdict(list)
    for value in _ID_ATTRIBUTES(root):
        index[str(value)].append(value.getparent())
    return index


def sign_document(
    xml: bytes | etree._Element,
    *,
    location: str,
    reference_ids: Sequence[str],
    signer: SignerIdentity,
    signing_time: datetime,
    algorithm: Algorithm = "rsa-sha256",
    enveloped: bool = True,
    default_namespace: bool = True,
    signature_id: str | None = None,
) -> bytes:
    """Sign the elements whose ``Id`` is in ``reference_ids`` and return the signed document.

    ``location`` is the slash-separated path from the root to the element that receives the
    ``Signature`` (missing elements are created; ``""`` is the root itself), for example
    ``DSCKS/NBan``, ``CKSNNT`` or ``DLieu/TBao/DSCKS/CQT``. ``enveloped`` adds the
    enveloped-signature transform to the element references (sellers write it, the tax
    authority does not). A receipt covers its whole content by referencing the root's Id.
    """
    return sign_tree(
        _own_copy(xml),
        location=location,
        reference_ids=reference_ids,
        signer=signer,
        signing_time=signing_time,
        algorithm=algorithm,
        enveloped=enveloped,
        default_namespace=default_namespace,
        signature_id=signature_id,
    )


def sign_invoice(
    unsigned: bytes,
    signer: SignerIdentity,
    *,
    signing_time: datetime,
    algorithm: Algorithm = "rsa-sha256",
    default_namespace: bool = True,
) -> bytes:
    """The seller signature: ``HDon/DLHDon`` and the signing time, in ``DSCKS/NBan``."""
    root = _parse(unsigned)
    data = _single_child(root, "DLHDon")
    dscks = root.find("DSCKS")
    if dscks is None:
        dscks = etree.SubElement(root, "DSCKS")
    if dscks.find("NBan") is None:
        dscks.insert(0, etree.Element("NBan"))
    return sign_tree(
        root,
        location="DSCKS/NBan",
        reference_ids=[ensure_id(data, "DLHDon")],
        signer=signer,
        signing_time=signing_time,
        algorithm=algorithm,
        enveloped=True,
        default_namespace=default_namespace,
        signature_id=new_id("NBan"),
    )


def sign_envelope(
    unsigned_tdiep: bytes,
    signer: SignerIdentity,
    *,
    signing_time: datetime,
    algorithm: Algorithm = "rsa-sha256",
    default_namespace: bool = True,
) -> bytes:
    """The 206 batch signature in ``TDiep/CKSNNT``, covering the whole ``DLieu``.

    The reference is ``#<DLieu/@Id>`` (an Id is given when absent), so every invoice in the
    batch, with all its content, is under the digest; the ``TTChung`` header is not, as in
    the seller profile, and the intake checks it against ``DLieu`` instead.
    """
    root = _parse(unsigned_tdiep)
    data = _single_child(root, "DLieu")
    return sign_tree(
        root,
        location="CKSNNT",
        reference_ids=[ensure_id(data, "DLieu")],
        signer=signer,
        signing_time=signing_time,
        algorithm=algorithm,
        enveloped=True,
        default_namespace=default_namespace,
        signature_id=new_id("CKSNNT"),
    )


def new_id(prefix: str) -> str:
    """A document-unique Id; unique across invoices too, so batches never repeat one."""
    return f"{prefix}-{secrets.token_hex(16)}"


def ensure_id(element: etree._Element, prefix: str) -> str:
    """The element's ``Id``, setting a fresh one when it has none."""
    value = element.get("Id")
    if not value:
        value = new_id(prefix)
        element.set("Id", value)
    return value


def format_signing_time(moment: datetime, zone: tzinfo = VIETNAM_TIME) -> str:
    """Local time without a zone; an aware ``moment`` is converted to ``zone`` first."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(zone)
    return moment.strftime(SIGNING_TIME_FORMAT)


def parse_signing_time(text: str | None, zone: tzinfo = VIETNAM_TIME) -> datetime | None:
    """An aware datetime from a SigningTime value; a value without a zone is in ``zone``."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def sign_tree(
    root: etree._Element,
    *,
    location: str,
    reference_ids: Sequence[str],
    signer: SignerIdentity,
    signing_time: datetime,
    algorithm: Algorithm = "rsa-sha256",
    enveloped: bool = True,
    default_namespace: bool = True,
    signature_id: str | None = None,
    canonical_forms: Mapping[str, bytes] | None = None,
    id_index: Mapping[str, Sequence[etree._Element]] | None = None,
) -> bytes:
    """:func:`sign_document` on a tree the caller parsed for this and hands over: the
    signature is written into it, so the document is neither copied nor parsed again.

    What a verified signature already learnt of this tree may be given, to be used instead
    of working it out again: ``canonical_forms``, referenced elements' C14N forms by Id, and
    ``id_index``, every element of the tree by Id (as ``index_ids`` makes it)."""
    if not reference_ids:
        raise SigningError("nothing to sign: give the Id of at least one element")
    parent = _ensure_path(root, location)
    if parent.find(f"{{{DS}}}Signature") is not None:
        raise SigningError(f"{location or root.tag} already holds a signature")
    method, digest = ALGORITHMS[algorithm]
    # Digested before the signature exists: that is what the enveloped transform leaves.
    digests = _reference_digests(
        id_index or index_ids(root), reference_ids, parent, enveloped, digest, canonical_forms or {}
    )
    nsmap: dict[str | None, str] = {None: DS} if default_namespace else {"ds": DS}
    signature = etree.SubElement(parent, _ds("Signature"), nsmap=nsmap)
    signature_id = signature_id or new_id("Signature")
    signature.set("Id", signature_id)
    # SignedInfo and the signing time are built as roots of their own, declaring what is in
    # scope where they will stand: canonicalised there without a copy (see ``detached``), and
    # their repeated declarations dropped when they are moved into place.
    scope = signature.nsmap
    info = etree.Element(_ds("SignedInfo"), nsmap=scope)
    etree.SubElement(info, _ds("CanonicalizationMethod"), Algorithm=C14N.value)
    etree.SubElement(info, _ds("SignatureMethod"), Algorithm=method.value)
    value = etree.SubElement(signature, _ds("SignatureValue"))
    _key_info(signature, signer.certificates)
    time_object = _signing_time_object(scope, signature_id, format_signing_time(signing_time))
    for uri, digest_value in digests:
        _reference(info, uri, digest, digest_value, enveloped=enveloped)
    time_uri = f"#{time_object.get('Id')}"
    _reference(info, time_uri, digest, _digest(canonical(time_object), digest))
    value.text = _signature_value(signer, canonical(info), digest)
    signature.insert(0, info)
    signature.append(time_object)
    return _DECLARATION + etree.tostring(root, encoding="UTF-8", xml_declaration=False)


def _ds(name: str) -> str:
    return f"{{{DS}}}{name}"


def _reference_digests(
    ids: Mapping[str, Sequence[etree._Element]],
    reference_ids: Sequence[str],
    signature_place: etree._Element,
    enveloped: bool,
    digest: DigestAlgorithm,
    known: Mapping[str, bytes],
) -> list[tuple[str, str]]:
    """Each reference's URI and digest value, from a canonical form already known or made."""
    digests = []
    for i in reference_ids:
        element = _referenced(ids, i, signature_place, enveloped)
        digests.append((f"#{i}", _digest(known.get(i) or canonical(element), digest)))
    return digests


def _referenced(
    ids: Mapping[str, Sequence[etree._Element]],
    id_value: str,
    signature_place: etree._Element,
    enveloped: bool,
) -> etree._Element:
    """The one element with this Id; one holding the signature only under the enveloped
    transform, which cuts the signature out of what is digested."""
    found = ids.get(id_value, [])
    if len(found) != 1:
        raise SigningError(f"cannot sign: {len(found)} elements have the Id {id_value!r}")
    element = found[0]
    if not enveloped and (element is signature_place or element in signature_place.iterancestors()):
        raise SigningError(f"cannot sign: #{id_value} holds the signature and is not enveloped")
    return element


def _digest(data: bytes, digest: DigestAlgorithm) -> str:
    return b64encode(hashlib.new(digest.implementation.name, data).digest()).decode()


def _reference(
    info: etree._Element, uri: str, digest: DigestAlgorithm, value: str, *, enveloped: bool = False
) -> None:
    """A ``Reference``; the profile writes no ``Transforms`` at all unless enveloped."""
    reference = etree.SubElement(info, _ds("Reference"), URI=uri)
    if enveloped:
        transforms = etree.SubElement(reference, _ds("Transforms"))
        etree.SubElement(transforms, _ds("Transform"), Algorithm=_ENVELOPED)
    etree.SubElement(reference, _ds("DigestMethod"), Algorithm=digest.value)
    etree.SubElement(reference, _ds("DigestValue")).text = value


def _signature_value(signer: SignerIdentity, signed_info: bytes, digest: DigestAlgorithm) -> str:
    hash_algorithm: hashes.HashAlgorithm = digest.implementation()
    signed = signer.private_key.sign(signed_info, padding.PKCS1v15(), hash_algorithm)
    return b64encode(signed).decode()


def _key_info(signature: etree._Element, certificates: Sequence[x509.Certificate]) -> None:
    data = etree.SubElement(etree.SubElement(signature, _ds("KeyInfo")), _ds("X509Data"))
    for certificate in certificates:
        etree.SubElement(data, _ds("X509Certificate")).text = _pem_body(certificate)


@lru_cache(maxsize=64)
def _pem_body(certificate: x509.Certificate) -> str:
    """The certificate's base64 lines, as signxml and .NET vendors write them."""
    lines = certificate.public_bytes(Encoding.PEM).decode().splitlines(keepends=True)
    return "".join(lines[1:-1])


def _signing_time_object(
    scope: dict[str | None, str], signature_id: str, signing_time: str
) -> etree._Element:
    """``Object/SignatureProperties/SignatureProperty/SigningTime``, targeting the signature."""
    obj = etree.Element(_ds("Object"), nsmap=scope, Id=new_id("SigningTime"))
    properties = etree.SubElement(obj, _ds("SignatureProperties"))
    target = f"#{signature_id}"
    prop = etree.SubElement(properties, _ds("SignatureProperty"), Target=target)
    # With a default ds namespace SigningTime falls into it, exactly as vendors' files have it.
    tag = _ds("SigningTime") if None in scope else "SigningTime"
    etree.SubElement(prop, tag).text = signing_time
    return obj


def _ensure_path(root: etree._Element, location: str) -> etree._Element:
    node = root
    for step in filter(None, location.strip("./").split("/")):
        child = node.find(step)
        node = child if child is not None else etree.SubElement(node, step)
    return node


def _single_child(root: etree._Element, tag: str) -> etree._Element:
    children = root.findall(tag)
    if len(children) != 1:
        raise SigningError(f"{root.tag} must have exactly one {tag}, found {len(children)}")
    return children[0]


def _own_copy(xml: bytes | etree._Element) -> etree._Element:
    return _parse(xml if isinstance(xml, bytes) else etree.tostring(xml))


def _parse(xml: bytes) -> etree._Element:
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    try:
        return etree.fromstring(xml, parser=parser)
    except etree.XMLSyntaxError as exc:
        raise SigningError(f"not well-formed XML: {exc}") from exc
