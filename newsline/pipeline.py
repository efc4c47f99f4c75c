"""The steps of one daily run: crawl → transform → load → summarise.

The command-line interface and the Airflow DAG call these very functions; each step takes a
``RunSpec`` (small, JSON-serialisable, passed through XCom) and returns a small summary dict.
Data moves between steps as files in the run's staging folder, never through XCom.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from core.config import REPO_ROOT, Settings, base_url_for, load_settings
from core.coverage import COVERAGE_COLUMNS, COVERAGE_FLOORS, is_present
from core.sites import Site, generic_profile, get_site
from core.timeutil import parse_day

log = logging.getLogger(__name__)

CRAWL_DIR = "crawl"  # inside the run folder: items.jsonl, rejections.jsonl, crawl.json, archive.warc.gz
CLEAN_FILE = "clean.parquet"
QUARANTINE_FILE = "quarantine.parquet"
SUMMARY_FILE = "summary.json"



class RunFailed(RuntimeError):
    """A run finished its work but must fail loudly (anomaly, blocking, broken crawl)."""


def sanitize_run_id(raw: str) -> str:
    """Make any run id (Airflow's contain ':' and '+') safe to name a folder."""
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "-", raw).strip("-.")
    return cleaned[:128] or "run"


def new_run_id(prefix: str = "cli") -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")  # names the run only; never decides coverage
    return f"{prefix}-{stamp}-{uuid.uuid4().hex[:6]}"


@dataclass(frozen=True)
class RunSpec:
    """Everything a step needs to find its run: JSON-friendly so it can travel through XCom."""

    site: str
    day: str  # YYYY-MM-DD, the logical day in the site's timezone
    run_id: str
    overrides: dict[str, Any] = field(default_factory=dict)  # Settings overrides (CLI flags / Airflow params)
    generic_host: str | None = None  # a site without a profile (archive --all-news): read generically

    @property
    def settings(self) -> Settings:
        return load_settings(**self.overrides)

    @property
    def site_config(self) -> Site:
        if self.generic_host:
            return generic_profile(f"https://{self.generic_host}/")
        return get_site(self.site)

    @property
    def base_url(self) -> str:
        """The root this run crawls: the run's override, ``NEWSLINE_BASE_URL_<KEY>``, or the profile's."""
        return base_url_for(self.site, self.site_config.base_url, self.settings)

    def politeness(self) -> tuple[int, float]:
        """(concurrency, delay): the run's override, else an explicitly set environment variable, else
        the profile's politeness, else the built-in default."""
        s, prof = self.settings, self.site_config.politeness
        conc = self.overrides.get("concurrency_per_domain")
        if conc is None:
            conc = s.concurrency_per_domain if os.environ.get("NEWSLINE_CONCURRENCY") else (
                prof.concurrency or s.concurrency_per_domain)
        delay = self.overrides.get("download_delay")
        if delay is None:
            delay = s.download_delay if os.environ.get("NEWSLINE_DOWNLOAD_DELAY") else (
                prof.delay if prof.delay is not None else s.download_delay)
        return int(conc), float(delay)

    @property
    def logical_day(self) -> date:
        return parse_day(self.day)

    @property
    def run_dir(self) -> Path:
        from warehouse.paths import run_dir

        return run_dir(self.settings.staging, self.site, self.logical_day, self.run_id)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunSpec:
        return cls(**data)


def _crawl_command(spec: RunSpec, out_dir: Path, known_index: Path | None, *,
                   page_budget: int | None = None) -> list[str]:
    s = spec.settings
    concurrency, delay = spec.politeness()
    cmd = [
        sys.executable, "-m", "crawler.run",
        "--site", spec.site,
        "--date", spec.day,
        "--base-url", spec.base_url,
        "--out", str(out_dir),
        "--run-id", spec.run_id,
        "--concurrency", str(concurrency),
        "--delay", str(delay),
        "--page-budget", str(s.page_budget if page_budget is None else page_budget),
        "--time-budget", str(s.time_budget_s),
        "--user-agent", s.user_agent,
        "--blocked-threshold", str(s.blocked_threshold),
    ]
    if known_index is not None:
        cmd += ["--known-index", str(known_index)]
    return cmd


def crawl(spec: RunSpec, *, incremental: bool = True) -> dict[str, Any]:
    """Run the site's spider for the day in its own process (Twisted can't restart in a worker).

    The crawl writes into a fresh private folder that is renamed into place only when the process
    ends, so a retry running beside a zombie attempt never mixes their files. The crawler runs in its
    own process group and dies with this process: SIGTERM/SIGINT here are forwarded to the group
    (then handled as before), any exit from this function kills what is left, and on Linux the
    kernel sends it SIGTERM should this process be killed outright (``crawler.run.die_with_parent``). Its log is
    streamed line by line into the ``newsline.crawler`` logger with each line's own level and time
    (and into ``crawler.log``), so progress shows while it runs.
    """
    stats = _crawl_process(spec, CRAWL_DIR, incremental=incremental)
    return {"run_dir": _run_loc(spec), **_small(stats)}


def _crawl_process(spec: RunSpec, dest: str, *, incremental: bool, extra: tuple[str, ...] = (),
                   urls: str | None = None, keep_archive: bool = True,
                   fetched_dest: str | None = None) -> dict[str, Any]:
    """One ``crawler.run`` process into a private folder published as ``<run>/<dest>``; its crawl.json.
    ``urls``: a staged URL list (a shard) fetched with ``--urls`` (no discovery, no page budget).
    ``fetched_dest``: where a discovery run that went on to fetch the day itself (mode ``crawl``) is
    published instead, as the day's crawl output (its crawl.json as a merge of no shard writes it, its
    WARC kept in the archive): nothing is copied again afterwards."""
    sweep_stale_crawl_dirs(spec)
    work = _private_crawl_dir(spec)
    known_index = None
    if incremental and urls is None:
        known_index = _write_known_index(spec, work)
    cmd = _crawl_command(spec, work, known_index, page_budget=0 if urls is not None else None) + list(extra)
    if urls is not None:
        from crawler.run import ROBOTS_FILE
        from warehouse.paths import join
        from warehouse.staging import read_bytes

        local_urls = work / SHARD_URLS_FILE  # published with the shard's output: what it was given
        local_urls.write_bytes(read_bytes(urls))
        cmd += ["--urls", str(local_urls)]
        try:  # the robots.txt the discovery run fetched: obeyed as it is, not fetched once a shard
            (work / ROBOTS_FILE).write_bytes(read_bytes(join(_run_loc(spec), DISCOVER_DIR, ROBOTS_FILE)))
            cmd += ["--robots", str(work / ROBOTS_FILE)]
        except FileNotFoundError:
            log.info("no robots.txt saved by the discovery run: the shard fetches it")
    log.info("crawling %s day %s from %s (run %s, %s)", spec.site, spec.day, spec.base_url, spec.run_id, dest)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH", "")]))
    env["PYTHONUNBUFFERED"] = "1"
    env["NEWSLINE_PARENT_PID"] = str(os.getpid())  # crawler.run dies with this process (PR_SET_PDEATHSIG)
    tail: list[str] = []
    with open(work / "crawler.log", "w", encoding="utf-8") as log_file:  # noqa: PTH123
        proc = subprocess.Popen(cmd, env=env, cwd=str(REPO_ROOT), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, text=True, errors="replace", bufsize=1,
                                start_new_session=True)
        (work / OWNER_FILE).write_text(json.dumps({"pid": os.getpid(), "crawler_pid": proc.pid,
                                                   "host": socket.gethostname()}), encoding="utf-8")
        with _forward_signals(proc):
            try:
                relay = CrawlLogRelay()
                assert proc.stdout is not None
                for line in _lines_or_pauses(proc.stdout):
                    if line is None:  # the crawler is quiet: its last record is whole, show it now
                        relay.flush()
                        continue
                    log_file.write(line)
                    log_file.flush()
                    relay.feed(line)
                    tail.append(line.rstrip("\n"))
                    del tail[:-8]
                relay.flush()
                proc.wait()
            finally:
                _stop_process_group(proc)
    (work / OWNER_FILE).unlink(missing_ok=True)
    if known_index is not None:  # an input read once, 32 bytes a stored article: not kept in the run folder
        known_index.unlink(missing_ok=True)
    stats = _read_json(work / "crawl.json")
    if fetched_dest is not None and proc.returncode == 0 and stats is not None and stats.get("mode") == "crawl":
        stats = merge_reports(stats, [])
        (work / "crawl.json").write_text(_report_text(stats), encoding="utf-8")
        dest, keep_archive = fetched_dest, True
    if keep_archive:
        _keep_archive(spec, work)
    final = _publish_crawl_dir(spec, work, dest)
    log.info("crawler log: %s/crawler.log", final)
    what = {CRAWL_DIR: "crawl", DISCOVER_DIR: "discovery"}.get(dest, "crawl " + dest.replace("s/", " ", 1))
    if proc.returncode != 0:
        causes = [ln.split("crawler.run: ", 1)[1] for ln in tail if ln.startswith("crawler.run: ")]
        detail = "; ".join(causes) if causes else "\n".join(tail)  # the verdict lines lead, else the log's end
        raise RunFailed(f"{what} of {spec.site} {spec.day} failed (exit {proc.returncode}): {detail}")
    if stats is None:
        raise RunFailed(f"{what} of {spec.site} {spec.day} left no crawl.json in {final}")
    return stats


# --- sharded crawls: discover once, crawl the day's article URLs in shards, merge ----------------------

DISCOVER_DIR = "discover"  # inside the run folder: the discover-only crawl (crawl.json, article_urls.jsonl, WARC)
SHARD_URLS_DIR = "shard-urls"  # inside the run folder: NNN.jsonl, the article URLs of shard NNN
SHARDS_DIR = "shards"  # inside the run folder: NNN/, the crawl output of shard NNN
SHARD_URLS_FILE = "shard_urls.jsonl"  # inside a shard's output: the URL list it was given
#: The files of a part (the discovery run, a shard) that ``merge_shards`` joins into ``crawl/``: removed from
#: the parts once ``crawl/`` is published, so a sharded day keeps one copy of them in its run folder.
MERGED_FILES = ("items.jsonl", "rejections.jsonl", "archive.warc.gz")
#: crawl.json keys a merge takes from the discovery run alone (the shards' are slices of them).
_DISCOVERY_ONLY = frozenset({"articles_discovered", "discovered_by_source", "page_budget", "blocked_threshold",
                             "duration_s", "blocked_share", "blocking"})


def _shard_name(shard: int) -> str:
    return f"{int(shard):03d}"


def discover(spec: RunSpec, *, incremental: bool = True) -> list[int]:
    """Discovery of the day, once (``crawler.run --discover-only``: incremental skips and the page
    budget applied), then the article URLs split into the profile's shards (``crawl.shard_size``,
    ``crawl.max_shards``), each a URL file in the run folder. Returns the shard numbers (``[0, 1, …]``,
    what the crawl task is mapped over); the URL lists never leave the run folder.

    A day of one shard is fetched by the discovery process itself (``--fetch-if-at-most``): one crawler
    start-up instead of two, its output is published as the run's ``crawl/`` folder (what
    ``merge_shards(spec, 0)`` then returns) and ``[]`` is returned (no shard left to crawl)."""
    from crawler.run import URLS_FILE
    from warehouse.paths import join
    from warehouse.staging import delete_files, list_files, read_jsonl, write_jsonl

    at_most = spec.site_config.crawl.fetch_in_discovery_max()
    extra: tuple[str, ...] = ("--discover-only",)
    if at_most is not None:
        extra += ("--fetch-if-at-most", str(at_most))
    stats = _crawl_process(spec, DISCOVER_DIR, incremental=incremental, extra=extra, keep_archive=False,
                           fetched_dest=CRAWL_DIR)
    run = _run_loc(spec)
    folder = join(run, SHARD_URLS_DIR)
    delete_files(list_files(folder))  # a re-run of the day in the same run folder may split differently
    if stats.get("mode") == "crawl":
        log.info("discovered %d article(s) of %s %s; the %d to fetch (one shard) were fetched by discovery",
                 int(stats.get("articles_discovered", 0)), spec.site, spec.day, int(stats.get("pages_fetched", 0)))
        return []
    planned = read_jsonl(join(run, DISCOVER_DIR, URLS_FILE))
    shards = split_shards(planned, spec.site_config.crawl.shard_count(len(planned)))
    for number, entries in enumerate(shards):
        write_jsonl(join(folder, f"{_shard_name(number)}.jsonl"), entries)
    log.info("discovered %d article(s) of %s %s (%d to fetch), split into %d shard(s) of up to %d",
             int(stats.get("articles_discovered", 0)), spec.site, spec.day, len(planned), len(shards),
             max((len(x) for x in shards), default=0))
    return list(range(len(shards)))


def split_shards(entries: list[dict[str, Any]], count: int) -> list[list[dict[str, Any]]]:
    """``entries`` (in URL order) cut into ``count`` contiguous shards whose sizes differ by at most one."""
    count = max(1, count)
    size, extra = divmod(len(entries), count)
    out: list[list[dict[str, Any]]] = []
    start = 0
    for number in range(count):
        end = start + size + (1 if number < extra else 0)
        out.append(entries[start:end])
        start = end
    return out


def crawl_shard(spec: RunSpec, shard: int) -> dict[str, Any]:
    """Fetch the article URLs of one shard (``crawler.run --urls``) into ``<run>/shards/NNN/``, with the
    profile's politeness; a retry of a failed shard repeats this shard alone. Returns a few counts."""
    from warehouse.paths import join

    name = _shard_name(shard)
    urls = join(_run_loc(spec), SHARD_URLS_DIR, f"{name}.jsonl")
    stats = _crawl_process(spec, f"{SHARDS_DIR}/{name}", incremental=False, urls=urls, keep_archive=False)
    keys = ("articles_discovered", "pages_fetched", "pages_failed", "items_scraped", "requests_total", "duration_s")
    return {"shard": int(shard), **{k: stats.get(k) for k in keys}}


def merge_shards(spec: RunSpec, shards: int) -> dict[str, Any]:
    """The discovery run and the ``shards`` shard crawls → the one ``<run>/crawl/`` folder a crawl
    writes (items.jsonl, rejections.jsonl, archive.warc.gz, crawl.json), so transform, reprocess and
    the summary read a sharded day as any other. Counts are summed (discovery's taken from the
    discovery run), the WARC files concatenated (gzip members). Returns what ``crawl`` returns.

    Once ``crawl/`` is published, the parts' ``MERGED_FILES`` are deleted (``_drop_merged_files``): each
    part keeps its crawl.json, log and URL list. A retry (or a run of this task after one that died while
    deleting) finds ``crawl/crawl.json`` equal to the merge of the parts' crawl.json files, returns it
    without reading the deleted files and finishes the deletion. A part whose merged files are gone while
    ``crawl/`` is not its merge (one shard crawled again after the day was merged) fails the merge: the day
    must be crawled again, never merged without that part's pages.

    No shard: the discovery run fetched the day and is already published as ``crawl/`` (``discover``);
    its crawl.json is read, nothing copied. (A run folder of a version that published it as
    ``discover/`` is merged as before.)"""
    from warehouse.paths import join
    from warehouse.staging import read_bytes, read_json

    run = _run_loc(spec)
    if not int(shards):
        report = read_json(join(run, CRAWL_DIR, "crawl.json"))
        if report is not None and report.get("mode") == "crawl":
            return {"run_dir": run, **_small(report)}
    parts = [join(run, DISCOVER_DIR)] + [join(run, SHARDS_DIR, _shard_name(i)) for i in range(int(shards))]
    reports = []
    for part in parts:
        report = read_json(join(part, "crawl.json"))
        if report is None:
            raise RunFailed(f"merge of {spec.site} {spec.day}: {part} has no crawl.json (did the shard run?)")
        reports.append(report)
    merged = merge_reports(reports[0], reports[1:])
    try:
        published = read_bytes(join(run, CRAWL_DIR, "crawl.json")) == _report_text(merged).encode("utf-8")
    except FileNotFoundError:
        published = False
    if published:
        log.info("the crawl of %s %s is already the merge of its %d shard(s): not merged again", spec.site,
                 spec.day, int(shards))
    else:
        _publish_merge(spec, parts, merged)
        log.info("merged %d shard(s) of %s %s: %d discovered, %d fetched, %d failed, %d items", int(shards),
                 spec.site, spec.day, merged.get("articles_discovered", 0), merged.get("pages_fetched", 0),
                 merged.get("pages_failed", 0), merged.get("items_scraped", 0))
    _drop_merged_files(parts)
    return {"run_dir": run, **_small(merged)}


def _publish_merge(spec: RunSpec, parts: list[str], merged: dict[str, Any]) -> None:
    """Write the parts' ``MERGED_FILES`` concatenated (in ``parts`` order) and ``merged`` as crawl.json into
    a private folder, keep its WARC in the archive and publish it as the run's ``crawl/``. A part lacking
    one of the files (deleted after an earlier merge, or by an attempt finishing beside this one) fails
    the merge before anything is published."""
    import tempfile

    from warehouse.paths import is_remote, join
    from warehouse.staging import read_bytes

    if is_remote(spec.settings.staging):
        work = Path(tempfile.mkdtemp(prefix=f".merge-{spec.site}-"))
    else:
        work = _private_crawl_dir(spec)
    try:
        for name in MERGED_FILES:
            with open(work / name, "wb") as out:  # noqa: PTH123
                for part in parts:
                    try:
                        data = read_bytes(join(part, name))
                    except FileNotFoundError:
                        raise RunFailed(f"merge of {spec.site} {spec.day}: {part} has no {name} (removed after an "
                                        "earlier merge of the day?); crawl the day again") from None
                    if name.endswith(".jsonl") and data and not data.endswith(b"\n"):
                        data += b"\n"
                    out.write(data)
        (work / "crawl.json").write_text(_report_text(merged), encoding="utf-8")
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    _keep_archive(spec, work)
    _publish_crawl_dir(spec, work)


def _drop_merged_files(parts: list[str]) -> None:
    """Delete the parts' ``MERGED_FILES`` (local or ``s3://``; a missing one is no error). Only once the
    merge of the parts is published as ``crawl/``: that is then the one copy of their items and WARC."""
    from warehouse.paths import join
    from warehouse.staging import delete_files

    delete_files(join(part, name) for part in parts for name in MERGED_FILES)


def _report_text(report: dict[str, Any]) -> str:
    """A crawl.json as written into a crawl folder: the same report always gives the same text."""
    return json.dumps(report, indent=2, ensure_ascii=False, sort_keys=True)


def merge_reports(discovery: dict[str, Any], shards: list[dict[str, Any]]) -> dict[str, Any]:
    """One crawl.json from the discovery run's and the shards' (pure): numbers and count maps summed,
    discovery's own facts (what was discovered, how, with which budget) from the discovery run, the
    blocking verdict recomputed on the totals, monitors listed per shard."""
    merged: dict[str, Any] = dict(discovery)
    for report in shards:
        for key, value in report.items():
            if key in _DISCOVERY_ONLY:
                continue
            mine = merged.get(key)
            if isinstance(value, bool) or not isinstance(value, (int, float, dict)):
                continue
            if isinstance(value, dict):
                if isinstance(mine, dict) and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                  for v in (*value.values(), *mine.values())):
                    merged[key] = {k: mine.get(k, 0) + value.get(k, 0) for k in sorted({*mine, *value})}
            elif isinstance(mine, (int, float)) and not isinstance(mine, bool):
                merged[key] = mine + value
    finished = [r.get("finished_at") or "" for r in (discovery, *shards)]
    merged["finished_at"] = max(finished)
    starts = [r.get("started_at") for r in (discovery, *shards) if r.get("started_at")]
    try:
        span = datetime.fromisoformat(merged["finished_at"]) - datetime.fromisoformat(min(starts))
        merged["duration_s"] = round(span.total_seconds(), 3)
    except (TypeError, ValueError):
        merged["duration_s"] = round(sum(float(r.get("duration_s") or 0) for r in (discovery, *shards)), 3)
    reasons = [r.get("finish_reason") for r in (discovery, *shards)]
    merged["finish_reason"] = next((x for x in reasons if x != "finished"), "finished")
    ok, blocked = int(merged.get("pages_ok", 0)), int(merged.get("pages_blocked", 0))
    threshold = float(discovery.get("blocked_threshold", 0.2))
    share = blocked / ok if ok else 0.0
    merged["blocked_share"] = round(share, 4)
    merged["blocking"] = ok > 0 and share > threshold
    from crawler.monitors import blocked_message  # not crawler.extensions: that one imports Scrapy

    merged["blocking_message"] = blocked_message(blocked, ok) if merged["blocking"] else None
    merged["monitors"] = [{**m, "shard": label} for label, r in
                          [("discover", discovery), *((_shard_name(i), r) for i, r in enumerate(shards))]
                          for m in r.get("monitors") or []]
    merged["shards"] = len(shards)
    merged["mode"] = "sharded" if shards else discovery.get("mode", "crawl")
    merged["shard_pages_fetched"] = [int(r.get("pages_fetched", 0)) for r in shards]
    return merged


def _run_loc(spec: RunSpec) -> str:
    """The run folder: a local path, or an ``s3://`` URI when NEWSLINE_STAGING is one."""
    from warehouse.paths import run_location

    return run_location(spec.settings.staging, spec.site, spec.logical_day, spec.run_id)


#: Written into a private crawl folder while its crawl runs: who owns it (a sweep skips live owners).
OWNER_FILE = "owner.json"
#: Logger the crawler's streamed output goes to (its own levels and times).
CRAWLER_LOGGER = "newsline.crawler"
_SCRAPY_LINE = re.compile(r"^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}) \[([^\]]+)\] (DEBUG|INFO|WARNING|ERROR|CRITICAL): ?(.*)$")


#: Scrapy loggers whose INFO lines are start-up dumps (relayed at DEBUG).
_STARTUP_DUMPS = frozenset({"scrapy.utils.log", "scrapy.middleware", "scrapy.addons", "scrapy.crawler"})


#: How long the crawler may stay quiet before its last log record is relayed without waiting for the next.
RELAY_PAUSE_S = 0.5


def _lines_or_pauses(stream: Any, pause: float = RELAY_PAUSE_S) -> Iterator[str | None]:
    """The stream's lines as they come, and ``None`` whenever none came for ``pause`` seconds. A record is
    relayed when the next one starts (its continuation lines may follow), so without the pauses the
    last line before a quiet spell (a progress line, a stall's warning) reached the task log only when
    the crawler spoke again."""
    import queue

    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        try:
            for line in stream:
                lines.put(line)
        finally:
            lines.put(None)  # the end of the stream

    reader = threading.Thread(target=read, name="crawler-log-reader", daemon=True)
    reader.start()
    while True:
        try:
            line = lines.get(timeout=pause)
        except queue.Empty:
            yield None
            continue
        if line is None:
            reader.join()
            return
        yield line


class CrawlLogRelay:
    """Scrapy's log lines (``2024-09-06 10:00:00 [logger] LEVEL: message``) → records of the
    ``newsline.crawler`` logger with the line's level and time; continuation lines (tracebacks,
    multi-line settings dumps) join the record they belong to. Scrapy's start-up dumps (versions,
    enabled middlewares, overridden settings) go to DEBUG."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self.logger = logger or logging.getLogger(CRAWLER_LOGGER)
        self._pending: tuple[int, float, str, list[str]] | None = None

    def feed(self, line: str) -> None:
        line = line.rstrip("\n")
        m = _SCRAPY_LINE.match(line)
        if m is None:
            if self._pending is not None:
                self._pending[3].append(line)
            elif line.strip():
                self._emit(logging.INFO, time.time(), "crawler", [line])
            return
        self.flush()
        stamp, name, level, message = m.groups()
        try:
            created = time.mktime(time.strptime(stamp, "%Y-%m-%d %H:%M:%S"))  # Scrapy logs local time
        except ValueError:
            created = time.time()
        levelno = getattr(logging, level)
        if levelno == logging.INFO and name in _STARTUP_DUMPS:
            levelno = logging.DEBUG  # versions, middleware lists, settings: in crawler.log, not the task log
        self._pending = (levelno, created, name, [message])

    def flush(self) -> None:
        if self._pending is not None:
            level, created, name, lines = self._pending
            self._pending = None
            self._emit(level, created, name, lines)

    def _emit(self, level: int, created: float, name: str, lines: list[str]) -> None:
        if not self.logger.isEnabledFor(level):
            return
        record = self.logger.makeRecord(self.logger.name, level, "crawler", 0, "[%s] %s",
                                        (name, "\n".join(lines)), None)
        record.created = created
        record.msecs = 0.0
        self.logger.handle(record)


@contextlib.contextmanager
def _forward_signals(proc: subprocess.Popen[str]) -> Iterator[None]:
    """SIGTERM/SIGINT/SIGHUP to this process also stop the crawler's process group, then go on to the
    handler that was there (Airflow's, KeyboardInterrupt), or exit with 128+signal."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous: dict[int, Any] = {}

    def handler(signum: int, frame: Any) -> None:
        _stop_process_group(proc, grace=5.0)
        prev = previous.get(signum)
        if callable(prev):
            prev(signum, frame)
        else:
            raise SystemExit(128 + signum)

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        try:
            previous[sig] = signal.signal(sig, handler)
        except (ValueError, OSError):
            pass
    try:
        yield
    finally:
        for sig, prev in previous.items():
            signal.signal(sig, prev)


def _stop_process_group(proc: subprocess.Popen[str], grace: float = 10.0) -> None:
    """SIGTERM the crawler's process group, SIGKILL it after ``grace`` seconds."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)  # a grandchild that outlived the leader


def _private_crawl_dir(spec: RunSpec) -> Path:
    """A fresh folder, private to this attempt, for the crawl step's output (in the worker's own
    temporary folder when staging is on object storage)."""
    from warehouse.paths import is_remote

    if is_remote(spec.settings.staging):
        import tempfile

        return Path(tempfile.mkdtemp(prefix=f".crawl-{spec.site}-"))
    spec.run_dir.mkdir(parents=True, exist_ok=True)
    work = spec.run_dir / f".crawl-{uuid.uuid4().hex[:8]}"
    work.mkdir()
    return work


def _owner_alive(folder: Path) -> bool:
    """A private crawl folder whose owning process (on this host) still runs."""
    try:
        owner = json.loads((folder / OWNER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if owner.get("host") != socket.gethostname():
        return True  # another machine's: never guess
    for pid in (owner.get("pid"), owner.get("crawler_pid")):
        if isinstance(pid, int) and pid > 0:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                continue
            except PermissionError:
                return True
            return True
    return False


def sweep_stale_crawl_dirs(spec: RunSpec, *, now: float | None = None) -> list[Path]:
    """Remove what killed attempts of this site-day left behind: private ``.crawl-*`` folders whose
    owner is gone (or that predate this run by a day), and ``*.tmp`` files older than this run.
    Returns what was removed."""
    from warehouse.paths import day_runs_dir

    now = time.time() if now is None else now
    day_dir = day_runs_dir(spec.settings.staging, spec.site, spec.logical_day)
    removed: list[Path] = []
    if not day_dir.is_dir():
        return removed
    for folder in day_dir.glob("*/.crawl-*"):
        if not folder.is_dir():
            continue
        try:
            age = now - folder.stat().st_mtime
        except OSError:
            continue
        owned = (folder / OWNER_FILE).exists()
        # an owner-less folder may be an attempt that is just starting: only sweep it after a while
        if (owned and not _owner_alive(folder)) or (not owned and age > 300) or age > 86400:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    for tmp in day_dir.rglob("*.tmp"):
        try:
            if tmp.is_file() and tmp.stat().st_mtime < now - 60 and not _owner_alive(tmp.parent):
                tmp.unlink()
                removed.append(tmp)
        except OSError:
            continue
    if removed:
        log.warning("swept %d leftover(s) of killed crawls of %s %s: %s", len(removed), spec.site, spec.day,
                    ", ".join(p.name for p in removed[:5]))
    return removed


def _publish_crawl_dir(spec: RunSpec, work: Path, dest: str = CRAWL_DIR) -> str:
    """Put a finished attempt's folder in place as the run's crawl output (or a shard's, ``dest``),
    replacing an older one; a retry running beside a zombie attempt never mixes their files (on S3:
    uploaded, crawl.json last)."""
    from warehouse.paths import join
    from warehouse.staging import publish_dir

    return publish_dir(work, join(_run_loc(spec), *dest.split("/")))


def archives_for_day(spec: RunSpec) -> list[str]:
    """Every raw archive of the day, one per earlier run, oldest first: the run's own folder, or
    its copy under the archive root when the run folder is gone (local paths or s3:// URIs)."""
    from warehouse.paths import archive_location, day_runs_location
    from warehouse.staging import list_stats

    s = spec.settings
    by_run: dict[str, tuple[float, str]] = {}  # run id -> (modified, path)
    day_dir = day_runs_location(s.staging, spec.site, spec.logical_day)
    for path, (modified, _size) in list_stats(day_dir).items():
        parts = path[len(day_dir):].strip("/").split("/")
        if len(parts) == 3 and parts[1:] == [CRAWL_DIR, "archive.warc.gz"]:
            by_run[parts[0]] = (modified, path)
    if s.archive:
        folder = archive_location(s.archive, spec.site, spec.logical_day, spec.run_id).rsplit("/", 1)[0]
        for path, (modified, _size) in list_stats(folder).items():
            name = path.rsplit("/", 1)[-1]
            if name.endswith(".warc.gz") and "/" not in path[len(folder) + 1:]:
                by_run.setdefault(name.removesuffix(".warc.gz"), (modified, path))
    by_run.pop(spec.run_id, None)
    return [path for _modified, path in sorted(by_run.values())]


def reprocess_crawl(spec: RunSpec) -> dict[str, Any]:
    """The crawl step without the network: re-parse the day's raw archives (WARC) with today's
    parser into the same staged files a crawl writes. This is how a parser fix reaches past days."""
    from crawler.replay import ReplayFailed, replay_archives

    archives = archives_for_day(spec)
    if not archives:
        raise RunFailed(f"no raw archive for {spec.site} {spec.day} under {spec.settings.staging}"
                        + (f" or {spec.settings.archive}" if spec.settings.archive else ""))
    import tempfile

    from warehouse.staging import local_copy

    work = _private_crawl_dir(spec)
    log.info("reprocessing %s day %s from %d archive(s)", spec.site, spec.day, len(archives))
    with tempfile.TemporaryDirectory(prefix=".archives-") as downloads:  # used only for s3:// archives
        local = [local_copy(a, Path(downloads)) for a in archives]
        try:
            stats = replay_archives(local, site=spec.site, day=spec.logical_day, out_dir=work, run_id=spec.run_id)
        except ReplayFailed as exc:
            raise RunFailed(str(exc)) from exc
    _publish_crawl_dir(spec, work)
    return {"run_dir": _run_loc(spec), "archives": list(archives), **_small(stats)}


def _keep_archive(spec: RunSpec, crawl_dir: Path) -> None:
    """Copy the run's WARC under the configured archive root (if any), atomically."""
    from warehouse.paths import archive_location
    from warehouse.staging import copy_file

    root = spec.settings.archive
    src = crawl_dir / "archive.warc.gz"
    if not root or not src.exists():
        return
    copy_file(src, archive_location(root, spec.site, spec.logical_day, spec.run_id))


def _write_known_index(spec: RunSpec, work: Path) -> Path | None:
    """What the warehouse already holds (each stored article's modification time, by article_id and
    by URL), so the crawler skips pages that did not change: ``crawler.known``'s compact file, 32
    bytes an article (JSON and a dict in the crawler cost ~950 MB a million articles)."""
    from crawler.known import encode
    from warehouse.reader import stored_modifications

    table = stored_modifications(spec.settings.warehouse, spec.site)
    if not table.num_rows:
        return None

    def entries() -> Iterator[tuple[str, datetime]]:
        for batch in table.to_batches(max_chunksize=65_536):
            for aid, url, when in zip(*(batch.column(i).to_pylist() for i in range(3)), strict=True):
                if when is not None:
                    yield aid, when
                    if url:
                        yield url, when

    path = work / "known_index.bin"
    path.write_bytes(encode(entries()))
    return path


def transform(spec: RunSpec) -> dict[str, Any]:
    """Clean and validate the staged items; bad rows and crawl rejections go to quarantine."""
    import pandas as pd

    from transforms.articles import clean_articles, items_frame, quarantine_frame
    from warehouse.paths import join
    from warehouse.staging import read_jsonl, write_frame

    run = _run_loc(spec)
    items = read_jsonl(join(run, CRAWL_DIR, "items.jsonl"))
    rejections = read_jsonl(join(run, CRAWL_DIR, "rejections.jsonl"))
    result = clean_articles(items_frame(items), site=spec.site_config, run_id=spec.run_id)
    crawl_rows = [
        {
            "site": spec.site,
            "url": r.get("url"),
            "reason": f"{r.get('kind', 'failed')}: {r.get('reason', '')}".strip(),
            "raw": r,
            "at": r.get("at"),
        }
        for r in rejections
    ]
    crawl_q = quarantine_frame(crawl_rows, run_id=spec.run_id, stage="crawl")
    non_empty = [q for q in (crawl_q, result.quarantine) if len(q)]
    quarantine = pd.concat(non_empty, ignore_index=True) if non_empty else result.quarantine
    write_frame(join(run, CLEAN_FILE), result.articles, kind="articles")
    write_frame(join(run, QUARANTINE_FILE), quarantine, kind="quarantine")
    return {
        "run_dir": run,
        "items": len(items),
        "articles_clean": len(result.articles),
        "articles_quarantined": len(result.quarantine),
        "crawl_rejections": len(crawl_q),
        "duplicates_collapsed": result.duplicates_collapsed,
        "field_coverage": field_coverage(result.articles),
        "per_section": {str(k): int(v) for k, v in result.articles["section"].value_counts().sort_index().items()}
        if len(result.articles) else {},
        "quarantine_reasons": reason_counts(quarantine),
    }


def load(spec: RunSpec) -> dict[str, Any]:
    """Merge the run's clean articles into the warehouse; write its quarantine beside it."""
    from warehouse.articles import merge_articles
    from warehouse.paths import join
    from warehouse.quarantine import write_quarantine
    from warehouse.staging import read_table

    table = read_table(join(_run_loc(spec), CLEAN_FILE))
    result = merge_articles(spec.settings.warehouse, table, run_id=spec.run_id)
    quarantine = read_table(join(_run_loc(spec), QUARANTINE_FILE))
    if result.collisions:  # pages that claimed an id another page holds in the warehouse (id_collision)
        import pandas as pd

        frames = [quarantine.to_pandas()] if quarantine is not None and quarantine.num_rows else []
        quarantine = pd.concat([*frames, pd.DataFrame(result.collisions)], ignore_index=True)
    qpath = write_quarantine(spec.settings.warehouse, quarantine, run_id=spec.run_id, day=spec.logical_day)
    out = {k: v for k, v in asdict(result).items() if not isinstance(v, (list, dict))}
    out["partitions_written"] = len(result.partitions_written)
    out["quarantine_path"] = qpath
    return out


def summarize(spec: RunSpec, crawl_stats: dict[str, Any], transform_stats: dict[str, Any],
              load_stats: dict[str, Any], *, started_at: float | None = None) -> dict[str, Any]:
    """Write the run summary (JSON in the run folder) and fail loudly on anomalies."""
    s = spec.settings
    summary: dict[str, Any] = {
        "site": spec.site,
        "day": spec.day,
        "run_id": spec.run_id,
        "base_url": spec.base_url,
        "warehouse": s.warehouse,
        "articles_discovered": int(crawl_stats.get("articles_discovered", 0)),
        "discovered_by_source": crawl_stats.get("discovered_by_source", {}),
        "pages_fetched": int(crawl_stats.get("pages_fetched", 0)),
        "pages_failed": int(crawl_stats.get("pages_failed", 0)),
        "pages_blocked": int(crawl_stats.get("pages_blocked", 0)),
        "pages_skipped_unchanged": int(crawl_stats.get("pages_skipped_unchanged", 0)),
        "articles_new": int(load_stats.get("new", 0)),
        "articles_updated": int(load_stats.get("updated", 0)),
        "articles_unchanged": int(load_stats.get("unchanged", 0)),
        "articles_stale": int(load_stats.get("stale", 0)),
        "articles_quarantined": int(transform_stats.get("articles_quarantined", 0))
        + int(transform_stats.get("crawl_rejections", 0)) + int(load_stats.get("id_collisions", 0)),
        "per_section": transform_stats.get("per_section", {}),
        "field_coverage": transform_stats.get("field_coverage", {}),
        "quarantine_reasons": _with_collisions(transform_stats.get("quarantine_reasons", {}),
                                               int(load_stats.get("id_collisions", 0))),
        "finish_reason": crawl_stats.get("finish_reason"),
        "crawl_duration_s": crawl_stats.get("duration_s"),
    }
    if started_at is not None:
        summary["duration_s"] = round(time.time() - started_at, 3)
    summary["anomalies"] = anomalies(summary, transform_stats, blocked_threshold=s.blocked_threshold)
    summary["status"] = "failed" if summary["anomalies"] else "ok"
    from warehouse.paths import join
    from warehouse.staging import write_json

    path = write_json(join(_run_loc(spec), SUMMARY_FILE), summary)
    summary["summary_path"] = path
    log.info("run summary %s", json.dumps(summary, sort_keys=True, default=str))
    if summary["anomalies"]:
        raise RunFailed(f"run {spec.run_id} for {spec.site} {spec.day} failed its checks: "
                        + "; ".join(summary["anomalies"]) + f" (summary: {path})")
    return summary


def anomalies(summary: dict[str, Any], transform_stats: dict[str, Any], *, blocked_threshold: float) -> list[str]:
    """The checks that turn a quiet hole into a failed run."""
    problems: list[str] = []
    fetched_ok = summary["pages_fetched"] - summary["pages_failed"]
    stored = summary["articles_new"] + summary["articles_updated"] + summary["articles_unchanged"]
    skipped = summary["pages_skipped_unchanged"]
    if summary["articles_discovered"] == 0:
        problems.append("no_articles_discovered: discovery found no article for the day")
    elif stored == 0 and skipped == 0:
        problems.append(f"zero_articles: {summary['articles_discovered']} discovered, none stored")
    clean = int(transform_stats.get("articles_clean", 0))
    quarantined = int(transform_stats.get("articles_quarantined", 0))
    if clean + quarantined and quarantined / (clean + quarantined) > 0.2:
        problems.append(f"mass_quarantine: {quarantined} of {clean + quarantined} parsed articles failed validation")
    if fetched_ok > 0 and summary["pages_blocked"] / max(fetched_ok, 1) > blocked_threshold:
        problems.append(f"site_blocking: {summary['pages_blocked']} of {fetched_ok} pages were empty or challenges")
    if clean:
        for name, floor in COVERAGE_FLOORS.items():
            share = summary["field_coverage"].get(name, 0.0)
            if share < floor:
                problems.append(f"coverage_collapse: {name} present in {share:.0%} of articles (floor {floor:.0%})")
    return problems


def field_coverage(frame: Any) -> dict[str, float]:
    if frame is None or len(frame) == 0:
        return {}
    out: dict[str, float] = {}
    for name in COVERAGE_COLUMNS:
        if name not in frame.columns:
            continue
        out[name] = round(float(frame[name].map(is_present).mean()), 4)
    return out


def _with_collisions(reasons: dict[str, int], collisions: int) -> dict[str, int]:
    """The transform's quarantine reasons plus the id collisions the merge found across days."""
    if not collisions:
        return dict(reasons)
    out = dict(reasons)
    out["id_collision"] = int(out.get("id_collision", 0)) + collisions
    return dict(sorted(out.items()))


def reason_counts(quarantine: Any) -> dict[str, int]:
    if quarantine is None or len(quarantine) == 0:
        return {}
    counts: dict[str, int] = {}
    for reason in quarantine["reason"]:
        for part in str(reason).split("; "):
            code = part.split(":", 1)[0].strip() or "unknown"
            counts[code] = counts.get(code, 0) + 1
    return dict(sorted(counts.items()))


def latest_summary(staging: str, site: str, day: date) -> dict[str, Any] | None:
    """The summary of the most recent run of a site and day, if any."""
    from warehouse.paths import day_runs_location
    from warehouse.staging import list_stats, read_json

    day_dir = day_runs_location(staging, site, day)
    found = sorted((modified, p) for p, (modified, _size) in list_stats(day_dir).items()
                   if p[len(day_dir):].strip("/").split("/")[1:] == [SUMMARY_FILE])
    return read_json(found[-1][1]) if found else None


def run_day(spec: RunSpec, *, incremental: bool = True, reprocess: bool = False) -> dict[str, Any]:
    """One whole day outside Airflow: the same steps the DAG runs, in the same order."""
    started = time.time()
    crawl_stats = reprocess_crawl(spec) if reprocess else crawl(spec, incremental=incremental)
    transform_stats = transform(spec)
    load_stats = load(spec)
    return summarize(spec, crawl_stats, transform_stats, load_stats, started_at=started)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


#: crawl.json keys that never travel through XCom (they stay in the run folder).
_BIG_KEYS = frozenset({"discovered_urls", "discovery_documents", "unfinished", "sitemaps_skipped_sample"})


def _small(stats: dict[str, Any]) -> dict[str, Any]:
    """The summary a task returns through XCom: counts and short facts, never URL lists (they stay in
    the run folder's crawl.json)."""
    return {k: v for k, v in stats.items()
            if k not in _BIG_KEYS and not (isinstance(v, list) and len(v) > 10)}
