from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from newsline.dagsupport import plan_run, settings_overrides
from newsline.pipeline import sanitize_run_id


def test_plan_run_takes_the_day_from_the_data_interval_not_the_clock() -> None:
    # Airflow stores intervals in UTC: [2024-09-05 15:00Z, 2024-09-06 15:00Z) is the JST day 2024-09-06.
    ctx = {
        "data_interval_start": datetime(2024, 9, 5, 15, tzinfo=UTC),
        "data_interval_end": datetime(2024, 9, 6, 15, tzinfo=UTC),
        "run_id": "scheduled__2024-09-05T15:00:00+00:00",
        "params": {"base_url": "http://127.0.0.1:9/", "warehouse": "", "page_budget": None, "incremental": True},
    }
    spec = plan_run("japannews", ctx)
    assert spec["day"] == "2024-09-06"
    assert spec["site"] == "japannews"
    assert spec["run_id"] == "scheduled__2024-09-05T15-00-00-00-00"
    assert spec["overrides"] == {"base_url": "http://127.0.0.1:9/"}


def test_plan_run_without_interval_explains_how_to_trigger() -> None:
    with pytest.raises(ValueError, match="logical date"):
        plan_run("japannews", {"data_interval_start": None, "data_interval_end": None})


def test_sanitize_run_id_is_path_safe() -> None:
    assert sanitize_run_id("manual__2024-09-06T00:00:00+09:00") == "manual__2024-09-06T00-00-00-09-00"
    assert "/" not in sanitize_run_id("../../etc/passwd")
    assert not sanitize_run_id("../../etc/passwd").startswith(".")


def test_settings_overrides_ignore_empty_values() -> None:
    assert settings_overrides({"base_url": "", "page_budget": 10, "other": 1}) == {"page_budget": 10}


def test_a_manual_run_with_a_logical_date_covers_that_day_whatever_its_interval() -> None:
    """`airflow dags trigger --logical-date 2024-09-04T12:00+09:00` infers its data interval from the
    trigger moment; the run must cover the day the operator named, not the day before "now"."""
    from types import SimpleNamespace

    jst = timezone(timedelta(hours=9))
    ctx = {
        "dag_run": SimpleNamespace(run_type="manual"),
        "logical_date": datetime(2024, 9, 4, 12, tzinfo=jst),
        "data_interval_start": datetime(2026, 11, 27, 15, tzinfo=UTC),
        "data_interval_end": datetime(2026, 11, 28, 15, tzinfo=UTC),
        "run_id": "manual__x",
    }
    assert plan_run("japannews", ctx)["day"] == "2024-09-04"
    # a scheduled run keeps its interval
    ctx["dag_run"] = SimpleNamespace(run_type="scheduled")
    assert plan_run("japannews", ctx)["day"] == "2026-11-28"
    # a manual run without a logical date covers its inferred interval (the last closed day)
    ctx["dag_run"], ctx["logical_date"] = SimpleNamespace(run_type="manual"), None
    assert plan_run("japannews", ctx)["day"] == "2026-11-28"


def test_tasks_return_a_small_summary_not_the_discovered_urls() -> None:
    """The crawl task's XCom value: counts and short facts, never the day's URL lists (multi-KB before)."""
    import json

    from newsline.pipeline import _small

    stats = {"pages_fetched": 40, "discovered_by_source": {"sitemap": 40}, "finish_reason": "finished",
             "discovered_urls": [f"https://x.example/a/{i}/" for i in 40 * [0]],
             "discovery_documents": [{"url": "https://x.example/sitemap.xml", "outcome": "ok"}] * 3,
             "monitors": [{"name": f"m{i}", "ok": True} for i in range(12)]}
    small = _small(stats)
    assert set(small) == {"pages_fetched", "discovered_by_source", "finish_reason"}
    assert len(json.dumps(small)) < 200


class _Events(list):
    """An asset's event history as the Task SDK's ``inlet_events[asset]`` serves it (``after`` filters)."""

    def __init__(self, events: list) -> None:
        super().__init__(events)
        self.asked_after: list[str] = []

    def after(self, after: str) -> _Events:
        self.asked_after.append(after)
        return _Events([e for e in self if e.timestamp >= datetime.fromisoformat(after)])


def _event(day: str, at: datetime, run: str) -> object:
    from types import SimpleNamespace

    return SimpleNamespace(timestamp=at, extra={"site": "japannews", "day": day, "run_id": run, "warehouse": "s3://w"})


def test_a_quality_run_also_checks_the_event_airflow_left_out_of_its_triggering_events() -> None:
    """Two daily runs finish in the same instant; Airflow 3.3 gives the quality run only one of the two
    events (apache/airflow#54659). The other one, from the same moment, is read from the asset's history;
    an event from the day before (checked by an earlier quality run) is not."""
    from newsline.airflow_common import ARTICLES_ASSET
    from newsline.dagsupport import loaded_days_from_events

    now = datetime(2026, 11, 30, 7, 25, 19, tzinfo=UTC)
    old = _event("2024-09-02", now - timedelta(days=1), "r0")
    first, missed = _event("2024-09-03", now, "r1"), _event("2024-09-04", now + timedelta(milliseconds=7), "r2")
    history = _Events([old, first, missed])
    ctx = {"triggering_asset_events": {ARTICLES_ASSET: [first]}, "inlet_events": {ARTICLES_ASSET: history}}
    days = loaded_days_from_events(ctx)
    assert [d["day"] for d in days] == ["2024-09-03", "2024-09-04"]
    assert len(history.asked_after) == 1
    # without the asset's history (no inlet declared) only the triggering events are checked
    assert [d["day"] for d in loaded_days_from_events({"triggering_asset_events": {ARTICLES_ASSET: [first]}})] \
        == ["2024-09-03"]


def _served_event(event_id: int, day: str, at: datetime, claimed_by: list[tuple[str, str]]) -> object:
    """An event as the Task SDK's ``inlet_events`` really serves it (its own model), with the runs it started."""
    from airflow.sdk.api.datamodels._generated import AssetResponse, DagRunAssetReference
    from airflow.sdk.execution_time.comms import AssetEventResult

    runs = [DagRunAssetReference(run_id=run_id, dag_id=dag_id, logical_date=None, start_date=at, end_date=None,
                                 state="running", data_interval_start=None, data_interval_end=None,
                                 partition_key=None) for dag_id, run_id in claimed_by]
    return AssetEventResult(id=event_id, timestamp=at, asset=AssetResponse(name="a", uri="a", group="asset"),
                            extra={"site": "japannews", "day": day, "run_id": f"r{event_id}", "warehouse": "s3://w"},
                            created_dagruns=runs)


def test_an_event_that_started_another_quality_run_is_left_to_that_run() -> None:
    """Overlapping quality runs: the window read for missed events also holds the events that triggered
    the other runs. Those days are theirs to check (checking them again alerted twice for a failing day);
    an event no quality run claimed yet is checked here, and other DAGs' runs do not count as claims."""
    from types import SimpleNamespace

    from newsline.airflow_common import ARTICLES_ASSET
    from newsline.dagsupport import loaded_days_from_events

    now = datetime(2026, 11, 30, 7, 25, 19, tzinfo=UTC)
    mine = _served_event(1, "2024-09-03", now, [("newsline_quality", "asset_triggered__b")])
    theirs = _served_event(2, "2024-09-02", now - timedelta(seconds=40), [("newsline_quality", "asset_triggered__a")])
    unclaimed = _served_event(3, "2024-09-04", now + timedelta(milliseconds=7), [])
    elsewhere = _served_event(4, "2024-09-05", now + timedelta(seconds=1), [("some_other_dag", "asset_triggered__c")])
    history = _Events([theirs, mine, unclaimed, elsewhere])
    ctx = {"triggering_asset_events": {ARTICLES_ASSET: [mine]}, "inlet_events": {ARTICLES_ASSET: history},
           "run_id": "asset_triggered__b", "dag_run": SimpleNamespace(dag_id="newsline_quality")}
    assert [d["day"] for d in loaded_days_from_events(ctx)] == ["2024-09-03", "2024-09-04", "2024-09-05"]
    # the run that claimed the older event checks it (and not this run's own)
    ctx_a = {**ctx, "triggering_asset_events": {ARTICLES_ASSET: [theirs]}, "run_id": "asset_triggered__a"}
    assert [d["day"] for d in loaded_days_from_events(ctx_a)] == ["2024-09-02", "2024-09-04", "2024-09-05"]
