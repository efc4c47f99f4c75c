"""Issue 12 (crawl memory) and issue 9 (Scrapy's sitemap/robots utilities): the streaming sitemap
reader, the compact per-URL keys and the demo site's generated archive of sitemap URLs. Unit tier."""

from __future__ import annotations

import gzip
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from core.sites import get_site
from crawler.discovery import DiscoveryError, article_url_info, parse_sitemap, read_sitemap, robots_sitemaps
from crawler.spiders.news import _sources, url_key
from demo_site.bigsitemap import MAX_URLS_PER_FILE, BigSitemaps

JN = get_site("japannews")
BASE = "http://127.0.0.1:8765/"
JST = timezone(timedelta(hours=9))
NS = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'


def _urlset(n: int) -> bytes:
    rows = "".join(f"<url><loc>{BASE}news/a/2024090{1 + i % 5}-{i}/</loc><lastmod>2024-09-0{1 + i % 5}</lastmod></url>"
                   for i in range(n))
    return f'<?xml version="1.0"?><urlset {NS}>{rows}</urlset>'.encode()


def test_read_sitemap_streams_entries_in_order() -> None:
    kind, entries = read_sitemap(_urlset(5), "Asia/Tokyo")
    assert kind == "urlset"
    first = next(entries)  # an iterator: entries are read as they are asked for
    assert first.loc == f"{BASE}news/a/20240901-0/"
    assert first.lastmod == datetime(2024, 8, 31, 15, 0, tzinfo=UTC)  # a bare date in the site's zone
    assert [e.loc.rsplit("-", 1)[1] for e in entries] == ["1/", "2/", "3/", "4/"]


def test_a_truncated_sitemap_is_refused_after_its_readable_entries() -> None:
    body = _urlset(4)
    cut = body[: body.index(b"-3/")]
    kind, entries = read_sitemap(cut)
    seen = []
    with pytest.raises(DiscoveryError, match="not well-formed"):
        for entry in entries:
            seen.append(entry.loc)
    # lxml's recovery even hands out the cut entry's half URL: why the spider keeps the day's entries
    # aside and drops them all when the error comes at the end
    assert seen[:3] == [f"{BASE}news/a/2024090{1 + i}-{i}/" for i in range(3)]
    assert seen[3:] == [f"{BASE}news/a/20240904"]
    with pytest.raises(DiscoveryError, match="not well-formed"):
        parse_sitemap(gzip.compress(cut))


def test_entity_declarations_are_refused_in_any_spelling() -> None:
    body = (b'<?xml version="1.0"?><!DOCTYPE u [<!entity x "y">]>'
            b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>&x;</loc></url></urlset>')
    with pytest.raises(DiscoveryError, match="forbidden"):
        read_sitemap(body)


def test_entries_of_the_other_kind_are_ignored() -> None:
    body = (f'<sitemapindex {NS}><sitemap><loc>{BASE}a.xml</loc></sitemap>'
            f"<url><loc>{BASE}news/a/20240906-1/</loc></url></sitemapindex>").encode()
    sm = parse_sitemap(body)
    assert sm.kind == "index" and [e.loc for e in sm.entries] == [f"{BASE}a.xml"]


def test_robots_sitemap_lines_accept_bytes_and_keep_order() -> None:
    body = b"User-agent: *\nSitemap: /b.xml\n  SITEMAP:   https://x.test/a.xml  \nSitemap: /b.xml\nSitemap:\n"
    assert robots_sitemaps(body, BASE) == [f"{BASE}b.xml", "https://x.test/a.xml"]


def test_url_keys_are_stable_64_bit_digests() -> None:
    keys = {url_key(f"{BASE}news/a/20240906-{i}/") for i in range(20_000)}
    assert len(keys) == 20_000 and all(0 <= k < 2**64 for k in keys)
    assert url_key(f"{BASE}x") == url_key(f"{BASE}x") != url_key(f"{BASE}y")


def test_source_sets_are_shared() -> None:
    a = _sources(_sources(frozenset(), "sitemap"), "news_sitemap")
    b = _sources(_sources(frozenset(), "news_sitemap"), "sitemap")
    assert a == {"sitemap", "news_sitemap"} and a is b
    assert _sources(a, "sitemap") is a


# --- the demo site's archive ----------------------------------------------------------------------------


def test_archive_files_cover_every_url_once_within_the_protocol_cap() -> None:
    big = BigSitemaps(urls=120_001)
    assert big.files == 3
    ranges = [big.urls_of(i) for i in range(big.files)]
    assert [len(r) for r in ranges] == [MAX_URLS_PER_FILE, MAX_URLS_PER_FILE, 20_001]
    assert sorted(i for r in ranges for i in r) == list(range(120_001))
    assert big.months((2024, 9)) == [(2024, 8), (2024, 7), (2024, 6)]
    assert big.months((2024, 2)) == [(2024, 1), (2023, 12), (2023, 11)]
    with pytest.raises(ValueError):
        BigSitemaps(urls=10, per_file=MAX_URLS_PER_FILE + 1)


def test_archive_files_are_deterministic_well_formed_and_never_of_the_demo_days() -> None:
    big = BigSitemaps(urls=9_000, per_file=4_000, gzip=True)
    first = (2024, 9)
    bodies = [big.urlset(BASE, y, m, first, JST) for y, m in big.months(first)]
    assert bodies == [big.urlset(BASE, y, m, first, JST) for y, m in big.months(first)]
    assert big.urlset(BASE, 2024, 9, first, JST) is None  # the demo's own month is the site's
    seen = []
    for (year, month), body in zip(big.months(first), bodies, strict=True):
        assert body is not None and body[:2] == b"\x1f\x8b"
        sm = parse_sitemap(body, "Asia/Tokyo")
        for entry in sm.entries:
            day, native = article_url_info(entry.loc, JN)  # an article URL of the profile's pattern
            assert (day.year, day.month) == (year, month) and day < date(2024, 9, 1)
            assert entry.lastmod is not None and entry.lastmod.astimezone(JST).date() == day
            seen.append(native)
    assert len(seen) == len(set(seen)) == 9_000


def test_archive_index_rows_and_spec() -> None:
    big = BigSitemaps.parse("100_000,gz")
    assert big == BigSitemaps(urls=100_000, gzip=True)
    assert BigSitemaps.parse("10,per_file=5").files == 2
    rows = big.index_rows(BASE, (2024, 9))
    assert rows.count("<sitemap>") == 2 and "<lastmod>" not in rows
    assert f"{BASE}sitemap-posttype-post.20248.xml.gz" in rows
    index = f'<sitemapindex {NS}><sitemap><loc>{BASE}s.xml</loc></sitemap></sitemapindex>'.encode()
    merged = parse_sitemap(BigSitemaps.add_to_index(index, rows))
    assert [e.loc for e in merged.entries][1:] == [f"{BASE}sitemap-posttype-post.20248.xml.gz",
                                                   f"{BASE}sitemap-posttype-post.20247.xml.gz"]
    for bad in ("", "many", "10,zip", "-1"):
        with pytest.raises(ValueError):
            BigSitemaps.parse(bad)
