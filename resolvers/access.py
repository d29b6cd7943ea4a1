"""Who may read what in the graph, what each request read, and the citizen's own controls.

Deny by default: every field that reveals a person's data asks ``integrations.access.policy``
first, through the per-request ``Access`` guard or the permission classes built on it. Each
decision is noted in the request's ``ReadLedger``; ``AuditReads`` writes the ledger to the
access log before the answer leaves, and answers nothing at all if it cannot (fail closed).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, cast

import strawberry
from strawberry.extensions import SchemaExtension
from strawberry.permission import BasePermission

from integrations.access import (
    AccessDenied,
    AuditRecord,
    ConsentState,
    ConsentStore,
    ConsentView,
    Decision,
    Domain,
    Principal,
    SensitiveField,
    StoredEvent,
    decide_invoice_read,
    decide_read,
    mask_sensitive,
    may_grant_consent,
)
from integrations.access.audit import encode_cursor as audit_cursor
from integrations.errors import GatewayError
from integrations.store.invoices import StoredInvoice
from resolvers.connections import DEFAULT_PAGE, Connection, page_size
from resolvers.errors import to_graphql_error
from resolvers.loaders import app_scope

if TYPE_CHECKING:
    from resolvers.context import Context

Clock = Callable[[], datetime]


def context_of(info: strawberry.Info) -> Context:
    """The typed request context (this module cannot import ``Info`` without a cycle)."""
    return cast("Context", info.context)


def refuse(error: GatewayError) -> Exception:
    """``error`` as the GraphQL error a resolver raises: message, code, and service if any."""
    return to_graphql_error(error)


WORKBENCH_ANYONE = "*"
"""The audit subject of a workbench read across many people and taxpayers."""


def workbench_decision(principal: Principal) -> Decision:
    """The officer workbench (searches, summaries, risk flags): officers only, each request
    with a purpose and a case reference, as the policy asks of every officer read."""
    if not principal.is_officer:
        return Decision(False, "FORBIDDEN", "only tax officers may use the invoice workbench")
    return decide_read(principal, WORKBENCH_ANYONE, Domain.INVOICES, consent=None)


def require(decision: Decision) -> Decision:
    """``decision`` if it allows, else raise its denial with the policy's reason as code."""
    if not decision.allowed:
        raise refuse(AccessDenied.from_decision(decision))
    return decision


@dataclass
class _Reads:
    decision: Decision
    domains: set[str] = field(default_factory=set)
    fields: set[str] = field(default_factory=set)


@dataclass
class ReadLedger:
    """The person reads one request decided, grouped into one audit event per person,
    outcome and consent."""

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


class Access:
    """The guard of one request: decides, notes each decision, and refuses what is denied.

    Decisions are kept per (person, domain) for the request, so an app's consent is looked up
    once however many fields ask.
    """

    def __init__(self, principal: Principal, consents: ConsentStore, clock: Clock) -> None:
        self.principal = principal
        self.ledger = ReadLedger()
        self._consents = consents
        self._clock = clock
        self._decided: dict[tuple[str, Domain], asyncio.Future[Decision]] = {}

    async def person(self, subject: str, domain: Domain, field_name: str) -> Decision:
        """Allow reading ``domain`` of ``subject`` for ``field_name``, or raise the denial."""
        key = (subject, domain)
        if key not in self._decided:
            self._decided[key] = asyncio.ensure_future(self._decide(subject, domain))
        decision = await self._decided[key]
        self.ledger.note(subject, domain, field_name, decision)
        return require(decision)

    async def invoice(self, invoice: StoredInvoice, field_name: str) -> None:
        """Allow reading one invoice (its buyer's purchase, if a person), or raise."""
        buyer = invoice.buyer_personal_id
        consent = await self._consent(buyer, Domain.INVOICES) if buyer else None
        decision = decide_invoice_read(
            self.principal,
            seller_tax_code=invoice.key.seller_tax_code,
            buyer_tax_code=invoice.buyer_tax_code,
            buyer_personal_id=buyer,
            consent=consent,
            now=self._clock(),
        )
        self.note_buyers([invoice], decision, field_name)
        require(decision)

    def seller(self, seller_tax_code: str) -> Decision:
        """Allow listing the invoices ``seller_tax_code`` sold (the merchant, an officer)."""
        return require(decide_invoice_read(self.principal, seller_tax_code=seller_tax_code))

    def workbench(self, subject: str, field_name: str) -> Decision:
        """Allow an officer's workbench read about ``subject`` (``*`` for many), or raise;
        noted either way, so refusals are audited too."""
        decision = workbench_decision(self.principal)
        self.ledger.note(subject, Domain.INVOICES, field_name, decision)
        return require(decision)

    def note_buyers(
        self, invoices: Iterable[StoredInvoice], decision: Decision, field_name: str
    ) -> None:
        """Invoices bought by people are those people's data: their reads are audited."""
        for invoice in invoices:
            if invoice.buyer_personal_id:
                self.ledger.note(invoice.buyer_personal_id, Domain.INVOICES, field_name, decision)

    def masks(self, sensitive: SensitiveField) -> bool:
        return mask_sensitive(self.principal, sensitive.value)

    async def _decide(self, subject: str, domain: Domain) -> Decision:
        consent = await self._consent(subject, domain)
        return decide_read(self.principal, subject, domain, consent=consent, now=self._clock())

    async def _consent(self, subject: str, domain: Domain) -> ConsentView | None:
        if not self.principal.is_app or not self.principal.app_id:
            return None
        try:
            return await self._consents.active(
                self.principal.app_id,
                subject,
                domain,
                self._clock(),
                purpose=self.principal.purpose,
            )
        except GatewayError as exc:
            raise refuse(exc) from exc


class ReadsPersonDomain(BasePermission):
    """Lets a field of a person node (``source.id_number``) through if its domain may be read."""

    domain: ClassVar[Domain]

    async def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        await context_of(info).access.person(source.id_number, self.domain, info.field_name)
        return True


class ReadsProfile(ReadsPersonDomain):
    domain = Domain.PROFILE


class ReadsTax(ReadsPersonDomain):
    domain = Domain.TAX


class ReadsInvoices(ReadsPersonDomain):
    domain = Domain.INVOICES


class ReadsInsurance(ReadsPersonDomain):
    domain = Domain.INSURANCE


class ReadsUtilities(ReadsPersonDomain):
    domain = Domain.UTILITIES


class AuditReads(SchemaExtension):
    """Writes one access-log event per person (and outcome) the operation read, all in one
    append, before the answer leaves; if the log cannot be written, the answer is withheld
    (AUDIT_UNAVAILABLE)."""

    async def on_execute(self) -> AsyncIterator[None]:
        yield
        context = cast("Context", self.execution_context.context)
        result = self.execution_context.result
        try:
            await context.audit.record_many(context.access.ledger.records(context.principal))
        except GatewayError as exc:
            if result is not None:
                result.data = None
                result.errors = [refuse(exc)]  # type: ignore[list-item]


strawberry.enum(Domain, name="DataDomain", description="A domain of a person's data.")
strawberry.enum(ConsentState, name="ConsentState")


@strawberry.input(description="What a citizen lets one app read, for which purpose, until when.")
class GrantConsentInput:
    app_id: str
    domains: list[Domain]
    purpose: str
    expires_at: datetime


@strawberry.type(description="A citizen's consent to one app; revoked consents stay listed.")
class Consent:
    id: strawberry.ID
    app_id: str
    domains: list[Domain]
    purpose: str
    granted_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    state: ConsentState

    @classmethod
    def of(cls, view: ConsentView, now: datetime) -> Consent:
        return cls(
            id=strawberry.ID(view.id),
            app_id=view.app_id,
            domains=sorted(view.domains),
            purpose=view.purpose,
            granted_at=view.granted_at,
            expires_at=view.expires_at,
            revoked_at=view.revoked_at,
            state=view.state(now),
        )


@strawberry.type(description="One read of the citizen's data: who, why, what, and whether allowed.")
class AccessEvent:
    at: datetime
    reader: str
    role: str
    purpose: str
    domains: list[str]
    fields: list[str]
    outcome: str
    consent_id: str | None

    @classmethod
    def of(cls, event: StoredEvent) -> AccessEvent:
        return cls(
            at=event.at,
            reader=event.principal,
            role=event.role,
            purpose=event.purpose,
            domains=list(event.domains),
            fields=list(event.fields),
            outcome=event.outcome,
            consent_id=event.consent_id,
        )


def _citizen(context: Context) -> str:
    """The caller's own ID number; only a citizen manages consents and reads their log."""
    principal = context.principal
    require(may_grant_consent(principal, principal.subject, ()))
    return principal.subject


async def my_data_access_log(
    info: strawberry.Info, first: int = DEFAULT_PAGE, after: str | None = None
) -> Connection[AccessEvent]:
    """Who read my data, newest first (the case reference of an officer's read is withheld)."""
    context = context_of(info)
    subject = _citizen(context)
    try:
        page = await context.audit.for_subject(subject, page_size(first), after)
    except GatewayError as exc:
        raise refuse(exc) from exc
    return Connection.of(
        [(AccessEvent.of(event), audit_cursor(event.id)) for event in page.events],
        has_next=page.has_next_page,
        has_previous=after is not None,
    )


async def grant_consent(info: strawberry.Info, input: GrantConsentInput) -> Consent:
    """Let an app read some of my data for a purpose, until a time."""
    context = context_of(info)
    subject = context.principal.subject
    require(may_grant_consent(context.principal, subject, input.domains))
    now = context.clock()
    try:
        view = await context.consents.grant(
            subject, input.app_id, input.domains, input.purpose, input.expires_at, now=now
        )
    except GatewayError as exc:
        raise refuse(exc) from exc
    return Consent.of(view, now)


async def revoke_consent(info: strawberry.Info, id: strawberry.ID) -> Consent:
    """Withdraw a consent from the next request on; the app's cached reads are dropped."""
    context = context_of(info)
    subject = _citizen(context)
    now = context.clock()
    try:
        view = await context.consents.revoke(str(id), subject, now=now)
    except GatewayError as exc:
        raise refuse(exc) from exc
    context.upstreams.forget(app_scope(view.app_id, view.purpose))
    return Consent.of(view, now)
