"""A DuckDB database file holding the warehouse's views, for the DuckDB CLI, DBeaver, Metabase, …

    newsline query --export-db                 # <warehouse>/_duckdb/newsline.duckdb
    newsline query --export-db ~/newsline.duckdb
    duckdb -readonly data/warehouse/_duckdb/newsline.duckdb -c "SELECT date, count(*) FROM articles GROUP BY 1"

The file holds only view definitions (``articles``, ``article_revisions``, ``quarantine``) over the
Parquet files by absolute path (no data is copied): it stays current as days are added. A
dataset that had no file when the database was written is an empty typed view until the next
export. Timestamps are stored in UTC; a client shows them in its session time zone
(``SET TimeZone = 'UTC'`` to see them as stored).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import duckdb

from warehouse import paths
from warehouse.query import check_warehouse, view_statements


def export_database(root: str, path: str | None = None) -> str:
    """Write (or replace, atomically) the database file of ``root``'s views; return its path.

    Default path: ``<root>/_duckdb/newsline.duckdb`` (a local warehouse only). For an ``s3://``
    warehouse give a local ``path``; its views read ``s3://`` URLs, so the client needs the
    ``httpfs`` extension and an S3 secret (``CREATE SECRET (TYPE s3, …)``).
    """
    check_warehouse(root)
    remote = root.startswith("s3://")
    if path is None:
        if remote:
            raise ValueError("give a local file for the database of an s3:// warehouse: --export-db PATH")
        path = paths.duckdb_file(root[len("file://"):] if root.startswith("file://") else root)
    absolute = root if remote else os.path.abspath(root[len("file://"):] if root.startswith("file://") else root)
    target = Path(path).expanduser()
    if target.is_dir():
        raise ValueError(f"{target} is a directory; give the database file's path")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        con = duckdb.connect(str(tmp))
        try:
            if remote:
                from warehouse.storage import storage_for

                con.register_filesystem(storage_for(root).fs)  # type: ignore[attr-defined]
            for statement in view_statements(absolute):
                con.execute(statement)
        finally:
            con.close()
        os.replace(tmp, target)
    finally:
        for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
            leftover.unlink(missing_ok=True)
    return str(target)
