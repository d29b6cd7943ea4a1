import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from lxml import etree

from integrations.einvoice.findings import Rejection
from integrations.einvoice.parse import (
    CheckedTree,
    Limits,
    check_transport,
    expect_root,
    make_parser,
    parse_document,
)

HOSTILE = Path(__file__).parents[2] / "corpus" / "hostile"
CORPUS = sorted(HOSTILE.glob("*.xml"))
TRANSPORT_CODES = {"1001", "1002", "1004"}

CLEAN = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<HDon xmlns:inv="http://laphoadon.gdt.gov.vn/2014/09/invoicexml/v1">\n'
    '  <DLHDon Id="data">\n'
    "    <TTChung><THDon>Hóa đơn giá trị gia tăng</THDon></TTChung>\n"
    "    <!-- a comment is fine -->\n"
    "  </DLHDon>\n"
    "</HDon>\n"
).encode()


def refusal(raw: bytes, limits: Limits | None = None) -> tuple[str, int | None]:
    with pytest.raises(Rejection) as caught:
        parse_document(raw, limits or Limits())
    [finding] = caught.value.findings
    return finding.code, finding.line


def test_corpus_covers_every_attack_family() -> None:
    assert {path.name[:4] for path in CORPUS} >= {
        "1001", "1002", "1004", "1005", "1006", "1007", "1008", "1009", "1010", "1012"
    }  # fmt: skip


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_hostile_file_rejected_with_its_code(path: Path) -> None:
    code, _ = refusal(path.read_bytes())
    assert code == path.name[:4]


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_transport_check_catches_only_transport_problems(path: Path) -> None:
    codes = [f.code for f in check_transport(path.read_bytes(), "application/xml", Limits())]
    expected = [path.name[:4]] if path.name[:4] in TRANSPORT_CODES else []
    assert codes == expected


def test_not_well_formed_reports_the_line() -> None:
    assert refusal((HOSTILE / "1005-not-well-formed.xml").read_bytes()) == ("1005", 4)


def test_clean_document_parses_and_keeps_whitespace() -> None:
    root = parse_document(CLEAN, Limits())
    assert root.tag == "HDon"
    assert root.text == "\n  "
    assert root[0].get("Id") == "data"
    assert root.find("DLHDon/TTChung/THDon").text == "Hóa đơn giá trị gia tăng"


@pytest.mark.parametrize(
    "raw",
    [
        b"\xef\xbb\xbf" + CLEAN,
        CLEAN.replace(b"UTF-8", b"utf-8"),
        CLEAN.split(b"\n", 1)[1],
        b"<HDon><!-- <!DOCTYPE x> and <?pi?> in a comment --><![CDATA[<?x?>]]></HDon>",
        b'<HDon><DLHDon Id="XInclude">XInclude</DLHDon></HDon>',
    ],
    ids=["utf8-bom", "lowercase-declaration", "no-declaration", "markup-in-comment", "word"],
)
def test_harmless_variants_are_accepted(raw: bytes) -> None:
    assert etree.QName(parse_document(raw, Limits())).localname == "HDon"
    assert check_transport(raw, "application/xml", Limits()) == []


def test_depth_limit_is_inclusive() -> None:
    limits = Limits(max_depth=3)
    parse_document(b"<a><b><c/></b></a>", limits)
    assert refusal(b"<a><b><c><d/></c></b></a>", limits)[0] == "1009"


def test_element_limit_is_inclusive() -> None:
    limits = Limits(max_elements=3)
    parse_document(b"<a><b/><c/></a>", limits)
    assert refusal(b"<a><b/><c/><d/></a>", limits)[0] == "1012"


def test_size_limit_is_inclusive() -> None:
    raw = b"<HDon/>"
    parse_document(raw, Limits(max_bytes=len(raw)))
    assert refusal(raw, Limits(max_bytes=len(raw) - 1))[0] == "1001"
    findings = check_transport(raw, "application/xml", Limits(max_bytes=len(raw) - 1))
    assert [f.code for f in findings] == ["1001"]


@pytest.mark.parametrize("name", ["max_bytes", "max_depth", "max_elements"])
def test_limits_must_be_positive(name: str) -> None:
    with pytest.raises(ValueError, match=name):
        Limits(**{name: 0})


@pytest.mark.parametrize(
    "content_type",
    [
        "application/xml",
        "text/xml",
        "application/xml; charset=utf-8",
        'Text/XML; Charset="UTF-8"',
        "application/vnd.gdt.einvoice+xml",
    ],
)
def test_xml_content_types_accepted(content_type: str) -> None:
    assert check_transport(CLEAN, content_type, Limits()) == []


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "",
        "application/json",
        "text/plain",
        "application/xml-dtd",
        "application/+xml",
        "application/xml; charset=iso-8859-1",
        "text/xml; boundary=x",
    ],
)
def test_other_content_types_refused(content_type: str | None) -> None:
    [finding] = check_transport(CLEAN, content_type, Limits())
    assert finding.code == "1003"
    assert finding.hint


def test_transport_reports_every_problem() -> None:
    codes = [f.code for f in check_transport(b"", "text/plain", Limits())]
    assert codes == ["1003", "1002"]


def test_encoding_finding_names_the_encoding() -> None:
    [finding] = check_transport(
        (HOSTILE / "1004-latin1-declared.xml").read_bytes(), "text/xml", Limits()
    )
    assert "ISO-8859-1" in finding.message


def test_expect_root_matches_local_name_under_stray_prefix() -> None:
    root = parse_document(b'<inv:HDon xmlns:inv="urn:x"><DLHDon/></inv:HDon>', Limits())
    expect_root(root, "HDon")
    with pytest.raises(Rejection) as caught:
        expect_root(root, "TDiep")
    assert [f.code for f in caught.value.findings] == ["1011"]
    assert "got HDon" in caught.value.findings[0].message


@pytest.fixture
def fetch_log() -> Iterator[tuple[str, list[str]]]:
    """A loopback HTTP server that records every path anyone fetches from it."""
    fetched: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            fetched.append(self.path)
            body = b'<!ENTITY leaked "FETCHED">'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", fetched
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.mark.parametrize(
    "template",
    [
        '<!DOCTYPE r SYSTEM "{url}/doc.dtd"><r>&leaked;</r>',
        '<!DOCTYPE r [<!ENTITY % p SYSTEM "{url}/p.dtd"> %p;]><r>&leaked;</r>',
        '<!DOCTYPE r [<!ENTITY e SYSTEM "{url}/e.xml">]><r>&e;</r>',
    ],
    ids=["external-dtd", "parameter-entity", "external-entity"],
)
def test_parser_itself_never_fetches(fetch_log: tuple[str, list[str]], template: str) -> None:
    url, fetched = fetch_log
    raw = template.format(url=url).encode()
    try:
        root = etree.fromstring(raw, make_parser())
    except etree.XMLSyntaxError:
        root = None
    assert fetched == []
    assert root is None or b"FETCHED" not in etree.tostring(root)
    assert refusal(raw)[0] in {"1006", "1007"}
    assert fetched == []


def test_parser_itself_never_reads_local_files(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    raw = f'<!DOCTYPE r [<!ENTITY s SYSTEM "{secret.as_uri()}">]><r>&s;</r>'.encode()
    root = etree.fromstring(raw, make_parser())
    assert b"TOP-SECRET" not in etree.tostring(root)
    assert refusal(raw)[0] == "1007"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"<!DOCTYPE r><r/>", "1006"),
        (b'<!DOCTYPE r [<!ENTITY a "x">]><r/>', "1007"),
    ],
)
def test_tree_check_refuses_a_dtd_the_byte_scan_let_through(raw: bytes, code: str) -> None:
    from integrations.einvoice.parse import _tree_problem

    problem = _tree_problem(etree.fromstring(raw, make_parser()), raw, Limits())
    assert problem is not None
    assert problem.code == code


def test_a_checked_tree_is_handed_over_once_whole_and_only_on_the_thread_that_parsed_it() -> None:
    root = parse_document(b"<HDon><DLHDon/></HDon>", Limits())
    tree = CheckedTree(root, {"DLHDon": b"<DLHDon></DLHDon>"}, {"a": [root]})
    elsewhere: list[etree._Element | None] = []
    thread = threading.Thread(target=lambda: elsewhere.append(tree.take()))
    thread.start()
    thread.join()
    assert elsewhere == [None]
    taken = tree.take()
    assert taken is not None
    assert (taken.root, taken.canonical, taken.ids) == (
        root,
        {"DLHDon": b"<DLHDon></DLHDon>"},
        {"a": [root]},
    )
    assert (tree.root, tree.canonical, tree.ids) == (None, {}, {})
    assert tree.take() is None
