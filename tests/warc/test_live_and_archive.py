"""An article seen in a live crawl and in an archive is one row: a live crawl of a JST day followed by
the archive ingest leaves the crawled rows unchanged, and the archive ingest followed by the live crawl
changes nothing at all. The collection is built with the demo server's own host (as the WARCs of a
team's own crawls of the site would be) and that host is routed to the site."""

from __future__ import annotations

import hashlib
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from demo_site.ccnews import CCNewsCollection
from newsline.ingest_warc import ingest_warc
from newsline.pipeline import RunSpec, run_day

pytestmark = pytest.mark.slow

JST_DAY = "2024-09-06"


def digest(root: Path, day: str | None = None) -> dict[str, str]:
    base = root / "articles"
    pattern = f"date={day}/**/*.parquet" if day else "**/*.parquet"
    return {str(p.relative_to(base)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(base.glob(pattern))}


def rows(tmp_path: Path) -> dict[str, str]:
    from warehouse.reader import read_articles

    frame = read_articles(str(tmp_path / "warehouse"))
    return {r["article_id"]: repr(sorted(r.items())) for r in frame.to_dict("records")}


def crawl(server, tmp_path: Path, run_id: str) -> dict:
    return run_day(RunSpec(site="japannews", day=JST_DAY, run_id=run_id, overrides={
        "warehouse": str(tmp_path / "warehouse"), "staging": str(tmp_path / "runs"), "base_url": server.base_url,
        "download_delay": 0, "concurrency_per_domain": 8}))


def ingest_all(coll: CCNewsCollection, root: Path, tmp_path: Path, hosts: dict[str, str]) -> list[dict]:
    days = sorted({f.started.date() for f in coll.files})
    ov = {"warehouse": str(tmp_path / "warehouse"), "staging": str(tmp_path / "runs")}
    return [ingest_warc(d, collection=str(root), overrides=ov, extra_hosts=hosts) for d in days]


@pytest.fixture
def world(tmp_path):
    from demo_site.server import DemoServer

    with DemoServer(port=0) as server:
        coll = CCNewsCollection(base_url=server.base_url)
        root = tmp_path / "collection"
        coll.write(root)
        yield server, coll, root, {urlsplit(server.base_url).netloc: "japannews"}


def test_live_crawl_then_archive(world, tmp_path) -> None:
    server, coll, root, hosts = world
    crawled = crawl(server, tmp_path, "live-1")
    assert crawled["articles_new"] > 20
    day_files = digest(tmp_path / "warehouse", JST_DAY)
    before = rows(tmp_path)
    summaries = ingest_all(coll, root, tmp_path, hosts)
    assert sum(s["sites"]["japannews"]["new"] for s in summaries) > 0  # other days arrive
    assert digest(tmp_path / "warehouse", JST_DAY) == day_files  # the crawled day is untouched
    after = rows(tmp_path)
    # every row the crawl stored (including older articles modified that day) is exactly as it was
    assert {k: after[k] for k in before} == before


def test_archive_then_live_crawl(world, tmp_path) -> None:
    server, coll, root, hosts = world
    ingest_all(coll, root, tmp_path, hosts)
    before = digest(tmp_path / "warehouse")
    summary = crawl(server, tmp_path, "live-2")
    assert summary["articles_new"] == summary["articles_updated"] == 0
    assert digest(tmp_path / "warehouse") == before
