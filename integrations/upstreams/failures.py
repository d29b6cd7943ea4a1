"""The one place where aiohttp and asyncio failures become the gateway's upstream errors."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import aiohttp

from integrations.errors import (
    UpstreamBadResponse,
    UpstreamError,
    UpstreamRateLimited,
    UpstreamTimeout,
    UpstreamUnavailable,
)


@contextmanager
def map_failures(service: str) -> Iterator[None]:
    """Re-raise transport failures inside the block as ``UpstreamError``s, chained with ``from``.

    Timeouts become ``UpstreamTimeout``; refused, reset or closed connections
    ``UpstreamUnavailable``; a body that cannot be read ``UpstreamBadResponse``.
    """
    try:
        yield
    except UpstreamError:
        raise
    except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
        raise UpstreamTimeout(service, "no answer in time") from exc
    except aiohttp.ClientPayloadError as exc:
        raise UpstreamBadResponse(service, f"unreadable body: {exc}") from exc
    except (aiohttp.ClientConnectionError, aiohttp.ClientOSError, OSError) as exc:
        raise UpstreamUnavailable(service, f"connection failed: {exc}") from exc
    except aiohttp.ClientError as exc:
        raise UpstreamBadResponse(service, f"unusable answer: {exc}") from exc


def retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)


def raise_for_status(service: str, status: int, headers: Mapping[str, str]) -> None:
    """Turn a non-2xx answer into the matching error.

    429 carries ``retry_after``; 5xx means the agency is unavailable; any other 4xx means the
    agency refused a request the gateway built, which no retry can fix.
    """
    if 200 <= status < 300:
        return
    if status == 429:
        wait = retry_after(headers.get("Retry-After"))
        raise UpstreamRateLimited(service, "answered 429 Too Many Requests", retry_after=wait)
    if status >= 500:
        raise UpstreamUnavailable(service, f"answered {status}")
    raise UpstreamBadResponse(service, f"refused the request with {status}")
