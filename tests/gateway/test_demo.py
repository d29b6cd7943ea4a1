"""Demo merchants and signed examples: the simulators know them, and the intake takes them."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from gateway import demo
from gateway.app import create_app
from gateway.config import Settings, load_settings
from gateway.demo_tokens import ensure_demo_keys
from gateway.keys import DemoPki
from gateway.services import build_checker
from integrations.access.principal import Role
from integrations.einvoice import compose
from integrations.einvoice.batches import check_message
from integrations.einvoice.signature import TrustStore
from integrations.identity import parse_taxpayer_id
from integrations.simulators.known import MERCHANTS, PEOPLE
from integrations.store.database import migrate, sqlite_url
from integrations.store.merchants import MerchantRegistry
from tests.gateway.test_admin import bearer, token
from tests.support.servers import in_process_client


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("demo")
    asyncio.run(migrate(sqlite_url(folder / "gateway.sqlite3")))
    ensure_demo_keys(folder)
    pki = DemoPki(folder / "pki")
    demo.write_signed_examples(folder / "examples", pki)
    return folder


@pytest.fixture
def settings(tmp_path: Path, template: Path) -> Settings:
    data_dir = shutil.copytree(template, tmp_path / "data")
    return load_settings(environ={}, data_dir=str(data_dir))


@pytest.fixture
def pki(settings: Settings) -> DemoPki:
    return DemoPki(settings.data_dir / "pki")


@pytest.fixture
async def client(settings: Settings, pki: DemoPki) -> AsyncIterator[httpx.AsyncClient]:
    async with in_process_client(create_app(settings)) as http:
        await demo.seed_demo(MerchantRegistry(), pki)
        yield http


@pytest.mark.parametrize("name", sorted(compose.EXAMPLES))
def test_example_parties_are_known_to_the_simulators(name: str) -> None:
    draft = compose.EXAMPLES[name]()
    seller = MERCHANTS[draft.seller.tax_code or ""]
    assert draft.seller.name == seller.name
    buyer = draft.buyer
    assert buyer is not None
    if buyer.personal_id:
        assert PEOPLE[buyer.personal_id].full_name == buyer.name
    else:
        assert MERCHANTS[buyer.tax_code or ""].name == buyer.name
    assert str(parse_taxpayer_id(draft.provider_tax_code or "")) == demo.PROVIDER


def test_household_business_is_its_owners_personal_id() -> None:
    household = MERCHANTS[demo.HOUSEHOLD]
    assert household.kind == "household"
    assert household.owner_id == demo.HOUSEHOLD
    assert compose.household_invoice().seller.tax_code == demo.HOUSEHOLD


async def test_seed_registers_merchants_certificates_and_the_provider(
    client: httpx.AsyncClient, pki: DemoPki
) -> None:
    registry = MerchantRegistry()
    again = await demo.seed_demo(registry, pki)
    assert [view.tax_code for view in again] == [*demo.DEMO_MERCHANTS, demo.PROVIDER]
    assert [view.kind for view in again] == [
        "business", "business", "business", "branch", "household", "provider"
    ]  # fmt: skip
    for view in again:
        (certificate,) = view.certificates
        assert f"UID=MST:{view.tax_code}" in certificate.subject
    restaurant = await registry.get(demo.RESTAURANT)
    assert restaurant.may_sign(demo.PROVIDER)
    assert restaurant.may_submit(demo.PROVIDER)
    assert not (await registry.get(demo.HOTEL)).may_sign(demo.PROVIDER)


def test_signed_examples_verify_offline(settings: Settings, pki: DemoPki) -> None:
    folder = settings.data_dir / "examples"
    before = {path.name: path.read_bytes() for path in folder.iterdir()}
    examples = demo.write_signed_examples(folder, pki)
    assert {e.path.name: e.path.read_bytes() for e in examples} == before
    checker = build_checker(settings, TrustStore.from_files([pki.ca_files[1]], [pki.crl_file]))
    now = datetime.now(UTC)
    for example in examples:
        raw = example.path.read_bytes()
        if example.endpoint == demo.MESSAGES:
            message = check_message(checker, raw, now=now)
            verdicts = message.invoices
            assert message.findings == []
        else:
            verdicts = [checker.invoice(raw, now=now)]
        for verdict in verdicts:
            assert verdict.ok, (example.path.name, verdict.findings)
            assert verdict.signer_tax_code == example.submitter


def submitter_headers(settings: Settings, tax_code: str) -> dict[str, str]:
    if tax_code == demo.HOUSEHOLD:
        # See test_a_household_business_submits_with_its_own_token.
        headers = bearer(token(settings, Role.ADMIN, "operator-1"))
    else:
        headers = bearer(token(settings, Role.MERCHANT, "m", tax_code=tax_code))
    return {**headers, "Content-Type": "application/xml"}


async def test_every_signed_example_is_accepted_in_order(
    client: httpx.AsyncClient, settings: Settings, pki: DemoPki
) -> None:
    for example in demo.write_signed_examples(settings.data_dir / "examples", pki):
        response = await client.post(
            example.endpoint,
            content=example.path.read_bytes(),
            headers=submitter_headers(settings, example.submitter),
        )
        assert response.status_code == 201, (example.path.name, response.text)
        if example.endpoint == demo.MESSAGES:
            assert [item["outcome"] for item in response.json()["items"]] == ["accepted"] * 2


async def test_a_household_business_submits_with_its_own_token(
    client: httpx.AsyncClient, settings: Settings, pki: DemoPki
) -> None:
    (example,) = [
        e
        for e in demo.write_signed_examples(settings.data_dir / "examples", pki)
        if e.path.name == "household-cash-register.xml"
    ]
    headers = bearer(token(settings, Role.MERCHANT, "m", tax_code=demo.HOUSEHOLD))
    response = await client.post(
        example.endpoint,
        content=example.path.read_bytes(),
        headers={**headers, "Content-Type": "application/xml"},
    )
    assert response.status_code == 201, response.text


def test_curl_command_posts_the_file_with_a_token(tmp_path: Path) -> None:
    example = demo.SignedExample(tmp_path / "a b.xml", demo.INVOICES, demo.RESTAURANT)
    assert example.curl("http://127.0.0.1:8000/") == (
        "curl -sS -X POST http://127.0.0.1:8000/v1/invoices -H 'Content-Type: application/xml' "
        f"-H \"Authorization: Bearer $TOKEN\" --data-binary @'{tmp_path}/a b.xml'"
    )
