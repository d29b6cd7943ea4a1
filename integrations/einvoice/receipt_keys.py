"""The receipt-signing keys as a JWK set (RFC 7517), and checking a JSON receipt against one.

A JSON receipt's ``signature`` is a compact JWS (RS256) over the receipt's canonical JSON; its
header names the key by ``kid``, the SHA-256 fingerprint of the gateway's certificate, which
stays the same across restarts. The gateway publishes every key it has signed receipts with,
the current one and the retired ones, so a receipt stays verifiable for as long as it is kept,
key rotations included. Each key carries its certificate chain in ``x5c`` (leaf first), so a
merchant can tie it to the authority that certified the gateway.

    document = key_set(signer.chains)                # what /.well-known/jwks.json serves
    checked = ReceiptKeys.from_jwks(document).verify(receipt)
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import jwt
import orjson
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding
from jwt.algorithms import RSAAlgorithm

from integrations.einvoice.pki import fingerprint
from integrations.einvoice.receipts import canonical_json
from integrations.errors import GatewayError

ALGORITHM: Final = "RS256"
Chain = Sequence[x509.Certificate]
"""A signing certificate followed by the certificates above it."""


class ReceiptKeysInvalid(GatewayError):
    """A key set cannot be used to check receipts: malformed, or a key its certificate denies."""

    code = "RECEIPT_KEYS_INVALID"
    hint = "Fetch the gateway's key set again from /.well-known/jwks.json."


class ReceiptInvalid(GatewayError):
    """A receipt is not, as it stands, what the gateway signed."""

    code = "RECEIPT_INVALID"
    hint = "Fetch the receipt again from GET /v1/invoices/{id}/receipt; never edit a saved one."


class ReceiptKeyUnknown(ReceiptInvalid):
    """A receipt names a key the key set does not hold."""

    code = "RECEIPT_KEY_UNKNOWN"
    hint = (
        "Check it against the gateway's current key set, which keeps every retired key; "
        "a receipt whose key no set of the gateway holds was not signed by it."
    )


def jwk(chain: Chain) -> dict[str, Any]:
    """The public JWK of the chain's first certificate, with ``kid``, ``alg``, ``use``, ``x5c``."""
    leaf = chain[0]
    public_key = leaf.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise ValueError(f"only RSA keys sign receipts, not {type(public_key).__name__}")
    exported = RSAAlgorithm.to_jwk(public_key, as_dict=True)
    return {
        "kty": exported["kty"],
        "n": exported["n"],
        "e": exported["e"],
        "kid": fingerprint(leaf),
        "alg": ALGORITHM,
        "use": "sig",
        "x5c": [base64.b64encode(c.public_bytes(Encoding.DER)).decode("ascii") for c in chain],
    }


def key_set(chains: Iterable[Chain]) -> dict[str, list[dict[str, Any]]]:
    """The JWK set of ``chains``: each key once, in the order given (the current one first)."""
    keys: dict[str, dict[str, Any]] = {}
    for chain in chains:
        key = jwk(chain)
        keys.setdefault(key["kid"], key)
    return {"keys": list(keys.values())}


@dataclass(frozen=True, slots=True)
class PublishedKey:
    """One receipt-signing key of a set, with the certificate chain it was published with."""

    key_id: str
    public_key: rsa.RSAPublicKey
    chain: tuple[x509.Certificate, ...]


@dataclass(frozen=True, slots=True)
class CheckedReceipt:
    """What ``ReceiptKeys.verify`` found true of a receipt."""

    receipt_id: str
    key: PublishedKey
    fields: int


@dataclass(frozen=True, slots=True)
class ReceiptKeys:
    """The receipt-signing keys of a published set, by ``kid``."""

    keys: Mapping[str, PublishedKey]

    @classmethod
    def from_jwks(cls, document: object) -> ReceiptKeys:
        """Read a JWK set; ``ReceiptKeysInvalid`` when any key is malformed or its ``kid`` and
        public key are not those of the certificate it carries."""
        entries = document.get("keys") if isinstance(document, Mapping) else None
        if not isinstance(entries, list):
            raise ReceiptKeysInvalid('not a JWK set: expected an object with a "keys" list')
        keys = [_published(position, entry) for position, entry in enumerate(entries, start=1)]
        return cls({key.key_id: key for key in keys})

    def verify(self, receipt: object) -> CheckedReceipt:
        """Check that ``receipt``'s JWS verifies with the key its ``kid`` names and signs exactly
        the rest of the receipt; ``ReceiptInvalid`` (or ``ReceiptKeyUnknown``) saying why not."""
        if not isinstance(receipt, Mapping) or not isinstance(receipt.get("signature"), str):
            raise ReceiptInvalid('not a JSON receipt: expected an object with a "signature"')
        token = receipt["signature"]
        try:
            key_id = jwt.api_jws.get_unverified_header(token).get("kid")
        except jwt.InvalidTokenError:
            raise ReceiptInvalid("its signature is not a compact JWS") from None
        key = self.keys.get(key_id) if isinstance(key_id, str) else None
        if key is None:
            known = ", ".join(self.keys) or "none"
            raise ReceiptKeyUnknown(
                f"it names key {key_id!r}, which the key set does not hold (it holds {known})"
            )
        try:
            payload = jwt.api_jws.decode(token, key.public_key, algorithms=[ALGORITHM])
        except jwt.InvalidTokenError as exc:
            raise ReceiptInvalid(
                f"its signature does not verify with key {key_id}: {exc}"
            ) from None
        body = {name: value for name, value in receipt.items() if name != "signature"}
        if payload != canonical_json(body):
            raise ReceiptInvalid(f"key {key_id} signed other content: {_difference(payload, body)}")
        return CheckedReceipt(str(body.get("receiptId", "")), key, len(body))


def _published(position: int, entry: object) -> PublishedKey:
    where = f"key {position}"
    if not isinstance(entry, Mapping) or not isinstance(entry.get("kid"), str):
        raise ReceiptKeysInvalid(f'{where}: expected a JWK object with a "kid"')
    where = f"key {entry['kid']}"
    try:
        parsed = jwt.PyJWK(dict(entry), algorithm=ALGORITHM)
        chain = tuple(
            x509.load_der_x509_certificate(base64.b64decode(item, validate=True))
            for item in entry.get("x5c") or ()
        )
    except (jwt.PyJWKError, jwt.InvalidKeyError, binascii.Error, TypeError, ValueError) as exc:
        raise ReceiptKeysInvalid(f"{where}: not a usable {ALGORITHM} key: {exc}") from None
    if not isinstance(parsed.key, rsa.RSAPublicKey):
        raise ReceiptKeysInvalid(f"{where}: not an RSA public key")
    if chain and chain[0].public_key() != parsed.key:
        raise ReceiptKeysInvalid(f"{where}: its key is not the key of its x5c certificate")
    if chain and fingerprint(chain[0]) != entry["kid"]:
        raise ReceiptKeysInvalid(f"{where}: its kid is not its x5c certificate's fingerprint")
    return PublishedKey(entry["kid"], parsed.key, chain)


def _difference(payload: bytes, body: Mapping[str, Any]) -> str:
    """Which fields of the receipt differ from what was signed, by name."""
    try:
        signed = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return "the signed payload is not JSON"
    if not isinstance(signed, dict):
        return "the signed payload is not a JSON object"
    names = sorted(n for n in signed.keys() | body.keys() if signed.get(n) != body.get(n))
    if not names:
        return "the same fields, written differently"
    return f"{', '.join(names)} differ{'s' if len(names) == 1 else ''} from the signed receipt"
