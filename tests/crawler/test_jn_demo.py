"""The crawler against the demo site (demo_site/): discovery equals the site's truth for the day, and
every parsed page agrees with the ground truth field by field."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from crawler_truthview import differences

from core.timeutil import day_window

demo_site = pytest.importorskip("demo_site.server", reason="demo_site/ not available")

REPO = Path(__file__).resolve().parents[2]
DAY = date(2024, 9, 6)


@pytest.fixture(scope="module")
def demo():
    server = demo_site.DemoServer(port=0).start()
    yield server
    server.stop()


def expected_urls(truth: list[dict], day: date) -> set[str]:
    start, end = day_window(day, "Asia/Tokyo")
    return {r["url"] for r in truth if r["date"] == day or start <= r["modified_at"] < end}


@pytest.fixture(scope="module")
def crawl(demo, tmp_path_factory):
    out = tmp_path_factory.mktemp("demo-crawl")
    cmd = [sys.executable, "-X", "importtime", "-m", "crawler.run", "--site", "japannews", "--date", DAY.isoformat(),
           "--base-url", demo.base_url, "--out", str(out), "--run-id", "demo-test", "--delay", "0",
           "--concurrency", "8", "--retry-backoff", "0.05"]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    report = json.loads((out / "crawl.json").read_text("utf-8"))
    items = [json.loads(line) for line in (out / "items.jsonl").read_text("utf-8").splitlines()]
    return proc, report, items


def test_discovered_urls_equal_the_truth_of_the_day(demo, crawl) -> None:
    proc, report, items = crawl
    assert proc.returncode == 0, proc.stderr[-3000:]
    want = expected_urls(demo.truth(), DAY)
    assert want, "the demo day has articles"
    assert set(report["discovered_urls"]) == want
    assert {i["canonical_url"] for i in items} == want
    assert report["items_scraped"] == len(want) and report["pages_failed"] == 0 and report["pages_blocked"] == 0
    touched = [t for _, t in demo.requests]
    assert not any(t.startswith(("/_newsline/", "/private-archive", "/attachment/", "/author/")) for t in touched)


def test_the_crawler_process_imports_only_what_it_uses(crawl) -> None:
    """A crawler process starts for every shard: pyarrow, numpy and pandas (~0.07 s of imports) belong
    to the transform and the load; aiohttp and tldextract (~0.15 s) only to Scrapy components that are
    switched off (the remote control, the cookies middleware)."""
    proc, _, _ = crawl
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    assert "scrapy" in imported, "the import log is there"
    unused = {"pyarrow", "numpy", "pandas", "s3fs", "aiohttp", "tldextract"}
    assert sorted(m for m in imported if m.split(".")[0] in unused) == []


def test_a_switched_on_component_stays_in_scrapys_base_list() -> None:
    from scrapy.settings import Settings

    from crawler.run import leave_out_switched_off

    cookies = "scrapy.downloadermiddlewares.cookies.CookiesMiddleware"
    for enabled in (False, True):
        settings = Settings()
        settings.setmodule("crawler.settings", priority="project")
        settings.set("COOKIES_ENABLED", enabled, priority="cmdline")
        leave_out_switched_off(settings)
        assert (cookies in settings.getdict("DOWNLOADER_MIDDLEWARES_BASE")) is enabled
        assert "scrapy.extensions.remote_control.RemoteControl" not in settings.getdict("EXTENSIONS_BASE")
        assert "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware" in settings.getdict(
            "DOWNLOADER_MIDDLEWARES_BASE"), "the others stay"


def test_every_item_matches_the_ground_truth(demo, crawl) -> None:
    _, _, items = crawl
    truth = {r["url"]: r for r in demo.truth()}
    problems = {i["canonical_url"]: d for i in items if (d := differences(i, truth[i["canonical_url"]]))}
    assert not problems, json.dumps(problems, ensure_ascii=False, indent=1, default=str)[:4000]


def test_rerun_with_known_index_fetches_nothing_unchanged(demo, crawl, tmp_path: Path) -> None:
    """Incremental: what the first crawl stored (article_id → modified time) makes a re-run skip every
    article, though the sitemap's lastmod carries seconds and the stored time only minutes."""
    _, report, items = crawl
    known = tmp_path / "known.json"
    known.write_text(json.dumps({f"japannews:{i['native_id']}": i["modified_time"] for i in items}))
    demo.clear_requests()
    out = tmp_path / "again"
    proc = subprocess.run(
        [sys.executable, "-m", "crawler.run", "--site", "japannews", "--date", DAY.isoformat(), "--base-url",
         demo.base_url, "--out", str(out), "--run-id", "demo-rerun", "--delay", "0", "--known-index", str(known)],
        cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    again = json.loads((out / "crawl.json").read_text("utf-8"))
    assert again["articles_discovered"] == report["articles_discovered"]
    assert again["pages_skipped_unchanged"] == report["articles_discovered"] and again["items_scraped"] == 0
    fetched_articles = [t for _, t in demo.requests if t.count("/") >= 3 and "-" in t and not t.endswith(".xml")]
    assert fetched_articles == []


def test_listing_and_feed_fallback_find_the_days_publications(demo, tmp_path: Path) -> None:
    demo.clear_requests()
    proc = subprocess.run(
        [sys.executable, "-m", "crawler.run", "--site", "japannews", "--date", DAY.isoformat(), "--base-url",
         demo.base_url, "--out", str(tmp_path), "--run-id", "demo-fallback", "--delay", "0", "--concurrency", "8",
         "--fallback", "always", "--page-budget", "1"],
        cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads((tmp_path / "crawl.json").read_text("utf-8"))
    published = {r["url"] for r in demo.truth() if r["date"] == DAY}
    listed = {u for u in report["discovered_urls"]}
    assert published <= listed and report["discovered_by_source"]["listing"] == len(published)
    pages = [t for _, t in demo.requests if t.startswith("/latestnews/")]
    # pagination stops at the first page that reaches past the day (listings are newest first)
    import math
    import urllib.request

    first_page = urllib.request.urlopen(demo.base_url + "latestnews/").read().decode("utf-8")
    per_page = first_page.count('<li class="clearfix">')
    newest_first = sorted(demo.truth(), key=lambda r: r["published_at"], reverse=True)
    first_older = next(k for k, r in enumerate(newest_first) if r["date"] < DAY)
    assert len(pages) == math.floor(first_older / per_page) + 1, (pages, per_page, first_older)
