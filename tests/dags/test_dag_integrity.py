"""Airflow's own example-DAG checks, applied to ours: imports cleanly, touches no database,
Variable, Connection or network while parsed, imports nothing heavy, has owners/retries/tags."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DAG_FILES = sorted((REPO / "dags").glob("*.py"))

PARSE_PROBE = r"""
import json, socket, sys, time, importlib.util
def refuse(*a, **k):
    raise AssertionError("DAG file touched the network or a database while being parsed")
import airflow.sdk  # importing Airflow builds (but does not connect) its engine; patch after it
import sqlalchemy.engine
socket.socket.connect = refuse
socket.create_connection = refuse
sqlalchemy.engine.Engine.connect = refuse
for name in ("Variable", "Connection"):
    cls = getattr(airflow.sdk, name)
    cls.get = classmethod(lambda *a, **k: refuse())
    if hasattr(cls, "get_connection_from_secrets"):
        cls.get_connection_from_secrets = classmethod(lambda *a, **k: refuse())
before = set(sys.modules)
t0 = time.perf_counter()
spec = importlib.util.spec_from_file_location("dagfile", sys.argv[1])
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
elapsed = time.perf_counter() - t0
heavy = sorted(m for m in set(sys.modules) - before
               if m.split(".")[0] in {"scrapy", "pandas", "pyarrow", "duckdb", "twisted", "polars", "transforms",
                                      "warehouse", "crawler", "demo_site", "plotly"})
print(json.dumps({"heavy": heavy, "seconds": elapsed}))
"""


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(REPO / "dags"))


def test_no_import_errors(dagbag) -> None:
    assert dagbag.import_errors == {}
    assert "japannews_daily" in dagbag.dags


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.name)
def test_parsing_touches_no_database_network_or_heavy_module(path: Path) -> None:
    env = dict(os.environ)
    env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = "sqlite:////nonexistent/dir/airflow.db"
    proc = subprocess.run([sys.executable, "-c", PARSE_PROBE, str(path)], capture_output=True, text=True, env=env,
                          cwd=str(REPO), timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["heavy"] == [], f"{path.name} imports heavy modules at parse time: {result['heavy']}"


def test_every_dag_has_owner_retries_tags_and_docs(dagbag) -> None:
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags, dag_id
        assert dag.doc_md, dag_id
        for t in dag.tasks:
            assert t.owner and t.owner != "airflow", (dag_id, t.task_id)
            assert t.retries >= 1, (dag_id, t.task_id)
            assert t.execution_timeout is not None, (dag_id, t.task_id)


def test_every_task_returns_one_xcom(dagbag) -> None:
    """A task returning a dict annotated ``-> dict`` makes Airflow push every key as an XCom of its own
    (``multiple_outputs`` is inferred from the annotation): one API call and one row each, ~40 calls per
    site-day before. Each of ours pushes its return value once."""
    for dag_id, dag in dagbag.dags.items():
        for t in dag.tasks:
            assert getattr(t, "multiple_outputs", False) is False, (dag_id, t.task_id)


def test_daily_dag_shape(dagbag) -> None:
    dag = dagbag.dags["japannews_daily"]
    assert [t.task_id for t in dag.topological_sort()] == ["discover", "crawl", "transform", "load",
                                                           "summarize"]
    crawl = dag.get_task("crawl")
    assert crawl.pool == "japannews" and dag.get_task("discover").pool == "japannews"
    assert type(crawl).__name__.endswith("MappedOperator"), "the crawl is mapped over the day's shards"
    assert dag.get_task("summarize").outlets, "summarize (the day's checks) must announce the articles asset"
    assert not dag.get_task("load").outlets, "load must not announce the asset before the day's checks passed"
    assert dag.get_task("summarize").downstream_task_ids == set(), "the asset is announced by the last task"
    tt = dag.timetable
    assert type(tt).__name__ == "CronDataIntervalTimetable"


@pytest.mark.parametrize("dag_id", ["news_metrotimes_daily", "no_such_daily"])
def test_a_task_process_builds_only_its_own_site_dag(dagbag, monkeypatch: pytest.MonkeyPatch, dag_id: str) -> None:
    """Airflow names the DAG a task process runs (its parsing context); only that site's DAG is built
    there. An id of no profile builds every DAG, so Airflow's own "not found" error is what shows."""
    from airflow.sdk.definitions.context import _AIRFLOW_PARSING_CONTEXT_DAG_ID

    from newsline.dagfactory import site_dags

    every = {d for d in dagbag.dags if d not in ("newsline_quality", "ccnews_daily", "newsline_retention")}
    assert dag_id in every or dag_id == "no_such_daily"
    monkeypatch.setenv(_AIRFLOW_PARSING_CONTEXT_DAG_ID, dag_id)
    built = site_dags()
    assert set(built) == ({dag_id} if dag_id in every else every)
    assert [t.task_id for t in built[next(iter(built))].topological_sort()] == [
        "discover", "crawl", "transform", "load", "summarize"]


def test_daily_interval_is_one_jst_day(dagbag) -> None:
    """The scheduled data interval of a run is exactly one closed day of Asia/Tokyo."""
    from datetime import datetime

    from airflow.serialization.encoders import coerce_to_core_timetable
    from airflow.timetables.base import DataInterval, TimeRestriction

    from core.timeutil import logical_day

    tt = coerce_to_core_timetable(dagbag.dags["japannews_daily"].timetable)
    last = DataInterval(datetime(2024, 9, 4, 15, tzinfo=UTC), datetime(2024, 9, 5, 15, tzinfo=UTC))
    info = tt.next_dagrun_info(last_automated_data_interval=last,
                               restriction=TimeRestriction(earliest=None, latest=None, catchup=True))
    assert info is not None
    assert logical_day(info.data_interval.start, info.data_interval.end, "Asia/Tokyo").isoformat() == "2024-09-06"
    assert info.run_after == info.data_interval.end  # it runs once the day has closed


def test_ruff_airflow3_rules_clean() -> None:
    ruff = Path(sys.executable).with_name("ruff")
    proc = subprocess.run([str(ruff), "check", "--select", "AIR3", "--preview", str(REPO / "dags")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize(
    "body",
    [
        "from airflow.sdk import Variable\nVariable.get('x')\n",
        "import sqlite3, airflow.settings\nfrom sqlalchemy import text\nairflow.settings.engine.connect()\n",
        "import pandas\n",
    ],
    ids=["variable", "database", "heavy-import"],
)
def test_the_parse_probe_catches_bad_dag_files(tmp_path: Path, body: str) -> None:
    """The probe above must be able to fail: a DAG file that misbehaves is caught."""
    bad = tmp_path / "bad_dag.py"
    bad.write_text(body)
    proc = subprocess.run([sys.executable, "-c", PARSE_PROBE, str(bad)], capture_output=True, text=True,
                          cwd=str(REPO), timeout=120)
    heavy = proc.returncode == 0 and json.loads(proc.stdout.strip().splitlines()[-1])["heavy"]
    assert proc.returncode != 0 or heavy


def test_the_retention_dag_prunes_old_run_folders_and_starts_paused(dagbag, tmp_path, monkeypatch) -> None:
    """``newsline_retention`` is opt-in (paused when first deployed) and its one task runs
    ``newsline prune-runs`` over the configured staging root with NEWSLINE_RUN_RETENTION_DAYS."""
    dag = dagbag.dags["newsline_retention"]
    assert dag.is_paused_upon_creation is True and [t.task_id for t in dag.tasks] == ["prune_runs"]
    run = tmp_path / "runs" / "japannews" / "2024-09-06" / "r1"
    (run / "crawl").mkdir(parents=True)
    for name in ("summary.json", "crawl/crawl.json", "crawl/items.jsonl", "crawl/archive.warc.gz", "clean.parquet"):
        (run / name).write_text(name, encoding="utf-8")
        os.utime(run / name, (1_700_000_000, 1_700_000_000))  # November 2023
    monkeypatch.setenv("NEWSLINE_STAGING", str(tmp_path / "runs"))
    monkeypatch.delenv("NEWSLINE_ARCHIVE", raising=False)
    monkeypatch.setenv("NEWSLINE_RUN_RETENTION_DAYS", "400")
    result = dag.get_task("prune_runs").python_callable(params={})
    assert result["runs_pruned"] == 1 and result["files_deleted"] == 2 and result["older_than_days"] == 400
    assert sorted(p.name for p in run.rglob("*") if p.is_file()) == ["archive.warc.gz", "crawl.json", "summary.json"]
    assert dag.get_task("prune_runs").python_callable(params={"older_than_days": 100_000})["runs_recent"] == 1
