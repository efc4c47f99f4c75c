"""Markup versions valid until a date: a profile whose site changed its article template twice reads
each page with the markup of its publication day (tests/sites/versioned/: the profile and one saved page
per template, with hand-written expectations)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from core.sites import ProfileError, load_profile
from crawler.parsers import PageRejected
from crawler.parsers.profile import parse_with_profile
from newsline.sites_cli import check_selectors, fixture_cases, fixture_differences

PROFILE = Path(__file__).parent / "versioned" / "versioned.yaml"
PAGES = PROFILE.parent / "fixtures" / "versioned"


@pytest.fixture(scope="module")
def site():
    return load_profile(PROFILE)


def page(name: str) -> bytes:
    return (PAGES / f"{name}.html").read_bytes()


def test_each_template_is_read_with_its_own_markup(site) -> None:
    assert [p.stem for p, _ in fixture_cases(site)] == ["middle", "new", "old"]
    assert check_selectors(site) == []
    assert fixture_differences(site) == []


def test_the_current_markup_alone_cannot_read_the_older_pages(site) -> None:
    """The versions matter: without them the old page has no body container and the middle page's
    headline and byline are not where the current template puts them."""
    current = site.model_copy(update={"versions": []})
    with pytest.raises(PageRejected, match="matches nothing"):
        parse_with_profile(current, page("old"), "https://versioned.example/20230502/budget-lanternes-101.html")
    with pytest.raises(PageRejected, match="without a headline"):
        parse_with_profile(current, page("middle"), "https://versioned.example/20231115/pont-rouvre-202.html")


@pytest.mark.parametrize(("day", "template"), [
    ("20230630", "old"),  # valid_until is the last day of a version
    ("20230701", "middle"),
    ("20240131", "middle"),
    ("20240201", "new"),
])
def test_the_url_date_picks_the_version_and_valid_until_is_inclusive(site, day: str, template: str) -> None:
    assert site.markup_for(date(int(day[:4]), int(day[4:6]), int(day[6:]))).fields["title"] == {
        "old": site.versions[0].fields["title"], "middle": site.versions[1].fields["title"],
        "new": site.fields["title"]}[template]
    url = f"https://versioned.example/{day}/budget-lanternes-101.html"
    if template == "old":
        assert parse_with_profile(site, page("old"), url).title == "Le conseil vote le budget des lanternes"
    else:
        with pytest.raises(PageRejected):
            parse_with_profile(site, page("old"), url)


def test_without_a_url_date_the_published_time_then_the_fetch_day_decides(site) -> None:
    undated = "https://versioned.example/archives/budget-lanternes"
    # the old template's printed date (its version's published_at source) says 2 May 2023
    item = parse_with_profile(site, page("old"), undated, fetched=date(2025, 1, 1))
    assert item.title == "Le conseil vote le budget des lanternes" and item.published_time == "2023-05-02T08:15:00"
    # no date on the page at all: the fetch day chooses
    bare = page("old").replace(b'<meta name="date" content="02.05.2023 08:15">', b"")
    assert parse_with_profile(site, bare, undated, fetched=date(2023, 6, 1)).byline == "Anne Exemple"
    with pytest.raises(PageRejected):
        parse_with_profile(site, bare, undated, fetched=date(2025, 1, 1))


def test_a_page_of_the_middle_template_is_read_whole(site) -> None:
    item = parse_with_profile(site, page("middle"), "https://versioned.example/20231115/pont-rouvre-202.html")
    assert (item.title, item.byline, item.native_id) == ("Le pont rouvre", "Bruno Exemple", "202")
    assert item.paragraphs == ["Le pont rouvre après deux ans.", "La circulation reprend mardi."]
    assert item.published_time == "2023-11-15T10:00:00+01:00"


@pytest.mark.parametrize(("versions", "says"), [
    ("  - {valid_until: 2024-01-31}\n  - {valid_until: 2023-06-30}\n",
     "versions[1].valid_until 2023-06-30 must be after versions[0].valid_until 2024-01-31"),
    ("  - {valid_until: 2023-06-30}\n  - {valid_until: 2023-06-30}\n",
     "versions[1].valid_until 2023-06-30 must be after versions[0].valid_until 2023-06-30"),
])
def test_versions_out_of_order_or_overlapping_name_the_file_and_the_field(tmp_path: Path, versions: str,
                                                                          says: str) -> None:
    text = PROFILE.read_text(encoding="utf-8")
    broken = tmp_path / "versioned.yaml"
    broken.write_text(text[: text.index("versions:")] + "versions:\n" + versions, encoding="utf-8")
    with pytest.raises(ProfileError) as info:
        load_profile(broken)
    message = str(info.value)
    assert message.startswith(f"{broken}: field 'versions': ") and says in message


def test_a_version_names_only_known_fields(tmp_path: Path) -> None:
    text = PROFILE.read_text(encoding="utf-8").replace("      title: [{css: 'header h1'}]",
                                                       "      headline: [{css: 'header h1'}]")
    broken = tmp_path / "versioned.yaml"
    broken.write_text(text, encoding="utf-8")
    with pytest.raises(ProfileError, match=r"field 'versions\.1\.fields': unknown field\(s\) headline"):
        load_profile(broken)
