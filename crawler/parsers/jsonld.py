"""JSON-LD blocks of a page, read defensively: sloppy JSON tolerated, depth and size bounded.

Real pages carry several blocks, ``@graph`` containers, trailing commas, raw newlines inside strings
and HTML inside values; a hostile page may nest a block 200,000 levels deep. A block that cannot be
read within the bounds is ignored (the article keeps everything else), never an exception.
"""

from __future__ import annotations

import json
import re
from typing import Any

from lxml import etree
from parsel import Selector

#: Deeper blocks are ignored (json.loads would recurse once per level).
MAX_DEPTH = 64
#: Larger blocks are ignored.
MAX_BLOCK_CHARS = 2_000_000
#: Objects examined per page when looking for the article node.
MAX_NODES = 500

_TRAILING_COMMA_RE = re.compile(r",\s*([\]}])")
_ARTICLE_TYPES = ("Article", "Posting", "Report")


def _depth_ok(text: str) -> bool:
    depth = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return False
        elif ch in "]}":
            depth -= 1
    return True


def loads_lenient(text: str) -> Any | None:
    """Parse one JSON-LD block; None when it is unreadable, too deep or too large."""
    text = text.strip()
    if not text or len(text) > MAX_BLOCK_CHARS or not _depth_ok(text):
        return None
    if text.startswith("<!--"):
        text = text.removeprefix("<!--").removesuffix("-->").strip()
    for candidate in (text, _TRAILING_COMMA_RE.sub(r"\1", text)):
        try:
            return json.loads(candidate, strict=False)  # strict=False: raw control characters in strings
        except (ValueError, RecursionError):
            continue
    return None


def jsonld_blocks(sel: Selector) -> list[Any]:
    """Every readable ``application/ld+json`` block of the page, in order."""
    out = []
    for raw in sel.xpath("//script[@type='application/ld+json']"):
        root = raw.root
        text = root.text if isinstance(root, etree._Element) else None
        if text:
            data = loads_lenient(text)
            if data is not None:
                out.append(data)
    return out


def jsonld_nodes(blocks: list[Any]) -> list[dict[str, Any]]:
    """Objects of the blocks, breadth first through lists and ``@graph`` (bounded)."""
    found: list[dict[str, Any]] = []
    queue: list[Any] = list(blocks)
    while queue and len(found) < MAX_NODES:
        item = queue.pop(0)
        if isinstance(item, dict):
            found.append(item)
            graph = item.get("@graph")
            if isinstance(graph, list):
                queue.extend(graph)
        elif isinstance(item, list):
            queue.extend(item)
    return found


def types_of(node: dict[str, Any]) -> list[str]:
    kind = node.get("@type")
    return [k for k in (kind if isinstance(kind, list) else [kind]) if isinstance(k, str)]


def article_node(blocks: list[Any]) -> dict[str, Any] | None:
    """The article object (NewsArticle, BlogPosting, ReportageNewsArticle…), or None."""
    for node in jsonld_nodes(blocks):
        if any(k.endswith(_ARTICLE_TYPES) for k in types_of(node)):
            return node
    return None
