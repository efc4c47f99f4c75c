"""Two different pages carrying the same post id: one keeps the id, the other is quarantined, none vanish."""

from __future__ import annotations

from transform_factory import clean, make_item

BASE = "https://japannews.yomiuri.co.jp/politics/politics-government/20240906-{}/"


def impostor(url_id: int, body_id: int) -> dict:
    """A page at …-<url_id>/ whose body class says postid-<body_id> (the parser's native id), with
    its own text."""
    url = BASE.format(url_id)
    return make_item(url_id, url=url, canonical_url=url, native_id=str(body_id),
                     title=f"Another Placeholder Story {url_id}",
                     paragraphs=[f"Different generated text of page {url_id}.", "More generated words."])


def test_distinct_pages_with_one_post_id_are_quarantined_not_collapsed() -> None:
    owners = [make_item(900001), make_item(900002)]
    others = [impostor(991001, 900001), impostor(991002, 900002)]
    # the impostors come last and are fetched later: "latest version wins" alone would keep them
    for other in others:
        other["fetched_at"] = "2024-09-07T02:00:00+00:00"
    result = clean(others[0], owners[0], owners[1], others[1])
    assert len(result.articles) + len(result.quarantine) + result.duplicates_collapsed == 4
    assert result.duplicates_collapsed == 0
    stored = dict(zip(result.articles["article_id"], result.articles["url"], strict=True))
    assert stored == {"japannews:900001": BASE.format(900001), "japannews:900002": BASE.format(900002)}
    assert sorted(result.quarantine["url"]) == [BASE.format(991001), BASE.format(991002)]
    for reason in result.quarantine["reason"]:
        assert reason.startswith("id_collision: japannews:90000") and "its URL says 99100" in reason


def test_collision_without_an_owning_url_keeps_the_latest_and_quarantines_the_other() -> None:
    a, b = impostor(991001, 900001), impostor(991002, 900001)
    b["fetched_at"] = "2024-09-07T02:00:00+00:00"
    result = clean(a, b)
    assert list(result.articles["url"]) == [BASE.format(991002)]
    assert list(result.quarantine["url"]) == [BASE.format(991001)]
    assert result.quarantine["reason"].iloc[0].startswith("id_collision: japannews:900001 is owned by")


def test_same_article_under_two_urls_is_still_one_version() -> None:
    """A page moved to a new URL (same body) is a version, not a collision."""
    old = make_item(900001)
    moved = dict(old, url=BASE.format(991001).replace("politics-government", "politics"),
                 canonical_url=BASE.format(991001).replace("politics-government", "politics"),
                 modified_time="2024-09-06T12:00:00+09:00")
    result = clean(old, moved)
    assert len(result.articles) == 1 and len(result.quarantine) == 0 and result.duplicates_collapsed == 1
