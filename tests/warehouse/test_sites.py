"""Several sites in one warehouse: each site has its own file in every partition, its own index,
journal and lock, so loads of different sites for the same day run side by side and a failed load of
one site never touches another's files."""

from __future__ import annotations

import os
import shutil
import signal
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from tests.warehouse import merge_worker
from tests.warehouse.conftest import article, table_of
from warehouse import index, paths, storage
from warehouse.articles import merge_articles, rebuild_index
from warehouse.query import main_query
from warehouse.reader import read_articles, read_revisions, stored_index, stored_versions
from warehouse.staging import read_table, write_table
from warehouse.storage import LocalStorage, LockTimeout, storage_for

A, B = "metrotimes", "rheinkurier"
D5, D6, D7 = date(2024, 9, 5), date(2024, 9, 6), date(2024, 9, 7)
LATER = timedelta(hours=1)


def site_article(site: str, native_id: int, **kw) -> dict:
    return article(native_id, **{"article_id": f"{site}:{native_id}", "site": site, **kw})


def day_of(site: str, ids, day: date = D6) -> list[dict]:
    """Articles of one site on one day, spread over the same two sections every site uses."""
    return [site_article(site, i, day=day, section=("politics", "world")[i % 2]) for i in ids]


def files_of(root: str, site: str) -> dict[str, bytes]:
    """Every committed file that belongs to ``site``: its partition files and its index folder."""
    out = {}
    for p in sorted(Path(root).rglob("*")):
        if not p.is_file() or paths.is_temp_name(p.name) or "_locks" in p.parts:
            continue
        if p.name == paths.part_name(site) or (Path(root) / "_index" / site) in p.parents:
            out[str(p.relative_to(root))] = p.read_bytes()
    return out


def all_files(root: str) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(Path(root).rglob("*"))
        if p.is_file() and "_locks" not in p.parts and not paths.is_temp_name(p.name)
    }


def read_everywhere(root: str) -> list[str]:
    """The article ids as every reader sees them (they must agree); each reader reads every file."""
    base = f"{root}/articles"
    frame = pd.read_parquet(base)
    table = ds.dataset(base, format="parquet", partitioning="hive").to_table()
    duck = duckdb.sql(
        f"SELECT article_id FROM read_parquet('{base}/**/*.parquet', hive_partitioning=true)"
    ).fetchall()
    polars = pl.read_parquet(f"{base}/**/*.parquet", hive_partitioning=True)
    ids = sorted(frame["article_id"])
    assert ids == sorted(table["article_id"].to_pylist()) == sorted(r[0] for r in duck)
    assert ids == sorted(polars["article_id"].to_list())
    revs = f"{root}/article_revisions"
    assert len(pd.read_parquet(revs)) == ds.dataset(revs, format="parquet", partitioning="hive").count_rows()
    return ids


def test_each_site_has_its_own_files_index_and_lock(root):
    rows = day_of(A, range(1, 5)) + day_of(B, range(1, 4))
    result = merge_articles(root, table_of(rows), run_id="r1")
    assert (result.new, result.rows_total) == (7, 7)
    folder = Path(paths.partition_dir(root, paths.ARTICLES, D6, "politics"))
    assert sorted(p.name for p in folder.iterdir()) == [f"part-{A}.parquet", f"part-{B}.parquet"]
    revisions = Path(paths.partition_dir(root, paths.REVISIONS, D6, "world"))
    assert sorted(p.name for p in revisions.iterdir()) == [f"part-{A}.parquet", f"part-{B}.parquet"]
    assert sorted(p.name for p in (Path(root) / "_index").iterdir()) == [A, B]
    assert sorted(p.name for p in (Path(root) / "_locks").iterdir()) == [A, B]
    assert read_everywhere(root) == sorted(r["article_id"] for r in rows)
    sql = "SELECT site, count(*) AS n FROM articles GROUP BY 1 ORDER BY 1"
    assert main_query(root, sql, "json") == f'{{"site": "{A}", "n": 4}}\n{{"site": "{B}", "n": 3}}'
    assert set(stored_index(root, site=A)) == {f"{A}:{i}" for i in range(1, 5)}
    assert set(stored_index(root)) == {r["article_id"] for r in rows}
    assert set(stored_versions(root, [f"{A}:1", f"{B}:3", f"{B}:9", "nosite:1"])) == {f"{A}:1", f"{B}:3"}
    assert rebuild_index(root, site=B).rows == 3
    assert rebuild_index(root).rows == 7


def test_the_known_index_of_a_site_reads_only_that_site(root):
    merge_articles(root, table_of(day_of(A, range(1, 4)) + day_of(B, range(1, 4))), run_id="r1")
    Path(paths.index_file(root, B)).write_bytes(b"not parquet")  # site B's index is never opened
    assert set(stored_index(root, site=A)) == {f"{A}:{i}" for i in range(1, 4)}
    assert set(stored_versions(root, [f"{A}:1"])) == {f"{A}:1"}
    with pytest.raises(Exception, match="Parquet"):
        stored_index(root, site=B)


def test_an_id_not_prefixed_by_its_site_is_refused(root):
    row = site_article(A, 1, article_id=f"{B}:1")
    with pytest.raises(ValueError, match="is not 'metrotimes:<native id>'"):
        merge_articles(root, table_of([row]), run_id="r1")
    assert not Path(root).exists()


def test_one_site_does_not_wait_for_another(tmp_path):
    """Site A's load holds its lock and will not go on until site B's load of the same day and
    partitions has finished; with one lock for all sites B would wait for A and both would time out."""
    root = str(tmp_path / "wh")
    merge_articles(root, table_of(day_of(A, range(1, 4)) + day_of(B, range(1, 4))), run_id="seed")
    batches = {}
    for site, first in ((A, 10), (B, 20)):
        rows = day_of(site, range(first, first + 6))
        rows.append(site_article(site, 1, section="politics", revision=1, body="Updated.", modified_delta=LATER))
        batches[site] = str(tmp_path / f"{site}.parquet")
        write_table(batches[site], table_of(rows))

    ctx = merge_worker.context()
    held, release = ctx.Event(), ctx.Event()
    slow = ctx.Process(target=merge_worker.merge_holding_lock, args=(root, batches[A], held, release, 60))
    slow.start()
    assert held.wait(60), "site A never took its lock"
    fast = ctx.Process(target=merge_worker.merge_batches, args=(root, [batches[B]]))
    fast.start()
    fast.join(60)
    b_finished = fast.exitcode == 0
    a_still_holding = slow.is_alive()
    with pytest.raises(LockTimeout):  # A's lock really is held while B finished
        with LocalStorage(root).lock(paths.lock_file(root, A), timeout=0.2):
            pass
    release.set()
    slow.join(60)
    if fast.exitcode is None:
        fast.join(60)
    assert b_finished and a_still_holding, "site B's load waited for site A's"
    assert slow.exitcode == 0

    expected = {f"{s}:{i}" for s, first in ((A, 10), (B, 20)) for i in (1, 2, 3, *range(first, first + 6))}
    assert read_everywhere(root) == sorted(expected)  # each exactly once, every file readable
    df = read_articles(root).set_index("article_id")
    assert df.loc[f"{A}:1", "body"] == df.loc[f"{B}:1", "body"] == "Updated."
    assert set(stored_index(root, site=A)) | set(stored_index(root, site=B)) == expected
    revs = read_revisions(root)
    assert len(revs) == len(expected) + 2


def crashing_batch() -> list[dict]:
    """Site A: updates in place, a move between partitions shared with site B, a new day."""
    return [
        site_article(A, 1, section="politics", revision=1, body="Updated.", modified_delta=LATER),
        site_article(A, 2, section="politics", revision=1, modified_delta=LATER),  # world -> politics
        site_article(A, 3, day=D5, section="world", revision=1, modified_delta=LATER),  # 6 Sep -> 5 Sep
        *day_of(A, (7, 8)),
        site_article(A, 9, day=D7, section="culture"),
    ]


@pytest.mark.slow
def test_a_crashed_load_of_one_site_leaves_every_other_site_file_untouched(tmp_path):
    base = tmp_path / "before"
    merge_articles(str(base), table_of(day_of(A, range(1, 5)) + day_of(B, range(1, 5))), run_id="seed")
    merge_articles(str(base), table_of(day_of(B, (5, 6), day=D5)), run_id="seed-b")
    b_files = files_of(str(base), B)
    assert len(b_files) >= 7  # articles and revisions of both days, and B's index
    batch = str(tmp_path / "a.parquet")
    write_table(batch, table_of(crashing_batch()))
    reference = str(tmp_path / "reference")
    shutil.copytree(base, reference)
    storage._checkpoints_passed = 0
    os.environ[storage.CRASH_ENV] = str(10**9)
    try:
        merge_articles(reference, read_table(batch), run_id="a")
        total = storage._checkpoints_passed
    finally:
        os.environ.pop(storage.CRASH_ENV)
        storage._checkpoints_passed = 0
    assert total >= 20
    after = all_files(reference)
    assert files_of(reference, B) == b_files

    ctx = merge_worker.context()
    for k in range(1, total + 1):
        root = str(tmp_path / f"kill-{k}")
        shutil.copytree(base, root)
        proc = ctx.Process(target=merge_worker.merge_batches, args=(root, [batch], k))
        proc.start()
        proc.join(120)
        assert proc.exitcode == -signal.SIGKILL, f"checkpoint {k}: exit {proc.exitcode}"
        assert files_of(root, B) == b_files, f"checkpoint {k} touched a file of site B"
        assert set(read_everywhere(root)) >= {f"{B}:{i}" for i in range(1, 7)}
        merge_articles(root, read_table(batch), run_id="a")
        assert all_files(root) == after, f"checkpoint {k} did not converge"
        shutil.rmtree(root)


# --- migration from the single-file layout -------------------------------------------------------


def make_legacy(root: str) -> None:
    """Turn a per-site warehouse into the single-site layout of before: one part-0 file per
    partition holding every site's rows, one global index ``_index/articles.parquet``, one lock."""
    store = storage_for(root)
    for dataset in (paths.ARTICLES, paths.REVISIONS):
        for folder in sorted({p.parent for p in Path(root, dataset).rglob("part-*.parquet")}):
            parts = sorted(folder.glob("part-*.parquet"))
            table = pa.concat_tables([pq.ParquetFile(p).read() for p in parts])
            pq.write_table(table, folder / paths.LEGACY_PART_FILE, compression="zstd")
            for p in parts:
                p.unlink()
    sites = index.index_sites(store, root)
    tables = [index.read_index_table(store, root, s) for s in sites]
    for s in sites:
        shutil.rmtree(Path(root, "_index", s))
        shutil.rmtree(Path(root, "_locks", s))
    pq.write_table(pa.concat_tables(tables), paths.index_file(root, None))


def legacy_warehouse(tmp_path) -> tuple[str, str]:
    """A legacy warehouse and the same content loaded natively (what compact must give)."""
    native = str(tmp_path / "native")
    merge_articles(native, table_of(day_of(A, range(1, 5)) + day_of(B, range(1, 5))), run_id="r1")
    merge_articles(native, table_of(crashing_batch()), run_id="r2")
    legacy = str(tmp_path / "legacy")
    shutil.copytree(native, legacy)
    make_legacy(legacy)
    return legacy, native


def data_files(root: str) -> dict[str, bytes]:
    return {k: v for k, v in all_files(root).items() if not k.startswith("_index")}


def index_content(root: str) -> dict[str, list[dict]]:
    store = storage_for(root)
    return {s: index.read_index_table(store, root, s).to_pylist() for s in index.index_sites(store, root)}


def test_a_merge_into_a_legacy_warehouse_is_refused(tmp_path):
    legacy, _ = legacy_warehouse(tmp_path)
    before = all_files(legacy)
    with pytest.raises(ValueError) as caught:
        merge_articles(legacy, table_of(day_of(B, (40,))), run_id="r3")
    message = str(caught.value)
    assert "single-site layout" in message and f"python -m warehouse.maintenance {legacy}" in message
    assert "\n" not in message
    assert all_files(legacy) == before
    with pytest.raises(ValueError, match="single-site layout"):
        rebuild_index(legacy)
    # a warehouse without the global index but with part-0 files in the partitions a load touches
    os.remove(paths.index_file(legacy, None))
    with pytest.raises(ValueError, match="part-0.parquet in date=2024-09-06/section=politics"):
        merge_articles(legacy, table_of(day_of(B, (40,))), run_id="r3")


def test_compact_migrates_a_legacy_warehouse(tmp_path):
    from warehouse.maintenance import compact

    legacy, native = legacy_warehouse(tmp_path)
    assert any(Path(legacy).rglob(paths.LEGACY_PART_FILE))
    result = compact(legacy)
    assert len(result.migrated) == len(list(Path(native).glob("*/date=*/section=*")))  # both datasets
    assert result.sites_indexed == [A, B]
    assert not list(Path(legacy).rglob(paths.LEGACY_PART_FILE))
    assert not list(Path(legacy, "_index").glob("*.parquet"))
    assert data_files(legacy) == data_files(native)  # byte for byte what per-site loads write
    assert index_content(legacy) == index_content(native)
    assert read_everywhere(legacy) == read_everywhere(native)
    again = compact(legacy)
    assert (again.migrated, again.rewritten, again.sites_indexed) == ([], [], [])
    assert merge_articles(legacy, table_of(day_of(B, (40,))), run_id="r3").new == 1


def test_compact_hands_a_legacy_journal_to_each_site(tmp_path):
    """A single-site merge that crashed after its journal: compact replays its rows per site."""
    from warehouse.maintenance import compact
    from warehouse.storage import parquet_bytes

    legacy, native = legacy_warehouse(tmp_path)
    rows = [site_article(B, 2, revision=3, body="From the journal.", modified_delta=3 * LATER)]
    pending = table_of(rows)
    Path(paths.journal_file(legacy, None)).write_bytes(parquet_bytes(pending))
    compact(legacy)
    merge_articles(native, pending, run_id="seed")
    assert not Path(paths.journal_file(legacy, None)).exists()
    assert not Path(paths.journal_file(legacy, B)).exists()
    assert read_articles(legacy).set_index("article_id").loc[f"{B}:2", "body"] == "From the journal."
    assert read_everywhere(legacy) == read_everywhere(native)


@pytest.mark.slow
def test_a_crashed_migration_converges_when_compact_runs_again(tmp_path):
    from warehouse.maintenance import compact

    legacy, _ = legacy_warehouse(tmp_path)
    reference = str(tmp_path / "reference")
    shutil.copytree(legacy, reference)
    storage._checkpoints_passed = 0
    os.environ[storage.CRASH_ENV] = str(10**9)
    try:
        compact(reference)
        total = storage._checkpoints_passed
    finally:
        os.environ.pop(storage.CRASH_ENV)
        storage._checkpoints_passed = 0
    assert total >= 20
    migrated, migrated_index = data_files(reference), index_content(reference)
    expected_ids = read_everywhere(reference)

    ctx = merge_worker.context()
    refused = 0
    for k in range(1, total + 1):
        root = str(tmp_path / f"kill-{k}")
        shutil.copytree(legacy, root)
        proc = ctx.Process(target=merge_worker.compact_root, args=(root, k))
        proc.start()
        proc.join(120)
        assert proc.exitcode == -signal.SIGKILL, f"checkpoint {k}: exit {proc.exitcode}"
        assert set(read_everywhere(root)) == set(expected_ids)  # nothing lost (a row may show twice)
        if list(Path(root, "_index").glob("articles*.parquet")):  # not finished: loads must wait
            with pytest.raises(ValueError, match="single-site layout"):
                merge_articles(root, table_of(day_of(B, (40,))), run_id="r3")
            refused += 1
        compact(root)
        assert data_files(root) == migrated, f"checkpoint {k} did not converge"
        assert index_content(root) == migrated_index
        assert read_everywhere(root) == expected_ids  # each row once
        shutil.rmtree(root)
    assert refused >= total - 3
