from __future__ import annotations

import json
from pathlib import Path

import pytest

from resolvers.errors import InvalidDocumentId, PersistedQueryNotFound, TrustedDocumentRequired
from resolvers.hardening import (
    DocumentRequest,
    Hardening,
    HardeningSettings,
    TrustedDocuments,
    TrustedManifestError,
    document_hash,
)

ME = "query Me { hello }"
ME_ID = document_hash(ME)
STORE = TrustedDocuments({f"sha256:{ME_ID}": ME})


def test_manifest_in_either_format_loads(tmp_path: Path) -> None:
    flat = tmp_path / "flat.json"
    flat.write_text(json.dumps({f"sha256:{ME_ID}": ME}))
    apollo = tmp_path / "apollo.json"
    apollo.write_text(
        json.dumps(
            {
                "format": "apollo-persisted-query-manifest",
                "version": 1,
                "operations": [{"id": ME_ID, "name": "Me", "body": ME}],
            }
        )
    )
    for path in (flat, apollo):
        assert TrustedDocuments.from_manifest(path).document(ME_ID) == ME


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(json.dumps({"0" * 64: ME}), "not the sha256", id="wrong-hash"),
        pytest.param(json.dumps({"me": ME}), "not the sha256", id="not-a-hash"),
        pytest.param(json.dumps([ME]), "expected a JSON object", id="list"),
        pytest.param(json.dumps({ME_ID: 1}), "must be a string", id="not-text"),
        pytest.param("{", "not valid JSON", id="broken"),
    ],
)
def test_bad_manifests_are_refused(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "manifest.json"
    path.write_text(content)
    with pytest.raises(TrustedManifestError, match=message):
        TrustedDocuments.from_manifest(path)


def test_missing_manifest_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TrustedManifestError, match="cannot read"):
        TrustedDocuments.from_manifest(tmp_path / "none.json")


@pytest.mark.parametrize(
    "request_",
    [
        pytest.param(DocumentRequest(document_id=f"sha256:{ME_ID}"), id="document-id"),
        pytest.param(DocumentRequest(document_id=ME_ID.upper()), id="bare-hex"),
        pytest.param(DocumentRequest(persisted_hash=ME_ID), id="apq-hash-only"),
        pytest.param(DocumentRequest(query=ME, persisted_hash=ME_ID), id="apq-with-query"),
        pytest.param(DocumentRequest(query=ME), id="trusted-text"),
    ],
)
def test_trusted_documents_resolve_for_restricted_roles(request_: DocumentRequest) -> None:
    assert STORE.resolve(request_, trusted_only=True) == ME


def test_free_form_queries_need_an_unrestricted_role() -> None:
    request = DocumentRequest(query="{ people { name } }")
    assert STORE.resolve(request, trusted_only=False) == "{ people { name } }"
    with pytest.raises(TrustedDocumentRequired) as info:
        STORE.resolve(request, trusted_only=True)
    assert info.value.code == "TRUSTED_DOCUMENT_REQUIRED"


@pytest.mark.parametrize(
    ("request_", "error"),
    [
        pytest.param(DocumentRequest(document_id="1" * 64), PersistedQueryNotFound, id="unknown"),
        pytest.param(DocumentRequest(document_id="sha1:abc"), InvalidDocumentId, id="not-sha256"),
        pytest.param(
            DocumentRequest(query=ME, document_id=ME_ID), InvalidDocumentId, id="id-and-query"
        ),
        pytest.param(
            DocumentRequest(query="{ hello }", persisted_hash=ME_ID),
            InvalidDocumentId,
            id="hash-mismatch",
        ),
    ],
)
def test_bad_document_requests_are_refused(
    request_: DocumentRequest, error: type[Exception]
) -> None:
    with pytest.raises(error):
        STORE.resolve(request_, trusted_only=False)


def test_no_document_at_all_resolves_to_none() -> None:
    assert STORE.resolve(DocumentRequest(), trusted_only=True) is None


def test_hardening_applies_the_roles_and_sizes_caches_for_the_set() -> None:
    settings = HardeningSettings(
        trusted_documents_required_for_roles=frozenset({"app"}), cache_size=100
    )
    hardening = Hardening(settings, STORE)
    assert hardening.cache_size == 101
    free_form = DocumentRequest(query="{ hello }")
    assert hardening.document_for(free_form, "officer") == "{ hello }"
    assert hardening.document_for(free_form, None) == "{ hello }"
    with pytest.raises(TrustedDocumentRequired):
        hardening.document_for(free_form, "app")
