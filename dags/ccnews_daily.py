"""Daily ingest of a web-archive collection (Common Crawl's CC-NEWS by default) into the warehouse.

One run per **UTC** day D: it reads the collection's WARC files whose name's timestamp falls on D,
one mapped task per file (dynamic task mapping, so files spread over workers; at most
``NEWSLINE_WARC_PARALLEL`` at once per run, politeness toward the archive host), each retried on its
own, then one load through the same transforms, quarantine and merge as a live crawl. Every article
lands in the partition of its own publication day in its site's timezone. A re-run reads only the
files not ingested yet (the day's manifest) and changes nothing in the warehouse. The steps are
``newsline.ingest_warc``; this file only wires them.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import CronDataIntervalTimetable, Param, dag, task

from newsline.airflow_common import ARTICLES_ASSET, task_defaults

TIMEZONE = "UTC"
# The schedule is fixed here, not read from the environment, so every Airflow process builds the same DAG;
# older days are ingested with `airflow backfill create` (see the README's runbook).
START = pendulum.datetime(2024, 9, 1, tz=TIMEZONE)
END = None
CATCHUP = False
COLLECTION = os.environ.get("NEWSLINE_WARC_COLLECTION", "ccnews")
PARALLEL = int(os.environ.get("NEWSLINE_WARC_PARALLEL", "2"))
default_args = task_defaults(retries=2, retry_delay_s=60, execution_timeout=timedelta(hours=2))


@dag(
    dag_id="ccnews_daily",
    description="Ingest one UTC day of a WARC collection (CC-NEWS by default): a task per file, then one load.",
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone=TIMEZONE),
    start_date=START,
    end_date=END,
    catchup=CATCHUP,
    max_active_runs=1,
    default_args=default_args,
    tags=["newsline", "warc", "ccnews"],
    params={
        "collection": Param(COLLECTION, type="string",
                            description="ccnews, ccnews-s3, an http(s):// URL, an s3:// prefix or a folder"),
        "sites": Param(None, type=["null", "string"], description="comma-separated site keys; empty = all"),
        "max_files": Param(None, type=["null", "integer"], description="read at most N files of the day"),
        "force": Param(False, type="boolean", description="read files again even if already ingested"),
        "warehouse": Param(None, type=["null", "string"], description="Warehouse root; empty = NEWSLINE_WAREHOUSE"),
    },
    doc_md=__doc__,
)
def ccnews_daily() -> None:
    @task(multiple_outputs=False)  # one XCom, not one per key of the returned dict
    def plan(**context) -> dict:
        """The UTC day of this run (from its data interval) and the files still to read."""
        from newsline.dagsupport import covered_day, settings_overrides
        from newsline.ingest_warc import plan_day

        params = context["params"]
        day = covered_day(context, TIMEZONE)
        sites = [s for s in (params.get("sites") or "").split(",") if s.strip()] or None
        overrides = settings_overrides(params)
        out = plan_day(day, collection=params["collection"], max_files=params.get("max_files"),
                       force=bool(params.get("force")), sites=sites, overrides=overrides)
        return {**out, "sites": sites, "overrides": overrides}

    @task
    def files(day_plan: dict) -> list[str]:
        return day_plan["todo"]

    @task(max_active_tis_per_dagrun=PARALLEL, multiple_outputs=False)
    def read_file(rel_path: str, day_plan: dict) -> dict:
        """Stream one WARC file into its staged output; fails (and is retried) if it cannot be read to its end."""
        from core.timeutil import parse_day
        from newsline.ingest_warc import read_file as read_one

        entry = read_one(parse_day(day_plan["day"]), rel_path, collection=day_plan["collection"],
                         sites=day_plan["sites"], overrides=day_plan["overrides"])
        small = {k: entry[k] for k in ("name", "complete", "records", "attempts", "unread_bytes")}
        if not entry["complete"]:
            raise RuntimeError(f"{entry['name']} could not be read to its end: {small} {entry['errors'][-1:]}")
        return small

    @task(trigger_rule="all_done", outlets=[ARTICLES_ASSET], multiple_outputs=False)
    def load(day_plan: dict, reads: list[dict] | None = None) -> dict:
        """Merge every staged file of the day into the warehouse; the summary counts every record and file."""
        from core.timeutil import parse_day
        from newsline.ingest_warc import load_day

        summary = load_day(parse_day(day_plan["day"]), collection=day_plan["collection"],
                           listed=day_plan["listed"], read_now=day_plan["todo"], resumed=day_plan["done"],
                           overrides=day_plan["overrides"])
        return {k: v for k, v in summary.items() if k not in ("sites", "quarantine_reasons")}

    day_plan = plan()
    reads = read_file.partial(day_plan=day_plan).expand(rel_path=files(day_plan))
    load(day_plan, reads)


ccnews_daily()
