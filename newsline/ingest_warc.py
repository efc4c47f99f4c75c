"""Ingest one day of a web-archive collection (CC-NEWS or any WARC collection) into the warehouse.

Steps (the CLI runs them in one process, the ``ccnews_daily`` DAG maps ``read_file`` over the files):

1. ``plan_day``: list the files of the collection crawled on day D (UTC, by the name's timestamp)
   and drop those the day's manifest already marks as read (unless ``force``).
2. ``read_file``: stream one WARC file, keep the HTML responses of registered sites' article URLs,
   parse them with the site's parser, stage the items/rejections of that file, count every record,
   then write the file's manifest entry (that entry is what "already ingested" means).
3. ``load_day``: gather the staged output of every file of the day, keep the latest capture of
   each article URL (older identical captures count as ``duplicate``, older different versions as
   ``superseded``), write each site's run folder in the live crawl's format and run the very same
   ``newsline.pipeline.transform`` and ``load``. Each article lands in the partition of its own
   publication day in its site's timezone; the quarantine rows of the run sit under day D.

What passes between the steps (each file's staged items and rejections, the manifest, the day's
summary) goes through the storage layer (``warehouse.staging``): with ``NEWSLINE_STAGING=s3://…`` it
is a set of objects, so each mapped ``read_file`` task may run on another worker than the load.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from core.config import Settings, load_settings
from core.sites import all_sites

log = logging.getLogger(__name__)

#: Parallel file downloads of one ingest (politeness toward the archive host).
DEFAULT_PARALLEL = 2
PROGRESS_EVERY = 1000
#: Item fields that are fetch bookkeeping, not content: two captures equal apart from these are duplicates.
_BOOKKEEPING = ("fetched_at", "run_id", "http_status", "url")


def default_run_id(collection_key: str, day: date) -> str:
    """Deterministic, so a re-run of the day replaces its own quarantine file instead of adding one."""
    return f"warc-{collection_key}-{day.isoformat()}"


def _collection(location: str, settings: Settings) -> Any:
    from crawler.warc_source import resolve_collection

    return resolve_collection(location, user_agent=settings.user_agent)


def plan_day(day: date, *, collection: str = "ccnews", max_files: int | None = None, force: bool = False,
             sites: list[str] | None = None, all_news: bool = False,
             overrides: dict[str, Any] | None = None, extra_hosts: dict[str, str] | None = None) -> dict[str, Any]:
    """The day's files: ``{"listed": [...], "todo": [...], "done": [...]}`` (relative paths)."""
    settings = load_settings(**(overrides or {}))
    coll = _collection(collection, settings)
    files = coll.list_day(day)
    if max_files is not None:
        files = files[: max(0, max_files)]
    todo, done = [], []
    for f in files:
        entry = _manifest_entry(settings, coll.key, day, f.name)
        if not force and entry is not None and entry.get("complete") and _same_filter(entry, sites, all_news, extra_hosts):
            done.append(f.rel_path)
        else:
            todo.append(f.rel_path)
    return {"collection": collection, "collection_key": coll.key, "day": day.isoformat(),
            "listed": [f.rel_path for f in files], "todo": todo, "done": done}


def _filter_of(sites: list[str] | None, all_news: bool, extra_hosts: dict[str, str] | None = None) -> dict[str, Any]:
    from core.sites import all_sites

    return {"sites": sorted(sites) if sites else sorted(all_sites()), "all_news": bool(all_news),
            "extra_hosts": dict(sorted((extra_hosts or {}).items()))}


def _same_filter(entry: dict[str, Any], sites: list[str] | None, all_news: bool,
                 extra_hosts: dict[str, str] | None = None) -> bool:
    return entry.get("filter") == _filter_of(sites, all_news, extra_hosts)


def _manifest_entry(settings: Settings, key: str, day: date, name: str) -> dict[str, Any] | None:
    from warehouse.paths import warc_manifest_location
    from warehouse.staging import read_json

    return read_json(warc_manifest_location(settings.staging, key, day, name))


def read_file(day: date, rel_path: str, *, collection: str = "ccnews", sites: list[str] | None = None,
              all_news: bool = False, run_id: str | None = None, overrides: dict[str, Any] | None = None,
              progress: Callable[[str], None] | None = None, max_attempts: int = 4,
              extra_hosts: dict[str, str] | None = None,
              sleep: Callable[[float], None] = time.sleep) -> dict[str, Any]:
    """Read one WARC file of the day into its staged folder; returns (and records) its manifest entry."""
    from crawler.warc_source import SKIP_REASONS, WarcExtractor, read_warc_file
    from warehouse.paths import join, warc_file_location, warc_manifest_location

    settings = load_settings(**(overrides or {}))
    coll = _collection(collection, settings)
    name = rel_path.rsplit("/", 1)[-1]
    run_id = run_id or default_run_id(coll.key, day)
    extractor = WarcExtractor(sites, all_news=all_news, run_id=run_id, extra_hosts=extra_hosts)
    started = time.monotonic()
    items: list[dict[str, Any]] = []
    rejections: list[dict[str, Any]] = []
    counts: dict[str, Any] = {
        "records": 0, "html_responses": 0, "records_by_type": {}, "skipped": dict.fromkeys(SKIP_REASONS, 0),
        "items": {}, "rejections": {},
    }

    def on_record(rec: Any) -> None:
        counts["records"] += 1
        counts["records_by_type"][rec.rec_type] = counts["records_by_type"].get(rec.rec_type, 0) + 1
        if rec.rec_type == "response" and rec.is_html():
            counts["html_responses"] += 1
        out = extractor.classify(rec)
        if out.kind == "skip":
            counts["skipped"][out.reason] += 1
        elif out.kind == "item":
            items.append(out.record)
            counts["items"][out.site] = counts["items"].get(out.site, 0) + 1
        else:
            rejections.append({"site": out.site, **out.record})
            counts["rejections"][out.site] = counts["rejections"].get(out.site, 0) + 1
        if progress and counts["records"] % PROGRESS_EVERY == 0:
            progress(f"  {name}: {counts['records']} records")

    # A retry resumes after the last complete record, so on_record never sees a record twice.
    result = read_warc_file(coll, rel_path, on_record, max_attempts=max_attempts, sleep=sleep)
    folder = warc_file_location(settings.staging, coll.key, day, name)
    _write_lines(join(folder, "items.jsonl"), items)
    _write_lines(join(folder, "rejections.jsonl"), rejections)
    entry = {
        "file": rel_path,
        "name": name,
        "filter": _filter_of(sites, all_news, extra_hosts),
        "complete": result.complete,
        "attempts": result.attempts,
        "throttled": result.throttled,
        "retry_after_honoured": result.retry_after_honoured,
        "size": result.size,
        "bytes_read": result.bytes_read,
        "unread_bytes": result.unread_bytes,
        "errors": result.errors[-5:],
        "duration_s": round(time.monotonic() - started, 3),
        "read_at": datetime.now(UTC).isoformat(),
        **counts,
    }
    _write_json(warc_manifest_location(settings.staging, coll.key, day, name), entry)
    return entry


def load_day(day: date, *, collection: str = "ccnews", run_id: str | None = None, listed: list[str] | None = None,
             read_now: list[str] | None = None, resumed: list[str] | None = None,
             overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Merge the staged output of the day's files into the warehouse; the run summary."""
    from newsline.pipeline import CRAWL_DIR, RunSpec, load, transform
    from warehouse.paths import join, run_location, warc_day_location, warc_file_location
    from warehouse.staging import read_jsonl

    settings = load_settings(**(overrides or {}))
    coll = _collection(collection, settings)
    run_id = run_id or default_run_id(coll.key, day)
    if listed is None:
        listed = [f.rel_path for f in coll.list_day(day)]
    entries = []
    for rel in listed:
        name = rel.rsplit("/", 1)[-1]
        entry = _manifest_entry(settings, coll.key, day, name)
        if entry is not None:
            entries.append(entry)
    missing = sorted(set(r.rsplit("/", 1)[-1] for r in listed) - {e["name"] for e in entries})

    # every capture of the day, per site and URL: the latest wins
    by_site: dict[str, dict[str, list[tuple[str, str, dict[str, Any]]]]] = {}
    for entry in entries:
        folder = warc_file_location(settings.staging, coll.key, day, entry["name"])
        for item in read_jsonl(join(folder, "items.jsonl")):
            url = item.get("canonical_url") or item.get("url") or ""
            by_site.setdefault(item["site"], {}).setdefault(url, []).append((item.get("fetched_at") or "", "item", item))
        for rej in read_jsonl(join(folder, "rejections.jsonl")):
            site = rej.pop("site", None) or "unknown"
            by_site.setdefault(site, {}).setdefault(rej.get("url") or "", []).append((rej.get("at") or "", "rej", rej))
    duplicate = superseded = 0
    per_site: dict[str, Any] = {}
    for site in sorted(by_site):
        kept_items, kept_rej = [], []
        for captures in by_site[site].values():
            captures.sort(key=lambda c: c[0])
            latest = captures[-1]
            for older in captures[:-1]:
                if older[1] == latest[1] and _content(older[2]) == _content(latest[2]):
                    duplicate += 1
                else:
                    superseded += 1
            (kept_items if latest[1] == "item" else kept_rej).append(latest[2])
        generic_host = None
        if site not in all_sites():  # --all-news: an unregistered domain, read with a generic profile
            first = (kept_items or kept_rej or [{}])[0]
            generic_host = urlsplit(first.get("url") or "").hostname
        spec = RunSpec(site=site, day=day.isoformat(), run_id=run_id, overrides=dict(overrides or {}),
                       generic_host=generic_host)
        _stage_site_run(spec, CRAWL_DIR, kept_items, kept_rej, entries, coll.location)
        t_stats = transform(spec)
        l_stats = load(spec)
        per_site[site] = {
            "articles_kept": len(kept_items),
            "rejected_pages": len(kept_rej),
            "articles_clean": t_stats["articles_clean"],
            "quarantined": int(t_stats["articles_quarantined"]) + int(t_stats["crawl_rejections"]),
            "quarantine_reasons": t_stats["quarantine_reasons"],
            "new": l_stats.get("new", 0), "updated": l_stats.get("updated", 0),
            "unchanged": l_stats.get("unchanged", 0), "stale": l_stats.get("stale", 0),
            "run_dir": run_location(spec.settings.staging, spec.site, spec.logical_day, spec.run_id),
        }

    skipped: dict[str, int] = {}
    records_by_type: dict[str, int] = {}
    totals = {"records": 0, "html_responses": 0, "bytes_read": 0, "items": 0, "rejections": 0}
    for e in entries:
        totals["records"] += e["records"]
        totals["html_responses"] += e["html_responses"]
        totals["bytes_read"] += e["bytes_read"] or 0
        totals["items"] += sum(e["items"].values())
        totals["rejections"] += sum(e["rejections"].values())
        for k, v in e["skipped"].items():
            skipped[k] = skipped.get(k, 0) + v
        for k, v in e["records_by_type"].items():
            records_by_type[k] = records_by_type.get(k, 0) + v
    failed = [e for e in entries if not e["complete"]]
    skipped["duplicate"] = duplicate
    skipped["superseded"] = superseded
    skipped["truncated"] = len(failed)  # one unreadable tail per file that could not be read to its end
    read_now_set = set(read_now or [])
    summary: dict[str, Any] = {
        "collection": coll.location,
        "collection_key": coll.key,
        "day": day.isoformat(),
        "run_id": run_id,
        "files_listed": len(listed),
        "files_read": sum(1 for e in entries if e["file"] in read_now_set) if read_now is not None else len(entries),
        "files_resumed": len(resumed or []),
        "files_failed": len(failed),
        "files_missing": missing,
        "failed_files": [{"file": e["name"], "unread_bytes": e["unread_bytes"], "attempts": e["attempts"],
                          "errors": e["errors"]} for e in failed],
        "records_seen": totals["records"],
        "records_by_type": dict(sorted(records_by_type.items())),
        "html_responses": totals["html_responses"],
        "bytes_read": totals["bytes_read"],
        "captures_parsed": totals["items"],
        "pages_rejected": totals["rejections"],
        "articles_kept": {s: v["articles_kept"] for s, v in per_site.items()},
        "skipped": dict(sorted(skipped.items())),
        "quarantined": {s: v["quarantined"] for s, v in per_site.items()},
        "quarantine_reasons": {s: v["quarantine_reasons"] for s, v in per_site.items()},
        "sites": per_site,
        "retries": sum(max(0, e["attempts"] - 1) for e in entries),
        "retry_after_honoured": sum(e["retry_after_honoured"] for e in entries),
    }
    counted = sum(v for k, v in skipped.items() if k not in ("duplicate", "superseded", "truncated"))
    summary["records_accounted"] = counted + totals["items"] + totals["rejections"] == totals["records"]
    _write_json(join(warc_day_location(settings.staging, coll.key, day), "summary.json"), summary)
    return summary


def _content(record: dict[str, Any]) -> str:
    return json.dumps({k: v for k, v in record.items() if k not in _BOOKKEEPING and k != "at"},
                      sort_keys=True, ensure_ascii=False)


def _stage_site_run(spec: Any, crawl_dir: str, items: list[dict], rejections: list[dict],
                    entries: list[dict], location: str) -> None:
    """The site's run folder in the live crawl's format (items.jsonl, rejections.jsonl, crawl.json)."""
    from newsline.pipeline import _private_crawl_dir, _publish_crawl_dir
    from warehouse.staging import exists

    work = _private_crawl_dir(spec)
    items = sorted(items, key=lambda r: r.get("canonical_url") or r.get("url") or "")
    rejections = sorted(rejections, key=lambda r: r.get("url") or "")
    _write_lines(work / "items.jsonl", items)
    _write_lines(work / "rejections.jsonl", rejections)
    report = {
        "site": spec.site, "day": spec.day, "run_id": spec.run_id, "source": "warc", "collection": location,
        "finish_reason": "finished", "items_scraped": len(items), "pages_rejected": len(rejections),
        "articles_discovered": len(items) + len(rejections),
        "warc_files": [e["name"] for e in entries],
        "discovered_urls": sorted({r.get("canonical_url") or r.get("url") for r in items}),
    }
    _write_json(work / "crawl.json", report)
    published = _publish_crawl_dir(spec, work)
    assert exists(f"{published}/crawl.json"), published


def ingest_warc(day: date, *, collection: str = "ccnews", sites: list[str] | None = None,
                all_news: bool = False, max_files: int | None = None, force: bool = False,
                parallel: int = DEFAULT_PARALLEL, run_id: str | None = None,
                overrides: dict[str, Any] | None = None, progress: Callable[[str], None] | None = None,
                extra_hosts: dict[str, str] | None = None, sleep: Callable[[float], None] = time.sleep) -> dict[str, Any]:
    """The whole day outside Airflow: plan, read the files not read yet (bounded parallel), load."""
    from crawler.warc_source import WarcExtractor

    WarcExtractor(sites, all_news=all_news, extra_hosts=extra_hosts)  # fail fast on unknown sites / --all-news not available
    plan = plan_day(day, collection=collection, max_files=max_files, force=force, sites=sites,
                    all_news=all_news, overrides=overrides, extra_hosts=extra_hosts)
    say = progress or (lambda _m: None)
    say(f"{collection} {day}: {len(plan['listed'])} file(s) listed, {len(plan['done'])} already ingested, "
        f"{len(plan['todo'])} to read")
    lock = threading.Lock()
    done = [0]

    def one(rel: str) -> dict[str, Any]:
        entry = read_file(day, rel, collection=collection, sites=sites, all_news=all_news, run_id=run_id,
                          overrides=overrides, progress=progress, sleep=sleep, extra_hosts=extra_hosts)
        with lock:
            done[0] += 1
            kept = sum(entry["items"].values())
            state = "done" if entry["complete"] else f"INCOMPLETE ({entry['unread_bytes']} bytes unread)"
            say(f"[{done[0]}/{len(plan['todo'])}] {entry['name']}: {entry['records']} records, "
                f"{kept} article captures, {state}")
        return entry

    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        list(pool.map(one, plan["todo"]))
    summary = load_day(day, collection=collection, run_id=run_id, overrides=overrides, listed=plan["listed"],
                       read_now=plan["todo"], resumed=plan["done"])
    return summary


def format_summary(s: dict[str, Any]) -> str:
    lines = [
        f"web archive {s['collection']} day {s['day']} (run {s['run_id']})",
        f"  files: {s['files_listed']} listed, {s['files_read']} read, {s['files_resumed']} already ingested, "
        f"{s['files_failed']} failed",
        f"  records: {s['records_seen']} seen, {s['html_responses']} HTML responses, "
        f"{s['bytes_read'] / 1e6:.1f} MB read; every record accounted: {s['records_accounted']}",
        f"  articles kept: {json.dumps(s['articles_kept'], sort_keys=True)}",
        f"  skipped: {json.dumps({k: v for k, v in s['skipped'].items() if v}, sort_keys=True)}",
        f"  quarantined: {json.dumps(s['quarantined'], sort_keys=True)}",
    ]
    for site, v in s["sites"].items():
        lines.append(f"  {site}: {v['new']} new, {v['updated']} updated, {v['unchanged']} unchanged, "
                     f"{v['stale']} older than stored")
    for f in s["failed_files"]:
        lines.append(f"  FAILED {f['file']}: {f['unread_bytes']} bytes unread after {f['attempts']} attempt(s): "
                     f"{'; '.join(f['errors'][-2:])}")
    return "\n".join(lines)


def _write_lines(path: str | Path, records: list[dict[str, Any]]) -> None:
    """JSON Lines (sorted keys), written atomically through the storage layer (local path or ``s3://``)."""
    from warehouse.staging import write_bytes

    write_bytes(path, "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in records).encode())


def _write_json(path: str | Path, data: dict[str, Any]) -> None:
    from warehouse.staging import write_bytes

    write_bytes(path, json.dumps(data, indent=2, sort_keys=True, default=str).encode("utf-8"))
