"""Downloader middlewares: same-site guard, retries with backoff and Retry-After, robots.txt fetched
once, WARC archive."""

from __future__ import annotations

import base64
import json
import logging
import os
import uuid
from datetime import UTC, datetime
from http import HTTPStatus
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.misc import build_from_crawler
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from core.timeutil import retry_after_seconds
from crawler.run import ROBOTS_FILE

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler
    from scrapy.http import Request, Response

log = logging.getLogger(__name__)

_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: str) -> tuple[str, int] | None:
    """(host, port) of a URL, default ports filled in; None when it has no host."""
    try:
        parts = urlsplit(url)
        port = parts.port or _DEFAULT_PORTS.get(parts.scheme)
    except ValueError:
        return None
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname or port is None:
        return None
    return parts.hostname.lower(), port


class SameSiteMiddleware:
    """Drop every request (redirects and ``dont_filter`` ones included) that leaves the site.

    Scrapy's own offsite filter compares host names only, lets ``dont_filter`` requests pass and
    drops the rest at scheduling time without calling the errback (the page then looked "not
    fetched"); it is disabled in settings. This one compares host and port against the spider's
    ``allowed_origins``, has no exception, and raises ``IgnoreRequest`` inside the downloader so the
    request's errback records the page as failed with the reason (``offsite redirect to …``).
    ``localhost``, ``127.1``, ``2130706433`` and ``[::ffff:127.0.0.1]`` are other host names.
    An http↔https switch on the same host is allowed (the live site redirects to https).
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        allowed: set[tuple[str, int]] | None = getattr(self.crawler.spider, "allowed_origins", None)
        if not allowed:
            return None
        origin = origin_of(request.url)
        if origin is None:
            self.crawler.stats.inc_value("newsline/offsite_dropped")
            raise IgnoreRequest(f"offsite or unsupported URL {request.url}")
        host, port = origin
        if origin in allowed or any(h == host and {p, port} <= {80, 443} for h, p in allowed):
            return None
        self.crawler.stats.inc_value("newsline/offsite_dropped")
        if request.meta.get("redirect_urls"):
            raise IgnoreRequest(f"offsite redirect to {request.url} (from {request.meta['redirect_urls'][0]})")
        raise IgnoreRequest(f"offsite URL {request.url}")


def budget_left(crawler: Crawler) -> float | None:
    """Seconds left of the crawl's time budget (``CLOSESPIDER_TIMEOUT``, counted from the spider's
    start); None without a budget."""
    budget = crawler.settings.getfloat("CLOSESPIDER_TIMEOUT", 0)
    if budget <= 0 or crawler.stats is None:
        return None
    started = crawler.stats.get_value("start_time")
    if not isinstance(started, datetime):
        return budget
    if started.tzinfo is None:
        started = started.replace(tzinfo=UTC)
    return budget - (datetime.now(UTC) - started).total_seconds()


class TimeBudgetMiddleware:
    """The time budget bounds the crawl's wall time: no download may outlast what is left of it
    (``download_timeout`` shrinks to the time left), nothing is sent once it is spent, and
    robots.txt (fetched by the spider and by Scrapy's robots middleware, each with retries: a
    slow-loris robots.txt once took 8 × 30 s) is retried at most once."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.default_timeout = crawler.settings.getfloat("DOWNLOAD_TIMEOUT", 180)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if crawler.settings.getfloat("CLOSESPIDER_TIMEOUT", 0) <= 0:
            raise NotConfigured("no time budget")
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        if urlsplit(request.url).path == "/robots.txt":
            request.meta.setdefault("max_retry_times", 1)
        left = budget_left(self.crawler)
        if left is None:
            return None
        if left <= 0.5:
            self.crawler.stats.inc_value("newsline/over_time_budget")
            raise IgnoreRequest("not fetched: the time budget ran out before the request was sent")
        timeout = float(request.meta.get("download_timeout") or self.default_timeout)
        request.meta["download_timeout"] = max(0.5, min(timeout, left))
        return None


class BackoffRetryMiddleware(RetryMiddleware):
    """Scrapy's retry, plus a wait before each retry: Retry-After when the server sends one (429/503),
    else exponential backoff. Waiting happens outside the download slot, so other pages go on."""

    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        self.base = settings.getfloat("NEWSLINE_RETRY_BACKOFF_BASE", 1.0)
        self.cap = settings.getfloat("NEWSLINE_RETRY_BACKOFF_MAX", 60.0)
        self.retry_after_cap = settings.getfloat("NEWSLINE_RETRY_AFTER_MAX", 120.0)

    def backoff(self, attempt: int) -> float:
        return min(self.cap, self.base * (2 ** max(0, attempt - 1)))

    async def process_response(self, request: Request, response: Response) -> Request | Response:  # type: ignore[override]
        if request.meta.get("dont_retry", False) or response.status not in self.retry_http_codes:
            return response
        new = self._retry(request, f"{response.status} {_reason(response.status)}")
        if new is None:
            return response
        wait = retry_after_seconds(response.headers.get(b"Retry-After"))
        asked = wait
        if wait is not None:
            wait = min(wait, self.retry_after_cap)
        else:
            wait = self.backoff(new.meta.get("retry_times", 1))
        left = budget_left(self.crawler)
        if left is not None and wait >= left - 1:
            # waiting would overrun the budget: give up now, say why (the page counts as failed)
            what = f"Retry-After {asked:.0f} s" if asked is not None else f"a {wait:.0f} s backoff"
            request.meta["newsline_failure_note"] = f"{what} exceeds the {max(0.0, left):.0f} s left of the time budget"
            self.crawler.stats.inc_value("newsline/retry_over_budget")
            return response
        if asked is not None:
            self.crawler.stats.inc_value("newsline/retry_after_honoured")
        await self._sleep(wait)
        return new

    async def process_exception(self, request: Request, exception: Exception) -> Request | Response | None:  # type: ignore[override]
        if not isinstance(exception, self.exceptions_to_retry) or request.meta.get("dont_retry", False):
            return None
        new = self._retry(request, exception)
        if new is not None:
            wait = self.backoff(new.meta.get("retry_times", 1))
            left = budget_left(self.crawler)
            if left is not None and wait >= left - 1:
                self.crawler.stats.inc_value("newsline/retry_over_budget")
                return None  # the exception reaches the errback: its own reason
            await self._sleep(wait)
        return new

    @staticmethod
    async def _sleep(seconds: float) -> None:
        if seconds > 0:
            from twisted.internet import reactor as _reactor  # the reactor Scrapy installed, never a default one
            from twisted.internet import task

            await maybe_deferred_to_future(task.deferLater(_reactor, seconds, lambda: None))


class SharedRobotsTxtMiddleware(RobotsTxtMiddleware):
    """Scrapy's robots.txt middleware, fed by the spider's own fetch of robots.txt, or by the copy a
    discovery run saved.

    Discovery fetches robots.txt itself (its ``Sitemap:`` lines are where discovery starts), and Scrapy's
    middleware then fetched the same file again for the next request: two requests for one file at the
    start of every crawl. Here the answer to any request for ``/robots.txt`` (after redirects and
    retries, whatever its status, as Scrapy reads it) becomes the middleware's rules for that host, as
    if the middleware had fetched it, and is saved as ``ROBOTS_FILE`` in the crawl's output folder. A
    crawl given such a file (``NEWSLINE_ROBOTS_FILE``: each shard of a sharded day gets the discovery
    run's) obeys it and does not fetch robots.txt for that host: one fetch a day, whatever the number of
    shards, and every shard obeys the same rules. When neither came first (a fetch that failed, a crawl
    with no robots discovery, an unreadable file), the middleware fetches robots.txt itself, as before."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        out = crawler.settings.get("NEWSLINE_OUT_DIR")
        self._save_to = Path(out) / ROBOTS_FILE if out else None
        given = crawler.settings.get("NEWSLINE_ROBOTS_FILE")
        if given:
            try:
                saved = json.loads(Path(given).read_text(encoding="utf-8"))
                body = base64.b64decode(saved["body"])
                netloc = urlsplit(saved["url"]).netloc
            except (OSError, ValueError, KeyError, TypeError) as exc:
                log.warning("robots.txt copy %s unreadable (%s): fetching robots.txt instead", given, exc)
            else:
                self._parsers[netloc] = build_from_crawler(self._parserimpl, crawler, body)
                self._stats.inc_value("robotstxt/from_file")

    def process_response(self, request: Request, response: Response, spider: Any = None) -> Response:
        url = (request.meta.get("redirect_urls") or [request.url])[0]
        origin = urlsplit(url)
        if origin.path == "/robots.txt" and origin.netloc not in self._parsers:
            self._parsers[origin.netloc] = build_from_crawler(self._parserimpl, self.crawler, response.body)
            self._stats.inc_value("robotstxt/response_count")
            self._stats.inc_value(f"robotstxt/response_status_count/{response.status}")
            if self._save_to is not None:
                self._save_to.parent.mkdir(parents=True, exist_ok=True)
                tmp = self._save_to.with_name(f".{ROBOTS_FILE}.tmp")
                tmp.write_text(json.dumps({"url": url, "status": response.status,
                                           "body": base64.b64encode(response.body).decode("ascii")}),
                               encoding="utf-8")
                os.replace(tmp, self._save_to)
        return response


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


#: Request meta key: the instant the response was archived (ISO UTC, microseconds). The spider stamps
#: items with it and the WARC-Date carries the same instant, so a replay reproduces ``fetched_at``.
FETCHED_AT_META = "newsline_fetched_at"


def warc_date(when: datetime) -> str:
    """WARC 1.1 date with microseconds (fractional seconds are allowed since 1.1)."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class WarcArchiveMiddleware:
    """Every request/response pair as it crossed the wire (before decompression) into
    ``<out>/archive.warc.gz``, so a crawl can be replayed and re-parsed without the site."""

    def __init__(self, crawler: Crawler, path: Path) -> None:
        self.crawler = crawler
        self.path = path
        self._fh: Any = None
        self._writer: WARCWriter | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        out = crawler.settings.get("NEWSLINE_OUT_DIR")
        if not out:
            raise NotConfigured("no NEWSLINE_OUT_DIR")
        mw = cls(crawler, Path(out) / "archive.warc.gz")
        crawler.signals.connect(mw.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(mw.spider_closed, signal=signals.spider_closed)
        return mw

    def spider_opened(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(self.path, "wb")  # noqa: SIM115 - closed in spider_closed
        self._writer = WARCWriter(self._fh, gzip=True, warc_version="1.1")
        info = {
            "software": "newsline crawler (Scrapy)",
            "format": "WARC File Format 1.1",
            "run-id": self.crawler.settings.get("NEWSLINE_RUN_ID", ""),
            "http-header-user-agent": self.crawler.settings.get("USER_AGENT", ""),
            "robots": "obey" if self.crawler.settings.getbool("ROBOTSTXT_OBEY") else "ignore",
        }
        self._writer.write_record(self._writer.create_warcinfo_record(self.path.name, info))

    def spider_closed(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
            self._writer = None

    def process_response(self, request: Request, response: Response) -> Response:
        now = datetime.now(UTC)
        request.meta[FETCHED_AT_META] = now.isoformat()
        if self._writer is not None:
            try:
                self._write_pair(request, response, now)
            except Exception:  # noqa: BLE001 - archiving must never lose the page itself
                log.exception("could not archive %s", response.url)
                self.crawler.stats.inc_value("newsline/warc_errors")
        return response

    def _write_pair(self, request: Request, response: Response, now: datetime) -> None:
        assert self._writer is not None
        date = warc_date(now)
        parts = urlsplit(request.url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        req_headers = [("Host", parts.netloc)] + _header_list(request.headers)
        req_record = self._writer.create_warc_record(
            request.url,
            "request",
            payload=BytesIO(request.body or b""),
            http_headers=StatusAndHeaders(f"{request.method} {target} HTTP/1.1", req_headers, is_http_request=True),
            warc_headers_dict={"WARC-Date": date},
        )
        body = response.body or b""
        resp_headers = [
            (k, v) for k, v in _header_list(response.headers)
            if k.lower() not in ("transfer-encoding", "content-length")
        ] + [("Content-Length", str(len(body)))]
        protocol = getattr(response, "protocol", None) or "HTTP/1.1"
        resp_record = self._writer.create_warc_record(
            response.url,
            "response",
            payload=BytesIO(body),
            http_headers=StatusAndHeaders(f"{response.status} {_reason(response.status)}", resp_headers,
                                          protocol=protocol),
            warc_headers_dict={"WARC-Date": date, "WARC-Record-ID": f"<urn:uuid:{uuid.uuid4()}>"},
        )
        req_record.rec_headers.add_header("WARC-Concurrent-To", resp_record.rec_headers.get_header("WARC-Record-ID"))
        self._writer.write_record(resp_record)
        self._writer.write_record(req_record)
        self.crawler.stats.inc_value("newsline/warc_records", 2)


def _header_list(headers: Any) -> list[tuple[str, str]]:
    out = []
    for key, values in headers.items():
        name = key.decode("latin-1") if isinstance(key, bytes) else str(key)
        for value in values:
            out.append((name, value.decode("latin-1") if isinstance(value, bytes) else str(value)))
    return out
