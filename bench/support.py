"""Shared machinery of the GraphQL benchmarks: processes, load, percentiles, verdicts.

The simulators run in a process of their own and the gateway as ``gateway serve`` in another,
so that the bench process only generates load. This machine has two cores: the load generator,
the gateway workers and the simulators share them, and every figure says so.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from graphql import GraphQLError
from prometheus_client import CollectorRegistry

from gateway.demo_tokens import DemoKeys, ensure_demo_keys, mint_token
from integrations.access.principal import Role
from integrations.upstreams import SERVICES, Transport, Upstreams, UpstreamSettings

SHARED_CORES = (
    f"client, gateway and simulators share this machine's {os.cpu_count()} cores; "
    "figures are lower bounds of a dedicated deployment"
)
ISSUER = "citizen-gateway-demo"
AUDIENCE = "citizen-gateway"
GRAPHQL_HEADERS = {
    "Content-Type": "application/json",
    "Accept": "application/graphql-response+json",
}
START_TIMEOUT = 60.0
BENCH_ROOT = Path(__file__).resolve().parent.parent

Call = Callable[[int], Awaitable[bool]]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(samples: list[float], share: float) -> float:
    """The nearest-rank percentile; ``share`` in (0, 1]."""
    ordered = sorted(samples)
    rank = max(1, round(share * len(ordered) + 0.5 - 1e-9))
    return ordered[min(rank, len(ordered)) - 1]


@dataclass(frozen=True)
class LoadResult:
    """What one load run saw: each call's latency, the wall time, and the failed calls."""

    latencies_ms: list[float]
    seconds: float
    failures: int
    concurrency: int

    @property
    def rate(self) -> float:
        return len(self.latencies_ms) / self.seconds

    def p(self, share: float) -> float:
        return percentile(self.latencies_ms, share)

    def summary(self) -> str:
        return (
            f"{len(self.latencies_ms)} requests at concurrency {self.concurrency}: "
            f"{self.rate:,.0f} req/s, p50 {self.p(0.5):.1f} ms, p95 {self.p(0.95):.1f} ms, "
            f"p99 {self.p(0.99):.1f} ms, failures {self.failures}"
        )


async def drive(call: Call, count: int, concurrency: int) -> LoadResult:
    """Run ``call(0)`` .. ``call(count - 1)`` with ``concurrency`` of them in flight at once.

    A call returns whether it succeeded; failures are counted and their latency kept, so a
    failing system cannot look fast by failing quickly without it showing.
    """
    latencies: list[float] = []
    failures = 0
    pending = iter(range(count))

    async def worker() -> None:
        nonlocal failures
        for index in pending:
            started = time.perf_counter()
            ok = await call(index)
            latencies.append((time.perf_counter() - started) * 1000)
            failures += not ok

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return LoadResult(latencies, time.perf_counter() - started, failures, concurrency)


def verdict(label: str, value: float, target: float, *, lower_is_better: bool, unit: str) -> bool:
    """Print one figure against its target with the ratio and PASS or MISS; return passed."""
    passed = value <= target if lower_is_better else value >= target
    ratio = value / target
    word = "PASS" if passed else "MISS"
    bound = "at most" if lower_is_better else "at least"
    print(
        f"  {label}: {value:,.2f} {unit} (target {bound} {target:,.2f} {unit}, "
        f"ratio {ratio:.2f}) {word}"
    )
    return passed


def graphql_ok(body: bytes) -> bool:
    answer = orjson.loads(body)
    return isinstance(answer, dict) and answer.get("data") is not None and "errors" not in answer


async def post_graphql(
    session: aiohttp.ClientSession, url: str, body: bytes, headers: Mapping[str, str]
) -> bool:
    async with session.post(url, data=body, headers=headers) as response:
        payload = await response.read()
    return response.status == 200 and graphql_ok(payload)


def quiet_graphql_logs() -> None:
    """Keep strawberry from logging every failed field; ``checked`` reports the first one."""
    logging.getLogger("strawberry.execution").setLevel(logging.CRITICAL)


_reported: set[str] = set()


def checked(errors: Sequence[GraphQLError] | None) -> bool:
    """Whether a result had no errors; each distinct error message is printed once."""
    for error in errors or ():
        if error.message not in _reported:
            _reported.add(error.message)
            print(f"  error: {error.message} {error.extensions or ''}")
    return not errors


def personal_ids(count: int, *, start: int = 1) -> list[str]:
    """Distinct valid ID numbers (Hà Nội, men born 1999), so no read hits another's cache."""
    return [f"001099{n:06d}" for n in range(start, start + count)]


def graphql_body(query: str, **variables: object) -> bytes:
    return orjson.dumps({"query": query, "variables": variables})


class Tokens:
    """Demo tokens signed with the key the gateway reads from its data folder."""

    def __init__(self, data_dir: Path) -> None:
        self.keys: DemoKeys = ensure_demo_keys(data_dir)

    def mint(self, role: Role, subject: str, **claims: Any) -> str:
        return mint_token(
            self.keys,
            role,
            subject,
            issuer=ISSUER,
            audience=AUDIENCE,
            ttl=timedelta(hours=2),
            **claims,
        )

    def citizen_headers(self, personal_id: str) -> dict[str, str]:
        token = self.mint(Role.CITIZEN, personal_id, assurance_level=2)
        return {**GRAPHQL_HEADERS, "Authorization": f"Bearer {token}"}


@contextmanager
def simulators_process(latency_ms: float) -> Iterator[dict[str, str]]:
    """The six simulated agencies in a process of their own; yields their base URLs."""
    command = [sys.executable, "-m", "bench.simulators", str(latency_ms)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, cwd=BENCH_ROOT)
    try:
        line = process.stdout.readline() if process.stdout else b""
        if not line:
            raise RuntimeError("the simulators did not start")
        yield orjson.loads(line)
    finally:
        process.terminate()
        process.wait(10)


async def upstream_calls(session: aiohttp.ClientSession, urls: Mapping[str, str]) -> dict[str, int]:
    """Calls each simulated agency has counted so far (``/_admin/stats``)."""
    calls = {}
    for agency, url in urls.items():
        async with session.get(f"{url}/_admin/stats") as response:
            calls[agency] = (await response.json())["total"]
    return calls


async def reset_upstream_calls(session: aiohttp.ClientSession, urls: Mapping[str, str]) -> None:
    for url in urls.values():
        async with session.delete(f"{url}/_admin/stats") as response:
            response.raise_for_status()


@asynccontextmanager
async def open_upstreams(
    urls: Mapping[str, str], *, transport: Transport | None = None
) -> AsyncIterator[Upstreams]:
    """Upstream clients on ``urls`` with the gateway's defaults, over ``transport`` if given."""
    async with Upstreams.open(
        upstream_settings(urls), registry=CollectorRegistry(), transport=transport
    ) as upstreams:
        yield upstreams


def upstream_settings(urls: Mapping[str, str]) -> dict[str, UpstreamSettings]:
    """The gateway's default settings for each agency, at ``urls``."""
    return {name: UpstreamSettings(urls[name]) for name in SERVICES}


def gateway_environment(urls: Mapping[str, str], data_dir: Path) -> dict[str, str]:
    """``gateway serve`` on the given agencies, a temporary data folder and SQLite.

    Rate limits are lifted: one load generator on one address would otherwise be throttled,
    and the benchmark measures the gateway, not its refusals.
    """
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    agencies = {f"GATEWAY_{name.upper()}_URL": url for name, url in urls.items()}
    return {
        **inherited,
        **agencies,
        "GATEWAY_UPSTREAM_BACKEND": "agencies",
        "GATEWAY_DATA_DIR": str(data_dir),
        "GATEWAY_LOG_LEVEL": "warning",
        "GATEWAY_RATE_LIMIT_PRINCIPAL": "100000000/60",
        "GATEWAY_RATE_LIMIT_ADDRESS": "100000000/60",
    }


@contextmanager
def gateway_process(
    urls: Mapping[str, str], *, workers: int = 2, database_url: str | None = None
) -> Iterator[tuple[str, Path]]:
    """``gateway serve --workers N`` on a free port; yields its base URL and data folder.

    The database is SQLite in the data folder unless ``database_url`` names another one.
    """
    with (
        prepared_gateway(urls, database_url=database_url) as (env, data_dir),
        serving(env, data_dir, workers=workers) as (base, _),
    ):
        yield base, data_dir


@contextmanager
def prepared_gateway(
    urls: Mapping[str, str], *, database_url: str | None = None, **settings: str
) -> Iterator[tuple[dict[str, str], Path]]:
    """A temporary data folder with the demo keys and CA, and its database migrated.

    Yields the environment every ``gateway`` command there runs with (``settings`` adds
    ``GATEWAY_*`` values by lower-case name) and the folder. Prepared once, before any server
    starts: two processes starting on an empty folder would race to create the keys.
    """
    with tempfile.TemporaryDirectory(prefix="gateway-bench-") as folder:
        data_dir = Path(folder)
        ensure_demo_keys(data_dir)
        env = gateway_environment(urls, data_dir)
        if database_url:
            env["GATEWAY_DATABASE_URL"] = database_url
        env.update({f"GATEWAY_{name.upper()}": value for name, value in settings.items()})
        for step in (["migrate"], ["pki", "init"]):
            done = gateway_command(env, *step)
            if done.returncode:
                raise RuntimeError(f"gateway {' '.join(step)} failed:\n{done.stdout}{done.stderr}")
        yield env, data_dir


def gateway_command(env: Mapping[str, str], *arguments: str) -> subprocess.CompletedProcess[str]:
    """Run one ``gateway`` command to its end; its output is kept for the caller to show."""
    return subprocess.run(
        [sys.executable, "-m", "gateway", *arguments],
        env=env,
        capture_output=True,
        text=True,
        cwd=BENCH_ROOT,
    )


@contextmanager
def serving(
    env: Mapping[str, str],
    data_dir: Path,
    *,
    workers: int,
    name: str = "serve",
    ready: bool = True,
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``gateway serve`` on a free port, logging to ``<data_dir>/<name>.log``; yields its base
    URL and process once it is ready (at once with ``ready=False``, to start several together
    and ``wait_ready`` for each), stopped afterwards.

    The server leads a process group of its own, so that the whole instance, master and
    workers, can be killed at once (``os.killpg``) as a machine that fails would take it.
    """
    port = free_port()
    log_path = data_dir / f"{name}.log"
    serve = [sys.executable, "-m", "gateway", "serve", "--workers", str(workers)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*serve, "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=BENCH_ROOT,
            start_new_session=True,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            if ready:
                wait_ready(base, process, log_path)
            yield base, process
        finally:
            process.terminate()
            process.wait(30)


def wait_ready(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gateway exited at start:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{base}/readyz", timeout=1) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"gateway not ready after {START_TIMEOUT:.0f} s:\n{log.read_text()}")


CITIZEN_QUERY = """
query($id: String!) {
  citizen(idNumber: $id) {
    idNumber fullName dateOfBirth sex address
    taxpayer { taxCode kind name status taxOffice legacyCode }
    insurance {
      healthCard { cardNumber validTo hospitalName isValid }
      social { socialNumber status contributionMonths }
    }
    utilities {
      electricity { contractNumber supplier status bills { period units amount } }
      water { contractNumber supplier status bills { period units amount } }
      telecom { msisdn operator plan status }
    }
  }
}
"""
"""One citizen from all six agencies: population, tax, insurance and the three utilities."""
