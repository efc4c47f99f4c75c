"""Maintenance of the partitioned datasets: ``compact`` rewrites files without changing a row.

Why: partitions written by an older schema (before a nullable column was added), with another
compression or row order, or pieced together by many small merges, become files in today's exact
layout. A partition whose file already is what today's code would write is left untouched, so
compacting twice writes nothing the second time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import pyarrow as pa

from newsline.schema import file_schema
from warehouse import paths
from warehouse.articles import DEFAULT_LOCK_TIMEOUT, ROW_ORDER
from warehouse.revisions import REVISIONS_FILE_SCHEMA
from warehouse.revisions import ROW_ORDER as REVISIONS_ROW_ORDER
from warehouse.storage import Storage, conform, parquet_bytes, read_parquet_bytes, storage_for

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CompactResult:
    partitions: int
    rewritten: list[str]


def _partition_files(store: Storage, root: str, dataset: str) -> list[str]:
    files = []
    for path in store.list_files(paths.join(root, dataset)):
        head, _, name = path.rpartition("/")
        if name == paths.PART_FILE and paths.parse_partition_dir(head) is not None:
            files.append(path)
    return files


def compact(root: str, *, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> CompactResult:
    """Rewrite every partition file of ``articles`` and ``article_revisions`` in the current schema,
    compression and row order; rows (values, ``schema_version`` included) stay exactly as they are."""
    store = storage_for(root)
    layouts: list[tuple[str, pa.Schema, list[tuple[str, str]]]] = [
        (paths.ARTICLES, file_schema(), ROW_ORDER),
        (paths.REVISIONS, REVISIONS_FILE_SCHEMA, REVISIONS_ROW_ORDER),
    ]
    rewritten: list[str] = []
    count = 0
    with store.lock(paths.lock_file(root), lock_timeout):
        for dataset, schema, order in layouts:
            for path in _partition_files(store, root, dataset):
                count += 1
                store.sweep_temps(path.rpartition("/")[0])
                data = store.read_bytes(path)
                if data is None:
                    continue
                table = conform(read_parquet_bytes(data), schema)
                fresh = parquet_bytes(table.sort_by(order).combine_chunks())
                if fresh != data:
                    store.write_atomic(path, fresh)
                    rewritten.append(path)
    log.info("compacted %s: %d partitions, %d rewritten", root, count, len(rewritten))
    return CompactResult(partitions=count, rewritten=rewritten)
