"""The few places where SQLite and PostgreSQL need different SQL for the same question.

SQLite keeps tortoise decimals as text with exactly six fraction digits, so comparing or summing
the column as written would compare strings or fall back to floats. Removing the dot gives the
amount in millionths as an exact 64-bit integer, which SQLite sums exactly (and refuses with an
overflow error past 9.2 trillion dong, rather than rounding). PostgreSQL keeps ``numeric``.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from integrations.store.models import Invoice

MICRO = 6
# SQLite's CAST to INTEGER saturates at the 64-bit bounds, for columns and bounds alike.
_SQLITE_INTEGERS = (-(2**63), 2**63 - 1)


def connection() -> BaseDBAsyncClient:
    """The connection the invoice tables live on (the app's default one)."""
    return Invoice._meta.db


class Sql:
    """Collects parameters for one statement and writes the dialect's expressions."""

    def __init__(self, dialect: str) -> None:
        self.postgres = dialect == "postgres"
        self.values: list[Any] = []

    def param(self, value: Any) -> str:
        if not self.postgres:
            self.values.append(_sqlite_value(value))
            return "?"
        self.values.append(value)
        return f"${len(self.values)}"

    def money(self, column: str) -> str:
        """An amount column as an exactly comparable and summable number."""
        if self.postgres:
            return column
        return f"CAST(REPLACE({column}, '.', '') AS INTEGER)"

    def money_param(self, value: Decimal, *, round_up: bool) -> str:
        """A bound amount in the unit ``money`` compares in; rounded outwards past 6 digits."""
        if self.postgres:
            return self.param(value)
        rounding = ROUND_CEILING if round_up else ROUND_FLOOR
        micro = int(value.scaleb(MICRO).to_integral_value(rounding))
        low, high = _SQLITE_INTEGERS
        return self.param(min(max(micro, low), high))

    def month(self, column: str) -> str:
        if self.postgres:
            return f"to_char({column}, 'YYYY-MM')"
        return f"substr({column}, 1, 7)"


def read_sum(value: Any, *, postgres: bool) -> Decimal:
    """A ``SUM`` of ``Sql.money`` as a Decimal with six fraction digits."""
    if value is None:
        return Decimal(0).scaleb(-MICRO)
    if postgres:
        return Decimal(value).quantize(Decimal(1).scaleb(-MICRO))
    return Decimal(int(value)).scaleb(-MICRO)


def read_decimal(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def read_uuid(value: Any) -> uuid.UUID:
    return uuid.UUID(str(value))


def read_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def read_datetime(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def _sqlite_value(value: Any) -> Any:
    # The sqlite3 module's implicit adapters for dates are deprecated: pass the stored text.
    if isinstance(value, date | uuid.UUID | Decimal):
        return str(value) if not isinstance(value, date) else value.isoformat()
    return value
