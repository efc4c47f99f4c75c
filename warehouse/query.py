"""SQL over the warehouse with DuckDB: views ``articles``, ``article_revisions`` and ``quarantine``.

The views read the Parquet files in place (Hive partitions, ``date`` typed DATE, ``section`` VARCHAR,
``union_by_name`` so partitions written before a nullable column was added read as NULL). A dataset
with no file yet is an empty view of its schema, so queries never fail on a young warehouse.
"""

from __future__ import annotations

import json
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
    """An in-memory DuckDB connection with the warehouse's datasets as views."""
    con = duckdb.connect()
    store = storage_for(root)
    if root.startswith("s3://"):
        con.register_filesystem(store.fs)  # type: ignore[attr-defined]
    for view, (folder, schema, hive_types) in VIEWS.items():
        base = paths.join(root, folder)
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


def main_query(root: str, sql: str, fmt: str = "table", out: str | None = None) -> str:
    """Run one SQL statement; return it as text ("table", "csv", "json" lines) or write it to ``out``
    ("parquet" needs ``out``). With ``out`` the return value says what was written."""
    con = connect(root)
    relation = con.sql(sql)
    if fmt == "table" and out is None:
        return str(relation)
    if fmt == "parquet":
        if not out:
            raise ValueError("--format parquet needs --out")
        from warehouse.staging import write_table

        table = relation.fetch_arrow_table()
        write_table(out, table)
        return f"wrote {table.num_rows} rows to {out}"
    table = relation.fetch_arrow_table()
    if fmt == "csv":
        text = table.to_pandas().to_csv(index=False)
    elif fmt == "json":
        text = "\n".join(json.dumps(r, ensure_ascii=False, default=str) for r in table.to_pylist())
    elif fmt == "table":
        text = str(relation)
    else:
        raise ValueError(f"unknown format {fmt!r}")
    if out is None:
        return text
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(text + ("" if text.endswith("\n") else "\n"), encoding="utf-8")
    return f"wrote {table.num_rows} rows to {out}"
