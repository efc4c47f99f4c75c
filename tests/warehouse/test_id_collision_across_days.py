"""Two different pages with the same article id on different days: the later impostor (another URL,
another body) is quarantined as ``id_collision`` by the merge, never silently replacing the original;
a genuine revision of the same URL still replaces the stored row (the same-day rule of
``transforms.articles``, applied across days)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from tests.warehouse.conftest import article, table_of
from warehouse.articles import merge_articles
from warehouse.reader import read_articles

DAY1 = date(2024, 9, 6)
DAY2 = date(2024, 9, 7)
LATER = datetime(2024, 9, 8, 1, tzinfo=UTC)


def original() -> dict:
    return article(900001, day=DAY1)  # its URL …/20240906-900001/ carries its id


def impostor() -> dict:
    # a page whose URL says 991001 but whose body carries postid-900001 (a copied body class)
    return article(900001, day=DAY2, url="https://news.example/politics/sub/20240907-991001/",
                   title="A different story", body="Another page altogether, about something else.",
                   modified_delta=timedelta(hours=30), fetched_at=LATER)


def test_a_later_impostor_is_quarantined_and_the_original_kept(root) -> None:
    merge_articles(root, table_of([original()]), run_id="day-1")
    result = merge_articles(root, table_of([impostor()]), run_id="day-2")

    stored = read_articles(root).set_index("article_id")
    assert len(stored) == 1
    row = stored.loc["japannews:900001"]
    assert row["url"] == original()["url"] and row["body"] == original()["body"], row.to_dict()
    assert row["date"] == DAY1 and row["run_id"] == "day-1"
    assert (result.new, result.updated, result.unchanged, result.stale) == (0, 0, 0, 0), result
    assert result.id_collisions == 1
    [q] = result.collisions
    assert q["url"] == impostor()["url"] and q["site"] == "japannews" and q["stage"] == "load"
    assert q["reason"].startswith("id_collision: japannews:900001 is owned by"), q
    assert "20240906-900001" in q["reason"] and "991001" in q["reason"], q
    assert "A different story" in q["raw"], q
    assert result.to_dict()["id_collisions"] == 1


def test_the_impostor_stays_out_on_a_rerun_of_its_day(root) -> None:
    merge_articles(root, table_of([original()]), run_id="day-1")
    merge_articles(root, table_of([impostor()]), run_id="day-2")
    again = merge_articles(root, table_of([impostor()]), run_id="day-2")
    assert again.id_collisions == 1
    assert read_articles(root).set_index("article_id").loc["japannews:900001", "url"] == original()["url"]


def test_a_revision_of_the_same_url_still_replaces_the_stored_row(root) -> None:
    merge_articles(root, table_of([original()]), run_id="day-1")
    revised = article(900001, day=DAY1, revision=1, title="Placeholder headline 900001 (Update 1)",
                      body="The story, rewritten with new facts.", modified_delta=timedelta(hours=20),
                      fetched_at=LATER)
    result = merge_articles(root, table_of([revised]), run_id="day-2")
    assert (result.updated, result.id_collisions, result.collisions) == (1, 0, [])
    row = read_articles(root).set_index("article_id").loc["japannews:900001"]
    assert row["body"] == "The story, rewritten with new facts." and row["revision"] == 1


def test_the_same_body_at_another_url_is_a_version_not_a_collision(root) -> None:
    """A moved page (new URL, same body): one article, as in the same-day rule."""
    merge_articles(root, table_of([original()]), run_id="day-1")
    moved = {**original(), "url": "https://news.example/world/sub/20240906-900001/", "fetched_at": LATER}
    result = merge_articles(root, table_of([moved]), run_id="day-2")
    assert result.id_collisions == 0


def test_the_owner_arriving_after_an_impostor_takes_its_id_back(root) -> None:
    """The id belongs to the page whose own URL carries it, whichever day came first."""
    merge_articles(root, table_of([article(900001, day=DAY1, url="https://news.example/politics/sub/"
                                           "20240906-991001/", body="Another page altogether.")]), run_id="a")
    owner = article(900001, day=DAY2, modified_delta=timedelta(hours=-30), fetched_at=LATER)
    result = merge_articles(root, table_of([owner]), run_id="b")
    row = read_articles(root).set_index("article_id").loc["japannews:900001"]
    assert row["url"] == owner["url"], row.to_dict()
    assert result.id_collisions == 1 and "991001" in result.collisions[0]["url"], result.collisions


def test_a_revision_moved_to_another_section_is_a_version_not_a_collision(root) -> None:
    """Both URLs carry the id (another section's path, same id): the article moved and was revised."""
    merge_articles(root, table_of([original()]), run_id="day-1")
    moved = article(900001, day=DAY1, section="world", revision=1, body="Rewritten after the move.",
                    modified_delta=timedelta(hours=5), fetched_at=LATER)
    result = merge_articles(root, table_of([moved]), run_id="day-2")
    assert (result.updated, result.moved, result.id_collisions) == (1, 1, 0)
    assert read_articles(root).set_index("article_id").loc["japannews:900001", "section"] == "world"
