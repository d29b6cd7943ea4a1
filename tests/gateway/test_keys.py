"""The key material a gateway runs with, and its revocation lists read again as they change."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway.config import load_settings
from gateway.keys import DemoPki, load_key_material
from integrations.einvoice.pki import write_crl
from integrations.einvoice.signature import TrustStoreError

NOW = datetime.now(UTC)


def rewrite(path: Path, data: bytes, moment: int) -> None:
    """Write ``data`` with its own modification time, as a later write would have."""
    path.write_bytes(data)
    os.utime(path, ns=(moment, moment))


def test_the_crl_files_are_read_again_once_one_changes(tmp_path: Path) -> None:
    keys = load_key_material(load_settings(environ={}, data_dir=str(tmp_path)))
    pki = DemoPki(tmp_path / "pki")
    seller = pki.ensure_merchant("0100109106", "Nhà hàng Sen Hồ Tây")
    issuer = pki.authority().certificate.subject.rfc4514_string()
    assert keys.crls.reload() == set()
    revoking = pki.authority().revoke([seller.serial_number], revoked_at=NOW)
    listed = write_crl(revoking, tmp_path / "listed.pem").read_bytes()
    rewrite(pki.crl_file, listed, 2_000_000_000_000_000_000)
    assert keys.crls.reload() == {(issuer, seller.serial_number)}
    assert keys.trust.is_revoked(seller.certificate, NOW)
    assert keys.crls.reload() == set(), "unchanged files are not read again"
    rewrite(pki.crl_file, listed[: len(listed) // 2], 2_000_000_001_000_000_000)
    with pytest.raises(TrustStoreError, match="cannot read"):
        keys.crls.reload()
    assert keys.trust.is_revoked(seller.certificate, NOW), "a half-written file changes nothing"
    rewrite(pki.crl_file, listed, 2_000_000_002_000_000_000)
    assert keys.crls.reload() == set(), "read again, it revokes nothing new"
    pki.crl_file.unlink()
    with pytest.raises(TrustStoreError, match="cannot read"):
        keys.crls.reload()
