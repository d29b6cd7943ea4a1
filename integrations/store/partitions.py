"""Monthly partitions of the invoices table on PostgreSQL (SQLite keeps one table).

``invoices`` is partitioned by range of ``issued_on``, one partition a month, with a default
partition for any month not yet made. PostgreSQL requires a partitioned table's unique
constraints to hold its partition key, so the invoice's identity lives in ``invoice_keys``, a
table of one narrow row per invoice: its id, issue date, business key, sha256 and tax-authority
code, each unique there. A trigger writes that row before its invoice, in the same statement,
and refuses any change to it afterwards: an invoice's identity never changes (a correction is a
new invoice). Rows that hang from an invoice (lines, links, receipts, history, flags) reference
``invoice_keys``, and so does every partition, so deleting a key deletes its invoice and all
its rows. Lookups by sha256, business key or code keep indexes on ``invoices`` too.

``ensure`` makes the partitions of every month holding rows in the default partition (moving
them out) and of this month and the ``ahead`` months after it; ``gateway migrate`` runs it and
so does ``gateway partitions ensure``, meant for a monthly timer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from tortoise.backends.base.client import BaseDBAsyncClient

TABLE = "invoices"
KEYS = "invoice_keys"
DEFAULT = "invoices_default"
AHEAD = 3
"""Months made ahead of the current one by default."""
_LOCK = 0x696E766F
"""The advisory lock that keeps two ``ensure`` runs (two instances migrating) apart."""
_KEY_COLUMNS = (
    "id", "issued_on", "seller_tax_code", "template", "series", "number", "sha256",
    "tax_authority_code",
)  # fmt: skip
_LOOKUPS = {
    "invoices_sha256": "sha256",
    "invoices_tax_authority_code": "tax_authority_code",
    "invoices_business_key": "seller_tax_code, template, series, number",
}


@dataclass(frozen=True, slots=True)
class Partition:
    name: str
    bounds: str
    """PostgreSQL's own words for the range, ``FOR VALUES FROM ('2026-01-01') TO (…)``."""
    rows: int
    """The planner's estimate, as of the last ANALYZE; -1 before the first."""


def month_name(month: date) -> str:
    return f"{TABLE}_{month.year:04d}_{month.month:02d}"


def add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


async def is_partitioned(client: BaseDBAsyncClient) -> bool:
    if client.capabilities.dialect != "postgres":
        return False
    rows = await client.execute_query_dict(
        "SELECT relkind::text FROM pg_class WHERE oid = to_regclass($1)", [TABLE]
    )
    return bool(rows) and rows[0]["relkind"] == "p"


def identities(*, postgres: bool) -> str:
    """The table that answers for each invoice's id, issue date, business key, sha256 and
    code with one unique index apiece: ``invoice_keys`` on PostgreSQL, where the partitioned
    invoices would take one probe a month, the invoices themselves on SQLite."""
    return KEYS if postgres else TABLE


async def partition(client: BaseDBAsyncClient) -> None:
    """Turn the plain invoices table into the partitioned one, keeping every row, with a
    partition for each month it holds; PostgreSQL only, in the caller's transaction (a
    migration's). ``migrate`` then makes the months ahead (``ensure``)."""
    if client.capabilities.dialect != "postgres" or await is_partitioned(client):
        return
    # Index builds of a table held for years sort in memory rather than in passes on disk.
    await client.execute_script(
        f"SET LOCAL maintenance_work_mem = '1GB'; LOCK TABLE {TABLE} IN ACCESS EXCLUSIVE MODE"
    )
    await _hold_keys(client)
    indexes = await _plain_indexes(client)
    months = await _months(client, TABLE)
    await client.execute_script(
        f"ALTER TABLE {TABLE} RENAME TO {TABLE}_plain;"
        f"CREATE TABLE {TABLE} (LIKE {TABLE}_plain INCLUDING DEFAULTS)"
        " PARTITION BY RANGE (issued_on);"
        f"CREATE TABLE {DEFAULT} PARTITION OF {TABLE} DEFAULT;"
        + "".join(_create(month) for month in sorted(months))
        + f"INSERT INTO {TABLE} SELECT * FROM {TABLE}_plain;"
        f"DROP TABLE {TABLE}_plain;"
        f"ALTER TABLE {TABLE} ADD PRIMARY KEY (id, issued_on);"
        + "".join(f"{index};" for index in indexes)
        + "".join(f"CREATE INDEX {name} ON {TABLE} ({cols});" for name, cols in _LOOKUPS.items())
        + f"ALTER TABLE {TABLE} ADD FOREIGN KEY (id) REFERENCES {KEYS} (id) ON DELETE CASCADE;"
        f"ALTER TABLE {TABLE} ADD FOREIGN KEY (related_id) REFERENCES {KEYS} (id)"
        " ON DELETE CASCADE;" + _KEY_TRIGGER
    )


async def ensure(
    client: BaseDBAsyncClient, *, today: date, ahead: int = AHEAD, since: date | None = None
) -> list[str]:
    """Make the missing monthly partitions (see the module's text), and those of every month
    from ``since`` on (a bulk load's first month); the names made.

    A month's rows already in the default partition move to the new one in the same
    transaction, so no invoice is ever outside a partition that covers it."""
    if not await is_partitioned(client):
        return []
    made = []
    async with client._in_transaction() as tx:
        await tx.execute_query("SELECT pg_advisory_xact_lock($1)", [_LOCK])
        held = {p.name for p in await partitions(tx)}
        stray = await _months(tx, DEFAULT)
        for month in sorted(stray | _window(today, ahead, since)):
            if month_name(month) not in held:
                await tx.execute_script(_move_out_of_default(month))
                made.append(month_name(month))
    return made


async def partitions(client: BaseDBAsyncClient) -> list[Partition]:
    """The invoice partitions in order of their range, the default one last."""
    rows = await client.execute_query_dict(
        "SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bounds,"
        " c.reltuples::bigint AS rows FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        " WHERE i.inhparent = to_regclass($1) ORDER BY c.relname = $2, c.relname",
        [TABLE, DEFAULT],
    )
    return [Partition(row["name"], row["bounds"], row["rows"]) for row in rows]


async def _hold_keys(client: BaseDBAsyncClient) -> None:
    """Make ``invoice_keys`` from the invoices held and point every reference at it."""
    columns = ", ".join(_KEY_COLUMNS)
    await client.execute_script(
        f"CREATE TABLE {KEYS} (id uuid NOT NULL, issued_on date NOT NULL,"
        " seller_tax_code varchar(14) NOT NULL, template varchar(1) NOT NULL,"
        " series varchar(6) NOT NULL, number bigint NOT NULL, sha256 varchar(64) NOT NULL,"
        " tax_authority_code varchar(34));"
        f"COMMENT ON TABLE {KEYS} IS 'Each invoice''s identity, unique across partitions.';"
        f"INSERT INTO {KEYS} ({columns}) SELECT {columns} FROM {TABLE};"
        f"ALTER TABLE {KEYS} ADD PRIMARY KEY (id), ADD UNIQUE (sha256),"
        " ADD UNIQUE (tax_authority_code), ADD UNIQUE (seller_tax_code, template, series, number)"
    )
    references = await client.execute_query_dict(
        "SELECT conname, conrelid::regclass::text AS child, pg_get_constraintdef(oid) AS def"
        " FROM pg_constraint WHERE contype = 'f' AND confrelid = to_regclass($1)",
        [TABLE],
    )
    # The invoices' own reference (a correction's) is made again on the partitioned table.
    dropped = [f'ALTER TABLE {r["child"]} DROP CONSTRAINT "{r["conname"]}"' for r in references]
    repointed = [_repointed(r) for r in references if r["child"] != TABLE]
    await client.execute_script(";".join(dropped + repointed))


def _repointed(reference: dict[str, str]) -> str:
    """The foreign key ``reference`` made again, on the keys rather than the invoices."""
    definition = reference["def"].replace(f"REFERENCES {TABLE}(", f"REFERENCES {KEYS}(")
    return f'ALTER TABLE {reference["child"]} ADD CONSTRAINT "{reference["conname"]}" {definition}'


async def _plain_indexes(client: BaseDBAsyncClient) -> list[str]:
    """The definitions of the invoices table's indexes that are neither its primary key nor
    unique: partitioned, the table keeps those as they are."""
    rows = await client.execute_query_dict(
        "SELECT pg_get_indexdef(indexrelid) AS def FROM pg_index"
        " WHERE indrelid = to_regclass($1) AND NOT indisunique ORDER BY indexrelid",
        [TABLE],
    )
    return [row["def"] for row in rows]


async def _months(client: BaseDBAsyncClient, table: str) -> set[date]:
    """The first days of the months whose invoices ``table`` holds."""
    rows = await client.execute_query(
        f"SELECT DISTINCT date_trunc('month', issued_on)::date FROM {table}"
    )
    return {row[0] for row in rows[1]}


def _window(today: date, ahead: int, since: date | None = None) -> set[date]:
    """The months from ``since`` (or this one) to ``ahead`` months after this one."""
    first = today.replace(day=1)
    month = min(first, since.replace(day=1)) if since else first
    months = set()
    while month <= add_months(first, ahead):
        months.add(month)
        month = add_months(month, 1)
    return months


def _bounds(month: date) -> str:
    return f"FROM ('{month.isoformat()}') TO ('{add_months(month, 1).isoformat()}')"


def _create(month: date) -> str:
    return f"CREATE TABLE {month_name(month)} PARTITION OF {TABLE} FOR VALUES {_bounds(month)};"


def _move_out_of_default(month: date) -> str:
    """A new month's partition, filled from the default partition's rows of that month first:
    PostgreSQL refuses to make a partition whose rows the default partition still holds."""
    name, end = month_name(month), add_months(month, 1)
    return (
        f"CREATE TABLE {name} (LIKE {TABLE} INCLUDING DEFAULTS);"
        f"WITH moved AS (DELETE FROM {DEFAULT} WHERE issued_on >= '{month.isoformat()}'"
        f" AND issued_on < '{end.isoformat()}' RETURNING *) INSERT INTO {name} SELECT * FROM moved;"
        f"ALTER TABLE {TABLE} ATTACH PARTITION {name} FOR VALUES {_bounds(month)};"
    )


_KEY_TRIGGER = f"""
CREATE FUNCTION invoice_keys_hold() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO {KEYS} ({", ".join(_KEY_COLUMNS)})
        VALUES ({", ".join(f"NEW.{column}" for column in _KEY_COLUMNS)});
    ELSIF ({", ".join(f"NEW.{c}" for c in _KEY_COLUMNS)})
            IS DISTINCT FROM ({", ".join(f"OLD.{c}" for c in _KEY_COLUMNS)}) THEN
        RAISE EXCEPTION 'an invoice''s identity cannot change (invoice %)', OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER invoice_keys_hold BEFORE INSERT OR UPDATE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION invoice_keys_hold();
"""
