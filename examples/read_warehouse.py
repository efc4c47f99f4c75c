"""Read the Newsline warehouse with newsline.read_articles, pandas, Polars and DuckDB, filtering on the partition columns.

    .venv/bin/python examples/read_warehouse.py data/warehouse --date 2024-09-06 --section politics

``date`` and ``section`` live only in the folder names (``articles/date=…/section=…/part-<site>.parquet``),
so a filter on them skips whole folders before a byte of Parquet is read ("partition pruning").
Each reader is told the partition types (``date`` a DATE, ``section`` a string) so that filters compare
dates with dates. Without ``--date`` the latest stored day is used.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.dataset as ds

PARTITIONING = ds.partitioning(pa.schema([("date", pa.date32()), ("section", pa.string())]), flavor="hive")


def articles_dataset(root: str) -> ds.Dataset:
    # pyarrow skips names starting with "." or "_" (in-flight writes), as pandas does through it.
    return ds.dataset(f"{root}/articles", format="parquet", partitioning=PARTITIONING)


def pruned_files(root: str, day: date, section: str | None) -> tuple[int, int]:
    """(files in the dataset, files left after the partition filter): the pruning, made visible."""
    dataset = articles_dataset(root)
    wanted = ds.field("date") == day
    if section:
        wanted &= ds.field("section") == section
    return len(dataset.files), sum(1 for _ in dataset.get_fragments(filter=wanted))


def with_newsline(root: str, day: date, section: str | None) -> pd.DataFrame:
    import newsline  # the project's reader: date typed, same pruning

    return newsline.read_articles(root, start=day, end=day, sections=section,
                                  columns=["article_id", "date", "section", "title", "published_at", "word_count"])


def with_pandas(root: str, day: date, section: str | None) -> pd.DataFrame:
    filters = [("date", "=", day)] + ([("section", "=", section)] if section else [])
    return pd.read_parquet(f"{root}/articles", engine="pyarrow", partitioning=PARTITIONING, filters=filters,
                           columns=["article_id", "date", "section", "title", "published_at", "word_count"])


def with_polars(root: str, day: date, section: str | None) -> pl.DataFrame:
    lazy = pl.scan_parquet(f"{root}/articles/**/*.parquet", hive_partitioning=True,
                           hive_schema={"date": pl.Date, "section": pl.String})
    lazy = lazy.filter(pl.col("date") == day)
    if section:
        lazy = lazy.filter(pl.col("section") == section)
    return lazy.select("article_id", "date", "section", "title", "published_at", "word_count").collect()


def with_duckdb(root: str, day: date, section: str | None) -> pa.Table:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")  # show the stored UTC timestamps as they are
    sql = (
        "SELECT article_id, date, section, title, published_at, word_count "
        f"FROM read_parquet('{root}/articles/**/*.parquet', hive_partitioning = true, "
        "hive_types = {'date': 'DATE', 'section': 'VARCHAR'}, union_by_name = true) "
        "WHERE date = $day" + (" AND section = $section" if section else "") + " ORDER BY published_at, article_id"
    )
    params: dict[str, object] = {"day": day} | ({"section": section} if section else {})
    return con.sql(sql, params=params).to_arrow_table()


def latest_day(root: str) -> date | None:
    days = [date.fromisoformat(p.name[len("date="):]) for p in Path(root, "articles").glob("date=*")]
    return max(days, default=None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", help="warehouse root (the folder holding articles/)")
    parser.add_argument("--date", type=date.fromisoformat, help="publication day YYYY-MM-DD (JST); default: latest")
    parser.add_argument("--section", help="section slug, e.g. politics; default: every section")
    args = parser.parse_args(argv)
    root = args.root.rstrip("/")

    day = args.date or latest_day(root)
    if day is None:
        print(f"no articles under {root}/articles yet")
        return 1
    where = f"date={day.isoformat()}" + (f", section={args.section}" if args.section else "")
    total, kept = pruned_files(root, day, args.section)
    print(f"filter: {where}")
    print(f"files: {total} in the dataset, {kept} left after partition pruning")

    print(f"newsline: {len(with_newsline(root, day, args.section))} rows")
    frame = with_pandas(root, day, args.section)
    print(f"pandas: {len(frame)} rows")
    print(f"polars: {with_polars(root, day, args.section).height} rows")
    table = with_duckdb(root, day, args.section)
    print(f"duckdb: {table.num_rows} rows")
    for row in table.slice(0, 5).to_pylist():
        print(f"  {row['published_at']:%Y-%m-%d %H:%M} UTC  {row['section']:<12} {row['article_id']:<20} {row['title']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
