"""clean_articles as a whole: the table contract, quarantine, batch dedup, accounting."""

from __future__ import annotations

import json
from datetime import date

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from transform_factory import RUN_ID, SITE, clean, make_item

from core.schema import ARTICLES_SCHEMA, CONTENT_COLUMNS, QUARANTINE_SCHEMA, SCHEMA_VERSION
from transforms.articles import (
    RAW_COLUMNS,
    articles_table,
    clean_articles,
    content_hash,
    items_frame,
    quarantine_frame,
    schema_table,
)


def test_items_frame_one_row_per_item_missing_fields_none() -> None:
    frame = items_frame([{"url": "https://example.org/a", "site": "japannews", "title": "T"}, make_item()])
    assert list(frame.columns) == list(RAW_COLUMNS)
    assert len(frame) == 2
    assert frame.loc[0, "canonical_url"] is None and frame.loc[0, "title"] == "T"
    assert list(frame.loc[1, "paragraphs"]) == make_item()["paragraphs"]


def test_articles_columns_and_bookkeeping() -> None:
    result = clean(make_item(1), make_item(2))
    df = result.articles
    assert list(df.columns) == ARTICLES_SCHEMA.names
    assert df["run_id"].tolist() == [RUN_ID, RUN_ID]
    assert df["schema_version"].tolist() == [SCHEMA_VERSION] * 2
    assert df["first_seen_at"].isna().all() and df["near_duplicate_of"].isna().all()
    assert df["site"].tolist() == ["japannews"] * 2
    assert df["date"].tolist() == [date(2024, 9, 6)] * 2
    assert df["simhash"].notna().all()


def test_schema_conversion_roundtrip(tmp_path) -> None:
    result = clean(make_item(1), make_item(2, byline=None, keywords=None, subsection=None, access=None))
    table = articles_table(result.articles)
    assert table.schema.equals(ARTICLES_SCHEMA, check_metadata=True)
    path = tmp_path / "a.parquet"
    pq.write_table(table, path)
    back = pq.read_table(path)
    assert back.equals(table)
    rows = back.to_pylist()
    assert rows[1]["authors"] == [] and rows[1]["subsection"] is None and rows[1]["access"] == "unknown"
    assert rows[0]["published_at"] == result.articles["published_at"].iloc[0].to_pydatetime()
    # the content hash recomputed from what was stored matches: nothing was lost in conversion
    assert [content_hash(r) for r in rows] == result.articles["content_hash"].tolist()


def test_empty_batch_converts() -> None:
    result = clean_articles(items_frame([]), site=SITE, run_id=RUN_ID)
    assert articles_table(result.articles).num_rows == 0
    assert schema_table(result.quarantine, QUARANTINE_SCHEMA).schema.equals(QUARANTINE_SCHEMA)
    assert result.duplicates_collapsed == 0


def test_content_hash_covers_content_not_bookkeeping() -> None:
    a = clean(make_item(1)).articles.iloc[0]
    refetched = clean(make_item(1, fetched_at="2024-09-08T00:00:00Z", run_id="other")).articles.iloc[0]
    edited = clean(make_item(1, paragraphs=["A different generated paragraph."])).articles.iloc[0]
    assert a["content_hash"] == refetched["content_hash"]
    assert a["content_hash"] != edited["content_hash"]
    assert set(CONTENT_COLUMNS) <= set(ARTICLES_SCHEMA.names)


def test_quarantine_collects_every_reason() -> None:
    bad = make_item(
        7, title=None, og_title=" ", html_title=" - The Japan News", paragraphs=["  ", ""],
        published_time="garbage", jsonld_published=None, postdate=None,
        section="Politics!", subsection="Sub Section", canonical_url="/relative/", url="ftp://example.org/x",
        native_id="has space", fetched_at="2024-09-07T01:00:00Z",
    )
    result = clean(make_item(1), bad)
    assert len(result.articles) == 1 and len(result.quarantine) == 1
    q = result.quarantine.iloc[0]
    codes = [part.split(":", 1)[0] for part in q["reason"].split("; ")]
    assert codes == ["missing_title", "empty_body", "bad_published_at", "bad_section", "bad_subsection",
                     "bad_url", "bad_article_id"]
    assert q["reason"].startswith("missing_title: h1, og:title and <title> empty")
    assert (q["run_id"], q["site"], q["stage"]) == (RUN_ID, "japannews", "transform")
    assert q["url"] == "/relative/"
    assert q["quarantined_at"] == pd.Timestamp("2024-09-07T01:00:00Z")  # the item's own fetch time, not "now"
    raw = json.loads(q["raw"])
    assert raw["native_id"] == "has space" and raw["paragraphs"] == ["  ", ""]
    assert schema_table(result.quarantine, QUARANTINE_SCHEMA).num_rows == 1


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"paragraphs": []}, "empty_body"),
        ({"paragraphs": None}, "empty_body"),
        ({"section": None}, "missing_section"),
        ({"section": "../etc"}, "bad_section"),
        ({"url": "javascript:alert(1)", "canonical_url": None}, "bad_url"),
        ({"url": "not a url", "canonical_url": None, "native_id": None}, "bad_url; missing_article_id"),
        ({"fetched_at": None}, "bad_fetched_at"),
        ({"site": "othersite"}, "site_mismatch"),
        ({"published_time": None, "jsonld_published": "2024-13-01T00:00:00", "postdate": "sometime"},
         "bad_published_at"),
    ],
)
def test_single_reasons(overrides: dict, code: str) -> None:
    result = clean(make_item(**overrides))
    assert len(result.articles) == 0
    assert [r.split(":", 1)[0] for r in result.quarantine["reason"].iloc[0].split("; ")] == code.split("; ")


def test_quarantined_without_fetch_time_uses_batch_time_never_now() -> None:
    result = clean(make_item(1, fetched_at="2024-09-07T03:00:00Z"), make_item(2, fetched_at="junk"))
    assert result.quarantine["quarantined_at"].tolist() == [pd.Timestamp("2024-09-07T03:00:00Z")]


def test_batch_dedup_keeps_latest_version() -> None:
    v0 = make_item(5, modified_time="2024-09-06T10:05:00+09:00", title="Generated Story")
    v1 = make_item(5, modified_time="2024-09-06T12:00:00+09:00", title="Generated Story (UPDATE 1)")
    same_time_higher_rev = make_item(5, modified_time="2024-09-06T12:00:00+09:00",
                                     title="Generated Story (UPDATE 2)")
    later_fetch = make_item(5, modified_time="2024-09-06T12:00:00+09:00", title="Generated Story (UPDATE 2)",
                            fetched_at="2024-09-07T05:00:00Z", image_caption="Refetched caption.")
    other = make_item(6)
    result = clean(later_fetch, v0, other, same_time_higher_rev, v1)
    assert result.duplicates_collapsed == 3
    assert len(result.articles) + len(result.quarantine) + result.duplicates_collapsed == 5
    assert sorted(result.articles["article_id"]) == ["japannews:5", "japannews:6"]
    kept = result.articles.set_index("article_id").loc["japannews:5"]
    assert kept["revision"] == 2 and kept["image_caption"] == "Refetched caption."
    assert result.articles["article_id"].is_unique


def test_dedup_by_url_hash_when_no_native_id() -> None:
    a = make_item(5, native_id=None)
    b = make_item(5, native_id=None, modified_time="2024-09-06T11:00:00+09:00")
    result = clean(a, b)
    assert result.duplicates_collapsed == 1
    assert result.articles["modified_at"].iloc[0] == pd.Timestamp("2024-09-06T02:00:00Z")


def test_missing_raw_column_is_a_programming_error() -> None:
    frame = items_frame([make_item()]).drop(columns=["paragraphs"])
    with pytest.raises(KeyError, match="paragraphs"):
        clean_articles(frame, site=SITE, run_id=RUN_ID)


def test_articles_table_rejects_nulls_in_required_columns() -> None:
    df = clean(make_item()).articles.copy()
    df.loc[0, "title"] = None
    with pytest.raises(ValueError, match="title"):
        articles_table(df)


def test_quarantine_frame_for_crawl_rejections() -> None:
    rows = [
        {"site": "japannews", "url": "https://example.org/a", "reason": "blocked: empty document",
         "raw": {"kind": "blocked", "status": 200}, "at": "2024-09-07T01:02:03+00:00"},
        {"site": "japannews", "url": "https://example.org/b", "reason": "not_article: listing", "raw": None},
    ]
    q = quarantine_frame(rows, run_id="r9", stage="crawl")
    assert list(q.columns) == QUARANTINE_SCHEMA.names
    assert q["stage"].tolist() == ["crawl", "crawl"]
    assert json.loads(q["raw"].iloc[0]) == {"kind": "blocked", "status": 200}
    assert q["raw"].iloc[1] is None
    # a row without a time takes the batch's latest, never the clock
    assert q["quarantined_at"].tolist() == [pd.Timestamp("2024-09-07T01:02:03Z")] * 2
    table = schema_table(q, QUARANTINE_SCHEMA)
    assert table.schema.equals(QUARANTINE_SCHEMA) and table.num_rows == 2
    assert isinstance(table, pa.Table)
    empty = quarantine_frame([], run_id="r9", stage="crawl")
    assert schema_table(empty, QUARANTINE_SCHEMA).num_rows == 0


def test_frame_read_back_from_parquet_cleans_the_same(tmp_path) -> None:
    """Staged items may come back from Parquet with numpy arrays and NaN: same result."""
    items = [make_item(1), make_item(2, byline=None, image_url=None)]
    direct = clean(*items).articles
    path = tmp_path / "items.parquet"
    items_frame(items).to_parquet(path)
    again = clean_articles(pd.read_parquet(path), site=SITE, run_id=RUN_ID).articles
    assert again["content_hash"].tolist() == direct["content_hash"].tolist()
