"""The few places where SQLite and PostgreSQL need different SQL for the same question.

SQLite keeps tortoise decimals as text with exactly six fraction digits, so comparing or summing
the column as written would compare strings or fall back to floats. Removing the dot gives the
amount in millionths as an exact 64-bit integer, which SQLite sums exactly (and refuses with an
overflow error past 9.2 trillion dong, rather than rounding). PostgreSQL keeps ``numeric``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from integrations.errors import StoreError
from integrations.store.models import Invoice

ANALYTICS = "analytics"
"""The connection name of the officer analytics' read replica."""
MICRO = 6
RATE_PLACES = 4
"""Digits after the point of the exchange-rate column (``Invoice.exchange_rate``)."""
_MICRO_UNIT = Decimal(1).scaleb(-MICRO)
_NO_SUM = Decimal(0).scaleb(-MICRO)
# SQLite's CAST to INTEGER saturates at the 64-bit bounds, for columns and bounds alike.
_SQLITE_INTEGERS = (-(2**63), 2**63 - 1)


def connection() -> BaseDBAsyncClient:
    """The connection the invoice tables live on (the app's default one)."""
    return Invoice._meta.db


_replica: BaseDBAsyncClient | None = None


def use_replica(client: BaseDBAsyncClient | None) -> None:
    """Have officer analytics read ``client`` (None: the primary again); ``open_database``
    calls it with its ``analytics_url``'s connection."""
    global _replica
    _replica = client


def has_replica() -> bool:
    """Whether officer analytics read a connection of their own rather than the primary."""
    return _replica is not None


def analytics_connection() -> BaseDBAsyncClient:
    """The connection officer analytics read: the read replica where one is configured, else
    the primary."""
    return connection() if _replica is None else _replica


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

    def params(self, values: Iterable[Any]) -> str:
        """``values`` bound one after another, ``.., ..``, as ``IN (..)`` lists them."""
        return ", ".join(map(self.param, values))

    def rows(self, values: Sequence[Any], width: int) -> str:
        """``values`` bound as rows of ``width`` each, ``(..), (..)``, for a multi-row INSERT.

        The same as ``param`` per value, written in one pass: an invoice binds some 180 values,
        and a call per value was a visible share of the intake's CPU."""
        first = len(self.values) + 1
        if self.postgres:
            self.values.extend(values)
            marks = [f"${index}" for index in range(first, first + len(values))]
        else:
            self.values.extend(map(_sqlite_value, values))
            marks = ["?"] * len(values)
        return ", ".join(
            f"({', '.join(marks[start : start + width])})" for start in range(0, len(marks), width)
        )

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

    def exchanged(self, amount: str, rate: str, *, where: str) -> list[str]:
        """SUMs that ``read_exchanged`` adds up to the sum of amount x rate over the rows
        where ``where`` holds and ``rate`` (an exchange-rate column) is not null, exactly.

        ``amount`` is a ``money`` expression. Other rows are not multiplied at all. PostgreSQL
        multiplies numerics. SQLite keeps the rate as text with four fraction digits, read in
        ten-thousandths, and multiplies 64-bit integers, answering an overflowing product
        with a float instead of an error; so each factor is split into its whole units and its
        fraction and the four partial products are summed apart, none of which can overflow:
        whole units stay under 2^63 / 10^6, a rate under 10^5 (TGia has five digits before
        the point), the fractions under 10^6 and 10^4.
        """
        if self.postgres:
            return [f"SUM(CASE WHEN {where} THEN ({amount}) * {rate} END)"]
        units = f"CAST(REPLACE({rate}, '.', '') AS INTEGER)"
        amounts = (f"(({amount}) / {10**MICRO})", f"(({amount}) % {10**MICRO})")
        rates = (f"({units} / {10**RATE_PLACES})", f"({units} % {10**RATE_PLACES})")
        return [f"SUM(CASE WHEN {where} THEN {a} * {r} END)" for a in amounts for r in rates]

    def joined(self, column: str) -> str:
        """The distinct values of a text column, joined by commas (values must hold none)."""
        if self.postgres:
            return f"string_agg(DISTINCT {column}, ',')"
        return f"group_concat(DISTINCT {column})"

    def month(self, column: str) -> str:
        if self.postgres:
            return f"to_char({column}, 'YYYY-MM')"
        return f"substr({column}, 1, 7)"

    def together(self, statements: Sequence[str]) -> list[str]:
        """Data-modifying statements bound by this ``Sql``, as few as the backend can send.

        PostgreSQL takes them as one, in ``WITH`` clauses: one round trip instead of one each.
        Each clause runs once and to completion, all with the snapshot taken at the start (so
        none may read what another writes), and foreign keys are checked at the end. SQLite
        has no such clauses, and no round trips to save.
        """
        if not self.postgres or len(statements) < 2:
            return list(statements)
        clauses = ", ".join(f"s{index} AS ({text})" for index, text in enumerate(statements))
        return [f"WITH {clauses} SELECT 1"]


def sum_reader(*, postgres: bool) -> Callable[[Any], Decimal]:
    """Reads a ``SUM`` of ``Sql.money`` as a Decimal with six fraction digits.

    One function per backend, chosen once: a summary reads thousands of sums. SQLite's + past
    2^63 (a roll-up adding to its row) answers a float, not an error; that is a ``StoreError``.
    """
    return _read_postgres_sum if postgres else _read_sqlite_sum


def _read_postgres_sum(value: Any) -> Decimal:
    if value is None:
        return _NO_SUM
    _check_exact(value)
    return Decimal(value).quantize(_MICRO_UNIT)


def _read_sqlite_sum(value: Any) -> Decimal:
    if value is None:
        return _NO_SUM
    _check_exact(value)
    return Decimal(int(value)).scaleb(-MICRO)


def _check_exact(value: Any) -> None:
    if isinstance(value, float):
        raise StoreError(f"a sum of amounts came back inexact ({value!r})")


def read_exchanged(values: Sequence[Any], *, postgres: bool) -> Decimal:
    """The sum the ``Sql.exchanged`` columns ``values`` hold, in the order it wrote them."""
    if postgres:
        return Decimal(values[0] or 0)
    scales = (0, -RATE_PLACES, -MICRO, -MICRO - RATE_PLACES)
    total = Decimal(0)
    for value, scale in zip(values, scales, strict=True):
        if value is not None and not isinstance(value, int):
            raise StoreError(f"a sum of amounts times rates came back inexact ({value!r})")
        total += Decimal(value or 0).scaleb(scale)
    return total


def read_decimal(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def read_optional_decimal(value: Any) -> Decimal | None:
    return None if value is None else read_decimal(value)


def read_optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


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
