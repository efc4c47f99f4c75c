"""Timestamp rules: every source form (ISO with offset, the page's postdate line) to aware UTC.

Pure and forgiving: an unparseable value is None, and the caller moves on to the next fallback.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, tzinfo
from zoneinfo import ZoneInfo

from transforms.text import normalise_text

#: ``18:19 JST, September 6, 2024`` (the gap after the comma is U+2002 on the page).
_POSTDATE_RE = re.compile(
    r"(?P<h>\d{1,2}):(?P<m>\d{2})\s*JST\s*,\s*(?P<month>[A-Za-z]+)\.?\s+(?P<d>\d{1,2})\s*,\s*(?P<y>\d{4})"
)


def to_utc(value: datetime, default_tz: tzinfo = UTC) -> datetime:
    """Aware UTC; a naive value is read in ``default_tz``."""
    if value.tzinfo is None or value.utcoffset() is None:
        value = value.replace(tzinfo=default_tz)
    return value.astimezone(UTC)


def parse_iso(value: object, default_tz: tzinfo = UTC) -> datetime | None:
    """An ISO 8601 string (or a datetime) as aware UTC, None if it is not one."""
    if isinstance(value, datetime):
        stamp = value
    else:
        text = normalise_text(value)
        if text is None:
            return None
        try:
            stamp = datetime.fromisoformat(text)
        except ValueError:
            return None
    try:
        return to_utc(stamp, default_tz)
    except (OverflowError, ValueError):
        return None


def parse_postdate(value: object, tz: str) -> datetime | None:
    """The publication time of a postdate line (``HH:MM JST, Month D, YYYY``) as aware UTC."""
    text = normalise_text(value)
    if text is None:
        return None
    match = _POSTDATE_RE.search(text)
    if not match:
        return None
    month = match["month"].capitalize()
    month = "Sep" if month == "Sept" else month  # "Sept." is the one abbreviation %b lacks
    for month_format in ("%B", "%b"):  # English month names: the C locale, which Python keeps unless told
        try:
            local = datetime.strptime(f"{month} {match['d']} {match['y']} {match['h']}:{match['m']}",
                                      f"{month_format} %d %Y %H:%M")
        except ValueError:
            continue
        try:
            return local.replace(tzinfo=ZoneInfo(tz)).astimezone(UTC)
        except (OverflowError, ValueError):
            return None
    return None


def local_date(value: datetime, tz: str) -> date:
    """The calendar day of ``value`` in the site's timezone: the partition date."""
    return value.astimezone(ZoneInfo(tz)).date()


def iso_utc(value: datetime) -> str:
    """The canonical text of a timestamp inside content hashes and quarantine JSON."""
    return value.astimezone(UTC).isoformat()
