"""Discovery readers and small spider helpers: robots, sitemaps (hostile ones too), feeds, listings."""

from __future__ import annotations

import gzip
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from core.sites import get_site
from core.timeutil import retry_after_seconds
from crawler.discovery import (
    DiscoveryError,
    article_url_info,
    is_news_sitemap,
    listing_links,
    month_sitemap_names,
    month_sitemap_of,
    parse_feed,
    parse_sitemap,
    parse_w3c_datetime,
    robots_sitemaps,
)
from crawler.middlewares import origin_of
from crawler.spiders.news import load_known_index, validate_base_url

JN = get_site("japannews")

BASE = "https://japannews.yomiuri.co.jp/"
NS = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"'


def test_robots_sitemap_lines() -> None:
    text = ("User-agent: *\nDisallow: /wp-admin/\n\nSitemap: https://japannews.yomiuri.co.jp/sitemap.xml\n"
            "sitemap:/sitemap-news.xml\nSitemap: https://japannews.yomiuri.co.jp/sitemap.xml\n")
    assert robots_sitemaps(text, BASE) == [BASE + "sitemap.xml", BASE + "sitemap-news.xml"]
    assert robots_sitemaps("User-agent: *\nDisallow:\n", BASE) == []


def test_sitemap_index_with_stylesheet() -> None:
    body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<?xml-stylesheet type="text/xsl" href="/s.xsl"?>\n'
            f'<sitemapindex {NS}><sitemap><loc>{BASE}sitemap-posttype-post.20249.xml</loc>'
            f"<lastmod>2024-10-13T10:00:00+09:00</lastmod></sitemap>"
            f"<sitemap><loc> {BASE}sitemap-news.xml </loc></sitemap></sitemapindex>").encode()
    sm = parse_sitemap(body)
    assert sm.kind == "index"
    assert [e.loc for e in sm.entries] == [BASE + "sitemap-posttype-post.20249.xml", BASE + "sitemap-news.xml"]
    assert sm.entries[0].lastmod == datetime(2024, 10, 13, 1, 0, tzinfo=UTC)
    assert sm.entries[1].lastmod is None


def test_news_urlset_gzipped() -> None:
    body = (f'<urlset {NS}><url><loc>{BASE}world/asia-pacific/20241013-216470/</loc><news:news>'
            "<news:publication><news:name>The Japan News</news:name><news:language>en</news:language>"
            "</news:publication><news:publication_date>2024-10-13T17:41:47+09:00</news:publication_date>"
            "<news:title>T</news:title></news:news></url><url><loc></loc></url></urlset>").encode()
    sm = parse_sitemap(gzip.compress(body))
    assert sm.kind == "urlset" and len(sm.entries) == 1
    assert sm.entries[0].published == datetime(2024, 10, 13, 8, 41, 47, tzinfo=UTC)


def test_zone_less_lastmod_is_read_in_site_zone() -> None:
    assert parse_w3c_datetime("2024-10-13", "Asia/Tokyo") == datetime(2024, 10, 12, 15, 0, tzinfo=UTC)
    assert parse_w3c_datetime("2024-10-13T00:00:00Z") == datetime(2024, 10, 13, tzinfo=UTC)
    assert parse_w3c_datetime("yesterday") is None and parse_w3c_datetime(None) is None


def test_hostile_xml_never_reads_files(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    xxe = (f'<?xml version="1.0"?><!DOCTYPE u [<!ENTITY x SYSTEM "file://{secret}">]>'
           f"<urlset {NS}><url><loc>&x;</loc></url></urlset>").encode()
    laughs = (b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
              b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]><urlset><url><loc>&c;</loc></url></urlset>')
    for body in (xxe, laughs):
        with pytest.raises(DiscoveryError, match="forbidden"):
            parse_sitemap(body)


@pytest.mark.parametrize("body", [b"", b"   ", b"<html><body>not xml", b"<rss/>", b"\x1f\x8bnot-gzip", b"<urlset>"])
def test_broken_documents_are_discovery_errors(body: bytes) -> None:
    with pytest.raises(DiscoveryError):
        parse_sitemap(body)


def test_rss_and_atom_feeds() -> None:
    rss = (b'<?xml version="1.0"?><rss version="2.0"><channel><item><title>A</title>'
           b"<link>https://japannews.yomiuri.co.jp/society/general-news/20241013-1/</link>"
           b"<pubDate>Sun, 13 Oct 2024 08:41:00 +0000</pubDate></item><item><title>no link</title></item>"
           b"</channel></rss>")
    (entry,) = parse_feed(rss)
    assert entry.loc.endswith("20241013-1/") and entry.published == datetime(2024, 10, 13, 8, 41, tzinfo=UTC)
    atom = (b'<feed xmlns="http://www.w3.org/2005/Atom"><entry><link href="https://x.test/a/b/20241013-2/"/>'
            b"<published>2024-10-13T09:00:00+09:00</published></entry></feed>")
    (entry,) = parse_feed(atom)
    assert entry.loc == "https://x.test/a/b/20241013-2/" and entry.published == datetime(2024, 10, 13, tzinfo=UTC)


def test_listing_links_in_page_order() -> None:
    html = ('<ul><li class="clearfix"><a href="/politics/politics-government/20241013-2/">A</a></li>'
            '<li class="clearfix"><a href="https://japannews.yomiuri.co.jp/world/europe/20241012-1/">B</a></li>'
            '<li class="other"><a href="/x/">C</a></li></ul>')
    assert listing_links(html, BASE + "latestnews/", JN.discovery.listings[0].links) == [
        BASE + "politics/politics-government/20241013-2/", BASE + "world/europe/20241012-1/"]


def test_post_sitemap_names_padded_and_unpadded() -> None:
    assert month_sitemap_of(BASE + "sitemap-posttype-post.202409.xml", JN) == (2024, 9)
    assert month_sitemap_of(BASE + "sitemap-posttype-post.20249.xml", JN) == (2024, 9)
    assert month_sitemap_of(BASE + "sitemap-posttype-post.202413.xml", JN) is None
    assert month_sitemap_of(BASE + "sitemap-taxonomy-category.xml", JN) is None
    assert month_sitemap_names(date(2024, 9, 6), JN) == ["sitemap-posttype-post.202409.xml",
                                                        "sitemap-posttype-post.20249.xml"]
    assert month_sitemap_names(date(2024, 10, 6), JN) == ["sitemap-posttype-post.202410.xml"]
    assert is_news_sitemap(BASE + "sitemap-news.xml", JN) and not is_news_sitemap(BASE + "sitemap.xml", JN)


@pytest.mark.parametrize(("url", "expected"), [
    (BASE + "politics/politics-government/20240906-209301/", (date(2024, 9, 6), "209301")),
    (BASE + "washingtonpost/20241014-216500/", (date(2024, 10, 14), "216500")),
    (BASE + "news-services/reuters/20230209-89925", (date(2023, 2, 9), "89925")),
    (BASE + "politics/politics-government/20240906-209301/attachment/209302/", None),
    (BASE + "author/someone/", None),
    (BASE + "latestnews/page/2/", None),
    (BASE + "politics/politics-government/20241332-1/", None),
    (BASE + "wp-content/uploads/2024/10/20241013-1.jpg", None),
    ("http://[::1", None),
])
def test_article_url_info(url: str, expected: tuple[date, str] | None) -> None:
    assert article_url_info(url, JN) == expected


def test_base_url_validation() -> None:
    assert validate_base_url("http://127.0.0.1:8765") == "http://127.0.0.1:8765/"
    for bad in ("ftp://x/", "127.0.0.1:8765", "http:///nohost", "http://x/?q=1"):
        with pytest.raises(ValueError):
            validate_base_url(bad)
    assert origin_of("https://Example.COM/a") == ("example.com", 443)
    assert origin_of("http://127.0.0.1:8765/") == ("127.0.0.1", 8765) and origin_of("mailto:x@y") is None


def test_retry_after_values() -> None:
    now = datetime(2024, 10, 13, 0, 0, tzinfo=UTC)
    assert retry_after_seconds(b"7") == 7.0
    assert retry_after_seconds("Sun, 13 Oct 2024 00:00:30 GMT", now) == 30.0
    assert retry_after_seconds("Sat, 12 Oct 2024 00:00:00 GMT", now) == 0.0
    assert retry_after_seconds(b"soon") is None and retry_after_seconds(None) is None
    # a hostile header: "\xb2" is "²" in latin-1, a digit to str.isdigit that float() refuses
    assert retry_after_seconds(b"\xb2") is None and retry_after_seconds("\u00b9\u2070") is None


def test_a_retry_after_date_without_a_zone_is_utc() -> None:
    """``-0000`` gives a naive datetime (RFC 2822: zone unknown); the archive reader's own copy of this
    parser subtracted it from an aware one (TypeError) before there was one parser."""
    now = datetime(2024, 10, 13, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("Sun, 13 Oct 2024 00:00:30 -0000", now) == 30.0


def test_known_index_loading(tmp_path: Path) -> None:
    good = tmp_path / "k.json"
    good.write_text('{"japannews:1": "2024-10-13T12:00:00+09:00", "bad": "nope", "n": 3}')
    index = load_known_index(str(good))
    assert len(index) == 1 and index["japannews:1"] == datetime(2024, 10, 13, 3, 0, tzinfo=UTC)
    assert "bad" not in index and "n" not in index
    broken = tmp_path / "b.json"
    broken.write_text("[1, 2")
    assert len(load_known_index(str(broken))) == 0 and len(load_known_index(None)) == 0
    assert len(load_known_index(str(tmp_path / "missing.json"))) == 0
    rich = tmp_path / "rich.json"
    rich.write_text('{"japannews:2": {"url": "https://x.test/a/b/20241013-2/", "modified_at": "2024-10-13T01:00:00+00:00",'
                    ' "revision": 0, "content_hash": "ab"}, "japannews:3": {"url": null, "modified_at": null}}')
    when = datetime(2024, 10, 13, 1, tzinfo=UTC)
    index = load_known_index(str(rich))
    assert len(index) == 2 and index["japannews:2"] == index["https://x.test/a/b/20241013-2/"] == when
    assert "japannews:3" not in index


def test_spider_arguments_are_validated() -> None:
    from crawler.spiders.news import NewsSpider

    spider = NewsSpider(site="japannews", date="2024-09-06", base_url="http://127.0.0.1:8765")
    assert spider.base_url == "http://127.0.0.1:8765/" and spider.allowed_origins == {("127.0.0.1", 8765)}
    assert spider.window_start == datetime(2024, 9, 5, 15, 0, tzinfo=UTC)
    assert spider.window_end == datetime(2024, 9, 6, 15, 0, tzinfo=UTC)
    for bad in ({"date": None}, {"date": "06/09/2024"}, {"date": "2024-09-06", "base_url": "file:///etc/"},
                {"date": "2024-09-06", "fallback": "sometimes"}, {"date": "2024-09-06", "site": "nosuchsite"}):
        with pytest.raises(ValueError):
            NewsSpider(**{"site": "japannews", **bad})
