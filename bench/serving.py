"""What the intake benchmarks add to ``bench.support``: a database per backend, paced load,
and the workers' memory."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg

from bench.support import LoadResult

POSTGRES_ADMIN = os.environ.get(
    "GATEWAY_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres"
)


@contextmanager
def database(backend: str, folder: Path) -> Iterator[str]:
    """A fresh database URL of the backend, dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite://{folder / 'gateway.sqlite3'}"
        return
    name = f"gateway_bench_{uuid.uuid4().hex[:10]}"
    asyncio.run(_postgres(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{POSTGRES_ADMIN.rsplit('/', 1)[0]}/{name}"
    finally:
        asyncio.run(_postgres(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _postgres(statement: str) -> None:
    connection = await asyncpg.connect(POSTGRES_ADMIN)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def paced(call: Callable[[int], Awaitable[bool]], count: int, rate: float) -> LoadResult:
    """Calls started at a fixed ``rate`` a second, whatever the answers take (open loop)."""
    latencies: list[float] = []
    failures = 0

    async def one(index: int) -> None:
        nonlocal failures
        started = time.perf_counter()
        failures += not await call(index)
        latencies.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    tasks = []
    for index in range(count):
        await asyncio.sleep(max(0.0, started + index / rate - time.perf_counter()))
        tasks.append(asyncio.create_task(one(index)))
    await asyncio.gather(*tasks)
    return LoadResult(latencies, time.perf_counter() - started, failures, 0)


def gateway_pids(port: int) -> list[int]:
    """The gateway listening on ``port``: its master and its workers."""
    master = next(
        int(path.parent.name)
        for path in Path("/proc").glob("[0-9]*/cmdline")
        if f" serve --workers 2 --port {port}" in _command(path)
    )
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [master, *map(int, children)]


def resident_mib(port: int) -> float:
    """Resident memory of the gateway listening on ``port``: its master and workers, in MiB."""
    return sum(_resident(pid) for pid in gateway_pids(port))


def cpu_seconds(port: int) -> float:
    """CPU time the gateway on ``port`` has used so far, user and system, all its processes.

    Unlike a rate, what a request costs in CPU barely changes when neighbours load the
    machine, so it compares runs made at different loads."""
    return _cpu_seconds(gateway_pids(port))


def postgres_cpu_seconds() -> float:
    """CPU time this machine's PostgreSQL processes have used so far: backends, writers and
    vacuum. A process that ends between two readings takes its time with it, so the difference
    of two readings is a lower bound."""
    pids = (
        int(path.parent.name)
        for path in Path("/proc").glob("[0-9]*/comm")
        if _read(path) == "postgres\n"
    )
    return _cpu_seconds(pids)


def _cpu_seconds(pids: Iterable[int]) -> float:
    total = 0
    for pid in pids:
        stat = _read(Path(f"/proc/{pid}/stat"))
        if stat:
            fields = stat.rpartition(")")[2].split()
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def _read(path: Path) -> str:
    """The file's text, or nothing when its process has ended."""
    try:
        return path.read_text()
    except OSError:
        return ""


def _command(path: Path) -> str:
    try:
        return path.read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _resident(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0
