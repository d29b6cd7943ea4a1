"""Message envelopes taken in: their hash and sender id make resubmission idempotent."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.exceptions import IntegrityError

from integrations.store.models import Message


@dataclass(frozen=True, slots=True)
class StoredMessage:
    id: uuid.UUID
    message_id: str
    sender: str
    message_type: int
    sha256: str
    outcome: dict[str, Any]
    received_at: datetime


class MessageConflict(Exception):
    """The sender already used this message id for other bytes."""

    def __init__(self, existing: StoredMessage) -> None:
        super().__init__(f"message {existing.message_id} from {existing.sender} already taken")
        self.existing = existing


class MessageStore:
    async def find_by_sha(self, sha256: str) -> StoredMessage | None:
        return _stored(await Message.get_or_none(sha256=sha256))

    async def find(self, sender: str, message_id: str) -> StoredMessage | None:
        return _stored(await Message.get_or_none(sender=sender, message_id=message_id))

    async def record(
        self,
        *,
        message_id: str,
        sender: str,
        message_type: int,
        sha256: str,
        outcome: dict[str, Any],
    ) -> StoredMessage:
        try:
            row = await Message.create(
                id=uuid.uuid4(),
                message_id=message_id,
                sender=sender,
                message_type=message_type,
                sha256=sha256,
                outcome=outcome,
            )
        except IntegrityError:
            existing = await self.find(sender, message_id) or await self.find_by_sha(sha256)
            if existing is None:
                raise
            raise MessageConflict(existing) from None
        stored = _stored(row)
        if stored is None:
            raise LookupError("message row vanished after its insert")
        return stored


def _stored(row: Message | None) -> StoredMessage | None:
    if row is None:
        return None
    return StoredMessage(
        id=row.id,
        message_id=row.message_id,
        sender=row.sender,
        message_type=row.message_type,
        sha256=row.sha256,
        outcome=row.outcome,
        received_at=row.received_at,
    )
