from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from core.timeutil import day_window, logical_day, parse_day

JST = ZoneInfo("Asia/Tokyo")


def test_day_window_is_the_jst_day_in_utc() -> None:
    start, end = day_window(date(2024, 9, 6), "Asia/Tokyo")
    assert start == datetime(2024, 9, 5, 15, 0, tzinfo=UTC)
    assert end == datetime(2024, 9, 6, 15, 0, tzinfo=UTC)


def test_logical_day_from_a_scheduled_interval() -> None:
    start = datetime(2024, 9, 6, tzinfo=JST)
    assert logical_day(start, start + timedelta(days=1), "Asia/Tokyo") == date(2024, 9, 6)
    # the same interval expressed in UTC (as Airflow stores it) gives the same day
    assert logical_day(start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC),
                       "Asia/Tokyo") == date(2024, 9, 6)


@pytest.mark.parametrize(
    "start,end",
    [
        (datetime(2024, 9, 6, tzinfo=UTC), datetime(2024, 9, 7, tzinfo=UTC)),  # a UTC day
        (datetime(2024, 9, 6, tzinfo=JST), datetime(2024, 9, 8, tzinfo=JST)),  # two days
        (datetime(2024, 9, 6, 1, tzinfo=JST), datetime(2024, 9, 7, 1, tzinfo=JST)),  # not midnight
    ],
)
def test_logical_day_rejects_intervals_that_are_not_one_local_day(start: datetime, end: datetime) -> None:
    with pytest.raises(ValueError, match="not one whole day"):
        logical_day(start, end, "Asia/Tokyo")


def test_logical_day_rejects_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        logical_day(datetime(2024, 9, 6), datetime(2024, 9, 7), "Asia/Tokyo")


def test_parse_day() -> None:
    assert parse_day("2024-09-06") == date(2024, 9, 6)
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        parse_day("06/09/2024")


def test_a_run_day_in_the_future_or_before_1990_is_refused() -> None:
    from datetime import UTC, datetime

    from core.timeutil import check_run_day

    now = datetime(2024, 9, 6, 16, 0, tzinfo=UTC)  # 01:00 on 2024-09-07 in Tokyo
    assert check_run_day(date(2024, 9, 7), "Asia/Tokyo", now) == date(2024, 9, 7)
    with pytest.raises(ValueError, match="in the future in America/New_York"):
        check_run_day(date(2024, 9, 7), "America/New_York", now)
    for bad in (date(9999, 12, 31), date(1, 1, 1)):
        with pytest.raises(ValueError):
            check_run_day(bad, "UTC", now)


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
def test_run_refuses_impossible_days_in_one_line(day: str, capsys) -> None:
    from newsline.cli import main

    with pytest.raises(SystemExit) as info:
        main(["run", "--site", "japannews", "--date", day])
    assert info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("newsline: error: ")
