"""Time rules of architecture.md: a run covers one logical day of the site's timezone, derived from
the run's data interval and never from "now"."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo


def day_window(day: date, tz: str) -> tuple[datetime, datetime]:
    """``[day 00:00, day+1 00:00)`` in the site's timezone, returned as aware UTC datetimes."""
    zone = ZoneInfo(tz)
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def logical_day(data_interval_start: datetime, data_interval_end: datetime, tz: str) -> date:
    """The site-local day a run covers, from its data interval.

    The interval must be exactly one local day starting at local midnight (what the DAG's
    timetable produces); anything else is a wiring error and raises rather than guessing.
    """
    if data_interval_start.tzinfo is None or data_interval_end.tzinfo is None:
        raise ValueError("data interval bounds must be timezone-aware")
    zone = ZoneInfo(tz)
    start = data_interval_start.astimezone(zone)
    end = data_interval_end.astimezone(zone)
    if start.time() != time(0) or end.time() != time(0) or end.date() - start.date() != timedelta(days=1):
        raise ValueError(
            f"data interval {data_interval_start.isoformat()} → {data_interval_end.isoformat()} is not one "
            f"whole day of {tz}"
        )
    return start.date()


def parse_day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"expected a day as YYYY-MM-DD, got {value!r}") from None


#: The earliest day a run may cover: before it, day windows and timestamps leave the range every reader
#: handles (Arrow's ``timestamp[us]`` and DuckDB are fine, but no news site has such pages).
EARLIEST_DAY = date(1990, 1, 1)


def check_run_day(day: date, tz: str, now: datetime | None = None) -> date:
    """A day a run may cover: not before 1990 and not after today in the site's timezone (an unfinished
    day is allowed: partial runs are explicit). ValueError with the reason otherwise; checked before any
    crawling starts."""
    today = (now or datetime.now(ZoneInfo("UTC"))).astimezone(ZoneInfo(tz)).date()
    if day > today:
        raise ValueError(f"{day.isoformat()} is in the future in {tz} (today there is {today.isoformat()})")
    if day < EARLIEST_DAY:
        raise ValueError(f"{day.isoformat()} is before {EARLIEST_DAY.isoformat()}, the earliest day a run may cover")
    return day


def retry_after_seconds(value: bytes | str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date); None if absent/bad."""
    if value is None:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if not text:
        return None
    if text.isdecimal():  # not isdigit: "²" is a digit that float() refuses
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
