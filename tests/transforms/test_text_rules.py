"""One test per normalisation rule, checked through clean_articles as a user of the table sees it."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st
from transform_factory import clean_one

from transforms.text import normalise_text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Tokyo\u2002Bay", "Tokyo Bay"),  # &ensp;
        ("Tokyo\u00a0Bay", "Tokyo Bay"),  # NBSP
        ("  Tokyo \t\n  Bay \r\n", "Tokyo Bay"),
        ("Cafe\u0301", "Caf\u00e9"),  # NFD -> NFC
        ("\u201cQuoted\u201d \u2014 it\u2019s kept", "\u201cQuoted\u201d \u2014 it\u2019s kept"),
        (" \u2002\u00a0\n", None),
        ("", None),
        (None, None),
        (42, None),
    ],
)
def test_normalise_text(raw: object, expected: str | None) -> None:
    assert normalise_text(raw) == expected


def test_ensp_and_nbsp_are_spaces_in_every_text_field() -> None:
    row = clean_one(
        title="Leaders\u2002Meet\u00a0Again",
        paragraphs=["First\u2002generated\u00a0paragraph.", "Second\tparagraph\nwith a newline."],
        byline="By\u00a0Writer\u2002Alpha / Staff Writer",
        image_caption="Caption\u2002text",
    )
    assert row["title"] == "Leaders Meet Again"
    assert row["body"] == "First generated paragraph.\n\nSecond paragraph with a newline."
    assert row["authors"] == ["Writer Alpha"]
    assert row["image_caption"] == "Caption text"


@pytest.mark.parametrize(
    ("title", "expected_title", "revision"),
    [
        ("Generated Headline (UPDATE 1)", "Generated Headline", 1),
        ("Generated Headline (UPDATE 12)", "Generated Headline", 12),
        ("Generated Headline (Update 2)", "Generated Headline", 2),
        ("Generated Headline (update 3)  ", "Generated Headline", 3),
        ("Generated Headline\u2002(UPDATE\u00a04)", "Generated Headline", 4),
        ("Generated Headline", "Generated Headline", 0),
        ("Generated (UPDATE 1) Headline In The Middle", "Generated (UPDATE 1) Headline In The Middle", 0),
        ("Generated Headline (UPDATED)", "Generated Headline (UPDATED)", 0),
    ],
)
def test_update_mark_becomes_revision(title: str, expected_title: str, revision: int) -> None:
    row = clean_one(title=title)
    assert (row["title"], row["revision"]) == (expected_title, revision)


def test_title_falls_back_to_og_title_then_html_title_without_site_suffix() -> None:
    assert clean_one(title=None, og_title="From Og Title (UPDATE 2)")["title"] == "From Og Title"
    row = clean_one(title="  ", og_title=None, html_title="From Html Title (UPDATE 3) - The Japan News")
    assert (row["title"], row["revision"]) == ("From Html Title", 3)


@pytest.mark.parametrize(
    ("first", "dateline", "lead"),
    [
        ("SEOUL \u2014 Generated lead words.", "SEOUL", "Generated lead words."),
        ("NEW YORK \u2014 Generated lead words.", "NEW YORK", "Generated lead words."),
        ("WASHINGTON, D.C. \u2014 Generated lead words.", "WASHINGTON, D.C.", "Generated lead words."),
        ("ST. JOHN'S \u2014 Generated lead.", "ST. JOHN'S", "Generated lead."),
        ("PORT-AU-PRINCE \u2014 Generated lead.", "PORT-AU-PRINCE", "Generated lead."),
        ("SEOUL\u2002\u2014\u00a0Generated lead words.", "SEOUL", "Generated lead words."),
        # no dateline at all
        ("Generated lead words without a place.", None, "Generated lead words without a place."),
        # a sentence that merely starts with a capitalised word, or an acronym, is not a dateline
        ("Tokyo \u2014 the capital \u2014 grew.", None, "Tokyo \u2014 the capital \u2014 grew."),
        ("NATO said on Friday \u2014 generated words.", None, "NATO said on Friday \u2014 generated words."),
        ("SEOUL - Hyphen is not an em dash.", None, "SEOUL - Hyphen is not an em dash."),
        ("SEOUL\u2014No spaces around the dash.", None, "SEOUL\u2014No spaces around the dash."),
    ],
)
def test_dateline(first: str, dateline: str | None, lead: str) -> None:
    row = clean_one(paragraphs=[first, "Second generated paragraph."])
    assert row["dateline"] == dateline
    assert row["body"] == f"{lead}\n\nSecond generated paragraph."


def test_dateline_only_from_the_first_paragraph() -> None:
    row = clean_one(paragraphs=["Generated lead.", "TOKYO \u2014 Second generated paragraph."])
    assert row["dateline"] is None
    assert row["body"].endswith("TOKYO \u2014 Second generated paragraph.")


def test_body_drops_empty_paragraphs_keeps_subheadings_in_order() -> None:
    row = clean_one(paragraphs=["", "Generated lead.", " \u2002 ", "Sub-heading", "Generated tail."])
    assert row["body"] == "Generated lead.\n\nSub-heading\n\nGenerated tail."
    assert row["word_count"] == 5


@pytest.mark.parametrize(
    ("byline", "authors"),
    [
        ("By Writer Alpha / Yomiuri Shimbun Staff Writer", ["Writer Alpha"]),
        ("By Writer Alpha and Writer Beta / Yomiuri Shimbun Staff Writers", ["Writer Alpha", "Writer Beta"]),
        ("By Writer Alpha, Writer Beta and Writer Gamma / Yomiuri Shimbun Staff Writers",
         ["Writer Alpha", "Writer Beta", "Writer Gamma"]),
        ("By Writer Alpha / Yomiuri Shimbun Correspondent", ["Writer Alpha"]),
        ("By Writer Alpha", ["Writer Alpha"]),
        (None, []),
        ("   ", []),
    ],
)
def test_byline_and_authors(byline: str | None, authors: list[str]) -> None:
    row = clean_one(byline=byline)
    assert list(row["authors"]) == authors
    assert row["byline"] == (byline.strip() or None if byline else None)


@pytest.mark.parametrize(
    ("keywords", "expected"),
    [
        (["(1) 無料記事"], ["無料記事"]),
        (["(12) Generated Tag", "Plain Tag", "  ", "(3)\u2002Spaced Tag"], ["Generated Tag", "Plain Tag", "Spaced Tag"]),
        (["Tag (1) kept"], ["Tag (1) kept"]),
        ([], []),
        (None, []),
    ],
)
def test_keyword_count_prefix_is_stripped(keywords: list[str] | None, expected: list[str]) -> None:
    assert list(clean_one(keywords=keywords)["keywords"]) == expected


@pytest.mark.parametrize(
    ("raw", "access", "access_raw"),
    [
        ("free", "free", "free"),
        ("premium", "premium", "premium"),
        ("member", "premium", "member"),
        (None, "unknown", None),
        ("", "unknown", ""),
    ],
)
def test_access_mapping(raw: str | None, access: str, access_raw: str | None) -> None:
    row = clean_one(access=raw)
    assert (row["access"], row["access_raw"]) == (access, access_raw)


def test_summary_markup_stripped_and_language_default() -> None:
    row = clean_one(description="<p>Generated summary\nline.</p>\n", language=None)
    assert row["summary"] == "Generated summary line."
    assert row["language"] == "en"
    assert clean_one(language="ja")["language"] == "ja"


def test_url_is_canonical_with_fetched_fallback_and_article_id() -> None:
    fetched = "https://japannews.yomiuri.co.jp/politics/politics-government/20240906-101/?utm=x"
    canonical = "https://japannews.yomiuri.co.jp/politics/politics-government/20240906-101/"
    row = clean_one(url=fetched, canonical_url=canonical)
    assert (row["url"], row["article_id"]) == (canonical, "japannews:101")
    assert clean_one(url=fetched, canonical_url=None)["url"] == fetched


def test_article_id_without_native_id_hashes_the_canonical_url() -> None:
    import hashlib

    canonical = "https://japannews.yomiuri.co.jp/world/asia-pacific/20240906-555/"
    row = clean_one(native_id=None, canonical_url=canonical)
    assert row["article_id"] == "japannews:u" + hashlib.sha256(canonical.encode()).hexdigest()[:16]
    other = clean_one(native_id=None, canonical_url=canonical.replace("555", "556"))
    assert other["article_id"] != row["article_id"]


def test_image_fields() -> None:
    row = clean_one(image_url=" https://example.org/a.jpg ", image_credit="Reuters", image_caption=None)
    assert (row["image_url"], row["image_credit"], row["image_caption"]) == ("https://example.org/a.jpg", "Reuters", None)


@given(st.text())
def test_normalise_text_output_is_canonical(raw: str) -> None:
    out = normalise_text(raw)
    if out is None:
        assert not raw.split()
        return
    assert out == out.strip() and "  " not in out
    assert all(c == " " or not c.isspace() for c in out)
    assert unicodedata.is_normalized("NFC", out)
    assert normalise_text(out) == out
