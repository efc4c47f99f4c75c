"""Honest runs through real Airflow (`airflow dags test`, SQLite metadata): the articles asset is announced
only by a day whose checks passed (so the quality DAG never starts on a failed day), and a manual run
for a day after the profile's ``schedule.end_date`` is never Airflow's instant green run with no tasks."""

from __future__ import annotations

import json
from datetime import date

import pytest

from newsline.demo import logical_date_for
from tests.e2e.airflow_services import airflow, make_env, metadata, sites_dir_with

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DAG = "japannews_daily"
GOOD_DAY = date(2024, 9, 4)
EMPTY_DAY = date(2024, 9, 12)  # after the demo site's clock: the site published nothing, summarize fails
END_DATE = date(2024, 9, 5)
AFTER_END = date(2024, 9, 7)  # a day the demo site has, after the profile's end date


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from demo_site.server import DemoServer

    tmp = tmp_path_factory.mktemp("e2e-manual")
    server = DemoServer(port=0)
    server.start()
    try:
        env = make_env(tmp / "airflow", base_url=server.base_url, warehouse=tmp / "warehouse",
                       staging=tmp / "runs", extra={"NEWSLINE_TASK_RETRIES": "0"})
        airflow(env, "db", "migrate")
        airflow(env, "pools", "set", "japannews", "1", "crawl slots for The Japan News")
        open_ended = sites_dir_with(tmp / "sites-open", {})
        ended = sites_dir_with(tmp / "sites-ended", {"japannews": {"schedule": {
            "start_date": "2024-09-01", "end_date": END_DATE.isoformat()}}})
        yield {"env": env, "tmp": tmp, "server": server, "open": open_ended, "ended": ended}
    finally:
        server.stop()


def dags_test(world, day: date, sites_dir) -> tuple[int, str]:
    env = {**world["env"], "NEWSLINE_SITES_DIR": str(sites_dir)}
    proc = airflow(env, "dags", "test", DAG, logical_date_for(day), check=False)
    return proc.returncode, proc.stdout + proc.stderr


def asset_events(world) -> list[dict]:
    rows = metadata(world["env"], "select e.extra, e.source_dag_id, e.source_task_id, e.source_run_id "
                                  "from asset_event e join asset a on a.id = e.asset_id "
                                  "where a.name = 'newsline_articles' order by e.id")
    return [{**r, "extra": json.loads(r["extra"] or "{}")} for r in rows]


def task_states(world, run_id: str) -> dict[str, str]:
    """task id → state; a mapped task (the crawl shards) counts as failed if any of its shards is not done."""
    rows = metadata(world["env"], "select task_id, state from task_instance where dag_id = ? and run_id = ?",
                    (DAG, run_id))
    out: dict[str, str] = {}
    for r in rows:
        out[r["task_id"]] = r["state"] if out.get(r["task_id"], r["state"]) == r["state"] else "mixed"
    return out


def test_a_day_whose_checks_pass_announces_the_asset_from_summarize(world) -> None:
    code, out = dags_test(world, GOOD_DAY, world["open"])
    assert code == 0, out[-4000:]
    events = asset_events(world)
    assert len(events) == 1, events
    assert events[0]["source_task_id"] == "summarize", events
    assert events[0]["extra"]["day"] == GOOD_DAY.isoformat() and events[0]["extra"]["site"] == "japannews"
    assert events[0]["extra"]["new"] > 0, events


def test_a_reprocess_run_replays_the_days_archive_through_its_one_crawl_task(world) -> None:
    """``reprocess=true``: no network; `discover` returns the one replay for `crawl` (mapped once), and
    `transform` takes the replay's stats from that task (not from a shard merge)."""
    env = {**world["env"], "NEWSLINE_SITES_DIR": str(world["open"])}
    code, out = dags_test(world, GOOD_DAY, world["open"])  # the day crawled (its WARC kept), if not yet
    assert code == 0, out[-4000:]
    world["server"].clear_requests()
    proc = airflow(env, "dags", "test", DAG, logical_date_for(GOOD_DAY), "-c", json.dumps({"reprocess": True}),
                   check=False)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    assert world["server"].timed_requests == [], "a reprocess run must not reach the site"
    runs = metadata(world["env"], "select run_id, state from dag_run where dag_id = ? order by id", (DAG,))
    states = task_states(world, runs[-1]["run_id"])
    assert runs[-1]["state"] == "success" and set(states.values()) == {"success"}, states
    from newsline.pipeline import sanitize_run_id

    run_dir = world["tmp"] / "runs" / "japannews" / GOOD_DAY.isoformat() / sanitize_run_id(runs[-1]["run_id"])
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "ok" and summary["articles_unchanged"] > 0 and summary["articles_new"] == 0, summary


def test_a_day_whose_summarize_fails_announces_no_asset(world) -> None:
    before = asset_events(world)
    code, out = dags_test(world, EMPTY_DAY, world["open"])
    runs = metadata(world["env"], "select run_id, state from dag_run where dag_id = ? order by id", (DAG,))
    states = task_states(world, runs[-1]["run_id"])
    assert states.get("load") == "success" and states.get("summarize") == "failed", (states, out[-3000:])
    after = asset_events(world)
    assert after == before, f"a failed day must not trigger the quality DAG: {after[len(before):]}"


def test_airflow_json_output_parses_as_json_in_our_environment(world) -> None:
    """`airflow … -o json` stdout is JSON: no graphviz warning ahead of it (newsline.demo.airflow_env)."""
    dags_test(world, GOOD_DAY, world["open"])  # so the DAG is stored (the test may run alone)
    proc = airflow(world["env"], "dags", "list", "-o", "json")
    assert "graphviz" not in proc.stdout, proc.stdout[:500]
    listed = json.loads(proc.stdout)
    assert DAG in {d["dag_id"] for d in listed}, listed


def test_a_manual_run_after_the_profile_end_date_runs_the_day(world) -> None:
    """Before: `airflow dags test` for a day after ``schedule.end_date`` exited 0 with a run that had no
    task instance (Airflow copied the DAG's end date onto every task). Now the day is crawled."""
    code, out = dags_test(world, AFTER_END, world["ended"])
    assert code == 0, out[-4000:]
    runs = metadata(world["env"], "select run_id, run_type, state from dag_run where dag_id = ? order by id", (DAG,))
    run = runs[-1]
    assert run["state"] == "success", run
    states = task_states(world, run["run_id"])
    assert set(states) == {"discover", "crawl", "transform", "load", "summarize"}, states
    # a day of one shard is fetched by discover: the mapped crawl expands to nothing
    assert states.pop("crawl") == "skipped" and set(states.values()) == {"success"}, states
    [summary_file] = (world["tmp"] / "runs" / "japannews" / AFTER_END.isoformat()).glob("*/summary.json")
    summary = json.loads(summary_file.read_text())
    assert summary["status"] == "ok" and summary["articles_new"] > 0, summary

