"""Schema evolution (a nullable column added later), ``compact`` and the DuckDB query views."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import polars as pl
import pyarrow.parquet as pq
import pytest

from core.schema import SCHEMA_VERSION, file_schema
from tests.warehouse.conftest import article, table_of
from warehouse import paths
from warehouse.articles import merge_articles, rebuild_index
from warehouse.maintenance import compact
from warehouse.quarantine import write_quarantine
from warehouse.query import WarehouseError, connect, main_query
from warehouse.reader import read_articles

OLD_DAY, NEW_DAY = date(2024, 9, 5), date(2024, 9, 6)
ADDED = ("simhash", "near_duplicate_of")  # columns the "old" code did not know


def plant_old_partition(root: str) -> list[dict]:
    """A partition as an older release wrote it: without the added columns, schema_version 0."""
    rows = [article(i, day=OLD_DAY, schema_version=0, first_seen_at=article(i)["fetched_at"]) for i in (1, 2)]
    old_schema = file_schema()
    for name in ADDED:
        old_schema = old_schema.remove(old_schema.get_field_index(name))
    table = table_of(rows).select(old_schema.names).cast(old_schema)
    path = Path(paths.articles_file(root, OLD_DAY, "politics", "japannews"))
    path.parent.mkdir(parents=True)
    pq.write_table(table, path, compression="zstd")
    rebuild_index(root)
    return rows


def test_old_and_new_partitions_read_together(root):
    plant_old_partition(root)
    merge_articles(root, table_of([article(3, day=NEW_DAY, simhash=-42)]), run_id="r1")

    df = read_articles(root).set_index("article_id")
    assert df.loc["japannews:3", "simhash"] == -42
    assert pd.isna(df.loc["japannews:1", "simhash"]) and pd.isna(df.loc["japannews:1", "near_duplicate_of"])
    assert df["schema_version"].to_dict() == {"japannews:1": 0, "japannews:2": 0, "japannews:3": SCHEMA_VERSION}

    rows = duckdb.sql(
        f"SELECT article_id, simhash FROM read_parquet('{root}/articles/**/*.parquet', hive_partitioning=true, "
        "union_by_name=true) ORDER BY article_id"
    ).fetchall()
    assert rows == [("japannews:1", None), ("japannews:2", None), ("japannews:3", -42)]
    assert main_query(root, "SELECT count(*) AS n FROM articles WHERE simhash IS NULL", "json") == '{"n": 2}'


def test_merge_into_an_old_partition_upgrades_its_file_keeping_rows(root):
    plant_old_partition(root)
    update = article(2, day=OLD_DAY, revision=1, body="Updated.", modified_delta=timedelta(hours=1))
    assert merge_articles(root, table_of([update]), run_id="r2").updated == 1
    stored = pq.read_table(paths.articles_file(root, OLD_DAY, "politics", "japannews"))
    assert stored.schema.names == file_schema().names
    by_id = {r["article_id"]: r for r in stored.to_pylist()}
    assert by_id["japannews:1"]["schema_version"] == 0 and by_id["japannews:1"]["simhash"] is None
    assert by_id["japannews:2"]["schema_version"] == SCHEMA_VERSION and by_id["japannews:2"]["body"] == "Updated."


def test_compact_rewrites_old_files_without_changing_a_row(root):
    plant_old_partition(root)
    merge_articles(root, table_of([article(3, day=NEW_DAY), article(4, day=NEW_DAY, section="world")]), run_id="r1")
    before = read_articles(root)
    old_file = Path(paths.articles_file(root, OLD_DAY, "politics", "japannews"))
    new_file = Path(paths.articles_file(root, NEW_DAY, "politics", "japannews"))
    new_stat = new_file.stat().st_mtime_ns

    result = compact(root)
    assert result.partitions == 5  # 3 article partitions + 2 revision ones (the planted one has none)
    assert result.rewritten == [str(old_file)]
    assert pq.read_schema(old_file).names == file_schema().names
    assert new_file.stat().st_mtime_ns == new_stat
    pd.testing.assert_frame_equal(read_articles(root), before)
    assert compact(root).rewritten == []
    # with one schema everywhere again, tools that take the first file's schema see the new column too
    assert "simhash" in pd.read_parquet(root + "/articles").columns
    assert "simhash" in pl.read_parquet(root + "/articles/**/*.parquet", hive_partitioning=True).columns


def test_query_views(root, tmp_path):
    with pytest.raises(WarehouseError, match="does not exist"):  # a typo in the path is no empty warehouse
        main_query(root, "SELECT count(*) AS n FROM articles", "json")
    Path(root).mkdir(parents=True)
    assert main_query(root, "SELECT count(*) AS n FROM articles", "json") == '{"n": 0}'
    merge_articles(root, table_of([article(1), article(2, section="world")]), run_id="r1")
    rows = pd.DataFrame({"url": ["http://127.0.0.1/x/"], "reason": ["no title"], "stage": ["transform"]})
    write_quarantine(root, rows, run_id="r1", day=NEW_DAY)

    con = connect(root)
    assert con.execute("SELECT date, section FROM articles ORDER BY section").fetchall() == [
        (NEW_DAY, "politics"),
        (NEW_DAY, "world"),
    ]
    assert con.execute("SELECT count(*) FROM article_revisions").fetchall() == [(2,)]
    assert con.execute("SELECT run_id, reason FROM quarantine WHERE date = ?", [NEW_DAY]).fetchall() == [
        ("r1", "no title")
    ]
    lines = main_query(root, "SELECT article_id, authors FROM articles ORDER BY 1", "json").splitlines()
    assert json.loads(lines[0]) == {"article_id": "japannews:1", "authors": ["Writer One"]}
    assert "japannews:2" in main_query(root, "SELECT article_id FROM articles", "csv")
    assert "politics" in main_query(root, "SELECT section FROM articles", "table")
    out = tmp_path / "out.parquet"
    assert main_query(root, "SELECT * FROM articles", "parquet", str(out)) == f"wrote 2 rows to {out}"
    assert pq.read_table(out).num_rows == 2
    with pytest.raises(ValueError):
        main_query(root, "SELECT 1", "parquet")
