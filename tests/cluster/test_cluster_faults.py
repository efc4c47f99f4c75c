"""Faults the distributed deployment survives, on one cluster (real PostgreSQL, Redis, Celery workers,
the S3 server), three scheduled days of The Japan News in order:

1. a worker whose clock is 5 hours slow (Debian's libfaketime) and whose timezone is Honolulu's runs
   the first day alone: the day it covers is the run's data interval, not the worker's calendar;
2. Redis (the broker, in memory) is restarted while the second day is crawling;
3. PostgreSQL (Airflow's metadata and Celery's results) is restarted while the third day runs.

Each day must end ``success`` and the warehouse must equal what the demo site published, once.
Skips, saying why, without PostgreSQL, redis-server or libfaketime (``.ci/run`` installs all three).
"""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime, timedelta

import pytest

from newsline.cluster import Cluster, ServiceUnavailable, faketime_env, wait_for
from newsline.demo import sites_dir_with
from newsline.pipeline import sanitize_run_id
from tests.cluster.support import (
    DAG,
    assert_day_is_the_truth,
    crawl_states,
    day_runs,
    log_owners,
    running,
    s3_keys,
    stored,
    truth,
)

pytestmark = [pytest.mark.slow, pytest.mark.cluster]

SKEW_DAY, REDIS_DAY, PG_DAY = date(2024, 9, 4), date(2024, 9, 5), date(2024, 9, 6)
DAYS = [SKEW_DAY, REDIS_DAY, PG_DAY]
SKEWED = "worker2"
CLOCK_OFFSET = timedelta(hours=-5)
#: UTC-10 with a clock 5 h slow: the worker's local calendar is always exactly one day behind Tokyo's.
SKEWED_TZ = "Pacific/Honolulu"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from demo_site.faults import FaultConfig
    from demo_site.server import DemoServer

    tmp = tmp_path_factory.mktemp("faults")
    try:
        skew = faketime_env("-5h")
    except ServiceUnavailable as exc:
        pytest.skip(str(exc))
    site = DemoServer(port=0)
    site.start()
    # The faulted days' article pages answer slowly (first request of each), so their crawls last long
    # enough to restart a server under them.
    site.set_faults(FaultConfig(rates={"slow": 1.0}, burst=1, slow_seconds=2.0,
                                scope=rf"^/(?:[a-z0-9-]+/){{1,2}}(?:{REDIS_DAY:%Y%m%d}|{PG_DAY:%Y%m%d})-\d+/$"))
    try:
        # the articles fetched by the crawl shard, not by discovery (the default for a day of one shard):
        # the pool choreography below opens and closes the site's pool around each day's crawl
        sites = sites_dir_with(tmp / "sites", {"japannews": {"crawl": {"fetch_in_discovery": False}, "schedule": {
            "start_date": DAYS[0].isoformat(), "end_date": DAYS[-1].isoformat(), "catchup": True}}})
        cluster = Cluster(tmp / "cluster", base_url=site.base_url, workers=2, pool_slots=0,
                          extra_env={"NEWSLINE_SITES_DIR": str(sites), "NEWSLINE_TASK_RETRIES": "2"},
                          worker_env={SKEWED: {"TZ": SKEWED_TZ, **skew}})
    except ServiceUnavailable as exc:
        site.stop()
        pytest.skip(str(exc))
    with running(cluster, site):
        yield {"cluster": cluster, "site": site}


def _finished(cluster: Cluster, day: date, timeout: float) -> dict:
    def done() -> dict | None:
        runs = day_runs(cluster, [day])
        return runs[0] if runs and runs[0]["state"] in ("success", "failed") else None

    try:
        return wait_for(done, timeout, f"the run of {day} to finish", every=2)
    except TimeoutError as exc:
        raise TimeoutError(f"{exc}: {day_runs(cluster, DAYS)}\n{cluster.logs()}") from None


def _task_state(cluster: Cluster, day: date, task: str) -> str | None:
    runs = day_runs(cluster, [day])
    if not runs:
        return None
    states = [t["state"] for t in cluster.task_instances(DAG) if t["run_id"] == runs[0]["run_id"] and t["task_id"] == task]
    return states[0] if states else None


def _crawl_running(cluster: Cluster, day: date, site=None) -> bool:
    """The day's crawl is running (and, given the demo site, fetching the day's slow article pages)."""
    runs = day_runs(cluster, [day])
    if not runs or crawl_states(cluster).get(runs[0]["run_id"]) != "running":
        return False
    return site is None or any(e.kind == "slow" and f"/{day:%Y%m%d}-" in e.path for e in site.fault_events)


def _whole(cluster: Cluster) -> None:
    if not all(cluster.alive().values()):
        pytest.skip(f"the cluster is not whole (an earlier test failed): {cluster.alive()}")


def test_a_worker_with_a_slow_clock_and_another_timezone_covers_the_runs_day(world) -> None:
    cluster, site = world["cluster"], world["site"]
    cluster.stop_worker("worker1")  # the skewed worker alone runs the first day
    cluster.unpause(DAG)
    # The site's pool (discovery and crawl shards) starts closed. Once the first day's discovery waits
    # for it, one slot opens (the oldest waiting run's crawl gets it before a later day's); once the first
    # day's crawl runs, the pool closes again so the next days' crawls wait for their faults.
    wait_for(lambda: _task_state(cluster, SKEW_DAY, "discover") == "scheduled", 300,
             f"the discovery of {SKEW_DAY} to wait", every=0.5)
    cluster.set_pool_slots("japannews", 1)
    wait_for(lambda: _crawl_running(cluster, SKEW_DAY), 300, f"the crawl of {SKEW_DAY} to run", every=0.2)
    cluster.set_pool_slots("japannews", 0)
    run = _finished(cluster, SKEW_DAY, 300)
    cluster.start_worker("worker1")
    assert run["state"] == "success", cluster.logs()
    run_id = run["run_id"]

    owners = {k: v for k, v in log_owners(cluster).items() if k[0] == run_id}
    assert {k[1] for k in owners} == {"discover", "crawl", "transform", "load", "summarize"}, owners
    assert all(who == [SKEWED] for who in owners.values()), owners
    # the worker's clock really was off: its task log stamps lines 5 hours behind the real time
    discover_log = next(p for p in cluster.worker_task_logs()[SKEWED] if f"run_id={run_id}" in str(p)
                    and "task_id=discover" in str(p))
    lines = [json.loads(line) for line in discover_log.read_text().splitlines() if line.startswith("{")]
    stamped = datetime.fromisoformat(lines[-1]["timestamp"].replace("Z", "+00:00"))
    skew = stamped - datetime.fromtimestamp(discover_log.stat().st_mtime, UTC)
    assert abs(skew - CLOCK_OFFSET) < timedelta(minutes=5), f"the worker's clock is off by {skew}, not {CLOCK_OFFSET}"
    assert any(f"covers japannews day {SKEW_DAY}" in line.get("event", "") for line in lines), lines

    # The day covered is the data interval's: its run folder, its archive, its rows, nothing next door.
    assert "summary.json" in s3_keys(cluster, f"runs/japannews/{SKEW_DAY}/{sanitize_run_id(run_id)}/")
    for other in (SKEW_DAY - timedelta(days=1), SKEW_DAY + timedelta(days=1)):
        assert not [k for k in s3_keys(cluster, f"runs/japannews/{other}/") if sanitize_run_id(run_id) in k]
    assert_day_is_the_truth(cluster, site, SKEW_DAY)
    assert set(stored(cluster)["date"]) == {SKEW_DAY}


def test_redis_restarted_mid_crawl_the_run_still_finishes(world) -> None:
    cluster, site = world["cluster"], world["site"]
    _whole(cluster)

    cluster.set_pool_slots("japannews", 1)
    wait_for(lambda: _crawl_running(cluster, REDIS_DAY, site), 240, f"the crawl of {REDIS_DAY} to be fetching",
             every=0.2)
    cluster.set_pool_slots("japannews", 0)  # the last day's crawl waits for the next test
    cluster.restart_service("redis", down=3)
    restarted = time.monotonic()
    run = _finished(cluster, REDIS_DAY, 420)
    print(f"{REDIS_DAY} finished {time.monotonic() - restarted:.1f}s after Redis came back; "
          f"control-plane restarts: {cluster.restarts}")
    assert run["state"] == "success", cluster.logs()
    assert all(cluster.alive().values()), cluster.alive()
    assert_day_is_the_truth(cluster, site, REDIS_DAY)


def test_postgres_restarted_mid_run_the_run_still_finishes(world) -> None:
    cluster, site = world["cluster"], world["site"]
    _whole(cluster)

    cluster.set_pool_slots("japannews", 1)
    wait_for(lambda: _crawl_running(cluster, PG_DAY, site), 240, f"the crawl of {PG_DAY} to be fetching", every=0.2)
    cluster.restart_service("postgres", down=3)
    restarted = time.monotonic()
    run = _finished(cluster, PG_DAY, 420)
    print(f"{PG_DAY} finished {time.monotonic() - restarted:.1f}s after PostgreSQL came back; "
          f"control-plane restarts: {cluster.restarts}")
    assert run["state"] == "success", cluster.logs()
    assert all(cluster.alive().values()), cluster.alive()
    # A process that gave up on its database (Airflow's scheduler exits) was started again by the
    # supervisor, as a process manager does, and said so: never a silent stop.
    logged = (cluster.root / "service-logs" / "supervisor.log")
    for name, count in cluster.restarts.items():
        assert logged.read_text().count(f"{name} exited with") == count

    # Every day once: the warehouse is the demo truth of the three days, no row twice.
    for day in DAYS:
        assert_day_is_the_truth(cluster, site, day)
    assert len(stored(cluster)) == sum(len(truth(site, d)) for d in DAYS)
