"""Crawl accounting: ``<out>/crawl.json`` with discovery, fetch and rejection counts of one run."""

from __future__ import annotations

import json
import logging
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import NotConfigured

from crawler.monitors import COVERAGE_FIELDS, DEFAULT_THRESHOLDS, blocked_message, run_monitors
from crawler.parsers.base import REJECT_KINDS

if TYPE_CHECKING:
    from typing import Self

    from scrapy import Spider
    from scrapy.crawler import Crawler

log = logging.getLogger(__name__)

DISCOVERY_SOURCES = ("sitemap", "news_sitemap", "feed", "listing")


class CrawlReport:
    """Writes crawl.json when the spider closes, whatever the reason (finished, budget, shutdown).

    The file is written atomically (temp file + rename) so a reader never sees half a report."""

    def __init__(self, crawler: Crawler, out_dir: Path) -> None:
        self.crawler = crawler
        self.out_dir = out_dir
        self.started_monotonic = 0.0
        self.started_at = ""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        out = crawler.settings.get("NEWSLINE_OUT_DIR")
        if not out:
            raise NotConfigured("no NEWSLINE_OUT_DIR")
        ext = cls(crawler, Path(out))
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_opened(self) -> None:
        self.started_monotonic = time.monotonic()
        self.started_at = datetime.now(UTC).isoformat()

    def spider_closed(self, spider: Spider, reason: str) -> None:
        report = self.build(spider, reason)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.out_dir / ".crawl.json.tmp"
        tmp.write_text(json.dumps(report, indent=2, ensure_ascii=False, sort_keys=True), encoding="utf-8")
        os.replace(tmp, self.out_dir / "crawl.json")
        log.info(
            "crawl %s: discovered %d, fetched %d, items %d, failed %d, blocked %d, rejected %d (%s)",
            report["day"], report["articles_discovered"], report["pages_fetched"], report["items_scraped"],
            report["pages_failed"], report["pages_blocked"], report["pages_rejected"], reason,
        )

    def build(self, spider: Spider, reason: str) -> dict[str, Any]:
        report = self._accounting(spider, reason)
        stats = self.crawler.stats.get_stats()
        coverage = {name: int(stats.get(f"newsline/coverage/{name}", 0) or 0) for name in COVERAGE_FIELDS}
        thresholds = {key: self.crawler.settings.get(key) for key in DEFAULT_THRESHOLDS}
        if report["mode"] == "discover":
            thresholds["NEWSLINE_MONITOR_MIN_ARTICLE_SHARE"] = 0.0  # no article is fetched on purpose
        report["field_coverage"] = coverage
        report["monitors"] = [m.to_dict() for m in run_monitors(report, coverage, thresholds)]
        for m in report["monitors"]:
            if not m["ok"]:
                log.error("monitor %s failed: %s (value %s, threshold %s)", m["name"], m["message"],
                          m["value"], m["threshold"])
        return report

    def _accounting(self, spider: Spider, reason: str) -> dict[str, Any]:
        stats = self.crawler.stats.get_stats()
        settings = self.crawler.settings

        def n(key: str) -> int:
            return int(stats.get(f"newsline/{key}", 0) or 0)

        discovered: dict[str, set[str]] = getattr(spider, "discovered", {})
        by_source = {s: sum(1 for srcs in discovered.values() if s in srcs) for s in DISCOVERY_SOURCES}
        rejected_by_kind = {k: n(f"pages_rejected/{k}") for k in REJECT_KINDS if k != "blocked"}  # blocked: own count
        status_counts = {
            key.rsplit("/", 1)[-1]: int(value)
            for key, value in stats.items()
            if key.startswith("downloader/response_status_count/")
        }
        pages_ok = n("pages_ok")
        blocked = n("pages_blocked")
        threshold = settings.getfloat("NEWSLINE_BLOCKED_THRESHOLD", 0.2)
        share = blocked / pages_ok if pages_ok else 0.0
        blocking = pages_ok > 0 and share > threshold
        day = getattr(spider, "day", None)
        replay = bool(settings.getlist("NEWSLINE_REPLAY_ARCHIVES"))  # crawler.replay: nothing went to the site
        return {
            "site": getattr(spider, "site_key", spider.name),
            "spider": spider.name,
            "day": day.isoformat() if day else None,
            "base_url": getattr(spider, "base_url", None),
            "run_id": settings.get("NEWSLINE_RUN_ID") or None,
            # discover: article URLs planned for shards, none fetched; urls: one shard's URLs fetched;
            # crawl: discovery and fetching (a whole day, or a small one fetched by its discovery run)
            "mode": ("discover" if getattr(spider, "discover_only", False)
                     else "urls" if getattr(spider, "urls_file", "") else "crawl"),
            "started_at": self.started_at,
            "finished_at": datetime.now(UTC).isoformat(),
            "duration_s": round(time.monotonic() - self.started_monotonic, 3),
            "finish_reason": reason,
            "articles_discovered": len(discovered),
            "discovered_by_source": by_source,
            "fallback_used": bool(getattr(spider, "fallback_used", False)),
            "discovery_documents": getattr(spider, "discovery_docs", []),
            "discovery_errors": n("discovery_errors"),
            "sitemap_errors": n("sitemap_errors"),
            # sitemaps over the profile's discovery.max_sitemaps cap (count + the first 20) and
            # spellings of an already followed sitemap that were not requested again
            "sitemaps_skipped": n("sitemaps_skipped"),
            "sitemaps_skipped_sample": list(getattr(spider, "sitemaps_skipped", [])[:20]),
            "sitemaps_duplicate": n("sitemaps_duplicate"),
            "pages_requested": int(getattr(spider, "article_requests", 0)),
            # article pages fetched from the site with a final outcome (failed included); in a replay 0,
            # and ``replayed`` counts the article pages answered from the archives
            "pages_fetched": 0 if replay else n("pages_fetched"),
            "replayed": n("replayed"),
            "pages_ok": pages_ok,
            "pages_failed": n("pages_failed"),
            "pages_blocked": blocked,
            "pages_blocked_retried": n("blocked_retried"),
            "pages_rejected": sum(rejected_by_kind.values()),
            "rejected_by_kind": rejected_by_kind,
            "pages_skipped_unchanged": n("skipped_unchanged"),
            # pages chosen for the comparison with the generic extractor (drift sample, up to drift.max_pages;
            # a page the parser rejects, or whose body the generic extractor gave already, is chosen but not compared)
            "drift_compared": n("drift_compared"),
            "pages_over_budget": n("over_budget"),
            "pages_not_fetched": n("not_fetched"),
            "page_budget": int(getattr(spider, "page_budget", 0)),
            "items_scraped": n("items_scraped"),
            "pages_parsed_in_thread": n("parsed_in_thread"),  # over NEWSLINE_PARSE_THREAD_BYTES
            "early_fetch_rounds": n("early_fetch_rounds"),  # article fetching started while slow docs loaded
            "http_status_counts": dict(sorted(status_counts.items())),
            "requests_total": int(stats.get("downloader/request_count", 0) or 0),
            "retry_count": int(stats.get("retry/count", 0) or 0),
            "retry_after_honoured": n("retry_after_honoured"),
            # our host+port guard, discovery links to other hosts, and Scrapy's own host filter
            "offsite_dropped": n("offsite_dropped") + int(stats.get("offsite/filtered", 0) or 0),
            "offsite_links": n("offsite_links"),
            "duplicates_dropped": n("duplicates_dropped"),
            "warc_records": n("warc_records"),
            "blocked_share": round(share, 4),
            "blocked_threshold": threshold,
            "blocking": blocking,
            "blocking_message": blocked_message(blocked, pages_ok) if blocking else None,
            "discovered_urls": sorted(discovered),
        }


class CrawlProgress:
    """A plain progress line every ``NEWSLINE_PROGRESS_EVERY`` article pages (and every
    ``NEWSLINE_PROGRESS_INTERVAL`` seconds while discovery runs): pages discovered and fetched, the
    rate, and the time left in the budget. The pipeline streams it into its own log live."""

    def __init__(self, crawler: Crawler, every: int, interval: float) -> None:
        self.crawler = crawler
        self.every = every
        self.interval = interval
        self.started = 0.0
        self.fetched = 0
        self._loop: Any = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        every = crawler.settings.getint("NEWSLINE_PROGRESS_EVERY", 25)
        if every <= 0:
            raise NotConfigured("progress lines off")
        ext = cls(crawler, every, crawler.settings.getfloat("NEWSLINE_PROGRESS_INTERVAL", 15.0))
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(ext.response_received, signal=signals.response_received)
        return ext

    def spider_opened(self) -> None:
        self.started = time.monotonic()
        if self.interval > 0:
            from twisted.internet import task

            self._loop = task.LoopingCall(self._tick)
            self._loop.start(self.interval, now=False)

    def spider_closed(self) -> None:
        if self._loop is not None and self._loop.running:
            self._loop.stop()

    def _tick(self) -> None:
        if self.fetched == 0:  # fetching lines take over once articles flow
            self.log_line()

    def response_received(self, response: Any, request: Any) -> None:
        if request.meta.get("article_url") is None:
            return
        self.fetched += 1
        if self.fetched % self.every == 0:
            self.log_line()

    def log_line(self) -> None:
        spider = self.crawler.spider
        elapsed = max(1e-6, time.monotonic() - self.started)
        discovered = len(getattr(spider, "discovered", {}) or {})
        budget = self.crawler.settings.getfloat("CLOSESPIDER_TIMEOUT", 0)
        left = f"{max(0.0, budget - elapsed):.0f} s left of the {budget:.0f} s budget" if budget else "no time budget"
        log.info("progress: %d discovered, %d fetched (%.1f pages/s), %.0f s elapsed, %s",
                 discovered, self.fetched, self.fetched / elapsed, elapsed, left)
