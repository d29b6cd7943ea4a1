"""Columns derived once when an invoice is stored, so that filters and summaries are plain SQL.

A province is the 3-digit code of ``identity.PROVINCES``. A personal ID number names it in its
first three digits. A tax code names only the range of the issuing tax office in its first two
digits: the four city ranges map to their province, any other range is kept as ``T`` and the
two digits, so that grouping still separates it from the rest.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

from integrations.store.models import InvoiceKind

OFFICE_PROVINCES: Final = MappingProxyType({"01": "001", "02": "031", "03": "079", "04": "048"})
_TEMPLATE_KINDS: Final = MappingProxyType({"1": InvoiceKind.VAT, "2": InvoiceKind.SALES})


def invoice_kind(template: str, series: str, *, is_cash_register: bool) -> InvoiceKind:
    """Cash register first (kind letter ``M``), else the template: 1 VAT, 2 sales."""
    if is_cash_register or series[3:4] == "M":
        return InvoiceKind.CASH_REGISTER
    return _TEMPLATE_KINDS.get(template, InvoiceKind.OTHER)


def province_of(identity: str | None) -> str:
    """The province key of a personal ID number or tax code; empty when there is none."""
    if not identity:
        return ""
    if len(identity) == 12 and identity.isdigit():
        return identity[:3]
    prefix = identity[:2]
    return OFFICE_PROVINCES.get(prefix, f"T{prefix}")
