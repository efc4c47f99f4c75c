"""The daily DAG through the distributed deployment: Airflow metadata in PostgreSQL, the CeleryExecutor
with Redis, two Celery workers that share no local folder, run folders and the warehouse on the S3
API. The scheduler catches up two demo days; then one worker is SIGKILLed in the middle of a crawl
and the task is retried on the other worker.

Skips, saying why, when PostgreSQL or redis-server is not installed (``.ci/run`` installs both)."""

from __future__ import annotations

import time
from datetime import date

import pytest

from newsline.cluster import Cluster, ServiceUnavailable, wait_for
from newsline.demo import sites_dir_with
from newsline.pipeline import DISCOVER_DIR, SHARD_URLS_DIR, SHARDS_DIR, sanitize_run_id
from tests.cluster.support import DAG, running
from tests.cluster.support import assert_day_is_the_truth as _assert_day_is_the_truth
from tests.cluster.support import crawl_states as _crawl_states
from tests.cluster.support import day_runs as _day_runs
from tests.cluster.support import local_s3_folders as _local_s3_folders
from tests.cluster.support import log_owners as _log_owners
from tests.cluster.support import s3_keys as _s3_keys
from tests.cluster.support import stored as _stored
from tests.cluster.support import truth as _truth
from tests.truth import rows_by_id

pytestmark = [pytest.mark.slow, pytest.mark.cluster]

DAYS = [date(2024, 9, 4), date(2024, 9, 5)]
QUALITY_DAG = "newsline_quality"
FAULT_DAY = date(2024, 9, 6)
WARC_DAG = "ccnews_daily"
WARC_DAY = date(2024, 9, 4)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from demo_site.ccnews import CCNewsCollection
    from demo_site.server import DemoServer

    tmp = tmp_path_factory.mktemp("cluster")
    collection = tmp / "collection"  # a web-archive collection's host: read only, reachable by every worker
    CCNewsCollection().write(collection)
    site = DemoServer(port=0)
    site.start()
    try:
        # every day's articles fetched by a crawl shard (not by discovery, the default for a day of one
        # shard): the worker is killed in the middle of a shard
        sites = sites_dir_with(tmp / "sites", {"japannews": {"crawl": {"fetch_in_discovery": False}, "schedule": {
            "start_date": DAYS[0].isoformat(), "end_date": FAULT_DAY.isoformat(), "catchup": True}}})
        cluster = Cluster(tmp / "cluster", base_url=site.base_url, workers=2, extra_env={
            "NEWSLINE_SITES_DIR": str(sites),
            "NEWSLINE_TASK_RETRIES": "2",
            "NEWSLINE_WARC_COLLECTION": str(collection),
        })
    except ServiceUnavailable as exc:
        site.stop()
        pytest.skip(str(exc))
    with running(cluster, site):
        print(f"cluster up in {cluster.timings['startup_s']:.1f}s ({cluster.timings})")
        yield {"cluster": cluster, "site": site, "collection": collection}


def test_the_scheduler_runs_the_days_across_both_celery_workers(world) -> None:
    cluster, site = world["cluster"], world["site"]
    started = time.monotonic()
    cluster.unpause(QUALITY_DAG)  # checks each loaded day, reading run summaries from S3
    cluster.unpause(DAG)
    # The catch-up covers DAYS and FAULT_DAY (max_active_runs=2): once the crawls of DAYS are done, the
    # site's crawl pool is closed so FAULT_DAY's crawl waits for the fault test.
    def days_crawled() -> bool:
        ids = {r["run_id"] for r in _day_runs(cluster, DAYS)}
        states = _crawl_states(cluster)
        return len(ids) == len(DAYS) and all(states.get(i) == "success" for i in ids)

    wait_for(days_crawled, 300, "the crawls of the demo days", every=0.5)
    cluster.set_pool_slots("japannews", 0)
    runs = wait_for(lambda: (rs := _day_runs(cluster, DAYS)) and all(r["state"] in ("success", "failed") for r in rs)
                    and rs, 300, "the demo days' runs to finish", every=1)
    print(f"{len(DAYS)} days through the cluster in {time.monotonic() - started:.1f}s")
    assert [r["state"] for r in runs] == ["success"] * len(DAYS), runs
    assert cluster.restarts == {}, "a control-plane process exited and was restarted"

    for day in DAYS:
        _assert_day_is_the_truth(cluster, site, day)

    # Every task ran through Celery (results in PostgreSQL) and logged on exactly one worker; both worked.
    run_ids = {r["run_id"] for r in runs}
    tis = [t for t in cluster.task_instances(DAG) if t["run_id"] in run_ids]
    assert {(t["task_id"], t["state"]) for t in tis} == {
        (task, "success") for task in ("discover", "crawl", "transform", "load", "summarize")}
    assert all(t["hostname"] and t["queue"] == "default" for t in tis), tis
    # a worker stores a task's Celery result just after Airflow sees the task succeed: give it a moment
    results = wait_for(lambda: len(cluster.metadata("select task_id from celery_taskmeta where status = 'SUCCESS'"))
                       >= len(tis), 60, "every task's Celery result in PostgreSQL")
    assert results
    owners = {k: v for k, v in _log_owners(cluster).items() if k[0] in run_ids}
    assert len(owners) == len(tis), f"task attempts {len(tis)}, logs {sorted(owners)}"
    assert all(len(who) == 1 for who in owners.values()), owners
    used = {who[0] for who in owners.values()}
    assert used == {"worker1", "worker2"}, f"only {used} ran tasks: {owners}"

    # Nothing local is shared: each process has its own home; tasks exchanged run folders on S3 only.
    homes = [w.env["AIRFLOW_HOME"] for w in cluster.worker_list] + [cluster.control_env["AIRFLOW_HOME"]]
    assert len(set(homes)) == len(homes)
    for w in cluster.worker_list:
        assert w.env["NEWSLINE_STAGING"].startswith("s3://") and w.env["NEWSLINE_WAREHOUSE"].startswith("s3://")
        left = [p.name for p in (w.home / "tmp").glob(".crawl-*")]
        assert left == [], f"{w.name} left crawl folders in its temporary folder: {left}"
    for run, day in zip(runs, DAYS, strict=True):
        keys = _s3_keys(cluster, f"runs/japannews/{day}/{sanitize_run_id(run['run_id'])}/")
        assert {"crawl/items.jsonl", "crawl/rejections.jsonl", "crawl/crawl.json", "crawl/archive.warc.gz",
                "clean.parquet", "quarantine.parquet", "summary.json"} <= keys, keys
        assert _s3_keys(cluster, f"raw/japannews/{day}/") == {f"{sanitize_run_id(run['run_id'])}.warc.gz"}


def test_the_quality_dag_checks_each_loaded_day_through_s3(world) -> None:
    import boto3

    cluster = world["cluster"]
    runs = {str(d): r["run_id"] for d, r in zip(DAYS, _day_runs(cluster, DAYS), strict=True)}
    reports = {f"reports/japannews-{d}.html" for d in DAYS}

    def checked() -> list[dict] | None:
        qruns = cluster.runs(QUALITY_DAG)
        done = qruns and all(r["state"] in ("success", "failed") for r in qruns)
        return qruns if done and reports <= _s3_keys(cluster, "runs/") else None

    qruns = wait_for(checked, 600, "the quality DAG's reports of the loaded days", every=2)
    assert [r["state"] for r in qruns] == ["success"] * len(qruns), cluster.logs()
    tis = [t for t in cluster.task_instances(QUALITY_DAG) if t["task_id"] == "check_and_report"]
    assert tis and all(t["state"] == "success" for t in tis), tis
    assert "reports/plotly.min.js" in _s3_keys(cluster, "runs/")
    for day, run_id in runs.items():
        page = boto3.client("s3").get_object(Bucket=cluster.s3.bucket, Key=f"runs/reports/japannews-{day}.html")
        html = page["Body"].read().decode("utf-8")
        assert sanitize_run_id(run_id) in html, f"the report of {day} does not show its run (summary not read)"
    assert _local_s3_folders(cluster) == []  # nothing went to a local folder named 's3:'


def test_a_web_archive_day_runs_through_the_celery_workers(world) -> None:
    """``ccnews_daily`` on the cluster: its mapped ``read_file`` tasks and its load run on the Celery
    workers and pass the day only through S3 (their own folders are separate); the warehouse it loads
    holds exactly the collection's captured versions of the day, and its summary is on S3."""
    import json

    import boto3

    from demo_site.ccnews import CCNewsCollection
    from warehouse.reader import read_articles

    cluster = world["cluster"]
    collection = CCNewsCollection()
    warehouse = f"s3://{cluster.s3.bucket}/ccnews-warehouse"  # its own: the live crawl's stays as it is
    # Unpausing also starts the latest scheduled day's run (catchup is off), which fails at once: the
    # collection has no index for that month. Only the triggered day is looked at.
    cluster.unpause(WARC_DAG)
    cluster.airflow("dags", "trigger", WARC_DAG, "--logical-date", f"{WARC_DAY.isoformat()}T00:00:00+00:00",
                    "--conf", json.dumps({"collection": str(world["collection"]), "warehouse": warehouse}))

    def finished() -> dict | None:
        mine = [r for r in cluster.runs(WARC_DAG) if r["logical_date"] and r["logical_date"].date() == WARC_DAY]
        return mine[0] if mine and mine[0]["state"] in ("success", "failed") else None

    run = wait_for(finished, 300, "the web-archive day's run", every=2)
    assert run["state"] == "success", cluster.logs()

    got = rows_by_id(read_articles(warehouse).to_dict("records"))
    assert got and sorted(got) == sorted(rows_by_id(collection.truth([WARC_DAY])))
    tis = [t for t in cluster.task_instances(WARC_DAG) if t["run_id"] == run["run_id"]]
    reads = [t for t in tis if t["task_id"] == "read_file"]
    assert len(reads) == len(collection.files_on(WARC_DAY)) > 1, tis
    # one of the day's files is truncated on purpose: its task fails alone, the load still runs
    assert {t["state"] for t in reads} <= {"success", "failed"} and any(t["state"] == "success" for t in reads)
    assert all(t["hostname"] and t["queue"] == "default" for t in tis), tis
    # every attempt of every task (a mapped task's attempts per file) logged on exactly one worker
    log_dirs = {w.name: w.log_dir for w in cluster.worker_list}
    logs = [(w, p.relative_to(log_dirs[w])) for w, files in cluster.worker_task_logs().items()
            for p in files if f"run_id={run['run_id']}" in str(p)]
    assert len(logs) == sum(t["try_number"] for t in tis), (logs, tis)
    assert len({rel for _, rel in logs}) == len(logs), logs
    print("web-archive day's task attempts per worker:", {w: sum(1 for x, _ in logs if x == w) for w, _ in logs})
    summaries = [k for k in _s3_keys(cluster, "runs/_warc/") if k.endswith(f"{WARC_DAY}/summary.json")]
    assert len(summaries) == 1, summaries
    body = boto3.client("s3").get_object(Bucket=cluster.s3.bucket, Key=f"runs/_warc/{summaries[0]}")["Body"]
    summary = json.loads(body.read())
    assert summary["records_accounted"] and summary["files_listed"] == len(reads)
    assert _local_s3_folders(cluster) == []  # nothing went to a local folder named 's3:'


def test_a_worker_killed_mid_crawl_the_crawl_is_retried_on_the_other_worker(world) -> None:
    from demo_site.faults import FaultConfig

    cluster, site = world["cluster"], world["site"]
    if not all(cluster.alive().values()):
        pytest.skip("the cluster is not whole (an earlier test failed)")
    # Slow article pages of the fault day (first request of each) keep its crawl busy long enough
    # to kill it mid-way; then the crawl pool opens again.
    site.set_faults(FaultConfig(rates={"slow": 1.0}, burst=1, slow_seconds=3.0,
                                scope=rf"^/(?:[a-z0-9-]+/){{1,2}}{FAULT_DAY:%Y%m%d}-\d+/$"))
    (run,) = wait_for(lambda: _day_runs(cluster, [FAULT_DAY]), 60, "the fault day's run", every=0.5)
    fault_run = run["run_id"]
    cluster.set_pool_slots("japannews", 1)

    def crawling_worker() -> str | None:
        if _crawl_states(cluster).get(fault_run) != "running" or len(site.fault_events) < 3:
            return None
        found = [who for k, who in _log_owners(cluster).items() if k[0] == fault_run and k[1] == "crawl"]
        return found[0][0] if found else None

    victim = wait_for(crawling_worker, 180, "the fault day's crawl to be running and fetching", every=0.2)
    cluster.kill_worker(victim)
    killed_at = time.monotonic()
    survivor = next(w.name for w in cluster.worker_list if w.name != victim)

    def finished() -> dict | None:
        runs = [r for r in cluster.runs(DAG) if r["run_id"] == fault_run]
        return runs[0] if runs and runs[0]["state"] in ("success", "failed") else None

    run = wait_for(finished, 240, "the fault day's run to finish", every=2)
    print(f"fault day finished {time.monotonic() - killed_at:.1f}s after the kill of {victim}")
    assert run["state"] == "success", cluster.logs()
    crawl = [t for t in cluster.task_instances(DAG) if t["run_id"] == fault_run and t["task_id"] == "crawl"]
    assert crawl[0]["try_number"] >= 2, crawl
    owners = _log_owners(cluster)
    assert owners[(fault_run, "crawl", "attempt=1")] == [victim]
    assert owners[(fault_run, "crawl", f"attempt={crawl[0]['try_number']}")] == [survivor]
    slow = [e for e in site.fault_events if e.kind == "slow"]
    assert slow, "the fault day's crawl never reached its article pages"

    # Nothing lost or duplicated, nothing half-written in the run folder; the earlier days untouched.
    _assert_day_is_the_truth(cluster, site, FAULT_DAY)
    for day in DAYS:
        _assert_day_is_the_truth(cluster, site, day)
    keys = _s3_keys(cluster, f"runs/japannews/{FAULT_DAY}/{sanitize_run_id(fault_run)}/")
    tops = {k.split("/")[0] for k in keys}
    done = {"crawl", "clean.parquet", "quarantine.parquet", "summary.json"}
    assert done <= tops <= done | {DISCOVER_DIR, SHARD_URLS_DIR, SHARDS_DIR}, tops
    assert len(_stored(cluster)) == sum(len(_truth(site, d)) for d in [*DAYS, FAULT_DAY])
