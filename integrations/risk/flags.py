"""The registry of risk flag codes: stable strings, each with what raises it and why it matters.

A flag is a lead for a tax officer, not a rejection: the invoice stays accepted. Codes never
change meaning once published; add new ones instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class FlagCode(StrEnum):
    TOTALS_INCONSISTENT = "TOTALS_INCONSISTENT"
    BUYER_UNKNOWN = "BUYER_UNKNOWN"
    CERT_REVOKED = "CERT_REVOKED"
    CERT_NEAR_EXPIRY = "CERT_NEAR_EXPIRY"
    NUMBERING_GAP = "NUMBERING_GAP"
    NUMBER_REUSED = "NUMBER_REUSED"
    ISSUED_AFTER_CEASED = "ISSUED_AFTER_CEASED"
    DUPLICATE_ATTEMPT = "DUPLICATE_ATTEMPT"


@dataclass(frozen=True, slots=True)
class Flag:
    """A flag a check raises on one invoice, with the facts that raised it."""

    code: FlagCode
    detail: str = ""


DESCRIPTIONS: dict[FlagCode, str] = {
    FlagCode.TOTALS_INCONSISTENT: (
        "The stored totals are not exactly what the stored lines give: the amount before tax"
        " of a VAT invoice differs from the signed sum of the lines, or the tax differs from"
        " the lines' amount times rate by more than the rounding of each line. The intake"
        " refuses larger differences, so this catches rounding used to shave tax and invoices"
        " loaded in bulk."
    ),
    FlagCode.BUYER_UNKNOWN: "The buyer's personal ID number is not on the population registry.",
    FlagCode.CERT_REVOKED: "The certificate that signed the invoice has since been revoked.",
    FlagCode.CERT_NEAR_EXPIRY: (
        "The signing certificate expired within the warning window after the issue date."
    ),
    FlagCode.NUMBERING_GAP: (
        "Numbers below this one in its series are missing; cleared when they arrive."
    ),
    FlagCode.NUMBER_REUSED: (
        "The seller used the same series and number under another template, or a lower number"
        " of the series carries a later issue date."
    ),
    FlagCode.ISSUED_AFTER_CEASED: (
        "The invoice is dated after the seller's tax registration ceased."
    ),
    FlagCode.DUPLICATE_ATTEMPT: (
        "Other content was submitted under this invoice's key after it was accepted."
    ),
}
