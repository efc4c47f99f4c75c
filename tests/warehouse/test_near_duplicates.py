"""``near_duplicate_of`` is filled by the merge: against the batch and the stored articles published
within three days, found through the index (no partition scan)."""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

import pyarrow.parquet as pq

from tests.warehouse.conftest import article, table_of
from transforms.fingerprint import hamming, simhash
from warehouse import paths
from warehouse.articles import merge_articles, rebuild_index
from warehouse.reader import read_articles_table

D1 = date(2024, 9, 2)
VOCAB = [f"term{n}" for n in range(400)]
TOPIC = VOCAB[:60]  # the words every story about the same topic shares


def story(seed: int, words: int = 220) -> list[str]:
    rng = random.Random(seed)
    return [rng.choice(TOPIC) if rng.random() < 0.5 else rng.choice(VOCAB) for _ in range(words)]


def reworded(words: list[str], max_bits: int = 3, seed: int = 0) -> list[str]:
    """The story with three words swapped for others: the first such edit whose SimHash stays within
    ``max_bits`` (most do; the loop makes the test independent of which)."""
    base = simhash(" ".join(words))
    for start in range(0, len(words) - 3):
        edit = list(words)
        for j in range(3):
            edit[(start + j * 7) % len(words)] = f"changed{seed}x{j}"
        if 0 < hamming(base, simhash(" ".join(edit))) <= max_bits:
            return edit
    raise AssertionError("no small edit kept the fingerprint close")


def row(native_id: int, words: list[str], day: date, **kw):
    body = " ".join(words)
    return article(native_id, day=day, body=body, simhash=simhash(body), **kw)


def stored(root: str) -> dict[str, str | None]:
    table = read_articles_table(root, columns=["article_id", "near_duplicate_of"])
    return dict(zip(table["article_id"].to_pylist(), table["near_duplicate_of"].to_pylist(), strict=True))


def snapshot(root: str) -> dict[str, tuple[int, bytes]]:
    return {
        str(p.relative_to(root)): (p.stat().st_mtime_ns, p.read_bytes())
        for p in sorted(Path(root).rglob("*"))
        if p.is_file() and "_locks" not in p.parts
    }


def test_reworded_copy_points_at_the_stored_original_similar_topic_does_not(root):
    original = story(1)
    copy, similar = reworded(original), story(2)
    assert hamming(simhash(" ".join(original)), simhash(" ".join(similar))) > 3  # the premise of the test
    merge_articles(root, table_of([row(1, original, D1), row(9, story(3), D1)]), run_id="r1")
    later = D1 + timedelta(days=2)
    merge_articles(root, table_of([row(2, copy, later), row(3, similar, later)]), run_id="r2")
    marks = stored(root)
    assert marks == {"japannews:1": None, "japannews:9": None, "japannews:2": "japannews:1", "japannews:3": None}


def test_clusters_within_one_batch_point_at_the_earliest(root):
    original = story(4)
    rows = [row(5, reworded(original), D1, hour=15), row(4, original, D1, hour=9), row(6, story(5), D1)]
    merge_articles(root, table_of(rows), run_id="r1")
    assert stored(root) == {"japannews:4": None, "japannews:5": "japannews:4", "japannews:6": None}


def test_outside_the_window_is_not_a_near_duplicate(root):
    original = story(6)
    merge_articles(root, table_of([row(1, original, D1)]), run_id="r1")
    merge_articles(root, table_of([row(2, reworded(original), D1 + timedelta(days=5))]), run_id="r2")
    assert stored(root) == {"japannews:1": None, "japannews:2": None}


def test_rerun_is_byte_identical_and_stored_rows_keep_their_head(root):
    """An earlier newcomer becomes the head of its cluster; the stored later copy is not rewritten
    (it keeps None), and re-running either load changes no file."""
    original = story(7)
    later = row(2, reworded(original), D1 + timedelta(days=1))
    merge_articles(root, table_of([later]), run_id="r1")
    earlier = row(1, original, D1)
    merge_articles(root, table_of([earlier]), run_id="r2")
    assert stored(root) == {"japannews:1": None, "japannews:2": None}
    before = snapshot(root)
    merge_articles(root, table_of([later]), run_id="r1")
    merge_articles(root, table_of([earlier, later]), run_id="r3")
    assert snapshot(root) == before

    # an update of the stored copy is re-clustered with what is stored now
    edited = reworded(original)
    update = row(2, edited, D1 + timedelta(days=1), revision=1, modified_delta=timedelta(hours=1))
    assert merge_articles(root, table_of([update]), run_id="r4").updated == 1
    assert stored(root)["japannews:2"] == "japannews:1"


def test_index_without_fingerprints_is_filled_by_rebuild(root):
    """An index written before fingerprints were indexed gives no candidates; rebuild_index fills it."""
    original = story(8)
    merge_articles(root, table_of([row(1, original, D1)]), run_id="r1")
    index = Path(paths.index_file(root, "japannews"))
    old = pq.read_table(index)
    pq.write_table(old.drop_columns(["published_at", "simhash"]), index)
    merge_articles(root, table_of([row(2, reworded(original), D1)]), run_id="r2")
    assert stored(root)["japannews:2"] is None
    rebuild_index(root)
    merge_articles(root, table_of([row(3, reworded(original, seed=1), D1)]), run_id="r3")
    assert stored(root)["japannews:3"] == "japannews:1"


def test_merges_never_chain_beyond_three_bits(root):
    """a, then b 3 bits from a, then c 3 bits from b but 6 from a (each a day later, separate loads):
    c is a near duplicate of b, not of a (single-link clustering gave a for both)."""
    later = D1 + timedelta(days=1)
    merge_articles(root, table_of([article(1, day=D1, simhash=0b0)]), run_id="r1")
    merge_articles(root, table_of([article(2, day=later, simhash=0b111)]), run_id="r2")
    merge_articles(root, table_of([article(3, day=later + timedelta(days=1), simhash=0b111111)]), run_id="r3")
    assert stored(root) == {"japannews:1": None, "japannews:2": "japannews:1", "japannews:3": "japannews:2"}
    # the same three in one batch
    other = root + "-batch"
    merge_articles(other, table_of([article(1, day=D1, simhash=0b0), article(2, day=later, simhash=0b111),
                                    article(3, day=later + timedelta(days=1), simhash=0b111111)]), run_id="r1")
    assert stored(other) == stored(root)
