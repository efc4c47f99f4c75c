"""Maintenance of the partitioned datasets: ``compact`` migrates the layout and rewrites files without
changing a row.

Why: partitions written by an older schema (before a nullable column was added), with another
compression or row order, or pieced together by many small merges, become files in today's exact
layout. A file that already is what today's code would write is left untouched, so compacting twice
writes nothing the second time.

Migration from the single-site layout (one ``part-0.parquet`` per partition, one global index
``_index/articles*.parquet`` and lock): each ``part-0`` is split by ``site`` into ``part-<site>``
files, then each site's index is built from its files, then the global index goes. Every step is
idempotent and the global index (the marker merges refuse on) is deleted last, so a crash anywhere
followed by a re-run converges; between a crash and the re-run a row may be read twice (its
``part-0`` and its ``part-<site>`` copy), never after compact finishes.

Locks: compact takes the dataset-wide lock (one compact at a time), then the lock of each site it
touches, keeping them to the end. A merge holds a single site lock and waits for no other, so there
is no lock cycle.

Command line: ``python -m warehouse.maintenance ROOT``.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from core.schema import ARTICLES_SCHEMA, file_schema
from warehouse import paths
from warehouse.articles import (
    DEFAULT_LOCK_TIMEOUT,
    ROW_ORDER,
    legacy_index_files,
    rebuild_site_index,
    stored_sites,
)
from warehouse.revisions import REVISIONS_FILE_SCHEMA
from warehouse.revisions import ROW_ORDER as REVISIONS_ROW_ORDER
from warehouse.storage import Storage, checkpoint, conform, parquet_bytes, read_parquet_bytes, storage_for

log = logging.getLogger(__name__)

#: dataset → (file schema, row order, the key a row is identified by within a site's file)
LAYOUTS: dict[str, tuple[pa.Schema, list[tuple[str, str]], tuple[str, ...]]] = {
    paths.ARTICLES: (file_schema(), ROW_ORDER, ("article_id",)),
    paths.REVISIONS: (REVISIONS_FILE_SCHEMA, REVISIONS_ROW_ORDER, ("article_id", "content_hash")),
}


@dataclass(frozen=True)
class CompactResult:
    partitions: int  # site files (part-<site>.parquet) looked at, both datasets
    rewritten: list[str]
    migrated: list[str] = field(default_factory=list)  # legacy part-0 files split into per-site files
    sites_indexed: list[str] = field(default_factory=list)  # sites whose index the migration built


def _files(store: Storage, root: str, dataset: str, *, legacy: bool) -> list[str]:
    """Committed partition files of a dataset: the legacy ``part-0`` ones, or the per-site ones."""
    out = []
    for path in store.list_files(paths.join(root, dataset)):
        head, _, name = path.rpartition("/")
        if paths.parse_partition_dir(head) is None:
            continue
        if (name == paths.LEGACY_PART_FILE) if legacy else (paths.part_site(name) is not None):
            out.append(path)
    return out


def _encode(table: pa.Table, dataset: str) -> bytes:
    schema, order, _ = LAYOUTS[dataset]
    return parquet_bytes(conform(table, schema).sort_by(order).combine_chunks())


def _keys(table: pa.Table, columns: tuple[str, ...]) -> list[tuple[object, ...]]:
    return list(zip(*(table[c].to_pylist() for c in columns), strict=True)) if table.num_rows else []


def _split_legacy_file(store: Storage, root: str, dataset: str, path: str, lock: Callable[[str], None]) -> None:
    """Move the rows of one ``part-0`` file into the ``part-<site>`` files of its partition, then
    delete it. Rows already in a site's file (an earlier, interrupted run) are not added twice."""
    schema, _, key = LAYOUTS[dataset]
    folder = path.rpartition("/")[0]
    data = store.read_bytes(path)
    if data is None:
        return
    table = conform(read_parquet_bytes(data), schema)
    for site in sorted(pc.unique(table["site"]).to_pylist()):
        lock(site)
        target = paths.join(folder, paths.part_name(site))
        store.sweep_temps(folder, target=paths.part_name(site))
        mine = table.filter(pc.equal(table["site"], site))
        existing = store.read_bytes(target)
        if existing is not None:
            stored = conform(read_parquet_bytes(existing), schema)
            have = set(_keys(stored, key))
            fresh = [i for i, k in enumerate(_keys(mine, key)) if k not in have]
            mine = pa.concat_tables([stored, mine.take(pa.array(fresh, pa.int64()))])
        encoded = _encode(mine, dataset)
        if encoded != existing:
            store.write_atomic(target, encoded)
        checkpoint(f"migrated {site} rows of {path}")
    store.delete(path)
    checkpoint(f"legacy file {path} deleted")


def _split_legacy_journal(store: Storage, root: str, lock: Callable[[str], None]) -> None:
    """A crashed single-site merge left a journal: hand each site its rows, as that site's journal
    (replayed when its index is built). The legacy journal itself goes with the legacy index."""
    data = store.read_bytes(paths.journal_file(root, None))
    if data is None:
        return
    pending = conform(read_parquet_bytes(data), ARTICLES_SCHEMA)
    for site in sorted(pc.unique(pending["site"]).to_pylist()):
        lock(site)
        rows = pending.filter(pc.equal(pending["site"], site))
        store.write_atomic(paths.journal_file(root, site), parquet_bytes(rows.combine_chunks()))
        checkpoint(f"legacy journal rows of {site} handed over")


def compact(root: str, *, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> CompactResult:
    """Migrate a single-site-layout warehouse to per-site files (see the module docstring), then
    rewrite every partition file of ``articles`` and ``article_revisions`` in the current schema,
    compression and row order; rows (values, ``schema_version`` included) stay exactly as they are."""
    store = storage_for(root)
    rewritten: list[str] = []
    migrated: list[str] = []
    indexed: list[str] = []
    count = 0
    with contextlib.ExitStack() as held:
        held.enter_context(store.lock(paths.lock_file(root, None), lock_timeout))
        locked: set[str] = set()

        def lock(site: str) -> None:
            if site not in locked:
                held.enter_context(store.lock(paths.lock_file(root, site), lock_timeout))
                locked.add(site)

        legacy_index = legacy_index_files(store, root)
        legacy_parts = [(d, p) for d in LAYOUTS for p in _files(store, root, d, legacy=True)]
        if legacy_index or legacy_parts:
            log.warning("migrating %s to per-site files: %d legacy partition files", root, len(legacy_parts))
            store.sweep_temps(paths.index_dir(root, None))
            _split_legacy_journal(store, root, lock)
            for dataset, path in legacy_parts:
                _split_legacy_file(store, root, dataset, path, lock)
                migrated.append(path)
            for site in stored_sites(store, root):
                lock(site)
                rebuild_site_index(store, root, site)
                indexed.append(site)
                checkpoint(f"index of {site} built")
            # the legacy index last: while any of it is left, merges refuse and a re-run redoes the above
            journal = paths.journal_file(root, None)
            for path in sorted(legacy_index_files(store, root), key=lambda p: (p == journal, ".delta-" not in p, p)):
                store.delete(path)
                checkpoint(f"legacy index file {path} deleted")

        for dataset in LAYOUTS:
            for path in _files(store, root, dataset, legacy=False):
                count += 1
                folder, _, name = path.rpartition("/")
                site = paths.part_site(name)
                assert site is not None
                lock(site)
                store.sweep_temps(folder, target=name)
                data = store.read_bytes(path)
                if data is None:
                    continue
                schema = LAYOUTS[dataset][0]
                fresh = _encode(conform(read_parquet_bytes(data), schema), dataset)
                if fresh != data:
                    store.write_atomic(path, fresh)
                    rewritten.append(path)
    log.info("compacted %s: %d partition files, %d rewritten, %d migrated", root, count, len(rewritten), len(migrated))
    return CompactResult(partitions=count, rewritten=rewritten, migrated=migrated, sites_indexed=indexed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m warehouse.maintenance", description=compact.__doc__)
    parser.add_argument("root", help="warehouse root (a local path or s3://bucket/prefix)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        result = compact(args.root)
    except (OSError, ValueError) as exc:
        print(f"newsline: error: {exc}", file=sys.stderr)
        return 2
    print(f"{args.root}: {len(result.migrated)} legacy files migrated, sites indexed: "
          f"{', '.join(result.sites_indexed) or '-'}; {result.partitions} partition files, "
          f"{len(result.rewritten)} rewritten")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
