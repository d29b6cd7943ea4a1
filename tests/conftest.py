"""Shared fixtures: settings, a database per backend, the app in-process and live.

PostgreSQL tests use GATEWAY_TEST_POSTGRES_URL (default: the local trust-auth server). When no
server answers they are skipped, unless GATEWAY_TEST_REQUIRE_SERVICES=1 (set by CI), in which
case they fail: CI must run them, never skip them.
"""

from __future__ import annotations

import asyncio
import fcntl
import functools
import os
import shutil
import tempfile
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from graphlib import TopologicalSorter
from pathlib import Path

import asyncpg
import httpx
import pytest

from gateway.app import create_app
from gateway.config import Settings, load_settings
from gateway.keys import DemoPki
from integrations.store.database import migrate, open_database, sqlite_url
from tests.support.invoices import Keys, make_keys
from tests.support.servers import in_process_client

POSTGRES_URL = os.environ.get(
    "GATEWAY_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres"
)
REQUIRE_SERVICES = os.environ.get("GATEWAY_TEST_REQUIRE_SERVICES") == "1"
RUN = os.environ.setdefault("GATEWAY_TEST_RUN", uuid.uuid4().hex[:12])
"""This run's id, set where it starts and inherited by its xdist workers."""
SHARED = Path(tempfile.gettempdir()) / f"gateway-tests-{RUN}"
"""What the run's workers make once and share: the migrated databases they copy."""
TEMPLATE = f"gateway_template_{RUN}"


WORKERS_PER_CORE = 2
"""The whole suite's workers per core: its tests wait on sockets, servers, subprocesses and a
browser about half the time, and a second worker per core computes meanwhile."""


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """Workers for ``-n auto`` (pyproject's): two per core when the whole suite runs; none when
    tests are chosen by path, which then start sooner in one process."""
    if config.args_source is not pytest.Config.ArgsSource.TESTPATHS:
        return 0
    return WORKERS_PER_CORE * (os.cpu_count() or 1)


def service_missing(name: str, reason: str) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(f"{name} is required (GATEWAY_TEST_REQUIRE_SERVICES=1) but {reason}")
    pytest.skip(f"{name} not available: {reason}")


async def _postgres_admin(statement: str) -> None:
    conn = await asyncio.wait_for(asyncpg.connect(POSTGRES_URL), timeout=3)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def _postgres_url(name: str) -> str:
    return f"{POSTGRES_URL.rsplit('/', 1)[0]}/{name}"


def made_once(name: str, make: Callable[[Path], None]) -> Path:
    """``SHARED / name``, made by ``make`` for the first worker to ask while the others wait."""
    SHARED.mkdir(exist_ok=True)
    target = SHARED / name
    with open(SHARED / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not target.exists():
            partial = SHARED / f"{name}.partial"
            make(partial)
            partial.rename(target)
    return target


async def _migrated_template() -> None:
    await _postgres_admin(f'DROP DATABASE IF EXISTS "{TEMPLATE}"')
    await _postgres_admin(f'CREATE DATABASE "{TEMPLATE}"')
    await migrate(_postgres_url(TEMPLATE))


def _make_postgres_template(marker: Path) -> None:
    asyncio.run(_migrated_template())
    marker.write_text(TEMPLATE)


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A migrated PostgreSQL database for the session, copied from the run's template (migrated
    once for every worker) and dropped afterwards.

    Synchronous with its own short-lived loops, so that any test may ask for it lazily.
    """
    name = f"gateway_test_{uuid.uuid4().hex[:12]}"
    try:
        made_once("postgres-template", _make_postgres_template)
        asyncio.run(_postgres_admin(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"'))
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        service_missing("PostgreSQL", str(exc) or type(exc).__name__)
    url = _postgres_url(name)
    try:
        yield url
    finally:
        EMPTIER.forget(url)
        asyncio.run(_postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def pytest_sessionfinish(session: pytest.Session) -> None:
    """What the run's workers shared goes once they are done: in the controller, or in the one
    process of a run without workers."""
    if os.environ.get("PYTEST_XDIST_WORKER") or not SHARED.exists():
        return
    if (SHARED / "postgres-template").exists():
        asyncio.run(_postgres_admin(f'DROP DATABASE IF EXISTS "{TEMPLATE}" WITH (FORCE)'))
    shutil.rmtree(SHARED, ignore_errors=True)


class _Emptier:
    """Empties the session's PostgreSQL database before each test that asks for it, on one
    connection kept open in a thread and loop of its own.

    A new connection per test cost more than the emptying: PostgreSQL starts a backend and
    reads the catalogue for every table into it again. The tests' own loops come and go, so
    the connection lives on a loop that stays.
    """

    def __init__(self) -> None:
        self._connections: dict[str, asyncpg.Connection] = {}

    @functools.cached_property
    def _loop(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.new_event_loop()
        threading.Thread(target=loop.run_forever, name="postgres-emptier", daemon=True).start()
        return loop

    def empty(self, url: str) -> None:
        """Every table of ``url`` emptied and every sequence restarted, as ``TRUNCATE …
        RESTART IDENTITY`` would.

        By ``DELETE``, children before parents: TRUNCATE gives each table new files, a quarter
        of a second per test here, while deleting a test's few rows takes milliseconds. The
        tables are read from the catalogue each time, so a table a test made is emptied too.
        """
        asyncio.run_coroutine_threadsafe(self._empty(url), self._loop).result()

    def forget(self, url: str) -> None:
        """The connection to ``url`` closed, before its database is dropped."""
        if url in self._connections:
            closing = self._connections.pop(url).close()
            asyncio.run_coroutine_threadsafe(closing, self._loop).result()

    async def _empty(self, url: str) -> None:
        if url not in self._connections:
            dsn = url.replace("postgres://", "postgresql://", 1)
            self._connections[url] = await asyncpg.connect(dsn)
        connection = self._connections[url]
        await connection.execute(await _emptying(connection))


EMPTIER = _Emptier()


async def _emptying(conn: asyncpg.Connection) -> str:
    """The statements that empty the current database's tables (all but the migration record)."""
    tables = await conn.fetch(
        "SELECT oid::regclass::text AS name FROM pg_class WHERE relkind = 'r' "
        "AND relnamespace = 'public'::regnamespace AND relname NOT LIKE 'tortoise%'"
    )
    references = await conn.fetch(
        "SELECT conrelid::regclass::text AS child, confrelid::regclass::text AS parent "
        "FROM pg_constraint WHERE contype = 'f' AND conrelid <> confrelid"
    )
    sequences = await conn.fetch(
        "SELECT DISTINCT d.objid::regclass::text AS name FROM pg_depend d "
        "JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S' "
        "JOIN pg_class t ON t.oid = d.refobjid AND t.relname NOT LIKE 'tortoise%' "
        "WHERE d.deptype IN ('a', 'i') AND t.relnamespace = 'public'::regnamespace"
    )
    children: dict[str, set[str]] = {row["name"]: set() for row in tables}
    for row in references:
        if row["parent"] in children and row["child"] in children:
            children[row["parent"]].add(row["child"])
    return "; ".join(
        [f"DELETE FROM {name}" for name in TopologicalSorter(children).static_order()]
        + [f"ALTER SEQUENCE {row['name']} RESTART" for row in sequences]
    )


@pytest.fixture(scope="session")
def migrated_sqlite() -> Path:
    """One migrated SQLite file per run to copy: migrating costs far more than copying."""
    return made_once("gateway.sqlite3", lambda path: asyncio.run(migrate(sqlite_url(path))))


def copy_migrated(template: Path, folder: Path) -> Path:
    """``folder`` holding the app's default SQLite database, as ``gateway migrate`` leaves it."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, folder / "gateway.sqlite3")
    return folder


@pytest.fixture
def migrated_data_dir(tmp_path: Path, migrated_sqlite: Path) -> Path:
    """A data folder whose SQLite database is migrated: copied from the run's, which costs
    milliseconds where migrating costs a second."""
    return copy_migrated(migrated_sqlite, tmp_path / "data")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database of each backend."""
    if request.param == "sqlite":
        path = tmp_path / "gateway.sqlite3"
        shutil.copyfile(request.getfixturevalue("migrated_sqlite"), path)
        return f"sqlite://{path}"
    url: str = request.getfixturevalue("postgres_database")
    EMPTIER.empty(url)
    return url


@pytest.fixture(scope="session")
def demo_pki(tmp_path_factory: pytest.TempPathFactory) -> DemoPki:
    """The demo CA and gateway identity an app makes on its first start, made once."""
    return DemoPki(tmp_path_factory.mktemp("demo") / "pki").ensure()


@pytest.fixture
def settings(tmp_path: Path, database_url: str, demo_pki: DemoPki) -> Settings:
    """Settings of a demo app in ``tmp_path``, which holds a copy of ``demo_pki``: each test
    still has keys and revocation lists of its own to change, without generating RSA keys."""
    shutil.copytree(demo_pki.folder, tmp_path / "pki")
    return load_settings(environ={}, data_dir=str(tmp_path), database_url=database_url)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[None]:
    """The ORM connected to the test database for direct model use."""
    async with open_database(database_url):
        yield


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with in_process_client(create_app(settings)) as http:
        yield http


@pytest.fixture
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("GATEWAY_") and not name.startswith("GATEWAY_TEST_"):
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def intake_keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    """A CA with its CRL, the gateway's identity and merchant signers, made once."""
    return make_keys(tmp_path_factory.mktemp("keys"))
