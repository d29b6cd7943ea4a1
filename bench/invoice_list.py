"""(b) A page of 100 invoices with seller and buyer registrations: batched against per-item.

One seller's 100 invoices, each to a different buyer, sit in a temporary SQLite store; the
simulated agencies answer at 20 ms in a process of their own. The same schema runs the same
query in this process twice over: with the request's data loaders (one tax registry call for
the page), and with a naive resolver set in which every invoice asks the tax registry client
for its seller and its buyer on its own (no batching, no per-request memo). Each request is an
officer reading for a new case, so the upstream cache, which is scoped per case, never answers.
Prints agency calls per request (target: at most one per agency) and throughput of both
(target: batched at least 5x the naive one).

    python -m bench.invoice_list [--requests 300] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import tempfile
import uuid
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import strawberry
from strawberry.dataloader import DataLoader

from bench.support import (
    SHARED_CORES,
    Call,
    checked,
    drive,
    open_upstreams,
    personal_ids,
    quiet_graphql_logs,
    reset_upstream_calls,
    simulators_process,
    upstream_calls,
    verdict,
)
from integrations.access import AuditLog, Principal, Role
from integrations.errors import UpstreamError
from integrations.identity import tax_check_digit
from integrations.store.database import Database, migrate, open_database
from integrations.store.invoices import (
    InvoiceKey,
    InvoiceRecord,
    InvoiceStore,
    LinkRecord,
    ReceiptRecord,
)
from integrations.store.models import LinkState
from integrations.upstreams import Upstreams
from resolvers import Context, build_context, build_schema
from resolvers.errors import to_graphql_error
from resolvers.loaders import Loaders, scope_of

LATENCY_MS = 20.0
SCENARIOS = {
    "individual buyers (one access-log event per buyer)": "0100109106",
    "business buyers (one access-log event per request)": "0319303270",
}
"""The seller of each scenario's page; a person's tax data read is logged, a company's not."""
PAGE = 100
SPEEDUP_TARGET = 5.0
CALLS_TARGET = 1.0
QUERY = """
query($seller: String!) {
  invoices(filter: {seller: $seller}, first: 100) {
    edges { node {
      number issuedOn totalPayable
      seller { taxCode name status taxOffice }
      buyer { taxCode name status taxOffice }
    } }
  }
}
"""

ContextFor = Callable[[int], Context]


def invoice(seller: str, number: int, buyer: str) -> InvoiceRecord:
    """An accepted invoice as the intake stores it, linked to its seller and buyer."""
    original = f"<HDon>{seller}/{number}</HDon>".encode()
    person = len(buyer) == 12
    invoice_id = uuid.uuid4()
    return InvoiceRecord(
        id=invoice_id,
        key=InvoiceKey(seller, "1", "C26TAA", number),
        sha256=hashlib.sha256(original).hexdigest(),
        original=original,
        version="2.1.0",
        name="Hóa đơn giá trị gia tăng",
        issued_on=date(2026, 11, 1 + number % 28),
        currency="VND",
        exchange_rate=None,
        seller_name="Nhà hàng Sen Hồ Tây",
        buyer_name="Khách hàng",
        buyer_tax_code=None if person else buyer,
        buyer_personal_id=buyer if person else None,
        total_before_tax=Decimal("100000"),
        total_tax=Decimal("8000"),
        total_payable=Decimal("108000"),
        is_cash_register=False,
        submitter=seller,
        receipt=ReceiptRecord(f"R-{invoice_id.hex}", "json", {"n": number}, b"<TDiep/>"),
        links=(
            LinkRecord("seller", "tax_code", seller, seller, LinkState.RESOLVED),
            LinkRecord(
                "buyer", "personal_id" if person else "tax_code", buyer, buyer, LinkState.RESOLVED
            ),
        ),
    )


def per_item(read: Callable[..., Any], scope: str) -> DataLoader[str, Any]:
    """A loader that is no loader: each key is its own client call, nothing is remembered."""

    async def load(keys: list[str]) -> list[Any]:
        try:
            found = await read(keys, scope=scope)
        except UpstreamError as exc:
            raise to_graphql_error(exc) from exc
        return [found[key] for key in keys]

    return DataLoader(load_fn=load, max_batch_size=1, cache=False)


def naive_loaders(upstreams: Upstreams, scope: str) -> Loaders:
    tax = upstreams.tax
    batched = Loaders.for_request(upstreams, scope)
    return replace(batched, taxpayers=per_item(tax.taxpayers, scope))


def officer(case: int) -> Principal:
    return Principal("off-7", Role.OFFICER, purpose="tax audit", case_ref=f"TT-{case}")


def contexts(upstreams: Upstreams, audit: AuditLog, *, naive: bool) -> ContextFor:
    store = InvoiceStore()

    def context_for(case: int) -> Context:
        principal = officer(case)
        context = build_context(principal=principal, upstreams=upstreams, store=store, audit=audit)
        if not naive:
            return context
        return replace(context, loaders=naive_loaders(upstreams, scope_of(principal)))

    return context_for


def company_codes(count: int) -> list[str]:
    """Distinct valid tax codes of synthetic companies."""
    nines = (f"01{n:07d}" for n in range(10**7))
    return [c for c in (f"{n}{tax_check_digit(n)}" for n in nines) if "None" not in c][:count]


def runner(
    schema: strawberry.Schema, context_for: ContextFor, seller: str, first_case: int
) -> Call:
    async def call(index: int) -> bool:
        context = context_for(first_case + index)
        variables = {"seller": seller}
        result = await schema.execute(QUERY, variable_values=variables, context_value=context)
        edges = (result.data or {}).get("invoices", {}).get("edges", [])
        return checked(result.errors) and len(edges) == PAGE

    return call


async def calls_per_request(
    session: aiohttp.ClientSession, urls: Mapping[str, str], call: Call, count: int
) -> dict[str, float]:
    await reset_upstream_calls(session, urls)
    await drive(call, count, 1)
    return {a: n / count for a, n in (await upstream_calls(session, urls)).items() if n}


async def scenario(
    name: str,
    seller: str,
    upstreams: Upstreams,
    audit: AuditLog,
    urls: Mapping[str, str],
    args: argparse.Namespace,
) -> bool:
    schema = build_schema()
    batched = contexts(upstreams, audit, naive=False)
    naive = contexts(upstreams, audit, naive=True)
    counted = 10
    async with aiohttp.ClientSession() as session:
        fast_calls = await calls_per_request(
            session, urls, runner(schema, batched, seller, 0), counted
        )
        slow_calls = await calls_per_request(
            session, urls, runner(schema, naive, seller, 1000), counted
        )
    fast = await drive(runner(schema, batched, seller, 10_000), args.requests, args.concurrency)
    slow = await drive(runner(schema, naive, seller, 20_000), args.requests, args.concurrency)
    print(f"{name}:")
    print(f"  agency calls per request, batched {fast_calls}, per item {slow_calls}")
    calls_ok = verdict(
        "batched, most calls to one agency per request",
        max(fast_calls.values(), default=0.0),
        CALLS_TARGET,
        lower_is_better=True,
        unit="calls",
    )
    print(f"  batched:  {fast.summary()}")
    print(f"  per item: {slow.summary()}")
    speed_ok = verdict(
        "throughput batched / per item",
        fast.rate / slow.rate,
        SPEEDUP_TARGET,
        lower_is_better=False,
        unit="x",
    )
    return calls_ok and speed_ok and not (fast.failures or slow.failures)


async def measure(urls: dict[str, str], database: Database, args: argparse.Namespace) -> bool:
    store = InvoiceStore()
    people, companies = SCENARIOS.values()
    buyers = {people: personal_ids(PAGE), companies: company_codes(PAGE)}
    for seller, parties in buyers.items():
        for number, buyer in enumerate(parties, start=1):
            await store.insert(invoice(seller, number, buyer))
    print(f"pages of {PAGE} invoices to {PAGE} distinct buyers; agencies at {LATENCY_MS:g} ms")
    print("both resolver sets run in this process on the same schema and store")
    audit = AuditLog(database)
    passed = []
    async with open_upstreams(urls) as upstreams:
        for name, seller in SCENARIOS.items():
            passed.append(await scenario(name, seller, upstreams, audit, urls, args))
    print(f"note: {SHARED_CORES}")
    return all(passed)


async def run(args: argparse.Namespace) -> None:
    quiet_graphql_logs()
    with tempfile.TemporaryDirectory(prefix="invoice-list-") as folder:
        url = f"sqlite://{Path(folder) / 'bench.sqlite3'}"
        await migrate(url)
        with simulators_process(LATENCY_MS) as urls:
            async with open_database(url) as database:
                passed = await measure(urls, database, args)
    print("PASS" if passed else "MISS")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=8)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
