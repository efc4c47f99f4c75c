"""What a page parser returns: the raw, un-normalised fields of one article page.

Parsers extract text (tags stripped, entities decoded) but do not interpret it: splitting
"(UPDATE n)" off the title, the dateline off the first paragraph, the byline into authors, and
turning timestamps into UTC is the job of ``transforms.articles.clean_articles``. Every field is
JSON-serialisable so items can be staged as JSON Lines.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ArticleItem:
    url: str  # the URL that was fetched (after redirects)
    site: str  # site key, e.g. "japannews"
    canonical_url: str | None = None  # <link rel=canonical> / og:url
    native_id: str | None = None  # site's own id (WordPress post id for The Japan News)
    title: str | None = None  # headline as shown (h1), may end in "(UPDATE n)"
    og_title: str | None = None
    html_title: str | None = None  # <title> text, e.g. "Headline - The Japan News"
    postdate: str | None = None  # timestamp line as text, e.g. "18:19 JST,\u2002September 6, 2024 (updated at 20:30 JST)"
    published_time: str | None = None  # meta article:published_time (ISO, +09:00)
    modified_time: str | None = None  # meta article:modified_time
    jsonld_published: str | None = None  # JSON-LD datePublished (ISO with seconds)
    jsonld_modified: str | None = None  # JSON-LD dateModified
    section: str | None = None  # section slug (URL / body classes / breadcrumb)
    subsection: str | None = None  # sub-section slug
    section_label: str | None = None  # breadcrumb label, e.g. "Politics"
    subsection_label: str | None = None  # e.g. "Politics & Government"
    byline: str | None = None  # p.byline text, e.g. "By A and B / Yomiuri Shimbun Staff Writers"
    paragraphs: list[str] = field(default_factory=list)  # body blocks in order; <h2> sub-headings as their own entries
    description: str | None = None  # og:description with markup stripped
    access: str | None = None  # meta cXenseParse:yoj-articletype as is ("free", ...)
    keywords: list[str] = field(default_factory=list)  # JSON-LD keywords as is, e.g. "(1) 無料記事"
    image_url: str | None = None
    image_caption: str | None = None
    image_credit: str | None = None
    language: str | None = None  # <html lang>
    revision: str | None = None  # the site's update counter when it shows one outside the headline
    authors: list[str] | None = None  # people, when the parser split the byline itself (else the transform does)
    section_native: str | None = None  # the site's own section slug/path before mapping to the vocabulary
    extraction: dict[str, str] | None = None  # field → method that produced it (provenance)
    extraction_confidence: float | None = None  # 0..1, agreement of the body with a second method
    fetched_at: str | None = None  # ISO 8601 UTC, set by the spider
    http_status: int | None = None
    run_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ArticleItem:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})
