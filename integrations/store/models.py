"""Tortoise models: the tables the gateway keeps.

Money is ``DecimalField`` (23 digits, 6 fraction digits: the 2.1.0 format's ``21,6`` plus room
for sums). Raw invoice bytes live in their own table so that listing and summing invoices never
reads blobs. Nothing here is ever deleted by the application: status changes append rows to
``InvoiceEvent``, consent changes are new states, audit events are hash-chained.

Class docstrings become table comments, so they avoid semicolons: the SQLite migration runner
splits statements on them.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model, ModelMeta

MONEY = {"max_digits": 23, "decimal_places": 6}


class _Uncommented(ModelMeta):
    """Tortoise reads each model's source again (``inspect.getsource``, which parses the
    module) for ``#:`` field comments. No table here has any, and the reads took a tenth of a
    second of the start of every process: each worker, command and test subprocess."""

    def __new__(cls, name: str, bases: tuple[type, ...], attrs: dict[str, Any]) -> ModelMeta:
        attrs.setdefault("_no_comments", True)
        return super().__new__(cls, name, bases, attrs)


class Table(Model, metaclass=_Uncommented):
    """What every table here is: a tortoise model."""

    class Meta:
        abstract = True


class MerchantStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    CLOSED = "closed"


class InvoiceStatus(StrEnum):
    ACCEPTED = "accepted"
    REPLACED = "replaced"
    ADJUSTED = "adjusted"


class InvoiceKind(StrEnum):
    """What the template and series say the invoice is, for filters and summaries."""

    VAT = "vat"
    SALES = "sales"
    CASH_REGISTER = "cash_register"
    OTHER = "other"


class LinkState(StrEnum):
    RESOLVED = "resolved"
    PENDING = "pending"


class Merchant(Table):
    id = fields.IntField(primary_key=True)
    tax_code = fields.CharField(max_length=14, unique=True)
    name = fields.CharField(max_length=400)
    kind = fields.CharField(max_length=32, default="business")
    address = fields.CharField(max_length=400, default="")
    status = fields.CharEnumField(MerchantStatus, default=MerchantStatus.ACTIVE)
    certificates_only = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "merchants"


class Certificate(Table):
    id = fields.IntField(primary_key=True)
    merchant: fields.ForeignKeyRelation[Merchant] = fields.ForeignKeyField(
        "gateway.Merchant", related_name="certificates"
    )
    fingerprint = fields.CharField(max_length=64, unique=True)
    serial = fields.CharField(max_length=64)
    subject = fields.CharField(max_length=512)
    issuer = fields.CharField(max_length=512)
    not_before = fields.DatetimeField()
    not_after = fields.DatetimeField()
    pem = fields.TextField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "certificates"


class ProviderGrant(Table):
    """A software provider registered to sign and/or submit for a merchant."""

    id = fields.IntField(primary_key=True)
    merchant: fields.ForeignKeyRelation[Merchant] = fields.ForeignKeyField(
        "gateway.Merchant", related_name="provider_grants"
    )
    provider_tax_code = fields.CharField(max_length=14)
    can_sign = fields.BooleanField(default=True)
    can_submit = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "provider_grants"
        unique_together = (("merchant", "provider_tax_code"),)


# Columns added with 0005 (payment method, fees, signer and the like) are null on invoices
# stored before it: their bytes still hold what they said.
class Invoice(Table):
    id = fields.UUIDField(primary_key=True)
    seller_tax_code = fields.CharField(max_length=14)
    template = fields.CharField(max_length=1)
    series = fields.CharField(max_length=6)
    number = fields.BigIntField()
    sha256 = fields.CharField(max_length=64, unique=True)
    tax_authority_code = fields.CharField(max_length=34, null=True, unique=True)
    version = fields.CharField(max_length=6)
    name = fields.CharField(max_length=100, default="")
    issued_on = fields.DateField()
    currency = fields.CharField(max_length=3)
    exchange_rate = fields.DecimalField(max_digits=13, decimal_places=4, null=True)
    seller_name = fields.CharField(max_length=400)
    buyer_name = fields.CharField(max_length=400, default="")
    buyer_tax_code = fields.CharField(max_length=14, null=True)
    buyer_personal_id = fields.CharField(max_length=12, null=True)
    total_before_tax = fields.DecimalField(**MONEY)
    total_tax = fields.DecimalField(**MONEY)
    total_payable = fields.DecimalField(**MONEY)
    is_cash_register = fields.BooleanField(default=False)
    cash_register_code = fields.CharField(max_length=34, null=True)
    payment_method = fields.CharField(max_length=50, null=True)
    buyer_passport = fields.CharField(max_length=20, null=True)
    buyer_budget_unit_code = fields.CharField(max_length=7, null=True)
    fees = fields.JSONField(null=True)
    total_fees = fields.DecimalField(**MONEY, null=True)
    total_trade_discount = fields.DecimalField(**MONEY, null=True)
    signer_subject = fields.TextField(null=True)
    signer_serial = fields.CharField(max_length=64, null=True)
    signer_issuer = fields.TextField(null=True)
    signing_provider_tax_code = fields.CharField(max_length=14, null=True)
    relation = fields.CharField(max_length=16, null=True)
    related: fields.ForeignKeyNullableRelation[Invoice] = fields.ForeignKeyField(
        "gateway.Invoice", related_name="corrections", null=True
    )
    related_template = fields.CharField(max_length=11, null=True)
    related_series = fields.CharField(max_length=8, null=True)
    related_number = fields.BigIntField(null=True)
    status = fields.CharEnumField(InvoiceStatus, default=InvoiceStatus.ACCEPTED)
    submitter = fields.CharField(max_length=64, default="")
    message_id = fields.CharField(max_length=46, null=True)
    received_at = fields.DatetimeField(auto_now_add=True)
    kind = fields.CharEnumField(InvoiceKind, default=InvoiceKind.VAT)
    seller_province = fields.CharField(max_length=3, default="")
    buyer_province = fields.CharField(max_length=3, default="")
    risk_assessed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "invoices"
        unique_together = (("seller_tax_code", "template", "series", "number"),)
        indexes = (
            ("buyer_personal_id", "issued_on"),
            ("buyer_tax_code", "issued_on"),
            ("issued_on", "id"),
            # Covers a seller's summaries too, read from the index alone.
            (
                "seller_tax_code",
                "issued_on",
                "id",
                "currency",
                "exchange_rate",
                "total_before_tax",
                "total_tax",
                "total_payable",
            ),
            ("total_payable", "id"),
            ("risk_assessed_at", "received_at"),
        )


class InvoiceDocument(Table):
    """The bytes exactly as received, and the stamped form the gateway handed back."""

    invoice: fields.OneToOneRelation[Invoice] = fields.OneToOneField(
        "gateway.Invoice", related_name="document", primary_key=True
    )
    original = fields.BinaryField()
    stamped = fields.BinaryField(null=True)

    class Meta:
        table = "invoice_documents"


class InvoiceLine(Table):
    id = fields.BigIntField(primary_key=True)
    invoice: fields.ForeignKeyRelation[Invoice] = fields.ForeignKeyField(
        "gateway.Invoice", related_name="lines"
    )
    position = fields.IntField()
    nature = fields.SmallIntField()
    item_code = fields.CharField(max_length=50, default="")
    name = fields.CharField(max_length=500)
    unit = fields.CharField(max_length=50, default="")
    quantity = fields.DecimalField(**MONEY, null=True)
    unit_price = fields.DecimalField(**MONEY, null=True)
    discount_amount = fields.DecimalField(**MONEY, null=True)
    amount = fields.DecimalField(**MONEY, null=True)
    tax_rate = fields.CharField(max_length=11, default="")
    tax_percent = fields.DecimalField(max_digits=7, decimal_places=4, null=True)

    class Meta:
        table = "invoice_lines"
        indexes = (("invoice_id", "tax_rate"),)


class InvoiceEvent(Table):
    """Status history: appended, never rewritten."""

    id = fields.BigIntField(primary_key=True)
    invoice: fields.ForeignKeyRelation[Invoice] = fields.ForeignKeyField(
        "gateway.Invoice", related_name="events"
    )
    status = fields.CharField(max_length=32)
    detail = fields.TextField(default="")
    at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "invoice_events"


class InvoiceFlag(Table):
    """A risk flag on an invoice. Clearing sets cleared_at, a later raise adds a new row."""

    id = fields.BigIntField(primary_key=True)
    invoice: fields.ForeignKeyRelation[Invoice] = fields.ForeignKeyField(
        "gateway.Invoice", related_name="flags"
    )
    code = fields.CharField(max_length=32)
    detail = fields.TextField(default="")
    raised_at = fields.DatetimeField()
    cleared_at = fields.DatetimeField(null=True)

    class Meta:
        table = "invoice_flags"
        indexes = (("code", "invoice_id"), ("invoice_id", "code"))


class DuplicateAttempt(Table):
    """Other bytes submitted under the business key of an invoice already held."""

    id = fields.BigIntField(primary_key=True)
    invoice: fields.ForeignKeyRelation[Invoice] = fields.ForeignKeyField(
        "gateway.Invoice", related_name="duplicate_attempts"
    )
    sha256 = fields.CharField(max_length=64)
    submitter = fields.CharField(max_length=64, default="")
    attempted_at = fields.DatetimeField()

    class Meta:
        table = "duplicate_attempts"
        indexes = (("invoice_id", "attempted_at"),)


class IdentityLink(Table):
    """Ties an invoice party to a taxpayer identity. Pending links are retried, never dropped."""

    id = fields.BigIntField(primary_key=True)
    invoice: fields.ForeignKeyRelation[Invoice] = fields.ForeignKeyField(
        "gateway.Invoice", related_name="links"
    )
    role = fields.CharField(max_length=8)
    kind = fields.CharField(max_length=16)
    value = fields.CharField(max_length=20)
    subject = fields.CharField(max_length=14, null=True)
    state = fields.CharEnumField(LinkState)
    attempts = fields.IntField(default=0)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "identity_links"
        indexes = (("subject", "role"), ("state",))


class Receipt(Table):
    id = fields.CharField(max_length=64, primary_key=True)
    invoice: fields.ForeignKeyNullableRelation[Invoice] = fields.ForeignKeyField(
        "gateway.Invoice", related_name="receipts", null=True
    )
    message_id = fields.CharField(max_length=46, null=True)
    kind = fields.CharField(max_length=8)
    body = fields.JSONField()
    signed_xml = fields.BinaryField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "receipts"


class Message(Table):
    """A message envelope taken in once. Its bytes hash makes resubmission idempotent."""

    id = fields.UUIDField(primary_key=True)
    message_id = fields.CharField(max_length=46)
    sender = fields.CharField(max_length=14)
    message_type = fields.SmallIntField()
    sha256 = fields.CharField(max_length=64, unique=True)
    outcome = fields.JSONField()
    received_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "messages"
        unique_together = (("sender", "message_id"),)


LEGACY_CHAIN = "legacy"
"""The chain of the events written before each writer kept a chain of its own."""


class AuditEvent(Table):
    """One read of a person's data, chained by hash to the event before it in its writer's
    chain, where it is the ``seq``-th event."""

    id = fields.BigIntField(primary_key=True)
    chain = fields.CharField(max_length=64, db_default=LEGACY_CHAIN)
    seq = fields.BigIntField(db_default=0)
    at = fields.DatetimeField()
    principal = fields.CharField(max_length=128)
    role = fields.CharField(max_length=16)
    subject = fields.CharField(max_length=14)
    domains = fields.JSONField()
    fields_read = fields.JSONField()
    purpose = fields.CharField(max_length=128, default="")
    case_ref = fields.CharField(max_length=128, default="")
    consent_id = fields.CharField(max_length=36, null=True)
    outcome = fields.CharField(max_length=16)
    prev_hash = fields.CharField(max_length=64)
    hash = fields.CharField(max_length=64, unique=True)

    class Meta:
        table = "audit_events"
        indexes = (("subject", "at"),)
        unique_together = (("chain", "seq"),)


class AuditChain(Table):
    """One writer's chain of the access log, and the head of it a checkpoint last signed.

    A writer adds its row with its first events; checkpoints find every chain here and update
    what they signed, so that the next one signs only the chains that moved and refuses a chain
    that no longer extends what was signed.
    """

    chain = fields.CharField(max_length=64, primary_key=True)
    started_at = fields.DatetimeField()
    signed_seq = fields.BigIntField(default=0)
    signed_hash = fields.CharField(max_length=64, default="")

    class Meta:
        table = "audit_chains"


class AuditCheckpoint(Table):
    """The access log's heads signed by the gateway: its newest event, the count of all events,
    and the head (count, event, hash) of each chain that moved since the checkpoint before
    (``heads``; null in checkpoints of the one chain before 0007, whose head is the row's).

    A later walk of a chain that no longer reaches its signed head, or reaches it with another
    hash, shows that its tail was cut or the chain rewritten.
    """

    id = fields.BigIntField(primary_key=True)
    at = fields.DatetimeField()
    head_id = fields.BigIntField()
    count = fields.BigIntField()
    head_hash = fields.CharField(max_length=64)
    heads = fields.JSONField(null=True)
    key_id = fields.CharField(max_length=128)
    signature = fields.TextField()

    class Meta:
        table = "audit_checkpoints"


class Consent(Table):
    id = fields.UUIDField(primary_key=True)
    subject = fields.CharField(max_length=12)
    app_id = fields.CharField(max_length=128)
    domains = fields.JSONField()
    purpose = fields.CharField(max_length=128)
    granted_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "consents"
        indexes = (("subject", "app_id"),)


class TotalField(fields.Field[int]):
    """A running sum of a roll-up, kept in the unit the summaries add up in
    (``store/dialect.py``): exact ``numeric`` on PostgreSQL, integer millionths (or the
    partial products of ``Sql.exchanged``) on SQLite, where decimals are text."""

    SQL_TYPE = "NUMERIC"
    field_type = int

    class _db_sqlite:
        SQL_TYPE = "INTEGER"


class RollupTotals(Table):
    """Accepted invoices summed per month and currency, as officer summaries read them.

    Kept in the transaction that stores each invoice (``store/rollups.py``). The ``*_vnd_*``
    columns hold the sums in dong as ``Sql.exchanged`` writes them: one on PostgreSQL, four
    partial products on SQLite.
    """

    id = fields.BigIntField(primary_key=True)
    month = fields.CharField(max_length=7)
    currency = fields.CharField(max_length=3)
    invoices = fields.BigIntField(default=0)
    unrated = fields.BigIntField(default=0)
    total_before_tax = TotalField(default=0)
    total_before_tax_vnd_0 = TotalField(default=0)
    total_before_tax_vnd_1 = TotalField(default=0)
    total_before_tax_vnd_2 = TotalField(default=0)
    total_before_tax_vnd_3 = TotalField(default=0)
    total_tax = TotalField(default=0)
    total_tax_vnd_0 = TotalField(default=0)
    total_tax_vnd_1 = TotalField(default=0)
    total_tax_vnd_2 = TotalField(default=0)
    total_tax_vnd_3 = TotalField(default=0)
    total_payable = TotalField(default=0)
    total_payable_vnd_0 = TotalField(default=0)
    total_payable_vnd_1 = TotalField(default=0)
    total_payable_vnd_2 = TotalField(default=0)
    total_payable_vnd_3 = TotalField(default=0)

    class Meta:
        abstract = True


class RollupRates(Table):
    """Lines of accepted invoices summed per month, currency, rate and percent.

    The lines are those summaries by tax rate read: goods, trade discounts and special goods.
    A line without a percent is kept under -1. ``invoices`` counts the invoices with a line
    in the group, ``unrated`` the lines of invoices that state no exchange rate.
    """

    id = fields.BigIntField(primary_key=True)
    month = fields.CharField(max_length=7)
    currency = fields.CharField(max_length=3)
    tax_rate = fields.CharField(max_length=11)
    tax_percent = fields.DecimalField(max_digits=7, decimal_places=4)
    invoices = fields.BigIntField(default=0)
    unrated = fields.BigIntField(default=0)
    amount = TotalField(default=0)
    amount_vnd_0 = TotalField(default=0)
    amount_vnd_1 = TotalField(default=0)
    amount_vnd_2 = TotalField(default=0)
    amount_vnd_3 = TotalField(default=0)

    class Meta:
        abstract = True


class InvoiceRollup(RollupTotals):
    """Accepted invoices summed per seller, month and currency."""

    seller_tax_code = fields.CharField(max_length=14)

    class Meta:
        table = "invoice_rollups"
        # Seller first: a seller's summaries read its rows alone.
        unique_together = (("seller_tax_code", "month", "currency"),)
        indexes = (("month",),)


class InvoiceRateRollup(RollupRates):
    """Lines of accepted invoices summed per seller, month, currency, rate and percent."""

    seller_tax_code = fields.CharField(max_length=14)

    class Meta:
        table = "invoice_rate_rollups"
        unique_together = (("seller_tax_code", "month", "currency", "tax_rate", "tax_percent"),)
        indexes = (("month",),)


class InvoiceStripeRollup(RollupTotals):
    """Accepted invoices summed per month, currency and stripe of sellers.

    Summaries over every seller read these. A stripe is a slice of the sellers (two digits of
    the tax code), so that concurrent invoices of different sellers seldom wait for one row.
    """

    stripe = fields.CharField(max_length=2)

    class Meta:
        table = "invoice_stripe_rollups"
        unique_together = (("month", "stripe", "currency"),)


class InvoiceStripeRateRollup(RollupRates):
    """Lines of accepted invoices summed per month, currency, rate, percent and stripe.

    Summaries by rate over every seller read these.
    """

    stripe = fields.CharField(max_length=2)

    class Meta:
        table = "invoice_stripe_rate_rollups"
        unique_together = (("month", "stripe", "currency", "tax_rate", "tax_percent"),)


class InvoiceBuyerRollup(Table):
    """Each identified buyer of a seller's invoices in a month and currency, once.

    Distinct buyers cannot be added up from counts; these rows can be counted distinct over
    months and sellers instead of every invoice (``store/rollups.py``).
    """

    id = fields.BigIntField(primary_key=True)
    seller_tax_code = fields.CharField(max_length=14)
    month = fields.CharField(max_length=7)
    currency = fields.CharField(max_length=3)
    buyer = fields.CharField(max_length=14)

    class Meta:
        table = "invoice_buyer_rollups"
        unique_together = (("seller_tax_code", "month", "currency", "buyer"),)
        indexes = (("month",),)
