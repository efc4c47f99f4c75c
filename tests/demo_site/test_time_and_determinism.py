"""The site's clock (as_of) hides the future; two builds are identical; scale stays cheap."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from demo_pagecheck import fetch, read_article

from demo_site import DemoServer, DemoSite
from demo_site.pages import Renderer, route
from demo_site.server import truth_json

JST = ZoneInfo("Asia/Tokyo")
REPO = Path(__file__).resolve().parents[2]
SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


def test_two_builds_are_identical():
    a, b = DemoSite(), DemoSite()
    assert a.truth("http://x/") == b.truth("http://x/")
    ra, rb = Renderer(a, "http://x/"), Renderer(b, "http://x/")
    paths = ["/sitemap.xml", "/sitemap-news.xml", "/feed/", "/latestnews/"] + [s.path for s in a.articles[::17]]
    for path in paths:
        assert route(ra, path, {}).body == route(rb, path, {}).body, path
    other = DemoSite(seed=7)
    assert other.truth("http://x/") != a.truth("http://x/")


def test_as_of_hides_future_articles_and_revisions(site):
    later_revised = next(s for s in site.articles if s.revisions and s.revisions[0].modified.date() > s.day)
    between = later_revised.revisions[0].modified - timedelta(minutes=1)
    with DemoServer(site, as_of=between) as srv:
        truth = {t["url"]: t for t in srv.truth()}
        url = srv.base_url + later_revised.path.lstrip("/")
        shown = read_article(fetch(url).body)
        assert shown["revision"] == 0 and truth[url]["revision"] == 0
        assert shown["body"] == truth[url]["body"]
        assert all(t["published_at"] <= between for t in truth.values())
        future = next(s for s in site.articles if s.published > between)
        future_url = srv.base_url + future.path.lstrip("/")
        assert fetch(future_url).status == 404
        month = ET.fromstring(fetch(srv.base_url + "sitemap-posttype-post.20249.xml").body)
        assert future_url not in {el.findtext(f"{SM}loc") for el in month.iter(f"{SM}url")}
        assert future_url not in fetch(srv.base_url + "feed/").text

        srv.set_as_of(later_revised.revisions[0].modified)
        after = read_article(fetch(url).body)
        assert after["revision"] == 1 and after["body"] != shown["body"]
        assert after["modified_at"].date() > after["published_at"].date()
        srv.set_as_of(max(future.published, later_revised.revisions[0].modified))
        assert fetch(future_url).status == 200


def test_control_endpoints(site):
    with DemoServer(site) as srv:
        served = json.loads(fetch(srv.base_url + "_newsline/truth.json").body)
        expected = srv.truth()
        assert len(served) == len(expected)
        assert served[0]["url"] == expected[0]["url"]
        assert served[0]["published_at"] == expected[0]["published_at"].isoformat()
        one_day = json.loads(fetch(srv.base_url + "_newsline/truth.json?date=2024-09-06").body)
        assert one_day and {t["date"] for t in one_day} == {"2024-09-06"}
        assert len(one_day) == len([t for t in expected if t["date"] == date(2024, 9, 6)])
        assert fetch(srv.base_url + "_newsline/truth.json?date=soon").status == 400
        moved = fetch(srv.base_url + "_newsline/as-of?value=2024-09-05T00:00:00%2B09:00")
        assert json.loads(moved.body)["as_of"] == "2024-09-05T00:00:00+09:00"
        assert srv.as_of == datetime(2024, 9, 5, tzinfo=JST)
        assert {t["date"] for t in srv.truth()} == {date(2024, 9, 4)}
        assert fetch(srv.base_url + "_newsline/as-of?value=nonsense").status == 400
        log = json.loads(fetch(srv.base_url + "_newsline/requests.json").body)
        assert any(r["target"].startswith("/_newsline/as-of") for r in log)


def test_scale_is_cheap():
    started = time.perf_counter()
    one_day = DemoSite(days=[date(2024, 9, 5)], articles_per_day=1000, seed_article=False)
    big = DemoSite(
        days=[date(2024, 9, 1) + timedelta(days=k) for k in range(20)], articles_per_day=1000, seed_article=False
    )
    assert len(one_day.articles) == 1000 and len(big.articles) == 20000
    assert len({s.post_id for s in big.articles}) == 20000
    r = Renderer(big, "http://x/")
    assert route(r, big.articles[-1].path, {}).status == 200
    assert time.perf_counter() - started < 10


def test_command_line_serves_until_terminated():
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "demo_site",
            "--port",
            "0",
            "--days",
            "2024-09-04..2024-09-05",
            "--articles-per-day",
            "5",
        ],
        cwd=REPO,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = ""
        deadline = time.time() + 30
        while "serving on" not in line and time.time() < deadline:
            line = proc.stderr.readline()
        base = line.split("serving on ", 1)[1].split(" ", 1)[0]
        truth = json.loads(fetch(base + "_newsline/truth.json").body)
        assert len(truth) == 10
        local = DemoSite(days=[date(2024, 9, 4), date(2024, 9, 5)], articles_per_day=5, seed_article=False)
        expected = json.loads(truth_json(local.truth(base)))
        assert truth == expected  # another process builds the very same site
        assert fetch(base + "robots.txt").status == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)
