"""Process entry of one crawl: ``python -m crawler.run --site japannews --date 2024-09-06 ...``.

Run in a subprocess by the pipeline (the Twisted reactor cannot restart inside a worker). Writes
items.jsonl, rejections.jsonl, crawl.json and archive.warc.gz into ``--out`` and exits 0 on
success; non-zero, with the reason on stderr, when arguments are wrong, discovery found no readable
document, or the site is blocking (more than ``--blocked-threshold`` of pages empty/challenges).
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from core.config import base_url_for, load_settings
from core.sites import get_site
from core.timeutil import parse_day
from crawler.monitors import OK_FINISH_REASONS

log = logging.getLogger("crawler.run")

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_CRAWL_FAILED = 3
EXIT_BLOCKED = 4
EXIT_MONITOR = 5


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m crawler.run", description="Crawl one logical day of one site.")
    p.add_argument("--site", required=True, help="site key: a profile in sites/ (newsline sites list)")
    p.add_argument("--date", required=True, help="the logical day in the site's timezone, YYYY-MM-DD")
    p.add_argument("--base-url", help="site root to crawl (default: NEWSLINE_BASE_URL_<KEY>, else the profile's)")
    p.add_argument("--out", required=True, help="output folder for items.jsonl, rejections.jsonl, crawl.json, WARC")
    p.add_argument("--run-id", required=True)
    p.add_argument("--concurrency", type=int, help="concurrent requests per domain")
    p.add_argument("--delay", type=float, help="download delay in seconds")
    p.add_argument("--page-budget", type=int, help="max article pages to fetch (0 = no limit)")
    p.add_argument("--time-budget", type=int, help="max crawl seconds (0 = no limit)")
    p.add_argument("--user-agent")
    p.add_argument("--blocked-threshold", type=float, help="fail when blocked/ok pages exceeds this share")
    p.add_argument("--known-index", help="JSON {url or article_id: stored modified_at ISO} for incremental runs")
    p.add_argument("--fallback", choices=("auto", "always", "never"), default=None,
                   help="feed/listing discovery: when the day's sitemap fails (auto), always, or never "
                        "(default: the profile's discovery.fallback)")
    p.add_argument("--autothrottle", choices=("auto", "on", "off"), default="auto",
                   help="auto: on for remote sites, off for loopback (demo) sites")
    p.add_argument("--retry-backoff", type=float, help="base seconds of the exponential backoff between retries")
    p.add_argument("--discover-only", action="store_true",
                   help=f"sharded crawls: run discovery (incremental skips and page budget included), write the "
                        f"article URLs to fetch into --out/{URLS_FILE}, fetch no article")
    p.add_argument("--fetch-if-at-most", type=int, metavar="N",
                   help="with --discover-only: when discovery plans at most N article URLs (one shard), fetch "
                        "them in this process as a crawl would (the report's mode is then 'crawl')")
    p.add_argument("--urls", help=f"sharded crawls: fetch exactly the article URLs of this file (lines of a "
                                  f"{URLS_FILE}), no discovery")
    p.add_argument("--robots", metavar="FILE",
                   help="robots.txt as another crawl of the day saved it (its robots.json): obeyed, not fetched")
    p.add_argument("--replay", action="append", metavar="ARCHIVE",
                   help="answer every request from this WARC archive (repeatable; the newest response per URL "
                        "wins) instead of the network: crawler.replay")
    p.add_argument("--log-level", default="INFO")
    return p


#: Written by ``--discover-only`` into ``--out``: one JSON line per article URL to fetch
#: (``url``, ``lastmod``, ``known``, ``sources``); a shard's ``--urls`` file has the same lines.
URLS_FILE = "article_urls.jsonl"
#: Written into ``--out`` by a crawl that fetched robots.txt (``{"url", "status", "body"}``, the body
#: base64; ``crawler.middlewares.SharedRobotsTxtMiddleware``): ``--robots`` gives it to another crawl.
ROBOTS_FILE = "robots.json"


def is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


#: Environment variable with a JSON object of extra Scrapy settings (e.g. monitor thresholds,
#: DOWNLOAD_TIMEOUT), applied under this run's own flags; the orchestrator passes its env through.
SETTINGS_ENV = "NEWSLINE_SCRAPY_SETTINGS"


def env_settings() -> dict[str, Any]:
    raw = os.environ.get(SETTINGS_ENV, "").strip()
    if not raw:
        return {}
    value = json.loads(raw)
    if not isinstance(value, dict):
        raise ValueError(f"{SETTINGS_ENV} must be a JSON object")
    return value


def scrapy_settings(args: argparse.Namespace, base_url: str) -> Any:
    """Project settings with this run's values on top (``cmdline`` priority)."""
    from scrapy.settings import Settings

    from crawler.pipelines import feeds

    cfg = load_settings(
        user_agent=args.user_agent,
        concurrency_per_domain=args.concurrency,
        download_delay=args.delay,
        page_budget=args.page_budget,
        time_budget_s=args.time_budget,
        blocked_threshold=args.blocked_threshold,
    )
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    autothrottle = {"on": True, "off": False}.get(args.autothrottle, not is_loopback(base_url))
    extra: dict[str, Any] = {}
    if args.retry_backoff is not None:
        extra["NEWSLINE_RETRY_BACKOFF_BASE"] = max(0.0, args.retry_backoff)
    extra.update(env_settings())
    if getattr(args, "discover_only", False):
        extra["NEWSLINE_DISCOVER_ONLY"] = True
        if getattr(args, "fetch_if_at_most", None) is not None:
            extra["NEWSLINE_FETCH_AT_MOST"] = args.fetch_if_at_most
    if getattr(args, "urls", None):
        extra["NEWSLINE_URLS_FILE"] = str(Path(args.urls).resolve())
    if getattr(args, "robots", None):
        extra["NEWSLINE_ROBOTS_FILE"] = str(Path(args.robots).resolve())
    settings.setdict(
        {
            **extra,
            "USER_AGENT": cfg.user_agent,
            "CONCURRENT_REQUESTS_PER_DOMAIN": max(1, cfg.concurrency_per_domain),
            # one site per process: the engine hands the downloader no more than the site may have in flight,
            # so nothing waits in its queue (a graceful stop waited for up to 16 queued pages, one at a time)
            "CONCURRENT_REQUESTS": max(1, cfg.concurrency_per_domain),
            "DOWNLOAD_DELAY": max(0.0, cfg.download_delay),
            "AUTOTHROTTLE_ENABLED": autothrottle,
            "CLOSESPIDER_TIMEOUT": max(0, cfg.time_budget_s),
            "NEWSLINE_PAGE_BUDGET": max(0, cfg.page_budget),
            "NEWSLINE_BLOCKED_THRESHOLD": cfg.blocked_threshold,
            "NEWSLINE_OUT_DIR": str(Path(args.out).resolve()),
            "FEEDS": feeds(Path(args.out).resolve()),
            "NEWSLINE_RUN_ID": args.run_id,
            "NEWSLINE_KNOWN_INDEX": args.known_index or "",
            "LOG_LEVEL": args.log_level.upper(),
        },
        priority="cmdline",
    )
    if args.replay:  # a replay: the same crawl, every answer from the archives (crawler.replay)
        from crawler.replay import replay_settings

        replay = replay_settings(args.replay)
        replay["DOWNLOADER_MIDDLEWARES"] = {**settings.getdict("DOWNLOADER_MIDDLEWARES"),
                                            **replay["DOWNLOADER_MIDDLEWARES"]}
        settings.setdict(replay, priority="cmdline")
    leave_out_switched_off(settings)
    return settings


#: Scrapy's built-in components that a setting of their own switches off.
SWITCHED_OFF_BY: dict[str, dict[str, str]] = {
    "EXTENSIONS_BASE": {"scrapy.extensions.remote_control.RemoteControl": "REMOTE_CONTROL_ENABLED",
                        "scrapy.extensions.telnet.TelnetConsole": "TELNETCONSOLE_ENABLED"},
    "DOWNLOADER_MIDDLEWARES_BASE": {"scrapy.downloadermiddlewares.cookies.CookiesMiddleware": "COOKIES_ENABLED"},
}


def leave_out_switched_off(settings: Any) -> None:
    """Drop from Scrapy's base component lists those their own setting switches off. Scrapy 2.19
    imports every component of a ``*_BASE`` list to order it, a switched-off one too: the remote
    control imports aiohttp and the cookies middleware tldextract, ~0.15 s of CPU in every crawler
    process (one per shard). A component switched on (say ``COOKIES_ENABLED`` set for a site) stays."""
    for name, components in SWITCHED_OFF_BY.items():
        off = {path for path, flag in components.items() if not settings.getbool(flag)}
        base = settings.getdict(name)
        if off & set(base):
            settings.set(name, {path: order for path, order in base.items() if path not in off},
                         priority=settings.getpriority(name))


#: Set by the pipeline to its own pid: the crawl then stops when that process dies, even by SIGKILL.
PARENT_PID_ENV = "NEWSLINE_PARENT_PID"


def die_with_parent() -> None:
    """SIGTERM this process when the pipeline process that started it dies (Linux
    ``PR_SET_PDEATHSIG``); exit at once if it is already gone. No-op without ``NEWSLINE_PARENT_PID``."""
    raw = os.environ.get(PARENT_PID_ENV, "")
    if not raw.isdecimal():
        return
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != int(raw):
        sys.exit("crawler.run: the process that started this crawl is gone")


def main(argv: list[str] | None = None) -> int:
    die_with_parent()
    args = build_parser().parse_args(argv)
    try:
        site = get_site(args.site)
        parse_day(args.date)
        from crawler.spiders.news import validate_base_url

        if args.replay:
            from crawler.replay import archive_base_url

            missing = [a for a in args.replay if not Path(a).is_file()]
            if missing:
                raise ValueError(f"--replay {missing[0]} is not a file")
            base_url = args.base_url or archive_base_url([Path(a) for a in args.replay],
                                                         urlsplit(site.base_url).path)
            if base_url is None:
                raise ValueError("the archives hold no response to replay")
        else:
            base_url = base_url_for(site.key, site.base_url, load_settings(base_url=args.base_url))
        base_url = validate_base_url(base_url)
        env_settings()
        if args.known_index and not Path(args.known_index).is_file():
            raise ValueError(f"--known-index {args.known_index} is not a file")
        if args.fetch_if_at_most is not None and (not args.discover_only or args.fetch_if_at_most < 0):
            raise ValueError("--fetch-if-at-most needs --discover-only and a number of URLs (0 or more)")
        if args.urls and (args.discover_only or not Path(args.urls).is_file()):
            raise ValueError(f"--urls {args.urls} is not a file" if not args.discover_only
                             else "--urls and --discover-only exclude each other")
    except ValueError as exc:
        print(f"crawler.run: {exc}", file=sys.stderr)
        return EXIT_USAGE

    from scrapy.crawler import CrawlerProcess

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    report_path = out / "crawl.json"
    if report_path.exists():
        report_path.unlink()
    process = CrawlerProcess(scrapy_settings(args, base_url))
    crawler = process.create_crawler(site.spider)
    process.crawl(crawler, site=site.key, date=args.date, base_url=base_url, fallback=args.fallback)
    process.start()
    if args.discover_only:
        write_planned(out / URLS_FILE, getattr(crawler.spider, "planned", []))
    return verdict(report_path, discovery=not args.urls)


def write_planned(path: Path, planned: list[dict[str, Any]]) -> None:
    """The discover-only run's article URLs, one JSON line each, written atomically."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text("".join(json.dumps(e, sort_keys=True) + "\n" for e in planned), encoding="utf-8")
    os.replace(tmp, path)


def discovery_failure(report: dict[str, Any]) -> str:
    """One line with the real cause when no discovery document could be read: the time budget if it
    ran out first, and what each document answered (a slow robots.txt, HTTP 500, ...)."""
    docs = report.get("discovery_documents") or []
    errors = [f"{d.get('source')} {d.get('url')}: {d.get('detail') or d.get('outcome')}"
              for d in docs if d.get("outcome") in ("error", "missing")]
    if report.get("finish_reason") == "closespider_timeout":
        head = (f"discovery failed: the time budget ran out ({report.get('duration_s', 0):.0f} s) before any "
                "sitemap, feed or listing page was read")
    elif not docs:
        head = "discovery failed: no discovery document was requested"
    else:
        head = "discovery failed: no sitemap, feed or listing page could be read"
    if errors:
        more = f" (+{len(errors) - 3} more)" if len(errors) > 3 else ""
        head += "; " + "; ".join(errors[:3]) + more
    return head


def verdict(report_path: Path, *, discovery: bool = True) -> int:
    """Exit code from the crawl report: missing report, unreadable discovery (unless the run fetched a
    given URL list), or blocking fail."""
    try:
        report = json.loads(report_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        print(f"crawler.run: the crawl wrote no report ({report_path}); see the log above", file=sys.stderr)
        return EXIT_CRAWL_FAILED
    if report.get("blocking"):
        print(f"crawler.run: {report.get('blocking_message')}", file=sys.stderr)
        return EXIT_BLOCKED
    docs = report.get("discovery_documents") or []
    if discovery and not any(d.get("outcome") == "ok" and d.get("source") != "robots" for d in docs):
        print(f"crawler.run: {discovery_failure(report)}", file=sys.stderr)
        return EXIT_CRAWL_FAILED
    if report.get("finish_reason") not in OK_FINISH_REASONS:
        print(f"crawler.run: crawl ended early: {report.get('finish_reason')}", file=sys.stderr)
        return EXIT_CRAWL_FAILED
    failed = [m for m in report.get("monitors") or [] if not m.get("ok")]
    if failed:
        for m in failed:
            print(f"crawler.run: monitor {m['name']} failed: {m['message']} (value {m['value']}, "
                  f"threshold {m['threshold']})", file=sys.stderr)
        return EXIT_MONITOR
    if report.get("finish_reason") == "closespider_timeout":
        print("crawler.run: time budget reached; the crawl is partial (see crawl.json)", file=sys.stderr)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
