"""The rules.md normalisation, reduced to what a parser test needs to compare a raw ArticleItem with
the demo site's ground truth. Deliberately independent of transforms/: a mismatch here points at the
parser, not at another area's cleaning code."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from typing import Any

_WS = re.compile(r"\s+")
_UPDATE = re.compile(r"\s*\(update\s+(\d+)\)\s*$", re.IGNORECASE)
_DATELINE = re.compile(r"^([A-Z][A-Z .,'\-]*?) \u2014 ")
_COUNT = re.compile(r"^\(\d+\)\s*")


def norm(value: str | None) -> str | None:
    if value is None:
        return None
    text = _WS.sub(" ", unicodedata.normalize("NFC", value).replace("\u2002", " ").replace("\u00a0", " ")).strip()
    return text or None


def view(item: dict[str, Any]) -> dict[str, Any]:
    """The truth-comparable fields of one raw item."""
    title = norm(item["title"] or item["og_title"]) or ""
    m = _UPDATE.search(title)
    revision = int(m.group(1)) if m else 0
    title = _UPDATE.sub("", title) if m else title
    paragraphs = [p for p in (norm(p) for p in item["paragraphs"]) if p]
    dateline = None
    if paragraphs:
        d = _DATELINE.match(paragraphs[0])
        if d:
            dateline = d.group(1)
            paragraphs[0] = paragraphs[0][d.end():]
            paragraphs = [p for p in paragraphs if norm(p)]
    published = datetime.fromisoformat(item["published_time"]).astimezone(UTC)
    modified = datetime.fromisoformat(item["modified_time"]).astimezone(UTC)
    return {
        "article_id": f"{item['site']}:{item['native_id']}",
        "url": item["canonical_url"] or item["url"],
        "title": title,
        "revision": revision,
        "section": item["section"],
        "subsection": item["subsection"],
        "dateline": dateline,
        "byline": norm(item["byline"]),
        "body": "\n\n".join(paragraphs),
        "summary": norm(item["description"]),
        "published_at": published.isoformat(),
        "modified_at": modified.isoformat(),
        "language": item["language"] or "en",
        "access_raw": item["access"],
        "keywords": [_COUNT.sub("", k) for k in item["keywords"]],
        "image_url": item["image_url"],
        "image_caption": norm(item["image_caption"]),
        "image_credit": norm(item["image_credit"]),
    }


def truth_view(record: dict[str, Any]) -> dict[str, Any]:
    """The same fields from a DemoSite.truth() record (datetimes as ISO UTC strings)."""
    out = {}
    for key in ("article_id", "url", "title", "revision", "section", "subsection", "dateline", "byline", "body",
                "summary", "published_at", "modified_at", "language", "access_raw", "keywords", "image_url",
                "image_caption", "image_credit"):
        value = record[key]
        if isinstance(value, datetime):
            value = value.astimezone(UTC).isoformat()
        elif isinstance(value, str) and key in ("published_at", "modified_at"):
            value = datetime.fromisoformat(value).astimezone(UTC).isoformat()
        out[key] = value
    return out


def differences(item: dict[str, Any], record: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    got, want = view(item), truth_view(record)
    return {k: (got[k], want[k]) for k in want if got[k] != want[k]}
