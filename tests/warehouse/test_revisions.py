from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from tests.warehouse.conftest import BASE_FETCH, article, table_of
from warehouse.articles import merge_articles
from warehouse.reader import read_articles, read_revisions


def files(root: str) -> dict[str, tuple[int, bytes]]:
    base = Path(root) / "article_revisions"
    return {str(p): (p.stat().st_mtime_ns, p.read_bytes()) for p in sorted(base.rglob("*")) if p.is_file()}


def test_every_distinct_version_is_kept_once(root):
    v0 = article(1)
    v1 = article(1, revision=1, body="Update one.", modified_delta=timedelta(hours=1))
    v2 = article(1, revision=2, body="Update two.", modified_delta=timedelta(hours=2), section="world")
    first = merge_articles(root, table_of([v0, article(2)]), run_id="r1")
    assert first.revisions_added == 2
    assert merge_articles(root, table_of([v2]), run_id="r2").revisions_added == 1
    late = merge_articles(root, table_of([v1]), run_id="r3")  # stale for articles, a new version here
    assert (late.stale, late.revisions_added) == (1, 1)

    revs = read_revisions(root)
    mine = revs[revs["article_id"] == "japannews:1"].sort_values("modified_at")
    assert mine["revision"].tolist() == [0, 1, 2]
    assert mine["content_hash"].tolist() == [v0["content_hash"], v1["content_hash"], v2["content_hash"]]
    assert mine["run_id"].tolist() == ["r1", "r3", "r2"]
    assert mine["section"].tolist() == ["politics", "politics", "world"]
    assert read_articles(root).set_index("article_id").loc["japannews:1", "revision"] == 2


def test_revisions_are_idempotent_and_keep_the_first_sighting(root):
    rows = [article(1), article(2, day=date(2024, 9, 5))]
    merge_articles(root, table_of(rows), run_id="r1")
    before = files(root)
    refetched = [article(1, fetched_at=BASE_FETCH + timedelta(days=1)), *rows]
    again = merge_articles(root, table_of(refetched), run_id="r2")
    assert again.revisions_added == 0
    assert files(root) == before
    revs = read_revisions(root)
    assert len(revs) == 2 and set(revs["run_id"]) == {"r1"}


def test_versions_within_one_batch_are_all_kept(root):
    rows = [article(1), article(1, revision=1, body="Later.", modified_delta=timedelta(hours=1))]
    result = merge_articles(root, table_of(rows), run_id="r1")
    assert (result.duplicates_in_batch, result.revisions_added) == (1, 2)
    assert len(read_articles(root)) == 1 and len(read_revisions(root)) == 2
