"""Site profiles: every registered profile loads and reads its fixtures exactly; a broken profile gives
one clear error naming the file and the field; URLs find their profile by domain."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from core.sites import (
    DEFAULT_SITES_DIR,
    ProfileError,
    all_sites,
    generic_profile,
    load_profile,
    site_for_url,
    site_key_for_host,
)
from newsline.sites_cli import check_selectors, fixture_cases, fixture_differences

PROFILES = sorted(p.stem for p in DEFAULT_SITES_DIR.glob("*.yaml"))
MINIMAL = """\
key: example
name: Example News
domains: [news.example.org]
base_url: https://news.example.org/
timezone: Europe/Paris
article_url:
  pattern: '^/story/(?P<id>\\d+)$'
"""


def write(tmp: Path, key: str, text: str) -> Path:
    path = tmp / f"{key}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_registry_holds_the_japan_news_and_the_demo_sites() -> None:
    sites = all_sites()
    assert {"japannews", "metrotimes", "valleyherald", "rheinkurier"} <= set(sites)
    assert sites["japannews"].dag == "japannews_daily"
    assert sites["metrotimes"].dag == "news_metrotimes_daily"
    assert sites["rheinkurier"].timezone == "Europe/Berlin"


@pytest.mark.parametrize("key", PROFILES)
def test_every_profile_reads_its_fixtures_exactly(key: str) -> None:
    site = all_sites()[key]
    if site.hook:
        pytest.skip(f"{key} is read by its hook ({site.hook}); its fixtures live in tests/crawler/fixtures")
    assert fixture_cases(site), f"{key} has no fixtures under sites/fixtures/{key}/"
    assert check_selectors(site) == []
    assert fixture_differences(site) == []


def test_a_fixture_difference_is_reported_field_by_field(tmp_path: Path) -> None:
    """The fixture check can fail: a profile whose title selector grabs the wrong element."""
    shutil.copytree(DEFAULT_SITES_DIR / "fixtures" / "valleyherald", tmp_path / "fixtures" / "valleyherald")
    text = (DEFAULT_SITES_DIR / "valleyherald.yaml").read_text(encoding="utf-8")
    broken = write(tmp_path, "valleyherald", text.replace("title: [{css: 'h1.story-headline'}]",
                                                          "title: [{css: 'p.story-dek'}]"))
    diffs = fixture_differences(load_profile(broken))
    assert diffs and all(": title: got " in d for d in diffs)


@pytest.mark.parametrize(("text", "field", "says"), [
    ("key: x\nname: [unclosed\n", None, "malformed YAML"),
    (MINIMAL + "colour: blue\n", "colour", "Extra inputs are not permitted"),
    (MINIMAL.replace("Europe/Paris", "Mars/Olympus"), "timezone", "unknown timezone"),
    (MINIMAL.replace("(?P<id>\\d+)$", "(?P<id>\\d+$"), "article_url.pattern", "bad regular expression"),
    (MINIMAL + "fields:\n  title: [{css: 'h1[', regex: 'x'}]\n", "fields.title.0", "bad CSS selector"),
    (MINIMAL + "fields:\n  title: [{xpath: '//h1[', regex: 'x'}]\n", "fields.title.0", "bad XPath"),
    (MINIMAL + "fields:\n  title: [{css: 'h1', regex: '(unclosed'}]\n", "fields.title.0", "bad regular expression"),
    (MINIMAL + "fields:\n  headline: [{css: 'h1'}]\n", "fields", "unknown field(s) headline"),
    (MINIMAL + "fields:\n  title: [{css: 'h1', meta: 'og:title'}]\n", "fields.title.0", "exactly one of"),
    (MINIMAL + "sections: {politique: politcs}\n", "sections", "outside the cross-site vocabulary"),
    (MINIMAL.replace("https://news.example.org/", "news.example.org"), "base_url", "http(s) URL"),
    (MINIMAL + "extends: nosuchpreset\n", "extends", "no preset"),
    (MINIMAL + "fields:\n  title: [{css: 'h1', drop: './/span['}]\n", "fields.title.0", "bad XPath"),
    (MINIMAL + "fields:\n  subsection: [{meta: cat, distinct_from: sektion}]\n", "fields.subsection.0",
     "distinct_from 'sektion' is not a field"),
    (MINIMAL + "body: {container: article, exclude: ['div[']}\n", "body.exclude", "bad CSS selector"),
    (MINIMAL + "body: {container: {xpath: '//div['}}\n", "body.container.XPathRef.xpath", "bad XPath"),
    (MINIMAL + "reject: [{xpath: '//body/@class', path: '/x/', reason: r}]\n", "reject.0", "exactly one of"),
    (MINIMAL + "reject: [{path: '/x/'}]\n", "reject.0.reason", "Field required"),
])
def test_a_broken_profile_names_the_file_and_the_field(tmp_path: Path, text: str, field: str | None,
                                                         says: str) -> None:
    path = write(tmp_path, "example", text)
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    message = str(info.value)
    assert str(path) in message and says in message
    if field:
        assert f"'{field}'" in message
    assert "\n" not in message, "one line for the operator"


def test_the_key_must_match_the_file_name(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="'key'.*must equal the file name"):
        load_profile(write(tmp_path, "other", MINIMAL))


def test_a_selector_that_matches_nothing_on_the_fixtures_is_named(tmp_path: Path) -> None:
    shutil.copytree(DEFAULT_SITES_DIR / "fixtures" / "rheinkurier", tmp_path / "fixtures" / "rheinkurier")
    text = (DEFAULT_SITES_DIR / "rheinkurier.yaml").read_text(encoding="utf-8")
    path = write(tmp_path, "rheinkurier", text.replace("byline: [{css: 'p.rk-autor'}]",
                                                       "byline: [{css: 'p.autorzeile'}]"))
    problems = check_selectors(load_profile(path))
    assert problems == [f"{path}: field 'fields.byline[0]': css 'p.autorzeile' matches nothing on the fixtures "
                        f"in {tmp_path / 'fixtures' / 'rheinkurier'}"]


def test_presets_keep_a_wordpress_site_short() -> None:
    text = (DEFAULT_SITES_DIR / "metrotimes.yaml").read_text(encoding="utf-8")
    site = all_sites()["metrotimes"]
    assert "extends: wordpress" in text
    assert "published_at" in site.fields and "published_at" not in text  # from the preset
    assert site.fields["byline"][0].css == "div.entry-meta span.byline"  # the profile's own


def test_urls_find_their_profile_by_domain() -> None:
    assert site_for_url("https://japannews.yomiuri.co.jp/politics/x/20240906-1/").key == "japannews"
    assert site_for_url("https://www.metrotimes.example/2024/11/03/a/").key == "metrotimes"
    assert site_for_url("https://evil-japannews.yomiuri.co.jp.example.com/") is None
    assert site_for_url("https://example.com/") is None
    generic = generic_profile("https://www.Some-News.example.co.uk/a/b")
    assert generic.key == "some-news-example-co-uk" and generic.timezone == "UTC" and not generic.fields
    assert site_key_for_host("123.example") == "s-123-example"


def test_sites_list_shows_every_site(capsys: pytest.CaptureFixture[str]) -> None:
    from newsline.cli import main

    assert main(["sites", "list", "--json"]) == 0
    rows = {r["key"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["valleyherald"]["discovery"] == "robots+news-sitemap+feeds(1)+listings(6)"
    assert rows["rheinkurier"]["schedule"] == "0 0 * * * (Europe/Berlin)"
    assert rows["japannews"]["dag_id"] == "japannews_daily"


def test_sites_check_of_a_broken_profile_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from newsline.cli import main

    bad = write(tmp_path, "example", MINIMAL.replace("Europe/Paris", "Nowhere/City"))
    with pytest.raises(SystemExit) as info:
        main(["sites", "check", str(bad), "--pages", "0"])
    assert info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("newsline: error: ") and "field 'timezone'" in err and len(err.splitlines()) == 1
