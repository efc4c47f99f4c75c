"""Benchmark 5: memory on a long crawl — peak RSS of the crawler process crawling one demo day of
20,000 articles vs one of 2,000. Aim: ratio below 1.3 and the large crawl under 500 MB.

The crawler runs exactly as the pipeline starts it (``python -m crawler.run`` with the pipeline's
arguments, incremental off, no page budget); its peak RSS is the kernel's own ``ru_maxrss`` of that
one process: its ``VmHWM`` (the kernel's high-water mark of resident memory since ``exec``) read from
``/proc/PID/status`` every 0.1 s; the mark is monotonic, so polling cannot miss a short peak, only
the last 0.1 s of shut-down. (``ru_maxrss`` from ``wait4`` is no good here: it keeps the high-water
mark of the forked copy of this benchmark process from before ``exec``.)

``python -m bench.memory --profile N`` crawls N articles with ``tracemalloc`` running inside the
crawler process and prints the allocation sites that grew the most between 10 % and 100 % of the
crawl: how to find what grows when this benchmark misses.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.common import BenchResult
from bench.crawl_overhead import DAY, REPO, crawl_env, demo_server

AIM = "<= 1.3"
LIMIT_MB = 500
CONCURRENCY = 16
#: Discovery: the crawled day's own articles, and the cap on the crawler's peak RSS at 1,000,000 URLs.
DISCOVERY_DAY_ARTICLES = 100
DISCOVERY_LIMIT_MB = 300
DISCOVERY_AIM = 1.3
#: Known index: stored articles handed to an incremental crawl of one demo day of DISCOVERY_DAY_ARTICLES.
KNOWN_AIM = 1.5
KNOWN_LIMIT_MB = 300

#: Runs crawler.run with tracemalloc on, snapshotting when 10 % of the articles are scraped and at the end.
PROFILE_WRAPPER = r"""
import sys, tracemalloc, linecache
tracemalloc.start(8)
from scrapy import signals
from scrapy.crawler import Crawler
target = int(sys.argv.pop(1))
snaps = {}
orig_init = Crawler.__init__
def init(self, *a, **k):
    orig_init(self, *a, **k)
    count = [0]
    def scraped(*_a, **_k):
        count[0] += 1
        if count[0] == max(1, target // 10):
            snaps["early"] = tracemalloc.take_snapshot()
    def closed(*_a, **_k):
        snaps["late"] = tracemalloc.take_snapshot()
    self.signals.connect(scraped, signal=signals.item_scraped, weak=False)
    self.signals.connect(closed, signal=signals.spider_closed, weak=False)
Crawler.__init__ = init
from crawler.run import main
rc = main(sys.argv[1:])
if "early" in snaps and "late" in snaps:
    stats = snaps["late"].compare_to(snaps["early"], "traceback")
    print("top growth between 10% and 100% of the crawl:", file=sys.stdout)
    for st in stats[:12]:
        print(f"{st.size_diff / 1e6:+.2f} MB ({st.count_diff:+d} blocks)", file=sys.stdout)
        for line in st.traceback.format()[-8:]:
            print("    " + line, file=sys.stdout)
sys.exit(rc)
"""


def crawl_command(base_url: str, out: Path, run_id: str) -> list[str]:
    return [sys.executable, "-m", "crawler.run", "--site", "japannews", "--date", DAY.isoformat(),
            "--base-url", base_url, "--out", str(out), "--run-id", run_id, "--concurrency", str(CONCURRENCY),
            "--delay", "0", "--page-budget", "0", "--time-budget", "0"]


def peak_rss_of(cmd: list[str], log_path: Path) -> tuple[float, float]:
    """(peak RSS in MB, seconds) of one crawler process; RuntimeError with its log's tail on failure."""
    with log_path.open("wb") as log:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, env=crawl_env(), cwd=str(REPO), stdout=log, stderr=subprocess.STDOUT)
        peak_kb = 0
        while proc.poll() is None:
            peak_kb = max(peak_kb, vm_hwm_kb(proc.pid))
            time.sleep(0.1)
        seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        tail = log_path.read_text(errors="replace")[-1500:]
        raise RuntimeError(f"crawler exited {proc.returncode}: {tail}")
    return peak_kb / 1024, seconds


def peak_rss_crawl(articles: int, work: Path) -> tuple[float, float, int]:
    """(peak RSS in MB, seconds, items) of one crawler process over a day of ``articles`` articles."""
    with demo_server(articles) as server:
        out = work / f"crawl-{articles}"
        mb, seconds = peak_rss_of(crawl_command(server.base_url, out, f"mem-{articles}"),
                                  work / f"crawl-{articles}.log")
    items = sum(1 for _ in (out / "items.jsonl").open(encoding="utf-8"))
    return mb, seconds, items


@dataclass
class Discovery:
    """One discovery run over a demo site with an archive of ``urls`` sitemap URLs."""

    urls: int
    peak_mb: float
    seconds: float
    sitemap_urls_read: int  # <url> entries the crawler's sitemap reader went through (crawl.json)
    candidates: int  # the day's article URLs discovery kept
    items: int


def peak_rss_discovery(urls: int, work: Path, day_articles: int = DISCOVERY_DAY_ARTICLES) -> Discovery:
    """Crawl one demo day of ``day_articles`` articles whose sitemap index also lists an archive of
    ``urls`` URLs of other days (gzipped files of 50,000): every archive URL is read and filtered."""
    from demo_site.bigsitemap import BigSitemaps
    from demo_site.generator import DemoSite
    from demo_site.server import DemoServer

    site = DemoSite(days=[DAY], articles_per_day=day_articles)
    with DemoServer(site=site, big_sitemaps=BigSitemaps(urls, gzip=True)) as server:
        out = work / f"discover-{urls}"
        mb, seconds = peak_rss_of(crawl_command(server.base_url, out, f"disc-{urls}"), work / f"discover-{urls}.log")
    report = json.loads((out / "crawl.json").read_text(encoding="utf-8"))
    read = sum(_urls_in(doc.get("detail", "")) for doc in report["discovery_documents"] if doc.get("outcome") == "ok")
    return Discovery(urls, mb, seconds, read, int(report["articles_discovered"]), int(report["items_scraped"]))


def peak_rss_known(stored: int, work: Path) -> tuple[float, float, int]:
    """(peak RSS in MB, seconds, items) of an incremental crawl of one demo day of
    ``DISCOVERY_DAY_ARTICLES`` articles handed the pipeline's known index of ``stored`` other stored
    articles (each by id and URL, as ``newsline.pipeline`` writes it): the day is crawled in full."""
    from datetime import UTC, datetime, timedelta

    from crawler.known import encode

    then = datetime(2020, 1, 1, tzinfo=UTC)

    def entries():  # noqa: ANN202 - an iterator of (key, time)
        for i in range(stored):
            when = then + timedelta(minutes=i)
            yield f"japannews:{900_000_000 + i}", when
            yield f"https://japannews.example/news/20200101-{900_000_000 + i}/", when

    known = work / f"known-{stored}.bin"
    known.write_bytes(encode(entries()))
    with demo_server(DISCOVERY_DAY_ARTICLES) as server:
        out = work / f"known-{stored}"
        cmd = [*crawl_command(server.base_url, out, f"known-{stored}"), "--known-index", str(known)]
        mb, seconds = peak_rss_of(cmd, work / f"known-{stored}.log")
    items = sum(1 for _ in (out / "items.jsonl").open(encoding="utf-8"))
    return mb, seconds, items


def known_row(small: int, large: int, work: Path) -> BenchResult:
    (small_mb, small_s, small_items), (large_mb, large_s, large_items) = (
        peak_rss_known(n, work) for n in (small, large))
    ratio = large_mb / small_mb
    complete = small_items == large_items >= DISCOVERY_DAY_ARTICLES  # nothing of the day is in the index
    return BenchResult(
        name=f"Memory: incremental crawl peak RSS, known index of {large:,} vs {small:,} stored articles", ratio=ratio,
        aim=f"< {KNOWN_AIM} and < {KNOWN_LIMIT_MB} MB", met=ratio < KNOWN_AIM and large_mb < KNOWN_LIMIT_MB and complete,
        detail=(f"{small:,} stored: {small_mb:.0f} MB in {small_s:.1f} s; {large:,} stored: {large_mb:.0f} MB in "
                f"{large_s:.1f} s; the pipeline's compact known index (32 bytes a stored article); one demo day of "
                f"{DISCOVERY_DAY_ARTICLES} articles crawled in full ({large_items} items); VmHWM of the crawler process"
                + ("" if complete else "; INCOMPLETE: the day was not crawled in full")),
        extra={"small_mb": small_mb, "large_mb": large_mb})


def _urls_in(detail: str) -> int:
    m = re.match(r"(\d+) urls", detail)
    return int(m.group(1)) if m else 0


def vm_hwm_kb(pid: int) -> int:
    """Peak resident set size (KiB) of a live process since its exec; 0 once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def run(small: int = 2_000, large: int = 20_000, discovery_small: int = 100_000,
        discovery_large: int = 1_000_000, known: tuple[int, int] = (100_000, 1_000_000)) -> list[BenchResult]:
    work = Path(tempfile.mkdtemp(prefix="bench-mem-"))
    try:
        small_mb, small_s, small_items = peak_rss_crawl(small, work)
        large_mb, large_s, large_items = peak_rss_crawl(large, work)
        disc = [peak_rss_discovery(n, work) for n in (discovery_small, discovery_large)] if discovery_large else []
        known_result = known_row(*known, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    ratio = large_mb / small_mb
    met = ratio <= 1.3 and large_mb < LIMIT_MB
    rows = [BenchResult(
        name=f"Memory: crawler peak RSS, {large:,} vs {small:,} articles", ratio=ratio, aim=f"{AIM} and < {LIMIT_MB} MB",
        met=met,
        detail=(f"{small_items:,} items: {small_mb:.0f} MB in {small_s:.0f} s; {large_items:,} items: {large_mb:.0f} MB "
                f"in {large_s:.0f} s ({large_items / large_s:.0f} pages/s); VmHWM of the crawler process, "
                f"concurrency {CONCURRENCY}"),
        extra={"small_mb": small_mb, "large_mb": large_mb})]
    if disc:
        rows.append(discovery_row(*disc))
    rows.append(known_result)
    return rows


def discovery_row(small: Discovery, large: Discovery) -> BenchResult:
    ratio = large.peak_mb / small.peak_mb
    complete = all(d.sitemap_urls_read >= d.urls for d in (small, large)) and small.candidates == large.candidates
    met = ratio < DISCOVERY_AIM and large.peak_mb < DISCOVERY_LIMIT_MB and complete
    detail = "; ".join(
        f"{d.urls:,} archive URLs: {d.peak_mb:.0f} MB in {d.seconds:.0f} s ({d.sitemap_urls_read:,} sitemap URLs read, "
        f"{d.candidates} kept for the day, {d.items} items)"
        for d in (small, large)
    )
    return BenchResult(
        name=f"Memory: discovery peak RSS, sitemap of {large.urls:,} vs {small.urls:,} URLs", ratio=ratio,
        aim=f"< {DISCOVERY_AIM} and < {DISCOVERY_LIMIT_MB} MB", met=met,
        detail=(f"{detail}; gzipped files of 50,000 URLs, one demo day of {DISCOVERY_DAY_ARTICLES} articles crawled; "
                f"VmHWM of the crawler process" + ("" if complete else "; INCOMPLETE: not every URL was read")),
        extra={"small_mb": small.peak_mb, "large_mb": large.peak_mb},
    )


def profile(articles: int) -> int:
    """Crawl ``articles`` with tracemalloc in the crawler process and print what grew."""
    work = Path(tempfile.mkdtemp(prefix="bench-memprof-"))
    try:
        with demo_server(articles) as server:
            cmd = crawl_command(server.base_url, work / "out", "memprof")
            cmd = [sys.executable, "-c", PROFILE_WRAPPER, str(articles), *cmd[3:]]
            proc = subprocess.run(cmd, env=crawl_env(), cwd=str(REPO), capture_output=True, text=True)
        sys.stdout.write(proc.stdout)
        return proc.returncode
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Profile the crawler's memory growth with tracemalloc.")
    parser.add_argument("--profile", type=int, default=5_000, metavar="ARTICLES")
    parser.add_argument("--discovery", nargs=2, type=int, metavar=("SMALL", "LARGE"),
                        help="only the discovery case: peak RSS over archives of SMALL and LARGE sitemap URLs")
    parser.add_argument("--known", nargs=2, type=int, metavar=("SMALL", "LARGE"),
                        help="only the known-index case: peak RSS with SMALL and LARGE stored articles")
    args = parser.parse_args()
    if args.known:
        tmp = Path(tempfile.mkdtemp(prefix="bench-known-"))
        try:
            print(known_row(*args.known, tmp).row())
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        raise SystemExit(0)
    if args.discovery:
        tmp = Path(tempfile.mkdtemp(prefix="bench-disc-"))
        try:
            row = discovery_row(*(peak_rss_discovery(n, tmp) for n in args.discovery))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        print(row.row())
        raise SystemExit(0)
    raise SystemExit(profile(args.profile))
