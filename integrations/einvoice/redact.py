"""Copies of a stored invoice with the buyer's contact details blanked, for readers who may
read the invoice but not those fields (``integrations.access.policy.masked_invoice_fields``).

A redacted copy no longer verifies: it is a view, never the original, and says so by the
``MASKED`` text that replaces each hidden value.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Final

from lxml import etree

from integrations.access.policy import SensitiveField
from integrations.einvoice.parse import make_parser

MASK: Final = "MASKED"
BUYER: Final = "DLHDon/NDHDon/NMua"
ELEMENTS: Final = {
    SensitiveField.PHONE: "SDThoai",
    SensitiveField.EMAIL: "DCTDTu",
    SensitiveField.BANK_ACCOUNT: "STKNHang",
}


def redact_buyer(raw: bytes, hidden: Collection[SensitiveField]) -> bytes:
    """``raw`` with the buyer's ``hidden`` fields replaced by ``MASK``; unchanged if none.

    ``raw`` is an invoice the intake accepted, so it parses with the hardened parser.
    """
    if not hidden:
        return raw
    root = etree.fromstring(raw, parser=make_parser())
    for buyer in root.findall(BUYER):
        for field in hidden:
            for element in buyer.findall(ELEMENTS[field]):
                if element.text:
                    element.text = MASK
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
