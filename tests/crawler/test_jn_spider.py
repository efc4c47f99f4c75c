"""The spider end to end, in a subprocess exactly as the pipeline runs it, against a local site."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from crawler_minisite import MiniSite, jst, standard_site
from warcio.archiveiterator import ArchiveIterator

from crawler.parsers import get_parser, parser_for

parse = get_parser("japannews")
crawl_parse = parser_for("japannews")  # what the spider runs: the site parser plus the drift sample

REPO = Path(__file__).resolve().parents[2]
DAY = date(2024, 10, 13)


def run_crawl(site: MiniSite, out: Path, *extra: str, day: date = DAY) -> tuple[subprocess.CompletedProcess, dict]:
    cmd = [sys.executable, "-m", "crawler.run", "--site", "japannews", "--date", day.isoformat(),
           "--base-url", site.base_url, "--out", str(out), "--run-id", "test-run", "--delay", "0",
           "--concurrency", "8", "--retry-backoff", "0.05", "--log-level", "INFO", *extra]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120)
    report_path = out / "crawl.json"
    report = json.loads(report_path.read_text("utf-8")) if report_path.exists() else {}
    return proc, report


def jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


@pytest.fixture
def site():
    s, expected = standard_site(DAY)
    s.start()
    s.expected = expected  # type: ignore[attr-defined]
    yield s
    s.stop()


def paths(urls: list[str], base: str) -> set[str]:
    return {"/" + u[len(base):] for u in urls}


def test_discovers_the_day_and_writes_every_output(site: MiniSite, tmp_path: Path) -> None:
    proc, report = run_crawl(site, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert paths(report["discovered_urls"], site.base_url) == site.expected
    assert report["articles_discovered"] == len(site.expected) == report["items_scraped"]
    assert report["discovered_by_source"]["sitemap"] == len(site.expected)
    assert report["discovered_by_source"]["news_sitemap"] == 3  # published on the day, in the 48 h news sitemap
    assert report["finish_reason"] == "finished" and report["pages_failed"] == 0 and not report["fallback_used"]
    fetched = site.fetched_paths()
    assert not any("attachment" in p or "999999" in p for p in fetched), "attachment / offsite URL was fetched"
    assert "/sitemap-root.xml" not in fetched and "/sitemap-taxonomy-category.xml" not in fetched
    items = jsonl(tmp_path / "items.jsonl")
    assert {i["url"][len(site.base_url) - 1:] for i in items} == site.expected
    for item in items:
        assert item["run_id"] == "test-run" and item["http_status"] == 200 and item["fetched_at"].endswith("+00:00")
        assert item["title"].startswith("Placeholder Story Number") and item["paragraphs"]
    assert jsonl(tmp_path / "rejections.jsonl") == []
    assert report["http_status_counts"]["200"] >= len(site.expected)
    with gzip.open(tmp_path / "archive.warc.gz", "rb") as fh:
        records = [(r.rec_type, r.rec_headers.get_header("WARC-Target-URI")) for r in ArchiveIterator(fh)]
    responses = {uri for kind, uri in records if kind == "response"}
    requests = {uri for kind, uri in records if kind == "request"}
    assert {site.base_url + p.lstrip("/") for p in site.expected} <= responses
    assert responses == requests and records[0][0] == "warcinfo"
    by_url = {i["url"]: i for i in items}
    with gzip.open(tmp_path / "archive.warc.gz", "rb") as fh:
        replayed = 0
        for record in ArchiveIterator(fh):
            uri = record.rec_headers.get_header("WARC-Target-URI")
            if record.rec_type == "response" and uri in by_url:
                assert record.http_headers.get_statuscode() == "200"
                again = crawl_parse(record.content_stream().read(), uri).to_dict()
                stored = {k: v for k, v in by_url[uri].items() if k not in ("fetched_at", "http_status", "run_id")}
                assert {k: again[k] for k in stored} == stored, "the archive does not replay to the same item"
                replayed += 1
    assert replayed == len(items)
    ua = {h.get("User-Agent") for p, h in site.requests}
    assert len(ua) == 1 and "NewslineBot" in ua.pop()


def test_hostile_sitemap_is_counted_and_listing_fallback_finds_the_day(site: MiniSite, tmp_path: Path) -> None:
    bomb = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">'
            b'<!ENTITY xxe SYSTEM "file:///etc/passwd">]><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            b"<url><loc>&lol2;&xxe;</loc></url></urlset>")
    site.routes["/sitemap-posttype-post.202410.xml"] = (200, {"Content-Type": "application/xml"}, bomb)
    site.routes["/sitemap-news.xml"] = (500, {}, b"oops")
    proc, report = run_crawl(site, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert report["sitemap_errors"] >= 1 and report["fallback_used"]
    errors = [d for d in report["discovery_documents"] if d["outcome"] == "error"]
    assert any("202410" in d["url"] and "forbidden" in d["detail"].lower() for d in errors)
    published_today = {p for p in site.expected if f"/{DAY:%Y%m%d}-" in p}
    found = paths(report["discovered_urls"], site.base_url)
    assert published_today <= found
    assert report["discovered_by_source"]["listing"] >= len(published_today)
    listing_pages = [p for p in site.fetched_paths() if p.startswith("/latestnews/")]
    assert len(listing_pages) < 5, f"listing pagination did not stop after the day: {listing_pages}"


def test_blocking_site_fails_loudly_but_reports(site: MiniSite, tmp_path: Path) -> None:
    for art in site.articles:
        site.routes[art.path] = (200, {"Content-Type": "text/html"}, b"")
    proc, report = run_crawl(site, tmp_path)
    assert proc.returncode == 4
    assert f"site is blocking: {len(site.expected)} of {len(site.expected)} pages empty/challenge" in proc.stderr
    assert report["pages_blocked"] == len(site.expected) and report["blocking"]
    rejections = jsonl(tmp_path / "rejections.jsonl")
    assert {r["kind"] for r in rejections} == {"blocked"} and len(rejections) == len(site.expected)


def test_known_index_skips_unchanged_articles(site: MiniSite, tmp_path: Path) -> None:
    unchanged = sorted(site.expected)[:2]
    index = {site.base_url + p.lstrip("/"): jst(DAY, 23, 59).isoformat() for p in unchanged}
    known = tmp_path / "known.json"
    known.write_text(json.dumps(index))
    proc, report = run_crawl(site, tmp_path / "out", "--known-index", str(known))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert report["pages_skipped_unchanged"] == 2
    assert report["items_scraped"] == len(site.expected) - 2
    assert not set(unchanged) & set(site.fetched_paths())


def test_retry_after_is_honoured_and_failures_are_recorded(site: MiniSite, tmp_path: Path) -> None:
    flaky, gone = sorted(site.expected)[:2]
    calls = {"n": 0}
    original = site.routes[flaky]

    def flaky_route(handler):
        calls["n"] += 1
        return (503, {"Retry-After": "1"}, b"busy") if calls["n"] == 1 else original

    site.routes[flaky] = flaky_route
    site.routes[gone] = (404, {"Content-Type": "text/html"}, b"<html><body>gone</body></html>")
    proc, report = run_crawl(site, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert calls["n"] == 2 and report["retry_after_honoured"] == 1 and report["retry_count"] >= 1
    assert report["items_scraped"] == len(site.expected) - 1 and report["pages_failed"] == 1
    assert report["pages_fetched"] == len(site.expected)
    (rejection,) = jsonl(tmp_path / "rejections.jsonl")
    assert rejection["kind"] == "failed" and rejection["http_status"] == 404 and rejection["url"].endswith(gone)


def test_offsite_redirect_is_not_followed(site: MiniSite, tmp_path: Path) -> None:
    target = sorted(site.expected)[0]
    site.routes[target] = (302, {"Location": "http://127.0.0.1:9/elsewhere/"}, b"")
    proc, report = run_crawl(site, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert report["offsite_dropped"] >= 1
    assert report["items_scraped"] == len(site.expected) - 1


def test_bad_arguments_exit_with_a_message(tmp_path: Path) -> None:
    for bad in (["--date", "2024-13-01", "--base-url", "http://127.0.0.1:1/"],
                ["--date", "2024-10-13", "--base-url", "ftp://127.0.0.1/"]):
        proc = subprocess.run([sys.executable, "-m", "crawler.run", "--site", "japannews", "--out", str(tmp_path),
                               "--run-id", "r", *bad], cwd=REPO, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 2 and "crawler.run:" in proc.stderr


def test_conditional_get_when_lastmod_is_unknown(site: MiniSite, tmp_path: Path) -> None:
    """Listing pages carry no lastmod: a known article is fetched with If-Modified-Since; 304 = unchanged."""
    site.routes["/sitemap-posttype-post.202410.xml"] = (404, {}, b"")
    target = next(p for p in sorted(site.expected) if f"/{DAY:%Y%m%d}-" in p)
    original = site.routes[target]
    seen: list[str | None] = []

    def conditional(handler):
        seen.append(handler.headers.get("If-Modified-Since"))
        return (304, {}, b"") if handler.headers.get("If-Modified-Since") else original

    site.routes[target] = conditional
    known = tmp_path / "known.json"
    known.write_text(json.dumps({f"japannews:{target.rstrip('/').rsplit('-', 1)[1]}": "2024-10-13T12:00:00+09:00"}))
    proc, report = run_crawl(site, tmp_path / "out", "--known-index", str(known))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert seen == ["Sun, 13 Oct 2024 03:00:00 GMT"]
    assert report["fallback_used"] and report["pages_skipped_unchanged"] == 1
    assert target not in {i["url"][len(site.base_url) - 1:] for i in jsonl(tmp_path / "out" / "items.jsonl")}


def test_page_budget_records_what_was_not_fetched(site: MiniSite, tmp_path: Path) -> None:
    proc, report = run_crawl(site, tmp_path, "--page-budget", "2")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert report["items_scraped"] == 2 and report["pages_over_budget"] == len(site.expected) - 2
    rejections = jsonl(tmp_path / "rejections.jsonl")
    assert len(rejections) == len(site.expected) - 2
    assert all(r["kind"] == "failed" and "page budget" in r["reason"] for r in rejections)
    fetched = {i["url"] for i in jsonl(tmp_path / "items.jsonl")}
    assert fetched == set(sorted(report["discovered_urls"])[:2]), "the budget keeps a deterministic prefix"


def test_some_blocked_pages_below_threshold_are_retried_then_reported(site: MiniSite, tmp_path: Path) -> None:
    target = sorted(site.expected)[0]
    challenge = b"<html><head><title>Just a moment...</title></head><body><script>cf-chl</script></body></html>"
    site.routes[target] = (200, {"Content-Type": "text/html"}, challenge)
    proc, report = run_crawl(site, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert report["pages_blocked"] == 1 and report["pages_blocked_retried"] == 1 and not report["blocking"]
    assert site.fetched_paths().count(target) == 2
    assert report["pages_fetched"] == len(site.expected) == report["pages_ok"]
    (rejection,) = jsonl(tmp_path / "rejections.jsonl")
    assert rejection["kind"] == "blocked" and rejection["url"].endswith(target) and rejection["http_status"] == 200


def test_no_readable_discovery_document_fails_the_run(site: MiniSite, tmp_path: Path) -> None:
    for path in list(site.routes):
        if path.endswith(".xml") or path.startswith(("/latestnews/", "/feed/")):
            site.routes[path] = (503, {}, b"down")
    proc, report = run_crawl(site, tmp_path, "--fallback", "auto")
    assert proc.returncode == 3 and "discovery failed" in proc.stderr
    assert report["articles_discovered"] == 0 and report["discovery_errors"] >= 3


def test_time_budget_stops_the_crawl_and_records_unfetched_pages(site: MiniSite, tmp_path: Path) -> None:
    import threading

    released = threading.Event()  # article pages answer only after the crawl has ended: the budget must stop it
    for art in site.articles:
        page = site.routes[art.path]

        def slow(handler, page=page):
            released.wait(120)
            return page

        site.routes[art.path] = slow
    try:
        proc, report = run_crawl(site, tmp_path, "--time-budget", "1")
    finally:
        released.set()
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "time budget reached" in proc.stderr
    assert report["finish_reason"] == "closespider_timeout"
    rejections = jsonl(tmp_path / "rejections.jsonl")
    got = {i["url"] for i in jsonl(tmp_path / "items.jsonl")}
    assert {r["url"] for r in rejections} | got == set(report["discovered_urls"])
    assert all("crawl stopped" in r["reason"] or r["kind"] == "failed" for r in rejections)
    assert not got, "no article page answered before the budget ran out"


def test_unreadable_index_goes_straight_to_the_month_sitemap(site: MiniSite, tmp_path: Path) -> None:
    site.routes["/sitemap.xml"] = (200, {"Content-Type": "application/xml"}, b"<html>not a sitemap</html>")
    site.routes["/sitemap-posttype-post.202410.xml"] = site.routes.pop("/sitemap-posttype-post.202410.xml")
    proc, report = run_crawl(site, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert not report["fallback_used"] and report["sitemap_errors"] == 1
    published_today = {p for p in site.expected if f"/{DAY:%Y%m%d}-" in p}
    assert published_today <= paths(report["discovered_urls"], site.base_url)


def test_compressed_responses_are_archived_as_received(site: MiniSite, tmp_path: Path) -> None:
    target = sorted(site.expected)[0]
    status, headers, body = site.routes[target]
    site.routes[target] = (status, {**headers, "Content-Encoding": "gzip"}, gzip.compress(body))
    proc, report = run_crawl(site, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert report["items_scraped"] == len(site.expected)
    with gzip.open(tmp_path / "archive.warc.gz", "rb") as fh:
        for record in ArchiveIterator(fh):
            if record.rec_type == "response" and record.rec_headers.get_header("WARC-Target-URI").endswith(target):
                assert record.http_headers.get_header("Content-Encoding") == "gzip"
                assert record.raw_stream.read()[:2] == b"\x1f\x8b"
                break
        else:
            pytest.fail("no response record for the compressed page")


def test_truncated_and_reset_responses_are_retried(site: MiniSite, tmp_path: Path) -> None:
    truncated, reset, dead = sorted(site.expected)[:3]
    pages = {p: site.routes[p] for p in (truncated, reset)}
    calls = {truncated: 0, reset: 0}

    def once_broken(path):
        def route(handler):
            calls[path] += 1
            if calls[path] > 1:
                return pages[path]
            if path == truncated:
                status, headers, body = pages[path]
                return (status, {**headers, "Content-Length": str(len(body) + 500)}, body[: len(body) // 2])
            return "reset"
        return route

    site.routes[truncated] = once_broken(truncated)
    site.routes[reset] = once_broken(reset)
    site.routes[dead] = "reset"
    proc, report = run_crawl(site, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert calls == {truncated: 2, reset: 2}
    assert report["items_scraped"] == len(site.expected) - 1 and report["pages_failed"] == 1
    (rejection,) = jsonl(tmp_path / "rejections.jsonl")
    assert rejection["url"].endswith(dead) and rejection["kind"] == "failed" and rejection["http_status"] is None
    items = {i["url"][len(site.base_url) - 1:]: i for i in jsonl(tmp_path / "items.jsonl")}
    assert len(items[truncated]["paragraphs"]) == 5, "the truncated first answer must not be the stored one"


def test_a_shard_obeys_the_saved_robots_txt_and_never_fetches_it(site: MiniSite, tmp_path: Path) -> None:
    """A crawl saves the robots.txt it fetched (``robots.json``, once: discovery's own fetch is the rules).
    A shard given such a copy (``--robots``) obeys it for the host without asking the site: here the copy
    forbids an article the live robots.txt allows, and that article is refused, not fetched."""
    import base64

    proc, report = run_crawl(site, tmp_path / "discover")
    assert proc.returncode == 0, proc.stderr[-3000:]
    saved = json.loads((tmp_path / "discover" / "robots.json").read_text("utf-8"))
    assert saved["status"] == 200 and base64.b64decode(saved["body"]) == site.routes["/robots.txt"][2]
    assert site.fetched_paths().count("/robots.txt") == 1
    urls = sorted(report["discovered_urls"])[:3]
    forbidden = "/" + urls[0][len(site.base_url):]
    copy = {**saved, "body": base64.b64encode(f"User-agent: *\nDisallow: {forbidden}\n".encode()).decode()}
    (tmp_path / "robots.json").write_text(json.dumps(copy), encoding="utf-8")
    (tmp_path / "urls.jsonl").write_text("".join(json.dumps({"url": u}) + "\n" for u in urls), encoding="utf-8")
    before = len(site.fetched_paths())
    proc, shard = run_crawl(site, tmp_path / "shard", "--urls", str(tmp_path / "urls.jsonl"),
                            "--robots", str(tmp_path / "robots.json"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    fetched = site.fetched_paths()[before:]
    assert "/robots.txt" not in fetched and forbidden not in fetched
    assert paths(urls[1:], site.base_url) <= set(fetched) and shard["items_scraped"] == 2
    [refused] = jsonl(tmp_path / "shard" / "rejections.jsonl")
    assert refused["url"] == urls[0] and "robots" in refused["reason"], refused
