"""Signed checkpoints of the access log: the gateway's signature over every chain's head.

A hash chain shows an event changed, deleted or reordered in the middle, but not its newest
events deleted, nor the whole chain rewritten with recomputed hashes: both leave a chain that
holds together. A checkpoint closes that gap as a transparency log's signed tree head does: the
gateway signs, with its own key, the head (event count, event id, hash) of each chain that moved
since the checkpoint before, and the count of all events; a later walk of each chain must reach
each head it signed with that hash after exactly that many events. Only the key's holder can
make one, so a chain cut behind a checkpoint, or rewritten under one, shows. Events after the
newest checkpoint are covered by none until the next one: that window is the interval's price.

Each checkpoint also signs the SHA-256 of the checkpoint before it (``""`` for the first), so a
deleted checkpoint shows as well. Signatures are compact JWS (RS256) made by the signer of
receipts, with the certificate's SHA-256 fingerprint as ``kid``: after a key rotation the old
checkpoints still verify against the retired certificate.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Protocol

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes

from integrations.access.chain import canonical_time
from integrations.access.errors import AccessError
from integrations.store.audit import Checkpoint, Head, StoredEvent
from integrations.store.models import LEGACY_CHAIN

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
    *,
    at: datetime,
    head: Head,
    count: int,
    heads: Mapping[str, Head] | None,
    previous: Checkpoint | None,
) -> dict[str, Any]:
    """What the gateway signs for a checkpoint: the newest event ``head``, ``count`` events in
    all chains, and the ``heads`` of the chains that moved since ``previous`` (``None`` only in
    checkpoints of the one chain made before 0007, which signed no ``heads``)."""
    body = {
        "kind": KIND,
        "at": canonical_time(at),
        "head_id": head.id,
        "count": count,
        "head_hash": head.hash,
        "previous": "" if previous is None else digest(previous),
    }
    if heads is not None:
        body["heads"] = {chain: [h.seq, h.id, h.hash] for chain, h in sorted(heads.items())}
    return body


def heads_of(checkpoint: Checkpoint) -> Mapping[str, Head]:
    """The chain heads ``checkpoint`` signed; a checkpoint of the one chain before 0007 signed
    the legacy chain's head, if the log had any event."""
    if checkpoint.heads is not None:
        return checkpoint.heads
    if checkpoint.head_id == 0:
        return {}
    return {LEGACY_CHAIN: Head(checkpoint.count, checkpoint.head_id, checkpoint.head_hash)}


def digest(checkpoint: Checkpoint) -> str:
    return hashlib.sha256(checkpoint.signature.encode()).hexdigest()


def sign(signer: CheckpointSigner, body: dict[str, Any]) -> str:
    token: str = signer.seal(body)["signature"]
    return token


@dataclass(frozen=True, slots=True)
class CheckpointProblem:
    checkpoint_id: int
    message: str
    chain: str | None = None


@dataclass(frozen=True, slots=True)
class Due:
    """A chain head that checkpoint ``checkpoint_id`` signed, for the walk of its chain to reach."""

    checkpoint_id: int
    chain: str
    head: Head

    def reached(self, event: StoredEvent) -> CheckpointProblem | None:
        """Whether ``event``, the ``head.seq``-th of the chain, is the head as signed."""
        if event.hash != self.head.hash:
            return self._problem(
                f"signed event {self.head.id} of chain {self.chain} with hash {self.head.hash}, "
                f"the chain now has {event.hash} there: the chain was rewritten up to it"
            )
        if event.id != self.head.id:
            return self._problem(
                f"signed event {self.head.id} as event {self.head.seq} of chain {self.chain}, "
                f"which is now event {event.id}: events were deleted or added before it"
            )
        return None

    def cut(self, count: int, last_id: int) -> CheckpointProblem:
        """The chain ended after ``count`` events, at ``last_id``, before reaching the head."""
        ends = f"ends at event {last_id} after {count} events" if count else "has no events"
        return self._problem(
            f"signed {self.head.seq} events of chain {self.chain} up to event {self.head.id}, "
            f"but the chain {ends}: its newest events were cut"
        )

    def _problem(self, message: str) -> CheckpointProblem:
        return CheckpointProblem(self.checkpoint_id, message, self.chain)


class CheckpointLedger:
    """The checkpoints, read in order and each checked as it is read, and the chain heads they
    signed, which the walk of each chain must then reach (``due``).

    Each checkpoint signs only the chains that moved since the one before, so the heads of all
    chains are those of the newest checkpoint folded over the ones before it: what a signed
    tree head states at once, here stated by the chain of checkpoints.
    """

    def __init__(self, keys: CheckpointKeys | None) -> None:
        self._keys = keys
        self._due: dict[str, list[Due]] = {}
        self._signed: dict[str, int] = {}
        self._count = 0
        self.read = 0
        self.latest: Checkpoint | None = None
        """The newest checkpoint read."""

    def add(self, checkpoint: Checkpoint) -> CheckpointProblem | None:
        """Check ``checkpoint`` against the gateway's keys and the one before it."""
        if message := self._opened(checkpoint, self.latest):
            return CheckpointProblem(checkpoint.id, message)
        for chain, head in heads_of(checkpoint).items():
            self._count += head.seq - self._signed.get(chain, 0)
            self._signed[chain] = head.seq
            self._due.setdefault(chain, []).append(Due(checkpoint.id, chain, head))
        if checkpoint.count != self._count:
            return CheckpointProblem(
                checkpoint.id,
                f"counts {checkpoint.count} events, but the heads of its chains add up to "
                f"{self._count}",
            )
        self.read, self.latest = self.read + 1, checkpoint
        return None

    def due(self, chain: str) -> list[Due]:
        """The heads of ``chain`` the checkpoints signed, in the chain's order."""
        return sorted(self._due.pop(chain, []), key=lambda due: due.head.seq)

    def signed(self, chain: str) -> int:
        """How many events of ``chain`` the newest checkpoint signing it covers."""
        return self._signed.get(chain, 0)

    def unreached(self) -> list[Due]:
        """The heads of chains the walk never came to."""
        return [due for dues in self._due.values() for due in dues]

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
            head=Head(0, checkpoint.head_id, checkpoint.head_hash),
            count=checkpoint.count,
            heads=checkpoint.heads,
            previous=previous,
        )
        if body.get("previous") != expected["previous"]:
            after = f"checkpoint #{previous.id}" if previous else "no checkpoint"
            return f"does not follow {after}: a checkpoint between them was deleted"
        if body != expected or key_id != checkpoint.key_id:
            return "its row differs from what the gateway signed (changed)"
        return ""
