"""Issue 12: a demo day whose sitemap index also lists a generated archive of 60,000 URLs (gzipped
files of 20,000): discovery reads and filters every archive URL, keeps exactly the day's articles,
asks for no archive page, and hands article requests to the scheduler a batch at a time."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from core.timeutil import day_window
from crawler.spiders.news import ARTICLE_BATCH
from demo_site.bigsitemap import BigSitemaps
from demo_site.generator import DemoSite
from demo_site.server import DemoServer

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
DAY = date(2024, 9, 6)


def test_a_big_archive_is_read_whole_and_only_the_day_is_kept(tmp_path: Path) -> None:
    big = BigSitemaps(urls=60_000, per_file=20_000, gzip=True)
    with DemoServer(DemoSite(days=[DAY], articles_per_day=150), big_sitemaps=big) as server:
        cmd = [sys.executable, "-m", "crawler.run", "--site", "japannews", "--date", DAY.isoformat(),
               "--base-url", server.base_url, "--out", str(tmp_path), "--run-id", "big-test", "--delay", "0",
               "--concurrency", "8", "--retry-backoff", "0.05"]
        proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600)
        requested = [path for _, path in server.requests]
        start, end = day_window(DAY, "Asia/Tokyo")
        want = {r["url"] for r in server.truth() if r["date"] == DAY or start <= r["modified_at"] < end}
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads((tmp_path / "crawl.json").read_text("utf-8"))
    archive = {d["url"].rsplit("/", 1)[1]: d for d in report["discovery_documents"] if "sitemap-posttype-post.2024" in d["url"]
               and d["url"].endswith(".gz")}
    assert sorted(archive) == ["sitemap-posttype-post.20246.xml.gz", "sitemap-posttype-post.20247.xml.gz",
                               "sitemap-posttype-post.20248.xml.gz"]
    assert all(d["outcome"] == "ok" and d["detail"] == "20000 urls, 0 for the day" for d in archive.values())
    assert set(report["discovered_urls"]) == want and len(want) >= 150
    assert report["items_scraped"] == len(want)
    assert not [p for p in requested if "/news/archive/" in p], "an archive page was fetched"
    # article requests went to the scheduler a batch at a time, not all at once after discovery
    peak = re.search(r"article requests: \d+, at most (\d+) waiting at once", proc.stderr)
    assert peak is not None, proc.stderr[-2000:]
    assert ARTICLE_BATCH // 2 <= int(peak.group(1)) <= ARTICLE_BATCH < len(want)
