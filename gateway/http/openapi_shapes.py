"""The JSON shapes the REST routes answer with, as the JSON Schema of the OpenAPI document.

Enums come from their models; the rest is what each route's code writes, held to it by the
conformance tests of ``tests/gateway/test_openapi.py``.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum
from typing import Any, Final

from integrations.einvoice.pipeline import Outcome
from integrations.store.models import InvoiceStatus, MerchantStatus

Schema = dict[str, Any]

TAX_CODE: Final[Schema] = {
    "type": "string",
    "pattern": r"^(\d{10}(-\d{3})?|\d{12})$",
    "description": "A tax code: 10 digits, 13 with a branch suffix, or a household's or "
    "person's 12-digit personal ID number",
}
AMOUNT: Final[Schema] = {
    "type": "string",
    "pattern": r"^-?\d+(\.\d+)?$",
    "description": "A plain decimal (1250000.50) with no seventh significant decimal",
}
NULLABLE: Final[Schema] = {"type": ["string", "null"]}


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def enum_of(kind: type[Enum], *, names: bool = False) -> Schema:
    """The enum's values, or its member names where the route spells it as GraphQL does."""
    values = list(kind.__members__) if names else [member.value for member in kind]
    return {"type": "string", "enum": values}


def json_object(required: Iterable[str], **properties: Schema) -> Schema:
    return {"type": "object", "required": list(required), "properties": properties}


SCHEMAS: Final[dict[str, Schema]] = {
    "Error": {
        "description": "The one error shape of every REST route",
        "type": "object",
        "required": ["errors"],
        "properties": {
            "errors": {"type": "array", "items": ref("ErrorEntry")},
            "requestId": {"type": "string", "description": "The X-Request-Id of the answer"},
            "warnings": {"type": "array", "items": ref("ErrorEntry")},
            "omitted": {
                "type": "object",
                "description": "How many findings each list left out (it lists at most 100)",
                "additionalProperties": {"type": "integer"},
            },
            "original": {
                "type": ["object", "null"],
                "description": "On 409: the invoice already held under the same key",
            },
        },
    },
    "ErrorEntry": json_object(
        ["code", "message"],
        code={"type": "string", "description": "A stable code: a name or a 4-digit finding"},
        message={"type": "string"},
        path={"type": "string", "description": "The field, parameter or XML path at fault"},
        hint={"type": "string", "description": "What to do about it"},
        severity={"type": "string", "enum": ["error", "warning"]},
        line={"type": "integer"},
    ),
    "Certificate": json_object(
        ["fingerprint", "serial", "subject", "issuer", "notBefore", "notAfter"],
        fingerprint={"type": "string"},
        serial={"type": "string"},
        subject={"type": "string"},
        issuer={"type": "string"},
        notBefore={"type": "string", "format": "date-time"},
        notAfter={"type": "string", "format": "date-time"},
    ),
    "Merchant": json_object(
        ["taxCode", "name", "status", "certificatesOnly", "certificates", "providers"],
        taxCode=TAX_CODE,
        name={"type": "string"},
        kind={"type": "string"},
        address={"type": "string"},
        status=enum_of(MerchantStatus),
        certificatesOnly={
            "type": "boolean",
            "description": "Only certificates registered for it may sign its invoices",
        },
        certificates={"type": "array", "items": ref("Certificate")},
        providers={
            "type": "array",
            "items": json_object(
                ["taxCode", "canSign", "canSubmit"],
                taxCode=TAX_CODE,
                canSign={"type": "boolean"},
                canSubmit={"type": "boolean"},
            ),
        },
    ),
    "Receipt": json_object(
        ["receiptId", "invoiceId", "status", "acceptedAt", "sha256", "signature"],
        receiptId={"type": "string"},
        invoiceId={"type": "string", "format": "uuid"},
        status={"type": "string", "enum": ["accepted"]},
        acceptedAt={"type": "string", "format": "date-time"},
        sha256={"type": "string"},
        sellerTaxCode=TAX_CODE,
        template={"type": "string"},
        series={"type": "string"},
        number={"type": "integer"},
        issuedOn={"type": "string", "format": "date"},
        totalPayable=NULLABLE,
        taxAuthorityCode=NULLABLE,
        warnings={"type": "array", "items": ref("ErrorEntry")},
        signature={"type": "string", "description": "Compact JWS (RS256), key in the JWK set"},
    ),
    "MessageOutcome": json_object(
        ["messageId", "messageType", "items"],
        messageId={"type": "string"},
        messageType={"type": ["integer", "string"]},
        sender={"type": "string"},
        taxCode={"type": "string"},
        items={
            "type": "array",
            "items": json_object(
                ["position", "outcome"],
                position={"type": "integer"},
                outcome=enum_of(Outcome),
                invoiceId={"type": ["string", "null"]},
                receiptId={"type": ["string", "null"]},
                errors={"type": "array", "items": ref("ErrorEntry")},
                warnings={"type": "array", "items": ref("ErrorEntry")},
            ),
        },
    ),
    "Invoice": json_object(
        ["id", "status", "sellerTaxCode", "issuedOn", "lines", "history"],
        id={"type": "string", "format": "uuid"},
        status=enum_of(InvoiceStatus),
        sellerTaxCode=TAX_CODE,
        sellerName=NULLABLE,
        template={"type": "string"},
        series={"type": "string"},
        number={"type": "integer"},
        issuedOn={"type": "string", "format": "date"},
        currency={"type": "string"},
        buyerName=NULLABLE,
        buyerTaxCode=NULLABLE,
        buyerPersonalId=NULLABLE,
        totalBeforeTax=NULLABLE,
        totalTax=NULLABLE,
        totalPayable=NULLABLE,
        taxAuthorityCode=NULLABLE,
        sha256={"type": "string"},
        receiptId={"type": "string"},
        receivedAt={"type": "string", "format": "date-time"},
        relation=NULLABLE,
        relatedId=NULLABLE,
        # What the invoice states beside its key (docs/invoice-fields.md); null when not
        # stated, or on invoices stored before it was kept.
        formatVersion={"type": "string"},
        exchangeRate=NULLABLE,
        paymentMethod=NULLABLE,
        buyerPassport=NULLABLE,
        buyerBudgetUnitCode=NULLABLE,
        totalTradeDiscount=NULLABLE,
        fees={
            "type": ["array", "null"],
            "items": json_object(["name", "amount"], name=NULLABLE, amount=NULLABLE),
        },
        totalFees=NULLABLE,
        cashRegisterCode=NULLABLE,
        signerSubject=NULLABLE,
        signerSerial=NULLABLE,
        signerIssuer=NULLABLE,
        signingProviderTaxCode=NULLABLE,
        relatedKey={
            **json_object(
                ["sellerTaxCode", "template", "series", "number"],
                sellerTaxCode=TAX_CODE,
                template={"type": "string"},
                series={"type": "string"},
                number={"type": "integer"},
            ),
            "type": ["object", "null"],
        },
        lines={"type": "array", "items": {"type": "object"}},
        history={
            "type": "array",
            "items": json_object(
                ["status", "at"], status={"type": "string"}, at={"type": "string"}
            ),
        },
    ),
    "KeySet": json_object(["keys"], keys={"type": "array", "items": {"type": "object"}}),
}
