"""Key material the gateway runs with: configured files, or a demo PKI made on first start.

Production names its trust anchors, CRLs and the gateway's own signing key in settings, with
the certificates of the keys it signed with before a rotation (published, so that what they
signed still verifies). Demo and development modes, when those are not set, create a local demo
certificate authority under ``<data_dir>/pki`` once and reuse it on every later start. The CRL
files are read again whenever one of them changes (``CrlWatch``), since revocations come after
the start: ``gateway pki revoke`` rewrites the demo's, a fetcher the production ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from gateway.config import ConfigError, Settings
from integrations.einvoice.pki import CertificateAuthority, SignerIdentity, write_crl
from integrations.einvoice.signature import Revocation, TrustStore, read_crls

DEMO_CA_NAME = "Demo Signature CA (not for production)"
GATEWAY_NAME = "Cổng dữ liệu hóa đơn điện tử (demo)"
RETIRED_SETTING = "GATEWAY_SIGNING_RETIRED_CERTS"


@dataclass(frozen=True, slots=True)
class DemoPki:
    folder: Path

    @property
    def ca_files(self) -> tuple[Path, Path]:
        return self.folder / "ca.key.pem", self.folder / "ca.cert.pem"

    @property
    def crl_file(self) -> Path:
        return self.folder / "ca.crl.pem"

    @property
    def gateway_files(self) -> tuple[Path, Path]:
        return self.folder / "gateway.key.pem", self.folder / "gateway.cert.pem"

    def merchant_files(self, tax_code: str) -> tuple[Path, Path]:
        return (
            self.folder / f"merchant-{tax_code}.key.pem",
            self.folder / f"merchant-{tax_code}.cert.pem",
        )

    def authority(self) -> CertificateAuthority:
        return CertificateAuthority.load(*self.ca_files)

    def ensure(self) -> DemoPki:
        """Create the CA, its (empty) CRL and the gateway identity unless they exist."""
        if not self.ca_files[1].exists():
            now = datetime.now(UTC)
            ca = CertificateAuthority.create(
                DEMO_CA_NAME, valid_from=now - timedelta(days=1), valid_days=3650
            )
            ca.to_pem_files(self.folder, "ca")
            write_crl(ca.revoke([], revoked_at=now), self.crl_file)
            ca.issue(
                GATEWAY_NAME,
                tax_code=None,
                valid_from=now - timedelta(days=1),
                valid_to=now + timedelta(days=3650),
            ).to_pem_files(self.folder, "gateway")
        return self

    def ensure_merchant(self, tax_code: str, name: str) -> SignerIdentity:
        key_path, cert_path = self.merchant_files(tax_code)
        if not cert_path.exists():
            now = datetime.now(UTC)
            self.authority().issue(
                name,
                tax_code=tax_code,
                valid_from=now - timedelta(days=1),
                valid_to=now + timedelta(days=730),
            ).to_pem_files(self.folder, f"merchant-{tax_code}")
        return SignerIdentity.load(key_path, cert_path)


Stamp = tuple[int, int] | None
"""A file's modification time (ns) and size, or None while it is missing."""


class CrlWatch:
    """The CRL files a trust store was read from, read again into it when one of them changes.

    Each worker looks at the files' modification times and sizes on its own; a file that cannot
    be read or parsed now (half written, say) is tried again at the next look.
    """

    def __init__(self, paths: Sequence[Path], trust: TrustStore, seen: Sequence[Stamp]) -> None:
        self.paths = tuple(paths)
        self.trust = trust
        self._seen = tuple(seen)

    @staticmethod
    def stamps(paths: Sequence[Path]) -> tuple[Stamp, ...]:
        return tuple(_stamp(path) for path in paths)

    def reload(self) -> set[Revocation]:
        """The certificates revoked anew, once a file changed since the last look (else none).

        Raises ``TrustStoreError`` when a changed file cannot be used; the lists held stay.
        """
        stamps = self.stamps(self.paths)
        if stamps == self._seen:
            return set()
        revoked = self.trust.reload(read_crls(self.paths))
        self._seen = stamps
        return revoked


def _stamp(path: Path) -> Stamp:
    try:
        status = path.stat()
    except OSError:
        return None
    return status.st_mtime_ns, status.st_size


@dataclass(frozen=True, slots=True)
class KeyMaterial:
    trust: TrustStore
    signer: SignerIdentity
    crls: CrlWatch
    """The CRL files behind ``trust``, to read again when they change."""
    retired: tuple[tuple[x509.Certificate, ...], ...] = ()
    """Certificate chains of the gateway's retired signing keys, leaf first."""


def load_retired_certificates(paths: tuple[Path, ...]) -> tuple[tuple[x509.Certificate, ...], ...]:
    """The chains in ``GATEWAY_SIGNING_RETIRED_CERTS``: one retired RSA key per file, its
    certificate first, as in ``GATEWAY_SIGNING_CERT``."""
    chains = []
    for path in paths:
        try:
            chain = tuple(x509.load_pem_x509_certificates(path.read_bytes()))
        except OSError as exc:
            raise ConfigError(f"{RETIRED_SETTING}: cannot read {path}: {exc.strerror}") from None
        except ValueError:
            raise ConfigError(f"{RETIRED_SETTING}: {path} holds no PEM certificate") from None
        if not isinstance(chain[0].public_key(), rsa.RSAPublicKey):
            raise ConfigError(f"{RETIRED_SETTING}: {path} is not the certificate of an RSA key")
        chains.append(chain)
    return tuple(chains)


def load_key_material(settings: Settings) -> KeyMaterial:
    anchors, crls = settings.trust_anchors, settings.crl_files
    key, cert = settings.signing_key, settings.signing_cert
    if not anchors or key is None or cert is None:
        if settings.mode == "production":
            raise ConfigError(
                "GATEWAY_TRUST_ANCHORS, GATEWAY_SIGNING_KEY and GATEWAY_SIGNING_CERT are required "
                "in production mode"
            )
        pki = DemoPki(settings.data_dir / "pki").ensure()
        anchors = anchors or (pki.ca_files[1],)
        crls = crls or (pki.crl_file,)
        key, cert = (key, cert) if key and cert else pki.gateway_files
    # Stamped before reading, so that a change made meanwhile is read at the first look.
    seen = CrlWatch.stamps(crls)
    trust = TrustStore.from_files(anchors, crls)
    return KeyMaterial(
        trust,
        SignerIdentity.load(key, cert),
        CrlWatch(crls, trust, seen),
        load_retired_certificates(settings.signing_retired_certs),
    )
