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
