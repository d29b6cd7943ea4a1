"""Who may read what in the graph, and the citizen's own controls.

Deny by default: every field that reveals a person's data asks the request's
``integrations.access.AccessSession`` first, directly or through ``guarded``.
``AuditReads`` commits the session's ledger to the access log before the answer leaves, and
answers nothing at all if it cannot (fail closed).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime
from inspect import isawaitable
from typing import TYPE_CHECKING, TypeVar, cast

import strawberry
from graphql.pyutils import AwaitableOrValue
from strawberry.extensions import SchemaExtension

from integrations.access import (
    AccessSession,
    ConsentState,
    ConsentView,
    Domain,
    StoredEvent,
    may_grant_consent,
    require,
)
from integrations.access.audit import encode_cursor as audit_cursor
from integrations.errors import GatewayError
from resolvers.connections import DEFAULT_PAGE, Connection, page_size
from resolvers.errors import to_graphql_error
from resolvers.loaders import app_scope

if TYPE_CHECKING:
    from resolvers.context import Context

T = TypeVar("T")


def context_of(info: strawberry.Info) -> Context:
    """The typed request context (this module cannot import ``Info`` without a cycle)."""
    return cast("Context", info.context)


def refuse(error: GatewayError) -> Exception:
    """``error`` as the GraphQL error a resolver raises: message, code, and service if any."""
    return to_graphql_error(error)


def guarded(
    info: strawberry.Info, subject: str, domain: Domain, read: Callable[[], AwaitableOrValue[T]]
) -> AwaitableOrValue[T]:
    """``read()`` once this field may read ``domain`` of ``subject``; the read is noted either way.

    Answers at once when the request's guard knows the decision without a lookup (every
    caller but an app, or a decision already made), so the field's resolver needs no
    coroutine of its own; otherwise the decision is awaited first.
    """
    access = context_of(info).access
    if access.person_now(subject, domain, info.field_name) is not None:
        return read()
    return _guarded_later(access, subject, domain, info.field_name, read)


async def _guarded_later(
    access: AccessSession,
    subject: str,
    domain: Domain,
    field_name: str,
    read: Callable[[], AwaitableOrValue[T]],
) -> T:
    await access.person(subject, domain, field_name)
    value = read()
    return await value if isawaitable(value) else cast(T, value)


class AuditReads(SchemaExtension):
    """Writes one access-log event per person (and outcome) the operation read, all in one
    append, before the answer leaves; if the log cannot be written, the answer is withheld
    (AUDIT_UNAVAILABLE)."""

    async def on_execute(self) -> AsyncIterator[None]:
        yield
        context = cast("Context", self.execution_context.context)
        result = self.execution_context.result
        try:
            await context.access.commit()
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
