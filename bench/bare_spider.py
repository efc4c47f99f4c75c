"""The baseline of benchmark 2: a bare Scrapy spider that fetches a list of URLs and does nothing
else (no robots.txt, no discovery, no parsing, no WARC, no items), with the same concurrency (kept by the
same downloader) and no delay as the Newsline crawl it is compared with.

``python -m bench.bare_spider URLS_FILE --concurrency N`` prints ``{"fetched": n, "ok": n}`` as JSON
on stdout when the crawl is done.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import scrapy
from scrapy.crawler import CrawlerProcess


class BareSpider(scrapy.Spider):
    name = "bare"

    def __init__(self, urls: list[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.urls = urls
        self.fetched = 0
        self.ok = 0

    async def start(self):  # type: ignore[override]
        for url in self.urls:
            yield scrapy.Request(url, callback=self.parse, dont_filter=True)

    def parse(self, response: scrapy.http.Response) -> None:
        self.fetched += 1
        self.ok += response.status == 200


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("urls_file")
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--user-agent", default="NewslineBench/0.1")
    args = p.parse_args(argv)
    urls = [u for u in Path(args.urls_file).read_text(encoding="utf-8").split() if u]
    process = CrawlerProcess({
        "CONCURRENT_REQUESTS": 16,
        "CONCURRENT_REQUESTS_PER_DOMAIN": args.concurrency,
        # the limit kept as the crawl keeps it: Scrapy's own downloader lets a burst of queued requests
        # past it (crawler/downloader.py), which made the baseline run at up to 16 at "concurrency 8"
        "DOWNLOADER": "crawler.downloader.PoliteDownloader",
        "DOWNLOAD_DELAY": 0,
        "ROBOTSTXT_OBEY": False,
        "COOKIES_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        "HTTPERROR_ALLOW_ALL": True,
        "USER_AGENT": args.user_agent,
        "LOG_LEVEL": "INFO",
    })
    crawler = process.create_crawler(BareSpider)
    process.crawl(crawler, urls=urls)
    process.start()
    spider = crawler.spider
    print(json.dumps({"fetched": spider.fetched, "ok": spider.ok}))
    return 0 if spider.fetched == len(urls) else 1


if __name__ == "__main__":
    raise SystemExit(main())
