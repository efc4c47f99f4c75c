"""A sharded day through real Airflow (``airflow dags test``): discovery once, the crawl mapped over the
profile's shards, one shard failing on its first try (the demo site answers 500 to every request of its
pages until the crawler's own retries are spent) and retried alone, the day loaded once with every row."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from urllib.parse import urlsplit

import pytest

from core.timeutil import day_window
from newsline.demo import logical_date_for
from tests.e2e.airflow_services import airflow, make_env, metadata, sites_dir_with

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DAY = date(2024, 9, 6)
SHARDS = 4
FAILING = 1  # the shard whose pages fail on its first try
#: Scrapy tries a page 1 + RETRY_TIMES (3) times in one process: a burst of 4 errors fails the whole
#: first try of the shard; the task's retry gets the 5th answer, a good one.
BURST = 4


def _day_urls(server) -> list[str]:
    start, end = day_window(DAY, "Asia/Tokyo")
    return sorted({r["url"] for r in server.truth() if r["date"] == DAY or start <= r["modified_at"] < end})


@pytest.fixture(scope="module")
def sharded_day(tmp_path_factory):
    from demo_site.faults import FaultConfig
    from demo_site.server import DemoServer
    from newsline.pipeline import split_shards

    tmp = tmp_path_factory.mktemp("e2e-shards")
    server = DemoServer(port=0).start()
    try:
        urls = _day_urls(server)
        shard_size = -(-len(urls) // SHARDS)
        shards = [[e["url"] for e in part] for part in split_shards([{"url": u} for u in urls], SHARDS)]
        paths = {u: urlsplit(u).path for u in urls}
        server.set_faults(FaultConfig(force={paths[u]: "error" for u in shards[FAILING]}, burst=BURST))
        sites = sites_dir_with(tmp / "sites", {"japannews": {"crawl": {"shard_size": shard_size, "max_shards": SHARDS},
                                                            "politeness": {"pool_slots": 2}}})
        env = make_env(tmp / "airflow", base_url=server.base_url, warehouse=tmp / "warehouse", staging=tmp / "runs",
                       extra={"NEWSLINE_SITES_DIR": str(sites), "NEWSLINE_TASK_RETRY_DELAY": "1",
                              "NEWSLINE_SCRAPY_SETTINGS": json.dumps({"NEWSLINE_RETRY_BACKOFF_BASE": 0.05})})
        airflow(env, "db", "migrate")
        airflow(env, "pools", "set", "japannews", "2", "crawl slots for The Japan News")
        server.clear_requests()
        proc = airflow(env, "dags", "test", "japannews_daily", logical_date_for(DAY), check=False)
        yield {"server": server, "env": env, "tmp": tmp, "proc": proc, "urls": urls, "shards": shards,
               "paths": paths}
    finally:
        server.stop()


def test_the_day_completes_with_every_row(sharded_day) -> None:
    from warehouse.reader import read_articles

    proc = sharded_day["proc"]
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-6000:]
    summaries = sorted((sharded_day["tmp"] / "runs" / "japannews" / DAY.isoformat()).glob("*/summary.json"))
    assert len(summaries) == 1
    summary = json.loads(summaries[0].read_text())
    assert summary["status"] == "ok", summary
    assert summary["articles_discovered"] == len(sharded_day["urls"])
    assert summary["articles_new"] == len(sharded_day["urls"])
    stored = read_articles(str(sharded_day["tmp"] / "warehouse"))
    assert sorted(stored["url"]) == sharded_day["urls"], "every article of the day, each once"


def test_the_crawl_was_mapped_and_only_the_failed_shard_retried(sharded_day) -> None:
    rows = metadata(sharded_day["env"], "select task_id, map_index, try_number, state from task_instance "
                                        "where dag_id = 'japannews_daily' order by task_id, map_index")
    tries = {(r["task_id"], r["map_index"]): (r["try_number"], r["state"]) for r in rows}
    crawls = {k[1]: v for k, v in tries.items() if k[0] == "crawl"}
    assert sorted(crawls) == list(range(SHARDS)), tries
    assert crawls[FAILING] == (2, "success"), tries
    assert all(crawls[i] == (1, "success") for i in range(SHARDS) if i != FAILING), tries
    for task in ("discover", "transform", "load", "summarize"):
        assert tries[(task, -1)] == (1, "success"), (task, tries)


def test_the_site_saw_each_good_shard_once(sharded_day) -> None:
    """From the demo site's request log: discovery read once, the pages of the good shards fetched once,
    the failed shard's pages BURST times by its first try and once more by its retry."""
    got = Counter(target for _, method, target in sharded_day["server"].timed_requests if method == "GET")
    paths = sharded_day["paths"]
    for number, shard in enumerate(sharded_day["shards"]):
        want = BURST + 1 if number == FAILING else 1
        assert {paths[u]: got[paths[u]] for u in shard} == {paths[u]: want for u in shard}, number
    sitemaps = {t: n for t, n in got.items() if "sitemap" in t}
    assert sitemaps and set(sitemaps.values()) == {1}, sitemaps
