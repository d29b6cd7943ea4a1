from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from integrations.access.consents import ConsentStore
from integrations.access.errors import ConsentInvalid, ConsentNotFound
from integrations.access.policy import ConsentState, Domain, decide_read
from integrations.access.principal import Principal, Role
from integrations.store.models import Consent

ME = "079301000123"
SOMEONE = "001199000456"


def soon(days: int = 30) -> datetime:
    return datetime.now(UTC) + timedelta(days=days)


@pytest.fixture
def store(db: None) -> ConsentStore:
    return ConsentStore(max_validity=timedelta(days=90))


async def test_a_granted_consent_is_active_for_its_domains_only(store: ConsentStore) -> None:
    granted = await store.grant(ME, "budget", ["tax", Domain.INVOICES], "budgeting", soon())
    assert granted.domains == {Domain.TAX, Domain.INVOICES}
    active = await store.active("budget", ME, Domain.TAX)
    assert active == granted
    assert await store.active("budget", ME, Domain.PROFILE) is None
    assert await store.active("ads", ME, Domain.TAX) is None
    assert await store.active("budget", SOMEONE, Domain.TAX) is None


async def test_revocation_holds_from_the_next_request(store: ConsentStore) -> None:
    app = Principal("u", Role.APP, app_id="budget", purpose="budgeting")
    granted = await store.grant(ME, "budget", ["tax"], "budgeting", soon())

    async def request() -> bool:
        consent = await store.active("budget", ME, Domain.TAX)
        return decide_read(app, ME, Domain.TAX, consent=consent).allowed

    assert await request()
    revoked = await store.revoke(granted.id, ME)
    assert revoked.revoked_at is not None
    assert not await request()


async def test_history_is_kept_newest_first(store: ConsentStore) -> None:
    start = datetime.now(UTC)
    first = await store.grant(ME, "budget", ["tax"], "budgeting", soon(), now=start)
    second = await store.grant(
        ME, "insurer", ["insurance"], "claims", soon(), now=start + timedelta(seconds=1)
    )
    await store.grant(SOMEONE, "budget", ["tax"], "budgeting", soon())
    await store.revoke(first.id, ME)
    listed = await store.list_for(ME)
    assert [c.id for c in listed] == [second.id, first.id]
    assert listed[1].state(datetime.now(UTC)) is ConsentState.REVOKED
    assert await Consent.all().count() == 3


async def test_revoking_twice_keeps_the_first_time(store: ConsentStore) -> None:
    granted = await store.grant(ME, "budget", ["tax"], "budgeting", soon())
    once = await store.revoke(granted.id, ME, now=datetime.now(UTC) - timedelta(minutes=1))
    twice = await store.revoke(granted.id, ME)
    assert twice.revoked_at == once.revoked_at


@pytest.mark.parametrize("consent_id", ["not-a-uuid", "00000000-0000-0000-0000-000000000000"])
async def test_revoking_an_unknown_consent_is_not_found(
    store: ConsentStore, consent_id: str
) -> None:
    with pytest.raises(ConsentNotFound):
        await store.revoke(consent_id, ME)


async def test_nobody_revokes_another_persons_consent(store: ConsentStore) -> None:
    granted = await store.grant(ME, "budget", ["tax"], "budgeting", soon())
    with pytest.raises(ConsentNotFound):
        await store.revoke(granted.id, SOMEONE)
    assert await store.active("budget", ME, Domain.TAX) is not None


async def test_an_expired_consent_is_not_active(store: ConsentStore) -> None:
    then = datetime.now(UTC) - timedelta(days=2)
    await store.grant(ME, "budget", ["tax"], "budgeting", then + timedelta(days=1), now=then)
    assert await store.active("budget", ME, Domain.TAX) is None


async def test_purpose_narrows_the_search(store: ConsentStore) -> None:
    await store.grant(ME, "budget", ["tax"], "marketing", soon(60))
    wanted = await store.grant(ME, "budget", ["tax"], "budgeting", soon(10))
    assert await store.active("budget", ME, Domain.TAX, purpose="budgeting") == wanted
    assert await store.active("budget", ME, Domain.TAX, purpose="resale") is None


@pytest.mark.parametrize(
    ("subject", "domains", "purpose", "expires", "message"),
    [
        pytest.param(ME, ["tax", "dreams"], "p", soon(), "unknown data domain", id="domain"),
        pytest.param(ME, [], "p", soon(), "at least one", id="no-domain"),
        pytest.param(ME, ["tax"], " ", soon(), "purpose", id="blank-purpose"),
        pytest.param(ME, ["tax"], "p" * 129, soon(), "purpose", id="long-purpose"),
        pytest.param(ME, ["tax"], "p", soon(-1), "future", id="past"),
        pytest.param(ME, ["tax"], "p", soon(91), "at most 90 days", id="too-long"),
        pytest.param(ME, ["tax"], "p", datetime(2099, 1, 1), "time zone", id="naive-expiry"),
        pytest.param("12345", ["tax"], "p", soon(), "subject", id="subject"),
    ],
)
async def test_invalid_grants_are_refused_before_any_write(
    subject: str,
    domains: list[str],
    purpose: str,
    expires: datetime,
    message: str,
) -> None:
    with pytest.raises(ConsentInvalid, match=message) as info:
        # No database is open here: a refusal must come before any query.
        await ConsentStore(max_validity=timedelta(days=90)).grant(
            subject, "budget", domains, purpose, expires
        )
    assert info.value.code == "CONSENT_INVALID"
