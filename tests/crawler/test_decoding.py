"""Mojibake is never stored unflagged: undeclared Shift_JIS and BOM-less UTF-16 are read right, and
bytes no encoding explains are rejected as malformed with the reason."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from crawler.parsers import PageRejected, decode_html, get_parser

FIXTURE = Path(__file__).parent / "fixtures" / "article_full" / "page.html"
URL = "https://japannews.yomiuri.co.jp/politics/politics-government/20241013-216478/"
#: Generated placeholder Japanese (no article text from anywhere).
TITLE_JA = "市議会が灯籠の予算案を可決"
PARAGRAPH_JA = "市の担当者は来年度の祭りの計画について説明した。住民の意見を聞く会も開かれる予定だ。"

parse = get_parser("japannews")


def page_ja() -> str:
    text = FIXTURE.read_text("utf-8").replace('<meta charset="UTF-8">', "")
    text = text.replace("Placeholder Council Agrees on Lantern Budget", TITLE_JA)
    start = text.index("<p>The budget of 12 million yen")
    return text[:start] + f"<p>{PARAGRAPH_JA}</p>" + text[text.index("</p>", start) + 4:]


@pytest.mark.parametrize("codec", ["shift_jis", "utf-16-le", "utf-16-be"])
def test_undeclared_legacy_and_bomless_utf16_pages_decode_right(codec: str) -> None:
    body = page_ja().encode(codec, errors="xmlcharrefreplace")  # characters it lacks as &#NNNN;
    item = parse(body, URL)
    assert item.title == TITLE_JA
    assert PARAGRAPH_JA in item.paragraphs


def test_english_windows_1252_page_stays_windows_1252() -> None:
    text = FIXTURE.read_text("utf-8").replace('<meta charset="UTF-8">', "")
    item = parse(text.encode("cp1252", errors="xmlcharrefreplace"), URL)
    assert "\u201clong overdue.\u201d" in item.paragraphs[0]


def test_bytes_no_encoding_explains_are_rejected_with_the_reason() -> None:
    rng = random.Random(11)
    head = b"<html><head><title>x</title></head><body><h1>"
    noise = bytes(rng.choice([0x81, 0x8D, 0x8F, 0x90, 0x9D]) if i % 3 == 0 else rng.randrange(0x80, 0x100)
                  for i in range(4000))
    with pytest.raises(PageRejected) as info:
        decode_html(head + noise + b"</h1></body></html>")
    assert info.value.kind == "malformed" and info.value.reason.startswith("undecodable:")


def test_a_few_broken_bytes_in_utf8_are_kept() -> None:
    text = "<p>" + "caf\u00e9 \u2014 lantern " * 200 + "</p>"
    body = text.encode("utf-8")[:-40] + b"\xff\xfe\xfa" + text.encode("utf-8")[-40:]
    assert decode_html(body).count("\ufffd") == 3
