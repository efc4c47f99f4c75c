"""Daily crawl of The Japan News into the Newsline warehouse.

Each run covers one closed day of Asia/Tokyo: the timetable's data interval is exactly
``[D 00:00 JST, D+1 00:00 JST)`` and the run starts when that interval has ended. The steps are the
functions of ``newsline.pipeline``; this file only wires them (nothing heavy is imported at parse
time, and nothing touches a database, Variable or Connection while the file is parsed).
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import CronDataIntervalTimetable, Param, dag, task

from newsline.airflow_common import ARTICLES_ASSET, task_defaults

SITE = "japannews"
TIMEZONE = "Asia/Tokyo"
# Deployment knobs read from the environment (never from the metadata database) at parse time.
START = pendulum.parse(os.environ.get("NEWSLINE_DAG_START", "2024-09-01"), tz=TIMEZONE)
END = pendulum.parse(os.environ["NEWSLINE_DAG_END"], tz=TIMEZONE) if os.environ.get("NEWSLINE_DAG_END") else None
CATCHUP = os.environ.get("NEWSLINE_DAG_CATCHUP", "false").lower() in ("1", "true", "yes")
default_args = task_defaults(retries=2, retry_delay_s=120, execution_timeout=timedelta(hours=2))


@dag(
    dag_id="japannews_daily",
    description="Crawl one closed JST day of The Japan News, clean it, merge it into the Parquet warehouse.",
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone=TIMEZONE),
    start_date=START,
    end_date=END,
    catchup=CATCHUP,
    max_active_runs=2,
    default_args=default_args,
    tags=["newsline", "crawl", SITE],
    params={
        "base_url": Param(None, type=["null", "string"], description="Site root; empty = NEWSLINE_BASE_URL"),
        "warehouse": Param(None, type=["null", "string"], description="Warehouse root; empty = NEWSLINE_WAREHOUSE"),
        "page_budget": Param(None, type=["null", "integer"], description="Max pages per run"),
        "concurrency_per_domain": Param(None, type=["null", "integer"], description="Parallel requests to the site"),
        "incremental": Param(True, type="boolean", description="Skip articles the warehouse already holds unchanged"),
        "reprocess": Param(False, type="boolean",
                           description="Rebuild the day from its raw WARC archives instead of crawling (no network)"),
    },
    doc_md=__doc__,
)
def japannews_daily() -> None:
    @task
    def plan(**context) -> dict:
        """Work out which JST day this run covers (from the data interval) and name the run."""
        from newsline.dagsupport import plan_run

        return plan_run(SITE, context)

    @task(pool=SITE, execution_timeout=timedelta(hours=3))
    def crawl(spec: dict, **context) -> dict:
        """Fetch the day's articles in a separate Scrapy process (or replay the day's WARC archives)."""
        from newsline.pipeline import RunSpec, crawl, reprocess_crawl

        if context["params"].get("reprocess"):
            return reprocess_crawl(RunSpec.from_dict(spec))
        return crawl(RunSpec.from_dict(spec), incremental=bool(context["params"].get("incremental", True)))

    @task
    def transform(spec: dict, crawl_stats: dict) -> dict:
        """Clean and validate the crawled items; bad rows go to quarantine with a reason."""
        from newsline.pipeline import RunSpec, transform

        return transform(RunSpec.from_dict(spec))

    @task(outlets=[ARTICLES_ASSET])
    def load(spec: dict, transform_stats: dict, **context) -> dict:
        """Merge the clean articles into articles/date=…/section=… atomically and idempotently."""
        from newsline.dagsupport import record_load_event
        from newsline.pipeline import RunSpec, load

        stats = load(RunSpec.from_dict(spec))
        record_load_event(context, spec, stats)
        return stats

    @task
    def summarize(spec: dict, crawl_stats: dict, transform_stats: dict, load_stats: dict) -> dict:
        """Write the run summary and fail the run on anomalies (blocking, empty day, coverage collapse)."""
        from newsline.pipeline import RunSpec, summarize

        return summarize(RunSpec.from_dict(spec), crawl_stats, transform_stats, load_stats)

    spec = plan()
    crawled = crawl(spec)
    cleaned = transform(spec, crawled)
    loaded = load(spec, cleaned)
    summarize(spec, crawled, cleaned, loaded)


japannews_daily()
