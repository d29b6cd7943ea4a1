"""Enveloped XML signatures in the national e-invoice profile, made with signxml.

Every signature this module writes has the shape real invoices have (``einvoice-format.md``
§6): inclusive C14N 1.0, one reference per signed element (``#<Id>``, optionally with the
enveloped-signature transform and nothing else) plus one reference, without transforms, to
an ``Object/SignatureProperties/SignatureProperty/SigningTime`` inside the signature, and
``KeyInfo/X509Data`` with the signer's certificate chain. By default the ``Signature`` declares
the XML-DSig namespace as the default namespace, as .NET vendors and the tax authority do.

Three call sites share :func:`sign_document`: the seller signature (:func:`sign_invoice`), the
206 batch signature (:func:`sign_envelope`) and the gateway's own receipts and tax-authority
signatures.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any, Literal
from uuid import uuid4

from lxml import etree
from signxml import XMLSigner
from signxml.algorithms import (
    CanonicalizationMethod,
    DigestAlgorithm,
    SignatureConstructionMethod,
    SignatureMethod,
)
from signxml.exceptions import SignXMLException
from signxml.processor import XMLSignatureProcessor
from signxml.signer import SignatureReference

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
        detached = [
            self._fromstring(self._tostring(node)) if _needs_detaching(node) else node
            for node in nodes
        ]
        return super()._c14n(detached, algorithm, inclusive_ns_prefixes)  # type: ignore[no-any-return]


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


def _needs_detaching(node: Any) -> bool:
    return isinstance(node, etree._Element) and node.getparent() is not None and None in node.nsmap


@dataclass(frozen=True)
class _Reference(SignatureReference):
    enveloped: bool = False


class _ProfileSigner(InScopeC14N, XMLSigner):
    """signxml's signer with per-reference transforms and SHA-1 available on request.

    signxml copies the document it signs (serialise and reparse) and then each referenced
    element, to keep the caller's tree untouched. The tree given here is always this module's
    own parse, so it is signed where it stands, and a referenced element is canonicalised in
    place (``InScopeC14N`` detaches what needs it); only one that holds the signature
    placeholder is copied, since signxml cuts the placeholder out of what it digests.
    """

    def __init__(self, document: etree._Element, **options: Any) -> None:
        super().__init__(**options)
        self._document = document

    def get_root(self, data: Any) -> etree._Element:
        if data is self._document:
            return data
        return super().get_root(data)  # type: ignore[no-any-return]

    def _get_c14n_inputs_from_references(
        self, doc_root: etree._Element, references: list[SignatureReference]
    ) -> tuple[list[etree._Element], list[SignatureReference]]:
        inputs, resolved = [], []
        ids = index_ids(doc_root)
        for reference in references:
            uri = reference.URI if reference.URI.startswith("#") else f"#{reference.URI}"
            found = ids.get(uri[1:], [])
            # A value held once is what signxml's own search finds; anything else it judges.
            element = (
                found[0] if len(found) == 1 else self._resolve_reference(doc_root, {"URI": uri})
            )
            holds = element.find(f".//{{{DS}}}Signature[@Id='placeholder']") is not None
            inputs.append(super().get_root(element) if holds else element)
            resolved.append(replace(reference, URI=uri))
        return inputs, resolved

    def check_deprecated_methods(self) -> None:
        """SHA-1 is chosen explicitly by the caller, only to reproduce legacy invoices."""

    def _build_transforms_for_reference(
        self,
        *,
        transforms_node: etree._Element,
        reference: SignatureReference,
        exclude_c14n_transform_element: bool = True,
    ) -> None:
        if isinstance(reference, _Reference) and reference.enveloped:
            etree.SubElement(
                transforms_node,
                self._ds_tag("Transform"),
                Algorithm=SignatureConstructionMethod.enveloped.value,
            )
            return
        # An empty Transforms element is invalid XML-DSig; the profile writes none at all.
        parent = transforms_node.getparent()
        if parent is not None:
            parent.remove(transforms_node)


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
    return f"{prefix}-{uuid4().hex}"


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
) -> bytes:
    """:func:`sign_document` on a tree the caller parsed for this and hands over: the
    signature is written into it, so the document is neither copied nor parsed again."""
    if not reference_ids:
        raise SigningError("nothing to sign: give the Id of at least one element")
    parent = _ensure_path(root, location)
    if parent.find(f"{{{DS}}}Signature") is not None:
        raise SigningError(f"{location or root.tag} already holds a signature")
    nsmap: dict[str | None, str] = {None: DS} if default_namespace else {"ds": DS}
    signature_id = signature_id or new_id("Signature")
    time_id = new_id("SigningTime")
    parent.append(_placeholder(nsmap, time_id, signature_id, format_signing_time(signing_time)))
    method, digest = ALGORITHMS[algorithm]
    xml_signer = _ProfileSigner(
        root, signature_algorithm=method, digest_algorithm=digest, c14n_algorithm=C14N
    )
    xml_signer.namespaces = nsmap  # type: ignore[assignment]
    xml_signer.signature_annotators.append(_objects_last)
    references = [_Reference(f"#{i}", enveloped=enveloped) for i in reference_ids]
    try:
        signed = xml_signer.sign(
            root,
            key=signer.private_key,
            cert=signer.certificates,
            reference_uri=[*references, _Reference(f"#{time_id}")],
            exclude_c14n_transform_element=True,
        )
    except (SignXMLException, ValueError) as exc:
        raise SigningError(f"cannot sign: {exc}") from exc
    signature = _ensure_path(signed, location).find(f"{{{DS}}}Signature")
    if signature is not None:
        signature.set("Id", signature_id)
    return _DECLARATION + etree.tostring(signed, encoding="UTF-8", xml_declaration=False)


def _placeholder(
    nsmap: dict[str | None, str], time_id: str, signature_id: str, signing_time: str
) -> etree._Element:
    """signxml fills a ``Signature Id="placeholder"``; ours already holds the SigningTime."""
    signature = etree.Element(f"{{{DS}}}Signature", nsmap=nsmap, Id="placeholder")
    obj = etree.SubElement(signature, f"{{{DS}}}Object", Id=time_id)
    properties = etree.SubElement(obj, f"{{{DS}}}SignatureProperties")
    prop = etree.SubElement(properties, f"{{{DS}}}SignatureProperty", Target=f"#{signature_id}")
    # With a default ds namespace SigningTime falls into it, exactly as vendors' files have it.
    tag = f"{{{DS}}}SigningTime" if None in nsmap else "SigningTime"
    etree.SubElement(prop, tag).text = signing_time
    return signature


def _objects_last(signature: etree._Element, signing_settings: object) -> None:
    """XML-DSig orders SignedInfo, SignatureValue, KeyInfo, then Object; signxml appends
    the first three after the placeholder's Object. Moving it changes no digest."""
    for obj in signature.findall(f"{{{DS}}}Object"):
        signature.append(obj)


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
