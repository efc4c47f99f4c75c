"""Helpers of the crawl-fault tests: run specs into tmp dirs, crawl outputs, warehouse vs truth rows."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from tests.truth import rows_by_id

DAY = date(2024, 9, 6)
#: Fields compared with the site's ground truth.
CORE_FIELDS = ["article_id", "url", "title", "revision", "section", "subsection", "byline", "body",
               "published_at", "modified_at", "access", "keywords", "language"]
#: Fast retries and a short timeout so a "slow" page exceeds it (see crawler.run SETTINGS_ENV).
FAST = {"NEWSLINE_RETRY_BACKOFF_BASE": 0.05, "NEWSLINE_RETRY_BACKOFF_MAX": 0.2, "DOWNLOAD_TIMEOUT": 1.5}


def spec(tmp: Path, base_url: str, run_id: str, **extra):
    from newsline.pipeline import RunSpec

    return RunSpec(site="japannews", day=DAY.isoformat(), run_id=run_id, overrides={
        "warehouse": str(tmp / "warehouse"), "staging": str(tmp / "runs"), "base_url": base_url,
        "download_delay": 0, "concurrency_per_domain": 8, **extra})


def crawl_outputs(run_dir: Path) -> tuple[dict, list[dict], list[dict]]:
    crawl = run_dir / "crawl"
    report = json.loads((crawl / "crawl.json").read_text("utf-8"))
    items = [json.loads(x) for x in (crawl / "items.jsonl").read_text("utf-8").splitlines()]
    rejections = [json.loads(x) for x in (crawl / "rejections.jsonl").read_text("utf-8").splitlines()]
    return report, items, rejections


def rows(records: list[dict]) -> dict[str, dict]:
    return rows_by_id(records, CORE_FIELDS)


def stored(tmp: Path) -> dict[str, dict]:
    from warehouse.reader import read_articles

    frame = read_articles(str(tmp / "warehouse"))
    frame = frame[frame["date"] == DAY] if len(frame) else frame
    return rows(frame.to_dict("records"))


def truth(server) -> dict[str, dict]:
    return rows(server.truth(day=DAY))
