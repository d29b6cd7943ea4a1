"""The one registry of intake finding codes.

The first digit names the stage: 1 transport and XML safety, 2 signature and certificate,
3 schema, 4 registries and identities, 5 business rules and duplicates. A code never changes
meaning once published; add new ones instead. A check that moves to another stage gets a new
code in that stage's family, and the old number goes to ``RETIRED``, never to be given again.
The README table and the parametrised tests are generated from ``REGISTRY``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from integrations.einvoice.findings import Finding, Omission, Severity, listing

E = Severity.ERROR
W = Severity.WARNING


@dataclass(frozen=True, slots=True)
class Code:
    code: str
    severity: Severity
    message: str
    hint: str

    @property
    def stage(self) -> str:
        return STAGES[self.code[0]]

    def finding(
        self,
        detail: str | None = None,
        *,
        path: str = "",
        line: int | None = None,
        severity: Severity | None = None,
    ) -> Finding:
        message = f"{self.message}: {detail}" if detail else self.message
        return Finding(
            code=self.code,
            message=message,
            severity=severity or self.severity,
            path=path,
            hint=self.hint,
            line=line,
        )


STAGES = {
    "1": "transport",
    "2": "signature",
    "3": "schema",
    "4": "identity",
    "5": "rules",
}

REGISTRY: dict[str, Code] = {}

RETIRED: dict[str, str] = {
    "2016": "Cash-register code is malformed: a business rule, not a signature's; now 5025",
    "5003": "Template number is invalid: a value outside the format, found by the XSD as 3001",
}
"""Numbers no longer raised: what each meant, and what reports it now."""


def _code(code: str, severity: Severity, message: str, hint: str) -> Code:
    if code in REGISTRY:
        raise ValueError(f"finding code {code} registered twice")
    if code in RETIRED:
        raise ValueError(f"finding code {code} is retired: {RETIRED[code]}")
    entry = Code(code, severity, message, hint)
    REGISTRY[code] = entry
    return entry


# 1xxx transport and XML safety
TOO_LARGE = _code("1001", E, "Body exceeds the size limit", "Send at most the configured number of bytes; split batches.")
EMPTY_BODY = _code("1002", E, "Body is empty", "Send the signed XML document as the request body.")
WRONG_CONTENT_TYPE = _code("1003", E, "Unsupported content type", "Send Content-Type: application/xml (or text/xml).")
WRONG_ENCODING = _code("1004", E, "Document is not UTF-8", "Encode the document as UTF-8 and declare encoding=\"UTF-8\" or nothing.")
NOT_WELL_FORMED = _code("1005", E, "XML is not well-formed", "Fix the XML syntax at the reported line.")
DTD_FORBIDDEN = _code("1006", E, "DOCTYPE declarations are forbidden", "Remove the DOCTYPE; invoices never need one.")
ENTITY_FORBIDDEN = _code("1007", E, "Entity declarations or references are forbidden", "Write characters directly or use numeric character references.")
XINCLUDE_FORBIDDEN = _code("1008", E, "XInclude and external references are forbidden", "Inline the content; the intake never fetches anything.")
TOO_DEEP = _code("1009", E, "Element nesting exceeds the depth limit", "Invoices nest a dozen levels at most; flatten the document.")
PROCESSING_INSTRUCTION = _code("1010", E, "Processing instructions are forbidden", "Remove <?...?> instructions other than the XML declaration.")
WRONG_ROOT = _code("1011", E, "Unexpected document root", "POST /v1/invoices takes HDon; POST /v1/messages takes TDiep.")
TOO_MANY_ELEMENTS = _code("1012", E, "Document has too many elements", "Split the batch into smaller messages.")
FINDINGS_OMITTED = _code("1013", E, "More findings than an answer lists", "Fix the findings listed and submit again; the rest are only counted.")

# 2xxx signature and certificate
SIGNATURE_MISSING = _code("2001", E, "Seller signature is missing", "Sign DLHDon with the seller certificate into DSCKS/NBan.")
SIGNATURE_INVALID = _code("2002", E, "Signature does not verify", "The signed content changed after signing, or the signature is corrupt; sign again.")
SIGNATURE_REFERENCE = _code("2003", E, "Signature does not cover the invoice data", "Reference DLHDon by its Id and the SigningTime object; nothing else.")
ALGORITHM_FORBIDDEN = _code("2004", E, "Signature algorithm is not allowed", "Use RSA-SHA256 with SHA-256 digests.")
ALGORITHM_WEAK = _code("2005", W, "Signature uses SHA-1", "Move to RSA-SHA256; SHA-1 may be refused in future.")
CERT_UNTRUSTED = _code("2006", E, "Certificate is not issued by a trusted authority", "Sign with a certificate from a licensed signature CA.")
CERT_EXPIRED = _code("2007", E, "Certificate was not valid at the signing time", "Renew the certificate and sign again.")
CERT_REVOKED = _code("2008", E, "Certificate is revoked", "Sign with a valid certificate; the revoked one cannot be used.")
CERT_TAX_CODE = _code("2009", E, "Certificate does not belong to the seller", "Sign with a certificate whose subject carries MST:<seller tax code>, or register the provider for this seller.")
SIGNING_TIME_INVALID = _code("2010", E, "Signing time is missing or malformed", "Add SignatureProperty/SigningTime as YYYY-MM-DDThh:mm:ss.")
SIGNATURE_WRAPPED = _code("2011", E, "Signed invoice data is not the data read", "Do not move or duplicate DLHDon; one DLHDon directly under HDon, signed in place.")
DUPLICATE_ID = _code("2012", E, "Duplicate Id attributes", "Give each Id in one invoice a distinct value.")
CERT_NEAR_EXPIRY = _code("2013", W, "Certificate expires within 30 days", "Renew the certificate soon.")
ENVELOPE_SIGNATURE_MISSING = _code("2014", E, "Batch signature is missing", "Sign the 206 message in TDiep/CKSNNT.")
CERT_KEY_USAGE = _code("2015", E, "Certificate may not be used for signing", "Use a certificate with the digitalSignature key usage.")
SIGNING_TIME_FUTURE = _code("2017", E, "Signing time is in the future", "Sign with the correct clock; SigningTime is local time (UTC+7) without a zone.")
AUTHORITY_SIGNATURE_MISSING = _code("2018", E, "Tax authority signature is missing", "A coded invoice carries the tax authority's signature in DSCKS/CQT.")
CERT_NOT_REGISTERED = _code("2019", E, "Certificate is not registered for the seller", "Sign with a certificate registered for the seller (gateway merchants cert), or, unless the seller takes registered certificates only, with one whose subject carries UID=MST:<seller tax code>.")

# 3xxx schema
SCHEMA_INVALID = _code("3001", E, "Document does not match the schema", "Correct the element at the reported path.")
VERSION_UNSUPPORTED = _code("3002", E, "Format version is not supported", "Use PBan 2.0.0, 2.0.1 or 2.1.0.")
MESSAGE_TYPE_UNSUPPORTED = _code("3003", E, "Message type is not accepted here", "Send MLTDiep 200, 203 or 206.")
MESSAGE_COUNT = _code("3004", E, "Message item count does not match SLuong", "Set SLuong to the number of invoices in DLieu.")

# 4xxx registries and identities
SELLER_TAX_CODE = _code("4001", E, "Seller tax code is invalid", "Use a 10-digit tax code, 13-digit branch code or 12-digit personal ID number.")
BUYER_TAX_CODE = _code("4002", E, "Buyer tax code is invalid", "NMua/MST is a 10-digit tax code whose last digit checks the first nine, that code and a branch suffix 001-999, or a 12-digit personal ID number; re-read it from the buyer's papers.")
BUYER_PERSONAL_ID = _code("4003", E, "Buyer personal ID number is invalid", "CCCDan is a 12-digit personal ID number: digits 1-3 a province code, digit 4 the century and sex, digits 5-6 a birth year not in the future; re-read it from the ID card.")
SELLER_UNKNOWN = _code("4004", E, "Seller is not registered", "Register the merchant before submitting its invoices.")
SELLER_INACTIVE = _code("4005", E, "Seller is not active", "The merchant registration is suspended or closed.")
SUBMITTER_NOT_AUTHORISED = _code("4006", E, "Submitter may not submit for this seller", "Submit as the seller or as a provider registered for it.")
BUYER_UNRESOLVED = _code("4007", W, "Buyer identity not resolved yet", "The link is kept pending and retried.")
PROVIDER_TAX_CODE = _code("4008", E, "Provider tax code is invalid", "Check MSTTCGP.")
IDENTITY_SHAPE = _code("4009", E, "Identity number has the wrong shape", "A tax code has 10 digits, or 10 + '-' + 001-999; a personal ID number has 12 digits.")
TAX_CODE_CHECK_DIGIT = _code("4010", E, "Tax code check digit is wrong", "Re-read the tax code from the registration certificate; one digit is mistyped.")
PERSONAL_ID_IMPLAUSIBLE = _code("4011", E, "Personal ID number does not decode", "Digits 1-3 name a province and digits 4-6 a past birth year; re-read the ID card.")

# 5xxx business rules and duplicates
SERIES_INVALID = _code("5001", E, "Series symbol is invalid", "KHHDon is [C|K] + YY + kind letter + two characters.")
SERIES_YEAR = _code("5002", E, "Series year does not match the issue date", "Use the two-digit year of NLap in KHHDon.")
NUMBER_RANGE = _code("5004", E, "Invoice number out of range", "SHDon is 1 to 99999999.")
ISSUE_DATE_FUTURE = _code("5005", E, "Issue date is in the future", "Issue the invoice on or before today.")
LINE_AMOUNT = _code("5006", E, "Line amount does not equal quantity times price less discount", "Recompute ThTien for the line.")
RATE_TOTAL = _code("5007", E, "Totals per tax rate do not match the lines", "Recompute THTTLTSuat from the lines.")
GRAND_TOTAL = _code("5008", E, "Grand totals do not add up", "TgTTTBSo = TgTCThue + TgTThue - TTCKTMai + fees.")
TAX_RATE = _code("5009", E, "Tax rate is not allowed", "Use 0%, 5%, 8%, 10%, KCT, KKKNT or KHAC:xx.xx%.")
TAX_AMOUNT = _code("5010", E, "Tax amount does not match rate times taxable amount", "Recompute TThue for the rate.")
CURRENCY = _code("5011", E, "Currency or exchange rate is invalid", "Use an ISO 4217 code; give TGia > 0 for foreign currency.")
RELATED_MISSING = _code("5012", E, "Related invoice is not held", "Reference an invoice previously accepted here by template, series and number.")
DUPLICATE_KEY = _code("5013", E, "An invoice with this key already exists with other content", "Use the next number, or issue a replacement invoice.")
DUPLICATE_IN_BATCH = _code("5014", E, "The same invoice key appears twice in the batch", "Send each invoice once.")
CASH_REGISTER_SERIES = _code("5015", E, "Series does not fit the message type", "206 batches carry cash-register series (kind letter M) only.")
AMOUNT_FORMAT = _code("5016", E, "Amount is not a valid decimal", "Write amounts as plain decimals with a dot.")
TAX_CODE_FORMAT_WARN = _code("5017", W, "Tax authority code has an unusual shape", "MCCQT is normally 34 upper-case hex characters starting with 00.")
TOTAL_IN_WORDS = _code("5018", W, "Total in words is missing", "Write TgTTTBChu.")
RELATED_INCOMPLETE = _code("5019", E, "Related invoice reference is incomplete", "TTHDLQuan needs TCHDon 1 or 2, KHMSHDCLQuan, KHHDCLQuan, SHDCLQuan and NLHDCLQuan.")
CURRENCY_SYMBOL = _code("5020", W, "Currency written as a symbol", "Write DVTTe as the ISO 4217 code VND instead of the symbol.")
DATE_FORMAT = _code("5021", E, "Date is not valid", "Write dates as YYYY-MM-DD.")
VALUE_MISSING = _code("5022", E, "Required value is missing", "Fill in the element at the reported path.")
INTEGER_FORMAT = _code("5023", E, "Value is not a whole number", "Write the value as digits only.")
AUTHORITY_CODE_UNEXPECTED = _code("5024", E, "Invoice carries a tax authority code it was not given", "Remove MCCQT: a coded invoice gets its code on acceptance; only cash-register invoices (series kind M) carry one of their own.")
CASH_REGISTER_CODE = _code("5025", E, "Cash-register code is malformed or does not fit the invoice", "Write MCCQT as M<KHMSHDon>-<year of KHHDon>-XXXXX-<11 digits>, e.g. M2-26-A1B2C-00000001542.")


def omission(count: int) -> Omission:
    """The entry that stands for ``count`` findings left out of a list."""
    code = FINDINGS_OMITTED
    detail = f"{code.message}: {count} more not listed"
    return Omission(code.code, detail, code.severity, hint=code.hint, count=count)


def bounded(findings: Iterable[Finding]) -> list[Finding]:
    """At most ``MAX_LISTED`` findings, then one omission counting the rest, if any."""
    kept = listing(findings)
    return [*kept.shown, omission(kept.omitted)] if kept.omitted else kept.shown
