"""Rebuild one day's crawl output from its raw WARC archives, with no network.

``replay_archives`` reads every response record of the given archives (several runs of a day; the
latest response per URL wins), keeps the responses of article URLs of the day the spider would
have kept, runs them through the same pure parser, and writes ``items.jsonl``, ``rejections.jsonl``
and ``crawl.json`` in the crawl's own formats. Items carry the archived ``WARC-Date`` as
``fetched_at``: the spider stamps items with that same instant, so a replay yields the crawl's rows.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import time
import zlib
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from warcio.archiveiterator import ArchiveIterator

from core.items import ArticleItem
from core.sites import SiteProfile, get_site
from crawler.discovery import article_url_info, canonicalize_url, parse_w3c_datetime
from crawler.extensions import DISCOVERY_SOURCES
from crawler.monitors import COVERAGE_FIELDS
from crawler.parsers import PageRejected, parser_for
from crawler.records import Rejection

log = logging.getLogger(__name__)


def _decompress(body: bytes, encoding: str | None) -> bytes:
    """Archived bodies are as received: undo a gzip/deflate Content-Encoding."""
    enc = (encoding or "").strip().lower()
    if enc in ("gzip", "x-gzip"):
        return gzip.decompress(body)
    if enc == "deflate":
        try:
            return zlib.decompress(body)
        except zlib.error:
            return zlib.decompress(body, -zlib.MAX_WBITS)
    return body


def _charset(content_type: str | None) -> str | None:
    if not content_type or "charset=" not in content_type.lower():
        return None
    return content_type.lower().split("charset=", 1)[1].split(";", 1)[0].strip().strip("\"'") or None


def _responses(archives: list[Path]) -> tuple[dict[str, dict[str, Any]], int]:
    """Latest response record per canonical URL across all archives; and how many were read."""
    latest: dict[str, dict[str, Any]] = {}
    read = 0
    for path in archives:
        with open(path, "rb") as fh:
            for record in ArchiveIterator(fh):
                if record.rec_type != "response":
                    continue
                read += 1
                url = record.rec_headers.get_header("WARC-Target-URI") or ""
                when = parse_w3c_datetime(record.rec_headers.get_header("WARC-Date") or "")
                if when is None:
                    continue
                http = record.http_headers
                entry = {
                    "url": url,
                    "when": when,
                    "status": int(http.get_statuscode() or 0) if http else 0,
                    "content_type": http.get_header("Content-Type") if http else None,
                    "content_encoding": http.get_header("Content-Encoding") if http else None,
                    "body": record.content_stream().read(),
                }
                key = canonicalize_url(url)
                if key not in latest or when >= latest[key]["when"]:
                    latest[key] = entry
    return latest, read


def _wanted(url: str, day: date, site: SiteProfile) -> bool:
    info = article_url_info(url, site)
    return info is not None and (info[0] is None or info[0] <= day)


def replay_archives(archives: list[Path], *, site: str, day: date, out_dir: Path, run_id: str) -> dict[str, Any]:
    """Re-parse the archived article responses of ``day`` into ``out_dir``; returns the crawl.json dict.

    The archives are the day's own (the spider fetched only the day's candidates), so every archived
    article URL dated on or before the day is replayed. Redirect responses are skipped (their
    target carries the outcome); other non-200 responses become ``failed`` rejections, as in the
    crawl."""
    started = time.monotonic()
    started_at = datetime.now(UTC).isoformat()
    site_cfg = get_site(site)
    parse = parser_for(site_cfg)
    latest, read = _responses([Path(a) for a in archives])

    items: list[dict[str, Any]] = []
    rejections: list[dict[str, Any]] = []
    counts = {"ok": 0, "failed": 0, "blocked": 0, "not_article": 0, "malformed": 0}
    status_counts: dict[str, int] = {}
    coverage = dict.fromkeys(COVERAGE_FIELDS, 0)
    discovered: list[str] = []
    for key in sorted(latest):
        rec = latest[key]
        if not _wanted(key, day, site_cfg):
            continue
        fetched_at = rec["when"].astimezone(UTC).isoformat()
        status = rec["status"]
        item: ArticleItem | None = None
        rejection: Rejection | None = None
        if status in (301, 302, 303, 307, 308):
            continue  # the redirect's target carries the outcome (as in the crawl)
        if status != 200:
            rejection = Rejection(url=key, kind="failed", reason=f"HTTP {status}", http_status=status, at=fetched_at)
        else:
            try:
                body = _decompress(rec["body"], rec["content_encoding"])
                item = parse(body, rec["url"], encoding=_charset(rec["content_type"]))
            except PageRejected as exc:
                rejection = Rejection(url=key, kind=exc.kind, reason=exc.reason, http_status=status, at=fetched_at)
            except (OSError, zlib.error, EOFError) as exc:
                rejection = Rejection(url=key, kind="failed", reason=f"undecodable archived body: {exc}",
                                      http_status=status, at=fetched_at)
        discovered.append(key)
        status_counts[str(status)] = status_counts.get(str(status), 0) + 1
        if item is not None:
            item.fetched_at = fetched_at
            item.http_status = status
            item.run_id = run_id
            counts["ok"] += 1
            for name in COVERAGE_FIELDS:
                if getattr(item, name, None):
                    coverage[name] += 1
            items.append(item.to_dict())
        elif rejection is not None:
            rejection.run_id = run_id
            counts[rejection.kind if rejection.kind in counts else "failed"] += 1
            if rejection.kind != "failed":
                counts["ok"] += 1
            rejections.append(rejection.to_dict())

    report: dict[str, Any] = {
        "site": site,
        "spider": site_cfg.spider,
        "day": day.isoformat(),
        "base_url": None,
        "run_id": run_id,
        "started_at": started_at,
        "finished_at": datetime.now(UTC).isoformat(),
        "duration_s": round(time.monotonic() - started, 3),
        "finish_reason": "finished",
        "articles_discovered": len(discovered),
        "discovered_by_source": dict.fromkeys(DISCOVERY_SOURCES, 0),
        "fallback_used": False,
        "discovery_documents": [{"url": str(a), "source": "warc", "outcome": "ok", "detail": "replayed"}
                                for a in archives],
        "discovery_errors": 0,
        "sitemap_errors": 0,
        "sitemaps_skipped": 0,
        "sitemaps_skipped_sample": [],
        "sitemaps_duplicate": 0,
        "pages_parsed_in_thread": 0,
        "early_fetch_rounds": 0,
        "pages_requested": 0,
        "pages_fetched": 0,
        "pages_ok": counts["ok"],
        "pages_failed": counts["failed"],
        "pages_blocked": counts["blocked"],
        "pages_blocked_retried": 0,
        "pages_rejected": counts["not_article"] + counts["malformed"],
        "rejected_by_kind": {"not_article": counts["not_article"], "malformed": counts["malformed"]},
        "pages_skipped_unchanged": 0,
        "pages_over_budget": 0,
        "pages_not_fetched": 0,
        "page_budget": 0,
        "items_scraped": len(items),
        "http_status_counts": dict(sorted(status_counts.items())),
        "requests_total": 0,
        "retry_count": 0,
        "retry_after_honoured": 0,
        "offsite_dropped": 0,
        "offsite_links": 0,
        "duplicates_dropped": 0,
        "warc_records": read,
        "blocked_share": 0.0,
        "blocked_threshold": None,
        "blocking": False,
        "blocking_message": None,
        "discovered_urls": sorted(discovered),
        "field_coverage": coverage,
        "monitors": [],
        "replayed": len(discovered),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    _write_lines(out_dir / "items.jsonl", items)
    _write_lines(out_dir / "rejections.jsonl", rejections)
    tmp = out_dir / ".crawl.json.tmp"
    tmp.write_text(json.dumps(report, indent=2, ensure_ascii=False, sort_keys=True), encoding="utf-8")
    os.replace(tmp, out_dir / "crawl.json")
    log.info("replayed %s %s from %d archive(s): %d items, %d rejections",
             site, day, len(archives), len(items), len(rejections))
    return report


def _write_lines(path: Path, records: list[dict[str, Any]]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        for record in records:
            fh.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
    os.replace(tmp, path)
