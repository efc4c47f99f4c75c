"""A run's local staging folder (``warehouse.paths.run_dir``): items as JSON Lines, frames as Parquet.

Every write is atomic (temporary sibling + rename), so a retried task never reads a half-written
file left by a killed attempt.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from newsline.schema import ARTICLES_SCHEMA, QUARANTINE_SCHEMA
from warehouse.storage import LocalStorage, conform, parquet_bytes, read_parquet_bytes

if TYPE_CHECKING:
    import pandas as pd

SCHEMAS: dict[str, pa.Schema] = {"articles": ARTICLES_SCHEMA, "quarantine": QUARANTINE_SCHEMA}


def _json_default(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _write(path: str | Path, data: bytes) -> None:
    LocalStorage(str(Path(path).parent)).write_atomic(str(path), data)


def write_jsonl(path: str | Path, records: Iterable[dict[str, Any]]) -> int:
    """Write records as UTF-8 JSON Lines (dates as ISO strings); returns how many were written."""
    lines = [json.dumps(r, ensure_ascii=False, default=_json_default) for r in records]
    _write(path, ("\n".join(lines) + "\n" if lines else "").encode("utf-8"))
    return len(lines)


def read_jsonl(path: str | Path, *, missing_ok: bool = False) -> list[dict[str, Any]]:
    """The records of a JSON Lines file; a missing file raises unless ``missing_ok``."""
    p = Path(path)
    if missing_ok and not p.exists():
        return []
    with p.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def write_table(path: str | Path, table: pa.Table) -> str:
    """Write a table as one zstd Parquet file, atomically; returns the path."""
    _write(path, parquet_bytes(table.combine_chunks()))
    return str(path)


def read_table(path: str | Path) -> pa.Table:
    return read_parquet_bytes(Path(path).read_bytes())


def frame_table(frame: pd.DataFrame | pa.Table, schema: pa.Schema) -> pa.Table:
    """A DataFrame (or table) as exactly ``schema``; an empty input gives an empty table."""
    if not isinstance(frame, pa.Table):  # a DataFrame
        if len(frame) == 0:
            return schema.empty_table()
        frame = pa.Table.from_pandas(frame, preserve_index=False)
    return conform(frame, schema)


def write_frame(path: str | Path, frame: pd.DataFrame | pa.Table, *, kind: str) -> str:
    """Stage a frame under the schema of ``kind`` ("articles" or "quarantine")."""
    try:
        schema = SCHEMAS[kind]
    except KeyError:
        raise ValueError(f"unknown kind {kind!r}; known: {', '.join(SCHEMAS)}") from None
    return write_table(path, frame_table(frame, schema))
