"""Scrapy settings of the Newsline crawler: polite defaults for a live news site.

``crawler.run`` overrides the per-run values (user agent, concurrency, delay, budgets, output
folder) from ``core.config.Settings`` and its command-line flags; components read them through
``from_crawler``.
"""

from __future__ import annotations

from core.config import load_settings

_defaults = load_settings()

BOT_NAME = "newsline"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

USER_AGENT = _defaults.user_agent
ROBOTSTXT_OBEY = True

CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = _defaults.concurrency_per_domain
# Scrapy's own downloader sends a burst of queued requests past the per-site limit (crawler.downloader).
DOWNLOADER = "crawler.downloader.PoliteDownloader"
# Scrapy starts CONCURRENT_ITEMS worker tasks for every callback's output (default 100); a page yields
# one item, so 100 idle tasks per page cost ~10 % of the crawl's CPU (make bench, crawl profile).
CONCURRENT_ITEMS = 4
DOWNLOAD_DELAY = _defaults.download_delay
# A fixed gap of DOWNLOAD_DELAY between two requests to a host: the profile's delay is exactly the
# pace the site sees. Scrapy's jitter (0.5 = U(0.5, 1.5) x delay) is re-drawn every time the downloader
# looks at the host's queue, so it both lets two requests come 0.5 x delay apart and slows the mean gap
# to about 1.22 x delay (make bench: polite 0.78 of the allowed rate with it, 0.95 without).
DOWNLOAD_DELAY_JITTER = 0.0
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 10 * 1024 * 1024
DOWNLOAD_WARNSIZE = 2 * 1024 * 1024
DOWNLOAD_FAIL_ON_DATALOSS = True

# AutoThrottle adapts the delay to the live site's latency; crawler.run turns it off for the local demo.
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0

RETRY_ENABLED = True
RETRY_TIMES = 3
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
#: Exponential backoff between retries (base * 2**(n-1), capped); Retry-After wins when present.
NEWSLINE_RETRY_BACKOFF_BASE = 1.0
NEWSLINE_RETRY_BACKOFF_MAX = 60.0
NEWSLINE_RETRY_AFTER_MAX = 120.0

HTTPCACHE_ENABLED = False
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
# No control server: a crawl listens on no port at all.
REMOTE_CONTROL_ENABLED = False
REDIRECT_MAX_TIMES = 5
# Non-2xx responses reach the spider so every failed page is accounted for.
HTTPERROR_ALLOW_ALL = True

DOWNLOADER_MIDDLEWARES = {
    # Scrapy's host filter drops requests at scheduling time without an errback: SameSiteMiddleware
    # (stricter: host and port) does the job and lets the spider record each page's reason.
    "scrapy.downloadermiddlewares.offsite.OffsiteMiddleware": None,
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawler.middlewares.BackoffRetryMiddleware": 550,
    "crawler.middlewares.SameSiteMiddleware": 90,
    # the spider's own robots.txt fetch (discovery) serves as the rules: robots.txt is fetched once
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "crawler.middlewares.SharedRobotsTxtMiddleware": 100,
    "crawler.middlewares.TimeBudgetMiddleware": 60,
    "crawler.middlewares.WarcArchiveMiddleware": 950,
}
ITEM_PIPELINES = {
    "crawler.pipelines.CrawlRecords": 300,
}
#: items.jsonl and rejections.jsonl are Scrapy feed exports: crawler.run sets FEEDS from --out
#: (crawler.pipelines.feeds).
EXTENSIONS = {
    "crawler.extensions.CrawlReport": 500,
    "crawler.extensions.CrawlProgress": 510,
}
#: A "progress: …" log line every N article pages, and every S seconds until articles flow.
NEWSLINE_PROGRESS_EVERY = 25
NEWSLINE_PROGRESS_INTERVAL = 15.0
#: Fetch the candidates found so far once every discovery document still loading has taken longer
#: than this (seconds; 0 = always wait for the whole discovery).
NEWSLINE_DISCOVERY_PATIENCE = 5.0
#: Pages larger than this are parsed in the reactor's thread pool, off its hot path.
NEWSLINE_PARSE_THREAD_BYTES = 512 * 1024

#: Per-run values (set by crawler.run; a bare `scrapy crawl` gets these defaults).
NEWSLINE_OUT_DIR = ""
NEWSLINE_RUN_ID = ""
NEWSLINE_PAGE_BUDGET = _defaults.page_budget
NEWSLINE_TIME_BUDGET = _defaults.time_budget_s
NEWSLINE_BLOCKED_THRESHOLD = _defaults.blocked_threshold
NEWSLINE_KNOWN_INDEX = ""

LOG_LEVEL = "INFO"
# crawl.json carries the accounting; the raw stats dump would bury the verdict at the end of stderr.
STATS_DUMP = False
LOG_INSTALL_ROOT_HANDLER = True

#: End-of-crawl monitors: their thresholds (``NEWSLINE_MONITOR_*``) are defined once, in
#: ``crawler.monitors.DEFAULT_THRESHOLDS``; override any with ``-s NAME=VALUE`` (or NEWSLINE_SCRAPY_SETTINGS).
