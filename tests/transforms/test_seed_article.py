"""The real seed article (a text capture, read at test time, never copied) through clean_articles."""

from __future__ import annotations

import pandas as pd
import pytest
from transform_factory import clean, make_item

from demo_site.generator import seed_path

SEED = seed_path()  # shared/ beside the repo, or NEWSLINE_SEED_ARTICLE
SIDEBAR = '"Politics" POPULAR ARTICLE'


@pytest.fixture(scope="module")
def seed_item() -> dict:
    if not SEED.exists():
        pytest.skip(f"seed article {SEED} not present")
    lines = SEED.read_text(encoding="utf-8").splitlines()
    end = lines.index(SIDEBAR)
    title, postdate, *paragraphs = lines[:end]
    return make_item(
        209301,
        title=title,
        og_title=None,
        html_title=None,
        postdate=postdate,
        paragraphs=paragraphs,
        published_time="2024-09-06T18:19:00+09:00",
        modified_time="2024-09-06T20:30:00+09:00",
        jsonld_published=None,
        jsonld_modified=None,
        byline=None,
        description=None,
        fetched_at="2024-09-07T00:00:00Z",
    )


def test_seed_article(seed_item: dict) -> None:
    result = clean(seed_item)
    assert len(result.quarantine) == 0, result.quarantine["reason"].tolist()
    row = result.articles.iloc[0]
    assert row["title"] == seed_item["title"].removesuffix(" (UPDATE 1)")
    assert not row["title"].endswith(")")
    assert row["revision"] == 1
    assert row["dateline"] == "SEOUL"
    assert row["body"].startswith("Prime Minister Fumio Kishida met")
    assert row["body"].endswith("this being their 12th face-to-face meeting.")
    assert SIDEBAR not in row["body"] and "JN ACCESS RANKING" not in row["body"]
    assert row["body"].count("\n\n") == len(seed_item["paragraphs"]) - 1
    assert row["published_at"] == pd.Timestamp("2024-09-06T09:19:00Z")
    assert row["modified_at"] == pd.Timestamp("2024-09-06T11:30:00Z")
    assert row["authors"] == []


def test_seed_article_postdate_fallback(seed_item: dict) -> None:
    """Without meta times the postdate line alone gives the same publication time."""
    row = clean({**seed_item, "published_time": None, "modified_time": None}).articles.iloc[0]
    assert row["published_at"] == pd.Timestamp("2024-09-06T09:19:00Z")
    assert row["modified_at"] == row["published_at"]
