"""Where a crawl's records go: articles → ``<out>/items.jsonl``, rejected pages → ``<out>/rejections.jsonl``.

Scrapy's feed exports write both files (``FEEDS``, built by ``feeds``): one JSON object per line, keys
sorted, UTF-8, each file overwritten and present after every run (possibly empty), so the transform
step never has to guess whether "no file" means "no pages" or "crawl never ran". The crawl writes into
a private folder the orchestrator publishes by rename once the process has ended, so no reader sees a
half-written file. ``CrawlRecords``, the one item pipeline, stamps and counts what the feeds write.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapy import signals

from core.items import ArticleItem
from crawler.monitors import COVERAGE_FIELDS
from crawler.records import Rejection

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler

ITEMS_FILE = "items.jsonl"
REJECTIONS_FILE = "rejections.jsonl"


def feeds(out_dir: Path) -> dict[str, dict[str, Any]]:
    """The ``FEEDS`` setting of a crawl writing into ``out_dir``."""
    common = {"format": "jsonlines", "encoding": "utf-8", "overwrite": True, "store_empty": True,
              "item_export_kwargs": {"sort_keys": True}}
    return {
        (out_dir / ITEMS_FILE).as_uri(): {**common, "item_classes": ["core.items.ArticleItem"]},
        (out_dir / REJECTIONS_FILE).as_uri(): {**common, "item_classes": ["crawler.records.Rejection"]},
    }


class CrawlRecords:
    """Stamps the run id on every record and counts item field coverage for the monitors
    (``newsline/coverage/<field>``). When the spider closes, the pages that never got an outcome
    (requests Scrapy dropped, pages over the budget or cut by the time budget) become rejections too:
    they are handed to the feed exports before those close, so no discovered page disappears silently."""

    def __init__(self, crawler: Crawler, run_id: str) -> None:
        self.crawler = crawler
        self.run_id = run_id

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler, crawler.settings.get("NEWSLINE_RUN_ID") or "")

    def process_item(self, item: Any) -> Any:
        if isinstance(item, (ArticleItem, Rejection)):
            item.run_id = item.run_id or self.run_id
        if isinstance(item, ArticleItem):
            for name in COVERAGE_FIELDS:
                if getattr(item, name, None):
                    self.crawler.stats.inc_value(f"newsline/coverage/{name}")
        return item

    def close_spider(self) -> None:
        # Item pipelines close before the spider_closed signal, on which the feed exports close.
        spider = self.crawler.spider
        leftovers: list[Rejection] = list(getattr(spider, "dropped", []))  # e.g. redirect loops
        unfinished = getattr(spider, "unfinished", None)
        if callable(unfinished):
            at = datetime.now(UTC).isoformat()
            for url, reason in unfinished():
                leftovers.append(Rejection(url=url, kind="failed", reason=reason, at=at))
                self.crawler.stats.inc_value("newsline/not_fetched")
        for rejection in leftovers:
            self.crawler.signals.send_catch_log(signals.item_scraped, item=self.process_item(rejection),
                                                response=None, spider=spider)
