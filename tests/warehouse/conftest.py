"""Article tables for warehouse tests, built here (not by the transforms) so the tests only depend
on the shared schema."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pyarrow as pa
import pytest

from core.schema import ARTICLES_SCHEMA, CONTENT_COLUMNS, SCHEMA_VERSION

JST = timezone(timedelta(hours=9))
BASE_FETCH = datetime(2024, 9, 7, 1, 0, tzinfo=UTC)


def content_hash(row: dict[str, Any]) -> str:
    values = {c: row[c].isoformat() if isinstance(row[c], datetime) else row[c] for c in CONTENT_COLUMNS}
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()


def article(
    native_id: int,
    *,
    day: date = date(2024, 9, 6),
    section: str = "politics",
    revision: int = 0,
    body: str | None = None,
    modified_delta: timedelta = timedelta(0),
    fetched_at: datetime = BASE_FETCH,
    hour: int = 10,
    **overrides: Any,
) -> dict[str, Any]:
    """One article row; changing ``body``/``revision``/``modified_delta`` makes a new version."""
    published = datetime(day.year, day.month, day.day, hour, native_id % 60, tzinfo=JST).astimezone(UTC)
    row: dict[str, Any] = {
        "article_id": f"japannews:{native_id}",
        "site": "japannews",
        "url": f"https://news.example/{section}/sub/{day:%Y%m%d}-{native_id}/",
        "title": f"Placeholder headline {native_id}",
        "revision": revision,
        "date": day,
        "section": section,
        "subsection": "sub",
        "dateline": None,
        "byline": "By Writer One / Staff Writer",
        "authors": ["Writer One"],
        "body": body if body is not None else f"Generated paragraph for article {native_id}.\n\nSecond one.",
        "summary": "Generated summary.",
        "published_at": published,
        "modified_at": published + modified_delta,
        "language": "en",
        "access": "free",
        "access_raw": "free",
        "keywords": ["alpha"],
        "image_url": None,
        "image_caption": None,
        "image_credit": None,
        "word_count": 0,
        "fetched_at": fetched_at,
        "first_seen_at": None,
        "run_id": "seed",
        "simhash": None,
        "near_duplicate_of": None,
        "schema_version": SCHEMA_VERSION,
    }
    row.update(overrides)
    row["word_count"] = len(row["body"].split())
    row["content_hash"] = content_hash(row)
    return row


def table_of(rows: list[dict[str, Any]]) -> pa.Table:
    cols = {f.name: [r.get(f.name) for r in rows] for f in ARTICLES_SCHEMA}
    return pa.Table.from_pydict(cols, schema=ARTICLES_SCHEMA)


@pytest.fixture
def root(tmp_path) -> str:
    return str(tmp_path / "wh")
