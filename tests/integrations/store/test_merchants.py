from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from integrations.einvoice.pki import CertificateAuthority, fingerprint
from integrations.store.merchants import MerchantNotFound, MerchantRegistry, RegistryError
from integrations.store.models import MerchantStatus

pytestmark = pytest.mark.usefixtures("db")


async def test_add_normalises_the_tax_code_and_refuses_a_second_time() -> None:
    registry = MerchantRegistry()
    view = await registry.add("0313032391001", "Siêu thị Co.op chi nhánh 1", kind="supermarket")
    assert view.tax_code == "0313032391-001"
    assert view.is_active
    with pytest.raises(RegistryError, match="already registered"):
        await registry.add("0313032391-001", "again")


async def test_bad_tax_code_is_refused_with_the_reason() -> None:
    with pytest.raises(RegistryError, match="check digit"):
        await MerchantRegistry().add("0100109107", "Nhà hàng")


async def test_status_and_provider_grants() -> None:
    registry = MerchantRegistry()
    await registry.add("0100109106", "Nhà hàng Phở Hà Nội", kind="restaurant")
    await registry.grant("0100109106", "0309612872", can_sign=True, can_submit=False)
    view = await registry.set_status("0100109106", MerchantStatus.SUSPENDED)
    assert not view.is_active
    assert view.may_sign("0309612872")
    assert not view.may_submit("0309612872")
    assert view.may_submit("0100109106")
    assert not view.may_sign("0106324653")


async def test_unknown_merchant() -> None:
    with pytest.raises(MerchantNotFound):
        await MerchantRegistry().get("0319303270")
    assert await MerchantRegistry().find("0319303270") is None


async def test_cached_reads_see_changes_made_here_at_once_and_others_after_max_age() -> None:
    now = [100.0]
    registry = MerchantRegistry(clock=lambda: now[0])
    elsewhere = MerchantRegistry()
    await registry.add("0100109106", "Nhà hàng Phở Hà Nội")
    assert (await registry.find("0100109106", max_age=5)).is_active
    await registry.set_status("0100109106", MerchantStatus.SUSPENDED)
    assert not (await registry.find("0100109106", max_age=5)).is_active
    await elsewhere.set_status("0100109106", MerchantStatus.ACTIVE)
    assert not (await registry.find("0100109106", max_age=5)).is_active
    now[0] += 6
    assert (await registry.find("0100109106", max_age=5)).is_active


async def test_pinning_and_registered_certificates_are_read_back() -> None:
    registry = MerchantRegistry()
    await registry.add("0100109106", "Nhà hàng Phở Hà Nội")
    await registry.add("0319303270", "Khách sạn Sông Sài Gòn")
    await registry.grant("0100109106", "0309612872", can_sign=False, can_submit=True)
    now = datetime.now(UTC)
    ca = CertificateAuthority.create("Registry test CA", valid_from=now, valid_days=30)
    signer = ca.issue("Thu ngân", tax_code=None, valid_from=now, valid_to=now + timedelta(days=9))
    registered = await registry.add_certificate(
        "0100109106", signer.certificate.public_bytes(Encoding.PEM)
    )
    assert registered.fingerprint == fingerprint(signer.certificate)
    with pytest.raises(RegistryError, match="already registered for 0100109106"):
        await registry.add_certificate("0319303270", signer.certificate.public_bytes(Encoding.PEM))
    view = await registry.pin("0100109106", certificates_only=True)
    assert view.certificates_only
    assert view.as_dict()["certificatesOnly"] is True
    assert view.holds_certificate(registered.fingerprint)
    assert not (await registry.get("0319303270")).holds_certificate(registered.fingerprint)
    assert not view.may_sign("0309612872")
    assert view.may_submit("0309612872")
    assert not (await registry.pin("0100109106", certificates_only=False)).certificates_only
