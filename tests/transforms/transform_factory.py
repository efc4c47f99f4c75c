"""Raw items for transform tests: a valid generated article that each test bends one field of.

A plain module (not a conftest) so its name cannot collide with other areas' test helpers."""

from __future__ import annotations

import random
from typing import Any

from core.items import ArticleItem
from core.sites import get_site
from transforms.articles import CleanResult, clean_articles, items_frame

SITE = get_site("japannews")
RUN_ID = "test-run"


def make_item(n: int = 101, **overrides: Any) -> dict[str, Any]:
    """A complete, valid raw item with generated placeholder text (as the parser would emit it)."""
    url = f"https://japannews.yomiuri.co.jp/politics/politics-government/20240906-{n}/"
    item = ArticleItem(
        url=url,
        site="japannews",
        canonical_url=url,
        native_id=str(n),
        title=f"Placeholder Headline Number {n}",
        og_title=f"Placeholder Headline Number {n}",
        html_title=f"Placeholder Headline Number {n} - The Japan News",
        postdate="10:05 JST,\u2002September 6, 2024",
        published_time="2024-09-06T10:05:00+09:00",
        modified_time="2024-09-06T10:05:00+09:00",
        jsonld_published="2024-09-06T10:05:12+09:00",
        jsonld_modified="2024-09-06T10:05:12+09:00",
        section="politics",
        subsection="politics-government",
        section_label="Politics",
        subsection_label="Politics & Government",
        byline="By Writer Alpha / Yomiuri Shimbun Staff Writer",
        paragraphs=[f"Generated lead paragraph of story {n} about a placeholder event.",
                    "A second generated paragraph with more placeholder words."],
        description=f"<p>Generated lead paragraph of story {n}</p>\n",
        access="free",
        keywords=["(1) 無料記事"],
        image_url="https://japannews.yomiuri.co.jp/wp-content/uploads/2024/09/placeholder.jpg",
        image_caption="A generated caption.",
        image_credit="The Yomiuri Shimbun",
        language="en",
        fetched_at="2024-09-07T01:00:00+00:00",
        http_status=200,
        run_id=RUN_ID,
    ).to_dict()
    item.update(overrides)
    return item


def clean(*items: dict[str, Any]) -> CleanResult:
    return clean_articles(items_frame(items), site=SITE, run_id=RUN_ID)


def clean_one(**overrides: Any) -> dict[str, Any]:
    """Clean one item that must pass; its row as a dict."""
    result = clean(make_item(**overrides))
    assert len(result.quarantine) == 0, result.quarantine["reason"].tolist()
    assert len(result.articles) == 1
    return result.articles.iloc[0].to_dict()


# --- generated story text (placeholder words, never real articles) --------------------------------------

FUNCTION_WORDS = ("the", "a", "of", "to", "and", "in", "on", "for", "with", "said", "was", "is", "at", "by",
                  "that", "their", "two", "after", "from", "has")
_SYLLABLES = ("ka", "lo", "mi", "ren", "su", "ta", "vo", "ne", "shi", "ra", "po", "du", "len", "zo", "fi", "gan")


def pseudo_words(rng: random.Random, n: int) -> list[str]:
    """n distinct made-up words (two to four syllables)."""
    words: set[str] = set()
    while len(words) < n:
        words.add("".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4))))
    return sorted(words)


def generated_story(rng: random.Random, topic: list[str], vocabulary: list[str], n_words: int) -> str:
    """Sentences of function words, the topic's words and general vocabulary."""
    words = []
    for i in range(n_words):
        roll = rng.random()
        pool = topic if roll < 0.25 else FUNCTION_WORDS if roll < 0.6 else vocabulary
        word = rng.choice(pool)
        words.append(word.capitalize() if i % 14 == 0 else word)
        if i % 14 == 13:
            words[-1] += "."
    return " ".join(words)


def reworded(rng: random.Random, text: str, vocabulary: list[str], changes: int) -> str:
    """The same story with ``changes`` words replaced: what another outlet's copy of a wire story looks like."""
    words = text.split(" ")
    for pos in rng.sample(range(len(words)), changes):
        words[pos] = rng.choice(vocabulary)
    return " ".join(words)
