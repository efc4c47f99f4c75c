"""What the cluster test modules share: the demo truth against the warehouse on S3, runs by covered
day, and which worker's own log folder holds a task attempt."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import date, timedelta

import boto3
import pandas as pd
import pytest

from newsline.cluster import Cluster
from tests.truth import CORE_FIELDS, rows_by_id

DAG = "japannews_daily"
JST_OFFSET = timedelta(hours=9)


@contextlib.contextmanager
def running(cluster: Cluster, site) -> Iterator[Cluster]:
    """The cluster up, its S3 environment exported to the test process (which reads the warehouse
    and the run folders); everything stopped at the end, the demo site too, however the tests end."""
    try:
        with cluster, pytest.MonkeyPatch.context() as mp:
            for key, value in cluster.s3.env.items():
                mp.setenv(key, value)
            mp.delenv("AWS_PROFILE", raising=False)
            yield cluster
    finally:
        site.stop()


def truth(site, day: date) -> dict[str, dict]:
    frame = pd.DataFrame(site.truth())
    return rows_by_id(frame[frame["date"] == day].to_dict("records"))


def stored(cluster: Cluster) -> pd.DataFrame:
    from warehouse.reader import read_articles

    return read_articles(cluster.warehouse)


def assert_day_is_the_truth(cluster: Cluster, site, day: date) -> None:
    frame = stored(cluster)
    got = rows_by_id(frame[frame["date"] == day].to_dict("records"))
    want = truth(site, day)
    assert want and sorted(got) == sorted(want), f"{day}: the warehouse differs from what the site published"
    for aid, row in want.items():
        for name in CORE_FIELDS:
            assert got[aid][name] == row[name], f"{day} {aid} {name}: {got[aid][name]!r} != {row[name]!r}"
    assert frame["article_id"].is_unique


def s3_keys(cluster: Cluster, prefix: str) -> set[str]:
    client = boto3.client("s3")
    out: set[str] = set()
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=cluster.s3.bucket, Prefix=prefix):
        out.update(o["Key"][len(prefix):] for o in page.get("Contents", []))
    return out


def local_s3_folders(cluster: Cluster) -> list:
    """Folders named ``s3:`` under any worker's home: where an ``s3://`` path written as a local path lands."""
    return [p for w in cluster.worker_list for p in w.home.rglob("s3:")]


def log_owners(cluster: Cluster) -> dict[tuple[str, str, str], list[str]]:
    """(run_id, task_id, attempt) -> the workers whose own log folder holds that task attempt's log."""
    owners: dict[tuple[str, str, str], list[str]] = {}
    for name, files in cluster.worker_task_logs().items():
        for path in files:
            parts = {p.split("=", 1)[0]: p.split("=", 1)[1] for p in path.parts if "=" in p}
            key = (parts["run_id"], parts["task_id"], path.stem)
            owners.setdefault(key, []).append(name)
    return owners


def crawl_states(cluster: Cluster, dag: str = DAG) -> dict[str, str]:
    rows = cluster.metadata("select run_id, state from task_instance where dag_id = %s and task_id = 'crawl'", (dag,))
    return {r["run_id"]: r["state"] for r in rows}


def day_runs(cluster: Cluster, days: list[date], dag: str = DAG) -> list[dict]:
    """The scheduled runs of ``days`` (the data interval starts at the day's midnight in Tokyo)."""
    runs = cluster.metadata("select run_id, state, data_interval_start from dag_run where dag_id = %s "
                            "order by data_interval_start", (dag,))
    wanted = {str(d) for d in days}
    return [r for r in runs if (r["data_interval_start"] + JST_OFFSET).date().isoformat() in wanted]
