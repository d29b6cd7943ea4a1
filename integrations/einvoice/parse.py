"""Transport checks and the hardened XML parse: the first intake stage (1xxx).

The parser never expands entities, loads a DTD or touches the network, and any DOCTYPE is
refused before libxml2 sees the document, so entity tricks (XXE, billion laughs, quadratic
blowup, parameter entities) cannot cost more than a byte scan. What the parser does accept
is then bounded in depth and element count, and refused if it carries XInclude or
processing instructions. The raw bytes are never re-serialised: signatures cover them.

Each refusal is a ``Rejection`` holding one finding:

    1001 too large · 1002 empty · 1003 content type · 1004 not UTF-8
    1005 not well-formed · 1006 DOCTYPE · 1007 entity declaration or reference
    1008 XInclude · 1009 too deep · 1010 processing instruction · 1011 wrong root
    1012 too many elements

A DOCTYPE that declares entities is reported as 1007 (the attack it carries); any other
DOCTYPE as 1006.
"""

from __future__ import annotations

import functools
import re
import threading
from dataclasses import dataclass, field
from typing import Final

from lxml import etree

from integrations.einvoice.codes import (
    DTD_FORBIDDEN,
    EMPTY_BODY,
    ENTITY_FORBIDDEN,
    NOT_WELL_FORMED,
    PROCESSING_INSTRUCTION,
    TOO_DEEP,
    TOO_LARGE,
    TOO_MANY_ELEMENTS,
    WRONG_CONTENT_TYPE,
    WRONG_ENCODING,
    WRONG_ROOT,
    XINCLUDE_FORBIDDEN,
)
from integrations.einvoice.findings import Finding, Rejection

_XINCLUDE_2001: Final = "http://www.w3.org/2001/XInclude"
_XINCLUDE_2003: Final = "http://www.w3.org/2003/XInclude"

_UTF8_BOM: Final = b"\xef\xbb\xbf"
_FOREIGN_BOMS: Final = (
    (b"\x00\x00\xfe\xff", "UTF-32BE"),
    (b"\xff\xfe\x00\x00", "UTF-32LE"),
    (b"\xfe\xff", "UTF-16BE"),
    (b"\xff\xfe", "UTF-16LE"),
)
_DECLARED_ENCODING: Final = re.compile(rb"\A<\?xml\s[^>]*?\bencoding\s*=\s*[\"']([^\"']*)[\"']")
# Only the prolog can hold a DOCTYPE; each alternative starts differently, so no backtracking.
_PROLOG_DOCTYPE: Final = re.compile(rb"\A(?:\s|<\?.*?\?>|<!--.*?-->)*+<!DOCTYPE", re.DOTALL)
_XML_MEDIA_TYPE: Final = re.compile(
    r"\A(?:application/xml|text/xml|application/[\w.!#$&^-]+\+xml)\Z"
)
_COUNT_ELEMENTS: Final = etree.XPath("count(//*)")
_FIND_XINCLUDE: Final = etree.XPath(
    "//*[namespace-uri() = $a or namespace-uri() = $b] | //namespace::*[. = $a or . = $b]"
)


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on what one document may cost to parse.

    >>> Limits(max_bytes=64 * 1024)
    Limits(max_bytes=65536, max_depth=32, max_elements=200000)
    """

    max_bytes: int = 1024 * 1024
    max_depth: int = 32
    max_elements: int = 200_000

    def __post_init__(self) -> None:
        for name in ("max_bytes", "max_depth", "max_elements"):
            if getattr(self, name) < 1:
                raise ValueError(f"Limits.{name} must be at least 1, got {getattr(self, name)}")


@dataclass(slots=True)
class CheckedTree:
    """A checked document's tree, which a later stage may take over instead of parsing the
    same bytes again.

    Only on the thread that parsed it: libxml2 keeps a tree's names in its parsing thread's
    dictionary, and elements added from another thread would write to that dictionary while
    its own thread may be parsing with it. Taken at most once, since the taker changes it.
    """

    root: etree._Element | None
    # By tag, signed elements' C14N 1.0 forms as the signature check digested them in this tree.
    canonical: dict[str, bytes] = field(default_factory=dict)
    # Its elements by Id, as the signature check found them, each Id once.
    ids: dict[str, list[etree._Element]] = field(default_factory=dict)
    thread: int = field(default_factory=threading.get_ident)

    def take(self) -> CheckedTree | None:
        """The tree and what was learnt of it, handed over and no longer held here (so the
        tree lives no longer than its taker needs it), or None where it cannot be."""
        if self.root is None or threading.get_ident() != self.thread:
            return None
        taken = CheckedTree(self.root, self.canonical, self.ids, self.thread)
        self.root, self.canonical, self.ids = None, {}, {}
        return taken


def make_parser() -> etree.XMLParser:
    """A new hardened parser; parsers are not thread-safe, and one costs under a microsecond."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        attribute_defaults=False,
        huge_tree=False,
        remove_blank_text=False,
        remove_pis=False,
        remove_comments=False,
    )


def check_transport(raw: bytes, content_type: str | None, limits: Limits) -> list[Finding]:
    """Every transport-level problem of a request body, cheapest first."""
    findings: list[Finding] = []
    media_problem = _media_type_problem(content_type)
    if media_problem:
        findings.append(WRONG_CONTENT_TYPE.finding(media_problem))
    body_problem = _body_problem(raw, limits)
    if body_problem:
        findings.append(body_problem)
    return findings


def parse_document(raw: bytes, limits: Limits) -> etree._Element:
    """Parse untrusted bytes into a tree, or raise ``Rejection`` naming the first problem."""
    problem = _body_problem(raw, limits) or _doctype_problem(raw)
    if problem:
        raise Rejection([problem])
    try:
        root = etree.fromstring(raw, make_parser())
    except etree.XMLSyntaxError as exc:
        raise Rejection([_syntax_finding(exc)]) from exc
    problem = _tree_problem(root, raw, limits)
    if problem:
        raise Rejection([problem])
    return root


def expect_root(root: etree._Element, local_name: str) -> None:
    """Refuse a document whose root is not ``local_name`` (in any or no namespace)."""
    actual = etree.QName(root).localname
    if actual != local_name:
        raise Rejection([WRONG_ROOT.finding(f"expected {local_name}, got {actual}", path=actual)])


def _media_type_problem(content_type: str | None) -> str | None:
    if content_type is None:
        return "no Content-Type given"
    media_type, _, parameters = content_type.partition(";")
    media_type = media_type.strip().lower()
    if not _XML_MEDIA_TYPE.match(media_type):
        return f"{media_type or 'an empty type'} is not an XML media type"
    for parameter in filter(None, (p.strip() for p in parameters.split(";"))):
        name, _, value = parameter.partition("=")
        if name.strip().lower() != "charset" or value.strip().strip('"').lower() != "utf-8":
            return f"parameter {parameter!r} is not allowed; only charset=utf-8 is"
    return None


def _body_problem(raw: bytes, limits: Limits) -> Finding | None:
    if not raw:
        return EMPTY_BODY.finding()
    if len(raw) > limits.max_bytes:
        return TOO_LARGE.finding(f"{len(raw)} bytes, the limit is {limits.max_bytes}")
    encoding_problem = _encoding_problem(raw)
    return WRONG_ENCODING.finding(encoding_problem) if encoding_problem else None


def _encoding_problem(raw: bytes) -> str | None:
    for bom, name in _FOREIGN_BOMS:
        if raw.startswith(bom):
            return f"the byte-order mark says {name}"
    if b"\x00" in raw:
        return "the body holds NUL bytes (UTF-16 or UTF-32 without a byte-order mark?)"
    declared = _DECLARED_ENCODING.match(raw.removeprefix(_UTF8_BOM))
    if declared and declared.group(1).lower() != b"utf-8":
        return f"the XML declaration names {declared.group(1).decode('ascii', 'replace')}"
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"byte {exc.start} is not valid UTF-8"
    return None


def _doctype_problem(raw: bytes) -> Finding | None:
    if not _PROLOG_DOCTYPE.match(raw.removeprefix(_UTF8_BOM)):
        return None
    if b"<!ENTITY" in raw:
        return ENTITY_FORBIDDEN.finding("the DOCTYPE declares entities", line=1)
    return DTD_FORBIDDEN.finding(line=1)


def _syntax_finding(exc: etree.XMLSyntaxError) -> Finding:
    if exc.code == etree.ErrorTypes.ERR_UNDECLARED_ENTITY:
        return ENTITY_FORBIDDEN.finding(exc.msg, line=exc.lineno)
    if exc.code == etree.ErrorTypes.ERR_RESOURCE_LIMIT and "depth" in exc.msg:
        return TOO_DEEP.finding(exc.msg, line=exc.lineno)
    return NOT_WELL_FORMED.finding(exc.msg, line=exc.lineno)


def _tree_problem(root: etree._Element, raw: bytes, limits: Limits) -> Finding | None:
    """Second line of defence after the byte scans, plus the bounds on shape."""
    dtd = root.getroottree().docinfo.internalDTD
    if dtd is not None:
        entities = [entity.name for entity in dtd.iterentities()]
        if entities:
            return ENTITY_FORBIDDEN.finding(f"declared: {', '.join(entities)}")
        return DTD_FORBIDDEN.finding()
    # The smallest element, <a/>, takes four bytes: short documents cannot exceed the count.
    if len(raw) // 4 > limits.max_elements:
        elements = int(_COUNT_ELEMENTS(root))
        if elements > limits.max_elements:
            return TOO_MANY_ELEMENTS.finding(
                f"{elements} elements, the limit is {limits.max_elements}"
            )
    if _depth_probe(limits.max_depth)(root):
        return TOO_DEEP.finding(f"more than {limits.max_depth} levels")
    # The byte scans keep the tree walks off the common path; the walks decide.
    if b"XInclude" in raw and _FIND_XINCLUDE(root, a=_XINCLUDE_2001, b=_XINCLUDE_2003):
        return XINCLUDE_FORBIDDEN.finding()
    instruction = _first_instruction(root)
    if instruction is not None:
        return PROCESSING_INSTRUCTION.finding(
            f"<?{instruction.target} ...?>", line=instruction.sourceline
        )
    return None


def _first_instruction(root: etree._Element) -> etree._Element | None:
    """The first processing instruction in the document, around the root or inside it."""
    outside = (
        node
        for node in (*root.itersiblings(preceding=True), *root.itersiblings())
        if isinstance(node, etree._ProcessingInstruction)
    )
    first = next(outside, None)
    return first if first is not None else next(root.iter(etree.ProcessingInstruction), None)


@functools.lru_cache(maxsize=8)
def _depth_probe(max_depth: int) -> etree.XPath:
    """An XPath that is true when some element sits deeper than ``max_depth``."""
    return etree.XPath("boolean(" + "/*" * (max_depth + 1) + ")")
