"""Issue 10's target: every demo site, crawled with a minimal generic-only profile (no field
selectors: every field from ``crawler.parsers.generic.extract_article``), loads with mean body F1 ≥ 0.95
against the demo ground truth, publication and update times equal to the truth at minute precision on
every page, and the truth's titles.

Measured 2026-11-30 (all pages of the default demo days): body F1 japannews 0.9996, metrotimes 0.9990,
valleyherald 0.9987, rheinkurier 0.9974; published_at and modified_at right on every page of every site.
The pages are fetched over HTTP from the demo world, the way the crawler sees them (≈ 12 s: slow)."""

from __future__ import annotations

import statistics
import urllib.request

import pandas as pd
import pytest

from core.sites import SiteProfile, get_site
from crawler.parsers.generic import body_agreement
from crawler.parsers.profile import parse_with_profile
from demo_site.world import DemoWorld
from transforms.articles import clean_articles, items_frame
from transforms.text import split_update_mark

SITES = ("japannews", "metrotimes", "valleyherald", "rheinkurier")


def generic_only(key: str) -> SiteProfile:
    """The site's identity (domains, timezone, language, URL shape, sections) and no field selectors."""
    real = get_site(key)
    return SiteProfile(key=key, name=real.name, domains=real.domains, base_url=real.base_url,
                       timezone=real.timezone, language=real.language, article_url=real.article_url,
                       sections=real.sections)


@pytest.fixture(scope="module")
def world():
    with DemoWorld(sites=list(SITES)) as w:
        yield w


@pytest.mark.slow
@pytest.mark.parametrize("key", SITES)
def test_generic_only_profile_meets_the_target(world: DemoWorld, key: str) -> None:
    profile = generic_only(key)
    truth = world.truth(key)
    assert len(truth) >= 50
    f1s: list[float] = []
    wrong_time: list[str] = []
    wrong_title: list[str] = []
    for record in truth:
        with urllib.request.urlopen(record["url"]) as response:
            page = response.read()
        item = parse_with_profile(profile, page, record["url"])
        assert all(v.startswith("generic:") for k, v in item.extraction.items()
                   if k in ("title", "body", "published_at")), item.extraction
        item.fetched_at = "2030-01-01T00:00:00+00:00"
        result = clean_articles(items_frame([item.to_dict()]), site=profile, run_id="test")
        assert len(result.articles) == 1, result.quarantine.to_dict("records")
        row = result.articles.iloc[0]
        f1s.append(body_agreement([row["body"]], [record["body"]]))
        # the truth is minute-precise; JSON-LD may add seconds (japannews), which are kept
        for name in ("published_at", "modified_at"):
            ours = pd.Timestamp(row[name]).floor("min") if row[name] is not None else None
            if ours != pd.Timestamp(record[name]):
                wrong_time.append(f"{record['url']} {name}: {row[name]} != {record[name]}")
        # the Japan News headline carries "(UPDATE n)" on revisions; the truth's title is without it and a
        # generic-only profile declares no revision marker, so the mark is split off here as its profile would
        title = split_update_mark(row["title"], get_site(key).title.revision_marker)[0] if key == "japannews" \
            else row["title"]
        if title != record["title"]:
            wrong_title.append(f"{record['url']}: {row['title']!r} != {record['title']!r}")
    assert statistics.mean(f1s) >= 0.95, (key, statistics.mean(f1s), min(f1s))
    assert not wrong_time, wrong_time[:5]
    assert not wrong_title, wrong_title[:5]
