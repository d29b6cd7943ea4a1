"""(a) The in-process ceiling of the intake on one core: parse, XSD, verify, receipt seal.

Pre-generates unique signed invoices, then times each CPU stage over all of them in this one
process and prints the per-invoice cost, the invoices a second it allows, and each stage's
ratio to the budget in architecture.md §6. Run: python -m bench.intake_ceiling [count]
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from lxml import etree

from bench.invoices import bench_pki, signed_invoices
from integrations.einvoice.authority import new_tax_authority_code, stamp_invoice
from integrations.einvoice.checks import Checker
from integrations.einvoice.document import extract_invoice
from integrations.einvoice.parse import Limits, parse_document
from integrations.einvoice.pki import SignerIdentity
from integrations.einvoice.receipts import ReceiptSigner
from integrations.einvoice.schema import Schemas, default_xsd_dir
from integrations.einvoice.signature import SignaturePolicy, TrustStore, verify_invoice_signature

BUDGET_MS = {"parse + XSD": 0.07, "verify": 0.75, "receipt seal": 0.9}


def timed(label: str, items: list[bytes], step: Callable[[bytes], object]) -> float:
    started = time.perf_counter()
    for item in items:
        step(item)
    per_item_ms = (time.perf_counter() - started) * 1000 / len(items)
    budget = BUDGET_MS.get(label)
    ratio = f"  ({per_item_ms / budget:.2f}x budget {budget} ms)" if budget else ""
    print(f"  {label:<28} {per_item_ms:7.3f} ms{ratio}")
    return per_item_ms


def main(count: int) -> float:
    with tempfile.TemporaryDirectory() as folder:
        pki, seller = bench_pki(Path(folder))
        trust = TrustStore.from_files([pki.ca_files[1]], [pki.crl_file])
        gateway = ReceiptSigner(SignerIdentity.load(*pki.gateway_files))
        print(f"generating {count} signed invoices ...")
        invoices = list(signed_invoices(seller, 1, count))
    size = sum(map(len, invoices)) / len(invoices)
    print(f"intake ceiling, one core, {count} invoices of {size / 1024:.1f} KB:")
    limits = Limits()
    schemas = Schemas(default_xsd_dir())
    checker = Checker(schemas=schemas, trust=trust)
    now = datetime.now(UTC)
    policy = SignaturePolicy()

    def verify(raw: bytes) -> object:
        return verify_invoice_signature(etree.fromstring(raw), trust, policy, now=now)

    def stamp(raw: bytes) -> object:
        code = new_tax_authority_code()
        return stamp_invoice(raw, code=code, authority=gateway.identity, signing_time=now)

    timed(
        "parse + XSD", invoices, lambda raw: schemas.validate_invoice(parse_document(raw, limits))
    )
    timed("verify", invoices, verify)
    timed("extract", invoices, lambda raw: extract_invoice(etree.fromstring(raw).find("DLHDon")))
    checks = timed("all checks (Checker.invoice)", invoices, lambda r: checker.invoice(r, now=now))
    seal = timed("receipt seal", invoices, lambda raw: gateway.seal({"size": len(raw)}))
    stamping = timed("tax authority stamp", invoices, stamp)
    report("ceiling (checks + receipt seal)", checks + seal)
    return report("ceiling of a coded invoice (+ stamp)", checks + seal + stamping)


def report(label: str, per_invoice_ms: float) -> float:
    rate = 1000 / per_invoice_ms
    print(f"  {label}: {per_invoice_ms:.3f} ms = {rate:.0f} invoices/s")
    return rate


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
