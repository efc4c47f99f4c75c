"""Drift evidence: how far a site parser's output is from the generic extractor's on the same page.

A profile's selectors (or a site hook) beat any generic method while the site's markup stays the same;
after a redesign they silently grab the wrong element or nothing. On a deterministic sample of pages
(by URL hash, so every run compares the same pages; a crawl process compares at most the profile's
``drift.max_pages`` of them, the first fetched) the parser's item is compared with the generic
extractor's reading of the page: body agreement (token F1), title equality and publication time (±2
minutes). The numbers go into the item's ``extraction["agreement"]`` and ``extraction_confidence``; the
quality check turns a day whose agreement collapsed into a failure naming the site and the fields.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from core.items import ArticleItem
from crawler.parsers.base import PageRejected

#: Fields compared besides the body.
COMPARED = ("title", "published_at")


def sampled(url: str, share: float) -> bool:
    """Deterministically in the sample: the same URL is always in or always out."""
    if share <= 0:
        return False
    if share >= 1:
        return True
    digest = hashlib.sha256(url.encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 < share


def agreement(item: ArticleItem, generic: dict[str, Any] | None) -> dict[str, float]:
    """Per-field agreement of a parsed item with the generic extractor's fields (``fallback.generic_fields``).
    A page the generic extractor rejects gives body 0 (the two disagree completely)."""
    from crawler.parsers.generic import body_agreement

    if generic is None:
        return {"body": 0.0}
    out = {"body": round(body_agreement(list(item.paragraphs or []), list(generic.get("paragraphs") or [])), 4)}
    title, other = _norm(item.title or item.og_title), _norm(generic.get("title"))
    if title and other:
        out["title"] = 1.0 if (title == other or title in other or other in title) else 0.0
    mine, theirs = _time(item.published_time or item.jsonld_published), _time(generic.get("published_at"))
    if mine is not None and theirs is not None:
        out["published_at"] = 1.0 if abs((mine - theirs).total_seconds()) <= 120 else 0.0
    return out


def annotate(item: ArticleItem, body: bytes | str, url: str, *, timezone: str, language: str) -> None:
    """Record the page's agreement with the generic extractor on the item (in place); the caller decides
    which pages (``sampled``, and the crawler's ``drift.max_pages``)."""
    from crawler.parsers.base import decode_html
    from crawler.parsers.fallback import generic_fields_tz

    try:
        generic = generic_fields_tz(decode_html(body), url, timezone=timezone, language=language)
    except PageRejected:
        generic = None
    scores = agreement(item, generic)
    extraction = dict(item.extraction or {})
    extraction["agreement"] = scores
    item.extraction = extraction
    item.extraction_confidence = scores["body"]


def _norm(value: Any) -> str:
    return " ".join(str(value).split()).casefold() if value else ""


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None
