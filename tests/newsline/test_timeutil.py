from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from newsline.timeutil import day_window, logical_day, parse_day

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
