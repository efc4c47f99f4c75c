"""One spider for every site: discover one local day's articles of a site profile and fetch them.

Discovery, all declared in the profile (``sites/<key>.yaml``): robots.txt ``Sitemap:`` lines (or the
profile's root sitemaps) → sitemap indexes → the day's monthly sitemap (``month_sitemap``), news
sitemaps and other followed sitemaps → article URLs published on the day (URL date, publication date)
or modified in the day's window (``<lastmod>``). When no sitemap of the day can be read (or the
profile has none), the profile's feeds and paginated listings take over. Pages go through the
site's pure parser (``crawler.parsers.parser_for``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import scrapy
from scrapy import signals
from scrapy.exceptions import DontCloseSpider, IgnoreRequest
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.python.failure import Failure

from core.sites import get_site
from core.timeutil import day_window, parse_day
from crawler.discovery import (
    DiscoveryError,
    SitemapEntry,
    article_url_info,
    canonicalize_url,
    is_followed_sitemap,
    is_news_sitemap,
    listing_links,
    month_sitemap_names,
    month_sitemap_of,
    next_listing_link,
    parse_feed,
    parse_w3c_datetime,
    read_sitemap,
    robots_sitemaps,
    safe_join,
)
from crawler.known import MAGIC as KNOWN_MAGIC
from crawler.known import KnownIndex
from crawler.middlewares import FETCHED_AT_META, origin_of
from crawler.parsers import PageRejected, parser_for
from crawler.parsers.base import charset_of
from crawler.records import Rejection

log = logging.getLogger(__name__)

FALLBACK_MODES = ("auto", "always", "never")
#: An empty/challenge page is retried this many times before it counts as blocked.
BLOCKED_RETRIES = 1
#: Article requests handed to the scheduler at a time; more follow as pages get an outcome.
ARTICLE_BATCH = 64


def url_key(url: str) -> int:
    """A 64-bit digest of a URL: what the per-URL sets hold instead of the URL itself (≈ 60 bytes
    a URL instead of ≈ 150; a collision among a million URLs has odds of about 1 in 30 million)."""
    return int.from_bytes(hashlib.blake2b(url.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little")


#: One shared frozenset per combination of discovery sources, so a candidate costs no set of its own.
_SOURCE_SETS: dict[frozenset[str], frozenset[str]] = {}


def _sources(current: frozenset[str], source: str) -> frozenset[str]:
    if source in current:
        return current
    combined = current | {source}
    return _SOURCE_SETS.setdefault(combined, combined)


def validate_base_url(value: str) -> str:
    """An http(s) URL with a host, normalised to end in "/"; ValueError otherwise."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"base_url must be an http(s) URL with a host, got {value!r}")
    if parts.query or parts.fragment:
        raise ValueError(f"base_url must not carry a query or fragment, got {value!r}")
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    return f"{parts.scheme}://{parts.netloc}{path}"


def load_known_index(path: str | None) -> KnownIndex:
    """The stored articles' modification times, keyed by article_id and by URL.

    Reads the pipeline's compact file (``crawler.known``) and, for hand-written or older files, JSON:
    ``{url or article_id: modified_at ISO}`` or the warehouse's richer ``{article_id: {"url": ...,
    "modified_at": ISO, ...}}``. Unreadable → empty (a full crawl, which is safe)."""
    if not path:
        return KnownIndex()
    try:
        data = Path(path).read_bytes()
        if data.startswith(KNOWN_MAGIC):
            return KnownIndex.from_bytes(data)
        raw = json.loads(data)
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable known index %s: %s", path, exc)
        return KnownIndex()
    if not isinstance(raw, dict):
        log.warning("ignoring known index %s: not a JSON object", path)
        return KnownIndex()
    known: dict[str, datetime] = {}
    for key, value in raw.items():
        url = None
        if isinstance(value, dict):
            url = value.get("url") if isinstance(value.get("url"), str) else None
            value = value.get("modified_at")
        when = parse_w3c_datetime(value) if isinstance(value, str) else None
        if when is None:
            continue
        known[str(key)] = when
        if url:
            known[url] = when
    return KnownIndex.from_mapping(known)


class NewsSpider(scrapy.Spider):
    """``scrapy crawl news -a site=KEY -a date=YYYY-MM-DD [-a base_url=URL]``."""

    name = "news"

    def __init__(
        self,
        site: str | None = None,
        date: str | None = None,
        base_url: str | None = None,
        known_index: str | None = None,
        page_budget: str | int | None = None,
        fallback: str | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if not site:
            raise ValueError("the news spider needs -a site=KEY (a profile in sites/)")
        if not date:
            raise ValueError("the news spider needs -a date=YYYY-MM-DD")
        self.site = get_site(site) if isinstance(site, str) else site
        self.site_key = self.site.key
        self.day = parse_day(date)
        self.base_url = validate_base_url(base_url or self.site.base_url)
        fallback = fallback or self.site.discovery.fallback
        if fallback not in FALLBACK_MODES:
            raise ValueError(f"fallback must be one of {FALLBACK_MODES}, got {fallback!r}")
        self.fallback_mode = fallback
        self.window_start, self.window_end = day_window(self.day, self.site.timezone)
        origin = origin_of(self.base_url)
        assert origin is not None
        self.allowed_origins: set[tuple[str, int]] = {origin}
        self.allowed_domains = [origin[0]]
        self.parse_page = parser_for(self.site)
        self._known_index_arg = known_index
        self._page_budget_arg = page_budget
        self.known = KnownIndex()
        self.page_budget = 0

        # Per-URL state is compact: one dict entry per candidate (its sources a shared frozenset),
        # 64-bit digests for every other per-URL set, article requests built a batch at a time.
        self.discovered: dict[str, frozenset[str]] = {}  # candidate URL (canonical) → sources that listed it
        self._spellings: set[int] = set()  # digests of every spelling of a candidate seen (tracking params)
        self.discovery_docs: list[dict[str, Any]] = []  # every discovery document and its outcome
        self._followed_docs: set[str] = set()
        self._followed_sitemaps: set[str] = set()
        self.sitemap_ok = False  # the day's sitemap (monthly one, or any article sitemap) was read
        self.sitemaps_skipped: list[str] = []  # over the profile's max_sitemaps cap
        self.fallback_used = False
        self.lastmods: dict[str, datetime] = {}  # latest <lastmod> seen per candidate that had one
        self._handled: set[int] = set()  # digests of candidates already requested or skipped
        self._done: set[int] = set()  # digests of candidates with an outcome (item, rejection, 304)
        self._outcomes = 0  # article requests settled (an outcome, or refused over the time budget)
        self._article_feed: Iterator[scrapy.Request] | None = None  # the next article requests, URL order
        self._feed_version = -1  # self._candidates when the feed was built
        self._candidates = 0  # candidates added so far
        self._feeding = False  # article fetching has begun: outcomes top the scheduler up
        self.skipped_unchanged: list[str] = []
        self.article_requests = 0
        self.over_budget: list[str] = []
        # Set by start(): ``scrapy parse`` replaces start() and fetches one page only, so the idle
        # handler must not begin a discovery of its own then.
        self.discovery_started = False
        #: Rejections of requests Scrapy dropped without an errback (duplicate filter: redirect loops),
        #: written by the pipeline when the spider closes.
        self.dropped: list[Rejection] = []
        #: Discovery documents requested and not answered yet (URL as requested → monotonic time).
        self._docs_pending: dict[str, float] = {}
        self._slow_check: Any = None
        self.early_fetch_rounds = 0
        self.discovery_patience = 5.0
        self.parse_thread_bytes = 512 * 1024
        # Sharded crawls (crawler.run --discover-only / --urls): discovery alone, writing the article
        # URLs it would fetch into ``planned``; or the fetching of a given URL list, with no discovery.
        self.discover_only = False
        self.planned: list[dict[str, Any]] = []
        self.urls_file = ""
        #: With ``discover_only``: when discovery plans at most this many article URLs (one shard's
        #: worth), fetch them here instead (one crawler process for a small day, not two).
        self.fetch_at_most: int | None = None

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> NewsSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        settings = crawler.settings
        spider.known = load_known_index(spider._known_index_arg or settings.get("NEWSLINE_KNOWN_INDEX"))
        budget = spider._page_budget_arg or settings.getint("NEWSLINE_PAGE_BUDGET", 0)
        spider.page_budget = int(budget or 0)
        crawler.signals.connect(spider.on_idle, signal=signals.spider_idle)
        crawler.signals.connect(spider.on_request_dropped, signal=signals.request_dropped)
        crawler.signals.connect(spider.on_response, signal=signals.response_received)
        crawler.signals.connect(spider.on_closed, signal=signals.spider_closed)
        spider.discovery_patience = settings.getfloat("NEWSLINE_DISCOVERY_PATIENCE", 5.0)
        spider.parse_thread_bytes = settings.getint("NEWSLINE_PARSE_THREAD_BYTES", 512 * 1024)
        spider.discover_only = settings.getbool("NEWSLINE_DISCOVER_ONLY", False)
        spider.urls_file = settings.get("NEWSLINE_URLS_FILE") or ""
        at_most = settings.get("NEWSLINE_FETCH_AT_MOST")
        spider.fetch_at_most = None if at_most in (None, "") else int(at_most)
        return spider

    # --- accounting helpers ---------------------------------------------------------------------

    def _inc(self, key: str, count: int = 1) -> None:
        self.crawler.stats.inc_value(f"newsline/{key}", count)

    def _doc(self, url: str, source: str, outcome: str, detail: str = "") -> None:
        self.discovery_docs.append({"url": url, "source": source, "outcome": outcome, "detail": detail})
        if outcome == "error":
            self._inc("discovery_errors")
            log.warning("discovery %s %s: %s", source, url, detail)

    def _now(self) -> str:
        return datetime.now(UTC).isoformat()

    def _on_site(self, url: str) -> bool:
        origin = origin_of(url)
        return origin is not None and origin in self.allowed_origins

    def _discovery_request(self, url: str, callback: Any, source: str, **meta: Any) -> scrapy.Request | None:
        if url in self._followed_docs:
            return None
        if not self._on_site(url):
            self._doc(url, source, "skipped", "offsite")
            return None
        if source in ("sitemap", "news_sitemap"):
            key = self._sitemap_key(url)
            if key in self._followed_sitemaps:
                self._inc("sitemaps_duplicate")  # the same sitemap under another spelling
                return None
            if len(self._followed_sitemaps) >= self.site.discovery.max_sitemaps:
                # counted and sampled in crawl.json (``sitemaps_skipped``), not one document entry each
                self.sitemaps_skipped.append(url)
                self._inc("sitemaps_skipped")
                return None
            self._followed_sitemaps.add(key)
        self._followed_docs.add(url)
        self._docs_pending[url] = time.monotonic()
        return scrapy.Request(
            url,
            callback=callback,
            errback=self.discovery_failed,
            dont_filter=True,
            priority=10,
            meta={"source": source, "doc_url": url, **meta},
        )

    # --- slow discovery documents ---------------------------------------------------------------

    def on_response(self, response: Response, request: scrapy.Request) -> None:
        doc = request.meta.get("doc_url")
        if doc is not None:
            self._docs_pending.pop(doc, None)

    def on_closed(self) -> None:
        if self._slow_check is not None and self._slow_check.running:
            self._slow_check.stop()
        if self.article_requests:
            log.info("article requests: %d, at most %d waiting at once (handed out %d at a time)",
                     self.article_requests, self.crawler.stats.get_value("newsline/article_queue_peak", 0),
                     ARTICLE_BATCH)

    def _start_slow_check(self) -> None:
        if self._slow_check is None and self.discovery_patience > 0:
            from twisted.internet import task

            self._slow_check = task.LoopingCall(self._fetch_while_discovery_is_slow)
            self._slow_check.start(1.0, now=False)

    def _fetch_while_discovery_is_slow(self) -> None:
        """Article fetching does not wait on a slow discovery document: once every document still
        loading has taken longer than ``NEWSLINE_DISCOVERY_PATIENCE`` seconds (a news sitemap at
        1 byte/s, a stalled feed), the candidates found so far are fetched; later finds follow.
        (Their incremental check then uses the ``lastmod`` known at that moment.)"""
        if not self._docs_pending or self.crawler.engine is None:
            return
        now = time.monotonic()
        if min(now - t for t in self._docs_pending.values()) < self.discovery_patience:
            return
        unhandled = len(self.discovered) - len(self._handled)
        room = ARTICLE_BATCH - (self.article_requests - self._outcomes)  # a batch waiting at most
        if unhandled <= 0 or room <= 0 or self._feed_articles(room) == 0:
            return
        self.early_fetch_rounds += 1
        self._inc("early_fetch_rounds")
        log.info("discovery: %d slow document(s) still loading (%s); fetching the %d candidate(s) found so far",
                 len(self._docs_pending), ", ".join(sorted(self._docs_pending)[:3]), unhandled)

    def _sitemap_key(self, url: str) -> str:
        """Identity of a sitemap for de-duplication: a monthly or news sitemap is named by its path
        (a query string on it is cache-busting: 3,000 ``?v=N`` spellings are one document); any other
        by its canonical URL (tracking parameters dropped, a ``?page=2`` kept)."""
        if month_sitemap_of(url, self.site) is not None or is_news_sitemap(url, self.site):
            parts = urlsplit(url)
            return f"{parts.scheme.lower()}://{parts.netloc.lower()}{parts.path}"
        return canonicalize_url(url)

    # --- start: robots.txt ----------------------------------------------------------------------

    async def start(self) -> AsyncIterator[scrapy.Request]:
        """robots.txt first: its Sitemap lines say where discovery begins."""
        self.discovery_started = True
        if self.urls_file:
            for req in self._given_urls():
                yield req
            return
        self._start_slow_check()
        if self.site.discovery.robots:
            self._docs_pending[urljoin(self.base_url, "robots.txt")] = time.monotonic()
        if not self.site.discovery.robots:
            for req in self._start_sitemaps([]):
                yield req
            return
        yield scrapy.Request(
            urljoin(self.base_url, "robots.txt"),
            callback=self.parse_robots,
            errback=self.robots_failed,
            dont_filter=True,
            priority=20,
            meta={"source": "robots", "dont_obey_robotstxt": True, "doc_url": urljoin(self.base_url, "robots.txt")},
        )

    def parse_robots(self, response: Response) -> Iterator[scrapy.Request]:
        sitemaps: list[str] = []
        if response.status == 200:
            text = response.body.decode("utf-8", errors="replace")
            sitemaps = [u for u in robots_sitemaps(text, response.url) if self._on_site(u)]
            self._doc(response.url, "robots", "ok", f"{len(sitemaps)} sitemap line(s)")
        else:
            self._doc(response.url, "robots", "missing" if response.status == 404 else "error",
                      f"HTTP {response.status}")
        yield from self._start_sitemaps(sitemaps)

    def robots_failed(self, failure: Failure) -> Iterator[scrapy.Request]:
        self._docs_pending.pop(failure.request.meta.get("doc_url", ""), None)
        self._doc(failure.request.url, "robots", "error", _failure_text(failure))
        yield from self._start_sitemaps([])

    def _has_sitemaps(self) -> bool:
        d = self.site.discovery
        return bool(d.sitemaps or d.month_sitemap or d.robots)

    def _start_sitemaps(self, sitemaps: list[str]) -> Iterator[scrapy.Request]:
        if not sitemaps:
            sitemaps = [urljoin(self.base_url, s) for s in self.site.discovery.sitemaps]
        for url in sitemaps:
            source = "news_sitemap" if is_news_sitemap(url, self.site) else "sitemap"
            req = self._discovery_request(url, self.parse_sitemap, source, sitemap_depth=0)
            if req is not None:
                yield req
        if self.fallback_mode == "always" or (not sitemaps and self.fallback_mode == "auto"):
            yield from self._start_fallback()

    # --- sitemaps -------------------------------------------------------------------------------

    def parse_sitemap(self, response: Response) -> Iterator[Any]:
        source = response.meta["source"]
        if response.status != 200:
            outcome = "missing" if response.meta.get("guessed") and response.status == 404 else "error"
            self._doc(response.url, source, outcome, f"HTTP {response.status}")
            yield from self._after_index_failure(response.meta)
            return
        # Streamed: one entry at a time, the day's few kept aside and added once the whole document
        # has been read (a document broken half-way adds nothing, as before).
        read = 0
        kept: list[SitemapEntry] = []
        try:
            kind, entries = read_sitemap(response.body, self.site.timezone)
            if kind == "index":
                children = list(entries)
            else:
                for entry in entries:
                    read += 1
                    if self._for_the_day(entry):
                        kept.append(entry)
        except DiscoveryError as exc:
            self._inc("sitemap_errors")
            self._doc(response.url, source, "error", str(exc))
            yield from self._after_index_failure(response.meta)
            return
        if kind == "index":
            self._doc(response.url, source, "ok", f"index of {len(children)}")
            yield from self._follow_index(children, response.meta.get("sitemap_depth", 0))
            return
        month = month_sitemap_of(response.url, self.site)
        if month == (self.day.year, self.day.month):
            self.sitemap_ok = True
        elif not self.site.discovery.month_sitemap and source == "sitemap":
            self.sitemap_ok = True  # no monthly sitemaps on this site: any article sitemap read counts
        for entry in kept:
            self._add_candidate(entry.loc.strip(), source, entry.lastmod)
        self._inc("sitemap_urls_read", read)
        self._doc(response.url, source, "ok", f"{read} urls, {len(kept)} for the day")

    def _follow_index(self, entries: list[SitemapEntry], depth: int) -> Iterator[scrapy.Request]:
        """Children worth reading for the day: its month, older months modified since the day began
        (updates to older stories), news sitemaps, and the profile's ``follow`` patterns (one level
        of nested indexes). Other children (taxonomies, pages) hold no articles."""
        target = (self.day.year, self.day.month)
        month_listed = False
        for entry in entries:
            loc = entry.loc
            if is_news_sitemap(loc, self.site):
                req = self._discovery_request(loc, self.parse_sitemap, "news_sitemap", sitemap_depth=depth + 1)
            elif (month := month_sitemap_of(loc, self.site)) is not None:
                if month == target:
                    month_listed = True
                elif month > target or (entry.lastmod is not None and entry.lastmod < self.window_start):
                    continue
                req = self._discovery_request(loc, self.parse_sitemap, "sitemap", sitemap_depth=depth + 1)
            elif depth < 2 and is_followed_sitemap(loc, self.site):
                if entry.lastmod is not None and entry.lastmod < self.window_start:
                    continue  # nothing in it changed since the day began
                req = self._discovery_request(loc, self.parse_sitemap, "sitemap", sitemap_depth=depth + 1)
            else:
                continue
            if req is not None:
                yield req
        if not month_listed:
            yield from self._guess_month_sitemaps(depth + 1)

    def _guess_month_sitemaps(self, depth: int) -> Iterator[scrapy.Request]:
        """The month's sitemap under the profile's names, when no index listed it."""
        for name in month_sitemap_names(self.day, self.site):
            req = self._discovery_request(urljoin(self.base_url, name), self.parse_sitemap, "sitemap",
                                          sitemap_depth=depth, guessed=True)
            if req is not None:
                yield req

    def _after_index_failure(self, meta: dict[str, Any]) -> Iterator[scrapy.Request]:
        """A root sitemap (from robots.txt) that failed may have been the index: go straight to the
        month's sitemap before falling back to feeds and listings."""
        if meta.get("sitemap_depth", 0) == 0 and meta.get("source") == "sitemap":
            yield from self._guess_month_sitemaps(1)

    def _in_window(self, when: datetime | None) -> bool:
        return when is not None and self.window_start <= when < self.window_end

    def _consider(self, entry: SitemapEntry, source: str) -> bool:
        """Add an entry of the day (``_for_the_day``) as a candidate."""
        if not self._for_the_day(entry):
            return False
        self._add_candidate(entry.loc.strip(), source, entry.lastmod)
        return True

    def _for_the_day(self, entry: SitemapEntry) -> bool:
        """An entry published on the day (URL date or listed publication time) or modified within the
        day's window. An entry with no date at all (a feed or listing without dates) is kept: the
        warehouse files it under its own publication day."""
        url = entry.loc.strip()
        info = article_url_info(url, self.site)
        if info is None:
            return False
        if not self._on_site(url):
            self._inc("offsite_links")
            self._inc("offsite_dropped")
            return False
        url_day, _ = info
        if url_day is not None and url_day > self.day:
            return False
        undated = url_day is None and entry.lastmod is None and entry.published is None
        return (url_day == self.day or undated or self._in_window(entry.lastmod)
                or self._in_window(entry.published))

    # --- fallbacks: feeds and listing pages -----------------------------------------------------

    def on_idle(self) -> None:
        """Discovery first, fetching second: when the discovery documents are all read, either fall
        back to feeds and listings (the day's sitemap unreadable) or fetch the candidates. Waiting for
        the whole discovery means every URL's latest ``lastmod`` is known before the incremental check."""
        if not self.discovery_started:
            return  # ``scrapy parse URL``: one page, no discovery
        requests: list[scrapy.Request] = []
        if not self.fallback_used and self.fallback_mode != "never" and not self.sitemap_ok:
            requests = list(self._start_fallback())
            if requests and self._has_sitemaps():
                log.warning("no sitemap of %s could be read for %s; falling back to feeds and listing pages",
                            self.site_key, self.day.isoformat())
        for req in requests:
            self.crawler.engine.crawl(req)
        if requests or self._feed_articles(ARTICLE_BATCH):
            raise DontCloseSpider("more work scheduled")
        if self._fetch_planned_here() and self._feed_articles(ARTICLE_BATCH):
            raise DontCloseSpider("fetching the planned articles")

    def _fetch_planned_here(self) -> bool:
        """Discovery is over: with ``fetch_at_most`` and no more planned URLs than that, this process
        fetches them itself (what a crawl of the day does: same order, budget and incremental checks),
        so a day of one shard costs one crawler process. The plan stays in ``planned`` as a record."""
        if not self.discover_only or self.fetch_at_most is None or len(self.planned) > self.fetch_at_most:
            return False
        self.discover_only = False
        for entry in self.planned:
            key = url_key(entry["url"])
            self._handled.discard(key)  # handled again by _article_requests, this time as requests
            self._done.discard(key)
        self.article_requests -= len(self.planned)
        self._feed_version, self._article_feed = -1, None
        log.info("discovery planned %d article(s), at most %d: fetching them in this process",
                 len(self.planned), self.fetch_at_most)
        return bool(self.planned)

    def _start_fallback(self) -> Iterator[scrapy.Request]:
        if self.fallback_used:
            return
        self.fallback_used = True
        self._inc("fallback_used")
        for feed in self.site.discovery.feeds:
            req = self._discovery_request(urljoin(self.base_url, feed), self.parse_feed, "feed")
            if req is not None:
                yield req
        for index, listing in enumerate(self.site.discovery.listings):
            req = self._discovery_request(urljoin(self.base_url, listing.url), self.parse_listing, "listing",
                                          page=1, listing=index)
            if req is not None:
                yield req

    def parse_feed(self, response: Response) -> Iterator[Any]:
        if response.status != 200:
            self._doc(response.url, "feed", "error", f"HTTP {response.status}")
            return
        try:
            entries = parse_feed(response.body, self.site.timezone)
        except DiscoveryError as exc:
            self._inc("feed_errors")
            self._doc(response.url, "feed", "error", str(exc))
            return
        kept = 0
        for entry in entries:
            link = safe_join(response.url, entry.loc)
            if link is not None:
                kept += self._consider(SitemapEntry(loc=link, published=entry.published), "feed")
        self._doc(response.url, "feed", "ok", f"{len(entries)} items, {kept} for the day")
        return iter(())

    def parse_listing(self, response: Response) -> Iterator[Any]:
        page = int(response.meta.get("page", 1))
        listing = self.site.discovery.listings[int(response.meta.get("listing", 0))]
        if response.status != 200:
            self._doc(response.url, "listing", "error" if page == 1 else "end", f"HTTP {response.status}")
            return
        text = response.body.decode(getattr(response, "encoding", None) or "utf-8", errors="replace")
        days: list[date] = []
        articles = 0
        new = 0
        for link in listing_links(text, response.url, listing.links):
            info = article_url_info(link, self.site)
            if info is None or not self._on_site(link):
                continue
            articles += 1
            if info[0] is not None:
                days.append(info[0])
                if info[0] != self.day:
                    continue
            new += canonicalize_url(link) not in self.discovered
            self._add_candidate(link, "listing", None)
        self._doc(response.url, "listing", "ok", f"page {page}: {articles} article links")
        # Newest first: stop once a page reaches days before the target; undated listings stop
        # when a page adds nothing new.
        more = (min(days) >= self.day) if days else new > 0
        if not articles or not more or page >= listing.max_pages:
            return
        if listing.next:
            next_url = urljoin(self.base_url, listing.next.format(page=page + 1))
        elif listing.next_css:
            next_url = next_listing_link(text, response.url, listing.next_css)
        else:
            next_url = None
        if next_url:
            req = self._discovery_request(next_url, self.parse_listing, "listing", page=page + 1,
                                          listing=response.meta.get("listing", 0))
            if req is not None:
                yield req

    # --- articles -------------------------------------------------------------------------------

    def _known_modified(self, url: str) -> datetime | None:
        info = article_url_info(url, self.site)
        keys = [url]
        if info is not None and info[1] is not None:
            keys.append(f"{self.site_key}:{info[1]}")
        for key in keys:
            if key in self.known:
                return self.known[key]
        return None

    def _add_candidate(self, url: str, source: str, lastmod: datetime | None) -> None:
        raw = url
        url = canonicalize_url(url)
        spelling = url_key(raw)
        sources = self.discovered.get(url)
        if spelling not in self._spellings:
            self._spellings.add(spelling)
            if sources is not None:
                self._inc("duplicates_dropped")  # another spelling of a candidate (tracking parameters)
        if sources is None:
            self._candidates += 1
            sources = frozenset()
        self.discovered[url] = _sources(sources, source)
        if lastmod is not None:
            current = self.lastmods.get(url)
            if current is None or lastmod > current:
                self.lastmods[url] = lastmod

    def _mark_done(self, url: str) -> None:
        """``url`` has its outcome; top the scheduler up with the next article requests."""
        key = url_key(url)
        if key in self._done:
            return
        self._done.add(key)
        self._settled()

    def _settled(self) -> None:
        """One more article request is over: keep about ``ARTICLE_BATCH`` of them in the scheduler."""
        self._outcomes += 1
        if self._feeding and self.article_requests - self._outcomes < ARTICLE_BATCH // 2:
            self._feed_articles(ARTICLE_BATCH // 2)

    def _feed_articles(self, limit: int) -> int:
        """Hand up to ``limit`` more article requests (URL order) to the scheduler; how many it got.
        Requests are built only as the crawl can take them, not all at once after discovery."""
        if self.crawler.engine is None:
            return 0
        self._feeding = True
        scheduled = 0
        while scheduled < limit:
            if self._article_feed is None:
                if self._feed_version == self._candidates:
                    break  # every candidate known so far is already handled
                self._feed_version = self._candidates
                self._article_feed = self._article_requests()
            req = next(self._article_feed, None)
            if req is None:
                self._article_feed = None
                continue
            self.crawler.engine.crawl(req)
            scheduled += 1
        if scheduled:
            self.crawler.stats.max_value("newsline/article_queue_peak", self.article_requests - self._outcomes)
        return scheduled

    def _article_requests(self) -> Iterator[scrapy.Request]:
        """Requests for candidates not handled yet: unchanged ones skipped, the budget applied in
        URL order so two runs of the same day fetch the same pages."""
        for url in sorted(self.discovered):
            key = url_key(url)
            if key in self._handled:
                continue
            self._handled.add(key)
            lastmod = self.lastmods.get(url)
            known = self._known_modified(url)
            headers: dict[str, str] = {}
            if known is not None:
                # article:modified_time is minute-precise while <lastmod> has seconds: compare minutes
                if lastmod is not None and _minute(lastmod) <= _minute(known):
                    self.skipped_unchanged.append(url)
                    self._inc("skipped_unchanged")
                    continue
                if lastmod is None:
                    headers["If-Modified-Since"] = format_datetime(known.astimezone(UTC), usegmt=True)
            if self.page_budget and self.article_requests >= self.page_budget:
                self.over_budget.append(url)
                self._inc("over_budget")
                continue
            self.article_requests += 1
            if self.discover_only:
                self._done.add(url_key(url))  # planned, not fetched here: no scheduler to top up
                self.planned.append({"url": url, "lastmod": lastmod.isoformat() if lastmod else None,
                                     "known": known.isoformat() if known else None,
                                     "sources": sorted(self.discovered.get(url, ()))})
                continue
            yield scrapy.Request(
                url,
                callback=self.parse_article,
                errback=self.article_failed,
                headers=headers or None,
                meta={"article_url": url, "lastmod": lastmod.isoformat() if lastmod else None},
            )

    def _given_urls(self) -> Iterator[scrapy.Request]:
        """URL-list mode: the article URLs of one shard (lines written by a discover-only run), fetched
        as discovery would have fetched them (same lastmod, same incremental check), no discovery."""
        self.fallback_mode = "never"
        self.sitemap_ok = True
        for line in Path(self.urls_file).read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            entry = json.loads(line)
            url = entry["url"]
            sources = self.discovered.get(url, frozenset())
            for source in entry.get("sources") or ():
                sources = _sources(sources, source)
            self.discovered[url] = sources
            lastmod = parse_w3c_datetime(entry["lastmod"]) if entry.get("lastmod") else None
            if lastmod is not None:
                self.lastmods[url] = lastmod
            known = parse_w3c_datetime(entry["known"]) if entry.get("known") else None
            if known is not None:
                self.known[url] = known
        yield from self._article_requests()

    def unfinished(self) -> list[tuple[str, str]]:
        """Discovered pages that never got an outcome, with why: the pipeline records them as
        rejections so no discovered article disappears silently."""
        out = [(u, "not fetched: page budget exhausted") for u in self.over_budget]
        skipped = {url_key(u) for u in (*self.skipped_unchanged, *self.over_budget)} | self._done
        out += [(u, "not fetched: the crawl stopped first (time budget or shutdown)")
                for u in sorted(self.discovered) if url_key(u) not in skipped]
        return out

    def _drift_sample(self, url: str) -> bool:
        """Whether this page is compared with the generic extractor: in the profile's URL-hash sample,
        while fewer than ``drift.max_pages`` pages were (counted in ``newsline/drift_compared``)."""
        from crawler.parsers.drift import sampled

        rule = self.site.drift
        if self.crawler.stats.get_value("newsline/drift_compared", 0) >= rule.max_pages or not sampled(url, rule.sample):
            return False
        self._inc("drift_compared")
        return True

    async def _parsed(self, response: Response) -> Any:
        """The page through the site's parser; pages over ``NEWSLINE_PARSE_THREAD_BYTES`` are parsed in
        the reactor's thread pool (lxml releases the GIL while parsing) so a 10 MB page (≈2 s) does not
        stall every other download."""
        args = (response.body, response.url)
        kwargs = {"encoding": charset_of((response.headers.get(b"Content-Type") or b"").decode("latin-1")),
                  "drift": self._drift_sample(response.url)}
        if len(response.body) <= self.parse_thread_bytes:
            return self.parse_page(*args, **kwargs)
        from twisted.internet import threads

        self._inc("parsed_in_thread")
        return await maybe_deferred_to_future(threads.deferToThread(self.parse_page, *args, **kwargs))

    async def parse_article(self, response: Response) -> AsyncIterator[Any]:
        url = response.meta.get("article_url", response.url)
        self._inc("pages_fetched")
        if response.status == 304:
            self._mark_done(url)
            self.skipped_unchanged.append(url)
            self._inc("skipped_unchanged")
            return
        if response.status != 200:
            self._mark_done(url)
            self._inc("pages_failed")
            note = response.meta.get("newsline_failure_note")
            reason = f"HTTP {response.status}" + (f" ({note})" if note else "")
            yield Rejection(url=url, kind="failed", reason=reason, http_status=response.status, at=self._now())
            return
        self._inc("pages_ok")
        try:
            item = await self._parsed(response)
        except PageRejected as exc:
            if exc.kind == "blocked" and response.meta.get("blocked_retries", 0) < BLOCKED_RETRIES:
                self._inc("blocked_retried")
                self._inc("pages_ok", -1)
                self._inc("pages_fetched", -1)  # counted once, on the final attempt
                retry = response.request.replace(dont_filter=True)
                for key in ("download_latency", "_scheme_proxy", "_auth_proxy", "redirect_reasons", "redirect_times",
                            "redirect_ttl", "redirect_urls", "retry_times", FETCHED_AT_META):
                    retry.meta.pop(key, None)  # per-download keys (Scrapy's and the archive's) are not for the copy
                retry.meta["blocked_retries"] = response.meta.get("blocked_retries", 0) + 1
                yield retry
                return
            self._mark_done(url)
            self._inc("pages_blocked" if exc.kind == "blocked" else f"pages_rejected/{exc.kind}")
            yield Rejection(url=url, kind=exc.kind, reason=exc.reason, http_status=response.status, at=self._now())
            return
        self._mark_done(url)
        item.fetched_at = response.meta.get(FETCHED_AT_META) or self._now()
        item.http_status = response.status
        item.run_id = self.crawler.settings.get("NEWSLINE_RUN_ID") or None
        self._inc("items_scraped")
        yield item

    def article_failed(self, failure: Failure) -> Iterator[Any]:
        request = failure.request
        url = request.meta.get("article_url", request.url)
        status = failure.value.response.status if failure.check(HttpError) else None
        reason = _failure_text(failure)
        if failure.check(IgnoreRequest):
            text = str(failure.value)
            if text.startswith("not fetched:"):
                self._settled()
                return  # over the time budget: unfinished() records it with the crawl's other leftovers
            if "robots" in reason.lower():
                reason = "forbidden by robots.txt"
            elif "max redirections" in text:
                reason = f"redirect loop: more than {self.crawler.settings.getint('REDIRECT_MAX_TIMES')} redirects"
            elif text.startswith("offsite"):
                reason = text  # "offsite redirect to URL (from URL)" or "offsite URL …"
                self._inc("pages_offsite")
        self._mark_done(url)
        self._inc("pages_fetched")  # attempted: pages_failed is a subset of pages_fetched
        self._inc("pages_failed")
        yield Rejection(url=url, kind="failed", reason=reason, http_status=status, at=self._now())

    def on_request_dropped(self, request: scrapy.Request) -> None:
        """The scheduler refused a request (its duplicate filter): no errback runs, so record the
        outcome here. For an article that means a redirect led back to an already requested URL."""
        redirects = request.meta.get("redirect_urls") or []
        if redirects:
            reason = f"redirect loop: {redirects[-1]} redirected to already requested {request.url}"
        else:
            reason = f"dropped as a duplicate request: {request.url}"
        url = request.meta.get("article_url")
        if url is None:
            source = request.meta.get("source")
            if source:
                self._doc(request.url, source, "error", reason)
            return
        if url_key(url) in self._done:
            return
        self._mark_done(url)
        self._inc("pages_fetched")
        self._inc("pages_failed")
        self._inc("redirect_loops" if redirects else "dropped_duplicates")
        self.dropped.append(Rejection(url=url, kind="failed", reason=reason, http_status=None, at=self._now()))

    def discovery_failed(self, failure: Failure) -> Iterator[Any]:
        request = failure.request
        self._docs_pending.pop(request.meta.get("doc_url", ""), None)
        self._doc(request.url, request.meta.get("source", "?"), "error", _failure_text(failure))
        yield from self._after_index_failure(request.meta)


def _minute(when: datetime) -> datetime:
    return when.astimezone(UTC).replace(second=0, microsecond=0)


def _failure_text(failure: Failure) -> str:
    value = failure.value
    return f"{type(value).__name__}: {value}".strip().rstrip(":")
