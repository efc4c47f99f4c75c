"""The generic extractor's general rules for what sits around an article: a headline/standfirst/kicker
repeated at the top of the body, date stamps in English and German, captions and credits by class,
paywall boxes, badges in the headline, and publication times printed only as prose."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from lxml import html as lxml_html

from crawler.parsers.bodies import is_caption, is_chrome, is_dateline
from crawler.parsers.generic import _furniture_free, extract_article, without_head
from crawler.parsers.metadata import heading_text, prose_times, resolve, standfirst
from tests.extract.test_generic import paragraph

NY, BERLIN = ZoneInfo("America/New_York"), ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(("text", "tz", "expected"), [
    ("March 3, 2024 at 5:40 p.m. ET", NY, [("2024-03-03T22:40:00+00:00", False)]),
    ("March 1, 2024 at 4:43 p.m. ET Updated March 3, 2024 at 7:05 p.m. ET (update 1)", NY,
     [("2024-03-01T21:43:00+00:00", False), ("2024-03-04T00:05:00+00:00", True)]),
    ("3. März 2024, 17:40 Uhr", BERLIN, [("2024-03-03T16:40:00+00:00", False)]),
    ("31. März 2024, 17:40 Uhr", BERLIN, [("2024-03-31T15:40:00+00:00", False)]),  # CEST
    ("1. Aktualisierung: 29. März 2024, 04:01 Uhr", BERLIN, [("2024-03-29T03:01:00+00:00", True)]),
    ("02:41 JST, September 6, 2024", NY, [("2024-09-05T17:41:00+00:00", False)]),  # the printed zone wins
    ("17:40, 03.03.2024", BERLIN, [("2024-03-03T16:40:00+00:00", False)]),
    ("Nov. 3, 2024, 11:30 pm EST", NY, [("2024-11-04T04:30:00+00:00", False)]),
    ("Published 12 June 2023 14:05 GMT+2", NY, [("2023-06-12T12:05:00+00:00", False)]),
    ("March 3, 2024", NY, []),  # a day without a clock time is htmldate's business
    ("In 2024 the council met 12 times.", NY, []),
])
def test_prose_times(text: str, tz: ZoneInfo, expected: list) -> None:
    assert [(dt.isoformat(), upd) for dt, upd in prose_times(text, tz)] == expected


def _page(body: str, head: str = "") -> lxml_html.HtmlElement:
    return lxml_html.document_fromstring(f"<html><head>{head}</head><body>{body}</body></html>")


def test_prose_time_is_a_late_step_of_the_chains() -> None:
    body = ('<div class="story-timestamps"><span class="story-published">March 1, 2024 at 11:30 p.m. ET</span> '
            '<span class="story-updated">Updated March 2, 2024 at 7:05 a.m. ET (update 1)</span></div>'
            f'<p>{paragraph(1)}</p>')
    meta = resolve(_page(body), "https://news.example.org/x.html", timezone="America/New_York")
    assert (meta.published_at, meta.provenance["published_at"]) == ("2024-03-02T04:30:00+00:00", "prose-date")
    assert (meta.modified_at, meta.provenance["modified_at"]) == ("2024-03-02T12:05:00+00:00", "prose-date")
    # structured data comes first
    head = '<meta property="article:published_time" content="2024-03-01T10:00:00+00:00">'
    meta = resolve(_page(body, head), "https://news.example.org/x.html", timezone="America/New_York")
    assert meta.published_at == "2024-03-01T10:00:00+00:00"
    # a date in an element not named as a date is not read as the publication time
    meta = resolve(_page(f"<p>On March 1, 2024 at 11:30 p.m. ET the vote was held. {paragraph(2)}</p>"),
                   "https://news.example.org/x.html", timezone="America/New_York", explain=True)
    assert meta.provenance.get("published_at") != "prose-date"


@pytest.mark.parametrize(("block", "expected"), [
    ("March 1, 2024 at 4:43 p.m. ET", True),
    ("Updated March 3, 2024 at 7:05 p.m. ET (update 1)", True),
    ("3. März 2024, 17:40 Uhr", True),
    ("1. Aktualisierung: 29. März 2024, 04:01 Uhr", True),
    ("1. Aktualisierung:", True),
    ("Aktualisiert am 03.03.2024 um 17:40", True),
    ("The meeting is on March 3 at 5 pm.", False),
    ("Am Montag beginnt die Sitzung um 17 Uhr im Rathaus.", False),
    ("In 2024 we had 3.5 percent growth", False),
])
def test_datelines(block: str, expected: bool) -> None:
    assert is_dateline(block) is expected


def test_head_of_the_article_leaves_the_body() -> None:
    title, dek = "Council approves the harbor plan", "A short standfirst under the headline, in one sentence."
    body = [paragraph(1), paragraph(2)]
    assert without_head(["Politics", title, dek, *body], title, None, dek) == body
    assert without_head([title, dek, *body], title, dek) == body  # the description right after the headline
    assert without_head([dek, *body], title, None, dek) == body  # a marked standfirst on its own
    # the description alone is the first paragraph on many pages: kept
    assert without_head([paragraph(1), paragraph(2)], title, paragraph(1)) == [paragraph(1), paragraph(2)]
    # a long block before the headline stops the search: nothing is dropped
    assert without_head([paragraph(3), title, *body], title, None) == [paragraph(3), title, *body]
    assert without_head([], title, dek) == []


def test_standfirst_by_class() -> None:
    root = _page('<h1>Head</h1><p class="story-dek">The standfirst of this placeholder story here.</p>'
                 f'<div class="summary-box"><p>{paragraph(1)}</p></div>')
    assert standfirst(root) == "The standfirst of this placeholder story here."
    assert standfirst(_page(f"<p>{paragraph(1)}</p>")) is None


@pytest.mark.parametrize(("markup", "expected"), [
    ('<h1 class="t"><span class="rk-plus">RK+</span> Hafen plant neue Radwege</h1>', "Hafen plant neue Radwege"),
    ('<h1><span>LIVE</span> Council votes on the budget</h1>', "Council votes on the budget"),
    ('<h1>Council votes on the budget <span class="badge">Exclusive</span></h1>', "Council votes on the budget"),
    ('<h1><span>Council</span> votes on the budget</h1>', "Council votes on the budget"),  # not a badge
    ('<h1><span>NASA</span> Launch</h1>', "NASA Launch"),  # the rest would be one word: kept
])
def test_badges_are_not_title(markup: str, expected: str) -> None:
    assert heading_text(lxml_html.fragment_fromstring(markup)) == expected


def test_captions_credits_and_paywall_boxes() -> None:
    cap = lxml_html.fragment_fromstring('<p class="rk-bildunterschrift">Blick in den Saal. '
                                        '<span class="rk-quelle">Foto: A. Beispiel</span></p>')
    assert is_caption(cap)
    assert is_caption(lxml_html.fragment_fromstring('<span class="photo-credit">Example Desk</span>'))
    assert not is_caption(lxml_html.fragment_fromstring(f'<div class="story-text"><p>{paragraph(1)}</p></div>'))
    for markup in ('<div class="rk-plus-hinweis">Weiterlesen mit Plus</div>', '<div class="rk-anzeige">Anzeige</div>',
                   '<div class="paywall-teaser">Subscribe to keep reading</div>'):
        assert is_chrome(lxml_html.fragment_fromstring(markup)), markup
    kept = ["The company charged 5 euro per month for water, residents said.", paragraph(1)]
    assert _furniture_free(["Weiterlesen mit XY+: Alle Artikel für 7,99 Euro im Monat.",
                            "Subscribe to keep reading. Unlimited access for $1 a week.", "Anzeige", *kept]) == kept


def test_whole_page_without_structured_data() -> None:
    """A page with no structured data at all: kicker, headline with a badge, dek, prose times, a
    credited picture and a paywall box around the body."""
    paras = "".join(f"<p>{paragraph(i)}</p>" for i in range(5))
    page = f"""<html><head><title>Placeholder harbor story - Example Courier</title></head><body>
<div id="story"><div class="story-kicker"><a href="/local/">Local</a></div>
<h1 class="story-headline"><span class="plus-badge">XY+</span> Placeholder harbor story</h1>
<p class="story-dek">A standfirst that sums the placeholder harbor story up in one line.</p>
<div class="story-byline">By Ada Placeholder</div>
<div class="story-timestamps"><span class="story-published">March 3, 2024 at 5:40 p.m. ET</span></div>
<div class="story-photo"><img src="/a.jpg"><p class="photo-caption">Lantern harbor at dusk.
<span class="photo-credit">Photo: Example Desk</span></p></div>
<div class="story-text">{paras}<div class="paywall-box">Keep reading with a subscription for $1 a week.</div></div>
</div></body></html>"""
    art = extract_article(page, "https://courier.example.org/news/local/placeholder-1234567.html",
                          timezone="America/New_York")
    assert art.title == "Placeholder harbor story"
    assert art.summary == "A standfirst that sums the placeholder harbor story up in one line."
    assert art.published_at == "2024-03-03T22:40:00+00:00"
    assert art.paragraphs == [paragraph(i) for i in range(5)]
