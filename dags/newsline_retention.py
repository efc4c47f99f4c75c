"""Retention of run folders: once a day, ``newsline prune-runs`` over ``NEWSLINE_STAGING``.

Run folders none of whose files changed for ``NEWSLINE_RUN_RETENTION_DAYS`` days (default 30; the
``older_than_days`` param of a manual run) lose what the warehouse already holds: items, frames, logs,
shard parts. Summaries, crawl reports and every raw archive with no copy under ``NEWSLINE_ARCHIVE`` are
kept (``including_archives`` deletes those too). Paused when first deployed: unpause it to opt in.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Param, dag, task

from newsline.airflow_common import task_defaults

default_args = task_defaults(retries=1, retry_delay_s=300, execution_timeout=timedelta(hours=2))


@dag(
    dag_id="newsline_retention",
    description="Prune old run folders (newsline prune-runs).",
    schedule="@daily",
    start_date=pendulum.datetime(2024, 9, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    is_paused_upon_creation=True,
    default_args=default_args,
    params={"older_than_days": Param(None, type=["null", "number"], minimum=1),
            "including_archives": Param(False, type="boolean")},
    tags=["newsline", "maintenance"],
    doc_md=__doc__,
)
def newsline_retention() -> None:
    @task(multiple_outputs=False)
    def prune_runs(**context) -> dict:
        """Delete what old run folders no longer need; returns what went (counts and bytes)."""
        from newsline.dagsupport import prune_old_runs

        return prune_old_runs(context.get("params"))

    prune_runs()


newsline_retention()
