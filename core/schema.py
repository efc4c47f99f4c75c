"""The one definition of the articles table and its sibling datasets.

Transforms build frames that conform to ``ARTICLES_SCHEMA``; the warehouse writes them. ``date`` and
``section`` are Hive partition columns: they live in the directory names
(``articles/date=YYYY-MM-DD/section=<slug>/``) and are *not* stored inside the Parquet files, so
pandas, pyarrow, DuckDB and Polars all read them back from the path without type conflicts.
"""

from __future__ import annotations

import pyarrow as pa

SCHEMA_VERSION = 2  # 2: section_native, extraction, extraction_confidence

UTC_TS = pa.timestamp("us", tz="UTC")

PARTITION_COLUMNS: tuple[str, ...] = ("date", "section")

ACCESS_VALUES = ("free", "premium", "unknown")

ARTICLES_SCHEMA = pa.schema(
    [
        pa.field("article_id", pa.string(), nullable=False),
        pa.field("site", pa.string(), nullable=False),
        pa.field("url", pa.string(), nullable=False),
        pa.field("title", pa.string(), nullable=False),
        pa.field("revision", pa.int32(), nullable=False),
        pa.field("date", pa.date32(), nullable=False),
        pa.field("section", pa.string(), nullable=False),
        pa.field("subsection", pa.string()),
        pa.field("dateline", pa.string()),
        pa.field("byline", pa.string()),
        pa.field("authors", pa.list_(pa.string())),
        pa.field("body", pa.string(), nullable=False),
        pa.field("summary", pa.string()),
        pa.field("published_at", UTC_TS, nullable=False),
        pa.field("modified_at", UTC_TS, nullable=False),
        pa.field("language", pa.string()),
        pa.field("access", pa.string(), nullable=False),
        pa.field("access_raw", pa.string()),
        pa.field("keywords", pa.list_(pa.string())),
        pa.field("image_url", pa.string()),
        pa.field("image_caption", pa.string()),
        pa.field("image_credit", pa.string()),
        pa.field("word_count", pa.int32(), nullable=False),
        pa.field("content_hash", pa.string(), nullable=False),
        pa.field("fetched_at", UTC_TS, nullable=False),
        pa.field("first_seen_at", UTC_TS),
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("simhash", pa.int64()),  # 64-bit SimHash of title+body (signed), for near-duplicate detection
        pa.field("near_duplicate_of", pa.string()),  # article_id of the earliest article of its near-duplicate cluster
        pa.field("schema_version", pa.int16(), nullable=False),
        pa.field("section_native", pa.string()),  # the site's own section before mapping to the vocabulary
        pa.field("extraction", pa.string()),  # JSON {field: method}: which method produced each field
        pa.field("extraction_confidence", pa.float32()),  # 0..1 agreement of the body with a second method
    ],
    metadata={"newsline.schema_version": str(SCHEMA_VERSION)},
)

#: Columns that feed ``content_hash``: what the reader sees. Fetch/run bookkeeping is excluded so
#: re-crawling an unchanged page hashes the same.
CONTENT_COLUMNS: tuple[str, ...] = (
    "url", "title", "revision", "section", "subsection", "dateline", "byline", "authors", "body",
    "summary", "published_at", "modified_at", "language", "access", "keywords", "image_url",
    "image_caption", "image_credit",
)

QUARANTINE_SCHEMA = pa.schema(
    [
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("site", pa.string()),
        pa.field("url", pa.string()),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("stage", pa.string(), nullable=False),  # crawl | transform | load
        pa.field("raw", pa.string()),  # the raw field values as JSON
        pa.field("quarantined_at", UTC_TS, nullable=False),
    ]
)


def file_schema(schema: pa.Schema = ARTICLES_SCHEMA) -> pa.Schema:
    """The schema of one partition file: the table schema without the partition columns."""
    keep = [f for f in schema if f.name not in PARTITION_COLUMNS]
    return pa.schema(keep, metadata=schema.metadata)


