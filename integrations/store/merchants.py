"""The merchant registry: sellers, their certificates, and providers allowed to act for them."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from integrations.einvoice.pki import fingerprint, serial_text
from integrations.errors import GatewayError
from integrations.identity import parse_taxpayer_id
from integrations.store.models import Certificate, Merchant, MerchantStatus, ProviderGrant
from integrations.store.risk import RiskStore


class RegistryError(GatewayError):
    """A registry operation was refused."""

    code = "REGISTRY_INVALID"


class MerchantNotFound(RegistryError):
    code = "MERCHANT_NOT_FOUND"
    hint = "Register the merchant first with `gateway merchants add`."


@dataclass(frozen=True, slots=True)
class CertificateView:
    fingerprint: str
    serial: str
    subject: str
    issuer: str
    not_before: datetime
    not_after: datetime


@dataclass(frozen=True, slots=True)
class Grant:
    provider_tax_code: str
    can_sign: bool
    can_submit: bool


@dataclass(frozen=True, slots=True)
class MerchantView:
    tax_code: str
    name: str
    kind: str
    address: str
    status: MerchantStatus
    certificates: tuple[CertificateView, ...] = ()
    grants: tuple[Grant, ...] = ()
    certificates_only: bool = False
    """Pinned: only the certificates registered here may sign, whatever others name."""

    @property
    def is_active(self) -> bool:
        return self.status is MerchantStatus.ACTIVE

    def holds_certificate(self, fingerprint: str) -> bool:
        return any(c.fingerprint == fingerprint for c in self.certificates)

    def may_sign(self, tax_code: str) -> bool:
        return tax_code == self.tax_code or any(
            g.can_sign and g.provider_tax_code == tax_code for g in self.grants
        )

    def may_submit(self, tax_code: str) -> bool:
        return tax_code == self.tax_code or any(
            g.can_submit and g.provider_tax_code == tax_code for g in self.grants
        )

    def as_dict(self) -> dict[str, object]:
        return {
            "taxCode": self.tax_code,
            "name": self.name,
            "kind": self.kind,
            "address": self.address,
            "status": self.status.value,
            "certificatesOnly": self.certificates_only,
            "certificates": [
                {
                    "fingerprint": c.fingerprint,
                    "serial": c.serial,
                    "subject": c.subject,
                    "issuer": c.issuer,
                    "notBefore": c.not_before.isoformat(),
                    "notAfter": c.not_after.isoformat(),
                }
                for c in self.certificates
            ],
            "providers": [
                {"taxCode": g.provider_tax_code, "canSign": g.can_sign, "canSubmit": g.can_submit}
                for g in self.grants
            ],
        }


def normalise_tax_code(text: str) -> str:
    try:
        return str(parse_taxpayer_id(text))
    except ValueError as exc:
        raise RegistryError(f"{text!r} is not a tax code: {exc}") from exc


class MerchantRegistry:
    """The registry, with a short-lived read cache for the intake's hot path.

    Every change made through this object drops its cached view once committed, and then
    calls each of ``changed`` with the tax code, so that other processes can be told to
    ``forget`` theirs; a change they are never told of shows after at most the ``max_age`` a
    reader asks for.
    """

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._cache: dict[str, tuple[float, MerchantView | None]] = {}
        self.changed: list[Callable[[str], None]] = []

    def forget(self, tax_code: str | None = None) -> None:
        """Drop the cached view of ``tax_code`` (of every merchant when None)."""
        if tax_code is None:
            self._cache.clear()
        else:
            self._cache.pop(tax_code, None)

    async def add(
        self, tax_code: str, name: str, *, kind: str = "business", address: str = ""
    ) -> MerchantView:
        code = normalise_tax_code(tax_code)
        if not name.strip():
            raise RegistryError("a merchant needs a name")
        self._cache.clear()
        try:
            await Merchant.create(tax_code=code, name=name.strip(), kind=kind, address=address)
        except IntegrityError:
            raise RegistryError(f"merchant {code} is already registered") from None
        self._committed(code)
        return await self.get(code)

    async def ensure(
        self, tax_code: str, name: str, *, kind: str = "business", address: str = ""
    ) -> MerchantView:
        """Register the merchant unless it exists; used to seed demo data repeatably."""
        code = normalise_tax_code(tax_code)
        self._cache.clear()
        _, created = await Merchant.get_or_create(
            tax_code=code, defaults={"name": name, "kind": kind, "address": address}
        )
        if created:
            self._committed(code)
        return await self.get(code)

    async def set_status(self, tax_code: str, status: MerchantStatus) -> MerchantView:
        """Change the status; a change also marks the merchant's invoices for the risk sweeper,
        since a seller suspended or closed is often one whose tax registration has ceased."""
        merchant = await self._merchant(tax_code)
        if MerchantStatus(merchant.status) is not status:
            async with in_transaction():
                merchant.status = status
                await merchant.save(update_fields=["status"])
                await RiskStore().reassess_sold_by([merchant.tax_code])
            self._committed(merchant.tax_code)
        return await self.get(merchant.tax_code)

    async def pin(self, tax_code: str, *, certificates_only: bool) -> MerchantView:
        """Accept only the merchant's registered certificates (or, unpinned, also those that
        name it or a provider signing for it)."""
        merchant = await self._merchant(tax_code)
        merchant.certificates_only = certificates_only
        await merchant.save(update_fields=["certificates_only"])
        self._committed(merchant.tax_code)
        return await self.get(merchant.tax_code)

    async def add_certificate(self, tax_code: str, pem: bytes) -> CertificateView:
        """Register a signing certificate; one certificate belongs to one merchant."""
        merchant = await self._merchant(tax_code)
        try:
            cert = x509.load_pem_x509_certificate(pem)
        except ValueError as exc:
            raise RegistryError(f"not a PEM certificate: {exc}") from exc
        view = _certificate_view(cert)
        holder = await Certificate.get_or_none(fingerprint=view.fingerprint).prefetch_related(
            "merchant"
        )
        if holder is not None and holder.merchant.tax_code != merchant.tax_code:
            raise RegistryError(
                f"certificate {view.fingerprint} is already registered for "
                f"{holder.merchant.tax_code}"
            )
        await Certificate.get_or_create(
            fingerprint=view.fingerprint,
            defaults={
                "merchant": merchant,
                "serial": view.serial,
                "subject": view.subject,
                "issuer": view.issuer,
                "not_before": view.not_before,
                "not_after": view.not_after,
                "pem": cert.public_bytes(Encoding.PEM).decode(),
            },
        )
        self._committed(merchant.tax_code)
        return view

    async def grant(
        self, tax_code: str, provider_tax_code: str, *, can_sign: bool, can_submit: bool
    ) -> Grant:
        merchant = await self._merchant(tax_code)
        provider = normalise_tax_code(provider_tax_code)
        async with in_transaction():
            await ProviderGrant.update_or_create(
                merchant=merchant,
                provider_tax_code=provider,
                defaults={"can_sign": can_sign, "can_submit": can_submit},
            )
        self._committed(merchant.tax_code)
        return Grant(provider, can_sign, can_submit)

    async def find(self, tax_code: str, *, max_age: float = 0.0) -> MerchantView | None:
        """The merchant as registered, read again when the cached copy is older than max_age."""
        now = self._clock()
        cached = self._cache.get(tax_code)
        if cached is not None and now - cached[0] <= max_age:
            return cached[1]
        view = await self._read(tax_code)
        self._cache[tax_code] = (now, view)
        return view

    async def _read(self, tax_code: str) -> MerchantView | None:
        merchant = await Merchant.get_or_none(tax_code=tax_code).prefetch_related(
            "certificates", "provider_grants"
        )
        if merchant is None:
            return None
        return MerchantView(
            tax_code=merchant.tax_code,
            name=merchant.name,
            kind=merchant.kind,
            address=merchant.address,
            status=MerchantStatus(merchant.status),
            certificates_only=merchant.certificates_only,
            certificates=tuple(
                CertificateView(
                    c.fingerprint, c.serial, c.subject, c.issuer, c.not_before, c.not_after
                )
                for c in merchant.certificates
            ),
            grants=tuple(
                Grant(g.provider_tax_code, g.can_sign, g.can_submit)
                for g in merchant.provider_grants
            ),
        )

    async def get(self, tax_code: str) -> MerchantView:
        view = await self.find(normalise_tax_code(tax_code))
        if view is None:
            raise MerchantNotFound(f"merchant {tax_code} is not registered")
        return view

    async def all(self) -> list[MerchantView]:
        codes = await Merchant.all().order_by("tax_code").values_list("tax_code", flat=True)
        return [await self.get(str(code)) for code in codes]

    def _committed(self, tax_code: str) -> None:
        """A change to ``tax_code`` committed: a view cached while it ran is stale too."""
        self.forget(tax_code)
        for tell in self.changed:
            tell(tax_code)

    async def _merchant(self, tax_code: str) -> Merchant:
        """The row to change; the cache is dropped, since a change follows."""
        self._cache.clear()
        merchant = await Merchant.get_or_none(tax_code=normalise_tax_code(tax_code))
        if merchant is None:
            raise MerchantNotFound(f"merchant {tax_code} is not registered")
        return merchant


def _certificate_view(cert: x509.Certificate) -> CertificateView:
    return CertificateView(
        fingerprint=fingerprint(cert),
        serial=serial_text(cert),
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
    )
