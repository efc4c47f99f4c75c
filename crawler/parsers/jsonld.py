"""JSON-LD of a page for the site parsers: the blocks and the article node, read by the generic
extractor's lenient, bounded reader (``crawler.parsers.metadata``): sloppy JSON tolerated; a block too
large or nested too deep (200,000 levels on a hostile page) is ignored, never an exception."""

from __future__ import annotations

from typing import Any

from lxml import etree
from parsel import Selector

from crawler.parsers.metadata import parse_jsonld, walk_jsonld

_ARTICLE_TYPES = ("Article", "Posting", "Report")


def jsonld_blocks(sel: Selector) -> list[Any]:
    """Every readable value of the page's ``application/ld+json`` blocks, in order."""
    out: list[Any] = []
    for raw in sel.xpath("//script[@type='application/ld+json']"):
        root = raw.root
        text = root.text if isinstance(root, etree._Element) else None
        if text:
            out.extend(parse_jsonld(text))
    return out


def jsonld_nodes(blocks: list[Any]) -> list[dict[str, Any]]:
    """The objects of the blocks, breadth first through arrays, ``@graph`` and nested objects (bounded)."""
    return walk_jsonld(blocks)


def types_of(node: dict[str, Any]) -> list[str]:
    kind = node.get("@type")
    return [k for k in (kind if isinstance(kind, list) else [kind]) if isinstance(k, str)]


def article_node(blocks: list[Any]) -> dict[str, Any] | None:
    """The article object (NewsArticle, BlogPosting, ReportageNewsArticle…), or None."""
    for node in jsonld_nodes(blocks):
        if any(k.endswith(_ARTICLE_TYPES) for k in types_of(node)):
            return node
    return None
