"""Opening, migrating and checking the database.

SQLite by default (a file in the data folder, WAL mode), PostgreSQL when the URL says
``postgres://``. Schema changes are tortoise migrations under ``integrations.store.migrations``;
``migrate`` brings any database to the latest one and is safe to run again.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tortoise import Tortoise
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.connection import get_connection
from tortoise.exceptions import BaseORMException
from tortoise.migrations.api import migrate as run_migrations

from integrations.errors import StoreError
from integrations.store import dialect, partitions
from integrations.store.dialect import ANALYTICS

APP = "gateway"
SCHEMES = ("sqlite", "postgres", "postgresql")


def backend_of(url: str) -> str:
    scheme = urlsplit(url).scheme
    if scheme not in SCHEMES:
        raise ValueError(f"database URL scheme {scheme!r} is not one of {', '.join(SCHEMES)}")
    return "sqlite" if scheme == "sqlite" else "postgres"


def sqlite_url(path: Path) -> str:
    return f"sqlite://{path}"


def tortoise_config(url: str) -> dict[str, Any]:
    # Connections are named after the backend: tortoise caches compiled statements by
    # connection name, and one process (the test suite) may use both backends in turn.
    return {
        "connections": {backend_of(url): _connection(url)},
        "apps": {
            APP: {
                "models": ["integrations.store.models"],
                "migrations": "integrations.store.migrations",
                "default_connection": backend_of(url),
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


def _connection(url: str) -> dict[str, Any]:
    if backend_of(url) == "postgres":
        connection = expand_db_url(url.replace("postgresql://", "postgres://", 1))
        connection["engine"] = "integrations.store.postgres"
        return connection
    Path(urlsplit(url).path).parent.mkdir(parents=True, exist_ok=True)
    return {
        "engine": "tortoise.backends.sqlite",
        "credentials": {
            "file_path": url.removeprefix("sqlite://"),
            "journal_mode": "WAL",
            "journal_size_limit": 16384,
            "foreign_keys": "ON",
        },
    }


async def migrate(url: str) -> None:
    """Bring the schema to the latest migration, and on PostgreSQL make the invoice partitions
    of the months ahead (``partitions.ensure``); run it before the database is opened.

    Runs in its own task: tortoise makes the migration context current, and a task keeps that
    change to itself instead of leaving the caller's connections replaced or closed.
    """
    await asyncio.create_task(_migrate(url))


async def _migrate(url: str) -> None:
    try:
        await run_migrations(config=tortoise_config(url))
        await partitions.ensure(get_connection(backend_of(url)), today=datetime.now(UTC).date())
    finally:
        await Tortoise.close_connections()


@asynccontextmanager
async def open_database(
    url: str, *, migrate_first: bool = False, analytics_url: str = ""
) -> AsyncIterator[Database]:
    """Connect for the lifetime of the block; requests in any task share the connection.

    ``analytics_url`` (a read replica of ``url``) is where officer analytics read; empty, they
    read the primary (``dialect.analytics_connection``)."""
    if migrate_first:
        await migrate(url)
    await Tortoise.init(config=tortoise_config(url), _enable_global_fallback=True)
    primary = dialect.connection()
    try:
        async with _replica(analytics_url):
            yield Database(url)
    finally:
        await Tortoise.close_connections()
        # A client closed from outside the block connects again on its next query, out of
        # tortoise's sight: still ours to close, or its SQLite thread outlives the process.
        await primary.close()


@asynccontextmanager
async def _replica(url: str) -> AsyncIterator[None]:
    """Open the officer analytics' own connection to ``url`` (none when empty) for the block.

    Beside tortoise's connections, not among them: given two, tortoise makes every transaction
    that names none fail with "specify connection_name". Replicas take their schema from the
    primary's replication, so the models and migrations need only the primary. It connects
    on its first query, as tortoise's do: a replica that is down fails the officer's reads,
    never the start or the intake."""
    if not url:
        yield
        return
    client = _client(url)
    dialect.use_replica(client)
    try:
        yield
    finally:
        dialect.use_replica(None)
        await client.close()


def _client(url: str) -> BaseDBAsyncClient:
    """A tortoise client of ``url``, made as tortoise makes the ones it is configured with."""
    info = _connection(url)
    engine = importlib.import_module(info["engine"])
    if hasattr(engine, "get_client_class"):
        make: type[BaseDBAsyncClient] = engine.get_client_class(info)
    else:
        make = engine.client_class
    return make(connection_name=ANALYTICS, **info["credentials"])


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.backend = backend_of(url)

    async def ping(self) -> None:
        """Raise ``StoreError`` unless a trivial query round-trips."""
        try:
            await get_connection(self.backend).execute_query("SELECT 1")
        except (BaseORMException, OSError) as exc:
            raise StoreError(f"database unreachable: {exc}") from exc
