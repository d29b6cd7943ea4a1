"""Multi-row INSERTs into several tables, sent in as few statements as the backend allows.

The intake's group commit writes an invoice's rows into six tables. One statement per table
was six round trips to PostgreSQL; ``Sql.together`` sends small ones as one. A chunk never
binds more than ``MAX_PARAMETERS`` values, nor a shared statement more than
``TOGETHER_PARAMETERS``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.models import Model

from integrations.store.dialect import Sql

MAX_PARAMETERS = 30_000
"""Bound values in one statement: under PostgreSQL's 32,767 and SQLite's 32,766."""
TOGETHER_PARAMETERS = 2_000
"""Bound values up to which chunks share a statement (below ``MAX_PARAMETERS``). An invoice
binds about 200, and shared, its ``insert_all`` took 3.0-3.4 ms against 4.0-4.6; a batch of
100 in one statement took 94-127 ms against 71-91 ms with one per table, so large chunks go
alone."""


@dataclass(frozen=True, slots=True)
class _Chunk:
    """Rows of one table that fit in one statement: their values, ``width`` to a row."""

    table: str
    columns: str
    width: int
    values: list[Any]


class Inserts:
    """Rows gathered by table with ``add``, written in one go by ``write``, in the order
    added (parents first, for SQLite; PostgreSQL checks foreign keys at the statement's end)."""

    def __init__(self) -> None:
        self._chunks: list[_Chunk] = []

    def add(self, model: type[Model], rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """Queue ``rows`` (values by field name, each row naming the same fields).

        Each value is read and written by its tortoise field as a model instance would
        (amounts rounded to the column's places); the rows come back with the values as read.
        """
        if not rows:
            return []
        meta = model._meta
        names = list(rows[0])
        fields = [meta.fields_map[name] for name in names]
        columns = ", ".join(meta.fields_db_projection[name] for name in names)
        read = [
            {n: f.to_python_value(row[n]) for f, n in zip(fields, names, strict=True)}
            for row in rows
        ]
        per_statement = max(1, MAX_PARAMETERS // len(names))
        for start in range(0, len(read), per_statement):
            values = [
                f.to_db_value(row[n], model)
                for row in read[start : start + per_statement]
                for f, n in zip(fields, names, strict=True)
            ]
            self._chunks.append(_Chunk(meta.db_table, columns, len(names), values))
        return read

    async def write(self, connection: BaseDBAsyncClient) -> None:
        """Every queued row: on PostgreSQL, chunks share a statement while their bound values
        stay within ``TOGETHER_PARAMETERS``; on SQLite (no round trips to save) one statement
        per chunk."""
        postgres = connection.capabilities.dialect == "postgres"
        for group in self._groups(TOGETHER_PARAMETERS if postgres else 0):
            sql = Sql(connection.capabilities.dialect)
            inserts = [
                f"INSERT INTO {c.table} ({c.columns}) VALUES {sql.rows(c.values, c.width)}"
                for c in group
            ]
            (statement,) = sql.together(inserts)
            await connection.execute_query(statement, sql.values)
        self._chunks.clear()

    def _groups(self, limit: int) -> list[list[_Chunk]]:
        """The chunks in order, a new group wherever one would bind more than ``limit``."""
        groups: list[list[_Chunk]] = []
        bound = 0
        for chunk in self._chunks:
            if not groups or bound + len(chunk.values) > limit:
                groups.append([])
                bound = 0
            groups[-1].append(chunk)
            bound += len(chunk.values)
        return groups
