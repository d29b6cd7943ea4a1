"""The graph against real agencies: simulators on loopback, real clients, a real database.

``graph.run(query, principal)`` executes one request the way the app does: a fresh context
(guard, loaders) per call, over shared upstream clients, store and access log.
"""

from __future__ import annotations

import hashlib
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import strawberry
from strawberry.types import ExecutionResult

from integrations.access import AuditLog, ConsentStore, Principal, Role
from integrations.einvoice.pipeline import Intake
from integrations.simulators import RunningSimulators, SimulatorOptions, run_simulators
from integrations.store.database import Database, open_database
from integrations.store.invoices import (
    InvoiceKey,
    InvoiceRecord,
    InvoiceStore,
    LinkRecord,
    ReceiptRecord,
)
from integrations.store.models import LinkState
from integrations.upstreams import Upstreams, UpstreamSettings
from integrations.upstreams.service import Clock
from resolvers import build_context, build_schema
from tests.support.upstreams import open_on

API_KEY = "graph-test-key"
# Small limits so that every failure path ends in tens of milliseconds; the breaker opens late
# enough that only the test about it sees it open.
FAST = UpstreamSettings(
    "http://unset",
    api_key=API_KEY,
    connect_timeout=0.2,
    total_timeout=0.2,
    deadline=1.0,
    breaker_failures=20,
    backoff_base=0.001,
    backoff_cap=0.005,
    retry_after_cap=0.2,
    breaker_open_seconds=0.05,
    cache_ttl=0,
)
# Healthy agencies answer in milliseconds, but a loaded machine can stall one answer past
# FAST's timeout and so retry it; tests that count calls must not see that retry.
STEADY = replace(FAST, connect_timeout=5.0, total_timeout=5.0, deadline=10.0)

AN = "001099012345"
BINH = "079301000123"
RESTAURANT = "0100109106"
HOTEL = "0319303270"

CITIZEN_AN = Principal(AN, Role.CITIZEN, assurance_level=2)
OFFICER = Principal("off-7", Role.OFFICER, purpose="tax audit", case_ref="TT-2026-17")
RESTAURANT_MERCHANT = Principal("sen-ho-tay", Role.MERCHANT, tax_code=RESTAURANT)

OpenUpstreams = Callable[..., Awaitable[Upstreams]]


@pytest_asyncio.fixture(scope="session")
async def agencies() -> AsyncIterator[RunningSimulators]:
    # Everyone but the one unregistered person is on record, so tests can count answers.
    options = SimulatorOptions(api_key=API_KEY, unregistered_rate=0.0)
    async with run_simulators(options=options) as sims:
        yield sims


@pytest.fixture
def sims(agencies: RunningSimulators) -> RunningSimulators:
    return agencies.reset()


@pytest_asyncio.fixture
async def open_upstreams(sims: RunningSimulators) -> AsyncIterator[OpenUpstreams]:
    """Opens clients on the simulators; keyword overrides apply to every agency."""
    opened: list[Upstreams] = []

    async def open_(
        settings: UpstreamSettings = STEADY, *, clock: Clock | None = None, **overrides: Any
    ) -> Upstreams:
        upstreams = open_on(sims.urls, replace(settings, **overrides), clock=clock)
        opened.append(upstreams)
        return upstreams

    yield open_
    for upstreams in opened:
        await upstreams.close()


@pytest_asyncio.fixture
async def database(migrated_sqlite: Path, tmp_path: Path) -> AsyncIterator[Database]:
    """A fresh SQLite database; modules that test the store override it with both backends."""
    path = tmp_path / "graph.sqlite3"
    shutil.copyfile(migrated_sqlite, path)
    async with open_database(f"sqlite://{path}") as opened:
        yield opened


@pytest.fixture(scope="session")
def schema() -> strawberry.Schema:
    return build_schema()


@dataclass
class Graph:
    schema: strawberry.Schema
    upstreams: Upstreams
    audit: AuditLog
    store: InvoiceStore = field(default_factory=InvoiceStore)
    consents: ConsentStore = field(default_factory=ConsentStore)
    intake: Intake | None = None

    async def run(
        self, query: str, principal: Principal, variables: dict[str, Any] | None = None
    ) -> ExecutionResult:
        context = build_context(
            principal=principal,
            upstreams=self.upstreams,
            store=self.store,
            audit=self.audit,
            consents=self.consents,
            intake=self.intake,
        )
        return await self.schema.execute(query, variable_values=variables, context_value=context)


@pytest_asyncio.fixture
async def graph(
    schema: strawberry.Schema, open_upstreams: OpenUpstreams, database: Database
) -> Graph:
    return Graph(schema, await open_upstreams(), AuditLog(database))


@pytest_asyncio.fixture
async def hasty_graph(graph: Graph, open_upstreams: OpenUpstreams) -> Graph:
    """The same graph with FAST's timeouts, for tests that make an agency hang."""
    return replace(graph, upstreams=await open_upstreams(FAST))


def invoice_record(
    number: int,
    *,
    seller: str = RESTAURANT,
    buyer_id: str | None = AN,
    buyer_tax_code: str | None = None,
    issued_on: date = date(2026, 11, 2),
    total: Decimal = Decimal("108000"),
) -> InvoiceRecord:
    """An accepted invoice as the intake would store it, linked to its buyer."""
    original = f"<HDon>{seller}/{number}</HDon>".encode()
    invoice_id = uuid.uuid4()
    links = [LinkRecord("seller", "tax_code", seller, seller, LinkState.RESOLVED)]
    if buyer_id is not None:
        links.append(LinkRecord("buyer", "personal_id", buyer_id, buyer_id, LinkState.RESOLVED))
    return InvoiceRecord(
        id=invoice_id,
        key=InvoiceKey(seller, "1", "C26TAA", number),
        sha256=hashlib.sha256(original).hexdigest(),
        original=original,
        version="2.1.0",
        name="Hóa đơn giá trị gia tăng",
        issued_on=issued_on,
        currency="VND",
        exchange_rate=None,
        seller_name=f"Seller {seller}",
        buyer_name="Khách hàng",
        buyer_tax_code=buyer_tax_code,
        buyer_personal_id=buyer_id,
        total_before_tax=total - Decimal("8000"),
        total_tax=Decimal("8000"),
        total_payable=total,
        is_cash_register=False,
        submitter=seller,
        receipt=ReceiptRecord(f"R-{invoice_id.hex}", "json", {"n": number}, b"<TDiep/>"),
        links=tuple(links),
    )


def codes(result: ExecutionResult) -> list[tuple[str, str | None]]:
    """(code, service) of every error, in order."""
    return [(e.extensions["code"], e.extensions.get("service")) for e in result.errors or []]


def at(data: Any, *path: str | int) -> Any:
    for step in path:
        data = data[step]
    return data
