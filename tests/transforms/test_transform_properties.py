"""Property tests: whatever the raw items hold, clean_articles never raises and accounts for every row."""

from __future__ import annotations

import random
import re
from typing import Any

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from transform_factory import RUN_ID, SITE, make_item

from core.schema import ACCESS_VALUES, QUARANTINE_SCHEMA
from core.sections import is_slug
from transforms.articles import RAW_COLUMNS, articles_table, clean_articles, content_hash, items_frame, schema_table

REASON_CODES = {
    "site_mismatch", "missing_title", "empty_body", "bad_published_at", "bad_fetched_at", "bad_date",
    "missing_section", "bad_section", "bad_subsection", "bad_url", "missing_article_id", "bad_article_id",
    "bad_access", "future_published_at", "id_collision",
}
MUTABLE = [c for c in RAW_COLUMNS if c not in ("site",)]

garbage = st.one_of(
    st.none(),
    st.text(max_size=40),
    st.text(alphabet=st.sampled_from(" \t\n\u2002\u00a0\u3000\u2014()-/:,.ABCZaz019+"), max_size=30),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.lists(st.one_of(st.none(), st.text(max_size=20), st.integers()), max_size=4),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
    st.sampled_from([
        "2024-09-06T18:19:00+09:00", "2024-09-06", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00",
        "18:19 JST,\u2002September 6, 2024", "99:99 JST, Smarch 40, 2024", "SEOUL \u2014 ", "(UPDATE 1)",
        "https://japannews.yomiuri.co.jp/x/", "http://[::1", "By  / ", "free", "", "politics", "../..",
    ]),
)


@st.composite
def mutated_item(draw: st.DrawFn) -> dict[str, Any]:
    item = make_item(draw(st.integers(1, 8)))
    for name in draw(st.lists(st.sampled_from(MUTABLE), unique=True, max_size=6)):
        item[name] = draw(garbage)
    if draw(st.booleans()):
        item["paragraphs"] = draw(st.lists(garbage, max_size=4))
    return item


def check_invariants(items: list[dict[str, Any]]) -> None:
    raw = items_frame(items)
    before = raw.copy(deep=True)
    result = clean_articles(raw, site=SITE, run_id=RUN_ID)
    arts, quar = result.articles, result.quarantine

    assert len(arts) + len(quar) + result.duplicates_collapsed == len(items)
    pd.testing.assert_frame_equal(raw, before)  # pure: the input is untouched
    assert articles_table(arts).num_rows == len(arts)
    assert schema_table(quar, QUARANTINE_SCHEMA).num_rows == len(quar)

    assert arts["article_id"].is_unique
    for row in arts.to_dict("records"):
        assert is_slug(row["section"]) and (row["subsection"] is None or is_slug(row["subsection"]))
        assert row["access"] in ACCESS_VALUES
        assert row["title"] and not re.search(r"\(update \d+\)$", row["title"], re.IGNORECASE)
        assert row["title"] == " ".join(row["title"].split())
        assert all(p and p == " ".join(p.split()) for p in row["body"].split("\n\n"))
        assert row["word_count"] == len(row["body"].split())
        assert row["content_hash"] == content_hash(row)
        assert row["published_at"] <= row["fetched_at"] + pd.Timedelta(days=1)
    for reason in quar["reason"]:
        codes = [part.split(":", 1)[0] for part in reason.split("; ")]
        assert codes and set(codes) <= REASON_CODES, reason


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(mutated_item(), min_size=0, max_size=25))
def test_clean_articles_never_raises_and_accounts_for_every_row(items: list[dict[str, Any]]) -> None:
    check_invariants(items)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.dictionaries(st.sampled_from(RAW_COLUMNS), garbage, max_size=len(RAW_COLUMNS)), max_size=10))
def test_items_of_pure_garbage_are_quarantined_not_raised(items: list[dict[str, Any]]) -> None:
    check_invariants(items)


def test_a_superscript_revision_is_not_a_number() -> None:
    """Hypothesis found it: "²".isdigit() is True but int("²") raises; the row must be cleaned, not crash."""
    check_invariants([{**make_item(1), "revision": "\u00b2"}, {**make_item(2), "revision": "\u0663"}])


def test_thousands_of_mutated_items_in_one_batch_are_deterministic() -> None:
    rng = random.Random(3)
    fields = MUTABLE
    junk: list[Any] = [None, "", " ", "\u2002", 0, -1, 1.5, float("nan"), float("inf"), [], ["x"], {"a": 1},
                       "not a url", "Politics", "2024-09-06", "SEOUL \u2014 x", "(Update 2)"]
    items = []
    for i in range(3000):
        item = make_item(rng.randint(1, 2000), fetched_at=f"2024-09-07T0{i % 10}:00:00Z")
        for name in rng.sample(fields, rng.choice([0, 0, 1, 2, 3])):
            item[name] = rng.choice(junk)
        items.append(item)
    check_invariants(items)
    first = clean_articles(items_frame(items), site=SITE, run_id=RUN_ID)
    second = clean_articles(items_frame(items), site=SITE, run_id=RUN_ID)
    pd.testing.assert_frame_equal(first.articles, second.articles)
    pd.testing.assert_frame_equal(first.quarantine, second.quarantine)
    assert len(first.articles) > 500 and len(first.quarantine) > 100
