"""The metadata resolver's chains on small generated pages: sloppy and nested JSON-LD, the order of
the steps, naive times read in the site's timezone, site-name suffixes, authors split into people."""

from __future__ import annotations

import json

import pytest
from lxml import html as lxml_html

from crawler.parsers.metadata import (
    JSONLD_MAX_DEPTH,
    parse_jsonld,
    parse_time,
    resolve,
    split_authors,
    strip_site_suffix,
    walk_jsonld,
)

URL = "https://news.example.org/2024/05/01/some-story/"


def page(head: str = "", body: str = "<p>Placeholder body text for a test page.</p>", lang: str = "") -> lxml_html.HtmlElement:
    lang_attr = f' lang="{lang}"' if lang else ""
    return lxml_html.document_fromstring(f"<html{lang_attr}><head>{head}</head><body>{body}</body></html>")


def ld(text: str) -> str:
    return f'<script type="application/ld+json">{text}</script>'


def test_sloppy_jsonld_is_repaired() -> None:
    raw = """<!--
    {"@type": "NewsArticle", "headline": "Line one
    line two", "author": [{"@type": "Person", "name": "Ada Placeholder"},],
    "description": "<p>Some <b>bold</b> summary</p>",}
    -->"""
    values = parse_jsonld(raw)
    assert len(values) == 1
    meta = resolve(page(ld(raw)), URL)
    assert meta.title == "Line one line two"
    assert meta.authors == ["Ada Placeholder"]
    assert meta.summary == "Some bold summary"
    assert meta.provenance["title"] == "jsonld"


def test_several_blocks_and_graph_are_walked() -> None:
    first = json.dumps({"@context": "https://schema.org", "@type": "Organization", "name": "Example News"})
    second = json.dumps({"@context": "https://schema.org", "@graph": [
        {"@type": "WebSite", "name": "Example News"},
        [{"@type": ["NewsArticle"], "headline": "Graph headline", "datePublished": "2024-05-01T08:30:00+02:00",
          "author": {"@type": "Person", "name": "Bo Example"}, "articleSection": "World"}],
    ]})
    # two values in one block, separated by nothing but whitespace
    meta = resolve(page(ld(first) + ld(second + "\n" + first)), URL)
    assert meta.title == "Graph headline"
    assert meta.published_at == "2024-05-01T06:30:00+00:00"
    assert meta.authors == ["Bo Example"]
    assert meta.section == "World"
    assert meta.site_name == "Example News"


def test_deeply_nested_jsonld_is_ignored_not_a_crash() -> None:
    deep = "[" * 200_000 + "]" * 200_000
    assert parse_jsonld(deep) == []
    nested = '{"a":' * (JSONLD_MAX_DEPTH + 5) + "1" + "}" * (JSONLD_MAX_DEPTH + 5)
    assert parse_jsonld(nested) == []
    head = ld(deep) + '<meta property="og:title" content="Still Found">'
    meta = resolve(page(head), URL)
    assert meta.title == "Still Found"
    assert meta.provenance["title"] == "og:title"


def test_walk_is_bounded_in_size() -> None:
    wide = [{"@type": "Thing", "n": i} for i in range(50_000)]
    assert len(walk_jsonld([wide])) < 10_000


def test_chain_order_and_explain() -> None:
    head = ('<meta property="og:title" content="OG headline">'
            '<meta name="parsely-author" content="Parsely Person">'
            '<meta name="sailthru.date" content="2024-03-02 10:00">'
            '<title>Tag headline | Example News</title>')
    meta = resolve(page(head), URL, explain=True)
    assert meta.title == "OG headline"
    assert meta.provenance == {**meta.provenance, "title": "og:title", "authors": "parsely-author",
                               "published_at": "sailthru.date"}
    steps = [name for name, _ in meta.explain["title"]]
    assert steps[:2] == ["og:title", "html-title"]
    assert meta.authors == ["Parsely Person"]


def test_microdata_and_time_element() -> None:
    body = ('<article itemscope itemtype="https://schema.org/NewsArticle"><h1 itemprop="headline">Micro head</h1>'
            '<span itemprop="author" itemscope><span itemprop="name">Cy Micro</span></span>'
            '<time datetime="2023-11-05T09:15:00">5 Nov</time><p>Text of the story.</p></article>')
    meta = resolve(page(body=body), URL, timezone="Asia/Tokyo")
    assert meta.title == "Micro head"
    assert meta.authors == ["Cy Micro"]
    assert meta.provenance["authors"] == "itemprop"
    assert meta.published_at == "2023-11-05T00:15:00+00:00"  # 09:15 in Tokyo
    assert meta.provenance["published_at"] == "time-element"


def test_naive_times_read_in_site_timezone() -> None:
    from zoneinfo import ZoneInfo

    assert parse_time("2024-07-01T12:00:00", ZoneInfo("America/New_York")).isoformat() == "2024-07-01T16:00:00+00:00"
    assert parse_time("2024-01-01T12:00:00", ZoneInfo("America/New_York")).isoformat() == "2024-01-01T17:00:00+00:00"
    # an explicit offset wins over the site timezone
    assert parse_time("2024-07-01T12:00:00+09:00", ZoneInfo("Europe/Paris")).isoformat() == "2024-07-01T03:00:00+00:00"
    assert parse_time("2024-07-01T12:00:00.123456789Z", ZoneInfo("UTC")).isoformat() == "2024-07-01T12:00:00.123456+00:00"
    assert parse_time("not a date", ZoneInfo("UTC")) is None
    assert parse_time("1850-01-01", ZoneInfo("UTC")) is None
    head = '<meta property="article:published_time" content="2024-02-10 23:30">'
    meta = resolve(page(head), URL, timezone="Asia/Tokyo")
    assert meta.published_at == "2024-02-10T14:30:00+00:00"
    assert meta.provenance["published_at"] == "article:published_time"


def test_published_prefers_original_over_update() -> None:
    head = ld(json.dumps({"@type": "Article", "headline": "H", "datePublished": "2022-01-01T00:00:00Z",
                          "dateModified": "2022-06-01T00:00:00Z"}))
    meta = resolve(page(head), URL)
    assert meta.published_at == "2022-01-01T00:00:00+00:00"
    assert meta.modified_at == "2022-06-01T00:00:00+00:00"


def test_htmldate_is_the_last_resort_for_the_date() -> None:
    body = "<p>Posted on 2021-09-14 by someone.</p><p>Placeholder body text.</p>"
    meta = resolve(page(body=body), "https://news.example.org/story", explain=True)
    assert meta.provenance.get("published_at") == "htmldate"
    assert meta.published_at.startswith("2021-09-1")


@pytest.mark.parametrize(("title", "sites", "host", "expected"), [
    ("A headline - Example News", ["Example News"], None, "A headline"),
    ("A headline | Example", ["Example News"], None, "A headline | Example"),  # not the site's name: kept
    ("A headline | EXAMPLE NEWS", ["Example News"], None, "A headline"),
    ("A headline – news.example.org", [], "news.example.org", "A headline"),
    ("A headline | Placeholder", [], "www.placeholder.com", "A headline"),  # the domain's label
    ("Example News | A headline", ["Example News"], None, "A headline"),
    ("A - B - Example News", ["Example News"], None, "A - B"),
    ("Example News", ["Example News"], None, "Example News"),  # never emptied
])
def test_site_suffix_removed(title: str, sites: list[str], host: str | None, expected: str) -> None:
    assert strip_site_suffix(title, sites, host) == expected


def test_title_suffix_removed_when_h1_confirms_the_headline() -> None:
    meta = resolve(page("<title>The real headline :: Somebody's blog</title>", "<h1>The real headline</h1><p>x</p>"), URL)
    assert meta.title == "The real headline"


def test_title_loses_the_authors_name_and_byline_class_is_case_blind() -> None:
    body = '<div class="Byline">By Ada Placeholder</div><p>Placeholder body text.</p>'
    meta = resolve(page("<title>Notes on lanterns | Essays | Ada Placeholder</title>", body), URL)
    assert meta.authors == ["Ada Placeholder"]
    assert meta.provenance["authors"] == "byline-class"
    assert meta.title == "Notes on lanterns | Essays"


def test_jsonld_name_that_is_the_site_is_skipped() -> None:
    head = ld(json.dumps({"@type": "NewsArticle", "name": "Example News", "publisher": {"name": "Example News"}}))
    head += '<meta property="og:title" content="Story headline | Example News">'
    meta = resolve(page(head), URL)
    assert meta.title == "Story headline"


@pytest.mark.parametrize(("raw", "expected"), [
    ("By Ada Placeholder", ["Ada Placeholder"]),
    ("By Ada Placeholder and Bo Example", ["Ada Placeholder", "Bo Example"]),
    ("Ada Placeholder, Staff Writer", ["Ada Placeholder"]),
    ("Ada Placeholder Games Editor", ["Ada Placeholder"]),
    ("Ada Placeholder, Senior Games Editor", ["Ada Placeholder"]),
    ("Ada Placeholder\nGames Editor", ["Ada Placeholder"]),
    ("By Ada Placeholder, MA", ["Ada Placeholder"]),
    ("Ada Placeholder; ada placeholder", ["Ada Placeholder"]),
    ("Ada Placeholder (https://example.org/ada/)", ["Ada Placeholder"]),
    ("By Ada Placeholder May 20, 2019", ["Ada Placeholder"]),
    ("Written by Ada Placeholder\nEdited by Bo Example", ["Ada Placeholder", "Bo Example"]),
    ("Ada Placeholder | Reuters", ["Ada Placeholder"]),  # the organisation goes when a person is named
    ("Reuters", ["Reuters"]),  # ...and stays when it is the only name
    ("Staff Writer", []),
    ("ada@example.org", []),
])
def test_split_authors(raw: str, expected: list[str]) -> None:
    assert split_authors(raw) == expected


def test_jsonld_organisation_dropped_when_a_person_is_named() -> None:
    head = ld(json.dumps({"@type": "NewsArticle", "headline": "H", "author": [
        {"@type": "Organization", "name": "Example Wire"}, {"@type": "Person", "name": "By Dee Sample"},
        {"@type": "Person", "name": "Dee Sample"}]}))
    assert resolve(page(head), URL).authors == ["Dee Sample"]


def test_language_and_other_fields() -> None:
    head = ('<meta property="og:image" content="/img/a.jpg"><link rel="canonical" href="/canon/">'
            '<meta name="keywords" content="alpha, beta, alpha"><meta property="og:site_name" content="Ex">'
            '<meta property="article:section" content="Sport">')
    meta = resolve(page(head, lang="pt_BR"), URL)
    assert meta.language == "pt-BR"
    assert meta.image_url == "https://news.example.org/img/a.jpg"
    assert meta.canonical_url == "https://news.example.org/canon/"
    assert meta.keywords == ["alpha", "beta"]
    assert meta.section == "Sport"
    assert resolve(page(head, lang="pt"), URL, language="es").language == "es"
