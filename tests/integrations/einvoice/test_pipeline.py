from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree

from integrations.cpu import CpuPool
from integrations.einvoice.batches import MessageIntake
from integrations.einvoice.checks import Checker
from integrations.einvoice.compose import PartyDraft, RelatedDraft, compose_invoice, compose_message
from integrations.einvoice.events import DuplicateAttempt
from integrations.einvoice.link import IdentityLinker
from integrations.einvoice.pipeline import Intake, IntakeResult, Outcome, Submitter
from integrations.einvoice.pki import SignerIdentity
from integrations.einvoice.receipts import ReceiptSigner
from integrations.einvoice.schema import Schemas, default_xsd_dir
from integrations.einvoice.signature import (
    SignaturePolicy,
    TrustStore,
    verify_authority_signature,
    verify_invoice_signature,
)
from integrations.einvoice.signing import sign_envelope
from integrations.errors import UpstreamUnavailable
from integrations.store.invoices import InvoiceStore, StoredInvoice
from integrations.store.merchants import MerchantRegistry, RegistryError
from integrations.store.messages import MessageStore
from integrations.store.models import (
    IdentityLink,
    Invoice,
    InvoiceStatus,
    LinkState,
    MerchantStatus,
)
from tests.support.invoices import (
    BUYER_ID,
    HOTEL,
    PROVIDER,
    RESTAURANT,
    Keys,
    draft,
    relabel,
    signed,
)

pytestmark = pytest.mark.usefixtures("db")
RESTAURANT_SUBMITS = Submitter(RESTAURANT)


class Registry:
    """A tax registry stand-in for the legacy-code lookup: answers, or fails like an outage."""

    def __init__(self, mapping: dict[str, str | None], *, down: bool = False) -> None:
        self.mapping = mapping
        self.down = down

    async def __call__(self, codes: Sequence[str]) -> dict[str, str | None]:
        if self.down:
            raise UpstreamUnavailable("tax", "connection refused")
        return {code: self.mapping.get(code) for code in codes}


@pytest.fixture(scope="module")
def schemas() -> Schemas:
    return Schemas(default_xsd_dir())


@pytest.fixture
async def intake(intake_keys: Keys, schemas: Schemas) -> AsyncIterator[Intake]:
    registry = MerchantRegistry()
    await registry.add(RESTAURANT, "Nhà hàng Sen Hồ Tây", kind="restaurant")
    await registry.add(HOTEL, "Khách sạn Sông Sài Gòn", kind="hotel")
    cpu = CpuPool()
    trust = TrustStore.from_files([intake_keys.anchor_file], [intake_keys.crl_file])
    yield Intake(
        checker=Checker(schemas=schemas, trust=trust),
        registry=registry,
        store=InvoiceStore(),
        linker=IdentityLinker(Registry({"8012345677": BUYER_ID, "0313032391": None})),
        signer=ReceiptSigner(intake_keys.gateway),
        cpu=cpu,
    )
    cpu.close()


async def submit(intake: Intake, raw: bytes, submitter: Submitter = RESTAURANT_SUBMITS):
    return await intake.submit_invoice(raw, "application/xml", submitter)


async def test_coded_invoice_is_stored_stamped_and_receipted(
    intake: Intake, intake_keys: Keys
) -> None:
    raw = signed(draft(1), intake_keys.restaurant)
    result = await submit(intake, raw)
    assert result.outcome is Outcome.ACCEPTED, result.findings
    assert result.invoice is not None
    code = result.invoice.tax_authority_code
    assert code is not None
    assert len(code) == 34
    assert code.startswith("00")
    assert await intake.store.original(result.invoice.id) == raw
    stamped = await intake.store.stamped(result.invoice.id)
    assert stamped is not None
    root = etree.fromstring(stamped)
    assert root.findtext("MCCQT") == code
    now = datetime.now(UTC)
    seller_trust = TrustStore([intake_keys.ca.certificate])
    assert verify_invoice_signature(root, seller_trust, SignaturePolicy(), now=now).ok
    assert verify_authority_signature(root, seller_trust, SignaturePolicy(), now=now).ok
    assert intake.signer.verify(result.receipt)
    assert result.receipt["sha256"] == hashlib.sha256(raw).hexdigest()
    links = await IdentityLink.filter(invoice_id=result.invoice.id).order_by("role")
    assert [(link.role, link.subject) for link in links] == [
        ("buyer", BUYER_ID),
        ("seller", RESTAURANT),
    ]


async def test_uncoded_invoice_gets_no_code(intake: Intake, intake_keys: Keys) -> None:
    result = await submit(intake, signed(draft(2, coded=False), intake_keys.restaurant))
    assert result.outcome is Outcome.ACCEPTED
    assert result.invoice.tax_authority_code is None
    assert result.stamped is None


async def test_exact_replay_answers_the_original_receipt(intake: Intake, intake_keys: Keys) -> None:
    raw = signed(draft(3), intake_keys.restaurant)
    first = await submit(intake, raw)
    again = await submit(intake, raw)
    assert again.outcome is Outcome.REPLAYED
    assert again.receipt == first.receipt
    assert await Invoice.all().count() == 1


async def test_same_key_other_content_conflicts_with_the_original(
    intake: Intake, intake_keys: Keys
) -> None:
    first = await submit(intake, signed(draft(4), intake_keys.restaurant))
    other = await submit(intake, signed(draft(4, quantity=5), intake_keys.restaurant))
    assert other.outcome is Outcome.CONFLICT
    assert other.conflict.id == first.invoice.id
    assert other.findings[-1].code == "5013"
    assert first.invoice.sha256 in other.findings[-1].message
    assert await Invoice.all().count() == 1


async def test_concurrent_duplicates_store_exactly_one(intake: Intake, intake_keys: Keys) -> None:
    raws = [signed(draft(5, quantity=q), intake_keys.restaurant) for q in (1, 2, 3, 4)]
    results = await asyncio.gather(*(submit(intake, raw) for raw in [*raws, *raws]))
    outcomes = [r.outcome for r in results]
    assert outcomes.count(Outcome.ACCEPTED) == 1
    assert set(outcomes) <= {Outcome.ACCEPTED, Outcome.REPLAYED, Outcome.CONFLICT}
    assert await Invoice.filter(number=5).count() == 1


@pytest.mark.parametrize(
    ("case", "code"),
    [
        pytest.param("unknown-seller", "4004", id="unknown-seller"),
        pytest.param("inactive-seller", "4005", id="inactive-seller"),
        pytest.param("other-tax-code-certificate", "2009", id="other-certificate"),
        pytest.param("revoked-certificate", "2008", id="revoked"),
        pytest.param("submitter-not-entitled", "4006", id="submitter"),
        pytest.param("amounts-changed-after-signing", "2002", id="tampered"),
    ],
)
async def test_rejections_store_nothing(
    intake: Intake, intake_keys: Keys, case: str, code: str
) -> None:
    submitter = RESTAURANT_SUBMITS
    raw = signed(draft(6), intake_keys.restaurant)
    if case == "unknown-seller":
        raw = signed(draft(6, seller="0401486901"), intake_keys.restaurant)
    elif case == "inactive-seller":
        await intake.registry.set_status(RESTAURANT, MerchantStatus.SUSPENDED)
    elif case == "other-tax-code-certificate":
        raw = signed(draft(6), intake_keys.hotel)
    elif case == "revoked-certificate":
        raw = signed(draft(6), intake_keys.revoked)
    elif case == "submitter-not-entitled":
        submitter = Submitter(HOTEL)
    else:
        raw = raw.replace(b"<SLuong>2</SLuong>", b"<SLuong>9</SLuong>", 1)
    result = await submit(intake, raw, submitter)
    assert result.outcome is Outcome.REJECTED
    assert code in [f.code for f in result.findings if f.is_error]
    assert await Invoice.all().count() == 0


@pytest.mark.parametrize(
    ("buyer", "code", "path"),
    [
        pytest.param(PartyDraft("Công ty", tax_code="0100109107"), "4002", "NMua/MST", id="check-digit"),  # noqa: E501
        pytest.param(PartyDraft("Công ty", tax_code="0100109160"), "4002", "NMua/MST", id="remainder-zero"),  # noqa: E501
        pytest.param(PartyDraft("Hộ", tax_code="003099012345"), "4002", "NMua/MST", id="12-digit-province"),  # noqa: E501
        pytest.param(PartyDraft("An", personal_id="001299012345"), "4003", "NMua/CCCDan", id="future-birth"),  # noqa: E501
    ],
)  # fmt: skip
async def test_a_buyer_number_no_one_was_given_is_refused(
    intake: Intake, intake_keys: Keys, buyer: PartyDraft, code: str, path: str
) -> None:
    result = await submit(intake, signed(draft(6, buyer=buyer), intake_keys.restaurant))
    assert result.outcome is Outcome.REJECTED
    assert [(f.code, f.path) for f in result.findings] == [(code, f"HDon/DLHDon/NDHDon/{path}")]
    assert await Invoice.all().count() == 0


async def test_registered_provider_may_sign_and_submit(intake: Intake, intake_keys: Keys) -> None:
    await intake.registry.grant(RESTAURANT, PROVIDER, can_sign=True, can_submit=True)
    result = await submit(intake, signed(draft(7), intake_keys.provider), Submitter(PROVIDER))
    assert result.outcome is Outcome.ACCEPTED, result.findings


async def test_replacement_needs_a_held_original_and_keeps_history(
    intake: Intake, intake_keys: Keys
) -> None:
    original = await submit(intake, signed(draft(8), intake_keys.restaurant))
    base = draft(9)
    orphan = relabel(base, related=RelatedDraft(1, "1", base.series, 99, base.issued_on))
    rejected = await submit(intake, signed(orphan, intake_keys.restaurant))
    assert "5012" in [f.code for f in rejected.findings]
    replacement = relabel(base, related=RelatedDraft(1, "1", base.series, 8, base.issued_on))
    accepted = await submit(intake, signed(replacement, intake_keys.restaurant))
    assert accepted.outcome is Outcome.ACCEPTED, accepted.findings
    assert accepted.invoice.related_id == original.invoice.id
    held = await intake.store.get(original.invoice.id)
    assert held.status is InvoiceStatus.REPLACED
    assert [s for s, _, _ in await intake.store.history(original.invoice.id)] == [
        "accepted",
        "replaced",
    ]


async def test_legacy_buyer_code_links_to_the_person_or_waits(
    intake: Intake, intake_keys: Keys
) -> None:
    legacy_buyer = PartyDraft(name="Nguyễn Văn An", tax_code="8012345677", address="Hà Nội")
    resolved = await submit(intake, signed(draft(10, buyer=legacy_buyer), intake_keys.restaurant))
    link = await IdentityLink.get(invoice_id=resolved.invoice.id, role="buyer")
    assert (link.kind, link.subject, link.state) == (
        "legacy_tax_code",
        BUYER_ID,
        LinkState.RESOLVED,
    )
    intake.linker.legacy_lookup.down = True
    waiting = await submit(intake, signed(draft(11, buyer=legacy_buyer), intake_keys.restaurant))
    pending = await IdentityLink.get(invoice_id=waiting.invoice.id, role="buyer")
    assert (pending.subject, pending.state) == (None, LinkState.PENDING)
    page = await intake.store.bought_by(BUYER_ID, first=10)
    assert [item.key.number for item in page.items] == [10]


async def test_cash_register_batch_reports_each_invoice(intake: Intake, intake_keys: Keys) -> None:
    messages = MessageIntake(intake, MessageStore())
    today = draft(1).issued_on
    code = f"M1-{today:%y}-AB12C-"
    invoices = [
        compose_invoice(
            relabel(draft(n), series=f"C{today:%y}MAA", cash_register_code=f"{code}{n:011d}")
        )
        for n in (1, 2, 3)
    ]
    invoices[1] = invoices[1].replace(b"<TgTTTBSo>", b"<TgTTTBSo>9", 1)
    envelope = compose_message(206, invoices, sender=f"V{RESTAURANT}", tax_code=RESTAURANT)
    batch = sign_envelope(envelope, intake_keys.restaurant, signing_time=datetime.now(UTC))
    result = await messages.submit(batch, "application/xml", RESTAURANT_SUBMITS)
    assert [item.outcome for item in result.items] == [
        Outcome.ACCEPTED,
        Outcome.REJECTED,
        Outcome.ACCEPTED,
    ]
    assert "5008" in [f.code for f in result.items[1].findings]
    assert await Invoice.all().count() == 2
    replay = await messages.submit(batch, "application/xml", RESTAURANT_SUBMITS)
    assert replay.outcome is Outcome.REPLAYED
    assert replay.summary == result.summary
    unsigned = await messages.submit(
        compose_message(206, invoices[:1], sender=f"V{RESTAURANT}", tax_code=RESTAURANT),
        "application/xml",
        RESTAURANT_SUBMITS,
    )
    assert unsigned.outcome is Outcome.REJECTED
    assert [f.code for f in unsigned.findings] == ["2014"]


async def test_observers_hear_of_acceptances_and_refused_duplicates(
    intake: Intake, intake_keys: Keys
) -> None:
    accepted: list[StoredInvoice] = []
    duplicates: list[DuplicateAttempt] = []

    async def failing(invoice: StoredInvoice) -> None:
        raise RuntimeError("an observer failure never undoes an acceptance")

    async def record_accepted(invoice: StoredInvoice) -> None:
        accepted.append(invoice)

    async def record_duplicate(attempt: DuplicateAttempt) -> None:
        duplicates.append(attempt)

    intake.events.accepted += [failing, record_accepted]
    intake.events.duplicates.append(record_duplicate)
    first = await submit(intake, signed(draft(12), intake_keys.restaurant))
    other = signed(draft(12, quantity=9), intake_keys.restaurant)
    await submit(intake, other)
    await intake.events.drain()
    assert [invoice.id for invoice in accepted] == [first.invoice.id]
    assert [(d.original.id, d.sha256) for d in duplicates] == [
        (first.invoice.id, hashlib.sha256(other).hexdigest())
    ]
    assert await Invoice.filter(id=first.invoice.id).count() == 1


async def test_a_batch_holding_a_known_invoice_answers_each_one(
    intake: Intake, intake_keys: Keys
) -> None:
    today = draft(1).issued_on
    invoices = [
        compose_invoice(
            relabel(
                draft(n),
                series=f"C{today:%y}MAB",
                cash_register_code=f"M1-{today:%y}-AB12C-{n:011d}",
            )
        )
        for n in (1, 2, 3)
    ]
    sender = f"V{RESTAURANT}"
    messages = MessageIntake(intake, MessageStore())
    first = compose_message(206, invoices[1:2], sender=sender, tax_code=RESTAURANT)
    signed_first = sign_envelope(first, intake_keys.restaurant, signing_time=datetime.now(UTC))
    assert (await messages.submit(signed_first, "application/xml", RESTAURANT_SUBMITS)).outcome is (
        Outcome.ACCEPTED
    )
    batch = compose_message(206, invoices, sender=sender, tax_code=RESTAURANT)
    signed_batch = sign_envelope(batch, intake_keys.restaurant, signing_time=datetime.now(UTC))
    result = await messages.submit(signed_batch, "application/xml", RESTAURANT_SUBMITS)
    assert [item.outcome for item in result.items] == [
        Outcome.ACCEPTED,
        Outcome.REPLAYED,
        Outcome.ACCEPTED,
    ]
    assert await Invoice.filter(series=f"C{today:%y}MAB").count() == 3


@pytest.mark.parametrize("coded", [True, False], ids=["coded", "uncoded"])
async def test_a_tax_authority_code_the_seller_wrote_is_refused(
    intake: Intake, intake_keys: Keys, coded: bool
) -> None:
    """MCCQT lies outside the seller's signature: only the authority (here, the intake) adds it."""
    raw = signed(draft(13, coded=coded), intake_keys.restaurant)
    forged = raw.replace(b"<DSCKS>", b"<MCCQT>00" + b"AB" * 16 + b"</MCCQT><DSCKS>", 1)
    result = await submit(intake, forged)
    assert result.outcome is Outcome.REJECTED
    assert [f.code for f in result.findings if f.is_error] == ["5024"]
    assert await Invoice.all().count() == 0


@pytest.fixture(scope="module")
def unnamed_signers(intake_keys: Keys) -> dict[str, SignerIdentity]:
    """Certificates of the trusted CA whose subject names no taxpayer the intake can read."""
    start = datetime.now(UTC) - timedelta(days=1)
    end = start + timedelta(days=365)

    def issue(name: str, organization: str | None) -> SignerIdentity:
        return intake_keys.ca.issue(
            name, tax_code=None, organization=organization, valid_from=start, valid_to=end
        )

    return {
        "O=MST": issue("Nhà hàng Sen Hồ Tây", f"MST:{RESTAURANT}"),
        "no-MST": issue("Nhân viên thu ngân", None),
    }


def pem(identity: SignerIdentity) -> bytes:
    return identity.certificate.public_bytes(Encoding.PEM)


def error_codes(result: IntakeResult) -> list[str]:
    return [f.code for f in result.findings if f.is_error]


@pytest.mark.parametrize("shape", ["O=MST", "no-MST"])
async def test_a_certificate_naming_no_taxpayer_is_refused_unless_registered_for_the_seller(
    intake: Intake, unnamed_signers: dict[str, SignerIdentity], shape: str
) -> None:
    signer = unnamed_signers[shape]
    refused = await submit(intake, signed(draft(14), signer))
    assert error_codes(refused) == ["2019"]
    assert "names no taxpayer" in refused.findings[0].message
    await intake.registry.add_certificate(HOTEL, pem(signer))
    elsewhere = await submit(intake, signed(draft(14), signer))
    assert error_codes(elsewhere) == ["2019"]
    with pytest.raises(RegistryError, match=f"already registered for {HOTEL}"):
        await intake.registry.add_certificate(RESTAURANT, pem(signer))
    assert await Invoice.all().count() == 0


@pytest.mark.parametrize("shape", ["O=MST", "no-MST"])
async def test_a_certificate_registered_for_the_seller_signs_for_it(
    intake: Intake, unnamed_signers: dict[str, SignerIdentity], shape: str
) -> None:
    signer = unnamed_signers[shape]
    await intake.registry.add_certificate(RESTAURANT, pem(signer))
    accepted = await submit(intake, signed(draft(14), signer))
    assert accepted.outcome is Outcome.ACCEPTED, accepted.findings


async def test_a_pinned_merchant_takes_only_its_registered_certificates(
    intake: Intake, intake_keys: Keys, unnamed_signers: dict[str, SignerIdentity]
) -> None:
    pinned = await intake.registry.pin(RESTAURANT, certificates_only=True)
    assert pinned.certificates_only
    naming = await submit(intake, signed(draft(15), intake_keys.restaurant))
    assert error_codes(naming) == ["2019"]
    assert "registered certificates only" in naming.findings[0].message
    await intake.registry.add_certificate(RESTAURANT, pem(unnamed_signers["no-MST"]))
    accepted = await submit(intake, signed(draft(15), unnamed_signers["no-MST"]))
    assert accepted.outcome is Outcome.ACCEPTED, accepted.findings
    await intake.registry.pin(RESTAURANT, certificates_only=False)
    again = await submit(intake, signed(draft(16), intake_keys.restaurant))
    assert again.outcome is Outcome.ACCEPTED, again.findings


async def test_a_provider_signs_only_with_the_right_to_sign(
    intake: Intake, intake_keys: Keys
) -> None:
    await intake.registry.grant(RESTAURANT, PROVIDER, can_sign=False, can_submit=True)
    provider = Submitter(PROVIDER)
    refused = await submit(intake, signed(draft(17), intake_keys.provider), provider)
    assert error_codes(refused) == ["2009"]
    submitted = await submit(intake, signed(draft(17), intake_keys.restaurant), provider)
    assert submitted.outcome is Outcome.ACCEPTED, submitted.findings
    await intake.registry.grant(RESTAURANT, PROVIDER, can_sign=True, can_submit=False)
    only_signs = await submit(intake, signed(draft(18), intake_keys.provider), provider)
    assert error_codes(only_signs) == ["4006"]
    signs = await submit(intake, signed(draft(18), intake_keys.provider))
    assert signs.outcome is Outcome.ACCEPTED, signs.findings


async def test_the_store_answers_only_submitters_entitled_for_the_seller(
    intake: Intake, intake_keys: Keys
) -> None:
    """Replay, conflict and related-invoice lookups reveal nothing to anyone else."""
    raw = signed(draft(19), intake_keys.restaurant)
    first = await submit(intake, raw)
    base = draft(20)
    held, missing = (
        signed(
            relabel(base, related=RelatedDraft(1, "1", base.series, n, base.issued_on)),
            intake_keys.restaurant,
        )
        for n in (19, 99)
    )
    hotel = Submitter(HOTEL)
    refusals = [await submit(intake, body, hotel) for body in (raw, held, missing)]
    assert [(r.outcome, error_codes(r)) for r in refusals] == [(Outcome.REJECTED, ["4006"])] * 3
    assert all(r.invoice is None and r.receipt is None for r in refusals)
    await intake.registry.grant(RESTAURANT, PROVIDER, can_sign=True, can_submit=False)
    signer_only = await submit(intake, raw, Submitter(PROVIDER))
    assert error_codes(signer_only) == ["4006"]
    await intake.registry.grant(RESTAURANT, PROVIDER, can_sign=False, can_submit=True)
    for entitled in (Submitter(PROVIDER), Submitter(None, "operator-1"), RESTAURANT_SUBMITS):
        again = await submit(intake, raw, entitled)
        assert (again.outcome, again.receipt) == (Outcome.REPLAYED, first.receipt)
    assert await Invoice.all().count() == 1
