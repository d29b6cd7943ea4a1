"""Consents a citizen grants to apps: recorded, listed, revoked, never deleted.

Revoking sets ``revoked_at`` on the row; the row stays as evidence, and every later question
(``active``) reads the database again, so a revocation holds from the next request on.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

from tortoise.exceptions import BaseORMException

from integrations.access.errors import ConsentInvalid, ConsentNotFound
from integrations.access.policy import ConsentView, Domain
from integrations.errors import IdentityError, StoreError
from integrations.identity import PersonalId
from integrations.store.models import Consent

MAX_TEXT = 128


class ConsentStore:
    """Grant, revoke and look up consents.

    ``max_validity`` caps how far ahead a consent may expire::

        store = ConsentStore(max_validity=timedelta(days=90))
        consent = await store.grant("079301000123", "budget-app", [Domain.TAX], "budgeting",
                                    expires_at=now + timedelta(days=30))
        await store.revoke(consent.id, "079301000123")
    """

    def __init__(self, *, max_validity: timedelta = timedelta(days=365)) -> None:
        self.max_validity = max_validity

    async def grant(
        self,
        subject: str,
        app_id: str,
        domains: Iterable[Domain | str],
        purpose: str,
        expires_at: datetime,
        *,
        now: datetime | None = None,
    ) -> ConsentView:
        """Record a new consent; raise ``ConsentInvalid`` naming the first bad argument."""
        now = now or datetime.now(UTC)
        chosen = _domains(domains)
        _check_grant(subject, app_id, purpose, expires_at, now, self.max_validity)
        async with _store_errors():
            row = await Consent.create(
                id=uuid.uuid4(),
                subject=subject,
                app_id=app_id.strip(),
                domains=sorted(d.value for d in chosen),
                purpose=purpose.strip(),
                granted_at=now,
                expires_at=expires_at,
            )
        return _view(row)

    async def revoke(
        self, consent_id: str, subject: str, *, now: datetime | None = None
    ) -> ConsentView:
        """Revoke one of ``subject``'s consents; revoking twice keeps the first time."""
        now = now or datetime.now(UTC)
        key = _uuid(consent_id)
        async with _store_errors():
            await Consent.filter(id=key, subject=subject, revoked_at=None).update(revoked_at=now)
            row = await Consent.get_or_none(id=key, subject=subject)
        if row is None:
            raise ConsentNotFound(f"no consent {consent_id} of this citizen")
        return _view(row)

    async def list_for(self, subject: str) -> list[ConsentView]:
        """Every consent the citizen ever granted, newest first, revoked and expired included."""
        async with _store_errors():
            rows = await Consent.filter(subject=subject).order_by("-granted_at", "-id")
        return [_view(row) for row in rows]

    async def active(
        self,
        app_id: str,
        subject: str,
        domain: Domain,
        now: datetime | None = None,
        *,
        purpose: str | None = None,
    ) -> ConsentView | None:
        """The consent that lets ``app_id`` read ``domain`` of ``subject`` now, if any.

        With ``purpose``, only a consent for that purpose counts.
        """
        now = now or datetime.now(UTC)
        async with _store_errors():
            query = Consent.filter(
                app_id=app_id, subject=subject, revoked_at=None, expires_at__gt=now
            )
            if purpose is not None:
                query = query.filter(purpose=purpose)
            rows = await query.order_by("-expires_at")
        views = (_view(row) for row in rows)
        return next((v for v in views if v.covers(app_id, subject, domain, now)), None)


def _domains(domains: Iterable[Domain | str]) -> frozenset[Domain]:
    chosen: set[Domain] = set()
    for name in domains:
        try:
            chosen.add(Domain(name))
        except ValueError:
            allowed = ", ".join(d.value for d in Domain)
            raise ConsentInvalid(f"unknown data domain {name!r}; expected {allowed}") from None
    if not chosen:
        raise ConsentInvalid("a consent names at least one data domain")
    return frozenset(chosen)


def _check_grant(
    subject: str,
    app_id: str,
    purpose: str,
    expires_at: datetime,
    now: datetime,
    max_validity: timedelta,
) -> None:
    try:
        PersonalId(subject)
    except IdentityError as exc:
        raise ConsentInvalid(f"subject: {exc.message}") from exc
    for name, value in (("app_id", app_id), ("purpose", purpose)):
        if not value.strip() or len(value.strip()) > MAX_TEXT or not value.isprintable():
            raise ConsentInvalid(f"{name} must be printable text of 1 to {MAX_TEXT} characters")
    if expires_at.tzinfo is None:
        raise ConsentInvalid("expires_at must carry a time zone")
    if expires_at <= now:
        raise ConsentInvalid("expires_at must be in the future")
    if expires_at > now + max_validity:
        raise ConsentInvalid(f"a consent may last at most {max_validity.days} days")


def _uuid(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(text))
    except ValueError:
        raise ConsentNotFound(f"no consent {text}") from None


def _view(row: Consent) -> ConsentView:
    return ConsentView(
        id=str(row.id),
        subject=row.subject,
        app_id=row.app_id,
        domains=frozenset(Domain(d) for d in row.domains),
        purpose=row.purpose,
        granted_at=row.granted_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
    )


@asynccontextmanager
async def _store_errors() -> AsyncIterator[None]:
    try:
        yield
    except (BaseORMException, OSError) as exc:
        raise StoreError(f"consent store unavailable: {exc}") from exc
