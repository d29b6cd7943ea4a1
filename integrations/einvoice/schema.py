"""The schema stage: invoices and message envelopes checked against the project's XSDs (3xxx).

libxml2 does the structural work (lengths, types, enumerations, required fields) through
lxml's ``XMLSchema``. The few conditions XSD 1.0 cannot express, because they depend on the
format version, the template or the message type, are checked here next to it; see
``docs/xsd.md`` for the reasoning behind each.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path

from lxml import etree

from integrations.einvoice import codes
from integrations.einvoice.findings import MAX_LISTED, Finding

XSD_PACKAGE = "integrations.einvoice.xsd"
SUPPORTED_VERSIONS = frozenset({"2.0.0", "2.0.1", "2.1.0"})
INBOUND_MESSAGE_TYPES = frozenset({"200", "203", "206"})
OUTBOUND_MESSAGE_TYPES = frozenset({"202", "204", "999"})
TEMPLATES = tuple("123456789")
"""Every KHMSHDon the XSD takes (its ``TemplateNumber``)."""
VAT_TEMPLATES = frozenset({"1", "8"})

_INVOICE_MESSAGES = frozenset({"200", "202", "203", "206"})
_NOTICE_MESSAGES = frozenset({"204", "999"})
# Amounts are "19,4" in the 2.0.x tables and "21,6" in 2.1.0; the XSD allows the wider one.
_AMOUNT_TAGS = (
    "SLuong", "DGia", "STCKhau", "ThTien", "TThue", "TgTCThue", "TGTKCThue", "TgTThue",
    "TPhi", "TTCKTMai", "TGTKhac", "TgTTTBSo",
)  # fmt: skip
_NARROW_AMOUNTS = (19, 4)
_VAT_TOTALS = ("THTTLTSuat", "TgTCThue", "TgTThue")
_ELEMENT_PREFIX = re.compile(r"^Element '[^']*'(?:, attribute '([^']*)')?: ")
_FACET = re.compile(r"\[facet '\w+'\] ")
_MISSING = re.compile(r"^Missing child element\(s\)\. Expected is (?:one of )?\( (.*) \)\.$")
_XS = "{http://www.w3.org/2001/XMLSchema}"
_CHILDREN = "./xs:all/xs:element | ./xs:sequence/xs:element | ./xs:choice/xs:element"


def default_xsd_dir() -> Path:
    """The folder of the format's XSDs: the package data of ``integrations.einvoice.xsd``.

    The repository keeps them in its top-level ``xsd/`` folder, which ``pyproject.toml`` maps to
    that package: a wheel carries them and an editable install reads them in place. libxml2
    reads a schema and its includes by file name, so they must be files on disk, as every
    installation from a wheel leaves them.
    """
    folder = resources.files(XSD_PACKAGE)
    if not isinstance(folder, Path):
        raise FileNotFoundError(f"the XSDs of {XSD_PACKAGE} are not files on disk: {folder}")
    return folder


def is_cash_register_series(series: str) -> bool:
    """Series kind letter M marks an invoice generated from a cash register."""
    return len(series) >= 4 and series[3] == "M"


def personal_id_allowed(version: str, cash_register: bool) -> bool:
    """Where a buyer's CCCDan exists: 2.1.0 everywhere, 2.0.1 on cash-register forms only."""
    return version == "2.1.0" or (version == "2.0.1" and cash_register)


class Schemas:
    """The compiled invoice and message schemas, built once and shared by every request.

    >>> schemas = Schemas(default_xsd_dir())
    >>> schemas.validate_invoice(etree.fromstring(raw))
    []

    libxml2 keeps each validation's errors on the schema object, so one validation runs at a
    time per instance; each takes well under a millisecond.
    """

    def __init__(self, xsd_dir: Path) -> None:
        self._invoice = _load(xsd_dir, "invoice.xsd")
        self._message = _load(xsd_dir, "message.xsd")
        self._envelope = _load(xsd_dir, "message.xsd", _invoices_unread)
        self._required = _required_children(xsd_dir, ("invoice.xsd", "message.xsd"))
        self._lock = threading.Lock()

    def validate_invoice(self, root: etree._Element) -> list[Finding]:
        """The schema findings for one ``HDon`` document, in document order.

        At most ``MAX_LISTED`` are kept, then one omission counts the rest: a hostile document
        can break tens of thousands of rules, and none of the later work may grow with it.
        """
        if root.tag != "HDon":
            return [_wrong_root(root, "HDon")]
        unsupported = _unsupported_version(root, "DLHDon/TTChung/PBan")
        if unsupported:
            return [unsupported]
        return codes.bounded([*self._run(self._invoice, root), *_invoice_conditions(root)])

    def validate_message(
        self,
        root: etree._Element,
        *,
        accept: frozenset[str] = INBOUND_MESSAGE_TYPES,
        invoices: bool = True,
    ) -> list[Finding]:
        """The schema findings for a ``TDiep`` envelope and the invoices it carries.

        ``accept`` names the message types the caller takes; the intake takes 200, 203 and
        206, while tests of the gateway's own replies pass ``OUTBOUND_MESSAGE_TYPES``.
        Without ``invoices`` only the envelope is read: the intake checks each invoice of a
        message on its own, so nothing of theirs is validated twice. Bounded as
        ``validate_invoice``.
        """
        if root.tag != "TDiep":
            return [_wrong_root(root, "TDiep")]
        unsupported = _unsupported_version(root, "TTChung/PBan")
        if unsupported:
            return [unsupported]
        findings = self._run(self._message if invoices else self._envelope, root)
        findings += _envelope_conditions(root, accept)
        for invoice in root.iterfind("DLieu/HDon") if invoices else ():
            unsupported = _unsupported_version(invoice, "DLHDon/TTChung/PBan")
            findings += [unsupported] if unsupported else _invoice_conditions(invoice)
        return codes.bounded(findings)

    def _run(self, schema: etree.XMLSchema, root: etree._Element) -> list[Finding]:
        with self._lock:
            if schema.validate(root):
                return []
            entries = list(schema.error_log)
        return _schema_findings(entries, self._required)


class _LocalFolder(etree.Resolver):
    """Serves includes and imports from the schema folder only; nothing is ever fetched."""

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self._folder = folder

    def resolve(self, system_url: str, public_id: str, context: object) -> object:
        local = self._folder / Path(system_url).name
        if not local.is_file():
            raise FileNotFoundError(f"schema {system_url!r} is not in {self._folder}")
        return self.resolve_filename(str(local), context)


def _load(
    folder: Path,
    name: str,
    amend: Callable[[etree._ElementTree], None] | None = None,
) -> etree.XMLSchema:
    parser = etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False)
    parser.resolvers.add(_LocalFolder(folder))
    document = etree.parse(str(folder / name), parser)
    if amend is not None:
        amend(document)
    return etree.XMLSchema(document)


def _invoices_unread(message: etree._ElementTree) -> None:
    """A message's ``HDon`` elements taken as they come, for an envelope read on its own."""
    body = f"{_XS}complexType[@name='MessageBody']/{_XS}choice/{_XS}element[@ref='HDon']"
    (invoices,) = message.getroot().iterfind(body)
    invoices.attrib.pop("ref")
    invoices.set("name", "HDon")
    content = etree.SubElement(etree.SubElement(invoices, f"{_XS}complexType"), f"{_XS}sequence")
    etree.SubElement(
        content, f"{_XS}any", processContents="skip", minOccurs="0", maxOccurs="unbounded"
    )
    etree.SubElement(invoices[0], f"{_XS}anyAttribute", processContents="skip")


def _required_children(folder: Path, names: tuple[str, ...]) -> frozenset[tuple[str, str]]:
    """(parent, child) names the XSDs require, to tell libxml2's "missing" lists apart.

    libxml2 names every absent child of an xs:all, optional ones included; this keeps only
    the required ones in the message.
    """
    documents = [etree.parse(str(folder / name)) for name in names]
    models = {
        model.get("name"): model
        for document in documents
        for model in document.iter(f"{_XS}complexType")
        if model.get("name")
    }
    pairs = set()
    for document in documents:
        for element in document.iter(f"{_XS}element"):
            model = element.find(f"{_XS}complexType")
            if model is None:
                model = models.get(element.get("type", ""))
            if model is None or not element.get("name"):
                continue
            for child in model.xpath(_CHILDREN, namespaces={"xs": _XS[1:-1]}):
                if child.get("minOccurs") != "0" and child.get("name"):
                    pairs.add((element.get("name"), child.get("name")))
    return frozenset(pairs)


def _schema_findings(
    entries: list[etree._LogEntry], required: frozenset[tuple[str, str]]
) -> list[Finding]:
    """The first ``MAX_LISTED`` entries as findings, then one omission counting the others."""
    findings: list[Finding] = []
    left_out = 0
    seen: set[tuple[str, int]] = set()
    for entry in entries:
        where = (entry.path, entry.line)
        # A facet violation is followed by a generic "not a valid value" for the same node.
        if where in seen and "is not a valid value of the atomic type" in entry.message:
            continue
        seen.add(where)
        if len(findings) == MAX_LISTED:
            left_out += 1
            continue
        detail, path = _clean(entry.message, entry.path, required)
        findings.append(codes.SCHEMA_INVALID.finding(detail, path=path, line=entry.line))
    return [*findings, codes.omission(left_out)] if left_out else findings


def _clean(message: str, path: str, required: frozenset[tuple[str, str]]) -> tuple[str, str]:
    """libxml2's message without the element prefix the path already repeats."""
    match = _ELEMENT_PREFIX.match(message)
    if match:
        message = message[match.end() :]
        if match.group(1):
            path = f"{path}/@{match.group(1)}"
    missing = _MISSING.match(message)
    if missing:
        parent = path.rsplit("/", 1)[-1].split("[", 1)[0]
        names = [n for n in missing.group(1).split(", ") if (parent, n) in required]
        if names:
            return f"missing required child element {', '.join(names)}", path
    message = _FACET.sub("", message).replace("( ", "").replace(" )", "").rstrip(".")
    message = message[:1].lower() + message[1:]
    return message, path


def _wrong_root(root: etree._Element, expected: str) -> Finding:
    return codes.SCHEMA_INVALID.finding(
        f"the document root must be {expected}, not {etree.QName(root).localname}",
        path=_path(root),
        line=root.sourceline,
    )


def _unsupported_version(root: etree._Element, where: str) -> Finding | None:
    version = root.find(where)
    if version is None or (version.text or "").strip() in SUPPORTED_VERSIONS:
        return None
    return codes.VERSION_UNSUPPORTED.finding(
        f"PBan {version.text!r}", path=_path(version), line=version.sourceline
    )


def _invoice_conditions(invoice: etree._Element) -> list[Finding]:
    """What the XSD cannot say because it depends on PBan, KHMSHDon or KHHDon."""
    data = _children(invoice).get("DLHDon")
    parts = _children(data) if data is not None else {}
    header, content = parts.get("TTChung"), parts.get("NDHDon")
    if header is None or content is None:
        return []
    fields = _children(header)
    version, template, series = (
        (fields[tag].text or "").strip() if tag in fields else ""
        for tag in ("PBan", "KHMSHDon", "KHHDon")
    )
    sections = _children(content)
    findings = []
    if version == "2.1.0":
        findings += _required(header, fields, ("HDCTTChinh", "HTTToan"), "in PBan 2.1.0")
    totals = sections.get("TToan")
    if template in VAT_TEMPLATES and totals is not None:
        findings += _required(totals, _children(totals), _VAT_TOTALS, "on a VAT invoice")
    buyer = sections.get("NMua")
    personal_id = buyer.find("CCCDan") if buyer is not None else None
    if personal_id is not None and not personal_id_allowed(
        version, is_cash_register_series(series)
    ):
        where = " outside cash-register invoices" if version == "2.0.1" else ""
        findings.append(_misplaced(personal_id, f"CCCDan is not part of PBan {version}{where}"))
    if version != "2.1.0":
        for nature in content.iterfind("DSHHDVu/HHDVu/TChat"):
            if (nature.text or "").strip() == "5":
                findings.append(_misplaced(nature, "TChat 5 (special goods) needs PBan 2.1.0"))
        findings += _narrow_amounts(content, version)
    return findings


def _children(element: etree._Element) -> dict[str, etree._Element]:
    return {child.tag: child for child in element if isinstance(child.tag, str)}


def _required(
    parent: etree._Element,
    present: dict[str, etree._Element],
    tags: tuple[str, ...],
    when: str,
) -> list[Finding]:
    return [
        codes.SCHEMA_INVALID.finding(
            f"missing child element {tag} (required {when})",
            path=f"{_path(parent)}/{tag}",
            line=parent.sourceline,
        )
        for tag in tags
        if tag not in present
    ]


def _narrow_amounts(content: etree._Element, version: str) -> list[Finding]:
    total, scale = _NARROW_AMOUNTS
    findings = []
    for amount in content.iter(*_AMOUNT_TAGS):
        try:
            digits = Decimal((amount.text or "").strip()).as_tuple()
        except InvalidOperation:
            continue  # the XSD has already reported it
        fraction = max(0, -int(digits.exponent))
        if fraction > scale or len(digits.digits) > total:
            detail = (
                f"{amount.tag} {amount.text!r} exceeds {total},{scale} digits in PBan {version}"
            )
            findings.append(_misplaced(amount, detail))
    return findings


def _envelope_conditions(root: etree._Element, accept: frozenset[str]) -> list[Finding]:
    findings = []
    kind = root.find("TTChung/MLTDiep")
    body = root.find("DLieu")
    message_type = (kind.text or "").strip() if kind is not None else ""
    if kind is not None and re.fullmatch(r"-?[0-9]{1,3}", message_type):
        if message_type not in accept:
            detail = f"MLTDiep {message_type}; accepted: {', '.join(sorted(accept))}"
            findings.append(
                codes.MESSAGE_TYPE_UNSUPPORTED.finding(
                    detail, path=_path(kind), line=kind.sourceline
                )
            )
        if body is not None:
            findings += _body_kind(message_type, body)
    count = root.find("TTChung/SLuong")
    if count is not None and body is not None and (count.text or "").strip().isdigit():
        held = sum(1 for child in body if isinstance(child.tag, str))
        if int(count.text or "0") != held:
            detail = f"SLuong is {count.text.strip()} but DLieu holds {held}"
            findings.append(
                codes.MESSAGE_COUNT.finding(detail, path=_path(count), line=count.sourceline)
            )
    return findings


def _body_kind(message_type: str, body: etree._Element) -> list[Finding]:
    expected = (
        "HDon"
        if message_type in _INVOICE_MESSAGES
        else "TBao"
        if message_type in _NOTICE_MESSAGES
        else None
    )
    return [
        _misplaced(child, f"MLTDiep {message_type} carries {expected}, not {child.tag}")
        for child in body
        if expected is not None and isinstance(child.tag, str) and child.tag != expected
    ]


def _misplaced(element: etree._Element, detail: str) -> Finding:
    return codes.SCHEMA_INVALID.finding(detail, path=_path(element), line=element.sourceline)


def _path(element: etree._Element) -> str:
    return element.getroottree().getpath(element)
