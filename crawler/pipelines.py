"""Item pipeline: articles → ``<out>/items.jsonl``, rejected pages → ``<out>/rejections.jsonl``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from scrapy.exceptions import NotConfigured

from core.items import ArticleItem
from crawler.monitors import COVERAGE_FIELDS
from crawler.records import Rejection

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler


class JsonLinesPipeline:
    """One JSON object per line, flushed per item so a killed crawl keeps what it fetched.

    Both files exist after every run (possibly empty), so the transform step never has to guess
    whether "no file" means "no pages" or "crawl never ran"."""

    def __init__(self, crawler: Crawler, out_dir: Path, run_id: str) -> None:
        self.crawler = crawler
        self.out_dir = out_dir
        self.run_id = run_id
        self._items: IO[str] | None = None
        self._rejections: IO[str] | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        out = crawler.settings.get("NEWSLINE_OUT_DIR")
        if not out:
            raise NotConfigured("no NEWSLINE_OUT_DIR")
        return cls(crawler, Path(out), crawler.settings.get("NEWSLINE_RUN_ID") or "")

    def open_spider(self) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self._items = open(self.out_dir / "items.jsonl", "w", encoding="utf-8")  # noqa: SIM115
        self._rejections = open(self.out_dir / "rejections.jsonl", "w", encoding="utf-8")  # noqa: SIM115

    def close_spider(self) -> None:
        spider = self.crawler.spider
        for rejection in getattr(spider, "dropped", []):  # requests Scrapy dropped (e.g. redirect loops)
            self.process_item(rejection)
        unfinished = getattr(spider, "unfinished", None)
        if callable(unfinished):
            at = datetime.now(UTC).isoformat()
            for url, reason in unfinished():
                self.process_item(Rejection(url=url, kind="failed", reason=reason, at=at))
                self.crawler.stats.inc_value("newsline/not_fetched")
        for fh in (self._items, self._rejections):
            if fh is not None:
                fh.close()
        self._items = self._rejections = None

    def process_item(self, item: Any) -> Any:
        if isinstance(item, ArticleItem):
            item.run_id = item.run_id or self.run_id
            self._write(self._items, item.to_dict())
            self.crawler.stats.inc_value("newsline/items_written")
            for name in COVERAGE_FIELDS:
                if getattr(item, name, None):
                    self.crawler.stats.inc_value(f"newsline/coverage/{name}")
        elif isinstance(item, Rejection):
            item.run_id = item.run_id or self.run_id
            self._write(self._rejections, item.to_dict())
            self.crawler.stats.inc_value(f"newsline/rejections/{item.kind}")
        return item

    @staticmethod
    def _write(fh: IO[str] | None, record: dict[str, Any]) -> None:
        if fh is None:
            return
        fh.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
        fh.flush()
