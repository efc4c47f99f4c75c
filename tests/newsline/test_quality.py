from __future__ import annotations

from datetime import date, timedelta

from newsline.quality import evaluate

DAY = date(2024, 9, 30)
FULL = {"title": 1.0, "body": 1.0, "published_at": 1.0, "url": 1.0, "section": 1.0}


def history(n: int, per_day: int) -> dict[date, int]:
    return {DAY - timedelta(days=i): per_day for i in range(1, n + 1)}


def test_a_normal_day_passes() -> None:
    counts = history(28, 40) | {DAY: 38}
    assert evaluate(DAY, counts, FULL, quarantined=1).ok


def test_a_day_far_below_the_trailing_median_fails() -> None:
    report = evaluate(DAY, history(28, 40) | {DAY: 12}, FULL, quarantined=0)
    assert not report.ok and report.problems[0].startswith("low_volume")


def test_short_history_only_requires_a_non_empty_day() -> None:
    assert evaluate(DAY, history(3, 40) | {DAY: 5}, FULL, 0).ok
    assert evaluate(DAY, history(3, 40), FULL, 0).problems[0].startswith("empty_day")


def test_coverage_collapse_and_quarantine_share_fail() -> None:
    report = evaluate(DAY, history(28, 40) | {DAY: 40}, FULL | {"body": 0.6}, quarantined=30)
    codes = [p.split(":")[0] for p in report.problems]
    assert codes == ["coverage", "quarantine_share"]


def test_a_quality_run_reads_its_days_once_and_reports_as_each_day_alone(tmp_path, monkeypatch) -> None:
    """The quality task checks and reports several days of a site through one windowed connection: on S3
    each file of those days is fetched once (not twice per day), and every day's verdict is the one it
    gets when checked alone."""
    import pytest

    from newsline.dagsupport import check_and_report
    from newsline.quality import check_day
    from tests.s3server import moto_s3
    from tests.warehouse.conftest import article, table_of
    from warehouse.articles import merge_articles
    from warehouse.staging import list_files
    from warehouse.storage import storage_for

    days = [date(2024, 9, 4), date(2024, 9, 5), date(2024, 9, 6)]
    with moto_s3("quality-once"):
        root, staging = "s3://quality-once/wh", "s3://quality-once/runs"
        monkeypatch.setenv("NEWSLINE_WAREHOUSE", root)
        monkeypatch.setenv("NEWSLINE_STAGING", staging)
        rows = [article(n, day=d, section=s) for n, (d, s) in
                enumerate([(d, s) for d in days for s in ("politics", "world", "business") for _ in range(4)], 1)]
        merge_articles(root, table_of(rows), run_id="r1")
        alone = {d: check_day(root, d, "japannews").to_dict() for d in days}
        gets: list[str] = []
        fs = storage_for(root).fs
        fs.s3.meta.events.register("before-call.s3.GetObject", lambda params, **_: gets.append(params["url_path"]))
        entries = [{"site": "japannews", "day": d.isoformat(), "warehouse": root} for d in days]
        try:
            results = check_and_report(entries, {})
        except RuntimeError as exc:  # a failing verdict is compared below all the same
            pytest.fail(f"the demo rows should pass the checks: {exc}")
        data = [k for k in gets if k.endswith(".parquet")]
        assert data and len(data) == len(set(data)), f"a warehouse file was fetched twice: {sorted(data)}"
        assert {r["day"]: {k: v for k, v in r.items() if k != "report"} for r in results} == {
            d.isoformat(): alone[d] for d in days}
        reports = [f for f in list_files(staging) if f.endswith(".html")]
        assert len(reports) == len(days), reports
