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


#: The Japan News body as one XPath (what the hand-written parser used before the profile): unclassed
#: <p> and <h2> of the article block, outside figures, blocks and the page's boilerplate containers.
REFERENCE_BODY_XPATH = (
    ".//*[(self::p and (not(@class) or normalize-space(@class)='')) or self::h2]"
    "[not(ancestor::figure) and not(ancestor::p) and not(ancestor::h2)"
    " and not(ancestor::*[contains(concat(' ', normalize-space(@class), ' '), ' sns-button ')"
    " or contains(concat(' ', normalize-space(@class), ' '), ' latestlist ')"
    " or contains(concat(' ', normalize-space(@class), ' '), ' popularlist ')"
    " or contains(concat(' ', normalize-space(@class), ' '), ' goolenewsfeed ')"
    " or contains(concat(' ', normalize-space(@class), ' '), ' ranking ')"
    " or @id='tpModal' or @id='consentModal' or @id='article-inline-offer'"
    " or self::footer or self::script or self::noscript or self::style])]"
)


def test_the_walk_selects_what_the_reference_xpath_selects_on_every_fixture() -> None:
    from core.sites import get_site
    from crawler.parsers.base import clean_or_none, element_text

    rule = get_site("japannews").body
    pages = sorted((Path(__file__).parent / "fixtures").glob("*/page.html"))
    compared = 0
    for page in pages:
        sel = Selector(text=page.read_bytes().decode("utf-8", errors="replace"))
        for block in sel.css("div#p-article-block"):
            want = [clean_or_none(element_text(el.root, max_depth=16)) for el in block.xpath(REFERENCE_BODY_XPATH)]
            assert body_blocks(block, rule.blocks, rule.exclude, rule.max_depth) == [w for w in want if w], \
                page.parent.name
            compared += 1
    assert compared >= 10
