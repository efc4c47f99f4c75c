"""Article pages: the quirks of the real markup, the seed article, and truth == what the page shows."""

from __future__ import annotations

from demo_pagecheck import fetch, read_article
from lxml import html as lxml_html

from demo_site.generator import seed_path
from tests.truth import requires_seed

SEED_URL = "politics/politics-government/20240906-209301/"


def _seed_lines() -> list[str]:
    return seed_path().read_text(encoding="utf-8").splitlines()


def test_every_page_shows_exactly_its_ground_truth(server):
    truth = server.truth()
    assert len(truth) > 150
    for t in truth:
        resp = fetch(t["url"])
        assert resp.status == 200, t["url"]
        shown = read_article(resp.body)
        for key, value in shown.items():
            assert t[key] == value, (t["url"], key)
        assert t["word_count"] == len(t["body"].split())
        assert t["article_id"] == "japannews:" + t["url"].rstrip("/").rsplit("-", 1)[1]


@requires_seed
def test_markup_quirks_of_the_real_site(server):
    raw = fetch(server.base_url + SEED_URL).text
    assert "<div id=p-article-block " in raw
    assert "&#045; The Japan News</title>" in raw
    assert "JST,&ensp;September 6, 2024 (updated at 20:30 JST)" in raw
    assert '"@type":"BlogPosting"' in raw and "https:\\/\\/schema.org\\/" in raw
    assert '"articleSection":"Politics &amp; Government"' in raw
    assert '"keywords":"(1) 無料記事"' in raw
    assert '<meta property="og:description" content="<p>' in raw and '</p>\n">' in raw
    assert "<link rel='shortlink' href='" + server.base_url + "?p=209301' />" in raw
    assert raw.count('id="sub-menu"') > 1
    for needle in (
        "postid-209301",
        "single_politics single_politics-government",
        'id="tpModal"',
        'id="consentModal"',
        '"Politics" POPULAR ARTICLE',
        "JN ACCESS RANKING",
        "Read more",
        'tp.push(["setTags"',
        'class="copyright"',
        "latestlist related",
        "popularlist related",
        'class="sns-button"',
    ):
        assert needle in raw, needle


def test_related_titles_are_truncated(server):
    long_titles = [t for t in server.truth() if len(t["title"]) > 70 and t["revision"] == 0]
    assert long_titles, "generator should produce some long headlines"
    found = False
    for t in server.truth()[:60]:
        doc = lxml_html.fromstring(fetch(t["url"]).body)
        for text in doc.xpath("//div[contains(@class,'latestlist')]//li//p/text()"):
            assert len(text) <= 67
            found = found or text.endswith("...")
    assert found


@requires_seed
def test_seed_article_has_the_real_title_and_generated_sidebars(server):
    lines = _seed_lines()
    raw = fetch(server.base_url + SEED_URL).text
    doc = lxml_html.fromstring(raw.encode())
    assert doc.xpath("string(//h1)") == lines[0]
    assert lines[0].endswith("(UPDATE 1)")
    shown = read_article(raw.encode())
    assert shown["dateline"] == "SEOUL" and shown["revision"] == 1
    assert shown["published_at"].isoformat() == "2024-09-06T09:19:00+00:00"
    assert shown["modified_at"].isoformat() == "2024-09-06T11:30:00+00:00"
    assert len(shown["body"].split("\n\n")) == 4
    marker = lines.index('"Politics" POPULAR ARTICLE')
    sidebar_titles = [ln.lstrip("- ").strip() for ln in lines[marker + 1 :] if len(ln) > 20]
    assert sidebar_titles
    for title in sidebar_titles:
        assert title not in raw


def test_missing_seed_file_means_no_seed_article(tmp_path, monkeypatch):
    from demo_site import DemoSite

    monkeypatch.setenv("NEWSLINE_SEED_ARTICLE", str(tmp_path / "absent.txt"))
    site = DemoSite()
    assert 209301 not in site.by_id
    assert all(r["article_id"] != "japannews:209301" for r in site.truth())


def test_variety_of_article_kinds(server):
    truth = server.truth()
    assert any(t["dateline"] for t in truth) and any(not t["dateline"] for t in truth)
    assert any(len(t["authors"]) == 2 for t in truth) and any(len(t["authors"]) == 3 for t in truth)
    assert any(t["byline"] and t["byline"].endswith("Correspondent") for t in truth)
    assert all(t["byline"] is None for t in truth if t["section"] == "news-services")
    assert any(t["image_url"] and t["image_credit"] and t["image_caption"] for t in truth)
    assert any(t["revision"] >= 1 for t in truth) and any(t["revision"] == 2 for t in truth)
    assert any(
        t["modified_at"].date() > t["published_at"].date() and (t["modified_at"] - t["published_at"]).days >= 1
        for t in truth
    ), "a revision on a later day"
    premium = [t for t in truth if t["access"] == "premium"]
    assert premium and all(t["access_raw"] == "premium" and t["keywords"] == ["有料記事"] for t in premium)
    raw = fetch(premium[0]["url"]).text
    assert 'id="article-inline-offer"><div class="offer">' in raw
    assert len(premium[0]["body"].split("\n\n")) == 2
    assert any("<h2>" in fetch(t["url"]).text.split("cxenseparse_end")[0] for t in truth[:80])


def test_update_marks_vary_in_case(server):
    marks = set()
    for t in server.truth():
        if t["revision"]:
            h1 = lxml_html.fromstring(fetch(t["url"]).body).xpath("string(//h1)")
            marks.add(h1[len(t["title"]) :].split()[0])
    assert marks == {"(UPDATE", "(Update"}
