"""Benchmark 2: crawl overhead — article pages per second of the full Newsline crawl step
(``newsline.pipeline.crawl``: robots.txt, sitemap discovery, parsing, WARC, items, incremental off)
vs a bare Scrapy spider (``bench/bare_spider.py``) fetching the same article URLs from the same demo
server, same concurrency, no delay, alternated in the same run. Aim: at least 0.6.

Both run as their own process and are timed wall-clock around it, start-up included: that is what
one daily crawl costs. The demo server runs in this process (a thread), so both contenders are
served by the same server; on a 2-core machine the server and the crawler each get one core.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from bench.common import BenchResult, check, interleaved, med

REPO = Path(__file__).resolve().parents[1]
DAY = date(2024, 9, 6)
CONCURRENCY = 8
AIM = ">= 0.6"


@contextmanager
def demo_server(articles: int, day: date = DAY) -> Iterator[object]:
    """A demo site with one day of ``articles`` articles, served on a free 127.0.0.1 port."""
    from demo_site.generator import DemoSite
    from demo_site.server import DemoServer

    with DemoServer(site=DemoSite(days=[day], articles_per_day=articles)) as server:
        yield server


def crawl_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")]))
    return env


def crawl_overrides(base_url: str, work: Path, concurrency: int = CONCURRENCY) -> dict[str, object]:
    """Settings of a benchmark crawl: the demo server, a private staging/warehouse, no delay, no budgets."""
    return {"base_url": base_url, "staging": str(work / "runs"), "warehouse": str(work / "warehouse"),
            "archive": "", "concurrency_per_domain": concurrency, "download_delay": 0.0, "page_budget": 0,
            "time_budget_s": 0}


def newsline_crawl(base_url: str, work: Path, run_id: str, day: date = DAY,
                   concurrency: int = CONCURRENCY) -> dict[str, object]:
    """The crawl step exactly as ``newsline run --full`` runs it (its own process)."""
    from newsline.pipeline import RunSpec, crawl

    spec = RunSpec(site="japannews", day=day.isoformat(), run_id=run_id,
                   overrides=crawl_overrides(base_url, work, concurrency))
    return crawl(spec, incremental=False)


def bare_crawl(urls_file: Path, concurrency: int = CONCURRENCY) -> dict[str, int]:
    proc = subprocess.run([sys.executable, "-m", "bench.bare_spider", str(urls_file), "--concurrency",
                           str(concurrency)], capture_output=True, text=True, env=crawl_env(), cwd=str(REPO))
    if proc.returncode != 0:
        raise RuntimeError(f"bare spider failed (exit {proc.returncode}): {proc.stderr[-1500:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run(articles: int = 1000, rounds: int = 3) -> list[BenchResult]:
    work = Path(tempfile.mkdtemp(prefix="bench-crawl-"))
    try:
        with demo_server(articles) as server:
            urls = [rec["url"] for rec in server.truth(day=DAY)]
            urls_file = work / "urls.txt"
            urls_file.write_text("\n".join(urls), encoding="utf-8")
            fetched: dict[str, list[int]] = {"newsline": [], "bare": []}
            counter = iter(range(10_000))

            def ours() -> None:
                n = next(counter)
                stats = newsline_crawl(server.base_url, work / f"n{n}", f"bench-{n}")
                fetched["newsline"].append(int(stats.get("items_scraped", 0)))
                shutil.rmtree(work / f"n{n}", ignore_errors=True)

            def bare() -> None:
                fetched["bare"].append(bare_crawl(urls_file)["ok"])

            bare()  # warm the OS caches and the server's page cache alike for both
            fetched["bare"].clear()
            times = interleaved({"newsline": ours, "bare": bare}, rounds)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    n = len(urls)
    if min(fetched["newsline"]) < n or min(fetched["bare"]) < n:
        return [BenchResult(name="Crawl overhead", ratio=None, aim=AIM, met=None,
                            detail=f"incomplete crawls: newsline items {fetched['newsline']}, bare ok "
                                   f"{fetched['bare']} of {n} URLs")]
    ours_pps, bare_pps = n / med(times["newsline"]), n / med(times["bare"])
    ratio = ours_pps / bare_pps
    return [BenchResult(
        name=f"Crawl: newsline crawl step vs bare Scrapy spider, pages/s ({n} articles)", ratio=ratio, aim=AIM,
        met=check(ratio, AIM),
        detail=(f"newsline {ours_pps:.0f} pages/s ({med(times['newsline']):.1f} s incl. discovery, parse, WARC, "
                f"items), bare {bare_pps:.0f} pages/s ({med(times['bare']):.1f} s); concurrency {CONCURRENCY}, "
                f"delay 0, process start included, median of {rounds} alternated rounds"),
        extra={"newsline_pps": ours_pps, "bare_pps": bare_pps})]
