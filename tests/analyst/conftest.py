"""Small warehouses written file by file in the documented layout, straight from the shared schema,
so these tests depend on the layout contract and not on the merge code."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from core.schema import ARTICLES_SCHEMA, QUARANTINE_SCHEMA, SCHEMA_VERSION, file_schema

JST = timezone(timedelta(hours=9))
DAY = date(2024, 9, 6)
PREVIOUS = date(2024, 9, 5)
OLD = date(2024, 8, 20)  # outside the report's 14-day window ending on DAY


def article(native_id: int, day: date, section: str, *, hour: int = 10, **overrides: Any) -> dict[str, Any]:
    """One ARTICLES_SCHEMA row with generated placeholder text."""
    published = datetime(day.year, day.month, day.day, hour, native_id % 60, tzinfo=JST).astimezone(UTC)
    body = f"Generated placeholder paragraph number {native_id}.\n\nAnother generated paragraph."
    row: dict[str, Any] = {
        "article_id": f"japannews:{native_id}",
        "site": "japannews",
        "url": f"https://news.example/{section}/sub/{day:%Y%m%d}-{native_id}/",
        "title": f"Placeholder headline {native_id}",
        "revision": 0,
        "date": day,
        "section": section,
        "subsection": "sub",
        "dateline": "TOKYO",
        "byline": "By Writer One / Staff Writer",
        "authors": ["Writer One"],
        "body": body,
        "summary": "Generated summary.",
        "published_at": published,
        "modified_at": published,
        "language": "en",
        "access": "free",
        "access_raw": "free",
        "keywords": ["alpha", "beta"],
        "image_url": None,
        "image_caption": None,
        "image_credit": None,
        "word_count": len(body.split()),
        "content_hash": "",
        "fetched_at": datetime(2024, 9, 7, 1, 0, tzinfo=UTC),
        "first_seen_at": datetime(2024, 9, 7, 1, 0, tzinfo=UTC),
        "run_id": "fixture-run",
        "simhash": native_id * 7919 - 2**40,
        "near_duplicate_of": None,
        "schema_version": SCHEMA_VERSION,
        "section_native": f"{section}/sub",
        "extraction": None,
        "extraction_confidence": None,
    }
    row.update(overrides)
    row["content_hash"] = hashlib.sha256(f"{row['article_id']}\n{row['title']}\n{row['body']}".encode()).hexdigest()
    return row


def quarantine_row(n: int, reason: str, *, run_id: str = "fixture-run") -> dict[str, Any]:
    return {
        "run_id": run_id,
        "site": "japannews",
        "url": f"https://news.example/bad/{n}/",
        "reason": reason,
        "stage": "transform",
        "raw": '{"title": null}',
        "quarantined_at": datetime(2024, 9, 7, 1, 5, tzinfo=UTC),
    }


@dataclass
class Warehouse:
    root: Path
    articles: list[dict[str, Any]]
    quarantine: dict[date, list[dict[str, Any]]] = field(default_factory=dict)

    def rows(self, day: date | None = None, section: str | None = None) -> list[dict[str, Any]]:
        return [r for r in self.articles if (day is None or r["date"] == day)
                and (section is None or r["section"] == section)]


def write_partitions(root: Path, dataset: str, rows: list[dict[str, Any]]) -> list[Path]:
    """One zstd ``part-0.parquet`` per (date, section), without the partition columns."""
    schema = file_schema(ARTICLES_SCHEMA)
    groups: dict[tuple[date, str], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[(row["date"], row["section"])].append(row)
    written = []
    for (day, section), group in sorted(groups.items()):
        folder = root / dataset / f"date={day.isoformat()}" / f"section={section}"
        folder.mkdir(parents=True, exist_ok=True)
        table = pa.Table.from_pylist(group, schema=schema)
        pq.write_table(table, folder / "part-0.parquet", compression="zstd")
        written.append(folder / "part-0.parquet")
    return written


def write_quarantine(root: Path, day: date, run_id: str, rows: list[dict[str, Any]]) -> Path:
    folder = root / "quarantine" / f"date={day.isoformat()}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"run={run_id}.parquet"
    pq.write_table(pa.Table.from_pylist(rows, schema=QUARANTINE_SCHEMA), path, compression="zstd")
    return path


def build_warehouse(root: Path) -> Warehouse:
    rows = [
        article(1, DAY, "politics"),
        article(2, DAY, "politics", byline=None, authors=[], dateline=None),
        article(3, DAY, "politics", access="premium", access_raw="premium"),
        article(4, DAY, "world", keywords=[], summary=None),
        article(5, DAY, "business", image_url="https://news.example/img/5.jpg"),
        # 00:30 JST on DAY is still the previous day in UTC: the partition is the JST day.
        article(6, DAY, "world", hour=0),
        article(11, PREVIOUS, "politics"),
        article(12, PREVIOUS, "society"),
        article(21, OLD, "politics"),
    ]
    write_partitions(root, "articles", rows)
    # Internal folders and an in-flight temp file must never show up in the views.
    (root / "_index").mkdir(parents=True)
    pq.write_table(pa.table({"article_id": ["japannews:999"]}), root / "_index" / "articles.parquet")
    (root / "_locks").mkdir()
    (root / "_locks" / "articles.lock").write_text("")
    tmp_dir = root / "articles" / f"date={DAY.isoformat()}" / "section=politics"
    (tmp_dir / ".part-0.parquet.abc123.tmp").write_bytes(b"half a file")
    quarantine = {
        DAY: [
            quarantine_row(1, "missing_title: h1, og:title and <title> empty"),
            quarantine_row(2, "missing_title: h1, og:title and <title> empty; empty_body: no non-empty paragraph"),
            quarantine_row(3, "bad_url: canonical 'x' and fetched 'y' are not absolute http(s) URLs"),
        ]
    }
    write_quarantine(root, DAY, "fixture-run", quarantine[DAY])
    return Warehouse(root=root, articles=rows, quarantine=quarantine)


@pytest.fixture
def warehouse(tmp_path: Path) -> Warehouse:
    return build_warehouse(tmp_path / "wh")


@pytest.fixture
def summary() -> dict[str, Any]:
    """A run summary as ``newsline.pipeline.summarize`` writes it (the keys the report reads)."""
    return {
        "site": "japannews", "day": DAY.isoformat(), "run_id": "fixture-run", "status": "ok", "anomalies": [],
        "articles_discovered": 9, "pages_fetched": 12, "pages_failed": 1, "pages_blocked": 2,
        "pages_skipped_unchanged": 0, "articles_new": 4, "articles_updated": 2, "articles_unchanged": 3,
        "articles_quarantined": 3,
        "field_coverage": {"title": 1.0, "body": 1.0, "byline": 0.75, "image_url": 0.25},
        "quarantine_reasons": {"missing_title": 2, "empty_body": 1, "bad_url": 1},
        "duration_s": 12.5,
    }
