"""What every page parser shares: the rejection type and the text helpers that keep parsers pure."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Literal

from lxml import etree
from w3lib.encoding import html_to_unicode

from crawler.items import ArticleItem

RejectKind = Literal["blocked", "not_article", "malformed"]
REJECT_KINDS: tuple[str, ...] = ("blocked", "not_article", "malformed")

#: A parser turns one fetched page into one raw item, or raises PageRejected.
Parser = Callable[..., ArticleItem]

#: Elements whose text never belongs to the visible text of an element.
_INVISIBLE = frozenset({"script", "style", "noscript", "template"})
#: C0 controls other than tab/newline/carriage return: lxml refuses them, browsers drop them.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class PageRejected(Exception):
    """A fetched page that is not a usable article.

    ``kind`` tells the crawl accounting what happened: ``blocked`` (empty document or bot
    challenge: the site refused us), ``not_article`` (a listing, attachment or other page),
    ``malformed`` (an article page without a title or without body text).
    """

    def __init__(self, kind: RejectKind, reason: str) -> None:
        if kind not in REJECT_KINDS:
            raise ValueError(f"unknown rejection kind {kind!r}")
        super().__init__(f"{kind}: {reason}")
        self.kind: RejectKind = kind
        self.reason = reason


def decode_html(body: bytes | str, *, encoding: str | None = None, content_type: str | None = None) -> str:
    """Bytes → text the way a browser would: BOM, then the HTTP charset, then <meta charset>, then
    UTF-8; undecodable bytes become U+FFFD instead of failing the page."""
    if isinstance(body, str):
        text = body
    else:
        header = content_type or (f"text/html; charset={encoding}" if encoding else None)
        try:
            _, text = html_to_unicode(header, body)
        except (LookupError, ValueError):
            text = body.decode("utf-8", errors="replace")
    return _CONTROL_RE.sub("", text)


def element_text(el: etree._Element) -> str:
    """Visible text of an element: tags stripped, entities decoded, <br> as a newline, scripts and
    styles skipped. Inner whitespace is kept for the transform to normalise. Iterative, so a
    hostile, deeply nested page cannot exhaust the stack."""
    parts: list[str] = []
    if el.text and _tag(el) not in _INVISIBLE:
        parts.append(el.text)
    stack: list[tuple[etree._Element, bool]] = [(child, False) for child in reversed(list(el))]
    while stack:
        node, done = stack.pop()
        if done:
            if node.tail:
                parts.append(node.tail)
            continue
        stack.append((node, True))
        tag = _tag(node)
        if tag == "br":
            parts.append("\n")
            continue
        if tag in _INVISIBLE or not isinstance(node.tag, str):
            continue
        if node.text:
            parts.append(node.text)
        stack.extend((child, False) for child in reversed(list(node)))
    return "".join(parts)


def _tag(el: etree._Element) -> str:
    tag = el.tag
    return tag.lower() if isinstance(tag, str) else ""


def clean_or_none(value: str | None) -> str | None:
    """Outer whitespace stripped (inner kept for the transform); blank becomes None."""
    if value is None:
        return None
    value = value.strip()
    return value or None
