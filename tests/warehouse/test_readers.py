"""The dataset reads the same, with correct date/section values, in every tool analysts use."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.dataset as ds
import pytest

from tests.warehouse.conftest import article, table_of
from warehouse import paths
from warehouse.articles import merge_articles
from warehouse.reader import read_articles, read_articles_table

ROWS = [
    (1, date(2024, 9, 5), "politics"),
    (2, date(2024, 9, 5), "world"),
    (3, date(2024, 9, 6), "politics"),
    (4, date(2024, 9, 6), "science-nature"),
    (5, date(2024, 9, 6), "science-nature"),
]
EXPECTED = sorted((f"japannews:{i}", d.isoformat(), s) for i, d, s in ROWS)


@pytest.fixture
def loaded(root) -> str:
    merge_articles(root, table_of([article(i, day=d, section=s) for i, d, s in ROWS]), run_id="r1")
    # a crashed writer's leftover must not break any reader
    stray = paths.temp_path(paths.articles_file(root, date(2024, 9, 6), "politics", "japannews"), "0123abcd")
    Path(stray).write_bytes(b"PAR1 truncated")
    return root


def triples(ids, days, sections) -> list[tuple[str, str, str]]:
    return sorted(zip(ids, (str(d) for d in days), sections, strict=True))


def test_pandas(loaded):
    df = pd.read_parquet(loaded + "/articles")
    assert triples(df["article_id"], df["date"], df["section"]) == EXPECTED
    assert df["published_at"].dt.tz is not None


def test_pyarrow_dataset(loaded):
    dataset = ds.dataset(loaded + "/articles", format="parquet", partitioning="hive")
    table = dataset.to_table()
    assert triples(table["article_id"].to_pylist(), table["date"].to_pylist(), table["section"].to_pylist()) == EXPECTED
    assert table.schema.field("published_at").type == pa.timestamp("us", tz="UTC")


def test_duckdb(loaded):
    rows = duckdb.sql(
        f"SELECT article_id, date, section FROM read_parquet('{loaded}/articles/**/*.parquet', hive_partitioning=true)"
    ).fetchall()
    assert triples(*zip(*rows, strict=True)) == EXPECTED
    assert isinstance(rows[0][1], date)  # DuckDB infers the partition type


def test_polars(loaded):
    frame = pl.read_parquet(loaded + "/articles/**/*.parquet", hive_partitioning=True)
    assert triples(frame["article_id"].to_list(), frame["date"].to_list(), frame["section"].to_list()) == EXPECTED


def test_read_articles_types_and_filters(loaded):
    df = read_articles(loaded)
    assert triples(df["article_id"], df["date"], df["section"]) == EXPECTED
    assert df["date"].dtype == pd.ArrowDtype(pa.date32())
    assert df.columns.tolist() == [f.name for f in read_articles_table(loaded).schema]
    only = read_articles(loaded, days=[date(2024, 9, 6)], sections=["science-nature"])
    assert only["article_id"].tolist() == ["japannews:4", "japannews:5"]
    assert (only["date"] == date(2024, 9, 6)).all()


def test_read_articles_of_an_empty_warehouse(root):
    df = read_articles(root)
    assert len(df) == 0 and "date" in df.columns and "section" in df.columns


def test_polars_directory_read_after_the_next_merge_swept_leftovers(loaded):
    """Polars refuses a directory holding mixed file names; the next merge removes a crash's leftovers."""
    merge_articles(loaded, table_of([article(3, day=date(2024, 9, 6), section="politics")]), run_id="r2")
    frame = pl.read_parquet(loaded + "/articles", hive_partitioning=True)
    assert triples(frame["article_id"].to_list(), frame["date"].to_list(), frame["section"].to_list()) == EXPECTED


def test_newsline_read_articles_range_sites_sections_columns(loaded):
    import newsline

    merge_articles(loaded, table_of([article(7, day=date(2024, 9, 6), section="politics", site="othersite",
                                             article_id="othersite:7")]), run_id="r2")
    df = newsline.read_articles(loaded, start="2024-09-06", end=date(2024, 9, 6))
    assert sorted(df["article_id"]) == ["japannews:3", "japannews:4", "japannews:5", "othersite:7"]
    assert df["date"].dtype == pd.ArrowDtype(pa.date32()) and (df["date"] == date(2024, 9, 6)).all()
    assert newsline.read_articles(loaded, start="2024-09-06", sites="othersite")["article_id"].tolist() == [
        "othersite:7"]
    assert sorted(newsline.read_articles(loaded, end="2024-09-05", sections="politics")["article_id"]) == [
        "japannews:1"]  # one name is one name, not its letters
    cols = newsline.read_articles(loaded, sites=["japannews"], sections=["politics", "world"],
                                  columns=["article_id", "date"])
    assert cols.columns.tolist() == ["article_id", "date"] and len(cols) == 3
    assert len(newsline.read_articles(loaded, start="2024-09-07")) == 0


@pytest.mark.parametrize("kwargs, message", [
    ({"start": "06/09/2024"}, "start: expected a day as YYYY-MM-DD"),
    ({"start": "2024-09-06", "end": "2024-09-05"}, "is after end"),
    ({"columns": ["titel"]}, "unknown column"),
])
def test_newsline_read_articles_argument_errors(loaded, kwargs, message):
    import newsline

    with pytest.raises(ValueError, match=message):
        newsline.read_articles(loaded, **kwargs)


def test_importing_newsline_stays_light():
    """``newsline.read_articles`` is resolved on first use: ``import newsline`` loads no pandas."""
    import subprocess
    import sys

    code = "import sys, newsline; print('pandas' in sys.modules); newsline.read_articles; print('pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60).stdout.split()
    assert out == ["False", "True"]
