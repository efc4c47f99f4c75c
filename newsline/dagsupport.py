"""Glue between Airflow's task context and ``newsline.pipeline``: kept out of the DAG files so they
stay thin and so the logic is tested without a scheduler."""

from __future__ import annotations

from typing import Any, Mapping

from newsline.pipeline import RunSpec, sanitize_run_id
from newsline.sites import get_site
from newsline.timeutil import logical_day

#: Airflow params that map onto ``newsline.config.Settings`` fields.
SETTING_PARAMS = ("base_url", "warehouse", "staging", "archive", "user_agent", "page_budget",
                  "concurrency_per_domain", "download_delay", "time_budget_s")


def settings_overrides(params: Mapping[str, Any] | None) -> dict[str, Any]:
    params = params or {}
    return {k: params[k] for k in SETTING_PARAMS if params.get(k) not in (None, "")}


def plan_run(site_key: str, context: Mapping[str, Any]) -> dict[str, Any]:
    """The run's spec from its data interval (never from the wall clock) and params."""
    site = get_site(site_key)
    start, end = context.get("data_interval_start"), context.get("data_interval_end")
    if start is None or end is None:
        raise ValueError("this DAG run has no data interval; trigger it with a logical date "
                         "(e.g. `airflow dags trigger japannews_daily --logical-date 2024-09-06T00:00:00+09:00`)")
    day = logical_day(start, end, site.timezone)
    run_id = sanitize_run_id(f"{context.get('run_id') or 'airflow'}")
    return RunSpec(site=site.key, day=day.isoformat(), run_id=run_id,
                   overrides=settings_overrides(context.get("params"))).to_dict()
