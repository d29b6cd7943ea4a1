"""Risk flags and duplicate attempts: what the risk checks read, and where their flags go.

A flag is raised by adding a row and cleared by stamping ``cleared_at``; a flag raised again
later is a new row, so the history of every flag stays readable. Codes are plain strings here;
their registry lives with the checks (``integrations.risk.flags``).

An invoice waits for the sweeper while ``risk_assessed_at`` is empty. When registry data its
flags depend on changes (a seller's status, a certificate revoked), the invoices concerned are
marked so again (``reassess_*``): the mark is a column, so it survives a restart, and an
assessment that was already running when the mark was made does not erase it.

What the sweeper reads for every invoice (its facts, its series' numbering, its flags and
attempts, its original) and its claims are plain SQL: building the ORM's queries cost the
sweeper more CPU than the statements themselves, in the worker that also serves the intake.
Writes that happen only when a flag changes, and the refreshes, stay with the models.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from tortoise.expressions import Q
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from integrations.einvoice.schema import TEMPLATES
from integrations.store import partitions
from integrations.store.dialect import (
    Sql,
    connection,
    read_date,
    read_datetime,
    read_decimal,
    read_optional_decimal,
    read_optional_int,
    read_uuid,
)
from integrations.store.models import (
    Certificate,
    DuplicateAttempt,
    IdentityLink,
    Invoice,
    InvoiceFlag,
    ProviderGrant,
)


@dataclass(frozen=True, slots=True)
class LineFacts:
    nature: int
    amount: Decimal | None
    tax_percent: Decimal | None


@dataclass(frozen=True, slots=True)
class SeriesNumbers:
    """Where an invoice stands in its series (seller, template, series), for the numbering check."""

    highest_below: int | None
    """The highest number under the invoice's that is held."""
    dated_out_of_order: int | None
    """A neighbouring number (the one below first) whose date contradicts its place against
    the invoice's. Only neighbours: an order broken further off is flagged where it breaks."""
    other_templates: tuple[str, ...]
    """Other templates under which the seller used this series and number."""


@dataclass(frozen=True, slots=True)
class InvoiceFacts:
    """The stored facts of one invoice that the risk checks judge."""

    id: uuid.UUID
    seller_tax_code: str
    template: str
    series: str
    number: int
    issued_on: date
    currency: str
    buyer_tax_code: str | None
    buyer_personal_id: str | None
    total_before_tax: Decimal
    total_tax: Decimal
    lines: tuple[LineFacts, ...] = ()
    signer: tuple[str, str] | None = None
    """The issuer and serial (hex) of the certificate the intake verified, where it noted them."""
    successor: uuid.UUID | None = None
    """The invoice numbered right after this one in its series, when held as these were read."""
    numbers: SeriesNumbers = SeriesNumbers(None, None, ())
    """Its place in its series, as the facts were read."""
    attempts: int = 0
    """Other contents sent under its key, as the facts were read (never taken back)."""
    last_attempt: datetime | None = None
    """When the latest of them came."""


@dataclass(frozen=True, slots=True)
class FlagView:
    code: str
    detail: str
    raised_at: datetime


class RiskStore:
    async def facts(self, invoice_id: uuid.UUID) -> InvoiceFacts | None:
        return (await self.facts_of([invoice_id])).get(invoice_id)

    async def facts_of(self, invoice_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, InvoiceFacts]:
        """The facts of every invoice held among these, in two statements however many.

        A sweep reads its whole claim at once: what an invoice says never changes once held,
        and a successor stored after the read is assessed on its own, with this one in view.
        Its place in its series is read too, each part an index probe of a row or two however
        long the series is and however many months are held, so the sweeper's work per invoice
        stays flat; and the duplicate attempts made under its key, which are only ever added
        to. (Read from the partitioned invoices, each part took a probe a month: 50 invoices
        took 1.08 s at 200,000 invoices over 28 partitions, against 9 ms from the keys.)
        """
        if not invoice_ids:
            return {}
        sql = _sql()
        keys = partitions.identities(postgres=sql.postgres)
        rows = await _fetch(
            f"SELECT {_FACTS}, (SELECT n.id FROM {keys} n WHERE {_SAME_SERIES} AND "
            f"n.number = p.number + 1 LIMIT 1) AS successor, {_numbering(sql, keys)}, "
            f"{_ATTEMPTS} FROM invoices p WHERE p.id IN ({sql.params(invoice_ids)})",
            sql,
        )
        if not rows:
            return {}
        sql = _sql()
        lines: dict[uuid.UUID, list[dict[str, Any]]] = {}
        for line in await _fetch(
            "SELECT invoice_id, nature, amount, tax_percent FROM invoice_lines "
            f"WHERE invoice_id IN ({sql.params(invoice_ids)}) ORDER BY invoice_id, position",
            sql,
        ):
            lines.setdefault(read_uuid(line["invoice_id"]), []).append(line)
        facts = (_facts(row, lines.get(read_uuid(row["id"]), [])) for row in rows)
        return {fact.id: fact for fact in facts}

    async def original(self, invoice_id: uuid.UUID) -> bytes | None:
        sql = _sql()
        rows = await _fetch(
            f"SELECT original FROM invoice_documents WHERE invoice_id = {sql.param(invoice_id)}",
            sql,
        )
        return bytes(rows[0]["original"]) if rows else None

    async def record_duplicate_attempt(
        self, invoice_id: uuid.UUID, *, sha256: str, submitter: str, at: datetime
    ) -> None:
        """Note that other bytes came in under the key of ``invoice_id`` (answered 409)."""
        await DuplicateAttempt.create(
            invoice_id=invoice_id, sha256=sha256, submitter=submitter[:64], attempted_at=at
        )

    async def active(self, invoice_id: uuid.UUID) -> dict[str, FlagView]:
        sql = _sql()
        rows = await _fetch(
            "SELECT code, detail, raised_at FROM invoice_flags "
            f"WHERE invoice_id = {sql.param(invoice_id)} AND cleared_at IS NULL",
            sql,
        )
        return {
            row["code"]: FlagView(row["code"], row["detail"], read_datetime(row["raised_at"]))
            for row in rows
        }

    async def flags_of(self, invoice_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, list[FlagView]]:
        """Active flags per invoice, for a page of invoices at once."""
        rows = await InvoiceFlag.filter(
            invoice_id__in=list(invoice_ids), cleared_at__isnull=True
        ).order_by("code")
        flags: dict[uuid.UUID, list[FlagView]] = {}
        for row in rows:
            view = FlagView(row.code, row.detail, row.raised_at)
            flags.setdefault(row.invoice_id, []).append(view)
        return flags

    async def claim_unassessed(self, *, limit: int, at: datetime) -> list[uuid.UUID]:
        """Take up to ``limit`` of the oldest unassessed invoices for this caller, oldest first.

        One conditional update claims them all: a row another worker claimed meanwhile no
        longer matches it, so two workers sweeping at once never assess the same invoice twice.
        """
        sql = _sql()
        waiting = "risk_assessed_at IS NULL"
        rows = await _fetch(
            f"UPDATE invoices SET risk_assessed_at = {sql.param(_db_time(at))} WHERE {waiting} "
            f"AND id IN (SELECT id FROM invoices WHERE {waiting} ORDER BY received_at "
            f"LIMIT {sql.param(limit)}) RETURNING id, received_at",
            sql,
        )
        rows.sort(key=lambda row: read_datetime(row["received_at"]))
        return [read_uuid(row["id"]) for row in rows]

    async def unclaim(self, invoice_ids: Collection[uuid.UUID]) -> None:
        """Give claimed invoices back unassessed, for the next sweep to claim."""
        await Invoice.filter(id__in=list(invoice_ids)).update(risk_assessed_at=None)

    async def settle(
        self,
        invoice_id: uuid.UUID,
        *,
        raised: Mapping[str, str],
        checked: Collection[str],
        at: datetime,
    ) -> None:
        """Make the active flags among ``checked`` codes exactly ``raised`` (code -> detail).

        Codes not in ``checked`` are left alone: a check that could not run today must not
        clear what it found yesterday. Nothing is written when nothing changes, as for most
        invoices. ``risk_assessed_at`` is not touched: the claim set it, and a mark made since
        (the column emptied because registry data changed) must stay for the next sweep.
        """
        active = await self.active(invoice_id)
        added = [code for code in checked if code in raised and code not in active]
        cleared = [code for code in checked if code not in raised and code in active]
        if not added and not cleared:
            return
        async with in_transaction():
            for code in added:
                await InvoiceFlag.create(
                    invoice_id=invoice_id, code=code, detail=raised[code], raised_at=at
                )
            if cleared:
                await InvoiceFlag.filter(
                    invoice_id=invoice_id, code__in=cleared, cleared_at__isnull=True
                ).update(cleared_at=at)

    async def reassess_sold_by(self, sellers: Collection[str]) -> int:
        """Mark every invoice of these sellers for the sweeper to assess again; how many."""
        if not sellers:
            return 0
        return await Invoice.filter(seller_tax_code__in=list(sellers)).update(risk_assessed_at=None)

    async def reassess_signed_with(self, revoked: Collection[tuple[str, int]]) -> int:
        """Mark the invoices that certificates revoked anew, given as (issuer, serial), may
        have signed; how many.

        An invoice names its signer (``signer_issuer``, ``signer_serial``). One stored before
        it did is marked when its seller is the merchant a revoked certificate is registered
        to, or lets that merchant sign for it; one signed with a certificate registered to
        nobody is then flagged when it is next assessed for another reason.
        """
        if not revoked:
            return 0
        holders: set[str] = set()
        concerned = []
        for issuer, serial in revoked:
            number = format(serial, "x")
            concerned.append(Q(signer_issuer=issuer, signer_serial=number))
            certificates = Certificate.filter(issuer=issuer, serial=number)
            holders.update(await certificates.values_list("merchant__tax_code", flat=True))
        granting = await ProviderGrant.filter(
            provider_tax_code__in=list(holders), can_sign=True
        ).values_list("merchant__tax_code", flat=True)
        sellers = holders | set(granting)
        if sellers:
            concerned.append(Q(seller_tax_code__in=list(sellers), signer_serial__isnull=True))
        return await Invoice.filter(Q(*concerned, join_type="OR")).update(risk_assessed_at=None)

    async def sold_by(self, tax_code: str, *, chunk: int = 500) -> AsyncIterator[uuid.UUID]:
        """Every invoice of a seller, in id order a chunk at a time."""
        async for invoice_id in _ids(Invoice.filter(seller_tax_code=tax_code), "id", chunk):
            yield invoice_id

    async def bought_by(self, subject: str, *, chunk: int = 500) -> AsyncIterator[uuid.UUID]:
        """Every invoice whose buyer link resolved to ``subject``."""
        links = IdentityLink.filter(role="buyer", subject=subject)
        async for invoice_id in _ids(links, "invoice_id", chunk):
            yield invoice_id


_FACTS = ", ".join(
    f"p.{column}"
    for column in (
        "id", "seller_tax_code", "template", "series", "number", "issued_on", "currency",
        "buyer_tax_code", "buyer_personal_id", "total_before_tax", "total_tax", "signer_issuer",
        "signer_serial",
    )
)  # fmt: skip
_ATTEMPTS = (
    "(SELECT COUNT(*) FROM duplicate_attempts d WHERE d.invoice_id = p.id) AS attempts, "
    "(SELECT MAX(d.attempted_at) FROM duplicate_attempts d WHERE d.invoice_id = p.id) "
    "AS last_attempt"
)
_SAME_SERIES = (
    "n.seller_tax_code = p.seller_tax_code AND n.template = p.template AND n.series = p.series"
)


def _sql() -> Sql:
    return Sql(connection().capabilities.dialect)


async def _fetch(statement: str, sql: Sql) -> list[dict[str, Any]]:
    """The rows a statement returns; an UPDATE's ``RETURNING`` too, which ``execute_query``
    drops on PostgreSQL."""
    return await connection().execute_query_dict(statement, sql.values)


def _numbering(sql: Sql, keys: str) -> str:
    """The columns of ``SeriesNumbers`` for each invoice ``p``: its neighbours' numbers and
    dates, and the templates its number was used under too, read from ``keys``
    (``partitions.identities``): on PostgreSQL one probe of ``invoice_keys`` each, where the
    partitioned invoices took one a month."""
    # Named one by one, each template is a probe of the business key's index, where
    # ``template <>`` alone would read every invoice of the seller.
    reused = (
        f"n.seller_tax_code = p.seller_tax_code AND n.template IN ({sql.params(TEMPLATES)}) "
        "AND n.template <> p.template AND n.series = p.series AND n.number = p.number"
    )
    return ", ".join(
        [
            f"(SELECT {sql.joined('n.template')} FROM {keys} n WHERE {reused}) AS templates",
            *(
                f"({_neighbour(keys, column, below=below)}) AS {name}"
                for name, column, below in (
                    ("below", "number", True),
                    ("below_on", "issued_on", True),
                    ("above", "number", False),
                    ("above_on", "issued_on", False),
                )
            ),
        ]
    )


def _neighbour(keys: str, column: str, *, below: bool) -> str:
    """``column`` of the next number held below (or above) ``p``'s in its series."""
    side, order = ("<", "DESC") if below else (">", "ASC")
    return (
        f"SELECT n.{column} FROM {keys} n WHERE {_SAME_SERIES} AND n.number {side} "
        f"p.number ORDER BY n.number {order} LIMIT 1"
    )


def _series_numbers(row: dict[str, Any]) -> SeriesNumbers:
    templates = row["templates"]
    return SeriesNumbers(
        highest_below=read_optional_int(row["below"]),
        dated_out_of_order=_dated_against(row, read_date(row["issued_on"])),
        # Templates are one digit each (KHMSHDon), so a comma cannot occur in one.
        other_templates=tuple(sorted(templates.split(","))) if templates else (),
    )


def _dated_against(row: dict[str, Any], issued_on: date) -> int | None:
    """The neighbouring number dated against its place: later below, or earlier above."""
    if row["below_on"] is not None and read_date(row["below_on"]) > issued_on:
        return read_optional_int(row["below"])
    if row["above_on"] is not None and read_date(row["above_on"]) < issued_on:
        return read_optional_int(row["above"])
    return None


def _db_time(moment: datetime) -> Any:
    """A moment as the model's own field writes it, so the column reads back alike."""
    return Invoice._meta.fields_map["risk_assessed_at"].to_db_value(moment, Invoice)


def _facts(row: dict[str, Any], lines: list[dict[str, Any]]) -> InvoiceFacts:
    return InvoiceFacts(
        id=read_uuid(row["id"]),
        seller_tax_code=row["seller_tax_code"],
        template=row["template"],
        series=row["series"],
        number=int(row["number"]),
        issued_on=read_date(row["issued_on"]),
        currency=row["currency"],
        buyer_tax_code=row["buyer_tax_code"],
        buyer_personal_id=row["buyer_personal_id"],
        total_before_tax=read_decimal(row["total_before_tax"]),
        total_tax=read_decimal(row["total_tax"]),
        lines=tuple(
            LineFacts(
                int(line["nature"]),
                read_optional_decimal(line["amount"]),
                read_optional_decimal(line["tax_percent"]),
            )
            for line in lines
        ),
        signer=(
            (row["signer_issuer"], row["signer_serial"])
            if row["signer_issuer"] is not None and row["signer_serial"] is not None
            else None
        ),
        successor=read_uuid(row["successor"]) if row["successor"] is not None else None,
        numbers=_series_numbers(row),
        attempts=int(row["attempts"]),
        last_attempt=read_datetime(row["last_attempt"]) if row["last_attempt"] else None,
    )


async def _ids(query: QuerySet[Any], column: str, chunk: int) -> AsyncIterator[uuid.UUID]:
    after: uuid.UUID | None = None
    while True:
        page = query.filter(**{f"{column}__gt": after}) if after is not None else query
        ids = await page.order_by(column).limit(chunk).values_list(column, flat=True)
        for invoice_id in ids:
            yield invoice_id
        if len(ids) < chunk:
            return
        after = ids[-1]
