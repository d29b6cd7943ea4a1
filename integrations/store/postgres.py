"""The PostgreSQL engine: tortoise's asyncpg client, without a reset query on every release.

asyncpg resets a pooled connection each time it goes back to the pool (``RESET ALL``, ``CLOSE
ALL``, ``UNLISTEN *``, advisory unlock), one more round trip per query. This store sets no
session variables, opens no cursors across calls, listens to nothing and takes only
transaction-scoped advisory locks, so the reset has nothing to undo; an open transaction is
still rolled back by asyncpg before a connection is reused.
"""

from __future__ import annotations

from asyncpg.connection import Connection
from tortoise.backends.asyncpg.client import AsyncpgDBClient


class LeanConnection(Connection):  # type: ignore[misc]
    def get_reset_query(self) -> str:
        return ""


class LeanAsyncpgClient(AsyncpgDBClient):
    connection_class = LeanConnection


client_class = LeanAsyncpgClient
