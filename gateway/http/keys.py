"""``GET /.well-known/jwks.json``: the keys that sign JSON receipts, for anyone to check one.

Public, since whoever holds a receipt must be able to check it, and it holds no one's data.
Cacheable: the set changes only when the gateway's key is rotated, and it keeps the retired keys,
so a cached copy never stops verifying old receipts; a client that meets an unknown ``kid``
fetches it again.
"""

from __future__ import annotations

from typing import Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.http.responses import dumps
from gateway.state import services_of
from integrations.einvoice.receipt_keys import key_set

JWKS_PATH: Final = "/.well-known/jwks.json"
CACHE_SECONDS: Final = 3600
MEDIA_TYPE: Final = "application/jwk-set+json"


async def receipt_keys(request: Request) -> Response:
    document = key_set(services_of(request).receipt_signer.chains)
    headers = {"Cache-Control": f"public, max-age={CACHE_SECONDS}"}
    return Response(dumps(document), headers=headers, media_type=MEDIA_TYPE)


routes = [Route(JWKS_PATH, receipt_keys, methods=["GET"])]
