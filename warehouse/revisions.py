"""The ``article_revisions`` dataset: every distinct version of every article ever loaded.

A version is identified by ``(article_id, content_hash)``; the first observation of it is kept
(earliest ``fetched_at``), so re-loading a day adds nothing and leaves the files untouched. A version
lives in the partition of its own date/section, in its site's file (``part-<site>.parquet``, written
under that site's lock like the site's articles), so finding whether it is already stored means
reading only the incoming rows' partitions. The articles merge calls ``merge_revisions`` under its
lock, *before* it journals the article changes: once a journal exists, the batch's revisions are
complete.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from core.schema import ARTICLES_SCHEMA, PARTITION_COLUMNS
from warehouse import paths
from warehouse.storage import Storage, conform, parquet_bytes, read_tables

#: The articles columns that describe one version (table-level bookkeeping left out).
REVISIONS_SCHEMA = pa.schema(
    [f for f in ARTICLES_SCHEMA if f.name not in ("first_seen_at", "near_duplicate_of")],
    metadata=ARTICLES_SCHEMA.metadata,
)
REVISIONS_FILE_SCHEMA = pa.schema(
    [f for f in REVISIONS_SCHEMA if f.name not in PARTITION_COLUMNS], metadata=REVISIONS_SCHEMA.metadata
)
ROW_ORDER = [
    ("article_id", "ascending"),
    ("modified_at", "ascending"),
    ("revision", "ascending"),
    ("fetched_at", "ascending"),
    ("content_hash", "ascending"),
]

Partition = tuple[Any, str]


def _file(root: str, part: Partition, site: str) -> str:
    return paths.partition_file(root, paths.REVISIONS, part[0], part[1], site)


def encode_revisions(table: pa.Table) -> bytes:
    return parquet_bytes(table.sort_by(ROW_ORDER).combine_chunks())


def merge_revisions(store: Storage, root: str, incoming: pa.Table, site: str) -> tuple[int, list[str]]:
    """Add the versions not stored yet; returns (versions added, partitions written).

    ``incoming`` is an ``ARTICLES_SCHEMA`` table of ``site``'s rows whose partition values were
    already validated; call it holding the site's lock.
    """
    keys = incoming.select(["article_id", "content_hash", "fetched_at", "run_id", "date", "section"]).to_pylist()
    first: dict[tuple[str, str], int] = {}
    for i, row in enumerate(keys):
        key = (row["article_id"], row["content_hash"])
        seen = first.get(key)
        if seen is None or (row["fetched_at"], row["run_id"]) < (keys[seen]["fetched_at"], keys[seen]["run_id"]):
            first[key] = i
    by_part: dict[Partition, list[int]] = defaultdict(list)
    for i in first.values():
        by_part[(keys[i]["date"], keys[i]["section"])].append(i)

    added = 0
    written: list[str] = []
    files: dict[str, bytes] = {}
    stored_tables = read_tables(store, {part: _file(root, part, site) for part in sorted(by_part)}, REVISIONS_FILE_SCHEMA)
    for part, stored in stored_tables.items():
        stored_keys = set(zip(stored["article_id"].to_pylist(), stored["content_hash"].to_pylist(), strict=True))
        fresh = sorted(i for i in by_part[part] if (keys[i]["article_id"], keys[i]["content_hash"]) not in stored_keys)
        if not fresh:
            continue
        rows = conform(incoming.take(fresh).select(REVISIONS_FILE_SCHEMA.names), REVISIONS_FILE_SCHEMA)
        store.sweep_temps(paths.partition_dir(root, paths.REVISIONS, part[0], part[1]), target=paths.part_name(site))
        files[_file(root, part, site)] = encode_revisions(pa.concat_tables([stored, rows]))
        added += len(fresh)
        written.append(paths.partition_dir(root, paths.REVISIONS, part[0], part[1]))
    store.write_many(files)
    return added, written


def versions_of(table: pa.Table, article_id: str) -> pa.Table:
    """The stored versions of one article, oldest first (a convenience for analysts and tests)."""
    return table.filter(pc.equal(table["article_id"], article_id)).sort_by(ROW_ORDER)
