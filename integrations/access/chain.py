"""The access log's hash chain: what an event's hash covers, and how a walk tells a link is bad.

Each event's ``hash`` is SHA-256 over a canonical JSON of its fields and the previous event's
hash (``GENESIS`` for the first), so changing, deleting or reordering a stored event breaks the
chain where it happened.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any, Final

from integrations.store.audit import ChainedEvent

GENESIS: Final = "0" * 64


def chain_hash(payload: dict[str, Any], prev_hash: str) -> str:
    """SHA-256 over the canonical JSON (sorted keys, no spaces, UTF-8) of payload + prev_hash."""
    canonical = json.dumps(
        {**payload, "prev_hash": prev_hash},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def canonical_time(at: datetime) -> str:
    """A time as hashed and signed: UTC, ISO 8601, to the microsecond."""
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def payload_of(event: ChainedEvent) -> dict[str, Any]:
    """What an event's hash covers, besides the previous hash."""
    return {
        "at": canonical_time(event.at),
        "principal": event.principal,
        "role": event.role,
        "subject": event.subject,
        "domains": list(event.domains),
        "fields": list(event.fields),
        "purpose": event.purpose,
        "case_ref": event.case_ref,
        "consent_id": event.consent_id,
        "outcome": event.outcome,
    }


def link_problem(event: ChainedEvent, prev_hash: str) -> str:
    """Why ``event`` does not follow an event whose hash is ``prev_hash``; empty if it does."""
    if event.prev_hash != prev_hash:
        return "does not follow the event before it (one deleted or reordered)"
    if chain_hash(payload_of(event), event.prev_hash) != event.hash:
        return "content does not match its hash (changed)"
    return ""
