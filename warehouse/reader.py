"""Reading the warehouse back: the articles table (partition columns restored) and the index."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.fs as pafs

from core.schema import ARTICLES_SCHEMA, PARTITION_COLUMNS
from core.sections import is_slug
from warehouse import paths
from warehouse.index import INDEX_SCHEMA, index_sites, read_index_table
from warehouse.revisions import REVISIONS_SCHEMA
from warehouse.storage import storage_for

#: Types of the Hive partition columns, so every reader agrees on them.
PARTITION_SCHEMA = pa.schema([ARTICLES_SCHEMA.field(name) for name in PARTITION_COLUMNS])


def articles_dataset(
    root: str, dataset: str = paths.ARTICLES, schema: pa.Schema = ARTICLES_SCHEMA
) -> ds.Dataset | None:
    """The dataset as a ``pyarrow.dataset`` with typed ``date``/``section``; None if nothing is stored.

    The explicit schema lets partitions written before a nullable column was added read as nulls.
    """
    fs, base = storage_for(root).arrow_fs()
    directory = f"{base.rstrip('/')}/{dataset}"
    if fs.get_file_info(directory).type != pafs.FileType.Directory:
        return None
    partitioning = ds.partitioning(PARTITION_SCHEMA, flavor="hive")
    return ds.dataset(directory, filesystem=fs, format="parquet", partitioning=partitioning, schema=schema)


def _filter(
    days: Iterable[date] | None,
    sections: Iterable[str] | None,
    *,
    start: date | None = None,
    end: date | None = None,
    sites: Iterable[str] | None = None,
) -> ds.Expression | None:
    conds = []
    if days is not None:
        conds.append(ds.field("date").isin(pa.array(list(days), pa.date32())))
    if start is not None:
        conds.append(ds.field("date") >= pa.scalar(start, pa.date32()))
    if end is not None:
        conds.append(ds.field("date") <= pa.scalar(end, pa.date32()))
    if sections is not None:
        conds.append(ds.field("section").isin(pa.array(list(sections), pa.string())))
    if sites is not None:
        conds.append(ds.field("site").isin(pa.array(list(sites), pa.string())))
    expr = None
    for cond in conds:
        expr = cond if expr is None else expr & cond
    return expr


def _day_arg(value: date | str | None, name: str) -> date | None:
    """A day given as a ``date`` or ``"YYYY-MM-DD"``; a ``datetime`` is refused (which zone's day?)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        raise ValueError(f"{name}: give a date (the site-local publication day), not a datetime: {value!r}")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{name}: expected a day as YYYY-MM-DD, got {value!r}") from None
    raise ValueError(f"{name}: expected a date or 'YYYY-MM-DD', got {type(value).__name__}")


def _names_arg(value: str | Iterable[str] | None) -> list[str] | None:
    """One name or several (a lone string is one name, not its characters)."""
    if value is None:
        return None
    return [value] if isinstance(value, str) else [str(v) for v in value]


def read_articles_table(
    root: str,
    days: Iterable[date] | None = None,
    sections: Iterable[str] | None = None,
    columns: list[str] | None = None,
    *,
    start: date | None = None,
    end: date | None = None,
    sites: Iterable[str] | None = None,
) -> pa.Table:
    """The articles (``ARTICLES_SCHEMA``), ordered by date, section, published_at, article_id."""
    if columns is not None:
        unknown = [c for c in columns if c not in ARTICLES_SCHEMA.names]
        if unknown:
            raise ValueError(f"unknown column(s) {', '.join(map(repr, unknown))}; the articles table has "
                             f"{', '.join(ARTICLES_SCHEMA.names)}")
    dataset = articles_dataset(root)
    if dataset is None:
        table = ARTICLES_SCHEMA.empty_table()
    else:
        table = dataset.to_table(filter=_filter(days, sections, start=start, end=end, sites=sites))
    order = [c for c in ("date", "section", "published_at", "article_id") if c in table.column_names]
    if table.num_rows:
        table = table.sort_by([(c, "ascending") for c in order])
    return table.select(columns) if columns is not None else table


#: date32 stays a date (not object); int64 stays exact when nulls occur (simhash would lose bits as float).
_PANDAS_TYPES = {pa.date32(): pd.ArrowDtype(pa.date32()), pa.int64(): pd.Int64Dtype()}


def read_articles(
    root: str,
    days: Iterable[date] | None = None,
    sections: str | Iterable[str] | None = None,
    columns: list[str] | None = None,
    *,
    start: date | str | None = None,
    end: date | str | None = None,
    sites: str | Iterable[str] | None = None,
) -> pd.DataFrame:
    """The articles as a pandas DataFrame with typed columns: ``date`` a real date
    (``date32[pyarrow]``: compare with ``datetime.date``), ``section`` a string, timestamps UTC.

    ``start``/``end``: first and last publication day (inclusive; ``date`` or ``"YYYY-MM-DD"``);
    ``sites``/``sections``: one name or several; ``columns``: the columns to return. Filters on
    ``date``/``section`` skip whole partition folders. Exposed as ``newsline.read_articles``::

        import newsline
        df = newsline.read_articles("data/warehouse", start="2024-09-05", end="2024-09-06", sections="politics")
    """
    first, last = _day_arg(start, "start"), _day_arg(end, "end")
    if first is not None and last is not None and first > last:
        raise ValueError(f"start {first} is after end {last}")
    table = read_articles_table(root, days, _names_arg(sections), columns, start=first, end=last,
                                sites=_names_arg(sites))
    frame = table.to_pandas(types_mapper=_PANDAS_TYPES.get)
    return frame.reset_index(drop=True)


def read_revisions(
    root: str, days: Iterable[date] | None = None, sections: Iterable[str] | None = None
) -> pd.DataFrame:
    """Every stored version (``article_revisions``), ordered by date, section, article, modification."""
    dataset = articles_dataset(root, paths.REVISIONS, REVISIONS_SCHEMA)
    if dataset is None:
        table = REVISIONS_SCHEMA.empty_table()
    else:
        table = dataset.to_table(filter=_filter(days, sections))
    if table.num_rows:
        order = ("date", "section", "article_id", "modified_at", "revision", "fetched_at")
        table = table.sort_by([(c, "ascending") for c in order])
    return table.to_pandas(types_mapper=_PANDAS_TYPES.get).reset_index(drop=True)


def stored_versions(root: str, article_ids: Iterable[str]) -> dict[str, tuple[datetime, str, str]]:
    """``article_id -> (modified_at, content_hash, url)`` of the stored versions, from the index alone."""
    ids = sorted(set(article_ids))
    wanted = pa.array(ids, pa.string())
    table = _index_of_sites(root, sorted({i.partition(":")[0] for i in ids if ":" in i}))
    table = table.filter(pc.is_in(table["article_id"], value_set=wanted))
    return {
        row["article_id"]: (row["modified_at"], row["content_hash"], row["url"])
        for row in table.select(["article_id", "modified_at", "content_hash", "url"]).to_pylist()
    }


def stored_modifications(root: str, site: str) -> pa.Table:
    """``article_id``, ``url`` and ``modified_at`` of every stored article of ``site``, from its index
    alone: what an incremental crawl needs to skip unchanged pages (``crawler.known``)."""
    return _index_of_sites(root, [site]).select(["article_id", "url", "modified_at"])


def stored_index(root: str, site: str | None = None) -> dict[str, dict[str, Any]]:
    """JSON-ready ``article_id -> {url, modified_at (ISO UTC), revision, content_hash}`` of every
    stored article (of one site if given: only that site's index is read), for an incremental crawl
    to skip unchanged pages."""
    table = _index_of_sites(root, [site] if site is not None else None)
    out: dict[str, dict[str, Any]] = {}
    for row in table.select(["article_id", "url", "modified_at", "revision", "content_hash"]).to_pylist():
        modified = row["modified_at"]
        out[row["article_id"]] = {
            "url": row["url"],
            "modified_at": modified.isoformat() if modified is not None else None,
            "revision": row["revision"],
            "content_hash": row["content_hash"],
        }
    return out


def _index_of_sites(root: str, sites: list[str] | None) -> pa.Table:
    """The resolved indexes of these sites (of every site if None), one table."""
    store = storage_for(root)
    # a name that cannot be a site key has no index (e.g. an id without a "<site>:" prefix)
    names = index_sites(store, root) if sites is None else [s for s in sites if is_slug(s) and s != "0"]
    tables = [read_index_table(store, root, name) for name in names]
    return pa.concat_tables(tables) if tables else INDEX_SCHEMA.empty_table()
