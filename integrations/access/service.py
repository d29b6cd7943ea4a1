"""The access service: the one place every door asks before a person's or an invoice's data
leaves, and where the reads of one request are recorded.

Every door (REST routes, GraphQL over HTTP and over WebSocket, the CSV export, the browser
pages) opens one ``AccessSession`` per request or per WebSocket operation. The session decides
with the pure rules of ``integrations.access.policy``, notes every decision (refusals included)
in its ``ReadLedger``, and ``commit`` appends the ledger to the access log in one append before
the answer leaves. A door that cannot commit must not answer: ``commit`` raises
``AuditUnavailable``.

A refused read raises ``AccessDenied`` carrying the policy's reason as its code, so each door
renders the same decision its own way (a 403, a GraphQL error) without deciding anything.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from integrations.access.audit import AuditLog, AuditRecord
from integrations.access.consents import ConsentStore
from integrations.access.errors import AccessDenied, PartyRequired
from integrations.access.policy import (
    WORKBENCH_ANYONE,
    ConsentView,
    Decision,
    Domain,
    SensitiveField,
    decide_invoice_read,
    decide_read,
    decide_workbench,
    mask_sensitive,
    masked_invoice_fields,
    may_submit,
)
from integrations.access.principal import Principal
from integrations.einvoice.pipeline import Submitter
from integrations.identity import PersonalId, parse_taxpayer_id
from integrations.store.analytics import InvoiceFilter
from integrations.store.invoices import StoredInvoice

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def require(decision: Decision) -> Decision:
    """``decision`` if it allows, else raise its denial with the policy's reason as code."""
    if not decision.allowed:
        raise AccessDenied.from_decision(decision)
    return decision


def search_subject(where: InvoiceFilter) -> str:
    """Whom a filtered read is about: the buyer or seller it names, else everyone (``*``)."""
    return where.buyer or where.seller or WORKBENCH_ANYONE


def invoice_subject(invoice: StoredInvoice) -> str:
    """Whose data one invoice is in the access log: the buyer when a person, else the seller."""
    return invoice.buyer_personal_id or invoice.key.seller_tax_code


@dataclass
class _Reads:
    decision: Decision
    domains: set[str] = field(default_factory=set)
    fields: set[str] = field(default_factory=set)


@dataclass
class ReadLedger:
    """The reads one request decided, grouped into one access-log event per person, outcome
    and consent."""

    _reads: dict[tuple[str, bool, str | None], _Reads] = field(default_factory=dict)

    def note(self, subject: str, domain: Domain, field_name: str, decision: Decision) -> None:
        key = (subject, decision.allowed, decision.consent_id)
        reads = self._reads.setdefault(key, _Reads(decision))
        reads.domains.add(domain.value)
        reads.fields.add(field_name)

    def records(self, principal: Principal) -> list[AuditRecord]:
        return [
            AuditRecord.of_read(principal, subject, reads.domains, reads.fields, reads.decision)
            for (subject, _, _), reads in self._reads.items()
        ]

    def clear(self) -> None:
        self._reads.clear()


class AccessService:
    """Opens the sessions of one process's doors over its consents and access log."""

    def __init__(self, consents: ConsentStore, audit: AuditLog, *, clock: Clock = utc_now):
        self.consents = consents
        self.audit = audit
        self.clock = clock

    def open(self, principal: Principal) -> AccessSession:
        """A fresh session, with an empty ledger, for one request or WebSocket operation."""
        return AccessSession(principal, self.consents, self.audit, self.clock)


class AccessSession:
    """The guard of one request: decides, notes each decision, refuses what is denied, and
    commits the notes to the access log.

    Person decisions are kept per (person, domain) for the session, so an app's consent is
    looked up once however many fields ask. A decision that needs no lookup (every caller but
    an app) or was made before is also known at once (``person_now``), so a guard that runs
    per field need not suspend.
    """

    def __init__(
        self, principal: Principal, consents: ConsentStore, audit: AuditLog, clock: Clock
    ) -> None:
        self.principal = principal
        self.ledger = ReadLedger()
        self.clock = clock
        self._consents = consents
        self._audit = audit
        self._deciding: dict[tuple[str, Domain], asyncio.Future[Decision]] = {}
        self._decided: dict[tuple[str, Domain], Decision] = {}

    async def person(self, subject: str, domain: Domain, field_name: str) -> Decision:
        """Allow reading ``domain`` of ``subject`` for ``field_name``, or raise the denial."""
        return self._noted(subject, domain, field_name, await self.decision(subject, domain))

    def person_now(self, subject: str, domain: Domain, field_name: str) -> Decision | None:
        """``person`` when the decision is known without a lookup, else None (use ``person``)."""
        decision = self.known(subject, domain)
        return None if decision is None else self._noted(subject, domain, field_name, decision)

    async def decision(self, subject: str, domain: Domain) -> Decision:
        """What ``person`` would decide, without noting a read: for asking before reading."""
        key = (subject, domain)
        decision = self.known(subject, domain)
        if decision is None:
            if key not in self._deciding:
                self._deciding[key] = asyncio.ensure_future(self._decide(subject, domain))
            decision = self._decided[key] = await self._deciding[key]
        return decision

    def known(self, subject: str, domain: Domain) -> Decision | None:
        """The decision if made before in this session or needing no consent lookup, else None."""
        key = (subject, domain)
        decision = self._decided.get(key)
        if decision is None and not self._needs_consent:
            decision = self._decided[key] = decide_read(
                self.principal, subject, domain, consent=None, now=self.clock()
            )
        return decision

    def _noted(self, subject: str, domain: Domain, field_name: str, decision: Decision) -> Decision:
        self.ledger.note(subject, domain, field_name, decision)
        return require(decision)

    async def invoice(self, invoice: StoredInvoice, field_name: str) -> Decision:
        """Allow reading one invoice (its buyer's purchase, if a person), or raise."""
        buyer = invoice.buyer_personal_id
        consent = await self._consent(buyer, Domain.INVOICES) if buyer else None
        decision = decide_invoice_read(
            self.principal,
            seller_tax_code=invoice.key.seller_tax_code,
            buyer_tax_code=invoice.buyer_tax_code,
            buyer_personal_id=buyer,
            consent=consent,
            now=self.clock(),
        )
        self.ledger.note(invoice_subject(invoice), Domain.INVOICES, field_name, decision)
        return require(decision)

    def seller(self, seller_tax_code: str, field_name: str | None = None) -> Decision:
        """Allow listing the invoices ``seller_tax_code`` sold (the merchant, an officer);
        with ``field_name`` the decision is noted under the seller too."""
        decision = decide_invoice_read(self.principal, seller_tax_code=seller_tax_code)
        if field_name is not None:
            self.ledger.note(seller_tax_code, Domain.INVOICES, field_name, decision)
        return require(decision)

    async def search(self, where: InvoiceFilter, field_name: str) -> tuple[InvoiceFilter, Decision]:
        """``where`` narrowed to what this caller may list, with the decision that allows it.

        Officers search everything, as a workbench read about the party the filter names (else
        ``*``); everyone else lists what they are party to: a merchant its own sales and a
        citizen their purchases when the filter names no party.
        """
        if self.principal.is_officer:
            return where, self.workbench(search_subject(where), field_name)
        if where.flag is not None:
            raise AccessDenied("risk flags are for tax officers", code="FORBIDDEN")
        if where.seller is None and where.buyer is None:
            where = self._own_party(where)
        if where.seller is not None and (self.principal.is_merchant or where.buyer is None):
            return where, self.seller(where.seller, field_name)
        buyer = where.buyer or ""
        if isinstance(parse_taxpayer_id(buyer), PersonalId):
            return where, await self.person(buyer, Domain.INVOICES, field_name)
        decision = decide_invoice_read(self.principal, seller_tax_code="", buyer_tax_code=buyer)
        return where, require(decision)

    def _own_party(self, where: InvoiceFilter) -> InvoiceFilter:
        principal = self.principal
        if principal.is_merchant and principal.tax_code:
            return replace(where, seller=principal.tax_code)
        if principal.is_citizen:
            return replace(where, buyer=principal.subject)
        raise PartyRequired("name the seller or the buyer: only officers search across parties")

    def submitter(self) -> Submitter:
        """The caller as the intake knows it, or raise: a merchant or provider by its tax code,
        an operator by none."""
        require(may_submit(self.principal))
        tax_code = None if self.principal.is_admin else self.principal.tax_code
        return Submitter(tax_code, self.principal.actor)

    def workbench(self, subject: str, field_name: str) -> Decision:
        """Allow an officer's workbench read about ``subject`` (``*`` for many), or raise;
        noted either way, so refusals are audited too."""
        decision = decide_workbench(self.principal)
        self.ledger.note(subject, Domain.INVOICES, field_name, decision)
        return require(decision)

    def note_buyers(
        self, invoices: Iterable[StoredInvoice], decision: Decision, field_name: str
    ) -> None:
        """Invoices bought by people are those people's data: their reads are audited."""
        self.note_people(
            (i.buyer_personal_id for i in invoices if i.buyer_personal_id), decision, field_name
        )

    def note_people(self, subjects: Iterable[str], decision: Decision, field_name: str) -> None:
        """A read across many people is noted once per person, so each sees it in their log."""
        for subject in subjects:
            self.ledger.note(subject, Domain.INVOICES, field_name, decision)

    def masks(self, sensitive: SensitiveField) -> bool:
        return mask_sensitive(self.principal, sensitive.value)

    def invoice_masks(self) -> frozenset[SensitiveField]:
        """The buyer's contact fields this reader must not see in an invoice it may read."""
        return masked_invoice_fields(self.principal)

    async def commit(self) -> None:
        """Append every noted read in one append, then start a fresh ledger.

        Raises ``AuditUnavailable`` when nothing could be written: the caller must not answer.
        """
        records = self.ledger.records(self.principal)
        self.ledger.clear()
        await self._audit.record_many(records)

    async def _decide(self, subject: str, domain: Domain) -> Decision:
        consent = await self._consent(subject, domain)
        return decide_read(self.principal, subject, domain, consent=consent, now=self.clock())

    @property
    def _needs_consent(self) -> bool:
        return self.principal.is_app and bool(self.principal.app_id)

    async def _consent(self, subject: str, domain: Domain) -> ConsentView | None:
        if not self._needs_consent:
            return None
        return await self._consents.active(
            self.principal.app_id, subject, domain, self.clock(), purpose=self.principal.purpose
        )
