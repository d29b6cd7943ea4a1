"""Live invoices: ``invoiceAccepted(sellerTaxCode)`` over ``graphql-transport-ws``.

The subscriber is decided once, when it subscribes, by the rule for listing a seller's
invoices (the merchant itself, or an officer with a purpose and a case reference); everyone
else is refused. A subscription outlives any one request, so each delivery is written to the
access log itself, before it is sent: the buyer when a person, else the seller. If the log
cannot be written, the stream ends with the error rather than deliver unaudited.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

from integrations.access import AccessSession, Domain, invoice_subject
from integrations.einvoice.broadcast import SubscriberDropped
from integrations.errors import GatewayError, IdentityError
from integrations.identity import parse_taxpayer_id
from resolvers.access import refuse
from resolvers.context import Info
from resolvers.errors import PublicError
from resolvers.invoices import Invoice

FIELD = "invoiceAccepted"


async def invoice_accepted(info: Info, seller_tax_code: str) -> AsyncGenerator[Invoice, None]:
    """Each invoice accepted for ``seller_tax_code`` from now on, as it commits."""
    context = info.context
    if context.broadcaster is None:
        raise PublicError("live invoices are not offered here", code="SERVICE_UNAVAILABLE")
    try:
        seller = parse_taxpayer_id(seller_tax_code).value
    except IdentityError as exc:
        raise refuse(exc) from exc
    access = context.access
    try:
        decision = access.seller(seller, FIELD)
    finally:
        await _commit(access)
    try:
        async with context.broadcaster.subscribe(seller) as accepted:
            async for stored in accepted:
                access.ledger.note(invoice_subject(stored), Domain.INVOICES, FIELD, decision)
                await _commit(access)
                yield Invoice.of(stored)
    except SubscriberDropped as exc:
        raise refuse(exc) from exc


async def _commit(access: AccessSession) -> None:
    try:
        await access.commit()
    except GatewayError as exc:
        raise refuse(exc) from exc
