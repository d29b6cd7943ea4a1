"""Trusted documents: operations published ahead of time and named by their sha256.

First-party apps send ``documentId`` ("sha256:<hex>" or bare hex) or the APQ form
``extensions.persistedQuery.sha256Hash`` instead of the query text. Roles configured to
require trusted documents may not send free-form queries, except the exact text of a
trusted one. The set is fixed at start: unknown ids are never registered on the fly.

The manifest is JSON, either a flat object (GraphQL Codegen's persisted documents)::

    {"sha256:5b0f…": "query Me { me { fullName } }"}

or Apollo's persisted query manifest (``{"operations": [{"id": …, "body": …}, …]}``).
Every id must be the sha256 of its document, so a manifest cannot alias one text to another.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from resolvers.errors import InvalidDocumentId, PersistedQueryNotFound, TrustedDocumentRequired

_PREFIX = "sha256:"
_HEX = re.compile(r"^[0-9a-f]{64}$")


class TrustedManifestError(ValueError):
    """The trusted-document manifest cannot be read or does not hold what it claims."""

    code = "TRUSTED_DOCUMENTS_INVALID"


@dataclass(frozen=True)
class DocumentRequest:
    """The ways one request can name its document, as sent."""

    query: str | None = None
    document_id: str | None = None
    persisted_hash: str | None = None


def document_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class TrustedDocuments:
    """The published operations, by sha256 of their exact text."""

    def __init__(self, documents: Mapping[str, str] | None = None) -> None:
        self._documents: dict[str, str] = {}
        for key, text in (documents or {}).items():
            digest = _normalise(key)
            if digest is None or document_hash(text) != digest:
                raise TrustedManifestError(f"id {key!r} is not the sha256 of its document")
            self._documents[digest] = text

    @classmethod
    def from_manifest(cls, path: Path) -> TrustedDocuments:
        try:
            content = orjson.loads(path.read_bytes())
        except OSError as exc:
            raise TrustedManifestError(f"cannot read {path}: {exc.strerror}") from exc
        except orjson.JSONDecodeError as exc:
            raise TrustedManifestError(f"{path} is not valid JSON: {exc}") from exc
        return cls(_entries(content, path))

    def __len__(self) -> int:
        return len(self._documents)

    def document(self, document_id: str) -> str:
        digest = _normalise(document_id)
        if digest is None:
            raise InvalidDocumentId(f"Document id {document_id!r} is not a sha256 hash")
        try:
            return self._documents[digest]
        except KeyError:
            raise PersistedQueryNotFound("PersistedQueryNotFound") from None

    def resolve(self, request: DocumentRequest, *, trusted_only: bool) -> str | None:
        """The document text to run, or None when the request names none.

        Raises PersistedQueryNotFound, InvalidDocumentId or TrustedDocumentRequired.
        """
        if request.document_id is not None:
            if request.query is not None:
                raise InvalidDocumentId("Send either documentId or query, not both")
            return self.document(request.document_id)
        if request.persisted_hash is not None:
            if request.query is None:
                return self.document(request.persisted_hash)
            if _normalise(request.persisted_hash) != document_hash(request.query):
                raise InvalidDocumentId("persistedQuery.sha256Hash does not match the query")
        if request.query is None:
            return None
        if trusted_only and document_hash(request.query) not in self._documents:
            raise TrustedDocumentRequired("This client may only run trusted documents")
        return request.query


def _normalise(document_id: str) -> str | None:
    digest = document_id.removeprefix(_PREFIX).lower()
    return digest if _HEX.match(digest) else None


def _entries(content: Any, path: Path) -> dict[str, str]:
    if isinstance(content, dict) and isinstance(content.get("operations"), list):
        pairs = [
            (op.get("id"), op.get("body")) for op in content["operations"] if isinstance(op, dict)
        ]
        if len(pairs) != len(content["operations"]):
            raise TrustedManifestError(f"{path}: every operation must be an object")
    elif isinstance(content, dict):
        pairs = list(content.items())
    else:
        raise TrustedManifestError(f"{path}: expected a JSON object of id to document")
    if not all(isinstance(key, str) and isinstance(text, str) for key, text in pairs):
        raise TrustedManifestError(f"{path}: every id and document must be a string")
    return dict(pairs)
