"""The index is a base file plus one small delta per merge, folded into a new base now and then."""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.warehouse.conftest import article, table_of
from warehouse import index, paths
from warehouse.articles import merge_articles, rebuild_index
from warehouse.reader import read_articles, stored_index
from warehouse.storage import storage_for

D1 = date(2024, 9, 1)
LATER = timedelta(hours=1)


def index_files(root: str) -> list[str]:
    return sorted(p.name for p in (Path(root) / "_index" / "japannews").iterdir() if not p.name.startswith("."))


def resolved(root: str) -> list[dict]:
    return index.read_index_table(storage_for(root), root, "japannews").to_pylist()


def history(root: str, days: int = 4, per_day: int = 20) -> None:
    rows = [article(d * 100 + i, day=D1 + timedelta(days=d)) for d in range(days) for i in range(per_day)]
    merge_articles(root, table_of(rows), run_id="history")


@pytest.fixture
def many_deltas(monkeypatch):
    monkeypatch.setenv(index.MAX_DELTAS_ENV, "3")
    monkeypatch.setenv(index.DELTA_SHARE_ENV, "1")


def test_a_small_merge_writes_a_delta_not_the_base(root):
    history(root)
    base = Path(paths.index_file(root, "japannews")).read_bytes()
    day = D1 + timedelta(days=4)
    result = merge_articles(root, table_of([article(900, day=day), article(901, day=day)]), run_id="r1")
    assert result.rows_total == 82
    assert index_files(root) == ["articles.delta-00000002.parquet", "articles.parquet"]
    assert Path(paths.index_file(root, "japannews")).read_bytes() == base
    delta = pq.read_table(paths.index_delta_file(root, "japannews", 2))
    assert delta["article_id"].to_pylist() == ["japannews:900", "japannews:901"]

    # an update that moves an article is one delta row; readers see base + deltas
    moved = article(5, day=D1, section="world", revision=1, modified_delta=LATER)
    assert merge_articles(root, table_of([moved]), run_id="r2").moved == 1
    assert stored_index(root)["japannews:5"]["url"] == moved["url"]
    assert len(stored_index(root)) == 82
    expected = resolved(root)
    rebuild_index(root)  # the partitions alone give the same index
    assert index_files(root) == ["articles.parquet"]
    assert resolved(root) == expected


def test_deltas_fold_into_the_base(root, many_deltas):
    history(root)
    counts = []
    for n in range(5):
        merge_articles(root, table_of([article(1000 + n, day=D1 + timedelta(days=5 + n))]), run_id=f"r{n}")
        counts.append(sum(".delta-" in f for f in index_files(root)))
    assert counts == [1, 2, 3, 0, 1]  # the fourth merge would make a fourth delta: it folds instead
    # the base records the last sequence number it covers; the next delta continues after it
    base = pq.read_table(paths.index_file(root, "japannews"))
    assert base.schema.metadata[index.FOLDED_KEY] == b"5"
    assert index_files(root) == ["articles.delta-00000006.parquet", "articles.parquet"]
    assert len(resolved(root)) == 85 == len(read_articles(root))


def test_a_crash_inside_a_fold_leaves_deltas_the_next_merge_removes(root, tmp_path, many_deltas):
    history(root)
    for n in range(3):
        merge_articles(root, table_of([article(1000 + n, day=D1 + timedelta(days=5))]), run_id=f"r{n}")
    leftover = tmp_path / "delta"
    shutil.copy(paths.index_delta_file(root, "japannews", 2), leftover)
    merge_articles(root, table_of([article(1003, day=D1 + timedelta(days=5))]), run_id="r3")  # folds
    assert index_files(root) == ["articles.parquet"]
    expected = resolved(root)

    shutil.copy(leftover, paths.index_delta_file(root, "japannews", 2))  # as if killed before deleting it
    assert resolved(root) == expected  # covered by the base: ignored
    merge_articles(root, table_of([article(1003, day=D1 + timedelta(days=5))]), run_id="r3")
    assert index_files(root) == ["articles.parquet"]
    assert resolved(root) == expected


def test_a_lost_delta_is_repaired_by_the_next_merge(root):
    """A crash after the partitions but before the delta: the re-run writes the same delta."""
    history(root)
    batch = table_of(
        [article(900, day=D1 + timedelta(days=4)), article(3, day=D1, revision=1, body="New.", modified_delta=LATER)]
    )
    merge_articles(root, batch, run_id="r1")
    delta = Path(paths.index_delta_file(root, "japannews", 2))
    written = delta.read_bytes()
    delta.unlink()
    again = merge_articles(root, batch, run_id="r1")
    assert (again.unchanged, again.rows_total) == (2, 81)
    assert delta.read_bytes() == written


def test_entries_are_read_by_row_group(root, monkeypatch):
    """A merge reads whole base entries only for the row groups it touches; they must be the right ones."""
    monkeypatch.setattr(index, "BASE_ROW_GROUP", 7)
    history(root)
    assert pq.ParquetFile(paths.index_file(root, "japannews")).num_row_groups == 12
    state = index.read_index_state(storage_for(root), root, "japannews")
    wanted = ["japannews:0", "japannews:119", "japannews:306", "japannews:213", "japannews:404"]
    found = state.lookup(wanted)
    assert sorted(found) == sorted(wanted[:4])
    for aid, entry in found.items():
        native = int(aid.split(":")[1])
        assert entry.partition == (D1 + timedelta(days=native // 100), "politics")
        assert entry.url == article(native, day=entry.partition[0])["url"]
    assert len(state.in_partitions([(D1 + timedelta(days=2), "politics")])) == 20
    assert len(state.table) == 80
    # updates spread over several row groups: index and partitions agree afterwards
    updates = [article(n, day=D1 + timedelta(days=n // 100), revision=1, modified_delta=LATER) for n in (1, 118, 310)]
    assert merge_articles(root, table_of(updates), run_id="u1").updated == 3
    expected = resolved(root)
    rebuild_index(root)
    assert resolved(root) == expected
