"""The quarantine dataset: rows that failed validation, with the reason, URL and run id.

One file per run and day (``quarantine/date=YYYY-MM-DD/run=<run_id>.parquet``): re-running a run
replaces its own file and never touches another run's.
"""

from __future__ import annotations

import json
import logging
import math
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

from core.schema import QUARANTINE_SCHEMA
from warehouse import paths
from warehouse.storage import conform, parquet_bytes, storage_for

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

#: Quarantine files are written without the articles lock, so only clearly abandoned temporary files
#: (a writer killed mid-write) are swept, never one another run is writing right now.
STALE_TEMP_SECONDS = 3600.0


def _as_json(value: object) -> object:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, float) and math.isnan(value):  # pandas' missing value
        return None
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def quarantine_table(rows: pd.DataFrame | pa.Table, *, run_id: str) -> pa.Table:
    """Rows as ``QUARANTINE_SCHEMA``: ``run_id`` stamped, ``raw`` as JSON text, missing ``stage``
    as "unknown" and missing ``quarantined_at`` as now (bookkeeping only, never used for logic)."""
    if not isinstance(rows, pa.Table):  # a DataFrame
        frame = rows.copy()
        if "raw" in frame.columns:
            frame["raw"] = [_as_json(v) for v in frame["raw"]]
        table = pa.Table.from_pandas(frame, preserve_index=False) if len(frame) else QUARANTINE_SCHEMA.empty_table()
    else:
        table = rows
    n = table.num_rows
    fills = {
        "run_id": pa.array([run_id] * n, pa.string()),
        "stage": pa.array(["unknown"] * n, pa.string()),
        "quarantined_at": pa.array([datetime.now(UTC)] * n, QUARANTINE_SCHEMA.field("quarantined_at").type),
    }
    for name, default in fills.items():
        column = default
        if name in table.column_names:
            column = pc.coalesce(table[name].cast(default.type), default)
            table = table.drop_columns([name])
        table = table.append_column(name, column)
    table = conform(table, QUARANTINE_SCHEMA)
    if table["reason"].null_count:
        raise ValueError("every quarantined row needs a reason")
    return table


def write_quarantine(root: str, rows: pd.DataFrame | pa.Table, *, run_id: str, day: date) -> str | None:
    """Write (or replace) the run's quarantine file; with no rows, remove it and return None."""
    path = paths.quarantine_file(root, day, run_id)
    store = storage_for(root)
    table = quarantine_table(rows, run_id=run_id)
    if table.num_rows == 0:
        store.delete(path)
        return None
    store.write_atomic(path, parquet_bytes(table.combine_chunks()))
    store.sweep_temps(path.rpartition("/")[0], older_than=STALE_TEMP_SECONDS)
    log.info("quarantined %d rows of run %s at %s", table.num_rows, run_id, path)
    return path
