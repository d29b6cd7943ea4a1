"""The schema stage against composed invoices and hand-crafted violations."""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from lxml import etree

from integrations.einvoice import compose
from integrations.einvoice.findings import Finding, Omission
from integrations.einvoice.schema import (
    OUTBOUND_MESSAGE_TYPES,
    Schemas,
    default_xsd_dir,
    is_cash_register_series,
    personal_id_allowed,
)

DS = "http://www.w3.org/2000/09/xmldsig#"
EXAMPLES_DIR = Path(__file__).resolve().parents[3] / "examples" / "unsigned"
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


@pytest.fixture(scope="module")
def schemas() -> Schemas:
    return Schemas(default_xsd_dir())


def parse(raw: bytes) -> etree._Element:
    return etree.fromstring(raw, PARSER)


def example(name: str) -> bytes:
    """A checked-in example invoice (``examples/unsigned``), as the demo signs it."""
    return (EXAMPLES_DIR / f"{name}.xml").read_bytes()


def restaurant() -> bytes:
    return example("restaurant-vat-mixed")


def household(version: str = "2.1.0") -> bytes:
    return example("household-cash-register" + ("" if version == "2.1.0" else f"-{version}"))


def pretty(raw: bytes) -> bytes:
    """One element per line, so that reported line numbers point somewhere specific."""
    return etree.tostring(parse(raw), pretty_print=True, xml_declaration=True, encoding="UTF-8")


def codes_of(findings: list[Finding]) -> list[str]:
    return [f.code for f in findings]


@pytest.mark.parametrize("name", sorted(path.stem for path in EXAMPLES_DIR.glob("*.xml")))
def test_every_example_is_valid(schemas: Schemas, name: str) -> None:
    assert schemas.validate_invoice(parse(example(name))) == []


@pytest.mark.parametrize(
    ("old", "new", "path", "words"),
    [
        pytest.param(
            b"<NLap>2026-11-20</NLap>",
            b"",
            "/HDon/DLHDon/TTChung",
            "missing required child element NLap",
            id="missing-required",
        ),
        pytest.param(
            b"<KHHDon>C26TSV</KHHDon>",
            b"<KHHDon>C26TSVX</KHHDon>",
            "/HDon/DLHDon/TTChung/KHHDon",
            "exceeds the allowed maximum length of '6'",
            id="too-long",
        ),
        pytest.param(
            b"<TChat>1</TChat>",
            b"<TChat>9</TChat>",
            "/HDon/DLHDon/NDHDon/DSHHDVu/HHDVu[1]/TChat",
            "not an element of the set",
            id="bad-enumeration",
        ),
        *(
            pytest.param(
                b"<KHMSHDon>1</KHMSHDon>",
                f"<KHMSHDon>{template}</KHMSHDon>".encode(),
                "/HDon/DLHDon/TTChung/KHMSHDon",
                "not an element of the set",
                id=f"template-{template}",
            )
            for template in ("0", "10", "A")
        ),
        pytest.param(
            b"<NLap>2026-11-20</NLap>",
            b"<NLap>2026-02-30</NLap>",
            "/HDon/DLHDon/TTChung/NLap",
            "'2026-02-30' is not a valid value",
            id="bad-date",
        ),
        pytest.param(
            b"<NLap>2026-11-20</NLap>",
            b"<NLap>2026-11-20+07:00</NLap>",
            "/HDon/DLHDon/TTChung/NLap",
            "is not accepted by the pattern",
            id="date-with-zone",
        ),
        pytest.param(
            b"<TgTTTBSo>1970700</TgTTTBSo>",
            b"<TgTTTBSo>1.970.700</TgTTTBSo>",
            "/HDon/DLHDon/NDHDon/TToan/TgTTTBSo",
            "not a valid value",
            id="amount-not-decimal",
        ),
        pytest.param(
            b"<DGia>85000</DGia>",
            b"<DGia>85000.1234567</DGia>",
            "/HDon/DLHDon/NDHDon/DSHHDVu/HHDVu[1]/DGia",
            "more fractional digits than are allowed ('6')",
            id="amount-seven-decimals",
        ),
        pytest.param(
            "<Ten>Công ty TNHH Nhà hàng Sen Hồ Tây</Ten>".encode(),
            b"<Ten></Ten>",
            "/HDon/DLHDon/NDHDon/NBan/Ten",
            "underruns the allowed minimum length of '1'",
            id="empty-required-text",
        ),
        pytest.param(
            b"<SHDon>1</SHDon>",
            b"<SHDon>123456789</SHDon>",
            "/HDon/DLHDon/TTChung/SHDon",
            "'123456789' is not accepted by the pattern",
            id="number-too-long",
        ),
        pytest.param(
            b'Id="DLHDon-SV-0000001"',
            b'Id="1-starts-with-a-digit"',
            "/HDon/DLHDon/@Id",
            "not a valid value",
            id="bad-id",
        ),
        pytest.param(
            b"<DVTTe>VND</DVTTe>",
            b"<DVTTe>VND</DVTTe><GhiChu>x</GhiChu>",
            "/HDon/DLHDon/TTChung/GhiChu",
            "this element is not expected",
            id="unknown-element",
        ),
        pytest.param(
            b"<DSCKS><NBan/></DSCKS>",
            b"<DSCKS><NBan><Chu>x</Chu></NBan></DSCKS>",
            "/HDon/DSCKS/NBan/Chu",
            "this element is not expected",
            id="non-signature-in-slot",
        ),
    ],
)
def test_each_restriction_rejects_with_path_and_line(
    schemas: Schemas, old: bytes, new: bytes, path: str, words: str
) -> None:
    raw = pretty(restaurant().replace(old, new, 1))
    root = parse(raw)
    findings = schemas.validate_invoice(root)
    assert codes_of(findings) == ["3001"], findings
    (finding,) = findings
    assert finding.path == path
    assert words in finding.message
    node = root.getroottree().xpath(path.removesuffix("/@Id"))[0]
    assert finding.line == node.sourceline


def test_every_violation_is_listed(schemas: Schemas) -> None:
    raw = (
        restaurant()
        .replace(b"<KHHDon>C26TSV</KHHDon>", b"<KHHDon>C26TSVXX</KHHDon>")
        .replace(b"<TChat>1</TChat>", b"<TChat>0</TChat>", 1)
        .replace(b"<TgTTTBSo>1970700</TgTTTBSo>", b"<TgTTTBSo>abc</TgTTTBSo>")
    )
    paths = [f.path for f in schemas.validate_invoice(parse(raw))]
    assert paths == [
        "/HDon/DLHDon/TTChung/KHHDon",
        "/HDon/DLHDon/NDHDon/DSHHDVu/HHDVu[1]/TChat",
        "/HDon/DLHDon/NDHDon/TToan/TgTTTBSo",
    ]


def test_a_hundred_violations_are_kept_and_the_rest_counted(schemas: Schemas) -> None:
    attributes = b"".join(b' a%d=""' % n for n in range(5000))
    raw = restaurant().replace(b"<TToan>", b"<TToan" + attributes + b">", 1)
    findings = schemas.validate_invoice(parse(raw))
    assert codes_of(findings) == ["3001"] * 100 + ["1013"]
    assert isinstance(findings[-1], Omission)
    assert findings[-1].count == 4900
    assert "4900 more" in findings[-1].message
    inside = message(
        206, [household(), household().replace(b"<TToan>", b"<TToan" + attributes + b">")]
    )
    envelope = schemas.validate_message(parse(inside), invoices=False)
    assert envelope == []
    assert codes_of(schemas.validate_message(parse(inside))) == ["3001"] * 100 + ["1013"]


def test_unsupported_version_is_3002_alone(schemas: Schemas) -> None:
    raw = restaurant().replace(b"<PBan>2.1.0</PBan>", b"<PBan>1.0.0</PBan>")
    (finding,) = schemas.validate_invoice(parse(raw))
    assert finding.code == "3002"
    assert finding.path == "/HDon/DLHDon/TTChung/PBan"


def test_wrong_root(schemas: Schemas) -> None:
    (finding,) = schemas.validate_invoice(parse(b"<TDiep/>"))
    assert (finding.code, finding.path) == ("3001", "/TDiep")
    signature = f'<Signature xmlns="{DS}"/>'.encode()
    assert codes_of(schemas.validate_invoice(parse(signature))) == ["3001"]


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        pytest.param(
            restaurant().replace(b"<HDCTTChinh>0</HDCTTChinh>", b""),
            "/HDon/DLHDon/TTChung/HDCTTChinh",
            id="2.1.0-needs-HDCTTChinh",
        ),
        pytest.param(
            restaurant().replace(b"<HTTToan>TM/CK</HTTToan>", b""),
            "/HDon/DLHDon/TTChung/HTTToan",
            id="2.1.0-needs-HTTToan",
        ),
        pytest.param(
            restaurant().replace(b"<TgTThue>159700</TgTThue>", b""),
            "/HDon/DLHDon/NDHDon/TToan/TgTThue",
            id="vat-invoice-needs-TgTThue",
        ),
        pytest.param(
            household("2.0.1").replace(b"<PBan>2.0.1</PBan>", b"<PBan>2.0.0</PBan>"),
            "/HDon/DLHDon/NDHDon/NMua/CCCDan",
            id="no-CCCDan-in-2.0.0",
        ),
        pytest.param(
            household("2.0.1").replace(b"C26MBT", b"C26TBT"),
            "/HDon/DLHDon/NDHDon/NMua/CCCDan",
            id="2.0.1-CCCDan-only-on-cash-register",
        ),
        pytest.param(
            household("2.0.1").replace(b"<TChat>1</TChat>", b"<TChat>5</TChat>", 1),
            "/HDon/DLHDon/NDHDon/DSHHDVu/HHDVu[1]/TChat",
            id="special-goods-need-2.1.0",
        ),
        pytest.param(
            household("2.0.1").replace(b"<DGia>65000</DGia>", b"<DGia>65000.12345</DGia>"),
            "/HDon/DLHDon/NDHDon/DSHHDVu/HHDVu[1]/DGia",
            id="2.0.x-amounts-have-4-decimals",
        ),
    ],
)
def test_version_and_template_conditions(schemas: Schemas, raw: bytes, path: str) -> None:
    findings = schemas.validate_invoice(parse(raw))
    assert [(f.code, f.path) for f in findings] == [("3001", path)]


def test_six_decimals_are_fine_in_2_1_0(schemas: Schemas) -> None:
    raw = restaurant().replace(b"<DGia>85000</DGia>", b"<DGia>85000.123456</DGia>")
    assert schemas.validate_invoice(parse(raw)) == []


def test_unknown_extension_fields_pass(schemas: Schemas) -> None:
    extension = (
        b"<TTKhac><TTin><TTruong>MaBiMat</TTruong><KDLieu>Int32</KDLieu><DLieu>42</DLieu></TTin>"
        b"<TTin><TTruong>Tr\xe1\xba\xa1ng th\xc3\xa1i thanh to\xc3\xa1n</TTruong>"
        b"<KDLieu>String</KDLieu><DLieu/></TTin></TTKhac>"
    )
    raw = (
        restaurant()
        .replace(b"</NBan>", extension + b"</NBan>")
        .replace(b"</TToan>", extension + b"</TToan>")
        .replace(b"</MSTTCGP>", b"</MSTTCGP>" + extension)
    )
    assert schemas.validate_invoice(parse(raw)) == []


@pytest.mark.parametrize("name", ["restaurant-vat-mixed", "replacement", "household-cash-register"])
def test_element_order_inside_records_is_free(schemas: Schemas, name: str) -> None:
    root = parse(example(name))
    records = ("HDon", "DLHDon", "TTChung", "TTHDLQuan", "NDHDon", "NBan", "NMua", "HHDVu",
               "TToan", "LTSuat", "TTin", "DSCKS")  # fmt: skip
    for element in root.iter(*records):
        element[:] = list(reversed(element))
    assert root[0].tag == "DSCKS"
    assert schemas.validate_invoice(parse(etree.tostring(root))) == []


def test_mccqt_before_and_after_signatures(schemas: Schemas) -> None:
    root = parse(household())
    assert [child.tag for child in root] == ["DLHDon", "MCCQT", "DSCKS"]
    assert schemas.validate_invoice(root) == []
    root.append(root.find("MCCQT"))
    assert [child.tag for child in root] == ["DLHDon", "DSCKS", "MCCQT"]
    assert schemas.validate_invoice(parse(etree.tostring(root))) == []


def test_stray_namespace_declarations_pass_without_fetching(schemas: Schemas) -> None:
    stray = (
        b'<HDon xmlns:inv="http://laphoadon.gdt.gov.vn/2014/09/invoicexml/v1"'
        b' xmlns:xsd="http://www.w3.org/2001/XMLSchema"'
        b' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
        b' xsi:noNamespaceSchemaLocation="http://127.0.0.1:9/hdon.xsd">'
    )
    raw = restaurant().replace(b"<HDon>", stray)
    assert schemas.validate_invoice(parse(raw)) == []


def test_signatures_are_let_through_unchecked(schemas: Schemas) -> None:
    signature = (
        f'<Signature xmlns="{DS}" Id="NBan"><SignedInfo/><SignatureValue>AAAA</SignatureValue>'
        '<Object Id="SigningTime"><SignatureProperties><SignatureProperty Target="#NBan">'
        "<SigningTime>2026-11-20T19:30:00</SigningTime></SignatureProperty>"
        "</SignatureProperties></Object></Signature>"
    ).encode()
    raw = restaurant().replace(b"<NBan/>", b"<NBan>" + signature + b"</NBan><CQT/>")
    assert schemas.validate_invoice(parse(raw)) == []


def test_validation_does_not_change_the_document(schemas: Schemas) -> None:
    raw = household().replace(b"<SHDon>1</SHDon>", b"<SHDon>x</SHDon>")
    root = parse(raw)
    before = etree.tostring(root)
    assert schemas.validate_invoice(root)
    assert etree.tostring(root) == before


def message(kind: int, invoices: list[bytes]) -> bytes:
    return compose.compose_message(
        kind, invoices, sender="V0100109106", tax_code="0319303270", message_id=None
    )


@pytest.mark.parametrize("kind", [200, 203, 206])
def test_inbound_messages_are_valid(schemas: Schemas, kind: int) -> None:
    raw = message(kind, [household(), household("2.0.1")])
    assert schemas.validate_message(parse(raw)) == []


def test_message_count_mismatch_is_3004(schemas: Schemas) -> None:
    raw = message(203, [restaurant(), restaurant()]).replace(
        b"<SLuong>2</SLuong>", b"<SLuong>3</SLuong>"
    )
    (finding,) = schemas.validate_message(parse(raw))
    assert (finding.code, finding.path) == ("3004", "/TDiep/TTChung/SLuong")
    assert "DLieu holds 2" in finding.message


def test_the_envelope_alone_is_still_checked_to_the_letter(schemas: Schemas) -> None:
    """Read without its invoices, a message still answers for its own fields and for
    holding nothing but ``HDon`` in ``DLieu``."""
    raw = message(206, [household()])
    assert schemas.validate_message(parse(raw), invoices=False) == []
    no_id = parse(raw)
    no_id.find("TTChung/MTDiep").tag = "MTDiepX"
    stranger = parse(raw)
    stranger.find("DLieu").append(etree.Element("TBao"))
    for broken in (no_id, stranger):
        alone = schemas.validate_message(broken, invoices=False)
        assert "3001" in codes_of(alone)
        assert alone == schemas.validate_message(broken)


def test_unaccepted_message_type_is_3003(schemas: Schemas) -> None:
    (finding,) = schemas.validate_message(parse(message(300, [restaurant()])))
    assert (finding.code, finding.path) == ("3003", "/TDiep/TTChung/MLTDiep")


def test_unsupported_envelope_version_is_3002(schemas: Schemas) -> None:
    raw = message(200, [restaurant()]).replace(b"<PBan>2.1.0</PBan>", b"<PBan>9.9.9</PBan>", 1)
    assert codes_of(schemas.validate_message(parse(raw))) == ["3002"]


def test_invoice_findings_inside_a_message_point_into_it(schemas: Schemas) -> None:
    broken = household().replace(b"<NLap>2026-11-25</NLap>", b"<NLap>25/11/2026</NLap>")
    old = household("2.0.1").replace(b"<PBan>2.0.1</PBan>", b"<PBan>2.0.0</PBan>")
    unknown = household().replace(b"<PBan>2.1.0</PBan>", b"<PBan>3.0.0</PBan>")
    raw = message(206, [household(), broken, old, unknown])
    findings = schemas.validate_message(parse(raw))
    assert [(f.code, f.path) for f in findings] == [
        ("3001", "/TDiep/DLieu/HDon[2]/DLHDon/TTChung/NLap"),
        ("3001", "/TDiep/DLieu/HDon[3]/DLHDon/NDHDon/NMua/CCCDan"),
        ("3002", "/TDiep/DLieu/HDon[4]/DLHDon/TTChung/PBan"),
    ]


def test_body_must_fit_the_message_type(schemas: Schemas) -> None:
    raw = (
        message(200, [restaurant()])
        .replace(b"<DLieu>", b"<DLieu>" + RECEIPT_NOTICE)
        .replace(b"<SLuong>1</SLuong>", b"<SLuong>2</SLuong>")
    )
    findings = schemas.validate_message(parse(raw))
    assert set(codes_of(findings)) == {"3001"}
    assert "MLTDiep 200 carries HDon, not TBao" in findings[-1].message
    assert findings[-1].path == "/TDiep/DLieu/TBao"


def test_message_root_must_be_tdiep(schemas: Schemas) -> None:
    (finding,) = schemas.validate_message(parse(restaurant()))
    assert (finding.code, finding.path) == ("3001", "/HDon")


RECEIPT_NOTICE = (
    b'<TBao Id="TBao-1"><MTDiep>V0100109106B2C5E9AF7DEF49B5BA33411171A2DF30</MTDiep>'
    b"<MNGui>TCT</MNGui><NNhan>2026-11-20T19:30:02</NNhan><TTTNhan>1</TTTNhan>"
    b"<DSLDo><LDo><MLoi>3001</MLoi><MTa>KHHDon is too long</MTa></LDo></DSLDo>"
    b"<DSCKS><CQT/></DSCKS></TBao>"
)
CHECK_NOTICE = (
    b'<TBao><DLTBao Id="TB-1"><PBan>2.1.0</PBan><MSo>01/TB-KTDL</MSo>'
    b"<Ten>Th\xc3\xb4ng b\xc3\xa1o</Ten><So>0001</So><NTBao>2026-11-20</NTBao>"
    b"<MST>0319303270</MST><TGGui>2026-11-20T19:30:05</TGGui><LTBao>3</LTBao><SLuong>1</SLuong>"
    b"<LHDKMa><DSHDon><HDon><STT>1</STT><KHMSHDon>1</KHMSHDon><KHHDon>C26TSV</KHHDon>"
    b"<SHDon>1</SHDon><NLap>2026-11-20</NLap><DSLDo><LDo><MLoi>5008</MLoi>"
    b"<MTLoi>Grand totals do not add up</MTLoi></LDo></DSLDo></HDon></DSHDon></LHDKMa>"
    b"<LCMa><KHMSHDon>1</KHMSHDon><KHHDon>C26TSV</KHHDon><SHDon>2</SHDon>"
    b"<NLap>2026-11-20</NLap></LCMa>"
    b"</DLTBao><DSCKS><CQT/></DSCKS></TBao>"
)


@pytest.mark.parametrize(
    ("kind", "body"), [(999, RECEIPT_NOTICE), (204, CHECK_NOTICE)], ids=["999", "204"]
)
def test_gateway_replies_are_valid_outbound(schemas: Schemas, kind: int, body: bytes) -> None:
    raw = message(kind, [restaurant()]).replace(
        restaurant().removeprefix(b"<?xml version='1.0' encoding='UTF-8'?>\n"), body
    )
    root = parse(raw)
    assert schemas.validate_message(root, accept=OUTBOUND_MESSAGE_TYPES) == []
    assert codes_of(schemas.validate_message(root)) == ["3003"]


def test_schemas_never_leave_their_folder(tmp_path: Path) -> None:
    for name in ("invoice.xsd", "message.xsd"):
        shutil.copy(default_xsd_dir() / name, tmp_path / name)
    with pytest.raises(etree.XMLSchemaParseError):
        Schemas(tmp_path)


def test_helpers() -> None:
    assert default_xsd_dir().joinpath("invoice.xsd").is_file()
    assert is_cash_register_series("C26MAA")
    assert not is_cash_register_series("C26TAA")
    assert personal_id_allowed("2.1.0", cash_register=False)
    assert personal_id_allowed("2.0.1", cash_register=True)
    assert not personal_id_allowed("2.0.1", cash_register=False)
    assert not personal_id_allowed("2.0.0", cash_register=True)


def test_threads_share_one_instance_without_mixing_findings(schemas: Schemas) -> None:
    good = parse(restaurant())
    bad = parse(restaurant().replace(b"<TChat>1</TChat>", b"<TChat>9</TChat>", 1))
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(schemas.validate_invoice, [good, bad] * 200))
    assert all(result == [] for result in results[::2])
    assert all(codes_of(result) == ["3001"] for result in results[1::2])
