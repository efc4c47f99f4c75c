"""Merge clean articles into ``<root>/articles/date=YYYY-MM-DD/section=<slug>/part-<site>.parquet``.

The storage invariants of architecture.md, and how this module keeps them:

* sites are independent: each has its own file in every partition (``part-<site>.parquet``), its own
  index, journal and writer lock (``_index/<site>/``, ``_locks/<site>/``). A batch is split by
  ``site`` and each site is merged under its own lock only, so loads of different sites run side by
  side and a failed load of one site never writes a byte of another's. Everything below is per site;
* one file per partition and site with a fixed name, replaced atomically (``storage.write_atomic``),
  so a reader sees each file before or after a merge, never half of it or two versions of it;
* ``article_id`` unique across the table, the latest version kept by ``(modified_at, revision,
  fetched_at)`` (then ``content_hash``, only to make ties deterministic);
* an id belongs to one page: an incoming row with a stored id but another URL *and* another body is
  another page carrying the same post id (the same-day rule of ``transforms.articles``, across days),
  unless both URLs carry the id (the site's ``article_url`` ``id`` group: the article moved, e.g. to
  another section, and was revised). The page whose own URL carries the id keeps it, else the one
  stored first; the other is returned in ``LoadResult.collisions`` as an ``id_collision`` row for
  the run's quarantine, never silently merged;
* an incoming row with the stored ``content_hash`` changes nothing, and a partition whose rows did
  not change is not rewritten, so re-running a day leaves the files untouched;
* one writer per site at a time: the site's whole read-modify-write runs under its exclusive lock;
* crash safety across partitions: before touching any partition the merge saves the resolved rows it
  is about to apply (``first_seen_at`` settled) in a journal, ``_index/<site>/articles.pending.parquet``.
  A merge (or ``rebuild_index``) that finds a journal re-applies it first; merging is idempotent, so
  a crash at any point converges on the next merge. Each partition file is written once per merge,
  straight to its final state; as the journal covers any subset of them, a merge reads, checks and
  writes its partitions all at once (``Storage.read_many`` / ``existing`` / ``write_many``: on S3
  one round trip for all of them instead of one per file). Between two partition commits (and after
  a crash there, until the journal is replayed) an article being *moved* to another partition can be
  seen in both, or, when two partitions swap articles, in neither; every other article is always
  exactly once.

The index (``warehouse.index``) finds the stored copy of an article without listing the history;
its change (a small delta file, or now and then a fold into a new base) is written last and verified
against the partitions each merge reads. The merge also settles ``near_duplicate_of`` of the rows it
writes, against the batch and the stored articles of the surrounding days of the same site
(``near_duplicates``).

A warehouse still in the single-file layout (``part-0.parquet``, a global ``_index/articles*``) is
refused with ``LegacyLayoutError`` until ``warehouse.maintenance.compact`` has migrated it.
"""

from __future__ import annotations

import json
import logging
import re
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from core.schema import ARTICLES_SCHEMA, SCHEMA_VERSION, file_schema
from warehouse import paths
from warehouse.index import (
    IndexEntry,
    IndexState,
    Partition,
    apply_change,
    drop_obsolete_deltas,
    entries_of,
    index_sites,
    read_index_state,
    replace_index,
)
from warehouse.revisions import merge_revisions
from warehouse.storage import Storage, checkpoint, conform, parquet_bytes, read_parquet_bytes, read_tables, storage_for

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

#: Order of versions of one article: the greatest is kept.
VERSION_KEY: tuple[str, ...] = ("modified_at", "revision", "fetched_at", "content_hash")

#: Row order inside a partition file, for deterministic files.
ROW_ORDER = [("published_at", "ascending"), ("article_id", "ascending")]

DEFAULT_LOCK_TIMEOUT = 600.0

#: Near duplicates: SimHashes within this many bits, published within this window of each other.
NEAR_DUPLICATE_BITS = 3
NEAR_DUPLICATE_WINDOW = timedelta(days=3)


@dataclass
class LoadResult:
    """What one merge did. Every distinct incoming article is exactly one of new / updated /
    unchanged / stale; ``moved`` counts the updated ones that changed partition."""

    run_id: str
    rows_in: int = 0
    duplicates_in_batch: int = 0  # extra rows of the same article_id in the input (older ones dropped)
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    stale: int = 0  # incoming older than the stored version: the stored one was kept
    moved: int = 0
    partitions_written: list[str] = field(default_factory=list)
    rows_total: int = 0  # rows of the loaded sites after the merge (from their indexes)
    revisions_added: int = 0  # distinct versions new to article_revisions (stale ones included)
    recovered: bool = False  # a crashed merge's journal was re-applied first
    id_collisions: int = 0  # rows of another page carrying a stored article's id (see collisions)
    collisions: list[dict[str, Any]] = field(default_factory=list)  # quarantine rows (reason id_collision: …)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class LegacyLayoutError(ValueError):
    """The warehouse still has the single-file layout; ``compact`` must migrate it before a merge."""

    def __init__(self, root: str, found: str) -> None:
        super().__init__(
            f"warehouse {root} still has the single-site layout ({found}); merging into it would store "
            f"rows twice. Migrate it once, with no load running: python -m warehouse.maintenance {root}"
        )


@dataclass(frozen=True)
class IndexRebuild:
    """What ``rebuild_index`` found: rows indexed, partitions read, stray duplicate copies removed."""

    rows: int
    partitions: int
    duplicates_removed: int


# --- input ----------------------------------------------------------------------------------------


def prepare_incoming(table: pa.Table | pd.DataFrame, run_id: str) -> pa.Table:
    """The input as an ``ARTICLES_SCHEMA`` table stamped with the load's ``run_id``.

    Raises before any path is built if a partition value is not a slug, or a required value is null.
    """
    paths.check_run_id(run_id)
    if not isinstance(table, pa.Table):  # a DataFrame; pandas stays unimported for table callers
        table = pa.Table.from_pandas(table, preserve_index=False)
    n = table.num_rows
    if "run_id" in table.column_names:
        table = table.drop_columns(["run_id"])
    table = table.append_column("run_id", pa.array([run_id] * n, pa.string()))
    version = pa.array([SCHEMA_VERSION] * n, pa.int16())
    if "schema_version" in table.column_names:
        version = pc.coalesce(table["schema_version"].cast(pa.int16()), version)
        table = table.drop_columns(["schema_version"])
    table = table.append_column("schema_version", version)
    table = conform(table, ARTICLES_SCHEMA)
    missing = [f.name for f in ARTICLES_SCHEMA if not f.nullable and table[f.name].null_count]
    if missing:
        raise ValueError(f"required columns have nulls: {', '.join(missing)}")
    for section in pc.unique(table["section"]).to_pylist():
        paths.check_slug(section, "section")
    for site in pc.unique(table["site"]).to_pylist():
        paths.check_site(site)
        ids = _site_rows(table, site)["article_id"]
        prefixed = pc.starts_with(ids, f"{site}:")
        if not pc.all(prefixed).as_py():  # ids must not collide across sites
            bad = ids.filter(pc.invert(prefixed))[0].as_py()
            raise ValueError(f"article_id {bad!r} of site {site!r} is not '{site}:<native id>'")
    return table


def _version(row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(row[k] for k in VERSION_KEY)


def _key_rows(table: pa.Table, extra: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    cols = ("article_id", *VERSION_KEY, *extra)
    return table.select(list(cols)).to_pylist()


def latest_per_article(table: pa.Table) -> tuple[pa.Table, int]:
    """Keep one row per ``article_id`` (the latest version); returns the table and how many rows went."""
    best: dict[str, tuple[tuple[Any, ...], int]] = {}
    for i, row in enumerate(_key_rows(table)):
        key = _version(row)
        current = best.get(row["article_id"])
        if current is None or key > current[0]:
            best[row["article_id"]] = (key, i)
    if len(best) == table.num_rows:
        return table, 0
    keep = sorted(i for _, i in best.values())
    return table.take(keep), table.num_rows - len(keep)


# --- partitions -----------------------------------------------------------------------------------


def _partition_file(root: str, part: Partition, site: str) -> str:
    return paths.articles_file(root, part[0], part[1], site)


def read_partitions(store: Storage, root: str, parts: list[Partition], site: str) -> dict[Partition, pa.Table]:
    """One site's rows of each of ``parts`` (its ``part-<site>.parquet`` files, read at once)."""
    return read_tables(store, {part: _partition_file(root, part, site) for part in parts}, file_schema())


def _file_rows(table: pa.Table) -> pa.Table:
    return conform(table.select(file_schema().names), file_schema())


def _encode_partition(table: pa.Table) -> bytes:
    return parquet_bytes(table.sort_by(ROW_ORDER).combine_chunks())


# --- the merge ------------------------------------------------------------------------------------


@dataclass
class _Plan:
    site: str
    index: IndexState
    tables: dict[Partition, pa.Table]  # every partition read, as stored
    resolved: pa.Table  # incoming rows with first_seen_at settled
    drop: dict[Partition, set[str]] = field(default_factory=lambda: defaultdict(set))
    add: dict[Partition, list[int]] = field(default_factory=lambda: defaultdict(list))
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    collisions: list[dict[str, Any]] = field(default_factory=list)  # quarantine rows, stage "load"
    collided: set[int] = field(default_factory=set)  # incoming rows left out as id collisions
    final: dict[Partition, pa.Table] = field(default_factory=dict)  # partitions after _apply

    @property
    def changed(self) -> list[Partition]:
        """Partitions to rewrite: those gaining rows first, then those only losing rows."""
        gaining = sorted(p for p, rows in self.add.items() if rows)
        losing = sorted(p for p, ids in self.drop.items() if ids and p not in gaining)
        return gaining + losing


def _plan(
    store: Storage, root: str, site: str, incoming: pa.Table, index: IndexState, *, settle: bool = True
) -> _Plan:
    """Decide, for every incoming article, what happens; reads only the partitions involved.

    ``settle``: compute ``near_duplicate_of`` of the rows to write (a journal replay keeps the values
    its journal saved, so a recovered merge writes what the interrupted one would have).
    """
    rows = _key_rows(incoming, ("date", "section", "fetched_at", "first_seen_at", "url", "body"))
    targets = [(r["date"], r["section"]) for r in rows]
    known = index.lookup(r["article_id"] for r in rows)
    parts = set(targets) | {known[r["article_id"]].partition for r in rows if r["article_id"] in known}
    refuse_legacy_partitions(store, root, parts)
    tables = read_partitions(store, root, sorted(parts), site)

    copies: dict[str, list[tuple[Partition, dict[str, Any]]]] = defaultdict(list)
    for part, table in tables.items():
        for stored in _key_rows(table, ("first_seen_at", "url", "body")):
            copies[stored["article_id"]].append((part, stored))

    plan = _Plan(site=site, index=index, tables=tables, resolved=incoming)
    first_seen: list[datetime | None] = []
    seen_incoming: set[str] = set()
    for i, row in enumerate(rows):
        aid = row["article_id"]
        seen_incoming.add(aid)
        stored_part, stored = _keep_latest(plan, aid, copies.get(aid, []))
        first_seen.append(row["first_seen_at"] or row["fetched_at"])
        if (stored is not None and row["url"] != stored["url"] and row["body"] != stored["body"]
                and not (_url_carries_id(site, aid, row["url"]) and _url_carries_id(site, aid, stored["url"]))):
            owner = _url_carries_id(site, aid, row["url"])  # and the stored page's URL does not carry the id
            plan.counts["id_collisions"] += 1
            if not owner:  # another page claiming a stored article's id: quarantined, the stored row stays
                plan.collided.add(i)
                plan.collisions.append(_collision(site, aid, stored["url"], row["url"], incoming.slice(i, 1)))
                continue
            # the page whose own URL carries the id takes it back from the stored impostor
            impostor = plan.tables[stored_part].filter(pc.equal(plan.tables[stored_part]["article_id"], aid))
            plan.collisions.append(_collision(site, aid, row["url"], stored["url"], impostor.slice(0, 1)))
            plan.counts["updated"] += 1
            plan.counts["moved"] += int(stored_part != targets[i])
            plan.drop[stored_part].add(aid)
            plan.add[targets[i]].append(i)
            continue
        if stored is None:
            plan.counts["new"] += 1
            plan.add[targets[i]].append(i)
        elif stored["content_hash"] == row["content_hash"] and stored_part == targets[i]:
            plan.counts["unchanged"] += 1
        elif _version(row) < _version(stored):
            plan.counts["stale"] += 1
        else:
            plan.counts["updated"] += 1
            if stored_part != targets[i]:
                plan.counts["moved"] += 1
            plan.drop[stored_part].add(aid)
            plan.add[targets[i]].append(i)
            first_seen[i] = stored["first_seen_at"] or stored["fetched_at"]
    for aid, found in copies.items():
        if aid not in seen_incoming and len(found) > 1:
            _keep_latest(plan, aid, found)
    resolved = incoming.set_column(
        incoming.schema.get_field_index("first_seen_at"),
        ARTICLES_SCHEMA.field("first_seen_at"),
        pa.array(first_seen, ARTICLES_SCHEMA.field("first_seen_at").type),
    )
    adding = sorted(i for part_rows in plan.add.values() for i in part_rows)
    if settle and adding:
        resolved = resolved.set_column(
            resolved.schema.get_field_index("near_duplicate_of"),
            ARTICLES_SCHEMA.field("near_duplicate_of"),
            near_duplicates(index, resolved, adding),
        )
    plan.resolved = resolved
    return plan


def near_duplicates(index: IndexState, table: pa.Table, rows: list[int]) -> pa.Array:
    """``near_duplicate_of`` for ``rows`` of ``table`` (other rows keep their value).

    Each such row is compared with the other rows and with the stored articles (from the index:
    ``simhash``, ``published_at``) published within ``NEAR_DUPLICATE_WINDOW`` of one of them, by
    ``transforms.fingerprint.near_duplicate_of``: a row gets the earliest article published before it
    within ``NEAR_DUPLICATE_BITS`` of its own SimHash (never a chain), or None. Stored rows are never
    rewritten for this: one that later gains an earlier neighbour keeps the value it was stored with.
    """
    values = table["near_duplicate_of"].to_pylist()
    for i in rows:
        values[i] = None
    mine = table.take(rows).select(["article_id", "published_at", "simhash"])
    if mine["simhash"].null_count == mine.num_rows:
        return pa.array(values, pa.string())
    from transforms.fingerprint import near_duplicate_of  # pandas/numpy: only when there is work

    stored = index.keys.select(["article_id", "published_at", "simhash"])
    stored = stored.filter(pc.and_(pc.is_valid(stored["simhash"]), pc.is_valid(stored["published_at"])))
    stored = stored.filter(_within(stored["published_at"], mine["published_at"], NEAR_DUPLICATE_WINDOW))
    stored = stored.filter(pc.invert(pc.is_in(stored["article_id"], value_set=mine["article_id"])))
    frame = pa.concat_tables([mine.cast(stored.schema), stored]).to_pandas()
    heads = near_duplicate_of(frame, k=NEAR_DUPLICATE_BITS).tolist()
    for pos, i in enumerate(rows):
        values[i] = heads[pos]
    return pa.array(values, pa.string())


def _within(stamps: pa.ChunkedArray, centres: pa.ChunkedArray, window: timedelta) -> pa.Array:
    """Mask of ``stamps`` lying within ``window`` of at least one of ``centres``."""
    import numpy as np

    points = np.sort(centres.cast(pa.int64()).to_numpy())
    values = stamps.cast(pa.int64()).to_numpy()
    if not len(values):
        return pa.array([], pa.bool_())
    reach = window // timedelta(microseconds=1)
    at = np.searchsorted(points, values)
    after = np.abs(points[np.minimum(at, len(points) - 1)] - values)
    before = np.abs(values - points[np.maximum(at - 1, 0)])
    return pa.array(np.minimum(after, before) <= reach)


def _url_carries_id(site: str, article_id: str, url: str | None) -> bool:
    """Whether a page's own URL carries ``article_id``: the ``id`` group of the site's ``article_url``
    pattern when the URL matches it, else (no profile, no ``id`` group, another URL shape) the native
    id as a whole token of the URL's path."""
    from urllib.parse import urlsplit

    if not url:
        return False
    native = article_id.split(":", 1)[1]
    path = urlsplit(url).path
    try:
        from core.sites import get_site

        pattern = get_site(site).article_re
    except ValueError:  # a site without a profile (or no profiles at all)
        pattern = None
    m = pattern.match(path) if pattern is not None and "id" in pattern.groupindex else None
    if m is not None:
        return m.group("id") == native
    return re.search(rf"(?<![0-9A-Za-z]){re.escape(native)}(?![0-9A-Za-z])", path) is not None


def _collision(site: str, article_id: str, owner_url: str, url: str, row: pa.Table) -> dict[str, Any]:
    """A quarantine row (``QUARANTINE_SCHEMA`` fields) for a page that claimed ``article_id``."""
    raw = row.to_pylist()[0] if row.num_rows else {}
    return {
        "site": site,
        "url": url,
        "reason": f"id_collision: {article_id} is owned by {owner_url}, this page {url} has a different URL "
                  f"and body (found on load)",
        "stage": "load",
        "raw": json.dumps(raw, ensure_ascii=False, sort_keys=True, default=str),
    }


def _keep_latest(
    plan: _Plan, aid: str, found: list[tuple[Partition, dict[str, Any]]]
) -> tuple[Partition | None, dict[str, Any] | None]:
    """The latest stored copy of an article; other copies (left by a crash) are scheduled for removal."""
    if not found:
        return None, None
    part, best = max(found, key=lambda c: (_version(c[1]), c[0]))
    for other_part, other in found:
        if other is not best:
            plan.drop[other_part].add(aid)
            plan.counts["duplicates_removed"] += 1
    return part, best


def _apply(store: Storage, root: str, plan: _Plan, *, journal: bool, index: bool = True) -> tuple[list[str], int]:
    """Write the changed partitions, then (``index``) the index change; returns (partitions written,
    rows in the table). ``plan.final`` gets every partition read, as it is now."""
    changed = plan.changed
    site = plan.site
    final = plan.final = dict(plan.tables)
    if changed and journal:
        pending = plan.resolved.take(sorted(i for rows in plan.add.values() for i in rows))
        store.write_atomic(paths.journal_file(root, site), parquet_bytes(pending.combine_chunks()))
        checkpoint("journal written")
    for part in plan.tables:  # under the site's lock, a temporary file of its part is a crashed writer's leftover
        store.sweep_temps(paths.partition_dir(root, paths.ARTICLES, part[0], part[1]), target=paths.part_name(site))
    files: dict[str, bytes] = {}
    emptied: list[Partition] = []
    for part in changed:
        table = plan.tables[part]
        drop = plan.drop.get(part)
        if drop:
            table = table.filter(pc.invert(pc.is_in(table["article_id"], value_set=pa.array(sorted(drop)))))
        if plan.add.get(part):
            table = pa.concat_tables([table, _file_rows(plan.resolved.take(plan.add[part]))])
        final[part] = table
        if table.num_rows:
            files[_partition_file(root, part, site)] = _encode_partition(table)
        else:
            emptied.append(part)
    store.write_many(files)  # each partition straight to its final state, in any order: the journal covers them all
    for part in emptied:
        store.delete(_partition_file(root, part, site))
        checkpoint(f"partition {part} emptied")
    written = [paths.partition_dir(root, paths.ARTICLES, part[0], part[1]) for part in changed]

    if not index:
        return written, 0
    # the index change: entries of the partitions read, against what the index said about them
    read = set(plan.tables)
    found: dict[str, IndexEntry] = {}
    for part in sorted(read):
        found.update(entries_of(part, final[part]))
    before = plan.index.in_partitions(read, found)
    upserts = {aid: e for aid, e in found.items() if before.get(aid) != e}
    removed = {aid for aid, e in before.items() if e.partition in read and aid not in found}
    total = apply_change(store, root, plan.index, upserts, removed)
    if changed and journal:
        store.delete(paths.journal_file(root, site))
    return written, total


def replay_journal(store: Storage, root: str, site: str) -> bool:
    """Finish a merge of ``site`` that crashed: re-apply its saved rows (idempotent), then drop the
    journal. Call it holding the site's lock."""
    data = store.read_bytes(paths.journal_file(root, site))
    if data is None:
        return False
    pending = conform(read_parquet_bytes(data), ARTICLES_SCHEMA)
    log.warning("found the journal of an interrupted merge of %s (%d rows): re-applying it", site, pending.num_rows)
    plan = _plan(store, root, site, pending, read_index_state(store, root, site), settle=False)
    _apply(store, root, plan, journal=False)
    store.delete(paths.journal_file(root, site))
    checkpoint("journal replayed")
    return True


def legacy_index_files(store: Storage, root: str) -> list[str]:
    """Index files of the single-site layout (``_index/articles*.parquet``, the journal included)."""
    folder = paths.index_dir(root, None)
    found = []
    for path in store.list_files(folder):
        head, _, name = path.rpartition("/")
        if head == folder and name.startswith(f"{paths.ARTICLES}.") and name.endswith(".parquet"):
            found.append(path)
    return found


def refuse_legacy(store: Storage, root: str) -> None:
    """Raise ``LegacyLayoutError`` if the global index of the single-site layout is still there (the
    migration deletes it last, so it marks a warehouse that is not migrated, or not completely)."""
    legacy = legacy_index_files(store, root)
    if legacy:
        raise LegacyLayoutError(root, f"found {legacy[0].rpartition('/')[2]} in _index/")


def refuse_legacy_partitions(store: Storage, root: str, parts: set[Partition]) -> None:
    """Raise ``LegacyLayoutError`` if one of these partitions still has a ``part-0.parquet`` file."""
    legacy = {paths.legacy_partition_file(root, paths.ARTICLES, day, section): (day, section) for day, section in parts}
    found = sorted(legacy[path] for path in store.existing(list(legacy)))
    if found:
        day, section = found[0]
        raise LegacyLayoutError(root, f"found part-0.parquet in date={day}/section={section}")


def _merge_site(
    store: Storage, root: str, site: str, batch: pa.Table, incoming: pa.Table, lock_timeout: float
) -> tuple[_Plan, int, int, list[str], bool]:
    """Merge one site's rows under that site's lock; returns (plan, revisions added, rows of the
    site, partitions written, journal recovered)."""
    with store.lock(paths.lock_file(root, site), lock_timeout):
        checkpoint(f"lock taken {site}")
        refuse_legacy(store, root)
        store.sweep_temps(paths.index_dir(root, site))
        index = read_index_state(store, root, site)
        drop_obsolete_deltas(store, index)
        recovered = replay_journal(store, root, site)
        if recovered:
            index = read_index_state(store, root, site)
        plan = _plan(store, root, site, incoming, index)
        if plan.collided:  # an impostor's versions are no revisions of the article it claimed
            left_out = incoming.take(sorted(plan.collided))
            keys = pc.binary_join_element_wise(batch["article_id"], batch["url"], "\x00")
            out_keys = pc.binary_join_element_wise(left_out["article_id"], left_out["url"], "\x00")
            batch = batch.filter(pc.invert(pc.is_in(keys, value_set=out_keys)))
        revisions_added, _ = merge_revisions(store, root, batch, site)
        written, total = _apply(store, root, plan, journal=True)
    return plan, revisions_added, total, written, recovered


def _site_rows(table: pa.Table, site: str) -> pa.Table:
    return table.filter(pc.equal(table["site"], site))


def merge_articles(
    root: str, table: pa.Table | pd.DataFrame, *, run_id: str, lock_timeout: float = DEFAULT_LOCK_TIMEOUT
) -> LoadResult:
    """Merge a batch of clean articles into the table (idempotent; see the module docstring)."""
    batch = prepare_incoming(table, run_id)
    incoming, duplicates = latest_per_article(batch)
    store = storage_for(root)
    result = LoadResult(run_id=run_id, rows_in=batch.num_rows, duplicates_in_batch=duplicates)
    for site in sorted(pc.unique(batch["site"]).to_pylist()):
        plan, revisions_added, total, written, recovered = _merge_site(
            store, root, site, _site_rows(batch, site), _site_rows(incoming, site), lock_timeout
        )
        for name in ("new", "updated", "unchanged", "stale", "moved", "id_collisions"):
            setattr(result, name, getattr(result, name) + plan.counts[name])
        result.partitions_written.extend(w for w in written if w not in result.partitions_written)
        result.rows_total += total
        result.revisions_added += revisions_added
        result.recovered = result.recovered or recovered
        result.collisions.extend(plan.collisions)
    log.info(
        "merged run %s: %d new, %d updated (%d moved), %d unchanged, %d stale, %d id collisions quarantined; "
        "%d partitions written; %d rows",
        run_id,
        result.new,
        result.updated,
        result.moved,
        result.unchanged,
        result.stale,
        result.id_collisions,
        len(result.partitions_written),
        result.rows_total,
    )
    return result


def list_partitions(store: Storage, root: str, site: str) -> list[Partition]:
    """Every partition that has a committed file of ``site`` (temporary files are not partitions)."""
    wanted = paths.part_name(site)
    found = []
    for path in store.list_files(paths.join(root, paths.ARTICLES)):
        head, _, name = path.rpartition("/")
        if name != wanted:
            continue
        part = paths.parse_partition_dir(head)
        if part is not None:
            found.append(part)
    return sorted(set(found))


def stored_sites(store: Storage, root: str) -> list[str]:
    """Every site with a file in ``articles`` or ``article_revisions``, or an index folder."""
    found = set(index_sites(store, root))
    for dataset in (paths.ARTICLES, paths.REVISIONS):
        for path in store.list_files(paths.join(root, dataset)):
            head, _, name = path.rpartition("/")
            site = paths.part_site(name)
            if site is not None and paths.parse_partition_dir(head) is not None:
                found.add(site)
    return sorted(found)


def rebuild_site_index(store: Storage, root: str, site: str) -> IndexRebuild:
    """``rebuild_index`` of one site; call it holding the site's lock."""
    store.sweep_temps(paths.index_dir(root, site))
    replay_journal(store, root, site)
    tables = read_partitions(store, root, list_partitions(store, root, site), site)
    plan = _Plan(site=site, index=IndexState.empty(), tables=tables, resolved=ARTICLES_SCHEMA.empty_table())
    copies: dict[str, list[tuple[Partition, dict[str, Any]]]] = defaultdict(list)
    for part, table in tables.items():
        for stored in _key_rows(table):
            copies[stored["article_id"]].append((part, stored))
    for aid, found in copies.items():
        if len(found) > 1:
            _keep_latest(plan, aid, found)
    _apply(store, root, plan, journal=False, index=False)
    entries: dict[str, IndexEntry] = {}
    for part in sorted(tables):
        entries.update(entries_of(part, plan.final[part]))
    replace_index(store, root, read_index_state(store, root, site), entries)
    return IndexRebuild(rows=len(entries), partitions=len(tables), duplicates_removed=plan.counts["duplicates_removed"])


def rebuild_index(root: str, *, site: str | None = None, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> IndexRebuild:
    """Recreate a site's index (every site's if ``site`` is None) from its partition files alone,
    and remove duplicate copies a crash left. Each site is rebuilt under its own lock.

    Reads the site's whole table: a repair tool, not part of a daily run.
    """
    store = storage_for(root)
    refuse_legacy(store, root)
    rows = partitions = removed = 0
    for name in [site] if site is not None else stored_sites(store, root):
        with store.lock(paths.lock_file(root, name), lock_timeout):
            refuse_legacy(store, root)
            done = rebuild_site_index(store, root, name)
        rows, partitions, removed = rows + done.rows, partitions + done.partitions, removed + done.duplicates_removed
    return IndexRebuild(rows=rows, partitions=partitions, duplicates_removed=removed)
