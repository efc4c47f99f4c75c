"""Every kind of page answers like the real site: status, content type, and the markup a crawler reads."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from demo_pagecheck import fetch
from lxml import html as lxml_html

from demo_site.generator import ALL_SUBSECTIONS
from tests.truth import requires_seed

SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
NEWS = "{http://www.google.com/schemas/sitemap-news/0.9}"


@pytest.mark.parametrize(
    ("path", "status", "ctype"),
    [
        ("", 200, "text/html"),
        ("robots.txt", 200, "text/plain"),
        ("sitemap.xml", 200, "application/xml"),
        ("sitemap-root.xml", 200, "application/xml"),
        ("sitemap-taxonomy-category.xml", 200, "application/xml"),
        ("sitemap-posttype-post.20249.xml", 200, "application/xml"),
        ("sitemap-posttype-post.202409.xml", 404, "text/html"),
        ("sitemap-news.xml", 200, "application/xml"),
        ("feed/", 200, "application/rss+xml"),
        ("politics/feed/", 200, "application/rss+xml"),
        ("politics/politics-government/feed", 200, "application/rss+xml"),
        ("latestnews/", 200, "text/html"),
        ("latestnews/page/2/", 200, "text/html"),
        ("latestnews/page/99/", 404, "text/html"),
        ("politics/", 200, "text/html"),
        ("politics/politics-government/", 200, "text/html"),
        ("business/market/", 200, "text/html"),
        ("washingtonpost/", 200, "text/html"),
        pytest.param("politics/politics-government/20240906-209301/", 200, "text/html", marks=requires_seed),
        ("attachment/209302/", 200, "text/html"),
        ("author/editor/", 200, "text/html"),
        ("aboutus/", 200, "text/html"),
        ("wp-content/uploads/2024/09/1-photo.jpg", 200, "image/jpeg"),
        ("no-such-section/", 404, "text/html"),
        ("politics/politics-government/20240906-1/", 404, "text/html"),
    ],
)
def test_status_and_content_type(server, path, status, ctype):
    resp = fetch(server.base_url + path)
    assert resp.status == status
    assert resp.headers["content-type"].startswith(ctype)
    assert int(resp.headers["content-length"]) == len(resp.body)


@requires_seed
def test_redirects_like_wordpress(server):
    no_slash = fetch(server.base_url + "politics/politics-government/20240906-209301")
    assert no_slash.status == 301
    assert no_slash.headers["location"] == server.base_url + "politics/politics-government/20240906-209301/"
    short = fetch(server.base_url + "?p=209301")
    assert short.status == 301 and short.headers["location"].endswith("/20240906-209301/")
    wrong_folder = fetch(server.base_url + "world/europe/20240906-209301/")
    assert wrong_folder.status == 301


def test_robots_lists_sitemaps_and_disallows(server):
    text = fetch(server.base_url + "robots.txt").text
    assert f"Sitemap: {server.base_url}sitemap.xml" in text
    assert f"Sitemap: {server.base_url}sitemap-news.xml" in text
    assert "Disallow: /wp-admin/" in text
    assert "Disallow: /private-archive/" in text


def test_sitemap_index_and_monthly_sitemap_cover_every_article(server):
    raw = fetch(server.base_url + "sitemap.xml").text
    assert raw.splitlines()[1].startswith("<?xml-stylesheet")
    root = ET.fromstring(raw.encode())
    children = [el.findtext(f"{SM}loc") for el in root.iter(f"{SM}sitemap")]
    names = [c.rsplit("/", 1)[-1] for c in children]
    assert names == [
        "sitemap-root.xml",
        "sitemap-taxonomy-category.xml",
        "sitemap-posttype-post.20249.xml",
        "sitemap-news.xml",
    ]
    month = ET.fromstring(fetch(server.base_url + "sitemap-posttype-post.20249.xml").body)
    listed = {el.findtext(f"{SM}loc"): el.findtext(f"{SM}lastmod") for el in month.iter(f"{SM}url")}
    truth = server.truth()
    assert set(listed) == {t["url"] for t in truth}
    for t in truth:
        from datetime import datetime

        lastmod = datetime.fromisoformat(listed[t["url"]])
        assert lastmod.replace(second=0) == t["modified_at"]


def test_news_sitemap_has_only_the_last_48_hours(server):
    root = ET.fromstring(fetch(server.base_url + "sitemap-news.xml").body)
    from datetime import datetime, timedelta

    since = server.as_of - timedelta(hours=48)
    listed = {el.findtext(f"{SM}loc"): el for el in root.iter(f"{SM}url")}
    expected = (
        {
            t["url"]
            for t in server.truth()
            if t["published_at"] >= since.replace(second=0)
            and datetime.fromisoformat(listed[t["url"]].findtext(f".//{NEWS}publication_date")) >= since
        }
        if listed
        else set()
    )
    assert listed and set(listed) == expected
    old = [t for t in server.truth() if t["published_at"] < since - timedelta(minutes=1)]
    assert old and not any(t["url"] in listed for t in old)
    sample = next(iter(listed.values()))
    assert sample.findtext(f".//{NEWS}name") == "The Japan News"
    assert sample.findtext(f".//{NEWS}title")


def test_feeds_are_rss_with_about_ten_latest_items(server):
    for path in ("feed/", "politics/feed/", "sports/baseball/feed", "washingtonpost/feed/"):
        root = ET.fromstring(fetch(server.base_url + path).body)
        assert root.tag == "rss" and root.get("version") == "2.0"
        items = root.findall("./channel/item")
        assert 1 <= len(items) <= 10
        assert all(i.findtext("link").startswith(server.base_url) and i.findtext("pubDate") for i in items)
    site_items = ET.fromstring(fetch(server.base_url + "feed/").body).findall("./channel/item")
    newest = sorted(server.truth(), key=lambda t: t["published_at"], reverse=True)[:10]
    assert [i.findtext("link") for i in site_items][:3] == [t["url"] for t in newest][:3]


def test_listing_pages_paginate_over_all_articles(server):
    seen: list[str] = []
    page_path = "latestnews/"
    while page_path:
        doc = lxml_html.fromstring(fetch(server.base_url + page_path).body)
        items = doc.xpath("//li[contains(@class,'clearfix')]")
        for li in items:
            assert li.xpath(".//figure/img/@src") and li.xpath("string(.//h2)") and li.xpath("string(.//h3)")
            assert li.xpath("string(.//p)").strip()
        seen.extend(li.xpath("string(.//a/@href)") for li in items)
        nxt = doc.xpath("//a[contains(@class,'next')]/@href")
        page_path = nxt[0][len(server.base_url) :] if nxt else ""
    assert len(seen) == len(set(seen))
    assert set(seen) == {t["url"] for t in server.truth()}


def test_all_subsections_are_populated_and_washington_post_has_its_own_root(site, server):
    truth = server.truth()
    assert {(t["section"], t["subsection"]) for t in truth} >= set(ALL_SUBSECTIONS)
    wapo = [t for t in truth if t["subsection"] == "washingtonpost"]
    assert wapo and all(t["url"].startswith(server.base_url + "washingtonpost/") for t in wapo)
    assert all(t["section"] == "news-services" for t in wapo)


def test_non_article_pages_are_marked_as_such(server):
    for path, marker in (
        ("attachment/209302/", "attachment"),
        ("author/editor/", "author"),
        ("latestnews/", "archive"),
    ):
        doc = lxml_html.fromstring(fetch(server.base_url + path).body)
        assert marker in doc.xpath("string(//body/@class)").split()
        assert not doc.xpath("//div[@id='p-article-block']")


def test_conditional_get_on_article_pages(server):
    import http.client
    from urllib.parse import urlsplit

    t = next(r for r in server.truth() if r["revision"] > 0)
    first = fetch(t["url"])
    last_modified = first.headers["last-modified"]
    parts = urlsplit(t["url"])
    for since, expected in ((last_modified, 304), ("Mon, 02 Sep 2024 00:00:00 GMT", 200)):
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
        conn.request("GET", parts.path, headers={"If-Modified-Since": since})
        resp = conn.getresponse()
        body = resp.read()
        conn.close()
        assert resp.status == expected
        assert (body == b"") == (expected == 304)
