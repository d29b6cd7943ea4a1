"""``/metrics`` under ``gateway serve --workers 2``: whichever worker answers, it shows all."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from tests.support.servers import gateway_serve

HEALTHZ = 'gateway_http_requests_total{method="GET",route="/healthz",status="200"} '
MOST_REQUESTS = 400


def test_a_scrape_sums_the_requests_every_worker_answered(migrated_data_dir: Path) -> None:
    metrics = migrated_data_dir / "metrics"
    env = {"GATEWAY_DATA_DIR": str(migrated_data_dir), "GATEWAY_METRICS_DIR": str(metrics)}
    with gateway_serve(env, "--workers", "2") as base:
        sent = 0
        while len(_workers_counting(metrics)) < 2:
            assert sent < MOST_REQUESTS, "one worker answered every request"
            # A connection of its own each, so that either worker may take it.
            assert httpx.get(f"{base}/healthz").status_code == 200
            sent += 1
        scraped = [_healthz_count(httpx.get(f"{base}/metrics").text) for _ in range(10)]
    assert scraped == [sent + 1] * 10
    assert list(metrics.iterdir()) == []


def _workers_counting(metrics: Path) -> set[str]:
    """The workers that have counted a request: each writes its counters to a file of its own."""
    return {path.stem.split("_")[-1] for path in metrics.glob("*/counter_*.db")}


def _healthz_count(text: str) -> int:
    match = re.search(re.escape(HEALTHZ) + r"([0-9.]+)", text)
    assert match is not None, text
    return int(float(match.group(1)))
