"""Adding a site is writing a profile (and its fixtures) — no code: a new profile in a temporary sites
folder is validated, crawled by the one spider, loaded into the warehouse and shown as its own DAG."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from core.sites import DEFAULT_SITES_DIR

pytestmark = pytest.mark.slow

REPO = DEFAULT_SITES_DIR.parent
PROFILE = """\
# A regional paper whose pages look like the Valley Herald demo site's (served here by the demo world).
key: harbor-news
name: Harbor News
domains: [harbor-news.example]
base_url: https://harbor-news.example/
timezone: America/New_York
discovery:
  feeds: [rss.xml]
  listings:
    - {url: 'news/local/', links: 'a.story-link::attr(href)', next_css: 'a.next[rel=next]::attr(href)'}
    - {url: 'news/politics/', links: 'a.story-link::attr(href)', next_css: 'a.next[rel=next]::attr(href)'}
    - {url: 'news/business/', links: 'a.story-link::attr(href)', next_css: 'a.next[rel=next]::attr(href)'}
    - {url: 'news/nation/', links: 'a.story-link::attr(href)', next_css: 'a.next[rel=next]::attr(href)'}
    - {url: 'news/sports/', links: 'a.story-link::attr(href)', next_css: 'a.next[rel=next]::attr(href)'}
    - {url: 'news/opinion/', links: 'a.story-link::attr(href)', next_css: 'a.next[rel=next]::attr(href)'}
article_url:
  pattern: '^/news/(?P<section>[a-z-]+)/[a-z0-9-]+-(?P<id>\\d+)\\.html$'
fields:
  title: [{css: 'h1.story-headline'}]
  byline: [{css: 'div.story-byline'}]
  published_at:
    - css: 'span.story-published'
      replace: [['p\\.m\\.', 'PM'], ['a\\.m\\.', 'AM'], ['\\s*ET$', '']]
      date_format: '%B %d, %Y at %I:%M %p'
  section: [{url: section}]
body:
  container: 'div#story'
  blocks: 'div.story-text > p, div.story-text > h2'
dateline: '^(?P<dateline>[A-Z][A-Za-z .,]*?) \u2014 '
sections: {local: society, nation: world, opinion: editorial}
schedule: {start_date: 2024-03-01}
"""


def test_a_new_site_from_a_profile_alone(tmp_path: Path) -> None:
    from demo_site.world import DemoWorld
    from warehouse.reader import read_articles

    sites = tmp_path / "sites"
    shutil.copytree(DEFAULT_SITES_DIR, sites)
    (sites / "harbor-news.yaml").write_text(PROFILE, encoding="utf-8")
    fixtures = sites / "fixtures" / "harbor-news"
    fixtures.mkdir(parents=True)
    for page in (DEFAULT_SITES_DIR / "fixtures" / "valleyherald").glob("*.html"):  # saved pages + what they say
        shutil.copy(page, fixtures / page.name)
        case = json.loads(page.with_suffix(".json").read_text(encoding="utf-8"))
        expected = {k: case["expected"][k] for k in ("title", "byline", "body", "section", "published_at")}
        (fixtures / f"{page.stem}.json").write_text(json.dumps({"url": case["url"], "expected": expected}))
    env = {**os.environ, "NEWSLINE_SITES_DIR": str(sites), "NEWSLINE_WAREHOUSE": str(tmp_path / "wh"),
           "NEWSLINE_STAGING": str(tmp_path / "runs"), "NEWSLINE_DOWNLOAD_DELAY": "0"}
    newsline = [sys.executable, "-m", "newsline.cli"]

    listed = subprocess.run([*newsline, "sites", "list", "--json"], env=env, capture_output=True, text=True)
    assert listed.returncode == 0, listed.stderr
    rows = {r["key"]: r for r in json.loads(listed.stdout)}
    assert rows["harbor-news"]["dag_id"] == "news_harbor_news_daily"

    checked = subprocess.run([*newsline, "sites", "check", "harbor-news", "--pages", "0"], env=env,
                             capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr  # selectors hit the fixtures

    with DemoWorld(sites=["valleyherald"]) as world:
        base = world.servers["valleyherald"].base_url
        run = subprocess.run([*newsline, "run", "--site", "harbor-news", "--date", "2024-03-03", "--base-url", base],
                             env=env, capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, run.stdout + run.stderr[-3000:]
        truth = world.truth("valleyherald")
    stored = read_articles(str(tmp_path / "wh"))
    assert set(stored["site"]) == {"harbor-news"}
    native = {r["article_id"].split(":", 1)[1] for r in truth}
    assert {a.split(":", 1)[1] for a in stored["article_id"]} == native  # every article of the site, once
    by_id = {r["article_id"].split(":", 1)[1]: r for r in truth}
    for _, row in stored.iterrows():
        want = by_id[row["article_id"].split(":", 1)[1]]
        assert row["title"] == want["title"] and row["section"] == want["section"]
        assert row["body"] == want["body"] and row["date"] == want["date"]
        assert row["byline"] == want["byline"]

    probe = ("import json; from airflow.dag_processing.dagbag import DagBag; "
             f"b = DagBag(dag_folder={str(REPO / 'dags')!r}); "
             "d = b.dags['news_harbor_news_daily']; "
             "print(json.dumps({'errors': list(b.import_errors), 'tz': str(d.timetable.timezone), "
             "'pool': d.get_task('crawl').pool}))")
    dagbag = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, cwd=str(REPO))
    assert dagbag.returncode == 0, dagbag.stderr[-3000:]
    shown = json.loads(dagbag.stdout.strip().splitlines()[-1])
    assert shown == {"errors": [], "tz": "America/New_York", "pool": "harbor-news"}
