"""`ccnews_daily` through real Airflow (`airflow dags test`): a UTC day of the demo collection lands
exactly the captured versions; the truncated file's task fails on its own and the load still runs
and reports it; a re-run of the day changes nothing."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path

import pytest

from tests.e2e.airflow_services import airflow, make_env
from tests.truth import rows_by_id

pytestmark = pytest.mark.slow

DAY = date(2024, 9, 4)


def _digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted((root / "articles").rglob("*.parquet"))}


def test_ccnews_daily_ingests_a_day(collection, collection_dir, tmp_path) -> None:
    from warehouse.reader import read_articles

    env = make_env(tmp_path / "airflow", base_url="http://127.0.0.1:9/", warehouse=tmp_path / "warehouse",
                   staging=tmp_path / "runs",
                   extra={"NEWSLINE_WARC_COLLECTION": str(collection_dir), "NEWSLINE_TASK_RETRIES": "1",
                          "NEWSLINE_TASK_RETRY_DELAY": "1"})
    airflow(env, "db", "migrate")
    proc = airflow(env, "dags", "test", "ccnews_daily", f"{DAY.isoformat()}T00:00:00+00:00", check=False)
    out = proc.stdout + proc.stderr
    stored = rows_by_id(read_articles(str(tmp_path / "warehouse")).to_dict("records"))
    assert stored == rows_by_id(collection.truth([DAY])), out[-4000:]
    summaries = list((tmp_path / "runs" / "_warc").glob(f"*/{DAY.isoformat()}/summary.json"))
    assert len(summaries) == 1, out[-4000:]
    summary = json.loads(summaries[0].read_text())
    assert summary["records_accounted"] and summary["files_failed"] == 1
    assert summary["files_listed"] == len(collection.files_on(DAY))
    before = _digest(tmp_path / "warehouse")
    airflow(env, "dags", "test", "ccnews_daily", f"{DAY.isoformat()}T00:00:00+00:00", check=False)
    assert _digest(tmp_path / "warehouse") == before
