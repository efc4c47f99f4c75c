"""One daily DAG per site profile, built from the profile alone (no DAG file per site).

``dags/news_sites.py`` calls ``site_dags()`` at parse time, so this module stays cheap: it reads the
profiles (YAML + a typed model) and wires tasks whose bodies import the pipeline only when they run.
Each DAG runs on a ``CronDataIntervalTimetable`` in its site's own timezone (its data interval is one
local day), crawls in its own pool (politeness: ``politeness.pool_slots`` crawls of the site at once),
and announces the articles asset only once the day's checks passed (``summarize``, the last task), so a
failed day triggers no quality run. Schedule settings live in the profile, so every Airflow process
(scheduler, DAG processor, workers, a shell running a runbook command) builds the same DAG.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import DAG, CronDataIntervalTimetable, Param, TriggerRule, get_parsing_context, task

from core.sites import SiteProfile, all_sites
from newsline.airflow_common import ARTICLES_ASSET, task_defaults

DOC = """\
### {name} daily crawl (`{dag_id}`)

Crawls one **closed day of {tz}** of *{name}* ({domains}), cleans it and merges it into the Parquet
warehouse (`articles/date=…/section=…`), then writes the run summary. Profile: `{source}`.

* **Which day a run covers:** scheduled and backfill runs cover their data interval, exactly one local
  day `[D 00:00, D+1 00:00)` {tz}; the run starts when that day has closed. A manual run covers the
  local day of its logical date (the UI's "now" means the last closed day; an unfinished day is
  refused unless the `partial_day` param is set). The covered day is shown in the `discover` task's log
  and in the run summary.
* **Re-runs** are idempotent: a cleared or re-triggered day leaves the warehouse unchanged unless the
  site changed.
* **Big days are sharded:** `discover` reads the day's sitemaps/feeds once and splits the article URLs
  into shards of {shard_size} (at most {max_shards}); each shard is one mapped `crawl` task (any worker),
  retried alone when it fails; `transform` joins them into the one crawl output, loaded once. A day of
  at most {shard_size} articles is fetched by `discover` itself (one crawler process): `crawl` then maps
  to no shard and shows as skipped, and a retry of `discover` repeats discovery and fetching.
* **Politeness:** discovery and every crawl shard run in the pool `{pool}` ({slots} slot(s)), so at most
  {slots} crawler process(es) reach the site at once, each keeping the profile's delay and concurrency
  (unless a param overrides them): the site sees at most {slots} × one request per delay on average.
* **Alerts** (webhook `NEWSLINE_ALERT_WEBHOOK` or connection `newsline_alerts`) lead with site, day,
  task and cause; a task is retried {retries} time(s) with exponential back-off before it alerts.
* **Runbook:** see the README (clear a day, backfill, reprocess from WARC archives with `reprocess=true`).
"""


def _params(site: SiteProfile) -> dict[str, Param]:
    return {
        "base_url": Param(None, type=["null", "string"],
                          description=f"Site root; empty = NEWSLINE_BASE_URL_<KEY> or {site.base_url}"),
        "warehouse": Param(None, type=["null", "string"], description="Warehouse root; empty = NEWSLINE_WAREHOUSE"),
        "page_budget": Param(None, type=["null", "integer"], description="Max pages per run"),
        "concurrency_per_domain": Param(None, type=["null", "integer"], description="Parallel requests to the site"),
        "download_delay": Param(None, type=["null", "number"], description="Seconds between requests"),
        "incremental": Param(True, type="boolean", description="Skip articles the warehouse already holds unchanged"),
        "reprocess": Param(False, type="boolean",
                           description="Rebuild the day from its raw WARC archives instead of crawling (no network)"),
        "partial_day": Param(False, type="boolean",
                             description="Manual runs only: allow crawling a day that has not finished yet"),
    }


def _timetable(site: SiteProfile) -> Any:
    """One local day per run; with ``schedule.end_date`` the schedule (not manual runs) stops after it."""
    sched, tz = site.schedule, site.timezone
    if sched.end_date is None:
        return CronDataIntervalTimetable(sched.cron, timezone=tz)
    from newsline.airflow_timetable import ScheduleEndTimetable

    end = pendulum.datetime(sched.end_date.year, sched.end_date.month, sched.end_date.day, tz=tz)
    return ScheduleEndTimetable(sched.cron, pendulum.timezone(tz), end)


def site_dag(site: SiteProfile) -> DAG:
    """The daily DAG of one site profile."""
    sched = site.schedule
    tz = site.timezone
    key = site.key
    with DAG(
        dag_id=site.dag,
        description=f"Crawl one closed {tz} day of {site.name}, clean it, merge it into the Parquet warehouse.",
        schedule=_timetable(site),
        start_date=pendulum.datetime(sched.start_date.year, sched.start_date.month, sched.start_date.day, tz=tz),
        # no DAG end_date: Airflow would give a manual run after it no task at all (an instant green no-op);
        # the profile's end date bounds the schedule instead (newsline.airflow_timetable)
        catchup=sched.catchup,
        max_active_runs=2,
        default_args=task_defaults(retries=sched.retries, retry_delay_s=120, execution_timeout=timedelta(hours=2)),
        tags=["newsline", "crawl", key],
        params=_params(site),
        doc_md=DOC.format(name=site.name, dag_id=site.dag, tz=tz, domains=", ".join(site.domains),
                          source=site.source_file or f"sites/{key}.yaml", pool=key,
                          slots=site.politeness.pool_slots, retries=sched.retries,
                          shard_size=site.crawl.shard_size, max_shards=site.crawl.max_shards),
    ) as dag:
        _wire(key)
    return dag


def _wire(key: str) -> None:
    # Five tasks per site-day. Every task is a process of its own on some worker (fork, DAG parse, state
    # calls to the API server, the scheduler's hand-off to the next task): a trivial step is not worth
    # one, so the covered day is planned inside `discover` and the shards are joined inside `transform`.
    # Each task returns one XCom (`multiple_outputs=False`: Airflow would otherwise push every key of a
    # returned dict as an XCom of its own, one API call each, ~40 per site-day for nothing).
    @task(pool=key, execution_timeout=timedelta(hours=1),
          doc_md="Work out which local day this run covers (from the data interval or logical date, logged), "
                 "discover its article URLs once and split them into shard files in the run folder; returns "
                 "one `{spec, shard}` per shard, what the crawl is mapped over. A day of one shard is fetched "
                 "here, by the same crawler process: it returns no shard (the crawl maps to nothing, skipped).")
    def discover(**context: Any) -> list[dict]:
        from newsline.dagsupport import plan_run
        from newsline.pipeline import RunSpec, discover

        spec = plan_run(key, context)
        context["ti"].xcom_push(key="spec", value=spec)  # transform's, also when no crawl shard is left
        if context["params"].get("reprocess"):
            return [{"spec": spec, "shard": 0}]  # one replay of the day's archives, no network
        shards = discover(RunSpec.from_dict(spec), incremental=bool(context["params"].get("incremental", True)))
        return [{"spec": spec, "shard": shard} for shard in shards]

    @task(pool=key, execution_timeout=timedelta(hours=3), multiple_outputs=False,
          doc_md="Fetch one shard of the day's articles in a separate Scrapy process (mapped: one task per "
                 "shard, retried alone), or replay the day's WARC archives. Skipped (0 mapped) when `discover` "
                 "fetched the day itself.")
    def crawl(spec: dict, shard: int, **context: Any) -> dict:
        from newsline.pipeline import RunSpec, crawl_shard, reprocess_crawl

        if context["params"].get("reprocess"):
            return reprocess_crawl(RunSpec.from_dict(spec))
        return crawl_shard(RunSpec.from_dict(spec), shard)

    # none_failed: it runs after the shards, or straight after `discover` when the crawl mapped to nothing
    @task(multiple_outputs=False, trigger_rule=TriggerRule.NONE_FAILED,
          doc_md="Join the discovery and the shards' crawl output into the run's one crawl folder and stats, "
                 "then clean and validate the crawled items; bad rows go to quarantine with a reason.")
    def transform(spec: dict, shards: list[dict], **context: Any) -> dict:
        from newsline.pipeline import RunSpec, merge_shards, transform

        run = RunSpec.from_dict(spec)
        if context["params"].get("reprocess"):
            crawled = context["ti"].xcom_pull(task_ids="crawl", map_indexes=0)
        else:
            crawled = merge_shards(run, len(shards))
        return {"spec": spec, "crawl": crawled, "transform": transform(run)}

    @task(multiple_outputs=False,
          doc_md="Merge the clean articles into articles/date=…/section=… atomically and idempotently.")
    def load(cleaned: dict) -> dict:
        from newsline.pipeline import RunSpec, load

        return load(RunSpec.from_dict(cleaned["spec"]))

    # the asset is announced here, once the day's checks passed: a failed day triggers no quality run
    @task(outlets=[ARTICLES_ASSET], multiple_outputs=False,
          doc_md="Write the run summary and fail the run on anomalies (blocking, empty day, coverage collapse); "
                 "on success announce the day on the articles asset.")
    def summarize(cleaned: dict, load_stats: dict, **context: Any) -> dict:
        from newsline.dagsupport import record_load_event
        from newsline.pipeline import RunSpec, summarize

        spec = cleaned["spec"]
        out = summarize(RunSpec.from_dict(spec), cleaned["crawl"], cleaned["transform"], load_stats)
        record_load_event(context, spec, load_stats)
        return out

    shards = discover()
    cleaned = transform(shards["spec"], shards)
    crawl.expand_kwargs(shards) >> cleaned
    summarize(cleaned, load(cleaned))


def site_dags() -> dict[str, DAG]:
    """dag_id → DAG for every profile of the sites folder.

    In a task's own process Airflow names the DAG it runs (``get_parsing_context``): only that site's
    DAG is built there, not every site's (with many profiles, most of a task's parse time). An id of no
    profile builds them all, so Airflow's own "DAG not found" error stays the one a user sees."""
    sites = list(all_sites().values())
    wanted = get_parsing_context().dag_id
    if any(site.dag == wanted for site in sites):
        sites = [site for site in sites if site.dag == wanted]
    return {site.dag: site_dag(site) for site in sites}
