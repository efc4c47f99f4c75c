"""Data-quality checks and the daily HTML report, run whenever a checked day updates the articles table.

Scheduled on the ``newsline_articles`` asset: each daily run's ``summarize`` task, once the day passed
its own checks, records the day it loaded in the asset event (a failed day announces nothing), and this DAG checks those days (volume against the trailing 28-day median, field
coverage, quarantine share) and writes the day's report. A failed check fails the run and alerts.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import dag, task

from newsline.airflow_common import ARTICLES_ASSET, task_defaults

default_args = task_defaults(retries=1, retry_delay_s=60, execution_timeout=timedelta(minutes=30))


@dag(
    dag_id="newsline_quality",
    description="Quality checks and the daily report for each loaded day.",
    schedule=[ARTICLES_ASSET],
    start_date=pendulum.datetime(2024, 9, 1, tz="UTC"),
    catchup=False,
    default_args=default_args,
    tags=["newsline", "quality"],
    doc_md=__doc__,
)
def newsline_quality() -> None:
    @task(inlets=[ARTICLES_ASSET])  # reads the asset's recent events too (see loaded_days_from_events)
    def loaded_days(**context) -> list[dict]:
        """The (site, day, run) triples the triggering loads reported."""
        from newsline.dagsupport import loaded_days_from_events

        return loaded_days_from_events(context)

    @task
    def check_and_report(days: list[dict], **context) -> list[dict]:
        """Check each loaded day and write its report; fail (and alert) when a check breaks."""
        from newsline.dagsupport import check_and_report

        return check_and_report(days, context)

    check_and_report(loaded_days())


newsline_quality()
