"""Nested headings: the body is found in one linear walk and each block's text is depth-capped
(2,000 nested <h2> took 16-30 s in the XPath with ancestor:: tests; bench numbers in the report)."""

from __future__ import annotations

from pathlib import Path

from parsel import Selector

from crawler.parsers import get_parser
from crawler.parsers.profile import body_blocks

FIXTURE = Path(__file__).parent / "fixtures" / "article_full" / "page.html"
URL = "https://japannews.yomiuri.co.jp/politics/politics-government/20241013-216478/"


def nested(n: int) -> str:
    return "".join(f"<h2>level{i} " for i in range(n)) + "deepest" + "</h2>" * n


def test_japannews_body_with_2000_nested_headings_is_bounded() -> None:
    page = FIXTURE.read_text("utf-8")
    at = page.index("<p>The budget of 12 million")
    plain = get_parser("japannews")(page.encode(), URL)
    item = get_parser("japannews")((page[:at] + nested(2000) + page[at:]).encode(), URL)
    assert len(item.paragraphs) == len(plain.paragraphs) + 1
    heading = item.paragraphs[1]
    assert heading.startswith("level0 level1") and "level15" in heading
    assert "deepest" not in heading and "level1999" not in heading and len(heading.split()) == 17  # the block and 16 levels below it
    assert [p for p in item.paragraphs if p != heading] == plain.paragraphs


def test_profile_body_blocks_cap_the_depth_too() -> None:
    html = f"<html><body><article><p>first</p>{nested(2000)}<p>last</p></article></body></html>"
    blocks = body_blocks(Selector(text=html).css("article")[0], "p, h2", [])
    assert blocks[0] == "first" and blocks[-1] == "last" and len(blocks) == 3
    assert "deepest" not in blocks[1] and len(blocks[1].split()) == 17


def test_the_walk_selects_what_the_reference_xpath_selects_on_every_fixture() -> None:
    from crawler.parsers import japannews_selectors as S
    from crawler.parsers.japannews import _body_blocks

    pages = sorted((Path(__file__).parent / "fixtures").glob("*/page.html"))
    compared = 0
    for page in pages:
        sel = Selector(text=page.read_bytes().decode("utf-8", errors="replace"))
        for block in sel.xpath(S.ARTICLE_BLOCK):
            assert _body_blocks(block.root) == [el.root for el in block.xpath(S.BODY_BLOCKS)], page.parent.name
            compared += 1
    assert compared >= 10
