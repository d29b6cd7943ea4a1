from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from integrations.access.policy import (
    ConsentState,
    ConsentView,
    Domain,
    decide_invoice_read,
    decide_read,
    mask_sensitive,
    may_administer,
    may_grant_consent,
    may_submit_for,
)
from integrations.access.principal import Principal, Role

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
ME = "079301000123"
SOMEONE = "001199000456"
SHOP = "0100109106"
SHOP_BRANCH = "0100109106-001"
PROVIDER = "0312345673"

citizen = Principal(ME, Role.CITIZEN, assurance_level=2)
citizen_loa1 = Principal(ME, Role.CITIZEN, assurance_level=1)
app = Principal("user-9", Role.APP, app_id="budget", purpose="budgeting")
app_no_purpose = Principal("user-9", Role.APP, app_id="budget")
other_app = Principal("user-9", Role.APP, app_id="ads", purpose="budgeting")
officer = Principal("off-1", Role.OFFICER, purpose="audit", case_ref="TT-17")
officer_no_purpose = Principal("off-1", Role.OFFICER, case_ref="TT-17")
officer_no_case = Principal("off-1", Role.OFFICER, purpose="audit")
merchant = Principal("m-1", Role.MERCHANT, tax_code=SHOP)
admin = Principal("root", Role.ADMIN)


def consent(**changes: object) -> ConsentView:
    values: dict[str, object] = {
        "id": "c-1",
        "subject": ME,
        "app_id": "budget",
        "domains": frozenset({Domain.TAX, Domain.INVOICES}),
        "purpose": "budgeting",
        "granted_at": NOW - timedelta(days=1),
        "expires_at": NOW + timedelta(days=30),
    }
    return ConsentView(**{**values, **changes})  # type: ignore[arg-type]


MATRIX = [
    pytest.param(citizen, ME, Domain.PROFILE, None, "ALLOWED", id="citizen-own-profile"),
    pytest.param(citizen, ME, Domain.INSURANCE, None, "ALLOWED", id="citizen-loa2-insurance"),
    pytest.param(citizen, SOMEONE, Domain.PROFILE, None, "FORBIDDEN", id="citizen-other-person"),
    pytest.param(citizen_loa1, ME, Domain.TAX, None, "ALLOWED", id="citizen-loa1-tax"),
    pytest.param(
        citizen_loa1, ME, Domain.INVOICES, None, "ASSURANCE_TOO_LOW", id="citizen-loa1-invoices"
    ),
    pytest.param(
        citizen_loa1, ME, Domain.UTILITIES, None, "ASSURANCE_TOO_LOW", id="citizen-loa1-utilities"
    ),
    pytest.param(app, ME, Domain.TAX, consent(), "ALLOWED", id="app-with-consent"),
    pytest.param(app, ME, Domain.TAX, None, "CONSENT_REQUIRED", id="app-without-consent"),
    pytest.param(
        app, ME, Domain.PROFILE, consent(), "CONSENT_REQUIRED", id="app-domain-not-consented"
    ),
    pytest.param(
        app, SOMEONE, Domain.TAX, consent(), "CONSENT_REQUIRED", id="app-consent-other-person"
    ),
    pytest.param(
        app,
        ME,
        Domain.TAX,
        consent(expires_at=NOW),
        "CONSENT_REQUIRED",
        id="app-consent-expired",
    ),
    pytest.param(
        app,
        ME,
        Domain.TAX,
        consent(revoked_at=NOW - timedelta(seconds=1)),
        "CONSENT_REQUIRED",
        id="app-consent-revoked",
    ),
    pytest.param(
        app,
        ME,
        Domain.TAX,
        consent(purpose="marketing"),
        "CONSENT_REQUIRED",
        id="app-consent-other-purpose",
    ),
    pytest.param(
        other_app, ME, Domain.TAX, consent(), "CONSENT_REQUIRED", id="app-consent-of-other-app"
    ),
    pytest.param(
        app_no_purpose, ME, Domain.TAX, consent(), "PURPOSE_REQUIRED", id="app-without-purpose"
    ),
    pytest.param(officer, SOMEONE, Domain.INSURANCE, None, "ALLOWED", id="officer-with-case"),
    pytest.param(
        officer_no_purpose, SOMEONE, Domain.TAX, None, "PURPOSE_REQUIRED", id="officer-no-purpose"
    ),
    pytest.param(
        officer_no_case, SOMEONE, Domain.TAX, None, "CASE_REF_REQUIRED", id="officer-no-case"
    ),
    pytest.param(merchant, ME, Domain.PROFILE, None, "FORBIDDEN", id="merchant-reads-person"),
    pytest.param(admin, ME, Domain.PROFILE, None, "FORBIDDEN", id="admin-reads-person"),
]


@pytest.mark.parametrize(("principal", "subject", "domain", "given", "reason"), MATRIX)
def test_read_matrix(
    principal: Principal, subject: str, domain: Domain, given: ConsentView | None, reason: str
) -> None:
    decision = decide_read(principal, subject, domain, consent=given, now=NOW)
    assert decision.reason == reason
    assert decision.allowed is (reason == "ALLOWED")
    assert bool(decision) is decision.allowed


def test_an_allowed_app_read_cites_its_consent() -> None:
    assert decide_read(app, ME, Domain.TAX, consent=consent(), now=NOW).consent_id == "c-1"


def test_a_denial_says_how_to_fix_it() -> None:
    decision = decide_read(app, ME, Domain.TAX, consent=None, now=NOW)
    assert "consent" in decision.hint


@pytest.mark.parametrize(
    ("at", "state"),
    [
        pytest.param(NOW, ConsentState.ACTIVE, id="active"),
        pytest.param(NOW + timedelta(days=30), ConsentState.EXPIRED, id="expired"),
    ],
)
def test_consent_state(at: datetime, state: ConsentState) -> None:
    assert consent().state(at) is state
    assert consent(revoked_at=NOW).state(NOW) is ConsentState.REVOKED


SCOPED = Principal("off-2", Role.OFFICER, scopes=frozenset({"read:phone"}))
ALL_SCOPES = Principal("off-3", Role.OFFICER, scopes=frozenset({"read:sensitive"}))


@pytest.mark.parametrize(
    ("principal", "field", "masked"),
    [
        pytest.param(citizen, "phone", False, id="citizen-own-phone"),
        pytest.param(officer, "phone", True, id="officer-without-scope"),
        pytest.param(SCOPED, "phone", False, id="officer-with-phone-scope"),
        pytest.param(SCOPED, "bank_account", True, id="officer-scope-is-per-field"),
        pytest.param(ALL_SCOPES, "email", False, id="officer-with-all-sensitive"),
        pytest.param(app, "email", True, id="app-sees-masked"),
        pytest.param(app, "fullName", False, id="ordinary-field"),
    ],
)
def test_masking(principal: Principal, field: str, masked: bool) -> None:
    assert mask_sensitive(principal, field) is masked


@pytest.mark.parametrize(
    ("principal", "seller", "grants", "reason"),
    [
        pytest.param(merchant, SHOP, (), "ALLOWED", id="as-itself"),
        pytest.param(merchant, " 0100109106 ", (), "ALLOWED", id="as-itself-untrimmed"),
        pytest.param(merchant, PROVIDER, (), "4006", id="for-another-seller"),
        pytest.param(
            Principal("p", Role.MERCHANT, tax_code=PROVIDER),
            SHOP,
            (PROVIDER,),
            "ALLOWED",
            id="registered-provider",
        ),
        pytest.param(
            Principal("p", Role.MERCHANT, tax_code=PROVIDER),
            SHOP,
            (),
            "4006",
            id="unregistered-provider",
        ),
        pytest.param(citizen, SHOP, (), "FORBIDDEN", id="citizen"),
        pytest.param(officer, SHOP, (), "FORBIDDEN", id="officer"),
    ],
)
def test_submission(
    principal: Principal, seller: str, grants: tuple[str, ...], reason: str
) -> None:
    assert may_submit_for(principal, seller, grants).reason == reason


@pytest.mark.parametrize(
    ("principal", "seller", "buyer", "buyer_id", "reason"),
    [
        pytest.param(merchant, SHOP, None, None, "ALLOWED", id="merchant-sold"),
        pytest.param(merchant, PROVIDER, SHOP, None, "ALLOWED", id="merchant-bought"),
        pytest.param(merchant, SHOP_BRANCH, None, None, "ALLOWED", id="enterprise-reads-branch"),
        pytest.param(
            Principal("b", Role.MERCHANT, tax_code=SHOP_BRANCH),
            SHOP,
            None,
            None,
            "FORBIDDEN",
            id="branch-reads-parent",
        ),
        pytest.param(merchant, PROVIDER, None, ME, "FORBIDDEN", id="merchant-other-invoice"),
        pytest.param(citizen, SHOP, None, ME, "ALLOWED", id="citizen-own-purchase"),
        pytest.param(citizen_loa1, SHOP, None, ME, "ASSURANCE_TOO_LOW", id="citizen-loa1"),
        pytest.param(citizen, SHOP, None, SOMEONE, "FORBIDDEN", id="citizen-other-purchase"),
        pytest.param(citizen, SHOP, None, None, "FORBIDDEN", id="citizen-b2b-invoice"),
        pytest.param(officer, SHOP, None, None, "ALLOWED", id="officer"),
        pytest.param(officer_no_case, SHOP, None, None, "CASE_REF_REQUIRED", id="officer-no-case"),
    ],
)
def test_invoice_read(
    principal: Principal, seller: str, buyer: str | None, buyer_id: str | None, reason: str
) -> None:
    decision = decide_invoice_read(
        principal, seller_tax_code=seller, buyer_tax_code=buyer, buyer_personal_id=buyer_id
    )
    assert decision.reason == reason


def test_invoice_read_by_app_needs_consent_for_invoices() -> None:
    kwargs = {"seller_tax_code": SHOP, "buyer_personal_id": ME, "now": NOW}
    assert decide_invoice_read(app, consent=consent(), **kwargs).allowed  # type: ignore[arg-type]
    tax_only = consent(domains=frozenset({Domain.TAX}))
    assert not decide_invoice_read(app, consent=tax_only, **kwargs).allowed  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("principal", "domains", "reason"),
    [
        pytest.param(citizen, [Domain.INSURANCE], "ALLOWED", id="loa2-sensitive"),
        pytest.param(citizen_loa1, [Domain.TAX], "ALLOWED", id="loa1-plain"),
        pytest.param(citizen_loa1, [Domain.TAX, Domain.UTILITIES], "ASSURANCE_TOO_LOW", id="loa1"),
        pytest.param(Principal(SOMEONE, Role.CITIZEN), [Domain.TAX], "FORBIDDEN", id="not-own"),
        pytest.param(app, [Domain.TAX], "FORBIDDEN", id="app"),
        pytest.param(officer, [Domain.TAX], "FORBIDDEN", id="officer"),
    ],
)
def test_granting_consent(principal: Principal, domains: list[Domain], reason: str) -> None:
    assert may_grant_consent(principal, ME, domains).reason == reason


def test_only_admins_administer() -> None:
    assert may_administer(admin).allowed
    assert [may_administer(p).reason for p in (citizen, app, merchant, officer)] == [
        "FORBIDDEN"
    ] * 4
