"""Signed checkpoints of the access log: the gateway's signature over the chain's head.

The hash chain shows an event changed, deleted or reordered in the middle, but not the newest
events deleted, nor the whole chain rewritten with recomputed hashes: both leave a chain that
holds together. A checkpoint closes that gap as a transparency log's signed tree head does: the
gateway signs (head event id, event count, head hash, time) with its own key, and a later walk
must reach that event with that hash after exactly that many events. Only the key's holder can
make one, so a log cut behind a checkpoint, or rewritten under one, shows. Events after the
newest checkpoint are covered by none until the next one: that window is the interval's price.

Each checkpoint also signs the SHA-256 of the checkpoint before it (``""`` for the first), so a
deleted checkpoint shows as well. Signatures are compact JWS (RS256) made by the signer of
receipts, with the certificate's SHA-256 fingerprint as ``kid``: after a key rotation the old
checkpoints still verify against the retired certificate.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Protocol

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes

from integrations.access.chain import GENESIS, canonical_time
from integrations.access.errors import AccessError
from integrations.store.audit import Checkpoint, StoredEvent

KIND: Final = "access-log-checkpoint"
"""Signed into every checkpoint, so that nothing else the same key signs passes for one."""
ALGORITHM: Final = "RS256"


class CheckpointInvalid(AccessError):
    """A stored checkpoint is not one the gateway signed as it stands."""

    code = "AUDIT_CHECKPOINT_INVALID"
    hint = "Run `gateway audit verify`; restore the access log and its checkpoints from backup."


class CheckpointRefused(AccessError):
    """The chain no longer extends the last checkpoint, so its head is not signed."""

    code = "AUDIT_CHECKPOINT_REFUSED"
    hint = "Run `gateway audit verify` to see where the log was cut or rewritten."


class CheckpointSigner(Protocol):
    """What signs checkpoints: the gateway's ``ReceiptSigner``."""

    @property
    def key_id(self) -> str: ...

    def seal(self, body: dict[str, Any]) -> dict[str, Any]:
        """``body`` with a ``signature`` field: a compact JWS whose payload is the body."""
        ...


def key_id_of(certificate: x509.Certificate) -> str:
    """The ``kid`` the gateway signs with: its certificate's SHA-256 fingerprint."""
    return certificate.fingerprint(hashes.SHA256()).hex()


@dataclass(frozen=True, slots=True)
class CheckpointKeys:
    """The gateway's certificates, current and retired, by key id.

    ``CheckpointKeys.of([current, retired])`` checks checkpoints made before and after a
    rotation of the gateway's key.
    """

    public_keys: Mapping[str, CertificatePublicKeyTypes]

    @classmethod
    def of(cls, certificates: Iterable[x509.Certificate]) -> CheckpointKeys:
        return cls({key_id_of(c): c.public_key() for c in certificates})

    def open(self, token: str) -> tuple[str, dict[str, Any]]:
        """The key id and signed body of ``token``; ``CheckpointInvalid`` saying why not."""
        try:
            key_id = jwt.api_jws.get_unverified_header(token).get("kid")
        except jwt.InvalidTokenError:
            raise CheckpointInvalid("its signature is not a JWS") from None
        public_key = self.public_keys.get(key_id) if isinstance(key_id, str) else None
        if public_key is None:
            raise CheckpointInvalid(
                f"it is signed with key {key_id!r}, not one of the gateway's certificates given "
                "(give a retired key's certificate to check what it signed)"
            )
        try:
            payload = jwt.api_jws.decode(token, public_key, algorithms=[ALGORITHM])
        except jwt.InvalidTokenError:
            raise CheckpointInvalid(f"its signature does not verify with key {key_id}") from None
        try:
            body = json.loads(payload)
        except ValueError:
            body = None
        if not isinstance(body, dict) or body.get("kind") != KIND:
            raise CheckpointInvalid(f"key {key_id} signed something other than a checkpoint")
        return key_id, body


def signed_body(
    *, at: datetime, head_id: int, count: int, head_hash: str, previous: Checkpoint | None
) -> dict[str, Any]:
    """What the gateway signs for a checkpoint of the head ``head_id``."""
    return {
        "kind": KIND,
        "at": canonical_time(at),
        "head_id": head_id,
        "count": count,
        "head_hash": head_hash,
        "previous": "" if previous is None else digest(previous),
    }


def digest(checkpoint: Checkpoint) -> str:
    return hashlib.sha256(checkpoint.signature.encode()).hexdigest()


def sign(signer: CheckpointSigner, body: dict[str, Any]) -> str:
    token: str = signer.seal(body)["signature"]
    return token


@dataclass(frozen=True, slots=True)
class CheckpointProblem:
    checkpoint_id: int
    message: str


class CheckpointWalk:
    """Holds a walk of the chain to the checkpoints, read in order beside it.

    Each checkpoint's signature, its row and its link to the one before are checked when it is
    read; its head when the walk reaches the event it names (``due``), or at the end of the
    walk, where a head never reached means the log was cut.
    """

    def __init__(self, checkpoints: AsyncIterator[Checkpoint], keys: CheckpointKeys | None):
        self._rows = checkpoints
        self._keys = keys
        self._previous: Checkpoint | None = None
        self._pending: Checkpoint | None = None
        self.confirmed = 0
        self.latest: Checkpoint | None = None
        """The newest checkpoint confirmed so far."""

    async def start(self) -> CheckpointProblem | None:
        """Read the first checkpoint; confirm those of the empty log."""
        problem = await self._advance()
        while problem is None and (checkpoint := self._pending) and checkpoint.head_id == 0:
            if checkpoint.count != 0 or checkpoint.head_hash != GENESIS:
                return CheckpointProblem(checkpoint.id, "names no event but counts some")
            self.confirmed, self.latest = self.confirmed + 1, checkpoint
            problem = await self._advance()
        return problem

    def due(self, event_id: int) -> bool:
        return self._pending is not None and event_id >= self._pending.head_id

    async def reached(self, event: StoredEvent, count: int) -> CheckpointProblem | None:
        """Confirm the checkpoints whose head is ``event``, the ``count``-th of the chain."""
        while (checkpoint := self._pending) is not None and checkpoint.head_id <= event.id:
            if checkpoint.head_id < event.id:
                return CheckpointProblem(
                    checkpoint.id,
                    f"names event {checkpoint.head_id} as its head, which is no longer in the log",
                )
            if checkpoint.head_hash != event.hash:
                return CheckpointProblem(
                    checkpoint.id,
                    f"signed event {event.id} with hash {checkpoint.head_hash}, the log now has "
                    f"{event.hash}: the log was rewritten up to it",
                )
            if checkpoint.count != count:
                return CheckpointProblem(
                    checkpoint.id,
                    f"signed {checkpoint.count} events up to event {event.id}, the log now has "
                    f"{count}: events were deleted or added before it",
                )
            self.confirmed, self.latest = self.confirmed + 1, checkpoint
            if problem := await self._advance():
                return problem
        return None

    def end(self, last_id: int, count: int) -> CheckpointProblem | None:
        """After the last event: a checkpoint still waiting names an event cut from the log."""
        checkpoint = self._pending
        if checkpoint is None:
            return None
        return CheckpointProblem(
            checkpoint.id,
            f"signed {checkpoint.count} events up to event {checkpoint.head_id}, but the log "
            f"ends at event {last_id} after {count} events: its newest events were cut",
        )

    async def _advance(self) -> CheckpointProblem | None:
        self._previous, self._pending = self._pending, await anext(self._rows, None)
        if self._pending is None:
            return None
        message = self._opened(self._pending, self._previous)
        return CheckpointProblem(self._pending.id, message) if message else None

    def _opened(self, checkpoint: Checkpoint, previous: Checkpoint | None) -> str:
        """Why ``checkpoint`` is not as the gateway signed it after ``previous``; empty if it is."""
        if self._keys is None:
            return "its signature cannot be checked: no certificate of the gateway was given"
        try:
            key_id, body = self._keys.open(checkpoint.signature)
        except CheckpointInvalid as exc:
            return exc.message
        expected = signed_body(
            at=checkpoint.at,
            head_id=checkpoint.head_id,
            count=checkpoint.count,
            head_hash=checkpoint.head_hash,
            previous=previous,
        )
        if body.get("previous") != expected["previous"]:
            after = f"checkpoint #{previous.id}" if previous else "no checkpoint"
            return f"does not follow {after}: a checkpoint between them was deleted"
        if body != expected or key_id != checkpoint.key_id:
            return "its row differs from what the gateway signed (changed)"
        return ""
