"""Certificates, trust stores and hand-written invoices for the signature tests.

RSA key generation is the slow part, so every authority and signer is made once per session
around one fixed instant; tests pass ``NOW`` explicitly and never read the clock.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from integrations.einvoice.pki import CertificateAuthority, SignerIdentity, write_certificates
from integrations.einvoice.signature import TrustStore
from integrations.einvoice.signing import VIETNAM_TIME
from tests.conftest import service_missing

NOW = datetime(2026, 3, 10, 3, 0, tzinfo=UTC)
SIGNED_AT = datetime(2026, 3, 10, 9, 30, tzinfo=VIETNAM_TIME)  # 02:30 UTC, before NOW
SELLER_TAX_CODE = "0100109106"

UNSIGNED_INVOICE = """<?xml version="1.0" encoding="UTF-8"?>
<HDon xmlns:inv="http://laphoadon.gdt.gov.vn/2014/09/invoicexml/v1"><DLHDon Id="SigningData">\
<TTChung><PBan>2.1.0</PBan><THDon>Hóa đơn giá trị gia tăng</THDon><KHMSHDon>1</KHMSHDon>\
<KHHDon>C26TAA</KHHDon><SHDon>169</SHDon><NLap>2026-03-10</NLap><HDCTTChinh>0</HDCTTChinh>\
<DVTTe>VND</DVTTe><HTTToan>TM/CK</HTTToan><MSTTCGP>0100109106</MSTTCGP></TTChung>\
<NDHDon><NBan><Ten>Công ty TNHH Nhà hàng Phố Cổ</Ten><MST>{seller}</MST>\
<DChi>12 Hàng Bạc, Hoàn Kiếm, Hà Nội</DChi><SDThoai>02439260000</SDThoai></NBan>\
<NMua><Ten>Nguyễn Văn An</Ten><CCCDan>001204012345</CCCDan><DChi>Hà Nội</DChi></NMua>\
<DSHHDVu><HHDVu><TChat>1</TChat><STT>1</STT><THHDVu>Phở bò tái</THHDVu><DVTinh>Bát</DVTinh>\
<SLuong>2</SLuong><DGia>65000</DGia><ThTien>130000</ThTien><TSuat>8%</TSuat></HHDVu>\
<HHDVu><TChat>1</TChat><STT>2</STT><THHDVu>Trà đá</THHDVu><DVTinh>Cốc</DVTinh>\
<SLuong>2</SLuong><DGia>{price}</DGia><ThTien>10000</ThTien><TSuat>8%</TSuat></HHDVu></DSHHDVu>\
<TToan><THTTLTSuat><LTSuat><TSuat>8%</TSuat><ThTien>140000</ThTien><TThue>11200</TThue>\
</LTSuat></THTTLTSuat><TgTCThue>140000</TgTCThue><TgTThue>11200</TgTThue>\
<TgTTTBSo>151200</TgTTTBSo><TgTTTBChu>Một trăm năm mươi mốt nghìn hai trăm đồng</TgTTTBChu>\
</TToan></NDHDon></DLHDon><DSCKS><NBan/><NMua/><CCKSKhac/><CQT/></DSCKS></HDon>"""


def unsigned_invoice(*, seller: str = SELLER_TAX_CODE, price: str = "5000") -> bytes:
    """A realistic unsigned VAT invoice for a restaurant (no namespace on business elements)."""
    return UNSIGNED_INVOICE.format(seller=seller, price=price).encode()


def unsigned_batch(count: int = 3) -> bytes:
    """A 206 message carrying ``count`` cash-register invoices that reuse the same Ids."""
    invoices = "".join(
        unsigned_invoice(price=str(5000 + n))
        .decode()
        .removeprefix('<?xml version="1.0" encoding="UTF-8"?>\n')
        .replace("C26TAA", "C26MAA")
        for n in range(count)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<TDiep><TTChung><PBan>2.1.0</PBan>'
        "<MNGui>V0100109106</MNGui><MNNhan>TCT</MNNhan><MLTDiep>206</MLTDiep>"
        f"<MTDiep>V0100109106B2C5E9AF7DEF49B5BA33411171A2DF30</MTDiep><MST>{SELLER_TAX_CODE}</MST>"
        f"<SLuong>{count}</SLuong></TTChung><DLieu>{invoices}</DLieu></TDiep>"
    ).encode()


@dataclass(frozen=True)
class Pki:
    """Every authority and signer the tests need, made once."""

    ca: CertificateAuthority
    stranger_ca: CertificateAuthority
    authority_ca: CertificateAuthority
    seller: SignerIdentity
    expired: SignerIdentity
    not_yet_valid: SignerIdentity
    revoked: SignerIdentity
    revoked_later: SignerIdentity
    no_signing_usage: SignerIdentity
    near_expiry: SignerIdentity
    stranger: SignerIdentity
    authority: SignerIdentity
    trust: TrustStore
    authority_trust: TrustStore
    files: Path


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    start = NOW - timedelta(days=400)
    year = timedelta(days=365)
    ca = CertificateAuthority.create("Demo Signature CA", valid_from=start, valid_days=3650)
    stranger_ca = CertificateAuthority.create("Unknown CA", valid_from=start, valid_days=3650)
    authority_ca = CertificateAuthority.create(
        "Demo Government CA", valid_from=start, valid_days=3650
    )

    def issue(
        name: str, *, valid_from: datetime = start, valid_to: datetime = NOW + year, **kw: object
    ) -> SignerIdentity:
        return ca.issue(
            name, tax_code=SELLER_TAX_CODE, valid_from=valid_from, valid_to=valid_to, **kw
        )

    revoked = issue("Revoked seller")
    revoked_later = issue("Revoked after signing")
    crl = ca.revoke([revoked.serial_number], revoked_at=SIGNED_AT - timedelta(days=1))
    later_crl = ca.revoke(
        [revoked_later.serial_number], revoked_at=NOW, this_update=NOW + timedelta(seconds=1)
    )
    authority = authority_ca.issue(
        "CỤC THUẾ",
        tax_code=None,
        valid_from=start,
        valid_to=NOW + year,
        organization="BỘ TÀI CHÍNH",
    )
    files = tmp_path_factory.mktemp("pki")
    write_certificates(files / "ca.pem", ca.certificate)
    write_certificates(files / "authority-ca.pem", authority_ca.certificate)
    return Pki(
        ca=ca,
        stranger_ca=stranger_ca,
        authority_ca=authority_ca,
        seller=issue("Công ty TNHH Nhà hàng Phố Cổ"),
        expired=issue("Expired seller", valid_to=SIGNED_AT - timedelta(days=1)),
        not_yet_valid=issue("Future seller", valid_from=SIGNED_AT + timedelta(hours=1)),
        revoked=revoked,
        revoked_later=revoked_later,
        no_signing_usage=issue("Encryption only", digital_signature=False),
        near_expiry=issue("Expiring seller", valid_to=NOW + timedelta(days=10)),
        stranger=stranger_ca.issue(
            "Stranger", tax_code=SELLER_TAX_CODE, valid_from=start, valid_to=NOW + year
        ),
        authority=authority,
        trust=TrustStore([ca.certificate], [crl, later_crl]),
        authority_trust=TrustStore([authority_ca.certificate]),
        files=files,
    )


def xmlsec1_verify(
    document: bytes,
    anchor: Path,
    workdir: Path,
    *,
    node_xpath: str = "",
    id_tags: tuple[str, ...] = ("DLHDon", "MCCQT", "DLTBao"),
) -> str:
    """Verify with xmlsec1, an implementation independent of lxml's C14N wrapper and signxml.

    Returns xmlsec1's report; the test fails when xmlsec1 says the signature is invalid. Without
    the binary it is skipped, or fails where services are required (CI must cross-check).
    ``id_tags`` are the elements whose ``Id`` is an XML ID (ds:Object's is one by the XML-DSig
    schema).
    """
    binary = shutil.which("xmlsec1")
    if binary is None:
        service_missing("xmlsec1", "it is not installed")
    path = workdir / "document.xml"
    path.write_bytes(document)
    command = [binary, "--verify", "--trusted-pem", str(anchor)]
    for tag in id_tags:
        command += ["--id-attr:Id", tag]
    if node_xpath:
        command += ["--node-xpath", node_xpath]
    result = subprocess.run([*command, str(path)], capture_output=True, text=True, check=False)
    report = result.stdout + result.stderr
    assert result.returncode == 0, report
    return report
