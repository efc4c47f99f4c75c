"""Timestamp rules: JST → UTC, the meta → JSON-LD → postdate fallbacks, and the partition date."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pandas as pd
import pytest
from transform_factory import clean, clean_one, make_item

from transforms.timestamps import parse_iso, parse_postdate


def utc(*args: int) -> pd.Timestamp:
    return pd.Timestamp(datetime(*args, tzinfo=UTC))


def test_meta_times_jst_to_utc() -> None:
    row = clean_one(published_time="2024-09-06T18:19:00+09:00", modified_time="2024-09-06T20:30:00+09:00")
    assert row["published_at"] == utc(2024, 9, 6, 9, 19)
    assert row["modified_at"] == utc(2024, 9, 6, 11, 30)
    assert str(row["published_at"].tz) == "UTC"


def test_published_falls_back_to_jsonld_then_postdate() -> None:
    row = clean_one(published_time=None, jsonld_published="2024-09-06T18:19:42+09:00")
    assert row["published_at"] == utc(2024, 9, 6, 9, 19, 42)
    row = clean_one(published_time="not a time", jsonld_published=None,
                    postdate="18:19 JST,\u2002September 6, 2024 (updated at 20:30 JST)")
    assert row["published_at"] == utc(2024, 9, 6, 9, 19)


def test_modified_falls_back_to_jsonld_then_published() -> None:
    row = clean_one(modified_time=None, jsonld_modified="2024-09-06T12:00:30+09:00")
    assert row["modified_at"] == utc(2024, 9, 6, 3, 0, 30)
    row = clean_one(published_time="2024-09-06T10:05:00+09:00", modified_time=None, jsonld_modified=None)
    assert row["modified_at"] == row["published_at"] == utc(2024, 9, 6, 1, 5)


def test_microseconds_are_kept() -> None:
    row = clean_one(published_time="2024-09-06T10:05:00.123456+09:00")
    assert row["published_at"] == utc(2024, 9, 6, 1, 5, 0, 123456)


def test_partition_date_is_the_tokyo_day() -> None:
    # 00:30 JST on Sept 7 is still Sept 6 in UTC: the partition follows the site's day.
    row = clean_one(published_time="2024-09-07T00:30:00+09:00", modified_time=None, jsonld_modified=None,
                    fetched_at="2024-09-07T02:00:00Z")
    assert row["published_at"] == utc(2024, 9, 6, 15, 30)
    assert row["date"] == date(2024, 9, 7)


def test_postdate_variants() -> None:
    tz = "Asia/Tokyo"
    assert parse_postdate("17:41 JST,\u2002October 13, 2024", tz) == datetime(2024, 10, 13, 8, 41, tzinfo=UTC)
    assert parse_postdate("07:05 JST, Jan. 2, 2025", tz) == datetime(2025, 1, 1, 22, 5, tzinfo=UTC)
    assert parse_postdate("07:05 JST, Sept. 2, 2025", tz) == datetime(2025, 9, 1, 22, 5, tzinfo=UTC)
    assert parse_postdate("17:41 JST, Octember 13, 2024", tz) is None
    assert parse_postdate("25:41 JST, October 13, 2024", tz) is None
    assert parse_postdate("February 30, 2024", tz) is None


def test_iso_parsing() -> None:
    assert parse_iso("2024-09-06T09:19:00Z") == datetime(2024, 9, 6, 9, 19, tzinfo=UTC)
    assert parse_iso("2024-09-06T18:19:00+09:00") == datetime(2024, 9, 6, 9, 19, tzinfo=UTC)
    assert parse_iso("2024-02-30T00:00:00Z") is None
    assert parse_iso("yesterday") is None
    assert parse_iso(None) is None


@pytest.mark.parametrize("fetched_at", ["2024-09-05T00:00:00Z", "2024-09-04T12:00:00+00:00"])
def test_published_more_than_a_day_after_fetch_is_quarantined(fetched_at: str) -> None:
    result = clean(make_item(fetched_at=fetched_at))
    assert len(result.articles) == 0
    assert result.quarantine["reason"].iloc[0].startswith("future_published_at:")


def test_published_within_a_day_after_fetch_is_accepted() -> None:
    # a clock a few hours off is tolerated; published 2024-09-06T01:05Z
    assert clean_one(fetched_at="2024-09-05T12:00:00Z")["published_at"] == utc(2024, 9, 6, 1, 5)
