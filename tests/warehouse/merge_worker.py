"""Processes that merge staged batches into a warehouse, for the crash and concurrency tests.

They are started from a forkserver that has already imported the warehouse (so a test can afford
dozens of them); each batch's run id is its file stem.
"""

from __future__ import annotations

import multiprocessing
import os
from multiprocessing.context import ForkServerContext
from pathlib import Path
from typing import Any

PRELOAD = [
    "pandas",
    "pyarrow.parquet",
    "s3fs",
    "warehouse.articles",
    "warehouse.s3",
    "warehouse.staging",
    "tests.warehouse.merge_worker",
]


def context() -> ForkServerContext:
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)
    return ctx


def merge_batches(
    root: str,
    batches: list[str],
    crash_at: int | None = None,
    ready: Any = None,
    start: Any = None,
    env: dict[str, str] | None = None,
) -> None:
    """Merge the batches in order; ``crash_at`` arms the storage crash hook; ``ready``/``start`` are
    events to signal that imports and reads are done, and to wait for a common start; ``env`` is set
    first (a forkserver child has the environment the server started with)."""
    os.environ.update(env or {})
    from warehouse import storage
    from warehouse.articles import merge_articles
    from warehouse.staging import read_table

    if crash_at is not None:
        os.environ[storage.CRASH_ENV] = str(crash_at)
    tables = [(Path(b).stem, read_table(b)) for b in batches]
    if ready is not None:
        ready.set()
    if start is not None:
        start.wait(30)
    for run_id, table in tables:
        merge_articles(root, table, run_id=run_id)
