"""Response helpers: orjson bodies, decimals and dates written as strings."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import orjson
from starlette.responses import Response


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return money(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def money(value: Decimal) -> str:
    """A decimal as plain digits without trailing fraction zeros: 222900.000000 -> "222900"."""
    return format(value.normalize(), "f")


def dumps(content: Any) -> bytes:
    return orjson.dumps(content, default=_default)


def json_response(
    content: Any, *, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(dumps(content), status, headers=headers, media_type="application/json")
