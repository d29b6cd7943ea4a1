"""The innermost step (one HTTP batch request, checked and decoded) and the outermost (chunking).

``HttpBatch`` sends ``POST {base_url}/v1/{resource}:batch`` with ``{"ids": [...]}`` and expects
``{"items": {id: record | null, ...}}`` holding every requested id; anything else is an
``UpstreamBadResponse``, never a crash and never a wrong value.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar, cast

import orjson

from integrations.errors import UpstreamBadResponse, UpstreamError
from integrations.upstreams.calls import BatchCall, Fetch, Items
from integrations.upstreams.failures import raise_for_status
from integrations.upstreams.metrics import UpstreamMetrics
from integrations.upstreams.settings import UpstreamSettings
from integrations.upstreams.shapes import Fields, ShapeError
from integrations.upstreams.transport import Timeouts, Transport

T = TypeVar("T")
Decoder = Callable[[Fields], object]


def decode_items(service: str, body: bytes, ids: Sequence[str], decode: Decoder) -> Items:
    """Check a batch answer against the ids asked for and decode every record."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise UpstreamBadResponse(service, "answer is not JSON") from exc
    try:
        items = Fields(document).nested("items")
        result: dict[str, object | None] = {}
        for item_id in ids:
            raw = items.raw(item_id)
            result[item_id] = None if raw is None else decode(Fields(raw, f"$.items.{item_id}"))
    except ShapeError as exc:
        raise UpstreamBadResponse(service, f"unexpected answer shape: {exc}") from exc
    return result


class HttpBatch:
    """Sends one batch request and records its outcome and latency."""

    def __init__(
        self,
        service: str,
        settings: UpstreamSettings,
        transport: Transport,
        metrics: UpstreamMetrics,
        decode: Decoder,
        limit: asyncio.Semaphore,
    ) -> None:
        self._service = service
        self._settings = settings
        self._transport = transport
        self._metrics = metrics
        self._decode = decode
        self._limit = limit
        self._timeouts = Timeouts(settings.connect_timeout, settings.total_timeout)
        self._headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if settings.api_key:
            self._headers["X-Api-Key"] = settings.api_key
        self._ok = metrics.calls.labels(service, "ok")
        self._latency = metrics.latency.labels(service)

    async def __call__(self, call: BatchCall) -> Items:
        body = orjson.dumps({"ids": call.ids})
        async with self._limit:
            started = time.perf_counter()
            try:
                response = await self._transport.post(
                    self._service,
                    f"{self._settings.base_url}/v1/{call.resource}:batch",
                    body=body,
                    headers=self._headers,
                    timeouts=self._timeouts,
                )
                raise_for_status(self._service, response.status, response.headers)
                items = decode_items(self._service, response.body, call.ids, self._decode)
            except UpstreamError as exc:
                self._metrics.calls.labels(self._service, exc.code).inc()
                raise
            finally:
                self._latency.observe(time.perf_counter() - started)
        self._ok.inc()
        return items


class BatchReader(Generic[T]):
    """Reads many ids from one resource: deduplicated, chunked to ``max_batch``, piped."""

    def __init__(self, service: str, resource: str, fetch: Fetch, *, max_batch: int) -> None:
        self._service = service
        self._resource = resource
        self._fetch = fetch
        self._max_batch = max_batch

    async def read(self, ids: Sequence[str], *, scope: str) -> dict[str, T | None]:
        if not scope:
            raise ValueError("every upstream read needs a non-empty scope")
        unique = list(dict.fromkeys(ids))
        if not unique:
            return {}
        chunks = [
            BatchCall(self._service, self._resource, tuple(unique[n : n + self._max_batch]), scope)
            for n in range(0, len(unique), self._max_batch)
        ]
        if len(chunks) == 1:
            found = await self._fetch(chunks[0])
        else:
            found = await self._gather(chunks)
        return {item_id: cast("T | None", found[item_id]) for item_id in unique}

    async def _gather(self, chunks: list[BatchCall]) -> Items:
        answers = await asyncio.gather(*(self._fetch(c) for c in chunks), return_exceptions=True)
        merged: dict[str, object | None] = {}
        for answer in answers:
            if isinstance(answer, BaseException):
                raise answer
            merged.update(answer)
        return merged
