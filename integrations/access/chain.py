"""The access log's hash chains: what an event's hash covers, and how a walk tells a link is bad.

Each writer keeps a chain of its own. Each event's ``hash`` is SHA-256 over a canonical JSON of
its fields and the previous event's hash in its chain (for the first, the chain's genesis:
``GENESIS`` for the legacy chain, a hash of the chain's name for the others, so that events
moved to another chain do not follow there either). Changing, deleting or reordering a stored
event breaks its chain where it happened.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any, Final

from integrations.store.audit import ChainedEvent
from integrations.store.models import LEGACY_CHAIN

GENESIS: Final = "0" * 64
"""What the first event of the legacy chain follows."""


def genesis_of(chain: str) -> str:
    """What the first event of ``chain`` follows."""
    if chain == LEGACY_CHAIN:
        return GENESIS
    return hashlib.sha256(f"access-log-chain:{chain}".encode()).hexdigest()


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


class ChainWalk:
    """Follows one chain in order: each event must be the next in place, follow the one before
    and match its own hash."""

    def __init__(self, chain: str) -> None:
        self.chain = chain
        self.count = 0
        self.head_hash = genesis_of(chain)

    def step(self, event: ChainedEvent) -> str:
        """Why ``event`` cannot come next in the chain; empty (and the walk moves on) if it can."""
        if problem := link_problem(event, self.head_hash):
            return problem
        if event.seq != self.count + 1:
            return (
                f"is numbered {event.seq} in chain {self.chain} where its event {self.count + 1} "
                "was due (renumbered)"
            )
        self.count, self.head_hash = event.seq, event.hash
        return ""
