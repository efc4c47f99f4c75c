"""Comparing stored rows with the demo site's ground truth: one normalisation for every test."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import pandas as pd
import pytest

from demo_site.generator import seed_path

#: The articles-table fields the demo site's truth states exactly.
CORE_FIELDS = ["article_id", "site", "url", "title", "revision", "section", "subsection", "dateline", "byline",
               "authors", "body", "published_at", "modified_at", "access", "image_url", "image_caption",
               "image_credit", "keywords", "language"]


def norm(value: Any) -> Any:
    """Timestamps as UTC ISO strings, arrays as lists, NaN as None."""
    if isinstance(value, (pd.Timestamp, datetime)):
        return pd.Timestamp(value).tz_convert("UTC").isoformat()
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, list):
        return [norm(v) for v in value]
    return value


def rows_by_id(records: Iterable[dict], fields: Sequence[str] = CORE_FIELDS) -> dict[str, dict]:
    return {r["article_id"]: {k: norm(r.get(k)) for k in fields} for r in records}


#: Tests that need the real seed capture (read at run time from ``shared/`` beside the repo, never
#: copied into it). CI lays ``shared/`` there; a bare clone elsewhere skips them, saying why.
requires_seed = pytest.mark.skipif(not seed_path().exists(),
                                   reason=f"seed capture {seed_path()} not present beside the repo")
