"""Demo merchants and signed examples: the simulators know them, and the intake takes them."""

from __future__ import annotations

import re
import shutil
import uuid
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
from integrations.einvoice.batches import check_message
from integrations.einvoice.pipeline import Outcome, Submitter
from integrations.einvoice.signature import TrustStore
from integrations.store.merchants import MerchantRegistry
from integrations.store.risk import RiskStore
from tests.conftest import copy_migrated
from tests.gateway.test_admin import bearer, token
from tests.support.intake import running_intake
from tests.support.servers import in_process_client


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory, migrated_sqlite: Path) -> Path:
    folder = copy_migrated(migrated_sqlite, tmp_path_factory.mktemp("demo"))
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


XML = "application/xml"
README_EXAMPLE = re.compile(r"^\| `([\w.-]+\.xml)`.*\| ([A-Z_, ]+|none) \|$", re.MULTILINE)


def readme_flags() -> dict[str, set[str]]:
    """The README's table of example invoices: each file and the risk flags it says it shows."""
    text = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    return {
        name: set() if flags == "none" else {flag.strip() for flag in flags.split(",")}
        for name, flags in README_EXAMPLE.findall(text)
    }


async def test_every_example_raises_exactly_the_flags_the_readme_names(
    settings: Settings, pki: DemoPki
) -> None:
    """Signed by the demo, submitted in its order to the gateway's own intake, then assessed by
    the gateway's own risk sweeper, against the agency simulators."""
    examples = demo.write_signed_examples(settings.data_dir / "examples", pki)
    assert readme_flags().keys() == {example.path.name for example in examples}
    async with running_intake(settings) as running:
        await demo.seed_demo(running.intake.registry, pki)
        held: dict[str, list[uuid.UUID]] = {}
        for example in examples:
            raw, submitter = example.path.read_bytes(), Submitter(example.submitter)
            if example.endpoint == demo.MESSAGES:
                items = (await running.messages.submit(raw, XML, submitter)).items
            else:
                items = [await running.intake.submit_invoice(raw, XML, submitter)]
            assert [item.outcome for item in items] == [Outcome.ACCEPTED] * len(items), items
            held[example.path.name] = [item.invoice.id for item in items if item.invoice]
        assert await running.sweeper.sweep() == sum(len(ids) for ids in held.values())
        flags = await RiskStore().flags_of([i for ids in held.values() for i in ids])
    raised = {name: {f.code for i in ids for f in flags.get(i, [])} for name, ids in held.items()}
    assert raised == readme_flags()
