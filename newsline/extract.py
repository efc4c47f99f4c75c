"""One saved page → one articles-table record: the parser and the transforms, no crawl, no storage.
Used by ``newsline extract`` to debug a page that parsed wrong. The page's profile is the one owning
the URL's domain; a page of any other site goes through the generic extractor."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from core.sites import SiteProfile, generic_profile, get_site, site_for_url


def profile_for(url: str, site: str | SiteProfile | None = None) -> SiteProfile:
    """The given profile (or site key), else the one owning the URL's domain, else a generic profile."""
    if isinstance(site, SiteProfile):
        return site
    if site:
        return get_site(site)
    return site_for_url(url) or generic_profile(url)


def extract_page(body: bytes | str, url: str, *, site: str | SiteProfile | None = None, fetched_at: datetime | None = None,
                 run_id: str = "extract", explain: bool = False) -> dict[str, Any]:
    """Parse and clean one page. A rejected or quarantined page comes back with its reason."""
    from crawler.parsers import PageRejected, parser_for
    from transforms.articles import clean_articles, items_frame

    profile = profile_for(url, site)
    parse = parser_for(profile)
    try:
        item = parse(body, url)
    except PageRejected as exc:
        return {"url": url, "site": profile.key, "rejected": exc.kind, "quarantine_reason": str(exc.reason)}
    stamp = (fetched_at or datetime.now(UTC)).isoformat()
    item.fetched_at = item.fetched_at or stamp
    item.run_id = run_id
    result = clean_articles(items_frame([item.to_dict()]), site=profile, run_id=run_id)
    if len(result.articles):
        record = result.articles.iloc[0].to_dict()
        record["quarantine_reason"] = None
    else:
        q = result.quarantine.iloc[0].to_dict()
        record = {"url": url, "quarantine_reason": q["reason"], "raw": json.loads(q["raw"]) if q.get("raw") else None}
    out = {k: _jsonable(v) for k, v in record.items()}
    if explain:
        out["explain"] = explain_page(body, url, profile)
    return out


def explain_page(body: bytes | str, url: str, profile: SiteProfile) -> dict[str, Any]:
    """Which step gave each field, and what the other steps said (the generic extractor's chain)."""
    from crawler.parsers import PageRejected
    from crawler.parsers.base import decode_html

    out: dict[str, Any] = {"profile": profile.source_file or f"generic ({profile.key})"}
    try:
        from crawler.parsers.generic import extract_article
    except ImportError:
        out["generic"] = "the generic extractor is not available"
        return out
    try:
        art = extract_article(decode_html(body), url, timezone=profile.timezone, language=profile.language,
                              explain=True)
    except PageRejected as exc:
        out["generic"] = f"rejected: {exc.kind}: {exc.reason}"
        return out
    out["generic_provenance"] = dict(art.provenance or {})
    out["generic_confidence"] = art.extraction_confidence
    out["chain"] = {k: [list(map(_jsonable, step)) for step in v] for k, v in (art.explain or {}).items()}
    return out


def _jsonable(value: Any) -> Any:
    import pandas as pd

    if value is None or value is pd.NaT or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "tolist"):
        return value.tolist()
    return value
