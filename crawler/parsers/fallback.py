"""The generic extractor's fields, for whatever a profile leaves out.

One seam between the profile parser and the generic extractor: ``generic_fields`` returns the raw
item's field names (``title``, ``byline``, ``published_at``, ``paragraphs``…) plus ``_provenance``.
"""

from __future__ import annotations

from typing import Any

from crawler.parsers.base import PageRejected
from newsline.sites import SiteProfile


def generic_fields(text: str, url: str, site: SiteProfile) -> dict[str, Any]:
    """Fields of one page by the generic extractor; PageRejected when it finds no article."""
    try:
        from crawler.parsers.generic import extract_article
    except ImportError:  # the generic extractor lands separately; trafilatura until then
        return _trafilatura_fields(text, url)
    art = extract_article(text, url, timezone=site.timezone, language=site.language)
    return {
        "title": art.title,
        "byline": art.byline,
        "authors": list(art.authors or []),
        "published_at": art.published_at,
        "modified_at": art.modified_at,
        "summary": art.summary,
        "language": art.language,
        "keywords": list(art.keywords or []),
        "image_url": art.image_url,
        "canonical_url": art.canonical_url,
        "section": art.section,
        "paragraphs": list(art.paragraphs or []),
        "_provenance": dict(art.provenance or {}),
        "_confidence": art.extraction_confidence,
    }


def _trafilatura_fields(text: str, url: str) -> dict[str, Any]:
    import trafilatura

    doc = trafilatura.bare_extraction(text, url=url, with_metadata=True, include_comments=False,
                                      include_tables=False, as_dict=True)
    if not doc or not doc.get("text"):
        raise PageRejected("malformed", "the generic extractor found no article text")
    paragraphs = [p.strip() for p in str(doc.get("text") or "").split("\n") if p.strip()]
    return {
        "title": doc.get("title"),
        "byline": doc.get("author"),
        "published_at": doc.get("date"),
        "summary": doc.get("description"),
        "language": doc.get("language"),
        "image_url": doc.get("image"),
        "paragraphs": paragraphs,
        "_provenance": {k: "trafilatura" for k in ("title", "byline", "published_at", "summary", "body")},
    }
