"""Rebuild one day's crawl output from its raw WARC archives, with no network.

A replay is the live crawl with one part swapped: ``WarcReplayMiddleware``, a downloader middleware,
answers every request from the archives (the latest response per URL across several runs of the
day wins) instead of sending it. Discovery (robots.txt, sitemaps, feeds as archived), the parser,
the accounting, ``items.jsonl``, ``rejections.jsonl`` and ``crawl.json`` are the spider's own. A
request the archives lack fails like any failed page, with the reason ``not in the archive: URL``.
Items carry the archived ``WARC-Date`` as ``fetched_at``, the instant the crawl stamped them with,
so a replay yields the crawl's rows.

``replay_archives`` runs ``python -m crawler.run --replay ARCHIVE ...`` in a subprocess (the
Twisted reactor cannot restart in the caller's process) and returns its ``crawl.json``.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Headers
from scrapy.responsetypes import responsetypes
from warcio.archiveiterator import ArchiveIterator

from crawler.discovery import canonicalize_url, parse_w3c_datetime
from crawler.middlewares import FETCHED_AT_META

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler
    from scrapy.http import Request, Response

log = logging.getLogger(__name__)

#: Scrapy setting: the archives a replay answers from (set by ``crawler.run --replay``).
REPLAY_SETTING = "NEWSLINE_REPLAY_ARCHIVES"
REPO_ROOT = Path(__file__).resolve().parents[1]


class ReplayFailed(RuntimeError):
    """The replay process failed; the message carries its verdict lines."""


@dataclass(frozen=True)
class ArchivedResponse:
    url: str
    when: datetime
    status: int
    headers: list[tuple[str, str]]
    body: bytes  # as received: Content-Encoding not undone (the downloader middlewares do it)


def read_archives(archives: list[Path]) -> dict[str, ArchivedResponse]:
    """The latest response per URL across the archives (a later record wins a tie), except that a
    ``304 Not Modified`` (an incremental run's conditional fetch) never hides an archived full page."""
    latest: dict[str, ArchivedResponse] = {}
    for path in archives:
        with open(path, "rb") as fh:
            for record in ArchiveIterator(fh):
                if record.rec_type != "response" or record.http_headers is None:
                    continue
                when = parse_w3c_datetime(record.rec_headers.get_header("WARC-Date") or "")
                if when is None:
                    continue
                http = record.http_headers
                found = ArchivedResponse(
                    url=record.rec_headers.get_header("WARC-Target-URI") or "",
                    when=when,
                    status=int(http.get_statuscode() or 0),
                    headers=list(http.headers),
                    body=record.content_stream().read(),
                )
                current = latest.get(found.url)
                if current is not None and (found.status == 304) != (current.status == 304):
                    if found.status == 304:
                        continue
                elif current is not None and found.when < current.when:
                    continue
                latest[found.url] = found
    return latest


def archive_base_url(archives: list[Path], base_path: str = "/") -> str | None:
    """The site root the archived crawl ran against: the origin of the newest archived response,
    with the profile's base path (a demo or test crawl ran on a loopback port)."""
    newest: tuple[datetime, str] | None = None
    for path in archives:
        with open(path, "rb") as fh:
            for record in ArchiveIterator(fh):
                if record.rec_type != "response":
                    continue
                when = parse_w3c_datetime(record.rec_headers.get_header("WARC-Date") or "")
                if when is not None and (newest is None or when >= newest[0]):
                    newest = (when, record.rec_headers.get_header("WARC-Target-URI") or "")
    if newest is None:
        return None
    parts = urlsplit(newest[1])
    return f"{parts.scheme}://{parts.netloc}{base_path or '/'}"


class WarcReplayMiddleware:
    """Answer every request from the archives in ``NEWSLINE_REPLAY_ARCHIVES``; nothing is sent."""

    def __init__(self, crawler: Crawler, responses: dict[str, ArchivedResponse]) -> None:
        self.crawler = crawler
        self.responses = responses
        self.canonical = {canonicalize_url(url): r for url, r in responses.items()}
        self.articles: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        archives = crawler.settings.getlist(REPLAY_SETTING)
        if not archives:
            raise NotConfigured("not a replay")
        return cls(crawler, read_archives([Path(a) for a in archives]))

    def find(self, url: str) -> ArchivedResponse | None:
        return self.responses.get(url) or self.canonical.get(canonicalize_url(url))

    def process_request(self, request: Request) -> Response:
        found = self.find(request.url)
        if found is None:
            self.crawler.stats.inc_value("newsline/replay_missing")
            raise IgnoreRequest(f"not in the archive: {request.url}")
        request.meta[FETCHED_AT_META] = found.when.astimezone(UTC).isoformat()
        if request.meta.get("article_url") is not None:
            self.articles.add(request.meta["article_url"])
            self.crawler.stats.set_value("newsline/replayed", len(self.articles))
        headers = Headers()
        for name, value in found.headers:
            headers.appendlist(name, value)
        cls = responsetypes.from_args(headers=headers, url=found.url, body=found.body)
        return cls(url=found.url, status=found.status, headers=headers, body=found.body, request=request,
                   flags=["replayed"])


def replay_settings(archives: list[str]) -> dict[str, Any]:
    """What a replay changes in the crawl's Scrapy settings: answers from the archives, no new
    archive, and no politeness, retries or robots.txt checks (nothing goes to the site)."""
    return {
        REPLAY_SETTING: [str(Path(a).resolve()) for a in archives],
        "DOWNLOADER_MIDDLEWARES": {
            "crawler.middlewares.WarcArchiveMiddleware": None,
            "crawler.replay.WarcReplayMiddleware": 990,
        },
        "RETRY_ENABLED": False,
        "ROBOTSTXT_OBEY": False,
        "DOWNLOAD_DELAY": 0,
        "AUTOTHROTTLE_ENABLED": False,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 16,
        "CONCURRENT_REQUESTS": 16,
        "NEWSLINE_DISCOVERY_PATIENCE": 0,
    }


def replay_archives(archives: list[Path], *, site: str, day: date, out_dir: Path, run_id: str) -> dict[str, Any]:
    """Replay ``day`` of ``site`` from ``archives`` into ``out_dir``; returns its crawl.json.

    Raises ``ReplayFailed`` (with the crawl's verdict) when the replay process fails."""
    cmd = [sys.executable, "-m", "crawler.run", "--site", site, "--date", day.isoformat(), "--out", str(out_dir),
           "--run-id", run_id]
    for archive in archives:
        cmd += ["--replay", str(archive)]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH", "")]))
    env["NEWSLINE_PARENT_PID"] = str(os.getpid())
    proc = subprocess.run(cmd, env=env, cwd=str(REPO_ROOT), capture_output=True, text=True, check=False,
                          stdin=subprocess.DEVNULL)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "crawler.log").write_text(proc.stdout + proc.stderr, encoding="utf-8")  # as a crawl leaves it
    if proc.returncode != 0:
        causes = [ln.split("crawler.run: ", 1)[1] for ln in proc.stderr.splitlines() if ln.startswith("crawler.run: ")]
        detail = "; ".join(causes) if causes else proc.stderr[-2000:]
        raise ReplayFailed(f"replay of {site} {day} failed (exit {proc.returncode}): {detail}")
    report = json.loads((out_dir / "crawl.json").read_text(encoding="utf-8"))
    log.info("replayed %s %s from %d archive(s): %d items", site, day, len(archives), report.get("items_scraped", 0))
    return report
