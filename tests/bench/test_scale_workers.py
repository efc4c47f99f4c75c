"""Smoke run of the 2-workers-vs-1 benchmark through the real cluster (PostgreSQL, Redis, Celery
workers, the S3 server): one demo site-day with 1 worker, then with 2. The benchmark's own checks
make it fail if a run fails or a published article is missing or stored twice.

Skips, saying why, when PostgreSQL or redis-server is not installed (``.ci/run`` installs both)."""

from __future__ import annotations

import pytest

from bench.scale import workers_bench
from newsline.cluster import PostgresServer, RedisServer, ServiceUnavailable

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.cluster]


def test_one_site_day_through_one_worker_then_two() -> None:
    try:
        PostgresServer(), RedisServer()
    except ServiceUnavailable as exc:
        pytest.skip(str(exc))
    (row,) = workers_bench(days_per_site=1, sites=["valleyherald"])
    assert row.met is not None and row.ratio is not None and row.ratio > 0, row
    one, two = row.extra["one"], row.extra["two"]
    assert one > 0 and two > 0 and row.ratio == pytest.approx(two / one)
    assert "1 site-days" in row.detail or "1 site-day" in row.detail, row.detail
    assert "all stored once" in row.detail
