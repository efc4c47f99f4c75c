"""The three extra demo sites: pages read back to the ground truth, determinism, timezones, charset,
no structured data, wire copies, and the shared fault modes."""

from __future__ import annotations

import gzip
import json
import re
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from demo_pagecheck import fetch
from multisite_pagecheck import read_metrotimes, read_rheinkurier, read_valleyherald

from demo_site import DemoServer
from demo_site.faults import FaultPlan, unit_hash
from demo_site.metrotimes import MetroTimes
from demo_site.rheinkurier import RheinKurier
from demo_site.sitebase import BaseSite
from demo_site.valleyherald import ValleyHerald
from demo_site.world import DEMO_SITES, DemoWorld, build_site

NEW_SITES = ("metrotimes", "valleyherald", "rheinkurier")
BASE = "http://127.0.0.1:9/"
COMMON_FIELDS = ("title", "revision", "date", "dateline", "byline", "authors", "body", "summary", "published_at",
                 "modified_at", "image_url", "image_caption", "image_credit", "section_native", "word_count")  # fmt: skip
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def sites() -> dict[str, BaseSite]:
    return {k: build_site(k) for k in NEW_SITES}  # type: ignore[misc]


def render(site: BaseSite, url_or_path: str, as_of: datetime | None = None, plan: FaultPlan | None = None):
    path = url_or_path[len(BASE) - 1 :] if url_or_path.startswith(BASE) else url_or_path
    return site.render(path, {}, BASE, as_of or site.as_of, plan or FaultPlan())


def read(site: BaseSite, record: dict) -> dict:
    page = render(site, record["url"])
    assert page.status == 200, record["url"]
    if site.key == "metrotimes":
        return read_metrotimes(page.body)
    if site.key == "valleyherald":
        return read_valleyherald(page.body, record["url"])
    return read_rheinkurier(page.body, page.content_type)


@pytest.mark.parametrize("key", NEW_SITES)
def test_every_page_reads_back_to_its_truth_record(sites, key):
    site = sites[key]
    truth = site.truth(BASE)
    assert len(truth) >= 5 * site.articles_per_day
    for record in truth:
        got = read(site, record)
        for field in COMMON_FIELDS:
            assert got[field] == record[field], (record["url"], field)
        assert got["article_id"] == record["article_id"]
        if key != "metrotimes":  # the native id is in the URL
            assert record["url"].rstrip("/").removesuffix(".html").endswith(record["article_id"].split(":")[1])
        if "access" in got:
            assert got["access"] == record["access"]
        if "keywords" in got:
            assert got["keywords"] == record["keywords"]
        if "url" in got:
            assert got["url"] == record["url"]
        if key == "metrotimes":
            assert got["authors_from_byline"] == record["authors"]


@pytest.mark.parametrize("key", NEW_SITES)
def test_truth_has_the_japannews_fields_plus_two(sites, key):
    from demo_site.generator import DemoSite

    jn = DemoSite(days=[date(2024, 9, 4)], articles_per_day=2, seed_article=False).truth("http://x/")[0]
    record = sites[key].truth(BASE)[0]
    assert list(record) == [*jn, "section_native", "wire_group"]
    assert record["published_at"].tzinfo is UTC and record["language"] == sites[key].language


@pytest.mark.parametrize("key", NEW_SITES)
def test_model_is_deterministic(sites, key):
    again = build_site(key)
    assert again.truth(BASE) == sites[key].truth(BASE)
    story = sites[key].articles[7]
    assert render(again, sites[key].path(story)).body == render(sites[key], sites[key].path(story)).body
    other = build_site(key, seed=7)
    assert [r["title"] for r in other.truth(BASE)] != [r["title"] for r in sites[key].truth(BASE)]


@pytest.mark.parametrize("key", NEW_SITES)
def test_as_of_clock_hides_the_future_and_old_revisions(sites, key):
    site = sites[key]
    story = next(s for s in site.articles if s.revisions)
    assert render(site, site.path(story), as_of=story.published - timedelta(minutes=1)).status == 404
    assert render(site, site.path(story), as_of=story.published).status == 200
    first = [r for r in site.truth(BASE, as_of=story.published) if r["article_id"] == f"{key}:{story.native_id}"]
    last = [r for r in site.truth(BASE) if r["article_id"] == f"{key}:{story.native_id}"]
    assert first[0]["revision"] == 0 and last[0]["revision"] == story.revisions[-1].n
    assert first[0]["body"] != last[0]["body"] and last[0]["modified_at"] > first[0]["modified_at"]
    assert all(r["published_at"] <= story.published for r in site.truth(BASE, as_of=story.published))


def _by_local(site: BaseSite, local: str) -> list[dict]:
    out = []
    for r in site.truth(BASE):
        when = r["published_at"].astimezone(site.timezone)
        if when.strftime("%Y-%m-%d %H:%M") == local:
            out.append((r, when))
    return out


def test_metrotimes_dst_end_day_dates(sites):
    site = sites["metrotimes"]
    late = _by_local(site, "2024-11-03 23:30")
    assert len(late) == 1
    record, when = late[0]
    assert record["date"] == date(2024, 11, 3) and record["published_at"].date() == date(2024, 11, 4)
    assert when.utcoffset().total_seconds() == -5 * 3600  # EST after the change
    repeated = _by_local(site, "2024-11-03 01:30")
    assert sorted(r["published_at"].hour for r, _ in repeated) == [5, 6]  # 01:30 EDT, then 01:30 EST
    assert {r["date"] for r, _ in repeated} == {date(2024, 11, 3)}
    page = render(site, repeated[0][0]["url"]).body.decode()
    assert re.search(r'datetime="2024-11-03T01:30:00-0[45]:00"', page)
    before = _by_local(site, "2024-11-02 23:30")[0][0]
    assert before["published_at"] == datetime(2024, 11, 3, 3, 30, tzinfo=UTC)  # EDT, -04:00
    evening_utc_next_day = [r for r in site.truth(BASE) if r["published_at"].date() != r["date"]]
    assert len(evening_utc_next_day) >= 2 * len(site.days)


def test_rheinkurier_dst_start_and_day_boundary(sites):
    site = sites["rheinkurier"]
    after_midnight = _by_local(site, "2024-04-01 00:30")[0][0]
    assert after_midnight["date"] == date(2024, 4, 1)
    assert after_midnight["published_at"] == datetime(2024, 3, 31, 22, 30, tzinfo=UTC)  # CEST, +02:00
    cet = _by_local(site, "2024-03-30 00:30")[0][0]
    assert cet["published_at"] == datetime(2024, 3, 29, 23, 30, tzinfo=UTC)  # CET, +01:00
    gap = _by_local(site, "2024-03-31 03:30")  # 02:30 does not exist that night
    assert gap and gap[0][0]["published_at"] == datetime(2024, 3, 31, 1, 30, tzinfo=UTC)
    assert "2024-03-31T03:30:00+02:00" in render(site, gap[0][0]["url"]).body.decode("iso-8859-1")


def test_rheinkurier_bytes_are_latin1_and_declared_only_in_meta(sites):
    site = sites["rheinkurier"]
    umlauts = 0
    for record in site.truth(BASE)[:20]:
        page = render(site, record["url"])
        assert page.content_type == "text/html"
        assert b'<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1">' in page.body
        if any(ch in record["title"] + (record["byline"] or "") + record["body"] for ch in "äöüÄÖÜß"):
            umlauts += 1
            with pytest.raises(UnicodeDecodeError):
                page.body.decode("utf-8")
            assert record["title"] in page.body.decode("iso-8859-1")
    assert umlauts >= 10
    assert any("Müller" in (r["byline"] or "") or "ü" in (r["byline"] or "") for r in site.truth(BASE))
    feed = render(site, "/rss/alle.xml")
    assert feed.body.startswith(b'<?xml version="1.0" encoding="ISO-8859-1"?>') and "charset" not in feed.content_type


def test_valleyherald_has_no_structured_data_and_no_sitemap(sites):
    site = sites["valleyherald"]
    for record in site.truth(BASE):
        page = render(site, record["url"]).body.decode()
        for marker in ("application/ld+json", 'property="og:', 'property="article:', "itemprop", "itemscope",
                       "<time", "datetime=", 'name="description"'):  # fmt: skip
            assert marker not in page, (record["url"], marker)
    for path in ("/sitemap.xml", "/sitemap_index.xml", "/news-sitemap.xml"):
        assert render(site, path).status == 404
    assert "Sitemap:" not in render(site, "/robots.txt").body.decode()


def test_valleyherald_discovery_through_feed_and_listings_finds_everything(sites):
    site = sites["valleyherald"]
    feed = render(site, "/rss.xml").body.decode()
    assert feed.count("<item>") == 15
    found = set()
    for section in site.sections:
        page_no = 1
        while True:
            page = site.render(f"/news/{section}/", {"page": [str(page_no)]}, BASE, site.as_of, FaultPlan())
            assert page.status == 200
            html = page.body.decode()
            links = re.findall(r'class="story-link" href="([^"]+)"', html)
            assert 1 <= len(links) <= 10
            found.update(links)
            if 'rel="next"' not in html:
                break
            page_no += 1
    assert found == {r["url"] for r in site.truth(BASE)}
    assert any(
        site.render(f"/news/{s}/", {"page": ["2"]}, BASE, site.as_of, FaultPlan()).status == 200 for s in site.sections
    )


def test_valleyherald_excluded_blocks_are_in_the_container_but_not_in_the_body(sites):
    site = sites["valleyherald"]
    seen = set()
    for record in site.truth(BASE):
        page = render(site, record["url"]).body.decode()
        story = page[page.index('<div id="story"') :]
        for block in ("related-links", "paywall-teaser", "story-comments"):
            if f'class="{block}"' in story:
                seen.add(block)
        assert "Subscribe to keep reading" not in record["body"] and "Related" not in record["body"]
        if record["access"] == "premium":
            assert "Subscribe to keep reading\u2026" in story
    assert seen == {"related-links", "paywall-teaser", "story-comments"}


def test_metrotimes_discovery_documents(sites):
    site = sites["metrotimes"]
    robots = render(site, "/robots.txt").body.decode()
    assert f"Sitemap: {BASE}sitemap_index.xml" in robots and f"Sitemap: {BASE}news-sitemap.xml" in robots
    index = render(site, "/sitemap_index.xml").body.decode()
    children = re.findall(r"<loc>([^<]+)</loc>", index)
    assert f"{BASE}post-sitemap.xml" in children and f"{BASE}post-sitemap2.xml" in children
    locs = set()
    for child in ("/post-sitemap.xml", "/post-sitemap2.xml"):
        locs.update(re.findall(r"<url><loc>([^<]+)</loc>", render(site, child).body.decode()))
    assert locs == {r["url"] for r in site.truth(BASE)}
    news = render(site, "/news-sitemap.xml").body.decode()
    assert 0 < news.count("<news:news>") < len(locs)
    record = site.truth(BASE)[3]
    story = site.by_id[int(record["article_id"].split(":")[1])]
    redirect = site.render("/", {"p": [str(story.native_id)]}, BASE, site.as_of, FaultPlan())
    assert redirect.status == 301 and redirect.headers["Location"] == record["url"]
    page = render(site, record["url"]).body.decode()
    assert f"<link rel='shortlink' href='{BASE}?p={story.native_id}' />" in page
    graph = json.loads(re.search(r'<script type="application/ld\+json"[^>]*>(.*?)</script>', page).group(1))["@graph"]
    assert {"NewsArticle", "WebPage", "Organization", "Person"} <= {n["@type"] for n in graph}


def test_metrotimes_has_multi_author_bylines(sites):
    truth = sites["metrotimes"].truth(BASE)
    three = [r for r in truth if len(r["authors"]) == 3]
    assert three and all(re.fullmatch(r"By [^,]+, [^,]+ and .+", r["byline"]) for r in three)


def test_wire_copies_are_near_duplicates_across_sites_and_decoys_are_not(sites):
    records = {r["article_id"]: r for k in NEW_SITES for r in sites[k].truth(BASE)}
    groups: dict[str, list[dict]] = {}
    for r in records.values():
        if r["wire_group"]:
            groups.setdefault(r["wire_group"], []).append(r)
    assert len(groups) >= 4
    assert any(len({r["site"] for r in g}) >= 2 for g in groups.values())
    assert any(len(g) > len({r["site"] for r in g}) for g in groups.values())  # twice on one site
    from demo_site.sitebase import labelled_pairs

    pairs = labelled_pairs(list(sites.values()))
    assert {same for _, _, same in pairs} == {True, False}
    for a, b, same in pairs:
        ra, rb = records[a], records[b]
        sa, sb = _sentences(ra["body"]), _sentences(rb["body"])
        changed = len(sa ^ sb) // 2  # sentences replaced in one copy relative to the other
        if same:
            assert ra["title"] != rb["title"] and ra["body"] != rb["body"], (a, b)
            assert 1 <= changed <= 4 and len(sa & sb) >= 8, (a, b, changed)
            assert ra["wire_group"] == rb["wire_group"]
        else:
            assert ra["title"] == rb["title"] and not sa & sb and ra["wire_group"] is None, (a, b)


def _sentences(body: str) -> set[str]:
    return {s.strip() for s in re.split(r"(?<=\.) ", body.replace("\n\n", " ")) if s.strip()}


def test_faults_apply_to_the_new_sites_over_http():
    site = MetroTimes(articles_per_day=4)
    article = site.path(site.articles[0])
    with DemoServer(site, faults="error=1,burst=1") as srv:
        assert srv.faults.scope == MetroTimes.article_scope
        assert fetch(srv.base_url + "robots.txt").status == 200  # discovery stays intact by default
        assert fetch(srv.base_url + article.lstrip("/")).status in (500, 503)
        assert fetch(srv.base_url + article.lstrip("/")).status == 200
        assert [e.kind for e in srv.fault_events] == ["error"]
    herald = ValleyHerald(articles_per_day=4)
    with DemoServer(herald, faults="remove=feeds") as srv:
        assert fetch(srv.base_url + "rss.xml").status == 404
        assert [e.kind for e in srv.fault_events] == ["removed-source"]
        path = herald.path(herald.articles[1])
        assert fetch(srv.base_url + path.lstrip("/") + "?_fault=challenge").body.startswith(b"<!DOCTYPE html>")
    kurier = RheinKurier(articles_per_day=4)
    path = kurier.path(kurier.articles[2]).lstrip("/")
    with DemoServer(
        kurier, faults=f"force=charset-missing@/{path}+malformed@/{kurier.path(kurier.articles[3]).lstrip('/')}"
    ) as srv:
        bare = fetch(srv.base_url + path)
        assert b"charset" not in bare.body and bare.status == 200
        assert bare.body == kurier.render("/" + path, {}, srv.base_url, srv.as_of, FaultPlan()).body.replace(
            b'<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1">\n', b""
        )
        sloppy = fetch(srv.base_url + kurier.path(kurier.articles[3]).lstrip("/"))
        assert sloppy.status == 200 and b"</p>" not in sloppy.body
        sloppy.body.decode("iso-8859-1")
    with DemoServer(kurier, faults="hostile=xxe") as srv:
        assert b"<!ENTITY xxe" in fetch(srv.base_url + "sitemap.xml").body


def test_world_serves_every_site_with_control_endpoints_and_one_clock():
    with DemoWorld(articles_per_day=3) as world:
        assert list(world.servers) == list(DEMO_SITES)
        ids = []
        for key, server in world.servers.items():
            assert fetch(server.base_url + "robots.txt").status == 200
            truth = json.loads(fetch(server.base_url + "_newsline/truth.json").body)
            assert truth and {r["site"] for r in truth} == {key}
            records = world.truth(key)
            assert len(records) == len(truth) and all("wire_group" in r and "section_native" in r for r in records)
            ids += [r["article_id"] for r in records]
            assert fetch(server.base_url + "_newsline/requests.json").status == 200
            assert fetch(server.base_url + "_newsline/faults.json").status == 200
        assert len(ids) == len(set(ids))
        world.set_as_of("2024-11-03T12:00")  # naive: each site's own local time
        assert world.servers["metrotimes"].as_of == datetime(2024, 11, 3, 17, 0, tzinfo=UTC)
        assert all(r["date"] <= date(2024, 11, 3) for r in world.truth("metrotimes"))
        assert world.truth("metrotimes", day=date(2024, 11, 3))
        assert any(same for _, _, same in world.labelled_pairs())


def test_command_serves_all_sites_and_logs_one_line_each():
    proc = subprocess.Popen(
        [sys.executable, "-m", "demo_site", "--all", "--port-base", "0", "--articles-per-day", "2"],
        cwd=REPO,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines: list[str] = []
        deadline = time.time() + 20
        while len(lines) < 4 and time.time() < deadline:
            line = proc.stderr.readline()
            if "serving on" in line:
                lines.append(line)
        keys = [re.search(r"demo site (\S+) serving on (http://\S+/)", line).group(1) for line in lines]
        assert keys == list(DEMO_SITES)
        base = re.search(r"serving on (http://\S+/)", lines[3]).group(1)
        assert fetch(base + "robots.txt").status == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_discovery_faults_on_metrotimes():
    site = MetroTimes(articles_per_day=10)
    with DemoServer(site, faults="gzip_sitemaps=1,tracking=0.5,seed=3") as srv:
        index = fetch(srv.base_url + "sitemap_index.xml").body.decode()
        assert f"{srv.base_url}post-sitemap.xml.gz" in index
        child = fetch(srv.base_url + "post-sitemap.xml.gz")
        xml = gzip.decompress(child.body).decode()
        assert "utm_source=" in xml
        plain = re.findall(r"<loc>([^<?]+)</loc>", xml)
        assert len(plain) == len(set(plain)) and xml.count("<url>") > len(plain)
    with DemoServer(site, faults="remove=post-sitemaps+news-sitemap") as srv:
        assert fetch(srv.base_url + "post-sitemap.xml").status == 404
        assert fetch(srv.base_url + "news-sitemap.xml").status == 404
        assert {e.kind for e in srv.fault_events} == {"removed-source"}


def test_charset_wrong_on_the_latin1_site_has_two_shapes():
    site = RheinKurier(articles_per_day=8)
    paths = [site.path(s) for s in site.articles]
    header = next(p for p in paths if unit_hash(0, "charset", p) < 0.5)
    body = next(p for p in paths if unit_hash(0, "charset", p) >= 0.5)
    with DemoServer(site, faults=f"force=charset-wrong@{header}+charset-wrong@{body}") as srv:
        said_utf8 = fetch(srv.base_url + header.lstrip("/"))
        assert said_utf8.headers["content-type"] == "text/html; charset=UTF-8"
        assert said_utf8.body == site.render(header, {}, srv.base_url, srv.as_of, FaultPlan()).body
        recoded = fetch(srv.base_url + body.lstrip("/"))
        original = site.render(body, {}, srv.base_url, srv.as_of, FaultPlan()).body
        assert recoded.body.decode("utf-8") == original.decode("iso-8859-1")
        assert b"charset=iso-8859-1" in recoded.body


@pytest.mark.parametrize(
    "argv",
    [["--all", "--days", "2024-11-01..2024-11-02"], ["--port-base", "0"], ["--all", "--as-of", "nonsense"]],
)
def test_command_user_errors_are_one_line(argv, capsys):
    from demo_site.world import main

    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("newsline: error: ") and err.count("\n") == 1
