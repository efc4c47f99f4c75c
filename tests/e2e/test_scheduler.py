"""The DAGs under a real scheduler (not ``airflow dags test``): catch-up from the timetable alone,
backfills, clearing a day, the per-site pool, the asset that schedules the quality DAG, and failure
alerts through Airflow's own callbacks to a webhook. One set of services serves the whole module.

The commands these tests run are the ones the runbook (docs/runbook.md) tells operators to run.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.e2e.airflow_services import (
    AirflowServices,
    WebhookSink,
    airflow,
    free_port,
    make_env,
    metadata,
    sites_dir_with,
    utc,
    wait_until,
)

pytestmark = pytest.mark.slow

DAG = "japannews_daily"
QUALITY = "newsline_quality"
JST = timezone(timedelta(hours=9))
CATCHUP_DAYS = [date(2024, 9, 4), date(2024, 9, 5)]
BACKFILL_DAYS = [date(2024, 9, 6), date(2024, 9, 7)]
EMPTY_DAY = date(2024, 9, 12)  # after the demo site's clock: the site has published nothing for it
FINISHED = ("success", "failed")


def jst_midnight(day: date) -> str:
    return f"{day.isoformat()}T00:00:00+09:00"


def covered_day(run: dict) -> date:
    """The JST day a run covers: the start of its data interval in Asia/Tokyo."""
    return utc(run["data_interval_start"]).astimezone(JST).date()


def runs(env: dict[str, str], dag_id: str) -> list[dict]:
    return metadata(env, "select run_id, run_type, state, logical_date, data_interval_start, data_interval_end, "
                         "start_date, end_date, conf from dag_run where dag_id = ? order by id", (dag_id,))


def runs_by_day(env: dict[str, str]) -> dict[date, dict]:
    return {covered_day(r): r for r in runs(env, DAG) if r["data_interval_start"]}


def task_instances(env: dict[str, str], dag_id: str, run_id: str | None = None) -> list[dict]:
    sql = ("select run_id, task_id, state, try_number, pool, scheduled_dttm, start_date, end_date from task_instance "
           "where dag_id = ?")
    args: tuple = (dag_id,)
    if run_id is not None:
        sql += " and run_id = ?"
        args += (run_id,)
    return metadata(env, sql, args)


def wait_days_finished(world, days: list[date], timeout: float) -> dict[date, dict]:
    def done():
        by_day = runs_by_day(world["env"])
        if all(d in by_day and by_day[d]["state"] in FINISHED for d in days):
            return by_day
        return None

    return wait_until(done, timeout, f"finished {DAG} runs for {days}", world["services"])


def stored_ids(world, day: date) -> list[str]:
    from warehouse.reader import read_articles

    frame = read_articles(str(world["tmp"] / "warehouse"))
    return sorted(frame.loc[frame["date"] == day, "article_id"])


def truth_ids(world, day: date) -> list[str]:
    return sorted(r["article_id"] for r in world["server"].truth(day=day))


def tree_digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for sub in ("articles", "article_revisions") for p in sorted((root / sub).rglob("*.parquet"))}


def failure_log(world, run_id: str) -> str:
    """The task logs of a run, for assertion messages."""
    folder = Path(world["env"]["AIRFLOW__LOGGING__BASE_LOG_FOLDER"])
    texts = [p.read_text(errors="replace")[-3000:] for p in folder.rglob("*.log") if run_id in str(p)]
    return "\n".join(texts)[-8000:]


def backfill(world, first: date, last: date) -> None:
    """`airflow backfill create` over JST days; Airflow allows one unfinished backfill per DAG, so wait."""
    env = world["env"]
    wait_until(lambda: not metadata(env, "select id from backfill where dag_id = ? and completed_at is null", (DAG,)),
               120, "the previous backfill to be marked complete", world["services"])
    airflow(env, "backfill", "create", "--dag-id", DAG, "--from-date", jst_midnight(first),
            "--to-date", jst_midnight(last))


def unpause(world, dag_id: str) -> None:
    """`airflow dags unpause` once the DAG processor has stored the DAG (before that it unpauses nothing)."""
    env = world["env"]
    wait_until(lambda: metadata(env, "select dag_id from dag where dag_id = ?", (dag_id,)), 120,
               f"{dag_id} to be parsed", world["services"])
    airflow(env, "dags", "unpause", dag_id)
    assert metadata(env, "select is_paused from dag where dag_id = ?", (dag_id,)) == [{"is_paused": 0}]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from demo_site.server import DemoServer

    tmp = tmp_path_factory.mktemp("e2e-scheduler")
    server = DemoServer(port=0)
    server.start()
    sink = WebhookSink()
    env = make_env(tmp / "airflow", base_url=server.base_url, warehouse=tmp / "warehouse", staging=tmp / "runs",
                   extra={
                       # the deployment's schedule lives in the site profile, read the same by every process
                       "NEWSLINE_SITES_DIR": str(sites_dir_with(tmp / "sites", {"japannews": {"schedule": {
                           "start_date": "2024-09-04", "end_date": "2024-09-05", "catchup": True}}})),
                       "NEWSLINE_ALERT_WEBHOOK": sink.url,
                       "NEWSLINE_TASK_RETRIES": "1",
                       "NEWSLINE_TASK_RETRY_DELAY": "2",
                   })
    airflow(env, "db", "migrate")
    airflow(env, "pools", "set", "japannews", "1", "crawl slots for The Japan News")
    services = AirflowServices(env, tmp / "service-logs")
    services.__enter__()
    world = {"server": server, "env": env, "tmp": tmp, "services": services, "sink": sink}
    try:
        unpause(world, QUALITY)
        yield world
    finally:
        services.stop()
        sink.stop()
        server.stop()


def test_the_scheduler_catches_up_the_configured_days_without_a_trigger(world) -> None:
    unpause(world, DAG)
    by_day = wait_days_finished(world, CATCHUP_DAYS, 240)
    assert sorted(by_day) == CATCHUP_DAYS, f"the profile's end_date 2024-09-05 must stop the catch-up: {sorted(by_day)}"
    for day in CATCHUP_DAYS:
        run = by_day[day]
        assert run["run_type"] == "scheduled", run
        assert run["state"] == "success", failure_log(world, run["run_id"])
        assert utc(run["data_interval_end"]) - utc(run["data_interval_start"]) == timedelta(days=1)
        assert utc(run["data_interval_start"]) == datetime(day.year, day.month, day.day, tzinfo=JST)
        ids = stored_ids(world, day)
        assert ids and ids == truth_ids(world, day), f"{day}: the warehouse differs from what the site published"
        summary = json.loads((world["tmp"] / "runs" / "japannews" / day.isoformat() / _safe(run["run_id"])
                              / "summary.json").read_text())
        assert summary["status"] == "ok" and summary["day"] == day.isoformat()


def _safe(run_id: str) -> str:
    from newsline.pipeline import sanitize_run_id

    return sanitize_run_id(run_id)


def test_a_backfill_fills_the_requested_days(world) -> None:
    backfill(world, BACKFILL_DAYS[0], BACKFILL_DAYS[-1])
    by_day = wait_days_finished(world, BACKFILL_DAYS, 240)
    for day in BACKFILL_DAYS:
        run = by_day[day]
        assert run["run_type"] == "backfill", run
        assert run["state"] == "success", failure_log(world, run["run_id"])
        ids = stored_ids(world, day)
        assert ids and ids == truth_ids(world, day), f"{day}: the warehouse differs from what the site published"
    assert set(by_day) == set(CATCHUP_DAYS + BACKFILL_DAYS), sorted(by_day)


def test_the_pool_keeps_one_crawl_at_a_time_while_two_runs_are_active(world) -> None:
    env = world["env"]
    by_day = runs_by_day(env)
    backfill = [by_day[d] for d in BACKFILL_DAYS]
    # the two backfill runs were active at the same time (max_active_runs=2) ...
    (a, b) = sorted(backfill, key=lambda r: utc(r["start_date"]))
    assert utc(b["start_date"]) < utc(a["end_date"]), f"the backfill runs never overlapped: {backfill}"
    # ... yet their crawler processes never overlapped: a day of one shard is fetched by its `discover`
    # (the mapped crawl expands to nothing: skipped), the only task of the one-slot "japannews" pool that ran
    pooled = [t for t in task_instances(env, DAG) if t["task_id"] in ("discover", "crawl")]
    ran = [t for t in pooled if t["start_date"]]
    assert {t["pool"] for t in pooled} == {"japannews"}, pooled
    assert {t["state"] for t in pooled if t["task_id"] == "crawl"} == {"skipped"}, pooled
    discovers = [t for t in ran if t["task_id"] == "discover"]
    assert len(discovers) >= 4 and len(ran) == len(discovers), ran
    spans = sorted((utc(t["start_date"]), utc(t["end_date"]), t["run_id"], t["task_id"]) for t in ran)
    for (s1, e1, r1, t1), (s2, e2, r2, t2) in zip(spans, spans[1:], strict=False):
        assert e1 <= s2, f"{t1} of {r1} and {t2} of {r2} overlapped: {s1}-{e1} vs {s2}-{e2}"
    # and the second run's discovery was ready (scheduled) while the first run's held the slot: it waited
    # for the pool, not for its own upstream
    first, second = sorted((utc(t["start_date"]), utc(t["end_date"]), utc(t["scheduled_dttm"]), t["run_id"])
                           for t in discovers if t["run_id"] in (a["run_id"], b["run_id"]))
    assert second[2] < first[1], "both runs must have had a discovery ready while the slot was taken"


def test_clearing_a_day_reruns_it_and_leaves_the_warehouse_byte_identical(world) -> None:
    env = world["env"]
    day = BACKFILL_DAYS[0]
    before = tree_digest(world["tmp"] / "warehouse")
    run = runs_by_day(env)[day]
    tries_before = {t["task_id"]: t["try_number"] for t in task_instances(env, DAG, run["run_id"])}
    cleared_at = datetime.now(UTC)
    airflow(env, "tasks", "clear", DAG, "-s", jst_midnight(day), "-e", jst_midnight(day), "-y")

    def rerun_finished():
        r = runs_by_day(env)[day]
        tis = task_instances(env, DAG, r["run_id"])
        rerun = all(t["try_number"] > tries_before[t["task_id"]] for t in tis if t["state"] != "skipped")
        if rerun and r["state"] in FINISHED and all(t["state"] in ("success", "failed", "skipped") for t in tis):
            return r
        return None

    again = wait_until(rerun_finished, 180, f"the cleared {day} run to finish", world["services"])
    assert again["run_id"] == run["run_id"] and again["state"] == "success", failure_log(world, run["run_id"])
    assert utc(again["end_date"]) > cleared_at
    assert tree_digest(world["tmp"] / "warehouse") == before
    summary = json.loads((world["tmp"] / "runs" / "japannews" / day.isoformat() / _safe(run["run_id"])
                          / "summary.json").read_text())
    assert summary["articles_new"] == 0 and summary["articles_updated"] == 0, summary
    assert stored_ids(world, day) == truth_ids(world, day)


def test_each_checked_day_schedules_the_quality_dag_through_the_asset(world) -> None:
    env = world["env"]

    def quality_done():
        qruns = runs(env, QUALITY)
        if qruns and all(r["state"] in FINISHED for r in qruns):
            return qruns
        return None

    qruns = wait_until(quality_done, 180, f"{QUALITY} runs", world["services"])
    assert {r["run_type"] for r in qruns} == {"asset_triggered"}, qruns
    events = metadata(env, "select e.source_task_id from asset_event e join asset a on a.id = e.asset_id "
                           "where a.name = 'newsline_articles'")
    assert events and {e["source_task_id"] for e in events} == {"summarize"}, events
    failed = [r for r in qruns if r["state"] != "success"]
    assert not failed, "\n".join(failure_log(world, r["run_id"]) for r in failed)
    reports = sorted(p.name for p in (world["tmp"] / "runs" / "reports").glob("*.html"))
    for day in CATCHUP_DAYS + BACKFILL_DAYS:
        assert f"japannews-{day.isoformat()}.html" in reports, reports
    assert not [m for m in world["sink"].messages if m.get("kind") == "quality_failed"], world["sink"].messages


def test_an_empty_day_fails_the_run_alerts_once_and_triggers_no_quality_run(world) -> None:
    env, sink = world["env"], world["sink"]
    quality_before = {r["run_id"] for r in runs(env, QUALITY)}
    backfill(world, EMPTY_DAY, EMPTY_DAY)
    run = wait_days_finished(world, [EMPTY_DAY], 180)[EMPTY_DAY]
    assert run["state"] == "failed"
    tis = {t["task_id"]: t for t in task_instances(env, DAG, run["run_id"])}
    assert tis["load"]["state"] == "success" and tis["summarize"]["state"] == "failed", tis
    assert tis["summarize"]["try_number"] == 2, "the alert must come after the retry was used"

    alert = wait_until(lambda: [m for m in sink.messages if m.get("kind") == "task_failed"
                                and m.get("day") == EMPTY_DAY.isoformat()], 60, "the task_failed alert")
    assert len(alert) == 1, f"one alert per failed task, not per try: {alert}"
    msg = alert[0]
    assert msg["dag_id"] == DAG and msg["task_id"] == "summarize" and msg["run_id"] == run["run_id"]
    assert "no_articles_discovered" in msg["reason"], msg
    assert msg["text"].startswith(f"[newsline] task_failed: japannews {EMPTY_DAY.isoformat()} summarize: "), msg
    assert "\n" not in msg["text"] and "(try 2 of 2)" in msg["text"], msg

    # the day failed its checks, so summarize announced no asset event and the quality DAG did not start:
    # the root-cause alert above is the only one for the day
    time.sleep(15)  # several scheduler loops: an asset-triggered run would have been created by now
    new = [r for r in runs(env, QUALITY) if r["run_id"] not in quality_before]
    assert new == [], f"a failed day must not trigger {QUALITY}: {new}"
    events = metadata(env, "select e.source_task_id, e.extra from asset_event e join asset a on a.id = e.asset_id "
                           "where a.name = 'newsline_articles' and e.source_run_id = ?", (run["run_id"],))
    assert events == [], events
    assert not [m for m in sink.messages if m.get("kind") == "quality_failed"], sink.messages
    assert not [m for m in sink.messages if m.get("kind") == "task_failed" and m.get("dag_id") == QUALITY]


def test_a_cli_triggered_run_against_an_unreachable_site_alerts_with_the_reason(world) -> None:
    """`airflow dags trigger` with a --conf override; also pins down which day a CLI trigger covers."""
    env, sink = world["env"], world["sink"]
    closed = f"http://127.0.0.1:{free_port()}/"
    before = {r["run_id"] for r in runs(env, DAG)}
    # a logical date inside the profile's start_date..end_date (manual runs after END get no task instances at all)
    # and not used by another run (logical dates are unique per DAG)
    logical = datetime(2024, 9, 4, 12, tzinfo=JST)
    triggered_at = datetime.now(UTC)
    airflow(env, "dags", "trigger", DAG, "--logical-date", logical.isoformat(), "--conf", json.dumps({"base_url": closed}))
    run = wait_until(lambda: next((r for r in runs(env, DAG) if r["run_id"] not in before
                                   and r["state"] in FINISHED), None), 180, "the triggered run",
                     world["services"])
    assert run["run_type"] == "manual" and json.loads(run["conf"]) == {"base_url": closed}
    assert utc(run["logical_date"]) == logical
    # Airflow 3.3's CLI takes the data interval from the trigger time, not from --logical-date ...
    assert covered_day(run) == (triggered_at.astimezone(JST) - timedelta(days=1)).date(), run
    # ... but the run covers the day the operator named (newsline.dagsupport.covered_day)
    day = logical.date()
    assert run["state"] == "failed", run
    failed = [t for t in task_instances(env, DAG, run["run_id"]) if t["state"] == "failed"]
    assert len(failed) == 1 and failed[0]["try_number"] == 2, failed
    alerts = wait_until(lambda: [m for m in sink.messages if m.get("run_id") == run["run_id"]], 60,
                        "the failure alert")
    assert len(alerts) == 1, alerts
    msg = alerts[0]
    assert msg["kind"] == "task_failed" and msg["dag_id"] == DAG and msg["task_id"] == failed[0]["task_id"]
    assert msg["day"] == day.isoformat() and day.isoformat() in msg["text"], msg
    assert msg["reason"] not in ("", "unknown"), msg
    print(f"\nalert for the unreachable site ({msg['task_id']}): {msg['reason'][:300]}")


def test_the_services_stop_cleanly(world) -> None:
    services = world["services"]
    assert all(services.alive().values()), services.logs()
    pids = {name: proc.pid for name, proc in services.procs.items()}
    codes = services.stop()
    assert set(codes) == set(AirflowServices.COMPONENTS) and all(c is not None for c in codes.values()), codes
    for pid in pids.values():
        with pytest.raises(ProcessLookupError):
            os.killpg(pid, 0)  # nothing of the component's process group is left
    assert not any(services.alive().values())
