"""The article index: one small row per stored article saying which partition holds it.

A merge must find the stored copy of every incoming ``article_id`` (an update may arrive years after
publication, or move the article to another date/section) without listing and reading the whole
history. The index is a single Parquet file, ``<root>/_index/articles.parquet``, rewritten
atomically *after* the partitions of a merge. It is therefore allowed to lag behind the partitions
(after a crash) but it is never trusted blindly: the merge reads the partitions it points at and
corrects itself from what it finds; ``rebuild_index`` recreates it from the partitions alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import pyarrow as pa

from newsline.schema import UTC_TS
from warehouse import paths
from warehouse.storage import Storage, conform, parquet_bytes, read_parquet_bytes

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
    ]
)

#: Columns of a partition file the index copies.
ENTRY_COLUMNS: tuple[str, ...] = ("article_id", "url", "modified_at", "revision", "fetched_at", "content_hash")

Partition = tuple[date, str]


@dataclass(frozen=True)
class IndexEntry:
    partition: Partition
    url: str | None
    modified_at: datetime | None
    revision: int | None
    fetched_at: datetime | None
    content_hash: str | None


def read_index_table(store: Storage, root: str, dataset: str = paths.ARTICLES) -> pa.Table:
    data = store.read_bytes(paths.index_file(root, dataset))
    if data is None:
        return INDEX_SCHEMA.empty_table()
    return conform(read_parquet_bytes(data), INDEX_SCHEMA)


def load_index(store: Storage, root: str, dataset: str = paths.ARTICLES) -> dict[str, IndexEntry]:
    table = read_index_table(store, root, dataset)
    cols = {name: table[name].to_pylist() for name in INDEX_SCHEMA.names}
    return {
        aid: IndexEntry(
            (cols["date"][i], cols["section"][i]),
            cols["url"][i],
            cols["modified_at"][i],
            cols["revision"][i],
            cols["fetched_at"][i],
            cols["content_hash"][i],
        )
        for i, aid in enumerate(cols["article_id"])
    }


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
        )
        for i, aid in enumerate(cols["article_id"])
    }


def index_table(entries: dict[str, IndexEntry]) -> pa.Table:
    """The index as a table sorted by ``article_id``, so equal contents encode to equal bytes."""
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
        },
        schema=INDEX_SCHEMA,
    )


def write_index(store: Storage, root: str, entries: dict[str, IndexEntry], dataset: str = paths.ARTICLES) -> None:
    store.write_atomic(paths.index_file(root, dataset), parquet_bytes(index_table(entries)))
