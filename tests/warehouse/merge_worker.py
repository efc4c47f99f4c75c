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
    "warehouse.maintenance",
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


def merge_holding_lock(root: str, batch: str, held: Any, release: Any, wait: float = 60.0) -> None:
    """Merge one batch, but once its site's lock is taken signal ``held`` and wait (up to ``wait``
    seconds) for ``release`` before going on: a deliberately slow load. Exits with status 3 if
    ``release`` never came (another load was waiting on this one)."""
    from warehouse import articles
    from warehouse.staging import read_table

    table = read_table(batch)
    original = articles.checkpoint
    outcome = {"released": True}

    def slow_checkpoint(label: str) -> None:
        original(label)
        if label.startswith("lock taken "):
            held.set()
            outcome["released"] = release.wait(wait)

    articles.checkpoint = slow_checkpoint
    articles.merge_articles(root, table, run_id=Path(batch).stem)
    if not outcome["released"]:
        os._exit(3)


def compact_root(root: str, crash_at: int | None = None) -> None:
    """Run ``compact`` (the layout migration), with the crash hook armed at ``crash_at``."""
    from warehouse import storage
    from warehouse.maintenance import compact

    if crash_at is not None:
        os.environ[storage.CRASH_ENV] = str(crash_at)
    compact(root)
