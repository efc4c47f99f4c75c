"""Synthetic article tables in the real schema, built fast (vectorised) for storage benchmarks."""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, date, datetime, time, timedelta, timezone

import pyarrow as pa

from core.schema import ARTICLES_SCHEMA, SCHEMA_VERSION

SECTIONS = ["politics", "society", "business", "world", "news-services", "editorial", "sports", "science-nature",
            "culture", "original", "features"]
WORDS = ("harbor council budget rail forecast league museum festival typhoon export minister research school "
         "village market energy court report season island bridge vote trade storm river award").split()
JST = timezone(timedelta(hours=9))


def day_table(day: date, n: int, first_id: int, *, seed: int = 0, body_words: int = 350) -> pa.Table:
    rng = random.Random(f"{seed}-{day}")
    ids = list(range(first_id, first_id + n))
    start = datetime.combine(day, time(0), tzinfo=JST).astimezone(UTC)
    published = [start + timedelta(seconds=int(i * 86000 / max(n, 1))) for i in range(n)]
    bodies = [" ".join(rng.choice(WORDS) for _ in range(body_words)) for _ in ids]
    sections = [SECTIONS[i % len(SECTIONS)] for i in ids]
    cols = {
        "article_id": [f"japannews:{i}" for i in ids],
        "site": ["japannews"] * n,
        "url": [f"https://example.invalid/{s}/sub/{day:%Y%m%d}-{i}/" for s, i in zip(sections, ids, strict=True)],
        "title": [f"Synthetic headline {i}" for i in ids],
        "revision": [0] * n,
        "date": [day] * n,
        "section": sections,
        "subsection": ["general"] * n,
        "dateline": [None] * n,
        "byline": [None] * n,
        "authors": [[] for _ in ids],
        "body": bodies,
        "summary": [b[:120] for b in bodies],
        "published_at": published,
        "modified_at": published,
        "language": ["en"] * n,
        "access": ["free"] * n,
        "access_raw": ["free"] * n,
        "keywords": [["news"] for _ in ids],
        "image_url": [None] * n,
        "image_caption": [None] * n,
        "image_credit": [None] * n,
        "word_count": [body_words] * n,
        "content_hash": [hashlib.sha256(b.encode()).hexdigest() for b in bodies],
        "fetched_at": [start + timedelta(days=1)] * n,
        "first_seen_at": [None] * n,
        "run_id": [f"bench-{day}"] * n,
        "simhash": [None] * n,
        "near_duplicate_of": [None] * n,
        "schema_version": [SCHEMA_VERSION] * n,
    }
    cols.update({f.name: [None] * n for f in ARTICLES_SCHEMA if f.name not in cols and f.nullable})  # newer columns
    return pa.Table.from_pydict(cols, schema=ARTICLES_SCHEMA)
