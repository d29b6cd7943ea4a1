"""The fleet test's client: requests spread over the instances as a load balancer spreads them.

Requests go round robin. An instance that refuses or drops a connection is taken out of the
rotation, as a balancer's passive health check takes it out, and the request goes to the next
one; the tally counts that as expected only when the instance was killed on purpose. Every
answer is timed and counted against the instance that gave it.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import aiohttp
import orjson

from bench.support import GRAPHQL_HEADERS, Tokens, graphql_body, percentile
from integrations.access.principal import Role

REQUESTS_PER_CALLER = 10
"""Requests each load caller makes: well under the fleet's per-caller limit (``bench.fleet``),
so the load as a whole is large while no one caller meets the limit."""

CASE = {"X-Purpose": "tax audit", "X-Case-Ref": "FLEET-2026-1"}
WAIT = 30.0
"""Seconds to wait for a message or an answer: a guard against a hang, never a measurement."""


@dataclass
class Instance:
    """One ``gateway serve`` process as the client sees it."""

    number: int
    base: str
    killed_at: float | None = None
    out_of_rotation: bool = False
    cpu_seconds: float | None = None
    """CPU time the instance spent during the load, once measured."""

    @property
    def name(self) -> str:
        return f"instance {self.number}"


class FleetDown(Exception):
    """No instance left in the rotation answered."""


@dataclass(frozen=True)
class Answer:
    instance: Instance
    status: int
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)

    def graphql_ok(self) -> bool:
        answer = self.json()
        return self.status == 200 and answer.get("data") is not None and "errors" not in answer


@dataclass
class Tally:
    """Latencies per instance and kind of request, and every error by its kind."""

    latencies: defaultdict[tuple[str, str], list[float]] = field(
        default_factory=lambda: defaultdict(list)
    )
    errors: Counter[str] = field(default_factory=Counter)
    retried: Counter[str] = field(default_factory=Counter)

    def answered(self, instance: Instance, kind: str, seconds: float) -> None:
        self.latencies[instance.name, kind].append(seconds * 1000)

    def lost(self, instance: Instance, kind: str, error: Exception) -> None:
        """A connection error: expected (and retried) only where the instance was killed."""
        label = f"{kind}: {type(error).__name__} from {instance.name}"
        if instance.killed_at is not None:
            self.retried[label] += 1
        else:
            self.errors[f"{label} (not killed)"] += 1

    def failed(self, kind: str, what: str) -> None:
        self.errors[f"{kind}: {what}"] += 1

    def samples(self, *, instance: str | None = None, kind: str | None = None) -> list[float]:
        return [
            ms
            for (where, what), values in self.latencies.items()
            if instance in (None, where) and kind in (None, what)
            for ms in values
        ]


def spread(samples: list[float]) -> str:
    if not samples:
        return "no answers"
    return f"p50 {percentile(samples, 0.5):.0f} ms, p95 {percentile(samples, 0.95):.0f} ms"


class Balancer:
    """Round robin over the instances still in rotation, retrying where a connection fails."""

    def __init__(
        self, instances: Sequence[Instance], session: aiohttp.ClientSession, tally: Tally
    ) -> None:
        self.instances = list(instances)
        self.session = session
        self.tally = tally
        self.turn = itertools.count()

    async def send(
        self,
        kind: str,
        method: str,
        path: str,
        headers: dict[str, str],
        body: bytes | None = None,
        *,
        on: Sequence[Instance] | None = None,
    ) -> Answer:
        """Send to the next instance of ``on`` (default: all) in rotation; the first answer."""
        pool = list(on or self.instances)
        first = next(self.turn)
        for step in range(len(pool)):
            instance = pool[(first + step) % len(pool)]
            if instance.out_of_rotation:
                continue
            started = time.perf_counter()
            try:
                async with self.session.request(
                    method, instance.base + path, data=body, headers=headers
                ) as response:
                    payload = await response.read()
            except aiohttp.ClientConnectionError as exc:
                instance.out_of_rotation = True
                self.tally.lost(instance, kind, exc)
                continue
            self.tally.answered(instance, kind, time.perf_counter() - started)
            return Answer(instance, response.status, payload)
        raise FleetDown(f"{kind}: no instance of {[i.name for i in pool]} answered")

    async def graphql(
        self,
        kind: str,
        headers: dict[str, str],
        query: str,
        *,
        on: Sequence[Instance] | None = None,
        **variables: object,
    ) -> Answer:
        body = graphql_body(query, **variables)
        return await self.send(kind, "POST", "/graphql", headers, body, on=on)


class Callers:
    """Tokens for the load's callers: each merchant till and officer makes at most
    ``REQUESTS_PER_CALLER`` requests, and each citizen reads only themselves, once.

    Till and officer names carry ``run``, so that two runs on one Redis never share a budget.
    """

    def __init__(self, tokens: Tokens, seller: str, run: str) -> None:
        self.tokens = tokens
        self.seller = seller
        self.run = run

    def merchant(self, index: int) -> dict[str, str]:
        till = f"{self.seller}-till-{self.run}-{index // REQUESTS_PER_CALLER}"
        return self._bearer(Role.MERCHANT, till)

    def officer(self, index: int) -> dict[str, str]:
        officer = f"officer-{self.run}-{index // REQUESTS_PER_CALLER}"
        return {**self._bearer(Role.OFFICER, officer), **CASE}

    def citizen(self, personal_id: str) -> dict[str, str]:
        return self.tokens.citizen_headers(personal_id)

    @cache  # noqa: B019 - one instance per run; the cache is the point
    def _bearer(self, role: Role, subject: str) -> dict[str, str]:
        claims = {"tax_code": self.seller} if role is Role.MERCHANT else {}
        token = self.tokens.mint(role, subject, **claims)
        return {**GRAPHQL_HEADERS, "Authorization": f"Bearer {token}"}


SUBSCRIPTION = "subscription($s: String!) { invoiceAccepted(sellerTaxCode: $s) { id number } }"


class Feed:
    """The ``invoiceAccepted`` subscription held on one instance: the ids it delivered."""

    def __init__(self) -> None:
        self.delivered: set[str] = set()
        self.ended: str | None = None
        self._news = asyncio.Condition()

    async def hold(
        self, session: aiohttp.ClientSession, base: str, token: str, seller: str
    ) -> None:
        """Subscribe and collect until the socket ends; why it ended is kept in ``ended``."""
        async with session.ws_connect(f"{base}/graphql", protocols=["graphql-transport-ws"]) as ws:
            await ws.send_json({"type": "connection_init", "payload": {"token": token}})
            ack = await ws.receive_json(timeout=WAIT)
            if ack.get("type") != "connection_ack":
                self.ended = f"not acknowledged: {ack}"
                return
            payload = {"query": SUBSCRIPTION, "variables": {"s": seller}}
            await ws.send_json({"id": "1", "type": "subscribe", "payload": payload})
            async for message in ws:
                if message.type is not aiohttp.WSMsgType.TEXT:
                    break
                await self._take(orjson.loads(message.data))
                if self.ended:
                    return
            self.ended = f"socket closed ({ws.close_code})"

    async def _take(self, message: dict[str, Any]) -> None:
        if message.get("type") != "next" or "errors" in message.get("payload", {}):
            self.ended = f"ended by {message}"
            return
        async with self._news:
            self.delivered.add(message["payload"]["data"]["invoiceAccepted"]["id"])
            self._news.notify_all()

    async def wait_for(self, ids: set[str], *, quiet: float) -> set[str]:
        """Wait until every id of ``ids`` is delivered, or ``quiet`` seconds pass without a new
        delivery; return the ids still missing."""
        async with self._news:
            while not ids <= self.delivered and self.ended is None:
                try:
                    await asyncio.wait_for(self._news.wait(), quiet)
                except TimeoutError:
                    break
        return ids - self.delivered
