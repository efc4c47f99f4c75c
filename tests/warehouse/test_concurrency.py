"""Two processes merging into the same partitions at the same time lose nothing."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest

from tests.warehouse import merge_worker
from tests.warehouse.conftest import article, table_of
from warehouse import paths
from warehouse.articles import merge_articles
from warehouse.reader import read_revisions, stored_index
from warehouse.staging import write_table
from warehouse.storage import LocalStorage, LockTimeout

SECTIONS = ("politics", "world")


def stage_batches(tmp_path, name: str, first_id: int, shared_revision: int) -> list[str]:
    files = []
    for b in range(8):
        rows = [article(first_id + b * 4 + j, day=date(2024, 9, 6), section=SECTIONS[j % 2]) for j in range(4)]
        # both writers keep updating article 1; the higher revision must win whatever the interleaving
        rows.append(article(1, revision=shared_revision + b, body=f"{name} {b}", modified_delta=timedelta(minutes=b)))
        path = tmp_path / f"{name}-{b}.parquet"
        write_table(path, table_of(rows))
        files.append(str(path))
    return files


def test_two_writers_lose_no_rows(tmp_path):
    root = str(tmp_path / "wh")
    merge_articles(root, table_of([article(1)]), run_id="seed")
    ctx = merge_worker.context()
    start = ctx.Event()
    writers = []
    for name, first_id, rev in (("x", 100, 1), ("y", 200, 11)):
        ready = ctx.Event()
        batches = stage_batches(tmp_path, name, first_id, rev)
        proc = ctx.Process(target=merge_worker.merge_batches, args=(root, batches, None, ready, start))
        proc.start()
        assert ready.wait(60)
        writers.append(proc)
    start.set()
    for proc in writers:
        proc.join(120)
        assert proc.exitcode == 0

    df = pd.read_parquet(root + "/articles")
    expected = (
        {"japannews:1"} | {f"japannews:{i}" for i in range(100, 132)} | {f"japannews:{i}" for i in range(200, 232)}
    )
    assert sorted(df["article_id"]) == sorted(expected)  # each exactly once
    assert set(stored_index(root)) == expected
    latest = df.set_index("article_id").loc["japannews:1"]
    assert (latest["revision"], latest["body"]) == (18, "y 7")
    # every version either writer loaded is in the revisions dataset
    revs = read_revisions(root)
    assert len(revs[revs["article_id"] == "japannews:1"]) == 1 + 16


def test_a_held_lock_makes_a_writer_wait_then_give_up(tmp_path):
    root = str(tmp_path / "wh")
    store = LocalStorage(root)
    with store.lock(paths.lock_file(root, "japannews"), timeout=1), pytest.raises(LockTimeout):
        merge_articles(root, table_of([article(1)]), run_id="r1", lock_timeout=0.3)
    assert not (tmp_path / "wh" / "articles").exists()
    assert merge_articles(root, table_of([article(1)]), run_id="r1", lock_timeout=1).new == 1
