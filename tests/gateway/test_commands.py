"""The pki, invoice and merchants commands, run through the real CLI against real files."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from cryptography import x509

from gateway import demo_catalogue as catalogue
from gateway.app import create_app
from gateway.cli import main
from gateway.commands.pki import revocations
from gateway.config import load_settings
from gateway.keys import DemoPki
from integrations.access.principal import Role
from integrations.einvoice import compose
from integrations.einvoice.pki import tax_code_of
from tests.gateway.test_admin import token
from tests.support.servers import free_port, live_server

pytestmark = pytest.mark.usefixtures("clean_environ")

RESTAURANT = "0100109106"
PROVIDER = "0309612872"
HOUSEHOLD = "001190007777"


class Gateway:
    """The ``gateway`` command with its data folder (and so its SQLite file) in one place."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.pki = DemoPki(data_dir / "pki")

    def __call__(self, *args: str | Path) -> Result:
        return CliRunner().invoke(
            main, [str(a) for a in args], env={"GATEWAY_DATA_DIR": str(self.data_dir)}
        )

    def ok(self, *args: str | Path) -> str:
        result = self(*args)
        assert result.exit_code == 0, result.output
        return result.output

    def issue(self, tax_code: str, name: str = "Nhà hàng Sen Hồ Tây") -> str:
        """Issue a certificate; returns its serial in hex."""
        output = self.ok("pki", "issue", "--tax-code", tax_code, "--name", name)
        return output.split()[1]

    def sign(self, unsigned: Path, tax_code: str, *extra: str) -> Path:
        key, cert = self.pki.merchant_files(tax_code)
        out = unsigned.with_name(f"{unsigned.stem}-{len(list(unsigned.parent.iterdir()))}.xml")
        self.ok("invoice", "sign", unsigned, "--key", key, "--cert", cert, "--out", out, *extra)
        return out


def certificate(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificates(path.read_bytes())[0]


@pytest.fixture
def gateway(migrated_data_dir: Path) -> Gateway:
    return Gateway(migrated_data_dir)


@pytest.fixture
def issued(gateway: Gateway) -> Gateway:
    gateway.ok("pki", "init")
    gateway.issue(RESTAURANT)
    return gateway


@pytest.fixture
def restaurant_xml(tmp_path: Path) -> Path:
    path = tmp_path / "restaurant.xml"
    path.write_bytes(compose.compose_invoice(catalogue.restaurant_invoice()))
    return path


def test_pki_init_creates_the_demo_ca_once(gateway: Gateway) -> None:
    output = gateway.ok("pki", "init")
    assert str(gateway.pki.ca_files[1]) in output
    ca_pem = gateway.pki.ca_files[1].read_bytes()
    assert revocations(gateway.pki.crl_file) == {}
    gateway.ok("pki", "init")
    assert gateway.pki.ca_files[1].read_bytes() == ca_pem


def test_pki_init_into_another_folder(gateway: Gateway, tmp_path: Path) -> None:
    gateway.ok("pki", "init", "--dir", tmp_path / "elsewhere")
    assert (tmp_path / "elsewhere" / "ca.cert.pem").exists()
    assert not gateway.pki.folder.exists()


def test_issue_writes_a_certificate_carrying_the_tax_code(gateway: Gateway) -> None:
    gateway.ok("pki", "init")
    serial = gateway.ok(
        "pki", "issue", "--tax-code", "0313032391001", "--name", "Phương Nam", "--days", "30"
    ).split()[1]
    cert = certificate(gateway.pki.merchant_files("0313032391-001")[1])
    assert tax_code_of(cert) == "0313032391-001"
    assert f"{cert.serial_number:x}" == serial
    lifetime = cert.not_valid_after_utc - datetime.now(UTC)
    assert timedelta(days=29) < lifetime <= timedelta(days=30)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        pytest.param(["--tax-code", "0100109107", "--name", "x"], "check digit", id="check-digit"),
        pytest.param(["--tax-code", "12345", "--name", "x"], "5 characters", id="shape"),
        pytest.param(["--tax-code", RESTAURANT, "--name", " "], "must not be empty", id="no-name"),
        pytest.param(["--tax-code", RESTAURANT, "--name", "x", "--days", "0"], "--days", id="days"),
    ],
)
def test_issue_refuses_bad_input_with_usage(gateway: Gateway, args: list[str], words: str) -> None:
    gateway.ok("pki", "init")
    result = gateway("pki", "issue", *args)
    assert result.exit_code == 2
    assert words in result.output


def test_issue_and_revoke_need_an_initialised_ca(gateway: Gateway) -> None:
    for args in (["issue", "--tax-code", RESTAURANT, "--name", "x"], ["revoke", "--serial", "1f"]):
        result = gateway("pki", *args)
        assert result.exit_code == 2
        assert "gateway pki init" in result.output


def test_signed_invoice_verifies_offline(issued: Gateway, restaurant_xml: Path) -> None:
    signed = issued.sign(restaurant_xml, RESTAURANT)
    output = issued.ok("invoice", "verify", signed)
    assert f"invoice {RESTAURANT}/1/C26TSV/1 signed by MST:{RESTAURANT}: valid" in output
    assert "0 error(s), 0 warning(s)" in output


def test_default_output_sits_next_to_the_input(issued: Gateway, restaurant_xml: Path) -> None:
    key, cert = issued.pki.merchant_files(RESTAURANT)
    issued.ok("invoice", "sign", restaurant_xml, "--key", key, "--cert", cert)
    assert (restaurant_xml.parent / "restaurant.signed.xml").exists()


def test_tampered_invoice_fails_with_every_finding(issued: Gateway, restaurant_xml: Path) -> None:
    signed = issued.sign(restaurant_xml, RESTAURANT)
    signed.write_bytes(signed.read_bytes().replace(b"<SLuong>12</SLuong>", b"<SLuong>2</SLuong>"))
    result = issued("invoice", "verify", signed)
    assert result.exit_code == 1
    assert "2002 error   /HDon/DSCKS/NBan/Signature" in result.output
    assert "hint: The signed content changed after signing" in result.output
    assert "1 error(s)" in result.output


def test_sha1_signature_verifies_with_a_warning(issued: Gateway, restaurant_xml: Path) -> None:
    output = issued.ok("invoice", "verify", issued.sign(restaurant_xml, RESTAURANT, "--sha1"))
    assert "2005 warning" in output
    assert "0 error(s), 1 warning(s)" in output


def test_rule_errors_are_listed_with_their_paths(issued: Gateway, tmp_path: Path) -> None:
    wrong = compose.with_totals(catalogue.restaurant_invoice(), TgTTTBSo="1")
    unsigned = tmp_path / "wrong.xml"
    unsigned.write_bytes(compose.compose_invoice(wrong))
    result = issued("invoice", "verify", issued.sign(unsigned, RESTAURANT))
    assert result.exit_code == 1
    assert "5008 error" in result.output
    assert "TToan/TgTTTBSo" in result.output


def test_revocation_refuses_later_signatures_and_keeps_earlier_dates(
    issued: Gateway, restaurant_xml: Path
) -> None:
    first = issued.issue(HOUSEHOLD, "Hộ kinh doanh Phở Dung")
    issued.ok("pki", "revoke", "--serial", first)
    first_date = revocations(issued.pki.crl_file)[int(first, 16)]
    serial = f"{certificate(issued.pki.merchant_files(RESTAURANT)[1]).serial_number:x}"
    issued.ok("pki", "revoke", "--serial", serial.upper())
    assert "already revoked" in issued.ok("pki", "revoke", "--serial", serial)
    dates = revocations(issued.pki.crl_file)
    assert dates.keys() == {int(first, 16), int(serial, 16)}
    assert dates[int(first, 16)] == first_date
    after = issued("invoice", "verify", issued.sign(restaurant_xml, RESTAURANT))
    assert after.exit_code == 1
    assert "2008 error" in after.output


def test_revoke_refuses_a_serial_that_is_not_hex(issued: Gateway) -> None:
    result = issued("pki", "revoke", "--serial", "xyz")
    assert result.exit_code == 2
    assert "hexadecimal" in result.output


def test_cash_register_batch_is_signed_in_the_envelope(issued: Gateway, tmp_path: Path) -> None:
    issued.issue(HOUSEHOLD, "Hộ kinh doanh Phở Dung")
    invoices = [compose.compose_invoice(catalogue.household_invoice())]
    batch = tmp_path / "batch.xml"
    batch.write_bytes(
        compose.compose_message(206, invoices, sender="V0309612872", tax_code=HOUSEHOLD)
    )
    output = issued.ok("invoice", "verify", issued.sign(batch, HOUSEHOLD))
    assert "message: valid envelope" in output
    assert f"invoice 1 {HOUSEHOLD}/2/C26MBT/1 signed by MST:{HOUSEHOLD}: valid" in output
    unsigned = issued("invoice", "verify", batch)
    assert unsigned.exit_code == 1
    assert "2014 error" in unsigned.output


def test_only_206_messages_are_signed_whole(issued: Gateway, tmp_path: Path) -> None:
    message = tmp_path / "200.xml"
    message.write_bytes(
        compose.compose_message(
            200,
            [compose.compose_invoice(catalogue.restaurant_invoice())],
            sender="V0309612872",
            tax_code=RESTAURANT,
        )
    )
    key, cert = issued.pki.merchant_files(RESTAURANT)
    result = issued("invoice", "sign", message, "--key", key, "--cert", cert)
    assert result.exit_code == 1
    assert "sign each invoice of a 200 message" in result.output


def test_sign_refuses_a_key_that_does_not_match(issued: Gateway, restaurant_xml: Path) -> None:
    key = issued.pki.merchant_files(RESTAURANT)[0]
    result = issued(
        "invoice", "sign", restaurant_xml, "--key", key, "--cert", issued.pki.ca_files[1]
    )
    assert result.exit_code == 2
    assert "does not match" in result.output


def test_verify_needs_trust_anchors(gateway: Gateway, restaurant_xml: Path) -> None:
    result = gateway("invoice", "verify", restaurant_xml)
    assert result.exit_code == 2
    assert "GATEWAY_TRUST_ANCHORS" in result.output


def test_verify_reports_unsafe_xml(issued: Gateway, tmp_path: Path) -> None:
    hostile = tmp_path / "hostile.xml"
    hostile.write_bytes(b'<!DOCTYPE HDon [<!ENTITY a "x">]><HDon>&a;</HDon>')
    result = issued("invoice", "verify", hostile)
    assert result.exit_code == 1
    assert "1007 error" in result.output


def test_merchant_registry_round_trip(issued: Gateway) -> None:
    assert "registered 0100109106" in issued.ok(
        "merchants", "add", RESTAURANT, "Nhà hàng Sen Hồ Tây", "--address", "Hà Nội"
    )
    issued.ok("merchants", "add", HOUSEHOLD, "Hộ kinh doanh Phở Dung", "--kind", "household")
    assert f"{PROVIDER} may sign for {RESTAURANT}" in issued.ok(
        "merchants", "grant", RESTAURANT, PROVIDER, "--no-submit"
    )
    issued.ok("merchants", "cert", RESTAURANT, issued.pki.merchant_files(RESTAURANT)[1])
    assert f"{HOUSEHOLD} is suspended" in issued.ok("merchants", "status", HOUSEHOLD, "suspended")
    listed = issued.ok("merchants", "list").splitlines()
    assert [line.split()[:3] for line in listed] == [
        [HOUSEHOLD, "suspended", "household"],
        [RESTAURANT, "active", "business"],
    ]
    assert f"{RESTAURANT} takes its 1 registered certificate(s) only" in issued.ok(
        "merchants", "pin", RESTAURANT, "on"
    )
    shown = json.loads(issued.ok("merchants", "show", RESTAURANT))
    assert shown["providers"] == [{"taxCode": PROVIDER, "canSign": True, "canSubmit": False}]
    assert shown["certificates"][0]["subject"].startswith(f"C=VN,UID=MST:{RESTAURANT}")
    assert shown["certificatesOnly"] is True
    assert "and those naming it" in issued.ok("merchants", "pin", RESTAURANT, "off")
    assert json.loads(issued.ok("merchants", "show", RESTAURANT))["certificatesOnly"] is False


@pytest.mark.parametrize(
    ("args", "words"),
    [
        pytest.param(["add", "0100109107", "x"], "check digit", id="bad-tax-code"),
        pytest.param(["add", RESTAURANT, " "], "must not be empty", id="empty-name"),
        pytest.param(["add", RESTAURANT, "x", "--kind", "k" * 33], "1 to 32", id="long-kind"),
        pytest.param(["status", RESTAURANT, "gone"], "'gone' is not one of", id="bad-status"),
        pytest.param(["pin", RESTAURANT, "yes"], "'yes' is not one of", id="bad-pin"),
        pytest.param(["grant", RESTAURANT, "12"], "PROVIDER_TAX_CODE", id="bad-provider"),
        pytest.param(["cert", RESTAURANT, "/no/such.pem"], "does not exist", id="missing-file"),
        pytest.param(["show"], "Missing argument", id="missing-argument"),
    ],
)
def test_bad_registry_input_prints_usage(gateway: Gateway, args: list[str], words: str) -> None:
    result = gateway("merchants", *args)
    assert result.exit_code == 2
    assert "Usage:" in result.output
    assert words in result.output


def test_registry_refusals_exit_1(gateway: Gateway, tmp_path: Path) -> None:
    gateway.ok("merchants", "add", RESTAURANT, "Nhà hàng")
    again = gateway("merchants", "add", RESTAURANT, "Nhà hàng")
    assert (again.exit_code, "already registered" in again.output) == (1, True)
    unknown = gateway("merchants", "status", "0319303270", "closed")
    assert unknown.exit_code == 1
    assert "not registered. Register the merchant first" in unknown.output
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate")
    refused = gateway("merchants", "cert", RESTAURANT, junk)
    assert (refused.exit_code, "not a PEM certificate" in refused.output) == (1, True)


async def test_submit_prints_the_receipt_or_every_error(
    tmp_path: Path, migrated_data_dir: Path
) -> None:
    gateway = Gateway(migrated_data_dir)
    unsigned = tmp_path / "unsigned"
    unsigned.mkdir()
    restaurant = compose.compose_invoice(catalogue.restaurant_invoice())
    (unsigned / "restaurant.xml").write_bytes(restaurant)
    batch = compose.compose_message(
        206,
        [compose.compose_invoice(catalogue.household_invoice())],
        sender="V0309612872",
        tax_code=HOUSEHOLD,
    )
    (unsigned / "batch.xml").write_bytes(batch)

    def prepare() -> tuple[Path, Path]:
        gateway.ok("pki", "init")
        for tax_code, name in ((RESTAURANT, "Nhà hàng Sen Hồ Tây"), (HOUSEHOLD, "Phở Dung")):
            gateway.ok("merchants", "add", tax_code, name)
            gateway.issue(tax_code, name)
        return (
            gateway.sign(unsigned / "restaurant.xml", RESTAURANT),
            gateway.sign(unsigned / "batch.xml", HOUSEHOLD),
        )

    signed, signed_batch = await asyncio.to_thread(prepare)
    tampered = tmp_path / "tampered.xml"
    tampered.write_bytes(signed.read_bytes().replace(b"<SLuong>12<", b"<SLuong>13<"))
    settings = load_settings(environ={}, data_dir=str(gateway.data_dir))
    merchant = token(settings, Role.MERCHANT, "m-1", tax_code=RESTAURANT)
    operator = token(settings, Role.ADMIN, "operator-1")
    async with live_server(create_app(settings)) as url:

        async def submit(path: Path, bearer: str, *extra: str) -> Result:
            args = ("invoice", "submit", path, "--url", url, "--token", bearer, *extra)
            return await asyncio.to_thread(gateway, *args)

        first = await submit(signed, merchant)
        again = await submit(signed, merchant)
        refused = await submit(tampered, merchant)
        batch_result = await submit(signed_batch, operator, "--message")
        no_token = await submit(signed, "junk")
    assert (first.exit_code, first.output.splitlines()[0]) == (0, "HTTP 201"), first.output
    assert f'"sellerTaxCode": "{RESTAURANT}"' in first.output
    assert (again.exit_code, again.output.splitlines()[0]) == (0, "HTTP 200")
    assert json.loads(again.output.split("\n", 1)[1]) == json.loads(first.output.split("\n", 1)[1])
    assert (refused.exit_code, refused.output.splitlines()[0]) == (1, "HTTP 422")
    assert "2002 error   /HDon/DSCKS/NBan/Signature" in refused.output
    assert batch_result.exit_code == 0, batch_result.output
    assert "invoice 1: accepted" in batch_result.output
    assert (no_token.exit_code, no_token.output.splitlines()[0]) == (1, "HTTP 401")


def test_submit_to_nowhere_fails_cleanly(gateway: Gateway, restaurant_xml: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = gateway("invoice", "submit", restaurant_xml, "--url", url, "--token", "t")
    assert result.exit_code == 1
    assert f"cannot reach {url}/v1/invoices" in result.output
