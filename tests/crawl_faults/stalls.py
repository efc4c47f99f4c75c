"""A fault no real part produces on demand: the crawler process stalled between taking a request from
its queue and putting it on the wire (a loaded machine that does not run it for a while).

``StallingHandler`` is Scrapy's HTTP/1.1 download handler that blocks the crawler's event loop, as a
stalled process would, before it sends the request numbered ``NEWSLINE_TEST_STALL_AT`` (1 = the first
of the crawl) for ``NEWSLINE_TEST_STALL_SECONDS``. Set it with the Scrapy setting
``DOWNLOAD_HANDLERS = {"http": "tests.crawl_faults.stalls.StallingHandler"}``."""

from __future__ import annotations

import time
from typing import Any

from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler


class StallingHandler(HTTP11DownloadHandler):
    def __init__(self, crawler: Any) -> None:
        super().__init__(crawler)
        self._at = crawler.settings.getint("NEWSLINE_TEST_STALL_AT")
        self._seconds = crawler.settings.getfloat("NEWSLINE_TEST_STALL_SECONDS")
        self._count = 0

    async def download_request(self, request: Any) -> Any:
        self._count += 1
        if self._count == self._at:
            time.sleep(self._seconds)  # blocks the event loop: nothing else of the crawler runs meanwhile
        return await super().download_request(request)
