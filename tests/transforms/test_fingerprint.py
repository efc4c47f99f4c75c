"""SimHash fingerprints and near-duplicate clusters."""

from __future__ import annotations

import random
from itertools import combinations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from transform_factory import clean, generated_story, make_item, pseudo_words, reworded

from transforms.fingerprint import hamming, near_duplicate_of, simhash

VOCAB = pseudo_words(random.Random(7), 3000)


def _topic(rng: random.Random) -> list[str]:
    return rng.sample(VOCAB, 25)


def test_simhash_is_stable_signed_and_ignores_case_punctuation_spacing() -> None:
    text = "Generated words about a placeholder event, said officials."
    h = simhash(text)
    assert h == simhash(text)
    assert -(2**63) <= h < 2**63
    assert simhash("GENERATED   words about a placeholder EVENT said officials") == h
    assert simhash("") == simhash(None) == 0
    assert simhash("completely different generated placeholder vocabulary here") != h


def test_hamming() -> None:
    assert hamming(0, 0) == 0
    assert hamming(0, -1) == 64
    assert hamming(0b1011, 0b0001) == 2
    assert hamming(-(2**63), 2**63 - 1) == 64


def test_reworded_wire_copies_are_close_topical_neighbours_are_not() -> None:
    """A few changed words keep a story within distance 3; a story on the same topic does not.

    SimHash is probabilistic, so this measures rates over many generated pairs.
    """
    rng = random.Random(11)
    near, far = [], []
    for _ in range(300):
        topic = _topic(rng)
        n = rng.randint(150, 600)
        story = generated_story(rng, topic, VOCAB, n)
        near.append(hamming(simhash(story), simhash(reworded(rng, story, VOCAB, 3))))
        far.append(hamming(simhash(story), simhash(generated_story(rng, topic, VOCAB, n))))
    assert sum(d <= 3 for d in near) / len(near) >= 0.8
    assert sum(d <= 1 for d in near) / len(near) >= 0.4
    assert min(far) > 3


def test_near_duplicate_of_clusters_wire_copies_to_the_earliest() -> None:
    rng = random.Random(5)
    topic = _topic(rng)
    wire = generated_story(rng, topic, VOCAB, 400)
    copies = [wire, reworded(rng, wire, VOCAB, 1), reworded(rng, wire, VOCAB, 2)]
    same_topic = generated_story(rng, topic, VOCAB, 400)
    other = generated_story(rng, _topic(rng), VOCAB, 400)
    # published: copy 2 first, then the original, then copy 1; topical and unrelated stories last
    items = [
        make_item(1, paragraphs=[copies[0]], title="Wire Headline", published_time="2024-09-06T10:00:00+09:00"),
        make_item(2, paragraphs=[copies[1]], title="Wire Headline", published_time="2024-09-06T11:00:00+09:00"),
        make_item(3, paragraphs=[copies[2]], title="Wire Headline", published_time="2024-09-06T09:00:00+09:00"),
        make_item(4, paragraphs=[same_topic], title="Wire Headline", published_time="2024-09-06T08:00:00+09:00"),
        make_item(5, paragraphs=[other], title="Another Headline", published_time="2024-09-06T07:00:00+09:00"),
    ]
    articles = clean(*items).articles
    h = articles["simhash"].tolist()
    assert max(hamming(a, b) for a, b in combinations(h[:3], 2)) <= 3
    assert min(hamming(h[3], x) for x in h[:3]) > 3
    result = near_duplicate_of(articles)
    assert result.tolist() == ["japannews:3", "japannews:3", None, None, None]
    assert result.index.equals(articles.index)


def test_near_duplicate_of_threshold_and_ties() -> None:
    frame = pd.DataFrame({
        "article_id": ["s:b", "s:a", "s:c", "s:d"],
        "published_at": pd.to_datetime(["2024-01-01T00:00Z"] * 3 + [None], utc=True),
        "simhash": pd.Series([0b0, 0b111, 0b1111111, 0b0], dtype="Int64"),
    })
    # equal times: the smaller id heads the cluster; an unknown time never heads it
    assert near_duplicate_of(frame, k=3).tolist() == ["s:a", None, None, "s:a"]
    # b–a at 3 bits, a–c at 4 bits: k=4 chains c into the same cluster
    assert near_duplicate_of(frame, k=4).tolist() == ["s:a", None, "s:a", "s:a"]
    # only the identical b and d are within 0 bits; d's time is unknown so b heads
    assert near_duplicate_of(frame, k=0).tolist() == [None, None, None, "s:b"]
    frame.loc[3, "simhash"] = pd.NA
    assert near_duplicate_of(frame, k=3).tolist() == ["s:a", None, None, None]


def test_near_duplicate_of_never_chains_beyond_the_threshold() -> None:
    """a–b and b–c are 3 bits apart, a–c 6: c is a near duplicate of b, not of a (no single-link chain)."""
    frame = pd.DataFrame({
        "article_id": ["s:a", "s:b", "s:c"],
        "published_at": pd.to_datetime(["2024-01-01T00:00Z", "2024-01-01T01:00Z", "2024-01-01T02:00Z"], utc=True),
        "simhash": pd.Series([0b0, 0b111, 0b111111], dtype="Int64"),
    })
    assert near_duplicate_of(frame, k=3).tolist() == [None, "s:a", "s:b"]


def _dense_corpus(n: int, seed: int) -> pd.DataFrame:
    """Distinct stories drawn from one small vocabulary (like the demo site's): many fingerprints
    lie a few bits apart, the case where single-link clustering chained far beyond the threshold."""
    rng = random.Random(seed)
    small = VOCAB[:100]
    texts = [" ".join(rng.choice(small) for _ in range(rng.randint(150, 400))) for _ in range(n)]
    return pd.DataFrame({
        "article_id": [f"s:{i:04d}" for i in range(n)],
        "published_at": pd.to_datetime([rng.randrange(10**6) for _ in range(n)], unit="s", utc=True),
        "simhash": pd.Series([simhash(t) for t in texts], dtype="Int64"),
    })


def test_every_link_is_within_the_threshold_on_a_dense_corpus() -> None:
    frame = _dense_corpus(300, seed=3)
    marks = near_duplicate_of(frame, k=3)
    by_id = frame.set_index("article_id")
    linked = [(frame.loc[i], by_id.loc[head]) for i, head in marks.items() if head is not None]
    assert linked  # the premise: this corpus has near duplicates
    for row, head in linked:
        assert hamming(int(row["simhash"]), int(head["simhash"])) <= 3
        assert (head["published_at"], head.name) < (row["published_at"], row["article_id"])


def test_precision_and_recall_on_generated_wire_copies() -> None:
    """Ground truth: 60 wire stories, each run again by 0-3 outlets with 1-3 words changed (a copy of
    the original, published later); 120 other stories, half of them on a wire story's topic. A copy
    must point at its original (or an earlier copy of it), nothing else may be marked."""
    rng = random.Random(23)
    texts: list[str] = []
    family: list[int] = []  # the wire story a text belongs to, or -1
    times: list[int] = []
    for w in range(60):
        topic = _topic(rng)
        wire = generated_story(rng, topic, VOCAB, rng.randint(150, 600))
        start = rng.randrange(10**5)
        texts.append(wire), family.append(w), times.append(start)
        for c in range(rng.randint(0, 3)):
            texts.append(reworded(rng, wire, VOCAB, rng.randint(1, 3)))
            family.append(w), times.append(start + 60 * (c + 1) + rng.randrange(3600))
        for _ in range(2):
            same_topic = rng.random() < 0.5
            texts.append(generated_story(rng, topic if same_topic else _topic(rng), VOCAB, rng.randint(150, 600)))
            family.append(-1), times.append(rng.randrange(10**5))
    ids = [f"s:{i:04d}" for i in range(len(texts))]
    frame = pd.DataFrame({
        "article_id": ids,
        "published_at": pd.to_datetime(times, unit="s", utc=True),
        "simhash": pd.Series([simhash(t) for t in texts], dtype="Int64"),
    })
    marks = near_duplicate_of(frame, k=3).tolist()
    first = {}
    for i in sorted(range(len(ids)), key=lambda i: (times[i], ids[i])):
        first.setdefault(family[i], i)
    copies = {i for i in range(len(ids)) if family[i] >= 0 and first[family[i]] != i}
    flagged = {i for i, m in enumerate(marks) if m is not None}
    right = {i for i in flagged & copies if family[ids.index(marks[i])] == family[i]}
    precision = len(right) / len(flagged)
    recall = len(right) / len(copies)
    assert len(copies) >= 60
    assert precision == 1.0, precision
    assert recall >= 0.8, recall


def test_near_duplicate_of_needs_its_columns() -> None:
    with pytest.raises(KeyError):
        near_duplicate_of(pd.DataFrame({"article_id": [], "simhash": []}))


def _reference(ids: list[str], times: list[int], hashes: list[int], k: int) -> list[str | None]:
    """Brute force: each row points at the earliest strictly earlier row within k bits of itself."""
    out: list[str | None] = []
    for i in range(len(ids)):
        earlier = [j for j in range(len(ids))
                   if (times[j], ids[j]) < (times[i], ids[i]) and hamming(hashes[i], hashes[j]) <= k]
        out.append(ids[min(earlier, key=lambda j: (times[j], ids[j]))] if earlier else None)
    return out


@settings(max_examples=150, deadline=None)
@given(
    centres=st.lists(st.integers(-(2**63), 2**63 - 1), min_size=1, max_size=6),
    picks=st.lists(st.tuples(st.integers(0, 5), st.lists(st.integers(0, 63), max_size=5), st.integers(0, 50)),
                   min_size=1, max_size=40),
    k=st.integers(0, 6),
)
def test_near_duplicate_of_matches_brute_force(centres: list[int], picks: list, k: int) -> None:
    hashes = []
    for centre, flips, _ in picks:
        h = np.int64(centres[centre % len(centres)]).view(np.uint64)
        for bit in flips:
            h ^= np.uint64(1 << bit)
        hashes.append(int(h.view(np.int64)))
    ids = [f"s:{i:03d}" for i in range(len(picks))]
    times = [t for _, _, t in picks]
    frame = pd.DataFrame({
        "article_id": ids,
        "published_at": pd.to_datetime(times, unit="h", utc=True),
        "simhash": pd.Series(hashes, dtype="int64"),
    })
    assert near_duplicate_of(frame, k=k).tolist() == _reference(ids, times, hashes, k)
