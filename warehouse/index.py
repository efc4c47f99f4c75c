"""The article index: one small row per stored article saying which partition holds it.

A merge must find the stored copy of every incoming ``article_id`` (an update may arrive years after
publication, or move the article to another date/section) without listing and reading the whole
history. Each site has its own index (loads of different sites never share a file or a lock): a
base file, ``<root>/_index/<site>/articles.parquet``, plus append-only delta files
``<root>/_index/<site>/articles.delta-<seq>.parquet``: a merge writes only the entries it changed, as one
new delta, so its index write grows with the day and not with the years. Readers apply the deltas
to the base in sequence order (newest wins; a ``deleted`` row removes an entry). Every
``MAX_DELTAS`` merges, or once the deltas hold more than ``DELTA_SHARE`` of the base's rows, a merge
*folds* instead: it writes a new base holding everything (its metadata records the last sequence
number it covers), then deletes the deltas it covers. A crash in between leaves deltas the base
already covers; readers ignore them and the next writer deletes them.

Every index file is written atomically *after* the partitions of a merge. The index may therefore
lag behind the partitions (after a crash) but it is never trusted blindly: the merge reads the
partitions it points at and corrects itself from what it finds; ``rebuild_index`` recreates it from
the partitions alone.

The index also carries ``published_at`` and ``simhash``, so near-duplicate detection finds the
stored articles of the surrounding days without reading their partitions.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from core.schema import UTC_TS
from warehouse import paths
from warehouse.storage import Storage, checkpoint, conform, parquet_bytes, read_parquet_bytes

INDEX_SCHEMA = pa.schema(
    [
        pa.field("article_id", pa.string(), nullable=False),
        pa.field("date", pa.date32(), nullable=False),
        pa.field("section", pa.string(), nullable=False),
        pa.field("url", pa.string()),
        pa.field("modified_at", UTC_TS),
        pa.field("revision", pa.int32()),
        pa.field("fetched_at", UTC_TS),
        pa.field("content_hash", pa.string()),
        pa.field("published_at", UTC_TS),  # null in indexes written before near-duplicate detection
        pa.field("simhash", pa.int64()),
    ]
)

#: A delta row: an entry to set, or (``deleted``) an article_id to forget.
DELTA_SCHEMA = pa.schema([*INDEX_SCHEMA, pa.field("deleted", pa.bool_(), nullable=False)])

#: Columns of a partition file the index copies.
ENTRY_COLUMNS: tuple[str, ...] = (
    "article_id",
    "url",
    "modified_at",
    "revision",
    "fetched_at",
    "content_hash",
    "published_at",
    "simhash",
)

#: The columns of every entry a merge reads (the rest is read only for the entries it touches).
KEY_COLUMNS: tuple[str, ...] = ("article_id", "date", "section", "published_at", "simhash")
KEY_SCHEMA = pa.schema([INDEX_SCHEMA.field(name) for name in KEY_COLUMNS])
#: Rows per row group of the base, the unit of those partial reads.
BASE_ROW_GROUP = 8192

#: Base-file metadata key: the highest delta sequence number the base already contains.
FOLDED_KEY = b"newsline.index.folded_seq"

#: Fold after this many deltas (environment override for tests and tuning).
MAX_DELTAS = 16
MAX_DELTAS_ENV = "NEWSLINE_INDEX_MAX_DELTAS"
#: ...or once the deltas hold more rows than this share of the base.
DELTA_SHARE = 0.05
DELTA_SHARE_ENV = "NEWSLINE_INDEX_DELTA_SHARE"

Partition = tuple[date, str]


@dataclass(frozen=True)
class IndexEntry:
    partition: Partition
    url: str | None
    modified_at: datetime | None
    revision: int | None
    fetched_at: datetime | None
    content_hash: str | None
    published_at: datetime | None = None
    simhash: int | None = None


@dataclass
class IndexState:
    """The index as the base with the deltas applied, newest wins.

    A merge needs few columns of every entry (to look ids up, find a partition's entries, and pick
    near-duplicate candidates) but whole entries only for the handful it touches. So only ``keys``
    (``KEY_COLUMNS`` plus ``_row``: the base row, or ``-1 - i`` for row ``i`` of ``overlay``) is read
    for the whole base; whole base rows are read by row group on demand.
    """

    keys: pa.Table
    overlay: pa.Table = field(default_factory=INDEX_SCHEMA.empty_table)  # live delta rows, last per id
    base: bytes | None = None  # the base file, for on-demand reads
    base_rows: int = 0
    seq: int = 0  # the last sequence number used (base or delta)
    deltas: list[tuple[int, str]] = field(default_factory=list)  # live delta files, oldest first
    delta_rows: int = 0
    obsolete: list[str] = field(default_factory=list)  # delta files the base already covers
    site: str | None = None  # whose index (None: the legacy single-site index)
    dataset: str = paths.ARTICLES

    @classmethod
    def empty(cls) -> IndexState:
        return cls(keys=_keys_of(INDEX_SCHEMA.empty_table(), np.zeros(0, np.int64)))

    @property
    def rows(self) -> int:
        return self.keys.num_rows

    @property
    def table(self) -> pa.Table:
        """The whole resolved index (``INDEX_SCHEMA``): reads the whole base."""
        return self._full(self.keys["_row"].to_numpy())

    def _full(self, rows: np.ndarray) -> pa.Table:
        parts = []
        wanted = np.sort(rows[rows >= 0])
        if len(wanted) and self.base is not None:
            pf = pq.ParquetFile(pa.BufferReader(self.base))
            sizes = [pf.metadata.row_group(g).num_rows for g in range(pf.num_row_groups)]
            starts = np.concatenate([[0], np.cumsum(sizes)])
            group_of = np.searchsorted(starts, wanted, side="right") - 1
            groups = np.unique(group_of)
            chunk = conform(pf.read_row_groups(groups.tolist()), INDEX_SCHEMA)
            offsets = np.concatenate([[0], np.cumsum([sizes[g] for g in groups])])
            local = offsets[np.searchsorted(groups, group_of)] + (wanted - starts[group_of])
            parts.append(chunk.take(pa.array(local, pa.int64())))
        extra = -1 - rows[rows < 0]
        if len(extra):
            parts.append(self.overlay.take(pa.array(np.sort(extra), pa.int64())))
        return pa.concat_tables(parts) if parts else INDEX_SCHEMA.empty_table()

    def entries(self, mask: pa.ChunkedArray | pa.Array) -> dict[str, IndexEntry]:
        return _entries(self._full(self.keys.filter(mask)["_row"].to_numpy()))

    def lookup(self, ids: Iterable[str]) -> dict[str, IndexEntry]:
        """Entries of these article_ids (absent ones are left out); touches only the matching rows."""
        wanted = pa.array(sorted(set(ids)), pa.string())
        return self.entries(pc.is_in(self.keys["article_id"], value_set=wanted))

    def count(self, ids: Iterable[str]) -> int:
        """How many of these article_ids the index holds."""
        wanted = pa.array(sorted(set(ids)), pa.string())
        return int(pc.sum(pc.is_in(self.keys["article_id"], value_set=wanted)).as_py() or 0)

    def in_partitions(self, parts: Iterable[Partition], ids: Iterable[str] = ()) -> dict[str, IndexEntry]:
        """Entries that say they live in one of ``parts``, or whose id is in ``ids``."""
        parts = set(parts)
        days = pa.array(sorted({d for d, _ in parts}), pa.date32())
        sections = pa.array(sorted({s for _, s in parts}), pa.string())
        mask = pc.and_(pc.is_in(self.keys["date"], value_set=days), pc.is_in(self.keys["section"], value_set=sections))
        wanted = sorted(set(ids))
        if wanted:
            mask = pc.or_(mask, pc.is_in(self.keys["article_id"], value_set=pa.array(wanted, pa.string())))
        found = self.entries(mask)
        return {aid: e for aid, e in found.items() if e.partition in parts or aid in ids}


def _entries(table: pa.Table) -> dict[str, IndexEntry]:
    cols = {name: table[name].to_pylist() for name in INDEX_SCHEMA.names}
    return {
        aid: IndexEntry(
            (cols["date"][i], cols["section"][i]),
            cols["url"][i],
            cols["modified_at"][i],
            cols["revision"][i],
            cols["fetched_at"][i],
            cols["content_hash"][i],
            cols["published_at"][i],
            cols["simhash"][i],
        )
        for i, aid in enumerate(cols["article_id"])
    }


def _delta_seq(path: str, dataset: str) -> int | None:
    name = path.rpartition("/")[2]
    prefix, suffix = f"{dataset}.delta-", ".parquet"
    if not (name.startswith(prefix) and name.endswith(suffix)):
        return None
    digits = name[len(prefix) : -len(suffix)]
    return int(digits) if digits.isdecimal() else None


def _keys_of(table: pa.Table, rows: np.ndarray) -> pa.Table:
    keys = conform(table.select([c for c in KEY_COLUMNS if c in table.column_names]), KEY_SCHEMA)
    return keys.append_column("_row", pa.array(rows, pa.int64()))


def read_index_state(store: Storage, root: str, site: str | None, dataset: str = paths.ARTICLES) -> IndexState:
    """A site's index: base (its key columns) plus live deltas. Cost: a few base columns plus the
    small deltas. ``site=None`` reads the legacy single-site index (for the migration)."""
    data = store.read_bytes(paths.index_file(root, site, dataset))
    folded = 0
    if data is None:
        keys = IndexState.empty().keys
    else:
        pf = pq.ParquetFile(pa.BufferReader(data))
        folded = int((pf.schema_arrow.metadata or {}).get(FOLDED_KEY, b"0"))
        raw = pf.read(columns=[c for c in KEY_COLUMNS if c in pf.schema_arrow.names])
        keys = _keys_of(raw, np.arange(raw.num_rows, dtype=np.int64))
    state = IndexState(keys=keys, base=data, base_rows=keys.num_rows, seq=folded, site=site, dataset=dataset)
    found = []
    folder = paths.index_dir(root, site)
    for path in store.list_files(folder):
        if path.rpartition("/")[0] != folder:  # another site's folder (under the legacy _index)
            continue
        seq = _delta_seq(path, dataset)
        if seq is not None:
            found.append((seq, path))
    for seq, path in sorted(found):
        if seq <= folded:
            state.obsolete.append(path)
        else:
            state.deltas.append((seq, path))
            state.seq = max(state.seq, seq)
    blobs = store.read_many([path for _, path in state.deltas])  # at once: up to MAX_DELTAS round trips otherwise
    # a delta missing here was deleted by a concurrent fold: impossible under the lock, harmless outside
    tables = [conform(read_parquet_bytes(blobs[path]), DELTA_SCHEMA) for _, path in state.deltas if path in blobs]
    if not tables:
        return state
    changes = pa.concat_tables(tables)
    state.delta_rows = changes.num_rows
    last: dict[str, int] = {aid: i for i, aid in enumerate(changes["article_id"].to_pylist())}
    changes = changes.take(sorted(last.values()))
    kept = keys.filter(pc.invert(pc.is_in(keys["article_id"], value_set=changes["article_id"])))
    state.overlay = changes.filter(pc.invert(changes["deleted"])).drop_columns(["deleted"]).cast(INDEX_SCHEMA)
    overlay_keys = _keys_of(state.overlay, -1 - np.arange(state.overlay.num_rows, dtype=np.int64))
    state.keys = pa.concat_tables([kept, overlay_keys])
    return state


def read_index_table(store: Storage, root: str, site: str | None, dataset: str = paths.ARTICLES) -> pa.Table:
    """A site's resolved index sorted by ``article_id``."""
    table = read_index_state(store, root, site, dataset).table
    return table.sort_by("article_id") if table.num_rows else table


def entries_of(partition: Partition, table: pa.Table) -> dict[str, IndexEntry]:
    """Index entries for the rows of one partition file."""
    cols = {name: table[name].to_pylist() for name in ENTRY_COLUMNS}
    return {
        aid: IndexEntry(
            partition,
            cols["url"][i],
            cols["modified_at"][i],
            cols["revision"][i],
            cols["fetched_at"][i],
            cols["content_hash"][i],
            cols["published_at"][i],
            cols["simhash"][i],
        )
        for i, aid in enumerate(cols["article_id"])
    }


def index_table(entries: dict[str, IndexEntry]) -> pa.Table:
    """Entries as a table sorted by ``article_id``, so equal contents encode to equal bytes."""
    ids = sorted(entries)
    rows = [entries[a] for a in ids]
    return pa.Table.from_pydict(
        {
            "article_id": ids,
            "date": [e.partition[0] for e in rows],
            "section": [e.partition[1] for e in rows],
            "url": [e.url for e in rows],
            "modified_at": [e.modified_at for e in rows],
            "revision": [e.revision for e in rows],
            "fetched_at": [e.fetched_at for e in rows],
            "content_hash": [e.content_hash for e in rows],
            "published_at": [e.published_at for e in rows],
            "simhash": [e.simhash for e in rows],
        },
        schema=INDEX_SCHEMA,
    )


def _env_number(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


def index_sites(store: Storage, root: str) -> list[str]:
    """The sites that have an index folder (``_index/<site>/``) with at least one file."""
    base = paths.index_dir(root, None)
    found = set()
    for path in store.list_files(base):
        head = path.rpartition("/")[0]
        if head.rpartition("/")[0] == base:
            found.add(head.rpartition("/")[2])
    return sorted(found)


def _write_base(store: Storage, root: str, table: pa.Table, seq: int, state: IndexState) -> None:
    table = table.sort_by("article_id").combine_chunks() if table.num_rows else table
    table = table.replace_schema_metadata({FOLDED_KEY: str(seq).encode()})
    target = paths.index_file(root, state.site, state.dataset)
    store.write_atomic(target, parquet_bytes(table, row_group_size=BASE_ROW_GROUP))
    checkpoint("index base written")


def drop_obsolete_deltas(store: Storage, state: IndexState) -> None:
    """Delete deltas a fold already merged into the base (left by a crash inside a fold)."""
    for path in state.obsolete:
        store.delete(path)
        checkpoint("obsolete index delta deleted")
    state.obsolete = []


def apply_change(
    store: Storage,
    root: str,
    state: IndexState,
    upserts: dict[str, IndexEntry],
    removed: set[str],
) -> int:
    """Record a merge's index change (a delta, or a fold); returns the index's row count after it.

    Nothing changed → nothing is written (a re-run leaves every index file untouched).
    """
    if not upserts and not removed:
        return state.rows
    fresh = index_table(upserts)
    total = state.rows - state.count([*upserts, *removed]) + fresh.num_rows
    seq = state.seq + 1
    change_rows = len(upserts) + len(removed)
    max_deltas = _env_number(MAX_DELTAS_ENV, MAX_DELTAS)
    share = _env_number(DELTA_SHARE_ENV, DELTA_SHARE)
    if len(state.deltas) + 1 > max_deltas or state.delta_rows + change_rows > share * state.base_rows:
        everything = state.table
        changed = pa.array(sorted(set(upserts) | removed), pa.string())
        kept = everything.filter(pc.invert(pc.is_in(everything["article_id"], value_set=changed)))
        _write_base(store, root, pa.concat_tables([kept, fresh]), seq, state)
        for _, path in state.deltas:
            store.delete(path)
            checkpoint("folded index delta deleted")
        return total
    gone = index_table({aid: IndexEntry((date(1970, 1, 1), "deleted"), *[None] * 7) for aid in removed})
    delta = pa.concat_tables([fresh, gone]).sort_by("article_id")
    flags = [aid in removed for aid in delta["article_id"].to_pylist()]
    delta = delta.append_column(DELTA_SCHEMA.field("deleted"), pa.array(flags, pa.bool_()))
    target = paths.index_delta_file(root, state.site, seq, state.dataset)
    store.write_atomic(target, parquet_bytes(delta.combine_chunks()))
    checkpoint("index delta written")
    return total


def replace_index(store: Storage, root: str, state: IndexState, entries: dict[str, IndexEntry]) -> None:
    """Write ``entries`` as the whole index of ``state``'s site (a new base; every delta goes), or
    remove it if empty."""
    if entries:  # the new base covers every delta: deleting them afterwards is only tidying
        _write_base(store, root, index_table(entries), state.seq + 1, state)
    for _, path in state.deltas:
        store.delete(path)
    drop_obsolete_deltas(store, state)
    if not entries:  # deltas first: a crash in between must not leave deltas without their base
        store.delete(paths.index_file(root, state.site, state.dataset))
