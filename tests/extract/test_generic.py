"""The generic extractor's contract on generated pages: the public API, body blocks in order without
page chrome, provenance and confidence, rejections with a kind, and property tests (any bytes give a
result or a PageRejected, never another exception)."""

from __future__ import annotations

import dataclasses
import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crawler.parsers.base import PageRejected
from crawler.parsers.generic import GenericArticle, body_agreement, choose_body, extract_article

URL = "https://news.example.org/world/2024/05/01/placeholder-story/"
#: 200 examples per property (~3-5 s each on a quiet machine: the two heavier ones are marked slow);
#: NEWSLINE_FUZZ_EXAMPLES=5000 for a deep run.
FUZZ = settings(max_examples=int(os.environ.get("NEWSLINE_FUZZ_EXAMPLES", "200")), deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

WORDS = ("river lantern orbit maple quartz harbor velvet summit ember meadow cobalt falcon prism willow "
         "canyon tundra beacon saffron glacier thimble").split()


def sentence(i: int, n: int = 14) -> str:
    return " ".join(WORDS[(i * 7 + k * 3) % len(WORDS)] for k in range(n)).capitalize() + "."


def paragraph(i: int) -> str:
    return " ".join(sentence(i * 5 + k) for k in range(4))


def article_page(paras: int = 8, *, jsonld: bool = True, charset: str = "utf-8") -> str:
    ld = json.dumps({"@context": "https://schema.org", "@type": "NewsArticle", "headline": "Placeholder headline",
                     "datePublished": "2024-05-01T09:30:00", "author": {"@type": "Person", "name": "Ada Placeholder"},
                     "publisher": {"@type": "Organization", "name": "Example News"}})
    body = []
    for i in range(paras):
        if i == 3:
            body.append("<h2>A sub-heading</h2>")
        body.append(f"<p>{paragraph(i)}</p>")
        if i == 2:
            body.append('<div class="share-bar"><a>Share</a> <a>Tweet</a> <a>Email</a></div>')
        if i == 5:
            body.append('<figure><img src="/p.jpg"><figcaption>Lantern caption under a picture. '
                        '<span class="credit">Example Photo Desk</span></figcaption></figure>')
    return f"""<!doctype html><html lang="en"><head><meta charset="{charset}">
<title>Placeholder headline | Example News</title>
<meta property="og:site_name" content="Example News">
{'<script type="application/ld+json">' + ld + '</script>' if jsonld else ''}
</head><body>
<nav class="main-nav"><ul><li><a href="/">Home</a></li><li><a href="/world">World</a></li><li><a href="/sport">Sport</a></li></ul></nav>
<main><article><h1>Placeholder headline</h1><p class="byline">By Ada Placeholder</p>
<p class="date">09:30 CEST, May 1, 2024</p>
{''.join(body)}
</article>
<aside class="related"><h3>Related stories</h3><ul><li><a href="/a">Lantern harbor news item one</a></li>
<li><a href="/b">Velvet summit news item two</a></li></ul></aside>
<section id="comments"><h3>Comments</h3><p>First commenter says something entirely unrelated here.</p></section>
</main><footer><p>Copyright Example News. All rights reserved.</p></footer></body></html>"""


def test_public_api_shape() -> None:
    art = extract_article(article_page(), URL, timezone="Europe/Paris")
    assert isinstance(art, GenericArticle)
    assert dataclasses.is_dataclass(art)
    with pytest.raises(dataclasses.FrozenInstanceError):
        art.title = "x"  # type: ignore[misc]
    assert art.title == "Placeholder headline"
    assert art.authors == ["Ada Placeholder"]
    assert art.byline == "Ada Placeholder"
    assert art.published_at == "2024-05-01T07:30:00+00:00"  # naive 09:30 in Paris (CEST)
    assert art.language == "en"
    assert art.site_name == "Example News"
    assert art.provenance["title"] == "jsonld" and art.provenance["body"] in ("readability", "trafilatura")
    assert 0.0 <= art.extraction_confidence <= 1.0
    assert art.explain == {}


def test_body_blocks_in_order_without_chrome() -> None:
    art = extract_article(article_page(), URL)
    expected = [paragraph(i) for i in range(8)]
    got = [p for p in art.paragraphs if p in expected]
    assert got == expected  # every paragraph, in order
    assert "A sub-heading" in art.paragraphs
    assert art.paragraphs.index("A sub-heading") == art.paragraphs.index(paragraph(3)) - 1
    text = "\n".join(art.paragraphs)
    for chrome in ("Share", "Tweet", "Related stories", "Velvet summit news item", "First commenter", "Copyright",
                   "Home", "Lantern caption", "Photo Desk", "May 1, 2024", "By Ada"):
        assert chrome not in text, chrome
    assert art.extraction_confidence > 0.8  # both extractors agree on a clean page


def test_explain_lists_every_step() -> None:
    art = extract_article(article_page(), URL, explain=True)
    title_steps = [name for name, _ in art.explain["title"]]
    assert title_steps[0] == "jsonld" and "html-title" in title_steps
    body_steps = dict(art.explain["body"])
    assert set(body_steps) >= {"readability", "trafilatura", "lxml-rules"}
    assert all(isinstance(v, list) for v in body_steps.values())


def test_bytes_in_another_charset() -> None:
    page = article_page(charset="windows-1252").replace("Placeholder headline", "Café déjà vu")
    art = extract_article(page.encode("cp1252"), URL)
    assert art.title == "Café déjà vu"


def test_language_override_and_no_jsonld() -> None:
    art = extract_article(article_page(jsonld=False), URL, language="fr")
    assert art.language == "fr"
    assert art.title == "Placeholder headline"  # <title> without the site's name
    assert art.authors == ["Ada Placeholder"]


@pytest.mark.parametrize(("body", "kind"), [
    (b"", "blocked"),
    (b"   \n ", "blocked"),
    (b"<html><body></body></html>", "blocked"),
    (b"<html><head><title>Check</title></head><body><p>Please complete the captcha</p></body></html>", None),
    (b"<html><head><title>Only a title</title></head><body><div><a href='/x'>x</a></div></body></html>", None),
])
def test_rejections_have_a_kind(body: bytes, kind: str | None) -> None:
    with pytest.raises(PageRejected) as info:
        extract_article(body, URL)
    assert info.value.kind in ("blocked", "not_article", "malformed")
    if kind:
        assert info.value.kind == kind


def test_enormous_and_deeply_nested_pages() -> None:
    deep = "<div>" * 100_000 + "<p>" + paragraph(1) + "</p>" + "</div>" * 100_000
    page = f"<html><head><title>Deep page</title></head><body>{deep}</body></html>"
    try:
        art = extract_article(page, URL)
        assert art.title == "Deep page"
    except PageRejected as exc:
        assert not exc.reason.startswith("unparseable page"), exc.reason
    huge = article_page(paras=20) + "<p>" + ("filler words " * 600_000) + "</p>"
    art = extract_article(huge.encode(), URL)
    assert art.title == "Placeholder headline"
    deep_ld = '<script type="application/ld+json">' + "[" * 200_000 + "]" * 200_000 + "</script>"
    art = extract_article(article_page().replace("</head>", deep_ld + "</head>"), URL)
    assert art.title == "Placeholder headline"


def test_body_agreement() -> None:
    a = ["one two three", "four"]
    assert body_agreement(a, a) == 1.0
    assert body_agreement(a, ["five six"]) == 0.0
    assert body_agreement([], []) == 1.0
    assert body_agreement(a, []) == 0.0
    assert body_agreement(["One, two!"], ["one two three four"]) == pytest.approx(2 * 1 * 0.5 / 1.5)


def test_choose_body_rule() -> None:
    long = [paragraph(i) for i in range(6)]
    assert choose_body({"readability": long, "trafilatura": long[:5]})[0] == "readability"
    # readability latched onto a fragment, trafilatura found much more: trafilatura
    method, blocks, conf = choose_body({"readability": long[:2], "trafilatura": long[:5]})
    assert method == "trafilatura" and blocks == long[:5] and conf < 0.8
    # trafilatura found over three times more: it took the whole page, readability stays...
    assert choose_body({"readability": long[:2], "trafilatura": long * 3})[0] == "readability"
    # ...unless readability found next to nothing
    assert choose_body({"readability": ["a short teaser of ten words in all here"],
                        "trafilatura": long * 3})[0] == "trafilatura"
    # they disagree but trafilatura found less: readability stays
    assert choose_body({"readability": long, "trafilatura": ["short other text"]})[0] == "readability"
    assert choose_body({"readability": [], "trafilatura": long})[0] == "trafilatura"
    assert choose_body({"readability": [], "trafilatura": []})[1] == []


# --------------------------------------------------------------------------- property tests

html_bits = st.sampled_from([
    "<html>", "</html>", "<head>", "</head>", "<body>", "</body>", "<article>", "</article>", "<div>", "</div>",
    "<p>", "</p>", "<h1>", "</h1>", "<h2>", "</h2>", "<title>", "</title>", "<nav>", "<aside class=related>",
    "<script type='application/ld+json'>", "</script>", '{"@type":"NewsArticle","headline":', '"x",', "[[[[",
    '"author":{"name":"By A B"}', '"datePublished":"2024-13-45T99:00"', "}", "<meta property='og:title' content='",
    "'>", "<time datetime='2024-02-30'>", "<p hidden>", "<div style='display:none'>", "&amp;", "&#0;", "\x00",
    "\ufeff", "<!--", "-->", "<![CDATA[", "]]>", "<br>", "captcha", "<html lang='zz-!!'>", "<meta charset=x-bogus>",
])


def _check(body: bytes | str, url: str = URL) -> None:
    try:
        art = extract_article(body, url, timezone="Asia/Tokyo")
    except PageRejected as exc:
        assert exc.kind in ("blocked", "not_article", "malformed") and exc.reason
        assert not exc.reason.startswith("unparseable page"), exc.reason  # the last-resort guard is never needed
        return
    assert art.title and art.paragraphs and all(p.strip() == p and p for p in art.paragraphs)
    assert 0.0 <= art.extraction_confidence <= 1.0
    for value in (art.published_at, art.modified_at):
        assert value is None or value.endswith("+00:00")


@FUZZ
@given(st.binary(max_size=2000))
def test_random_bytes(body: bytes) -> None:
    _check(body)


@pytest.mark.slow
@FUZZ
@given(st.lists(st.one_of(html_bits, st.text(max_size=20)), max_size=60).map("".join))
def test_tag_soup(text: str) -> None:
    _check(text)
    _check(text.encode("utf-8", errors="surrogatepass"), url="not a url")


PAGE = article_page().encode()


@pytest.mark.slow
@FUZZ
@given(st.integers(min_value=0, max_value=len(PAGE)), st.integers(min_value=0, max_value=400), st.binary(max_size=30))
def test_damaged_page(cut: int, span: int, junk: bytes) -> None:
    _check(PAGE[:cut])
    _check(PAGE[:cut] + junk + PAGE[cut + span:])


def test_stamps_and_byline_lines_leave_the_body() -> None:
    from crawler.parsers.generic import _without_stamps

    blocks = ["By Bo Example / Example Staff Writer", "02:41 JST, September 6, 2024", paragraph(1),
              "By then, the harbor had closed.", "In 2015 the town grew.", "Updated: 2024-09-06 10:00"]
    assert _without_stamps(blocks, ["Someone Else"], None) == [paragraph(1), "By then, the harbor had closed.",
                                                               "In 2015 the town grew."]
