"""Message envelopes (``TDiep``) carrying one or many invoices: types 200, 203 and 206.

The envelope is checked once (schema, and for 206 the batch signature in ``CKSNNT``); then each
invoice goes through the intake on its own, so a batch reports an outcome per invoice. Invoices
in 200 and 203 messages are verified each in its own scope, since vendors repeat Ids across the
invoices of one message; those of a 206 batch are covered by the batch signature instead.

A message already taken (same bytes, or same sender and ``MTDiep``) is named only to operators
and to submitters entitled for its taxpayer (``TTChung/MST``); anyone else is answered as if it
were new, and only those entitled have a message recorded.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from cryptography import x509
from lxml import etree

from integrations.einvoice import codes
from integrations.einvoice.checks import Checker, Verdict
from integrations.einvoice.findings import Finding, Rejection, has_errors, listed
from integrations.einvoice.parse import check_transport, expect_root, parse_document
from integrations.einvoice.pipeline import Intake, IntakeResult, Outcome, Submitter
from integrations.einvoice.signature import verify_envelope_signature
from integrations.store.messages import MessageConflict, MessageStore, StoredMessage

CASH_REGISTER_BATCH = 206


@dataclass(frozen=True, slots=True)
class Header:
    message_type: int
    message_id: str
    sender: str
    tax_code: str
    version: str


@dataclass(frozen=True, slots=True)
class MessageVerdict:
    findings: list[Finding]
    header: Header | None = None
    invoices: list[Verdict] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class MessageResult:
    outcome: Outcome
    findings: list[Finding] = field(default_factory=list)
    header: Header | None = None
    items: list[IntakeResult] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)


def check_message(checker: Checker, raw: bytes, *, now: datetime) -> MessageVerdict:
    """The CPU stages for a whole envelope and every invoice in it."""
    try:
        root = parse_document(raw, checker.settings.limits)
        expect_root(root, "TDiep")
    except Rejection as rejection:
        return MessageVerdict(rejection.findings)
    header = _header(root)
    findings = checker.schemas.validate_message(root, invoices=False)
    if header is None or has_errors(findings):
        return MessageVerdict(findings, header)
    body = root.find("DLieu")
    signer: x509.Certificate | None = None
    if header.message_type == CASH_REGISTER_BATCH:
        check = verify_envelope_signature(root, checker.trust, checker.settings.signature, now=now)
        findings += check.findings
        if not check.ok or check.signed_data is None:
            return MessageVerdict(findings, header)
        body, signer = check.signed_data, check.certificate
    signature_required = header.message_type != CASH_REGISTER_BATCH
    verdicts = [
        _batch_signed(
            checker.hdon(*_own_scope(hdon), now=now, signature_required=signature_required),
            signer,
        )
        for hdon in (body.iterfind("HDon") if body is not None else ())
    ]
    return MessageVerdict(findings, header, _mark_repeated_keys(verdicts, header))


class MessageIntake:
    def __init__(self, intake: Intake, messages: MessageStore) -> None:
        self.intake = intake
        self.messages = messages

    async def submit(
        self, raw: bytes, content_type: str | None, submitter: Submitter
    ) -> MessageResult:
        findings = check_transport(raw, content_type, self.intake.checker.settings.limits)
        if has_errors(findings):
            return MessageResult(Outcome.REJECTED, findings)
        sha256 = hashlib.sha256(raw).hexdigest()
        replay = await self.messages.find_by_sha(sha256)
        if replay is not None and await self._reveals(replay, submitter):
            return _replayed(replay)
        verdict = await self.intake.cpu.run_sized(
            len(raw), check_message, self.intake.checker, raw, now=self.intake.clock()
        )
        header = verdict.header
        if header is None or has_errors(verdict.findings):
            return MessageResult(Outcome.REJECTED, verdict.findings, header)
        taken = await self.messages.find(header.sender, header.message_id)
        if taken is not None and await self._reveals(taken, submitter):
            return _conflict(taken, header, [])
        items = await self.intake.admit_all(
            verdict.invoices, submitter, message_id=header.message_id
        )
        summary = _summary(header, items)
        accepted = any(item.accepted for item in items)
        result = MessageResult(
            Outcome.ACCEPTED if accepted else Outcome.REJECTED,
            verdict.findings,
            header,
            items,
            summary,
        )
        # Recorded only for its own taxpayer's submitters, so that no one else can take a
        # message id; and never over another's record, which would name it.
        if taken is not None or not await self.intake.entitled(submitter, header.tax_code):
            return result
        try:
            await self.messages.record(
                message_id=header.message_id,
                sender=header.sender,
                message_type=header.message_type,
                sha256=sha256,
                outcome=summary,
            )
        except MessageConflict as conflict:
            if await self._reveals(conflict.existing, submitter):
                return _conflict(conflict.existing, header, items)
        return result

    async def _reveals(self, message: StoredMessage, submitter: Submitter) -> bool:
        """Whether the submitter may learn the message was taken: an operator, or one
        entitled to submit for the taxpayer the message was recorded for."""
        return await self.intake.entitled(submitter, message.outcome.get("taxCode"))


def _header(root: etree._Element) -> Header | None:
    text = root.findtext
    kind = (text("TTChung/MLTDiep") or "").strip()
    if not kind.lstrip("-").isdigit():
        return None
    return Header(
        message_type=int(kind),
        message_id=(text("TTChung/MTDiep") or "").strip(),
        sender=(text("TTChung/MNGui") or "").strip(),
        tax_code=(text("TTChung/MST") or "").strip(),
        version=(text("TTChung/PBan") or "").strip(),
    )


def _own_scope(hdon: etree._Element) -> tuple[etree._Element, bytes]:
    """A standalone copy, and its bytes as they are kept: in-scope namespaces come along,
    sibling invoices' Ids do not."""
    raw = etree.tostring(hdon, encoding="UTF-8")
    return etree.fromstring(raw), raw


def _batch_signed(verdict: Verdict, signer: x509.Certificate | None) -> Verdict:
    """Invoices of a signed batch are vouched for by the batch signer, unless signed too."""
    if signer is None or verdict.certificate is not None:
        return verdict
    return replace(verdict, certificate=signer)


def _mark_repeated_keys(verdicts: list[Verdict], header: Header) -> list[Verdict]:
    seen: set[tuple[str, str, str, int]] = set()
    marked = []
    for verdict in verdicts:
        document = verdict.document
        if document is not None and document.key in seen:
            finding = codes.DUPLICATE_IN_BATCH.finding("/".join(map(str, document.key)))
            verdict = replace(verdict, findings=[*verdict.findings, finding])
        if document is not None:
            seen.add(document.key)
        marked.append(verdict)
    return marked


def _summary(header: Header, items: list[IntakeResult]) -> dict[str, Any]:
    return {
        "messageId": header.message_id,
        "messageType": header.message_type,
        "sender": header.sender,
        "taxCode": header.tax_code,
        "items": [_item(position, item) for position, item in enumerate(items, start=1)],
    }


def _item(position: int, item: IntakeResult) -> dict[str, Any]:
    stored = item.invoice or item.conflict
    document = item.document
    return {
        "position": position,
        "outcome": item.outcome.value,
        "template": document.template if document else None,
        "series": document.series if document else None,
        "number": document.number if document else None,
        "issuedOn": document.issued_on.isoformat() if document else None,
        "invoiceId": str(stored.id) if stored else None,
        "receiptId": stored.receipt_id if stored else None,
        **listed(item.findings),
    }


def _replayed(stored: StoredMessage) -> MessageResult:
    taxpayer = stored.outcome.get("taxCode") or ""
    header = Header(stored.message_type, stored.message_id, stored.sender, taxpayer, "")
    return MessageResult(Outcome.REPLAYED, [], header, [], stored.outcome)


def _conflict(existing: StoredMessage, header: Header, items: list[IntakeResult]) -> MessageResult:
    finding = codes.DUPLICATE_KEY.finding(
        f"message {existing.message_id} from {existing.sender} was taken at "
        f"{existing.received_at.isoformat()} with sha256 {existing.sha256}",
        path="TDiep/TTChung/MTDiep",
    )
    return MessageResult(Outcome.CONFLICT, [finding], header, items, existing.outcome)
