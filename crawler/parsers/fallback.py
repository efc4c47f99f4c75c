"""The generic extractor's fields, for whatever a profile leaves out.

One seam between the profile parser and the generic extractor: ``generic_fields`` returns the raw
item's field names (``title``, ``byline``, ``published_at``, ``paragraphs``…) plus ``_provenance``.
"""

from __future__ import annotations

from typing import Any

from core.sites import SiteProfile


def generic_fields(text: str, url: str, site: SiteProfile) -> dict[str, Any]:
    """Fields of one page by the generic extractor; PageRejected when it finds no article."""
    return generic_fields_tz(text, url, timezone=site.timezone, language=None)  # the page's own language wins


def generic_fields_tz(text: str, url: str, *, timezone: str, language: str | None) -> dict[str, Any]:
    from crawler.parsers.generic import extract_article

    art = extract_article(text, url, timezone=timezone, language=language)
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
