"""`newsline reprocess`: a day rebuilt from its WARC archives, with the demo site switched off,
yields exactly the rows the crawl produced."""

from __future__ import annotations

import pandas as pd
import pytest

from newsline.pipeline import RunFailed, RunSpec, run_day
from warehouse.reader import read_articles

pytestmark = pytest.mark.slow

DAY = "2024-09-06"


def spec(tmp_path, name: str, run_id: str, base_url: str = "http://127.0.0.1:9/") -> RunSpec:
    return RunSpec(site="japannews", day=DAY, run_id=run_id, overrides={
        "warehouse": str(tmp_path / name), "staging": str(tmp_path / "runs"), "base_url": base_url,
        "download_delay": 0, "concurrency_per_domain": 8})


def table(root) -> pd.DataFrame:
    frame = read_articles(str(root)).drop(columns=["run_id"])
    return frame.sort_values("article_id").reset_index(drop=True)


def test_reprocess_rebuilds_the_day_offline(tmp_path) -> None:
    from demo_site.server import DemoServer

    with DemoServer(port=0) as server:
        crawled = run_day(spec(tmp_path, "wh-crawl", "crawl-1", server.base_url))
    assert crawled["articles_new"] > 20
    # the site is gone: the replay must not need it
    replayed = run_day(spec(tmp_path, "wh-replay", "replay-1"), reprocess=True)
    assert replayed["pages_fetched"] == 0
    assert replayed["articles_new"] == crawled["articles_new"]
    pd.testing.assert_frame_equal(table(tmp_path / "wh-crawl"), table(tmp_path / "wh-replay"))

    # replaying into the warehouse the crawl filled changes nothing
    again = run_day(spec(tmp_path, "wh-crawl", "replay-2"), reprocess=True)
    assert again["articles_new"] == 0 and again["articles_updated"] == 0
    assert again["articles_unchanged"] == crawled["articles_new"]


def test_reprocess_without_archives_fails_clearly(tmp_path) -> None:
    with pytest.raises(RunFailed, match="no raw archive"):
        run_day(spec(tmp_path, "wh", "replay-x"), reprocess=True)
