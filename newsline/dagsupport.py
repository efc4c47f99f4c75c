"""Glue between Airflow's task context and ``newsline.pipeline``: kept out of the DAG files so they
stay thin and so the logic is tested without a scheduler."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from core.sites import get_site
from core.timeutil import logical_day
from newsline.pipeline import RunSpec, sanitize_run_id

log = logging.getLogger(__name__)

#: Airflow params that map onto ``core.config.Settings`` fields.
SETTING_PARAMS = ("base_url", "warehouse", "staging", "archive", "user_agent", "page_budget",
                  "concurrency_per_domain", "download_delay", "time_budget_s")


def settings_overrides(params: Mapping[str, Any] | None) -> dict[str, Any]:
    params = params or {}
    return {k: params[k] for k in SETTING_PARAMS if params.get(k) not in (None, "")}


def covered_day(context: Mapping[str, Any], tz: str, *, now: datetime | None = None) -> date:
    """The site-local day a DAG run covers.

    Scheduled and backfill runs: their data interval (one closed local day). Manual runs: the local
    day of their logical date (Airflow 3.3's ``dags trigger --logical-date`` infers the data interval
    from the moment of the trigger; the logical date the operator typed is what they mean). A manual
    run whose logical date falls in a day that has not closed yet (the UI's default logical date is
    "now") covers the last closed day instead, unless the ``partial_day`` param asks for the
    unfinished day on purpose. So a manual run is never a silent no-op and never a quiet partial day.
    """
    run = context.get("dag_run")
    run_type = str(getattr(run, "run_type", "") or "")
    logical = context.get("logical_date")
    zone = ZoneInfo(tz)
    if run_type.lower().endswith("manual") and logical is not None:
        day = logical.astimezone(zone).date()
        now_local = (now or datetime.now(UTC)).astimezone(zone)  # only decides whether the day has closed
        if day >= now_local.date():
            params = context.get("params") or {}
            if params.get("partial_day"):
                log.warning("manual run for the unfinished day %s (partial_day=true): the day is incomplete", day)
                return day
            closed = now_local.date() - timedelta(days=1)
            log.warning("the logical date %s is in the unfinished day %s of %s; covering the last closed day %s "
                        "(set partial_day=true to crawl the unfinished day)", logical.isoformat(), day, tz, closed)
            return closed
        return day
    start, end = context.get("data_interval_start"), context.get("data_interval_end")
    if start is None or end is None:
        raise ValueError("this DAG run has neither a data interval nor a logical date; trigger it with one "
                         "(`airflow dags trigger <dag_id> --logical-date 2024-09-06T00:00:00+09:00`) "
                         "or backfill the day")
    return logical_day(start, end, tz)


def plan_run(site_key: str, context: Mapping[str, Any]) -> dict[str, Any]:
    """The run's spec from its data interval or logical date (never from the wall clock) and params."""
    site = get_site(site_key)
    day = covered_day(context, site.timezone)
    log.info("this run covers %s day %s (%s)", site.key, day.isoformat(), site.timezone)
    run_id = sanitize_run_id(f"{context.get('run_id') or 'airflow'}")
    return RunSpec(site=site.key, day=day.isoformat(), run_id=run_id,
                   overrides=settings_overrides(context.get("params"))).to_dict()


def record_load_event(context: Mapping[str, Any], spec: dict[str, Any], load_stats: dict[str, Any]) -> None:
    """Attach what was loaded to the articles asset event, for the quality DAG downstream."""
    from newsline.airflow_common import ARTICLES_ASSET

    events = context.get("outlet_events")
    if events is None:
        return
    events[ARTICLES_ASSET].extra = {
        "site": spec["site"], "day": spec["day"], "run_id": spec["run_id"],
        "warehouse": RunSpec.from_dict(spec).settings.warehouse,
        "new": load_stats.get("new", 0), "updated": load_stats.get("updated", 0),
    }


#: How far before the earliest triggering event ``loaded_days_from_events`` looks for events the run missed.
MISSED_EVENT_WINDOW = timedelta(minutes=5)


def loaded_days_from_events(context: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The (site, day, run, warehouse) of every load this quality run must check: its triggering asset
    events, plus every event of the articles asset from shortly before the earliest of them.

    Airflow 3.3 can leave an event out of a run's triggering events when it is committed while the
    scheduler creates that run (two daily runs finishing in the same instant: apache/airflow#54659); it
    then arrives only with the *next* event, a day later. Reading the asset's events of the same moment
    from the task's ``inlet_events`` catches it now. ``tests/cluster/test_celery_cluster.py`` hit this race.

    An event of that window that started another run of this DAG is left to that run: overlapping
    quality runs (a catch-up, two workers) would otherwise check a day twice and alert twice for a
    failing one. Only an event no run of this DAG has claimed yet is taken here (should the run that
    claims it be created a moment later, the day is checked twice: a report written again, the safe
    side of the race)."""
    events = context.get("triggering_asset_events") or {}
    out: list[dict[str, Any]] = []
    stamps = []

    def add(ev: Any) -> None:
        extra = dict(getattr(ev, "extra", None) or {})
        if extra.get("day") and extra not in out:
            out.append(extra)

    for _asset, evs in dict(events).items():
        for ev in evs:
            add(ev)
            if getattr(ev, "timestamp", None) is not None:
                stamps.append(ev.timestamp)
    inlets = context.get("inlet_events")
    if stamps and inlets is not None:
        from newsline.airflow_common import ARTICLES_ASSET

        since = min(stamps) - MISSED_EVENT_WINDOW
        this_run = (_dag_id(context), context.get("run_id"))
        for ev in inlets[ARTICLES_ASSET].after(since.isoformat()):
            claimed = {(run.dag_id, run.run_id) for run in getattr(ev, "created_dagruns", None) or []}
            if any(run[0] == this_run[0] and run != this_run for run in claimed):
                continue  # it triggered another run of this DAG, which checks it
            add(ev)
    params = context.get("params") or {}
    if not out and params.get("day"):  # a manual run: check the given site and day
        from core.config import load_settings

        if not params.get("site"):
            raise ValueError("a manual quality run needs the params site and day")
        out.append({"site": params["site"], "day": params["day"],
                    "warehouse": params.get("warehouse") or load_settings().warehouse})
    return out


def _dag_id(context: Mapping[str, Any]) -> str | None:
    for holder in (context.get("dag_run"), context.get("ti"), context.get("dag")):
        if getattr(holder, "dag_id", None):
            return holder.dag_id
    return None


#: The widest span of days a quality run reads through one warehouse connection.
SHARED_SPAN = timedelta(days=31)


def check_and_report(days: list[dict[str, Any]], context: Mapping[str, Any]) -> list[dict[str, Any]]:

    from core.config import load_settings
    from core.timeutil import parse_day
    from newsline.notify import send_alert
    from newsline.quality import check_day, day_window, find_summary, write_report
    from warehouse.query import connect

    results, failures = [], []
    settings = load_settings()
    # One connection per warehouse, site and month of days: their files are read once for the check and
    # the report of every one of them (a catch-up of a year is read a month at a time, not all at once).
    groups: dict[tuple[str, str, date], list[date]] = {}
    planned = []
    for entry in days:
        day, root, site = parse_day(entry["day"]), entry.get("warehouse") or settings.warehouse, entry["site"]
        first = next((k[2] for k in groups if k[:2] == (root, site) and k[2] <= day < k[2] + SHARED_SPAN), day)
        groups.setdefault((root, site, first), []).append(day)
        planned.append((entry, day, (root, site, first)))
    connections: dict[tuple[str, str, date], Any] = {}
    try:
        for entry, day, key in planned:
            root, site, _ = key
            if key not in connections:
                connections[key] = connect(root, day_window(groups[key], site))
            report = check_day(root, day, site, con=connections[key])
            summary = find_summary(settings.staging, site, day, entry.get("run_id"))
            out = write_report(root, day, summary, staging=settings.staging, site=site, con=connections[key])
            results.append({**report.to_dict(), "report": out})
            if not report.ok:
                reason = "; ".join(report.problems)
                if final_try(context):  # once per failing day, not once per try
                    send_alert({**context, "params": {**(context.get("params") or {}), "site": site}},
                               kind="quality_failed", reason=reason, day=day.isoformat())
                failures.append(f"{site} {day}: {reason}")
    finally:
        for con in connections.values():
            con.close()
    if failures:
        exc = RuntimeError("quality checks failed: " + " | ".join(failures))
        exc.alerted = final_try(context)  # type: ignore[attr-defined]  # on_failure: already announced
        raise exc
    return results


def final_try(context: Mapping[str, Any]) -> bool:
    """Whether this attempt is the task's last (no retry follows a failure): alerts wait for it."""
    ti = context.get("ti") or context.get("task_instance")
    try_number = getattr(ti, "try_number", None)
    max_tries = getattr(ti, "max_tries", None)
    if max_tries is None and context.get("task") is not None:
        max_tries = getattr(context["task"], "retries", None)
    if not isinstance(try_number, int) or not isinstance(max_tries, int):
        return True
    return try_number > max_tries


#: Days a run folder must be unchanged before ``newsline_retention`` prunes it (``newsline prune-runs``).
RETENTION_DAYS_ENV = "NEWSLINE_RUN_RETENTION_DAYS"
RETENTION_DAYS_DEFAULT = 30.0


def prune_old_runs(params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``newsline prune-runs`` over the configured staging root, for the retention DAG: the DAG's params
    (``older_than_days``, ``including_archives``, and the settings in ``SETTING_PARAMS``) or
    ``NEWSLINE_RUN_RETENTION_DAYS``; what it pruned is the task's return value and its log line."""
    from core.config import load_settings
    from newsline.retention import prune_runs

    params = params or {}
    settings = load_settings(**settings_overrides(params))
    days = params.get("older_than_days") or float(os.environ.get(RETENTION_DAYS_ENV) or RETENTION_DAYS_DEFAULT)
    result = prune_runs(settings.staging, float(days), archive=settings.archive or None,
                        including_archives=bool(params.get("including_archives")))
    log.info("%s", result.text())
    return result.to_dict()
