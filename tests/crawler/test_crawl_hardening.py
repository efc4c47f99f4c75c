"""Issue 11 (crawler): sitemap caps, dropped requests, time budgets, slow discovery, decoding, Scrapy CLI.

Each test runs ``python -m crawler.run`` in a subprocess against the scriptable mini site."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from crawler_minisite import MiniSite, standard_site
from test_jn_spider import DAY, jsonl, paths, run_crawl


@pytest.fixture
def site():
    s, expected = standard_site(DAY)
    s.start()
    s.expected = expected  # type: ignore[attr-defined]
    yield s
    s.stop()


def _index(base: str, locs: list[str]) -> tuple[int, dict[str, str], bytes]:
    body = ['<?xml version="1.0" encoding="UTF-8"?>', '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">']
    body += [f"<sitemap><loc>{base}{loc}</loc></sitemap>" for loc in locs]
    body.append("</sitemapindex>")
    return 200, {"Content-Type": "application/xml"}, "\n".join(body).encode()


def test_sitemap_variants_are_deduplicated_and_capped_and_reported(site: MiniSite, tmp_path: Path) -> None:
    """3,000 query-string spellings of the month's sitemap are one document; 300 distinct followed
    indexes stop at the profile's cap (200 sitemaps), and crawl.json says how many were skipped."""
    month = "sitemap-posttype-post.202410.xml"
    variants = [f"{month}?v={n}" for n in range(3000)]
    nested = [f"sitemap-extra-index-{n}.xml" for n in range(300)]
    older = MiniSite.month_name(2024, 9)  # an older story was modified on the day
    site.routes["/sitemap.xml"] = _index(site.base_url, [month, *variants, older, *nested, "sitemap-news.xml"])
    proc, report = run_crawl(site, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    fetched = site.fetched_paths()
    month_fetches = [p for p in fetched if p.lstrip("/").startswith(month)]
    assert month_fetches == [f"/{month}"], f"{len(month_fetches)} requests for one monthly sitemap"
    sitemap_requests = [p for p in fetched if p.endswith(".xml") or ".xml?" in p]
    assert len(sitemap_requests) <= 200
    assert report["sitemaps_duplicate"] == 3000
    followed = {d["url"] for d in report["discovery_documents"] if d["source"] in ("sitemap", "news_sitemap")}
    assert len(followed) == 200  # the cap: sitemap.xml, two months, the news sitemap and 196 nested indexes
    assert report["sitemaps_skipped"] == 300 - 196
    assert len(report["sitemaps_skipped_sample"]) == 20
    assert all("sitemap-extra-index-" in u for u in report["sitemaps_skipped_sample"])
    assert paths(report["discovered_urls"], site.base_url) == site.expected
    assert len(report["discovery_documents"]) < 250, "one document entry per skipped sitemap bloats crawl.json"
    assert jsonl(tmp_path / "rejections.jsonl") == []


REDIRECT_TARGETS = ("http://localhost:{port}/x/", "http://127.1:{port}/x/", "http://2130706433:{port}/x/",
                    "http://[::ffff:127.0.0.1]:{port}/x/")


def test_dropped_redirects_get_their_true_reason_and_count_as_failed(site: MiniSite, tmp_path: Path) -> None:
    """Redirects to another spelling of the host and a redirect loop: Scrapy's own filters drop them
    without calling the errback; each must still come out as a failed page with its reason."""
    port = int(site.base_url.rsplit(":", 1)[1].strip("/"))
    targets = sorted(site.expected)
    offsite = dict(zip(targets[:4], REDIRECT_TARGETS, strict=True))
    for path, target in offsite.items():
        site.routes[path] = (302, {"Location": target.format(port=port)}, b"")
    looped = targets[4]
    site.routes[looped] = lambda h: (302, {"Location": f"{site.base_url}{looped.lstrip('/')}?_r=1"}, b"") \
        if "?" not in h.path else (302, {"Location": site.base_url + looped.lstrip("/")}, b"")
    site.routes[looped + "?_r=1"] = site.routes[looped]
    proc, report = run_crawl(site, tmp_path)
    rejections = {r["url"][len(site.base_url) - 1:]: r for r in jsonl(tmp_path / "rejections.jsonl")}
    assert set(rejections) == set(offsite) | {looped}
    for path in offsite:
        assert rejections[path]["kind"] == "failed"
        assert "offsite redirect" in rejections[path]["reason"], rejections[path]
    assert "redirect loop" in rejections[looped]["reason"], rejections[looped]
    assert not any("crawl stopped" in r["reason"] for r in rejections.values())
    assert report["pages_failed"] == 5 and report["items_scraped"] == len(site.expected) - 5
    assert report["offsite_dropped"] >= 4
    assert proc.returncode == 0, proc.stderr[-3000:]  # 5 of 5 pages failed (under the monitor's min sample)


def slow_loris(seconds: float, total: int = 400):
    """A route that sends headers, then one byte a second (``seconds`` long), then drops the line."""
    def route(handler):
        handler.send_response(200)
        handler.send_header("Content-Type", "application/xml")
        handler.send_header("Content-Length", str(total))
        handler.end_headers()
        try:
            for _ in range(int(seconds)):
                handler.wfile.write(b" ")
                handler.wfile.flush()
                time.sleep(1)
        except OSError:
            pass
        return "reset"
    return route


def test_retry_after_beyond_the_budget_gives_up_at_once_with_the_reason(site: MiniSite, tmp_path: Path) -> None:
    """Retry-After: 100000 on a 10 s budget: no waiting past the budget (it waited 120 s)."""
    target = sorted(site.expected)[0]
    site.routes[target] = (429, {"Retry-After": "100000"}, b"slow down")
    proc, report = run_crawl(site, tmp_path, "--time-budget", "10")
    assert report["duration_s"] < 10, report["duration_s"]
    (rejection,) = jsonl(tmp_path / "rejections.jsonl")
    assert rejection["url"].endswith(target) and rejection["http_status"] == 429
    assert "Retry-After 100000 s exceeds the" in rejection["reason"] and "time budget" in rejection["reason"]
    assert report["items_scraped"] == len(site.expected) - 1
    assert proc.returncode == 0, proc.stderr[-3000:]


@pytest.mark.slow
def test_slow_loris_robots_is_bounded_by_the_budget_and_named(site: MiniSite, tmp_path: Path) -> None:
    """robots.txt at 1 byte/s: the crawl stops at its 12 s budget (± a few) and says robots.txt and the
    budget were the cause (it took 8 serial robots fetches, 286 s on a 200 s budget, before)."""
    site.routes["/robots.txt"] = slow_loris(120)
    for path in list(site.routes):
        if path.endswith(".xml"):
            site.routes[path] = slow_loris(120)
    started = time.monotonic()
    proc, report = run_crawl(site, tmp_path, "--time-budget", "12", "--fallback", "never")
    assert report["duration_s"] <= 12 + 3, report["duration_s"]
    assert time.monotonic() - started < 12 + 15  # process start-up and shutdown included
    assert proc.returncode == 3
    message = proc.stderr.strip().splitlines()[-1]
    assert "time budget ran out" in message and "robots.txt" in message, message
    robots_fetches = [p for p in site.fetched_paths() if p == "/robots.txt"]
    assert len(robots_fetches) <= 4, robots_fetches


@pytest.mark.slow
def test_a_slow_news_sitemap_does_not_hold_back_the_articles(site: MiniSite, tmp_path: Path) -> None:
    """The news sitemap answers at 1 byte/s (30 s download timeout): the articles the month's sitemap
    listed are fetched while it is still loading, not after it times out."""
    stamps: dict[str, float] = {}
    original = {p: site.routes[p] for p in site.expected}

    def stamped(path):
        def route(handler):
            stamps.setdefault(path, time.monotonic())
            return original[path]
        return route

    for path in site.expected:
        site.routes[path] = stamped(path)
    slow = slow_loris(25)
    loading: dict[str, float] = {}

    def news_sitemap(handler):  # when its first attempt started and ended
        loading.setdefault("start", time.monotonic())
        try:
            return slow(handler)
        finally:
            loading.setdefault("end", time.monotonic())

    site.routes["/sitemap-news.xml"] = news_sitemap
    proc, report = run_crawl(site, tmp_path, "--time-budget", "60")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert report["items_scraped"] == len(site.expected)
    first_article = min(stamps.values())
    # measured against the slow document itself, not the process start (which a loaded machine stretches)
    assert loading["start"] < first_article < loading["end"], (
        f"the first article came {first_article - loading['start']:.1f} s after the slow news sitemap began "
        f"and {first_article - loading['end']:.1f} s after it ended: articles waited for it")
    assert "slow document" in proc.stderr


def test_large_pages_are_parsed_off_the_reactor_thread(site: MiniSite, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("NEWSLINE_SCRAPY_SETTINGS", '{"NEWSLINE_PARSE_THREAD_BYTES": 1000}')
    proc, report = run_crawl(site, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert report["pages_parsed_in_thread"] == report["items_scraped"] == len(site.expected)
    assert {i["url"][len(site.base_url) - 1:] for i in jsonl(tmp_path / "items.jsonl")} == site.expected
