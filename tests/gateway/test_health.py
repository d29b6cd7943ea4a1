from __future__ import annotations

import re

import httpx

from gateway.app import create_app
from gateway.config import Settings
from tests.support.servers import in_process_client, live_server


async def test_healthz_is_alive_and_carries_a_request_id(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])


async def test_a_sane_incoming_request_id_is_kept(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz", headers={"X-Request-Id": "trace-1234abcd"})
    assert response.headers["x-request-id"] == "trace-1234abcd"
    hostile = await client.get("/healthz", headers={"X-Request-Id": "<script>" * 4})
    assert re.fullmatch(r"[0-9a-f]{32}", hostile.headers["x-request-id"])


async def test_readyz_reports_the_database(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["database"] == "ok"


async def test_readyz_is_unavailable_when_the_database_is_gone(settings: Settings) -> None:
    app = create_app(settings)
    async with in_process_client(app) as client:
        from tortoise import Tortoise

        await Tortoise.close_connections()
        response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"


async def test_metrics_count_requests_by_route_and_status(client: httpx.AsyncClient) -> None:
    await client.get("/healthz")
    await client.get("/healthz")
    await client.get("/no/such/route")
    text = (await client.get("/metrics")).text
    assert 'gateway_http_requests_total{method="GET",route="/healthz",status="200"} 2.0' in text
    assert 'route="unmatched",status="404"' in text
    assert "gateway_http_request_duration_seconds_bucket" in text


async def test_unknown_route_gets_the_json_error_shape(client: httpx.AsyncClient) -> None:
    response = await client.get("/nowhere")
    assert response.status_code == 404
    body = response.json()
    assert body["errors"][0]["code"] == "NOT_FOUND"
    assert body["requestId"] == response.headers["x-request-id"]


async def test_real_server_answers_over_loopback(settings: Settings) -> None:
    async with live_server(create_app(settings)) as base_url, httpx.AsyncClient() as http:
        health = await http.get(f"{base_url}/healthz")
        ready = await http.get(f"{base_url}/readyz")
    assert health.status_code == 200
    assert ready.json()["checks"]["database"] == "ok"
