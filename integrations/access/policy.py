"""Who may read or submit what: pure decisions, denied unless a rule allows.

Nothing here does I/O. Callers fetch what a decision needs (the app's consent, the seller's
registered providers), ask, then record the outcome in the audit log.

Sensitive domains need identity assurance level 2 when a citizen reads them or grants an app
access to them: ``insurance`` (insurance transactions are sensitive under Decree 356),
``utilities`` (telecom and metering data track behaviour) and ``invoices`` (supermarket and
hotel lines tied to an ID number reveal private life). Profile and tax registry data do not.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Final

from integrations.access.principal import Principal, Role
from integrations.einvoice.codes import SUBMITTER_NOT_AUTHORISED
from integrations.errors import IdentityError
from integrations.identity import TaxCode


class Domain(StrEnum):
    PROFILE = "profile"
    TAX = "tax"
    INVOICES = "invoices"
    INSURANCE = "insurance"
    UTILITIES = "utilities"


SENSITIVE_DOMAINS: Final = frozenset({Domain.INVOICES, Domain.INSURANCE, Domain.UTILITIES})
REQUIRED_ASSURANCE: Final = 2


class SensitiveField(StrEnum):
    """Fields masked unless the reader is the person or an officer holding the field's scope."""

    BANK_ACCOUNT = "bank_account"
    PHONE = "phone"
    EMAIL = "email"


ALL_SENSITIVE_SCOPE: Final = "read:sensitive"


def scope_for(field: SensitiveField) -> str:
    """The officer scope that unmasks one field, e.g. ``read:phone``."""
    return f"read:{field.value}"


class ConsentState(StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"


@dataclass(frozen=True, slots=True)
class ConsentView:
    """A consent as recorded: a citizen lets one app read some domains for one purpose."""

    id: str
    subject: str
    app_id: str
    domains: frozenset[Domain]
    purpose: str
    granted_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None

    def state(self, now: datetime) -> ConsentState:
        if self.revoked_at is not None and self.revoked_at <= now:
            return ConsentState.REVOKED
        if now >= self.expires_at:
            return ConsentState.EXPIRED
        return ConsentState.ACTIVE

    def covers(self, app_id: str, subject: str, domain: Domain, now: datetime) -> bool:
        return (
            self.app_id == app_id
            and self.subject == subject
            and domain in self.domains
            and self.state(now) is ConsentState.ACTIVE
        )


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer to one question; ``reason`` is the stable code a denial is reported with."""

    allowed: bool
    reason: str = "ALLOWED"
    message: str = ""
    hint: str = ""
    consent_id: str | None = None

    def __bool__(self) -> bool:
        return self.allowed


ALLOW: Final = Decision(True)


def _deny(reason: str, message: str, hint: str = "") -> Decision:
    return Decision(False, reason, message, hint)


def _forbidden(principal: Principal, what: str) -> Decision:
    return _deny("FORBIDDEN", f"a {principal.role.value} may not {what}")


def _now(now: datetime | None) -> datetime:
    return now if now is not None else datetime.now(UTC)


def decide_read(
    principal: Principal,
    subject_id: str,
    domain: Domain,
    *,
    consent: ConsentView | None,
    now: datetime | None = None,
) -> Decision:
    """May ``principal`` read ``domain`` of the person ``subject_id``?

    ``consent`` is the app's active consent for this person and domain (``ConsentStore.active``);
    it is ignored for every other role.
    """
    if principal.role is Role.CITIZEN:
        return _citizen_read(principal, subject_id, domain)
    if principal.role is Role.APP:
        return _app_read(principal, subject_id, domain, consent, _now(now))
    if principal.role is Role.OFFICER:
        return _officer_context(principal)
    return _forbidden(principal, "read a person's data")


def _citizen_read(principal: Principal, subject_id: str, domain: Domain) -> Decision:
    if principal.subject != subject_id:
        return _deny("FORBIDDEN", "a citizen may read only their own data")
    if domain in SENSITIVE_DOMAINS and principal.assurance_level < REQUIRED_ASSURANCE:
        return _deny(
            "ASSURANCE_TOO_LOW",
            f"{domain.value} data needs identity assurance level {REQUIRED_ASSURANCE}",
            "Sign in again with the stronger method (chip ID card or level-2 eID).",
        )
    return ALLOW


def _app_read(
    principal: Principal,
    subject_id: str,
    domain: Domain,
    consent: ConsentView | None,
    now: datetime,
) -> Decision:
    if not principal.purpose:
        return _deny(
            "PURPOSE_REQUIRED",
            "an app must state the purpose of its request",
            "Send X-Purpose with the purpose the citizen consented to.",
        )
    hint = "Ask the citizen to grant consent for this app, domain and purpose."
    if consent is None or not consent.covers(principal.app_id or "", subject_id, domain, now):
        return _deny("CONSENT_REQUIRED", f"no active consent covers {domain.value} data", hint)
    if consent.purpose != principal.purpose:
        message = f"the consent covers the purpose {consent.purpose!r}, not {principal.purpose!r}"
        return _deny("CONSENT_REQUIRED", message, hint)
    return Decision(True, consent_id=consent.id)


def _officer_context(principal: Principal) -> Decision:
    if not principal.purpose:
        return _deny(
            "PURPOSE_REQUIRED",
            "an officer must state the purpose of every request",
            "Send X-Purpose (or the GraphQL extension 'purpose').",
        )
    if not principal.case_ref:
        return _deny(
            "CASE_REF_REQUIRED",
            "an officer must cite a case reference on every request",
            "Send X-Case-Ref (or the GraphQL extension 'caseRef').",
        )
    return ALLOW


WORKBENCH_ANYONE: Final = "*"
"""The audit subject of a workbench read across many people and taxpayers."""


def decide_workbench(principal: Principal) -> Decision:
    """The officer workbench (searches, summaries, risk flags, exports): officers only, each
    request with a purpose and a case reference, as every officer read."""
    if not principal.is_officer:
        return _deny("FORBIDDEN", "only tax officers may use the invoice workbench")
    return _officer_context(principal)


def mask_sensitive(principal: Principal, field: str) -> bool:
    """Whether ``field`` must be masked for this reader (True means hide it).

    Called only after ``decide_read`` allowed the read, so a citizen here reads their own data.
    """
    try:
        sensitive = SensitiveField(field)
    except ValueError:
        return False
    if principal.role is Role.CITIZEN:
        return False
    if principal.role is Role.OFFICER:
        return not (
            principal.has_scope(ALL_SENSITIVE_SCOPE) or principal.has_scope(scope_for(sensitive))
        )
    return True


def masked_invoice_fields(principal: Principal) -> frozenset[SensitiveField]:
    """The buyer's contact fields hidden from this reader of an invoice already allowed.

    The parties (a merchant selling or buying, the citizen buying) see the invoice as issued;
    an officer sees what the scopes unmask, an app nothing sensitive.
    """
    if principal.role in (Role.MERCHANT, Role.CITIZEN):
        return frozenset()
    return frozenset(f for f in SensitiveField if mask_sensitive(principal, f.value))


def may_grant_consent(principal: Principal, subject_id: str, domains: Iterable[Domain]) -> Decision:
    """Only the person may grant consent over their data; sensitive domains need level 2."""
    if principal.role is not Role.CITIZEN or principal.subject != subject_id:
        return _deny("FORBIDDEN", "only the citizen may grant or revoke consent over their data")
    sensitive = sorted(d.value for d in set(domains) & SENSITIVE_DOMAINS)
    if sensitive and principal.assurance_level < REQUIRED_ASSURANCE:
        return _deny(
            "ASSURANCE_TOO_LOW",
            f"granting {', '.join(sensitive)} needs identity assurance level {REQUIRED_ASSURANCE}",
            "Sign in again with the stronger method (chip ID card or level-2 eID).",
        )
    return ALLOW


def may_administer(principal: Principal) -> Decision:
    """Registry operations (merchants, providers, certificates) are for admins only."""
    if principal.role is Role.ADMIN:
        return ALLOW
    return _forbidden(principal, "change the registries")


def may_submit(principal: Principal) -> Decision:
    """Who hands invoices in at all: merchants and their providers (by their tax code), and
    operators; whose invoices each may submit is the intake's registry check."""
    if principal.role is Role.ADMIN or (principal.role is Role.MERCHANT and principal.tax_code):
        return ALLOW
    return _deny("FORBIDDEN", "only merchants, their providers and operators submit invoices")


def may_submit_for(
    principal: Principal, seller_tax_code: str, provider_grants: Collection[str] = ()
) -> Decision:
    """May a merchant submit invoices of ``seller_tax_code``?

    Yes as the seller itself, or as a provider whose tax code is in ``provider_grants`` (the
    providers registered with ``can_submit`` for that seller). The denial code is intake code
    4006, so the intake can report it as a finding.
    """
    if principal.role is not Role.MERCHANT or not principal.tax_code:
        return _forbidden(principal, "submit invoices")
    own = _tax_code(principal.tax_code)
    if own is not None and (own == _tax_code(seller_tax_code) or _granted(own, provider_grants)):
        return ALLOW
    return _deny(
        SUBMITTER_NOT_AUTHORISED.code,
        f"{principal.tax_code} may not submit invoices for {seller_tax_code}",
        SUBMITTER_NOT_AUTHORISED.hint,
    )


def _granted(own: TaxCode, provider_grants: Collection[str]) -> bool:
    return any(own == _tax_code(grant) for grant in provider_grants)


def decide_invoice_read(
    principal: Principal,
    *,
    seller_tax_code: str,
    buyer_tax_code: str | None = None,
    buyer_personal_id: str | None = None,
    consent: ConsentView | None = None,
    now: datetime | None = None,
) -> Decision:
    """May ``principal`` read one invoice?

    A merchant reads invoices it sold or bought (an enterprise also those of its branches).
    A person's purchases (``buyer_personal_id``) follow ``decide_read`` on the invoices domain;
    an officer reads any invoice with a purpose and a case reference.
    """
    if principal.role is Role.MERCHANT:
        parties = (seller_tax_code, buyer_tax_code)
        if any(_belongs_to(principal, party) for party in parties if party):
            return ALLOW
        return _deny("FORBIDDEN", "a merchant may read only invoices it sold or bought")
    if principal.role is Role.OFFICER:
        return _officer_context(principal)
    if buyer_personal_id is not None:
        return decide_read(principal, buyer_personal_id, Domain.INVOICES, consent=consent, now=now)
    return _forbidden(principal, "read this invoice")


def _belongs_to(principal: Principal, party: str) -> bool:
    own, other = _tax_code(principal.tax_code or ""), _tax_code(party)
    if own is None or other is None:
        return False
    return own == other or (own.branch is None and other.parent == own.parent)


def _tax_code(text: str) -> TaxCode | None:
    try:
        return TaxCode(text)
    except IdentityError:
        return None
