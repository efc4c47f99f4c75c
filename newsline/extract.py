"""One saved page → one articles-table record: the parser and the transforms, no crawl, no storage.
Used by ``newsline extract`` to debug a page that parsed wrong."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from newsline.sites import get_site


def extract_page(body: bytes | str, url: str, *, site: str = "japannews",
                 fetched_at: datetime | None = None, run_id: str = "extract") -> dict[str, Any]:
    """Parse and clean one page. A rejected or quarantined page comes back with its reason."""
    from crawler.parsers import PageRejected, get_parser
    from transforms.articles import clean_articles, items_frame

    site_cfg = get_site(site)
    parse = get_parser(site)
    try:
        item = parse(body, url)
    except PageRejected as exc:
        return {"url": url, "rejected": exc.kind, "quarantine_reason": str(exc.reason)}
    stamp = (fetched_at or datetime.now(UTC)).isoformat()
    item.fetched_at = item.fetched_at or stamp
    item.run_id = run_id
    result = clean_articles(items_frame([item.to_dict()]), site=site_cfg, run_id=run_id)
    if len(result.articles):
        record = result.articles.iloc[0].to_dict()
        record["quarantine_reason"] = None
    else:
        q = result.quarantine.iloc[0].to_dict()
        record = {"url": url, "quarantine_reason": q["reason"], "raw": json.loads(q["raw"]) if q.get("raw") else None}
    return {k: _jsonable(v) for k, v in record.items()}


def _jsonable(value: Any) -> Any:
    import pandas as pd

    if value is None or value is pd.NaT or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "tolist"):
        return value.tolist()
    return value
