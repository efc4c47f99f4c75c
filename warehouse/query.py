"""SQL over the warehouse with DuckDB: views ``articles``, ``article_revisions`` and ``quarantine``.

The views read the Parquet files in place (Hive partitions, ``date`` typed DATE, ``section`` VARCHAR,
``union_by_name`` so partitions written before a nullable column was added read as NULL). A dataset
with no file yet is an empty view of its schema, so queries never fail on a young warehouse.
"""

from __future__ import annotations

import io
import json
import os
import uuid
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa

from newsline.schema import ARTICLES_SCHEMA, QUARANTINE_SCHEMA
from warehouse import paths
from warehouse.revisions import REVISIONS_SCHEMA
from warehouse.storage import storage_for

QUARANTINE_VIEW_SCHEMA = pa.schema([*QUARANTINE_SCHEMA, pa.field("date", pa.date32())])

VIEWS: dict[str, tuple[str, pa.Schema, str]] = {
    # view name -> (dataset folder, schema when empty, hive types)
    "articles": (paths.ARTICLES, ARTICLES_SCHEMA, "{'date': 'DATE', 'section': 'VARCHAR'}"),
    "article_revisions": (paths.REVISIONS, REVISIONS_SCHEMA, "{'date': 'DATE', 'section': 'VARCHAR'}"),
    "quarantine": (paths.QUARANTINE, QUARANTINE_VIEW_SCHEMA, "{'date': 'DATE'}"),
}


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def connect(root: str) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with the warehouse's datasets as views.

    The session time zone is UTC, the zone the timestamps are stored in: results (and casts of
    timestamps to dates) are the same on every machine, whatever its local zone.
    """
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    store = storage_for(root)
    if root.startswith("s3://"):
        con.register_filesystem(store.fs)  # type: ignore[attr-defined]
    for view, (folder, schema, hive_types) in VIEWS.items():
        base = paths.join(_local(root), folder)
        has_files = any(
            p.endswith(".parquet") and not paths.is_temp_name(p.rpartition("/")[2]) for p in store.list_files(base)
        )
        if has_files:
            con.execute(
                f"CREATE VIEW {view} AS SELECT * FROM read_parquet({_quote(base + '/**/*.parquet')}, "
                f"hive_partitioning = true, hive_types = {hive_types}, union_by_name = true)"
            )
        else:
            con.register(f"_empty_{view}", schema.empty_table())
            con.execute(f"CREATE VIEW {view} AS SELECT * FROM _empty_{view}")
    return con


FORMATS = ("table", "csv", "json", "parquet")


class QueryError(ValueError):
    """The SQL failed (syntax, unknown table or column, …): a user error, reported without a traceback."""


def _local(root: str) -> str:
    """DuckDB globs plain paths; ``file://`` roots become one."""
    return root[len("file://") :] if root.startswith("file://") else root


def _jsonable(value: object) -> object:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _csv_text(table: pa.Table) -> str:
    """CSV with lists/structs as JSON text, so a spreadsheet or ``json.loads`` can read them back."""
    frame = table.to_pandas()
    for field in table.schema:
        if pa.types.is_nested(field.type):
            frame[field.name] = [
                None if v is None else json.dumps(v, ensure_ascii=False, default=_jsonable)
                for v in table.column(field.name).to_pylist()
            ]
    buf = io.StringIO()
    frame.to_csv(buf, index=False, lineterminator="\n")
    return buf.getvalue()


def _json_text(table: pa.Table) -> str:
    """JSON Lines: one object per row, timestamps as ISO 8601 (UTC offset kept)."""
    return "\n".join(json.dumps(r, ensure_ascii=False, default=_jsonable) for r in table.to_pylist())


def run_query(root: str, sql: str, fmt: str = "table", out: str | None = None) -> str | None:
    """Run one SQL statement over the views; return the result as text, or write it to ``out`` and
    return None. ``fmt``: ``table`` (DuckDB's box rendering), ``csv``, ``json`` (JSON Lines) or
    ``parquet`` (needs ``out``)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    if fmt == "parquet" and not out:
        raise ValueError("--format parquet needs --out")
    con = connect(root)
    try:
        try:
            relation = con.sql(sql)
            if relation is None:
                raise ValueError("the statement returned no result set; only queries (SELECT …) can be printed")
            if fmt == "table" and out is None:
                return str(relation).rstrip("\n")
            table = relation.to_arrow_table()
        except duckdb.Error as exc:
            raise QueryError(f"{type(exc).__name__}: {exc}") from exc
        if fmt == "parquet":
            from warehouse.staging import write_table

            write_table(out, table)  # type: ignore[arg-type]
            return None
        if fmt == "csv":
            text = _csv_text(table)
        elif fmt == "json":
            text = _json_text(table)
        else:
            text = str(relation).rstrip("\n")
    finally:
        con.close()
    if out is None:
        return text
    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_text(text if text.endswith("\n") or not text else text + "\n", encoding="utf-8")
    os.replace(tmp, target)
    return None


def main_query(root: str, sql: str, fmt: str = "table", out: str | None = None) -> str:
    """The ``newsline query`` command: the result text, or with ``out`` a line saying what was written."""
    text = run_query(root, sql, fmt, out)
    if out is None:
        return text or ""
    rows = _count_rows(out, fmt)
    return f"wrote {rows} rows to {out}" if rows is not None else f"wrote {out}"


def _count_rows(out: str, fmt: str) -> int | None:
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(out).metadata.num_rows)
    if fmt == "json":
        return sum(1 for line in Path(out).read_text(encoding="utf-8").splitlines() if line)
    if fmt == "csv":
        import csv

        with open(out, encoding="utf-8", newline="") as fh:
            return max(sum(1 for _ in csv.reader(fh)) - 1, 0)
    return None
