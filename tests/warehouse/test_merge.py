from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from tests.warehouse.conftest import article, table_of
from warehouse import paths
from warehouse.articles import merge_articles, rebuild_index
from warehouse.paths import InvalidPartitionValue
from warehouse.reader import read_articles, stored_index, stored_versions

DAY = date(2024, 9, 6)


def snapshot(root: str) -> dict[str, tuple[int, bytes]]:
    """Every file under the warehouse with its mtime and bytes (the lock file aside)."""
    out = {}
    for path in sorted(Path(root).rglob("*")):
        if path.is_file() and "_locks" not in path.parts:
            out[str(path.relative_to(root))] = (path.stat().st_mtime_ns, path.read_bytes())
    return out


def partition_ids(root: str, day: date, section: str) -> list[str]:
    path = paths.articles_file(root, day, section, "japannews")
    if not os.path.exists(path):
        return []
    return pq.read_table(path)["article_id"].to_pylist()


def test_new_updated_unchanged_accounting(root):
    first = merge_articles(root, table_of([article(i) for i in range(1, 6)]), run_id="run-1")
    assert (first.new, first.updated, first.unchanged, first.stale) == (5, 0, 0, 0)
    assert first.rows_total == 5
    assert first.partitions_written == [paths.partition_dir(root, "articles", DAY, "politics")]

    later = datetime(2024, 9, 8, tzinfo=UTC)
    batch = [
        article(1),  # same content
        article(2, fetched_at=later),  # same content, fetched again later
        article(3, revision=1, body="Changed body text.", modified_delta=timedelta(hours=2), fetched_at=later),
        article(6),  # new
        article(7, section="world"),  # new, another partition
    ]
    second = merge_articles(root, table_of(batch), run_id="run-2")
    assert (second.new, second.updated, second.unchanged, second.stale, second.moved) == (2, 1, 2, 0, 0)
    assert second.rows_total == 7

    df = read_articles(root).set_index("article_id")
    assert len(df) == 7 and df.index.is_unique
    assert df.loc["japannews:3", "body"] == "Changed body text."
    assert df.loc["japannews:3", "revision"] == 1
    assert df.loc["japannews:3", "run_id"] == "run-2"
    # unchanged rows keep the run and fetch time that first stored them
    assert df.loc["japannews:2", "run_id"] == "run-1"
    assert df.loc["japannews:2", "fetched_at"] == pd.Timestamp("2024-09-07 01:00", tz="UTC")
    # first_seen_at survives an update
    assert df.loc["japannews:3", "first_seen_at"] == pd.Timestamp("2024-09-07 01:00", tz="UTC")
    assert df.loc["japannews:7", "first_seen_at"] == pd.Timestamp("2024-09-07 01:00", tz="UTC")


def test_rerun_identical_input_leaves_files_untouched(root):
    rows = [article(i) for i in range(1, 4)] + [article(i, section="world", day=date(2024, 9, 5)) for i in (8, 9)]
    merge_articles(root, table_of(rows), run_id="run-1")
    before = snapshot(root)
    assert any(k.endswith("part-japannews.parquet") for k in before)
    assert "_index/japannews/articles.parquet" in before

    again = merge_articles(root, table_of(list(reversed(rows))), run_id="run-1-retry")
    assert (again.new, again.updated, again.unchanged) == (0, 0, 5)
    assert again.partitions_written == []
    assert snapshot(root) == before


def test_rewritten_partition_is_byte_identical_to_a_fresh_write(root, tmp_path):
    """The same final rows give the same bytes, however they got there."""
    rows = [article(i) for i in range(1, 6)]
    merge_articles(root, table_of(rows[:2]), run_id="run-1")
    merge_articles(root, table_of(rows[2:]), run_id="run-1")
    other = str(tmp_path / "other")
    merge_articles(other, table_of(list(reversed(rows))), run_id="run-1")
    a = Path(paths.articles_file(root, DAY, "politics", "japannews")).read_bytes()
    b = Path(paths.articles_file(other, DAY, "politics", "japannews")).read_bytes()
    assert a == b


def test_out_of_order_loads_keep_the_latest(root):
    v0 = article(1)
    v1 = article(1, revision=1, body="First update.", modified_delta=timedelta(hours=1))
    v2 = article(1, revision=2, body="Second update.", modified_delta=timedelta(hours=3))
    assert merge_articles(root, table_of([v2]), run_id="r-a").new == 1
    late = merge_articles(root, table_of([v0]), run_id="r-b")
    assert (late.stale, late.updated, late.partitions_written) == (1, 0, [])
    assert merge_articles(root, table_of([v1]), run_id="r-c").stale == 1
    df = read_articles(root)
    assert df["body"].tolist() == ["Second update."] and df["revision"].tolist() == [2]


def test_same_modified_time_higher_revision_wins(root):
    base = article(1)
    newer = article(1, revision=1, body="Revised.", fetched_at=base["fetched_at"] - timedelta(hours=1))
    merge_articles(root, table_of([base]), run_id="r1")
    assert merge_articles(root, table_of([newer]), run_id="r2").updated == 1
    assert read_articles(root)["revision"].tolist() == [1]


def test_duplicates_in_one_batch_keep_the_latest(root):
    rows = [
        article(1, revision=1, body="Later.", modified_delta=timedelta(hours=1)),
        article(1),
        article(2),
    ]
    result = merge_articles(root, table_of(rows), run_id="r1")
    assert (result.rows_in, result.duplicates_in_batch, result.new) == (3, 1, 2)
    df = read_articles(root).set_index("article_id")
    assert df.loc["japannews:1", "body"] == "Later."


def test_update_moves_article_across_partitions(root):
    merge_articles(root, table_of([article(1), article(2)]), run_id="r1")
    moved = article(1, section="world", revision=1, modified_delta=timedelta(hours=1))
    result = merge_articles(root, table_of([moved]), run_id="r2")
    assert (result.updated, result.moved, result.new) == (1, 1, 0)
    assert sorted(result.partitions_written) == sorted(
        paths.partition_dir(root, "articles", DAY, s) for s in ("politics", "world")
    )
    assert partition_ids(root, DAY, "politics") == ["japannews:2"]
    assert partition_ids(root, DAY, "world") == ["japannews:1"]

    # a date correction moves it again; the emptied partition disappears
    redated = article(1, section="world", day=date(2024, 9, 5), revision=2, modified_delta=timedelta(days=1, hours=2))
    assert merge_articles(root, table_of([redated]), run_id="r3").moved == 1
    assert partition_ids(root, DAY, "world") == []
    assert partition_ids(root, date(2024, 9, 5), "world") == ["japannews:1"]
    df = read_articles(root)
    assert sorted(df["article_id"]) == ["japannews:1", "japannews:2"]
    assert stored_versions(root, ["japannews:1"])["japannews:1"][0] == redated["modified_at"]


@pytest.mark.parametrize("section", ["..", "Politics", "a/b", "", "world/../../etc"])
def test_invalid_section_rejected_before_any_path(root, section):
    rows = [article(1), article(2, section=section)]
    with pytest.raises(InvalidPartitionValue):
        merge_articles(root, table_of(rows), run_id="r1")
    assert not os.path.exists(root)


def test_invalid_run_id_rejected(root):
    with pytest.raises(InvalidPartitionValue):
        merge_articles(root, table_of([article(1)]), run_id="../x")
    assert not os.path.exists(root)


def test_required_nulls_rejected(root):
    row = article(1)
    row["title"] = None
    with pytest.raises(ValueError, match="title"):
        merge_articles(root, table_of([row]), run_id="r1")
    assert not os.path.exists(root)


def test_accepts_a_dataframe(root):
    frame = table_of([article(1), article(2, section="world")]).to_pandas()
    result = merge_articles(root, frame, run_id="r1")
    assert result.new == 2
    assert read_articles(root)["authors"].map(list).tolist() == [["Writer One"], ["Writer One"]]


def test_stored_versions_and_index_follow_the_table(root):
    merge_articles(root, table_of([article(1), article(2)]), run_id="r1")
    versions = stored_versions(root, ["japannews:1", "japannews:404"])
    assert set(versions) == {"japannews:1"}
    modified, digest, url = versions["japannews:1"]
    assert (modified, digest, url) == (article(1)["modified_at"], article(1)["content_hash"], article(1)["url"])
    index = stored_index(root, site="japannews")
    assert index["japannews:2"]["modified_at"] == article(2)["modified_at"].isoformat()
    assert stored_index(root, site="othersite") == {}


def test_stale_index_after_crash_converges(root):
    """Simulate a crash after the partitions were written but before the index: restore the old
    index file. The next merge (and rebuild_index) must still find and correct every article."""
    merge_articles(root, table_of([article(1), article(2)]), run_id="r1")
    index_path = Path(paths.index_file(root, "japannews"))
    old_index = index_path.read_bytes()
    moved = article(1, section="world", revision=1, modified_delta=timedelta(hours=1))
    merge_articles(root, table_of([moved, article(3)]), run_id="r2")
    index_path.write_bytes(old_index)  # index now says japannews:1 is in politics, knows no japannews:3

    again = merge_articles(root, table_of([moved, article(3)]), run_id="r2")
    assert (again.unchanged, again.new, again.updated) == (2, 0, 0)
    assert again.rows_total == 3
    versions = stored_versions(root, ["japannews:1", "japannews:3"])
    assert versions["japannews:1"][1] == moved["content_hash"]
    assert "japannews:3" in versions

    index_path.write_bytes(old_index)
    rebuilt = rebuild_index(root)
    assert (rebuilt.rows, rebuilt.duplicates_removed) == (3, 0)
    assert set(stored_index(root)) == {"japannews:1", "japannews:2", "japannews:3"}


def test_crash_between_partitions_is_repaired_by_the_journal(root):
    """A move writes the new partition before emptying the old one. Leave the table in the state of a
    crash between the two (article in both, journal present, index old): the next merge repairs it."""
    merge_articles(root, table_of([article(1), article(2)]), run_id="r1")
    old_politics = Path(paths.articles_file(root, DAY, "politics", "japannews")).read_bytes()
    old_index = Path(paths.index_file(root, "japannews")).read_bytes()
    moved = article(1, section="world", revision=1, modified_delta=timedelta(hours=1))
    merge_articles(root, table_of([moved]), run_id="r2")
    journal = table_of([moved])
    pq.write_table(journal, paths.journal_file(root, "japannews"))
    Path(paths.articles_file(root, DAY, "politics", "japannews")).write_bytes(old_politics)
    Path(paths.index_file(root, "japannews")).write_bytes(old_index)
    assert sorted(read_articles(root)["article_id"]) == ["japannews:1", "japannews:1", "japannews:2"]

    result = merge_articles(root, table_of([article(5, section="sports")]), run_id="r3")
    assert result.recovered and result.new == 1
    assert not os.path.exists(paths.journal_file(root, "japannews"))
    df = read_articles(root)
    assert sorted(df["article_id"]) == ["japannews:1", "japannews:2", "japannews:5"]
    assert df.set_index("article_id").loc["japannews:1", "section"] == "world"


def test_rebuild_index_removes_duplicates_keeping_the_latest(root):
    merge_articles(root, table_of([article(1)]), run_id="r1")
    old = Path(paths.articles_file(root, DAY, "politics", "japannews")).read_bytes()
    newer = article(1, section="world", revision=1, modified_delta=timedelta(hours=1))
    merge_articles(root, table_of([newer]), run_id="r2")
    Path(paths.articles_file(root, DAY, "politics", "japannews")).write_bytes(old)  # an orphan copy, no journal
    rebuilt = rebuild_index(root)
    assert (rebuilt.rows, rebuilt.duplicates_removed) == (1, 1)
    assert read_articles(root)["section"].tolist() == ["world"]
    assert not os.path.exists(paths.articles_file(root, DAY, "politics", "japannews"))


def test_leftover_temp_files_are_swept_on_the_next_write(root):
    merge_articles(root, table_of([article(1)]), run_id="r1")
    stray = Path(paths.temp_path(paths.articles_file(root, DAY, "politics", "japannews"), "deadbeef"))
    stray.write_bytes(b"half a parquet file")
    assert len(read_articles(root)) == 1  # ignored by readers
    merge_articles(root, table_of([article(2)]), run_id="r2")
    assert not stray.exists()
