"""``Sql.rows`` binds a multi-row INSERT's values exactly as one ``param`` per value would."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from integrations.store.dialect import Sql

VALUES = [uuid.UUID(int=7), "a", Decimal("1.500000"), datetime(2026, 1, 2, tzinfo=UTC), None, 3]


def one_param_per_value(dialect: str, values: list[object], width: int) -> tuple[str, list[object]]:
    sql = Sql(dialect)
    sql.param("before")
    rows = [values[start : start + width] for start in range(0, len(values), width)]
    text = ", ".join(f"({', '.join(sql.param(v) for v in row)})" for row in rows)
    return text, sql.values


@pytest.mark.parametrize("dialect", ["postgres", "sqlite"])
@pytest.mark.parametrize("width", [1, 2, 3])
def test_rows_bind_as_param_does(dialect: str, width: int) -> None:
    text, values = one_param_per_value(dialect, VALUES, width)
    sql = Sql(dialect)
    sql.param("before")
    assert sql.rows(VALUES, width) == text
    assert sql.values == values


def test_rows_number_postgres_placeholders_after_earlier_ones() -> None:
    sql = Sql("postgres")
    sql.param("x")
    assert sql.rows(["a", "b", "c", "d"], 2) == "($2, $3), ($4, $5)"
