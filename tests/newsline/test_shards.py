"""Sharded crawls against the demo site: discovery once, the day's article URLs split into the profile's
shards, the shards crawled at once (as many as the site's pool has slots) and merged into the one crawl
output the rest of the pipeline reads; the site's politeness holds across shards, shown from the demo
site's request log; the run folder works on the S3 API as well (workers that share no disk)."""

from __future__ import annotations

import json
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from core.timeutil import day_window
from tests.s3server import moto_s3

pytestmark = pytest.mark.integration

DAY = date(2024, 9, 6)
DELAY = 0.25  # the profile's politeness.delay: one request per DELAY on average per crawler process
SLOTS = 2  # the profile's politeness.pool_slots: crawler processes of the site at once
SHARDS = 4
JITTER = 0.5  # the bound below holds for any DOWNLOAD_DELAY_JITTER up to Scrapy's usual 0.5 (ours is 0: fixed gaps)


def _day_urls(server) -> list[str]:
    start, end = day_window(DAY, "Asia/Tokyo")
    return sorted({r["url"] for r in server.truth() if r["date"] == DAY or start <= r["modified_at"] < end})


def _use_site(mp: pytest.MonkeyPatch, tmp, server, *, staging: str, shard_size: int | None = None,
              archive: str | None = None) -> None:
    from newsline.demo import sites_dir_with

    urls = _day_urls(server)
    sites = sites_dir_with(tmp / "sites", {"japannews": {
        "crawl": {"shard_size": shard_size or -(-len(urls) // SHARDS), "max_shards": SHARDS},
        "politeness": {"delay": DELAY, "concurrency": 2, "pool_slots": SLOTS}}})
    mp.setenv("NEWSLINE_SITES_DIR", str(sites))
    mp.setenv("NEWSLINE_WAREHOUSE", str(tmp / "warehouse"))
    mp.setenv("NEWSLINE_STAGING", staging)
    mp.setenv("NEWSLINE_BASE_URL_JAPANNEWS", server.base_url)
    for name in ("NEWSLINE_DOWNLOAD_DELAY", "NEWSLINE_CONCURRENCY", "NEWSLINE_PAGE_BUDGET", "NEWSLINE_ARCHIVE"):
        mp.delenv(name, raising=False)  # the profile's politeness, not an environment override
    if archive is not None:
        mp.setenv("NEWSLINE_ARCHIVE", archive)


def _sharded_day(spec, slots: int = SLOTS) -> tuple[list[int], list[dict], dict, float, float]:
    """discover → the shards, ``slots`` at a time (what the site's Airflow pool does) → merge."""
    from newsline import pipeline as P

    shards = P.discover(spec)
    started = time.time()
    with ThreadPoolExecutor(max_workers=slots) as pool:
        results = list(pool.map(lambda n: P.crawl_shard(spec, n), shards))
    finished = time.time()
    return shards, results, P.merge_shards(spec, len(shards)), started, finished


@pytest.fixture(scope="module")
def local_day(tmp_path_factory):
    from demo_site.server import DemoServer
    from newsline import pipeline as P

    tmp = tmp_path_factory.mktemp("shards")
    with DemoServer(port=0) as server, pytest.MonkeyPatch.context() as mp:
        _use_site(mp, tmp, server, staging=str(tmp / "runs"), archive=str(tmp / "raw"))
        spec = P.RunSpec(site="japannews", day=DAY.isoformat(), run_id="sharded-1")
        server.clear_requests()
        shards, results, crawled, started, finished = _sharded_day(spec)
        log = server.timed_requests
        cleaned = P.transform(spec)
        loaded = P.load(spec)
        summary = P.summarize(spec, crawled, cleaned, loaded)
        # the same day again: discovery skips every unchanged article, nothing is fetched
        again = P.RunSpec(site="japannews", day=DAY.isoformat(), run_id="sharded-2")
        server.clear_requests()
        shards2, _, crawled2, _, _ = _sharded_day(again)
        log2 = server.timed_requests
        summary2 = P.summarize(again, crawled2, P.transform(again), P.load(again))
        yield {"tmp": tmp, "server": server, "spec": spec, "shards": shards, "results": results,
               "crawled": crawled, "window": (started, finished), "log": log, "summary": summary,
               "urls": _day_urls(server), "shards2": shards2, "crawled2": crawled2, "log2": log2,
               "summary2": summary2, "run2": again.run_dir}


def test_one_discovery_split_into_the_profiles_shards(local_day) -> None:
    from newsline.pipeline import SHARD_URLS_DIR

    urls = local_day["urls"]
    assert local_day["shards"] == list(range(SHARDS))
    run = local_day["spec"].run_dir
    given = [[json.loads(x)["url"] for x in (run / SHARD_URLS_DIR / f"{n:03d}.jsonl").read_text().splitlines()]
             for n in range(SHARDS)]
    assert sorted(u for part in given for u in part) == urls, "every URL in exactly one shard"
    assert max(map(len, given)) - min(map(len, given)) <= 1
    discovery_reads = [t for _, _, t in local_day["log"] if "sitemap" in t or t == "/robots.txt"]
    assert discovery_reads and not any("sitemap" in t and discovery_reads.count(t) > 1 for t in discovery_reads), \
        "each sitemap read once, by the discovery run"
    # robots.txt too: the shards obey the copy the discovery run saved (the same rules for the whole day)
    assert discovery_reads.count("/robots.txt") == 1, discovery_reads
    saved = (run / "discover" / "robots.json").read_bytes()
    assert all((run / "shards" / f"{n:03d}" / "robots.json").read_bytes() == saved for n in range(SHARDS))
    assert [r["pages_fetched"] for r in local_day["results"]] == [len(p) for p in given]


def test_the_merged_crawl_is_one_day_loaded_once(local_day) -> None:
    from warehouse.reader import read_articles

    crawled, summary, urls = local_day["crawled"], local_day["summary"], local_day["urls"]
    assert crawled["articles_discovered"] == len(urls) and crawled["shards"] == SHARDS
    assert crawled["pages_fetched"] == crawled["items_scraped"] == len(urls)
    assert crawled["pages_failed"] == 0 and crawled["finish_reason"] == "finished"
    assert crawled["discovered_by_source"]["sitemap"] == len(urls)
    assert summary["status"] == "ok" and summary["articles_new"] == len(urls)
    run = local_day["spec"].run_dir
    items = (run / "crawl" / "items.jsonl").read_text().splitlines()
    assert sorted(json.loads(x)["canonical_url"] for x in items) == urls
    stored = read_articles(str(local_day["tmp"] / "warehouse"))
    assert sorted(stored["url"]) == urls
    # the merged WARC holds every page once: a reprocess of the day reads the sharded day as any other
    from crawler.replay import replay_archives

    out = local_day["tmp"] / "replay"
    replay = replay_archives([run / "crawl" / "archive.warc.gz"], site="japannews", day=DAY, out_dir=out,
                             run_id="replay")
    assert replay["items_scraped"] == len(urls)


def test_politeness_holds_across_shards(local_day) -> None:
    """The request log of the shard phase: SLOTS crawler processes at once, each spacing its requests by
    at least DELAY × (1 - JITTER), so no window of W seconds sees more than SLOTS × (W / (DELAY ×
    (1 - JITTER)) + 1) requests, and the average rate stays within SLOTS / DELAY, the profile's allowance."""
    started, finished = local_day["window"]
    times = sorted(t for t, _, target in local_day["log"] if started <= t <= finished)
    assert len(times) >= len(local_day["urls"])
    # the shards did run at once: their crawls overlap in time
    run = local_day["spec"].run_dir
    spans = [json.loads((run / "shards" / f"{n:03d}" / "crawl.json").read_text()) for n in range(SHARDS)]
    from datetime import datetime

    intervals = sorted((datetime.fromisoformat(s["started_at"]), datetime.fromisoformat(s["finished_at"]))
                       for s in spans)
    assert any(b[0] < a[1] for a, b in zip(intervals, intervals[1:], strict=False)), "no two shards overlapped"
    gap = DELAY * (1 - JITTER)
    for window in (1.0, 2.0, 4.0):
        limit = SLOTS * (int(window / gap) + 1)
        peak = max(sum(1 for u in times[i:] if u < t + window) for i, t in enumerate(times))
        print(f"\npeak requests in {window:.0f} s: {peak} (bound {limit})")
        assert peak <= limit, (window, peak, limit)
    rate = (len(times) - 1) / (times[-1] - times[0])
    allowed = SLOTS / DELAY
    print(f"shard phase: {len(times)} requests, {rate:.2f} req/s, profile allows {allowed:.2f} req/s "
          f"({SLOTS} slots × 1/{DELAY} s); {rate / allowed:.0%} of the allowance")
    assert rate <= allowed


def _parts(run) -> list:
    """The folders a merge joins: the discovery run's and every shard's."""
    from newsline.pipeline import DISCOVER_DIR, SHARDS_DIR

    return [run / DISCOVER_DIR] + sorted((run / SHARDS_DIR).iterdir())


def _bulky(run) -> list[str]:
    """Every file of the run folder that ``merge_shards`` joins (items, rejections, WARC), relative to it."""
    from newsline.pipeline import MERGED_FILES

    return sorted(str(p.relative_to(run)) for p in run.rglob("*") if p.name in MERGED_FILES)


def _snapshot(files) -> dict:
    """Each file's inode, modification time and bytes: equal snapshots mean nothing was rewritten."""
    return {p: (p.stat().st_ino, p.stat().st_mtime_ns, p.read_bytes()) for p in files}


def test_after_the_merge_the_parts_keep_their_reports_not_a_second_copy(local_day) -> None:
    """A merged sharded day stores its items, rejections and WARC once in its run folder (``crawl/``, each
    article once) and its WARC once in the archive: the discovery run and every shard keep only what
    documents them (crawl.json, whose per-shard counts add up to the day's, crawler.log, their URL lists,
    the robots.txt they obeyed)."""
    from newsline.pipeline import CRAWL_DIR, MERGED_FILES, SHARD_URLS_DIR
    from warehouse.paths import archive_location

    spec, urls = local_day["spec"], local_day["urls"]
    run = spec.run_dir
    assert _bulky(run) == sorted(f"{CRAWL_DIR}/{name}" for name in MERGED_FILES)
    discovery, *shards = _parts(run)
    assert sorted(p.name for p in discovery.iterdir()) == ["article_urls.jsonl", "crawl.json", "crawler.log",
                                                           "robots.json"]
    assert len(shards) == SHARDS
    for shard in shards:
        assert sorted(p.name for p in shard.iterdir()) == ["crawl.json", "crawler.log", "robots.json",
                                                           "shard_urls.jsonl"]
        assert (run / SHARD_URLS_DIR / f"{shard.name}.jsonl").is_file()
    counts = [json.loads((shard / "crawl.json").read_text())["items_scraped"] for shard in shards]
    assert sum(counts) == local_day["crawled"]["items_scraped"] == len(urls) and all(counts)
    items = [json.loads(x)["canonical_url"] for x in (run / CRAWL_DIR / "items.jsonl").read_text().splitlines()]
    assert Counter(items) == Counter(urls), "every article of the day exactly once"
    archived = Path(archive_location(str(local_day["tmp"] / "raw"), "japannews", DAY, spec.run_id))
    assert archived.read_bytes() == (run / CRAWL_DIR / "archive.warc.gz").read_bytes()


def test_a_retried_merge_returns_the_published_crawl_untouched(local_day) -> None:
    """The merge run again after it cleaned its parts (an Airflow retry of ``transform``) returns the same
    result from the published ``crawl/`` without the deleted files, and rewrites nothing: the files of
    ``crawl/`` and the archive copy are the very same (inode, modification time, bytes)."""
    from newsline import pipeline as P
    from warehouse.paths import archive_location

    spec = local_day["spec"]
    run = spec.run_dir
    archived = Path(archive_location(str(local_day["tmp"] / "raw"), "japannews", DAY, spec.run_id))
    before = _snapshot([*sorted((run / P.CRAWL_DIR).iterdir()), archived])
    assert P.merge_shards(spec, SHARDS) == local_day["crawled"]
    assert _snapshot(before) == before
    assert _bulky(run) == sorted(f"{P.CRAWL_DIR}/{name}" for name in P.MERGED_FILES)


def test_a_merge_killed_while_cleaning_up_converges_on_retry(tmp_path) -> None:
    """The merge dies after publishing ``crawl/``, having deleted the discovery run's files and no shard's
    (the cleanup made to raise once: a fault no real part produces on demand). Nothing is lost: ``crawl/``
    is whole, the shards still hold their files. The retry returns the day's counts from the published
    ``crawl/`` without rewriting it and finishes the cleanup. A shard crawled again afterwards is refused
    by the merge (the other parts' pages are no longer there to join) instead of publishing a day
    without them, and ``crawl/`` stays as it was."""
    import warehouse.staging
    from demo_site.server import DemoServer
    from newsline import pipeline as P

    with DemoServer(port=0) as server, pytest.MonkeyPatch.context() as mp:
        urls = _day_urls(server)
        _use_site(mp, tmp_path, server, staging=str(tmp_path / "runs"))
        spec = P.RunSpec(site="japannews", day=DAY.isoformat(), run_id="killed")
        shards = P.discover(spec)
        for shard in shards:
            P.crawl_shard(spec, shard)
        run = spec.run_dir
        delete_files = warehouse.staging.delete_files

        def killed_midway(paths) -> None:
            delete_files(list(paths)[:len(P.MERGED_FILES)])  # the discovery run's files
            raise OSError("killed while deleting")

        with pytest.MonkeyPatch.context() as fault:
            fault.setattr(warehouse.staging, "delete_files", killed_midway)
            with pytest.raises(OSError, match="killed while deleting"):
                P.merge_shards(spec, len(shards))
        assert len(shards) == SHARDS
        assert _bulky(run) == sorted([*(f"{P.CRAWL_DIR}/{n}" for n in P.MERGED_FILES),
                                      *(f"{P.SHARDS_DIR}/{s:03d}/{n}" for s in shards for n in P.MERGED_FILES)])
        items = [json.loads(x)["canonical_url"] for x in (run / P.CRAWL_DIR / "items.jsonl").read_text().splitlines()]
        assert Counter(items) == Counter(urls), "crawl/ was published whole before any part was cleaned"
        published = _snapshot(sorted((run / P.CRAWL_DIR).iterdir()))

        retried = P.merge_shards(spec, len(shards))
        assert retried["mode"] == "sharded" and retried["shards"] == SHARDS
        assert retried["items_scraped"] == retried["pages_fetched"] == len(urls)
        assert _snapshot(published) == published
        assert _bulky(run) == sorted(f"{P.CRAWL_DIR}/{name}" for name in P.MERGED_FILES)
        assert P.merge_shards(spec, len(shards)) == retried

        P.crawl_shard(spec, 1)
        with pytest.raises(P.RunFailed, match=r"discover has no items\.jsonl"):
            P.merge_shards(spec, len(shards))
    assert _snapshot(published) == published
    assert not list(run.glob(".crawl-*")), "the refused merge left its private folder behind"


def test_a_second_run_skips_every_unchanged_article_in_discovery(local_day) -> None:
    urls = local_day["urls"]
    crawled, summary = local_day["crawled2"], local_day["summary2"]
    assert local_day["shards2"] == [], "nothing to fetch: the discovery run is the day's whole crawl"
    assert crawled["mode"] == "crawl" and crawled["shards"] == 0
    assert crawled["pages_skipped_unchanged"] == len(urls) and crawled["pages_fetched"] == 0
    assert summary["status"] == "ok" and summary["articles_new"] == 0
    paths = {urlsplit(u).path for u in urls}
    assert not [t for _, _, t in local_day["log2"] if urlsplit(t).path in paths], "an unchanged article was fetched"
    # the known index was the crawler's input only (32 bytes a stored article): not kept in the run folder
    assert not list(local_day["run2"].rglob("known_index*")), sorted(local_day["run2"].rglob("*"))


@pytest.mark.parametrize("spare", [0, -1], ids=["exactly-one-shard", "one-url-over"])
def test_a_day_of_one_shard_is_fetched_by_its_discovery_run(tmp_path, spare: int) -> None:
    """``shard_size`` equal to the day's URL count: the discovery process fetches them itself (one
    crawler process, no shard); one URL fewer: two shards, discovery fetches nothing. Either way every
    article is fetched exactly once and the day is loaded whole."""
    from demo_site.server import DemoServer
    from newsline import pipeline as P
    from warehouse.reader import read_articles

    with DemoServer(port=0) as server, pytest.MonkeyPatch.context() as mp:
        urls = _day_urls(server)
        _use_site(mp, tmp_path, server, staging=str(tmp_path / "runs"), shard_size=len(urls) + spare)
        spec = P.RunSpec(site="japannews", day=DAY.isoformat(), run_id="small")
        server.clear_requests()
        shards, _, crawled, _, _ = _sharded_day(spec)
        log = server.timed_requests
        summary = P.summarize(spec, crawled, P.transform(spec), P.load(spec))
        run = spec.run_dir
    # a day fetched by its discovery run is published as the day's crawl/ once (no discover/ copy beside it)
    discovery = json.loads((run / (P.CRAWL_DIR if spare == 0 else P.DISCOVER_DIR) / "crawl.json").read_text())
    fetched = sorted(t for _, _, t in log if t in {urlsplit(u).path for u in urls})
    assert fetched == sorted(urlsplit(u).path for u in urls), "each article fetched exactly once"
    if spare == 0:
        assert shards == [] and not (run / P.SHARDS_DIR).exists() and not (run / P.DISCOVER_DIR).exists()
        assert discovery["mode"] == "crawl" and discovery["pages_fetched"] == len(urls)
        assert all(m["ok"] for m in discovery["monitors"]), discovery["monitors"]
        assert crawled["mode"] == "crawl" and crawled["shards"] == 0
    else:
        assert shards == [0, 1] and discovery["mode"] == "discover" and discovery["pages_fetched"] == 0
        assert crawled["mode"] == "sharded" and crawled["shards"] == 2
    assert crawled["pages_fetched"] == crawled["items_scraped"] == len(urls)
    assert summary["status"] == "ok" and summary["articles_new"] == len(urls)
    assert sorted(read_articles(str(tmp_path / "warehouse"))["url"]) == urls
    # the WARC of the day holds every article page either way (a reprocess reads it as any other)
    from crawler.replay import replay_archives

    replay = replay_archives([run / "crawl" / "archive.warc.gz"], site="japannews", day=DAY,
                             out_dir=tmp_path / "replay", run_id="replay")
    assert replay["items_scraped"] == len(urls)


def test_fetch_if_at_most_needs_discover_only(tmp_path) -> None:
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "crawler.run", "--site", "japannews", "--date", DAY.isoformat(),
                           "--base-url", "http://127.0.0.1:9/", "--out", str(tmp_path), "--run-id", "x",
                           "--fetch-if-at-most", "5"], capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert proc.stderr.strip() == "crawler.run: --fetch-if-at-most needs --discover-only and a number of URLs (0 or more)"


def test_shards_through_the_s3_api(tmp_path) -> None:
    """Staging on the S3 API (moto server): shard URL files and shard outputs go through the storage layer,
    each crawl uses only a private temporary folder, the merged day lands in the warehouse."""
    from demo_site.server import DemoServer
    from newsline import pipeline as P
    from warehouse.reader import read_articles
    from warehouse.staging import list_files

    with moto_s3("runs"), DemoServer(port=0) as server, pytest.MonkeyPatch.context() as mp:
        _use_site(mp, tmp_path, server, staging="s3://runs/staging")
        spec = P.RunSpec(site="japannews", day=DAY.isoformat(), run_id="s3-sharded")
        shards, _, crawled, _, _ = _sharded_day(spec)
        summary = P.summarize(spec, crawled, P.transform(spec), P.load(spec))
        urls = _day_urls(server)
        files = list_files("s3://runs/staging")
    assert shards == list(range(SHARDS)) and summary["status"] == "ok"
    assert summary["articles_new"] == len(urls)
    assert sorted(read_articles(str(tmp_path / "warehouse"))["url"]) == urls
    names = {f.split("/s3-sharded/", 1)[1] for f in files if "/s3-sharded/" in f}
    assert {f"shard-urls/{n:03d}.jsonl" for n in range(SHARDS)} <= names
    assert {f"shards/{n:03d}/crawl.json" for n in range(SHARDS)} <= names
    assert {"discover/article_urls.jsonl", "crawl/items.jsonl", "crawl/archive.warc.gz", "summary.json"} <= names
    merged = sorted(name for name in names if name.rsplit("/", 1)[-1] in P.MERGED_FILES)
    assert merged == sorted(f"crawl/{name}" for name in P.MERGED_FILES), "a part kept a merged file"
    assert not (tmp_path / "runs").exists(), "nothing of the run was staged on the local disk"
