"""The declarative features the Japan News profile needed, on a small made-up site: each works for any
profile (n-th value of a split, sources inside the body, parts dropped from a text, markup in a meta,
a value distinct from another field, reject rules, URL groups of the canonical URL, XPath body rules)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.sites import load_profile
from crawler.parsers import PageRejected
from crawler.parsers.profile import parse_with_profile

PROFILE = r"""
key: feat
name: Feature Post
domains: [feat.example]
base_url: https://feat.example/
timezone: UTC
article_url:
  pattern: '^/(?P<prefix>(?:[a-z]+/){1,2})(?P<id>\d+)/$'
generic_fallback: false
whitespace: keep
provenance: false
body:
  container: {xpath: "//div[@id='main']"}
  blocks: {xpath: './/p[not(normalize-space(@class))] | .//h3'}
  exclude: [aside, .promo]
reject:
  - {xpath: '//body/@class', regex: '(?:^|\s)(?P<value>gallery|listing)(?:\s|$)', reason: 'template {value}'}
  - {path: '/print/', reason: printable copy}
fields:
  title: [{css: h1}]
  canonical_url: [{css: 'link[rel=canonical]::attr(href)'}]
  section: [{url: prefix, regex: '^([^/]+)/'}, {css: 'div.wrap::attr(class)', split: '\s+', regex: '^s_(.+)', pick: 0}]
  subsection: [{url: prefix, regex: '^[^/]+/([^/]+)/'}, {meta: category, distinct_from: section}]
  section_label: [{css: 'ol.crumbs li', pick: 1}]
  byline: [{css: 'p.by', in_body: true}]
  summary: [{meta: description, markup: true}]
  image_credit: [{xpath: '(.//figcaption)[1]/span[1]', in_body: true}]
  image_caption: [{xpath: '(.//figcaption)[1]', in_body: true, drop: './span[1]'}]
"""

PAGE = """<html><head><title>t</title><link rel="canonical" href="{canonical}">
<meta name="description" content="&lt;p&gt;A &lt;b&gt;short&lt;/b&gt; summary&lt;/p&gt;">
<meta name="category" content="{category}"></head>
<body class="{body_class}"><div class="wrap s_city s_harbour"><ol class="crumbs"><li>Home</li><li>City</li></ol>
<p class="by">By Someone Outside</p><h1>Harbour  reopens</h1>
<div id="main"><p class="by">By Ada  Example</p><p>First
 paragraph.</p><aside><p>Related story</p></aside><div class="promo"><p>Subscribe</p></div>
<h3>Details</h3><p class="note">A classed note</p>
<figure><img src="x.jpg"><figcaption><span>Photo Desk</span>Cranes at dawn.<br>Second line</figcaption></figure>
<p>Last paragraph.</p></div></div></body></html>"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory):
    path = Path(tmp_path_factory.mktemp("feat")) / "feat.yaml"
    path.write_text(PROFILE, encoding="utf-8")
    return load_profile(path)


def page(canonical: str = "https://feat.example/city/harbour/7/", category: str = "harbour",
         body_class: str = "single") -> bytes:
    return PAGE.format(canonical=canonical, category=category, body_class=body_class).encode()


def test_every_feature_on_one_page(site) -> None:
    item = parse_with_profile(site, page(), "https://feat.example/city/harbour/7/")
    assert item.title == "Harbour  reopens"  # whitespace kept as on the page
    assert item.byline == "By Ada  Example"  # in the body, not the one above it
    assert item.paragraphs == ["First\n paragraph.", "Details", "Last paragraph."]  # aside, promo, classed p out
    assert item.description == "A short summary"
    assert (item.image_credit, item.image_caption) == ("Photo Desk", "Cranes at dawn.\nSecond line")
    assert (item.section, item.subsection, item.section_label, item.native_id) == ("city", "harbour", "City", "7")
    assert item.extraction is None and item.section_native is None


def test_url_groups_come_from_the_canonical_url_when_it_matches(site) -> None:
    item = parse_with_profile(site, page(canonical="/sport/sailing/9/"), "https://feat.example/city/harbour/7/?x=1")
    assert (item.canonical_url, item.section, item.subsection) == ("https://feat.example/sport/sailing/9/", "sport",
                                                                   "sailing")
    odd = parse_with_profile(site, page(canonical="/about/"), "https://feat.example/?p=7")
    assert (odd.section, odd.subsection) == ("city", "harbour")  # body classes, then the category meta
    same = parse_with_profile(site, page(canonical="/about/", category="city"), "https://feat.example/?p=7")
    assert (same.section, same.subsection) == ("city", None)  # a category equal to the section is no subsection

def test_reject_rules_and_a_container_inside_an_excluded_element(site) -> None:
    with pytest.raises(PageRejected) as info:
        parse_with_profile(site, page(body_class="single gallery"), "https://feat.example/city/harbour/7/")
    assert (info.value.kind, info.value.reason) == ("not_article", "template gallery")
    with pytest.raises(PageRejected, match="printable copy"):
        parse_with_profile(site, page(), "https://feat.example/print/city/harbour/7/")
    hidden = page().replace(b'<div id="main">', b'<aside><div id="main">').replace(b"</div></div></body>",
                                                                                 b"</div></aside></div></body>")
    with pytest.raises(PageRejected, match="without body paragraphs"):
        parse_with_profile(site, hidden, "https://feat.example/city/harbour/7/")
