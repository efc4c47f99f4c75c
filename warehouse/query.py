"""SQL over the warehouse with DuckDB: views ``articles``, ``article_revisions`` and ``quarantine``.

The views read the Parquet files in place (Hive partitions, ``date`` typed DATE, ``section`` VARCHAR,
``union_by_name`` so partitions written before a nullable column was added read as NULL). A dataset
with no file yet is an empty view of its schema, so queries never fail on a young warehouse.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import os
import tempfile
import uuid
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa

from core.schema import ARTICLES_SCHEMA, QUARANTINE_SCHEMA
from warehouse import paths
from warehouse.revisions import REVISIONS_SCHEMA
from warehouse.storage import Storage, storage_for

QUARANTINE_VIEW_SCHEMA = pa.schema([*QUARANTINE_SCHEMA, pa.field("date", pa.date32())])

VIEWS: dict[str, tuple[str, pa.Schema, str]] = {
    # view name -> (dataset folder, schema when empty, hive types)
    "articles": (paths.ARTICLES, ARTICLES_SCHEMA, "{'date': 'DATE', 'section': 'VARCHAR'}"),
    "article_revisions": (paths.REVISIONS, REVISIONS_SCHEMA, "{'date': 'DATE', 'section': 'VARCHAR'}"),
    "quarantine": (paths.QUARANTINE, QUARANTINE_VIEW_SCHEMA, "{'date': 'DATE'}"),
}


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class WarehouseError(ValueError):
    """The warehouse root does not exist, is not a folder, or cannot be reached: a user error."""


def check_warehouse(root: str) -> None:
    """Raise ``WarehouseError`` unless ``root`` is a readable warehouse folder (or a reachable
    ``s3://`` prefix holding something), so readers fail with a reason instead of showing an
    empty warehouse."""
    if root.startswith("s3://"):
        store = storage_for(root)
        try:
            found = store.list_files(root)
        except Exception as exc:  # botocore/s3fs/aiohttp errors have no common base but Exception
            raise WarehouseError(f"warehouse {root} cannot be reached: {_one_line(exc)}") from exc
        if not found:
            raise WarehouseError(f"warehouse {root} does not exist (nothing is stored under it)")
        return
    if paths.is_remote(root):
        raise WarehouseError(f"unsupported warehouse URI {root!r}: use a local path or s3://bucket/prefix")
    local = Path(_local(root))
    if not local.exists():
        raise WarehouseError(f"warehouse {root} does not exist")
    if not local.is_dir():
        raise WarehouseError(f"warehouse {root} is not a directory")
    if not os.access(local, os.R_OK | os.X_OK):
        raise WarehouseError(f"warehouse {root} is not readable")


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def view_statements(root: str, window: Window | None = None) -> list[str]:
    """``CREATE VIEW`` statements of the three views: over the Parquet files in place, or, for a
    dataset with no file yet, an empty view of its schema (typed NULL columns, no rows).

    With a ``window``, each dataset is instead read once into a table of that window's files only
    (their ``date=`` folder within it and, for a per-site part file, its site)."""
    store = storage_for(root)
    statements = []
    for view, (folder, schema, hive_types) in VIEWS.items():
        base = paths.join(_local(root), folder)
        files = _dataset_files(store, base, window)
        options = f"hive_partitioning = true, hive_types = {hive_types}, union_by_name = true"
        if files and window is not None:
            listed = ", ".join(_quote(p) for p in files)
            statements.append(f"CREATE TABLE {view} AS SELECT * FROM read_parquet([{listed}], {options})")
        elif files:
            statements.append(f"CREATE VIEW {view} AS SELECT * FROM read_parquet({_quote(base + '/**/*.parquet')}, "
                              f"{options})")
        else:
            columns = ", ".join(f'CAST(NULL AS {sql_type}) AS "{name}"' for name, sql_type in _sql_types(schema))
            statements.append(f"CREATE VIEW {view} AS SELECT {columns} WHERE false")
    return statements


def _dataset_files(store: Storage, base: str, window: Window | None) -> list[str]:
    """The Parquet files of one dataset folder (no writer's temporary file), those of ``window`` only."""
    return [p for p in store.list_files(base) if p.endswith(".parquet")
            and not paths.is_temp_name(p.rpartition("/")[2]) and (window is None or window.holds(p))]


@dataclasses.dataclass(frozen=True)
class Window:
    """The days (inclusive) and, optionally, the one site a connection needs to see."""

    start: date
    end: date
    site: str | None = None

    def holds(self, path: str) -> bool:
        day = paths.file_day(path)
        if day is None or not self.start <= day <= self.end:
            return False
        owner = paths.part_site(path.rpartition("/")[2])  # quarantine files (run=<id>.parquet) name no site
        return self.site is None or owner is None or owner == self.site


def _sql_types(schema: pa.Schema) -> list[tuple[str, str]]:
    """DuckDB's name for each column type of an Arrow schema."""
    scratch = duckdb.connect()
    try:
        scratch.register("_schema", schema.empty_table())
        return [(str(r[0]), str(r[1])) for r in scratch.execute("DESCRIBE SELECT * FROM _schema").fetchall()]
    finally:
        scratch.close()


def connect(root: str, window: Window | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with the warehouse's datasets as views, for trusted SQL (the
    report, quality checks, notebooks). ``newsline query`` uses ``sandboxed`` instead.

    The session time zone is UTC, the zone the timestamps are stored in: results (and casts of
    timestamps to dates) are the same on every machine, whatever its local zone.

    ``window``: the datasets hold only those days (and that site), read once. A view over the whole
    warehouse reads every file's footer again for each query (``union_by_name``), which on S3 goes
    through s3fs in Python: a day's quality check and report (10 queries) took 8–38 s on the
    10-site-day cluster demo, and would grow with the warehouse.
    """
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    if window is not None and paths.is_remote(root):
        # DuckDB would read each object through s3fs in Python, several small requests per file (its
        # details, its modification time, then ranges): ~5 round trips a file, one after another.
        # Fetched whole and at once instead (one GET each), then read from a local copy of the layout.
        with tempfile.TemporaryDirectory(prefix="newsline-window-") as local:
            _copy_window(root, window, local)
            for statement in view_statements(local, window):
                con.execute(statement)  # CREATE TABLE: the rows are in DuckDB before the copy goes
        return con
    if root.startswith("s3://"):
        con.register_filesystem(storage_for(root).fs)  # type: ignore[attr-defined]
    for statement in view_statements(root, window):
        con.execute(statement)
    return con


@contextlib.contextmanager
def connection(root: str, window: Window, con: duckdb.DuckDBPyConnection | None = None
               ) -> Iterator[duckdb.DuckDBPyConnection]:
    """``con`` when the caller shares one (its window must hold ``window``), else a connection of
    ``window`` of its own, closed at the end of the block."""
    if con is not None:
        yield con
        return
    own = connect(root, window)
    try:
        yield own
    finally:
        own.close()


def _copy_window(root: str, window: Window, dest: str) -> None:
    """The window's files of every dataset under ``root`` copied into ``dest``, same relative paths."""
    store = storage_for(root)
    prefix = root.rstrip("/") + "/"
    wanted = [p for folder, _, _ in VIEWS.values() for p in _dataset_files(store, paths.join(root, folder), window)]
    found = store.read_many(wanted)
    if len(found) != len(wanted):  # deleted between the listing and the read: a concurrent rewrite
        missing = sorted(set(wanted) - set(found))
        raise WarehouseError(f"{len(missing)} file(s) of the warehouse vanished while being read "
                             f"(a load replaced them): {missing[0]}; run the query again")
    for path, data in found.items():
        target = Path(dest, path[len(prefix):])
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


#: Statement types a sandboxed query may run: reading only (``DESCRIBE``/``SHOW``/``SUMMARIZE`` are SELECTs).
READ_STATEMENTS = ("SELECT", "EXPLAIN")


@contextlib.contextmanager
def sandboxed(root: str) -> Iterator[duckdb.DuckDBPyConnection]:
    """A DuckDB connection for untrusted SQL over the warehouse's views.

    The views live in a throw-away database file opened **read-only** (no ``CREATE``/``DROP``/
    ``INSERT``, no ``ATTACH`` of an in-memory database); file access is limited to the warehouse root
    (``allowed_directories``, then ``enable_external_access = false``: no ``read_csv`` of other files,
    no ``COPY``/``EXPORT`` elsewhere, no ``ATTACH`` of a file, no ``INSTALL``); extensions are neither
    installed nor loaded on demand; and ``lock_configuration`` refuses every later ``SET``. Checked
    against duckdb 2.0's settings (``duckdb_settings()``).
    """
    check_warehouse(root)
    with tempfile.TemporaryDirectory(prefix="newsline-query-") as scratch:
        db = os.path.join(scratch, "views.duckdb")
        builder = duckdb.connect(db)
        try:
            if root.startswith("s3://"):
                builder.register_filesystem(storage_for(root).fs)  # type: ignore[attr-defined]
            for statement in view_statements(root):
                builder.execute(statement)
        finally:
            builder.close()
        con = duckdb.connect(db, read_only=True, config={
            "autoinstall_known_extensions": False, "autoload_known_extensions": False})
        try:
            con.execute("SET TimeZone = 'UTC'")
            if root.startswith("s3://"):
                con.register_filesystem(storage_for(root).fs)  # type: ignore[attr-defined]
            allowed = _local(root).rstrip("/") + "/"
            if not allowed.startswith("s3://"):
                allowed = os.path.realpath(allowed) + "/"
            con.execute(f"SET allowed_directories = [{_quote(allowed)}]")
            con.execute("SET enable_external_access = false")
            con.execute("SET lock_configuration = true")
            yield con
        finally:
            con.close()


def _check_statement(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    """One statement that only reads, or a ``QueryError`` saying why not."""
    try:
        statements = con.extract_statements(sql)
    except duckdb.Error as exc:
        raise QueryError(_one_line(exc)) from exc
    if len(statements) != 1:
        raise QueryError(f"give exactly one SQL statement (got {len(statements)})")
    kind = getattr(statements[0].type, "name", str(statements[0].type))
    if kind not in READ_STATEMENTS:
        raise QueryError(f"only queries can run here (SELECT, DESCRIBE, SHOW, SUMMARIZE, EXPLAIN), not {kind}: "
                         "the warehouse is opened read-only")


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


#: Rows ``table`` shows when no ``max_rows`` is given (CSV, JSON and Parquet give every row).
TABLE_ROWS = 20
#: The most rows DuckDB's box renderer draws; more need ``csv``/``json``.
_BOX_LIMIT = 10000


def run_query(
    root: str, sql: str, fmt: str = "table", out: str | None = None, max_rows: int | None = None
) -> str | None:
    """Run one read-only SQL statement over the views (in ``sandboxed``); return the result as text,
    or write it to ``out`` and return None. ``fmt``: ``table`` (DuckDB's box rendering), ``csv``,
    ``json`` (JSON Lines) or ``parquet`` (needs ``out``). ``max_rows``: the most rows output, 0 for
    all; default all, except ``table`` which shows ``TABLE_ROWS`` and says how to see the rest."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    if fmt == "parquet" and not out:
        raise ValueError("--format parquet needs --out")
    if max_rows is not None and max_rows < 0:
        raise ValueError(f"--max-rows must be 0 (all rows) or more, got {max_rows}")
    limit = (TABLE_ROWS if fmt == "table" and out is None else 0) if max_rows is None else max_rows
    if fmt == "table" and (limit == 0 or limit > _BOX_LIMIT):
        limit = _BOX_LIMIT
    with sandboxed(root) as con:
        _check_statement(con, sql)
        try:
            relation = con.sql(sql)
            if relation is None:
                raise QueryError("the statement returned no result set; only queries (SELECT …) can be printed")
            table = (relation.limit(limit + 1) if limit else relation).to_arrow_table()
        except duckdb.Error as exc:
            raise QueryError(_one_line(exc)) from exc
    more = bool(limit) and table.num_rows > limit
    if more:
        table = table.slice(0, limit)
    if fmt == "parquet":
        from warehouse.staging import write_table

        write_table(os.path.abspath(out), table)  # type: ignore[arg-type]  # a bare file name has no folder to make
        return None
    if fmt == "csv":
        text = _csv_text(table)
    elif fmt == "json":
        text = _json_text(table)
    else:
        text = _box(table)
        if more and limit == _BOX_LIMIT and limit != max_rows:  # the user asked for all, or for more
            text += f"\nmore than {limit} rows: a table shows at most {_BOX_LIMIT}; --format csv or json prints every row"
        elif more:
            text += (f"\nmore than {limit} rows: the first {limit} are shown "
                     "(--max-rows 0 shows all; --format csv or json prints every row)")
    if out is None:
        return text
    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_text(text if text.endswith("\n") or not text else text + "\n", encoding="utf-8")
    os.replace(tmp, target)
    return None


def _box(table: pa.Table) -> str:
    """DuckDB's box rendering of every row of ``table`` (in UTC), on a scratch connection."""
    scratch = duckdb.connect()
    try:
        scratch.execute("SET TimeZone = 'UTC'")
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            scratch.from_arrow(table).show(max_rows=max(table.num_rows, 1))
        return buf.getvalue().rstrip("\n")
    finally:
        scratch.close()


def main_query(
    root: str, sql: str, fmt: str = "table", out: str | None = None, max_rows: int | None = None
) -> str:
    """The ``newsline query`` command: the result text, or with ``out`` a line saying what was written."""
    text = run_query(root, sql, fmt, out, max_rows)
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
