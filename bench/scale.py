"""Scale benchmarks of the distributed deployment (issue 12), both in ``make bench``:

* ``workers`` — throughput of the demo world with no politeness delay through the real cluster
  (``newsline.cluster.Cluster``: PostgreSQL, Redis, CeleryExecutor, Celery workers, moto S3): every
  demo site's demo days run once with 1 Celery worker and once with 2 (the same worker concurrency,
  a fresh cluster, staging and warehouse each time); the ratio is articles/s with 2 workers over
  articles/s with 1.
* ``polite`` — politeness-bound mode: the pipeline's crawl step of every demo site, each in its own
  process, all at once against the demo world, with each profile's own per-host delay; the demo
  servers' own request logs give the achieved request rate per host, compared with what the
  profiles allow (``1 / delay`` per host, summed over the hosts).

``python -m bench.scale crawl-one SITE DAY RUN_ID PAGE_BUDGET`` is the crawl step of one site (the
polite benchmark starts one per site); it is not meant to be run by hand.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from bench.common import BenchResult, check
from core.config import REPO_ROOT, base_url_env

WORKERS_AIM = ">= 1.7"
POLITE_AIM = ">= 0.9"
#: Scrapy setting that sets the random spread of each download delay (the project's: 0.5 = ±50 %).
JITTER_SETTING = "DOWNLOAD_DELAY_JITTER"


# --- politeness-bound mode ---------------------------------------------------------------------------


@dataclass
class HostRate:
    site: str
    delay: float  # the profile's delay, seconds between requests
    requests: int  # requests the site's server logged (control endpoints excluded)
    first: float  # arrival of the first and last of them (Unix seconds)
    last: float
    max_gap: float  # the longest wait between two consecutive requests
    min_gap: float  # the shortest (Scrapy's jitter never waits less than half the delay)

    @property
    def span(self) -> float:
        return self.last - self.first

    @property
    def rate(self) -> float:
        """Requests per second while the host was crawled: gaps ÷ the time they took."""
        return (self.requests - 1) / self.span if self.requests > 1 and self.span > 0 else 0.0

    @property
    def allowed(self) -> float:
        """What the profile allows: one request per ``delay`` on average (Scrapy spreads each wait
        over 0.5–1.5 × delay, mean = delay), so a long-run rate of ``1 / delay``."""
        return 1.0 / self.delay


def host_rate(site: str, delay: float, arrivals: list[float]) -> HostRate:
    """The rate a host's request log shows (``arrivals``: the request arrival times, any order)."""
    times = sorted(arrivals)
    if not times:
        return HostRate(site, delay, 0, 0.0, 0.0, 0.0, 0.0)
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    return HostRate(site, delay, len(times), times[0], times[-1], max(gaps, default=0.0), min(gaps, default=0.0))


def common_window_rate(hosts: list[HostRate], arrivals: dict[str, list[float]]) -> tuple[float, float]:
    """(requests/s of all hosts together, seconds) over the window in which every host was being
    crawled: from the latest first request to the earliest last one (gaps counted, as per host)."""
    start = max(h.first for h in hosts)
    end = min(h.last for h in hosts)
    if end <= start:
        return 0.0, 0.0
    gaps = sum(max(0, sum(1 for t in arrivals[h.site] if start <= t <= end) - 1) for h in hosts)
    return gaps / (end - start), end - start


def crawl_one(site: str, day: str, run_id: str, page_budget: int) -> int:
    """The pipeline's crawl step for one site-day (its profile's politeness), full crawl."""
    from newsline.pipeline import RunSpec, crawl

    spec = RunSpec(site=site, day=day, run_id=run_id, overrides={"page_budget": page_budget})
    result = crawl(spec, incremental=False)
    print(json.dumps({k: v for k, v in result.items() if isinstance(v, int | float | str)}), flush=True)
    return 0


def profile_delay(key: str) -> float:
    """The per-host delay a site's profile sets (else the built-in default the crawl step falls back to)."""
    from core.config import Settings
    from core.sites import get_site

    delay = get_site(key).politeness.delay
    return float(delay if delay is not None else Settings.__dataclass_fields__["download_delay"].default_factory())


def polite_round(world: Any, keys: list[str], seconds: float, work: Path,
                  jitter: float | None) -> tuple[list[HostRate], dict[str, list[float]]]:
    """One crawl of every site at once (the crawl step reads each profile's politeness: the
    environment overrides NEWSLINE_DOWNLOAD_DELAY / NEWSLINE_CONCURRENCY are removed)."""
    from demo_site.world import DEMO_SITES

    env = {k: v for k, v in os.environ.items()
           if k not in ("NEWSLINE_DOWNLOAD_DELAY", "NEWSLINE_CONCURRENCY", "NEWSLINE_ARCHIVE", "NEWSLINE_PAGE_BUDGET")}
    staging = work / f"runs-{'default' if jitter is None else jitter}"
    env.update({"NEWSLINE_STAGING": str(staging), "NEWSLINE_WAREHOUSE": str(work / "warehouse"),
                "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH", "")]))})
    if jitter is not None:
        env["NEWSLINE_SCRAPY_SETTINGS"] = json.dumps({JITTER_SETTING: jitter})
    for key, url in world.base_urls().items():
        env[base_url_env(key)] = url
    delays = {}
    procs = {}
    for server in world.servers.values():
        server.clear_requests()
    for key in keys:
        day = DEMO_SITES[key].days[0].isoformat()
        delays[key] = profile_delay(key)
        budget = max(5, math.ceil(seconds / delays[key]))  # every host busy for about `seconds`
        procs[key] = subprocess.Popen(
            [sys.executable, "-m", "bench.scale", "crawl-one", key, day, "polite", str(budget)],
            env=env, cwd=str(REPO_ROOT), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for key, proc in procs.items():
        out, err = proc.communicate(timeout=seconds * 6 + 120)
        if proc.returncode != 0:
            raise RuntimeError(f"crawl of {key} failed ({proc.returncode}): {err.strip().splitlines()[-1:]}")
    arrivals = {key: [at for at, _m, target in world.servers[key].timed_requests
                      if not target.startswith("/_newsline/")] for key in keys}
    shutil.rmtree(staging, ignore_errors=True)
    return [host_rate(key, delays[key], arrivals[key]) for key in keys], arrivals


def polite(seconds: float = 40.0, sites: list[str] | None = None, articles_per_day: int | None = None,
           compare_with_jitter: bool = True) -> list[BenchResult]:
    """Every demo site crawled at once, each with its own profile's delay; rates from the servers' logs."""
    from demo_site.world import DEMO_SITES, DemoWorld

    keys = list(sites or DEMO_SITES)
    needed = max(math.ceil(seconds / profile_delay(k)) for k in keys) + 10
    results: list[BenchResult] = []
    with tempfile.TemporaryDirectory(prefix="newsline-bench-polite-") as tmp, \
            DemoWorld(sites=keys, articles_per_day=articles_per_day or needed) as world:
        variants: list[float | None] = [None, 0.5] if compare_with_jitter else [None]
        measured = {v: polite_round(world, keys, seconds, Path(tmp), v) for v in variants}
    for variant, (hosts, arrivals) in measured.items():
        total, overlap = common_window_rate(hosts, arrivals)
        allowed = sum(h.allowed for h in hosts)
        ratio = total / allowed if allowed else 0.0
        longest = max(h.span for h in hosts)
        per_host = "; ".join(
            f"{h.site} {h.rate:.2f}/{h.allowed:.2f} req/s ({h.rate * h.delay:.0%}, delay {h.delay:g} s, "
            f"{h.requests} req in {h.span:.1f} s, gaps {h.min_gap:.2f}–{h.max_gap:.2f} s)" for h in hosts)
        jitter = "project default (off: a fixed gap)" if variant is None else f"{variant:g} (Scrapy's U(0.5, 1.5) jitter, for comparison)"
        name = (f"Politeness-bound: {len(hosts)} demo sites at once, achieved / allowed request rate"
                + ("" if variant is None else f", {JITTER_SETTING}={variant:g}"))
        detail = (f"{total:.2f} req/s in total while all {len(hosts)} hosts were crawled together ({overlap:.1f} s "
                  f"of the longest crawl's {longest:.1f} s) of the {allowed:.2f} the profiles allow (allowed = Σ "
                  f"1/delay: each profile's delay is the mean wait between two requests to its host); per host, "
                  f"each over its own crawl: {per_host}; "
                  f"pipeline crawl step per site in its own process, page budget ≈ {seconds:g} s × 1/delay; "
                  f"Scrapy delay jitter: {jitter}; rates from the demo servers' request logs")
        results.append(BenchResult(name, ratio, POLITE_AIM, check(ratio, POLITE_AIM), detail,
                                   extra={"total_rate": total, "allowed": allowed}))
    return results


# --- 2 workers vs 1 through the cluster ---------------------------------------------------------------


def _wait(predicate: Any, timeout: float, what: str, every: float = 1.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")


def cluster_round(urls: dict[str, str], days: dict[str, list[date]], workers: int, concurrency: int,
                  root: Path, published: set[str] | None = None, timeout: float = 3600,
                  timeline: Path | None = None) -> dict[str, Any]:
    """Every site's ``days`` through a fresh cluster with ``workers`` Celery workers of ``concurrency``
    slots each (no politeness delay: the cluster's NEWSLINE_DOWNLOAD_DELAY=0); returns what it did.

    Timed: from the first task's start to the last run's end (the metadata database's own clock), so
    the cluster's start-up and DAG parsing, the same for both, are left out. ``published``: the
    article ids the sites published on those days, which must all be stored, each once."""
    from core.sites import get_site
    from newsline.cluster import Cluster
    from newsline.demo import sites_dir_with
    from warehouse.reader import read_articles

    root.mkdir(parents=True, exist_ok=True)
    sites = sites_dir_with(root / "sites", {key: {"schedule": {
        "start_date": d[0].isoformat(), "end_date": d[-1].isoformat(), "catchup": True}} for key, d in days.items()})
    extra = {"NEWSLINE_SITES_DIR": str(sites), **{base_url_env(k): urls[k] for k in days}}
    dags = {get_site(k).dag: k for k in days}
    expected = sum(len(d) for d in days.values())
    cluster = Cluster(root / "cluster", base_url=urls[next(iter(days))], workers=workers,
                      worker_concurrency=concurrency, pool_slots=1, extra_env=extra)
    with cluster:
        pools = {k: {"slots": get_site(k).politeness.pool_slots, "description": f"crawls of {k}",
                     "include_deferred": False} for k in days}
        (root / "pools.json").write_text(json.dumps(pools), encoding="utf-8")
        cluster.airflow("pools", "import", str(root / "pools.json"))
        ids = list(dags)
        _wait(lambda: len(cluster.metadata("select dag_id from dag where dag_id = any(%s)", (ids,))) == len(ids),
              300, "every site's DAG to be parsed")
        # unpause all at once (what `airflow dags unpause` writes, without a CLI start per DAG)
        cluster.postgres.execute("airflow", "update dag set is_paused = false where dag_id = any(%s)", (ids,))

        def finished() -> list[dict[str, Any]] | None:
            dead = [n for n, ok in cluster.alive().items() if not ok]
            if dead:
                raise RuntimeError(f"cluster process(es) died: {dead}\n{cluster.logs()}")
            runs = cluster.metadata("select dag_id, run_id, state from dag_run where dag_id = any(%s)", (ids,))
            done = [r for r in runs if r["state"] in ("success", "failed")]
            return runs if len(done) >= expected and len(done) == len(runs) else None

        runs = _wait(finished, timeout, f"{expected} finished runs", every=1.0)
        span = cluster.metadata(
            "select extract(epoch from (select max(end_date) from dag_run where dag_id = any(%s)) - "
            "(select min(start_date) from task_instance where dag_id = any(%s))) as s", (ids, ids))[0]["s"]
        ti = cluster.metadata("select count(start_date) as n, sum(extract(epoch from end_date - start_date)) as busy "
                              "from task_instance where dag_id = any(%s)", (ids,))[0]
        tasks, busy = int(ti["n"]), float(ti["busy"] or 0.0)
        per_worker = {name: len(files) for name, files in cluster.worker_task_logs().items()}
        if timeline is not None:  # every task instance's queued / start / end times, for a look at the gaps
            rows = cluster.metadata(
                "select dag_id, run_id, task_id, map_index, try_number, hostname, pid, state, "
                "extract(epoch from scheduled_dttm) as scheduled, extract(epoch from queued_dttm) as queued, "
                "extract(epoch from start_date) as started, extract(epoch from end_date) as ended "
                "from task_instance where dag_id = any(%s) order by start_date", (ids,))
            timeline.write_text(json.dumps(rows, default=str, indent=1), encoding="utf-8")
            shutil.copytree(cluster.root / "service-logs", timeline.with_suffix(".logs"), dirs_exist_ok=True)
        saved = dict(os.environ)
        try:
            os.environ.update(cluster.s3.env)
            os.environ.pop("AWS_PROFILE", None)
            stored = read_articles(cluster.warehouse)
        finally:
            os.environ.clear()
            os.environ.update(saved)
        failed = [f"{r['dag_id']} {r['run_id']}" for r in runs if r["state"] != "success"]
        if failed:
            raise RuntimeError(f"{len(failed)} run(s) failed with {workers} worker(s): {failed[:4]}")
        if not stored["article_id"].is_unique:
            raise RuntimeError(f"{workers} worker(s): an article is stored twice")
        missing = (published or set()) - set(stored["article_id"])
        if missing:
            raise RuntimeError(f"{workers} worker(s): {len(missing)} published article(s) not stored, e.g. {sorted(missing)[:3]}")
        # busy: the share of the worker slots' time spent inside a task (the rest: queueing, scheduling)
        return {"workers": workers, "seconds": float(span), "articles": len(stored), "site_days": len(runs),
                "tasks": tasks, "task_s": busy / tasks if tasks else 0.0,
                "busy": busy / (float(span) * workers * concurrency) if span else 0.0,
                "per_worker": per_worker, "startup_s": cluster.timings.get("startup_s", 0.0)}


def _local_day(moment: Any, key: str) -> date:
    """The day of ``moment`` in site ``key``'s timezone. The demo world serves every page in its final
    state, so an article published on the last covered day but modified the day after carries the next
    day's lastmod and belongs to the next day's run (which a ``--quick`` round, one day per site, does
    not run): such articles are not expected."""
    from zoneinfo import ZoneInfo

    from core.sites import get_site

    return moment.astimezone(ZoneInfo(get_site(key).timezone)).date()


def workers_bench(days_per_site: int | None = None, concurrency: int = 1, rounds: int = 1,
                  sites: list[str] | None = None) -> list[BenchResult]:
    """1 Celery worker vs 2 (each ``concurrency`` slots) over the demo world's site-days; rounds
    alternate the order (1, 2, then 2, 1, …) so machine noise hits both."""
    from demo_site.world import DEMO_SITES, DemoWorld

    keys = list(sites or DEMO_SITES)
    days = {k: list(DEMO_SITES[k].days)[: days_per_site or None] for k in keys}
    done: dict[int, list[dict[str, Any]]] = {1: [], 2: []}
    with tempfile.TemporaryDirectory(prefix="newsline-bench-workers-") as tmp, DemoWorld(sites=keys) as world:
        urls = world.base_urls()
        published = {r["article_id"] for k, ds in days.items() for d in ds for r in world.truth(k, d)
                     if _local_day(r["modified_at"], k) <= ds[-1]}
        for r in range(rounds):
            for w in ((1, 2) if r % 2 == 0 else (2, 1)):
                out = cluster_round(urls, days, w, concurrency, Path(tmp) / f"r{r}-w{w}", published=published)
                print(f"[bench]   workers={w}: {out['articles']} articles, {out['site_days']} site-days, "
                      f"{out['tasks']} tasks in {out['seconds']:.1f} s (mean task {out['task_s']:.1f} s, slots busy "
                      f"{out['busy']:.0%}); task logs per worker {out['per_worker']}", file=sys.stderr, flush=True)
                done[w].append(out)

    def rate(outs: list[dict[str, Any]]) -> float:
        return statistics.median(o["articles"] / o["seconds"] for o in outs)

    one, two = rate(done[1]), rate(done[2])
    ratio = two / one if one else 0.0
    a = done[1][0]
    def about(outs: list[dict[str, Any]]) -> str:
        return (f"{statistics.median(o['seconds'] for o in outs):.1f} s, mean task "
                f"{statistics.median(o['task_s'] for o in outs):.1f} s, slots busy {statistics.median(o['busy'] for o in outs):.0%}")

    detail = (f"2 workers {two:.2f} articles/s ({about(done[2])}), 1 worker {one:.2f} articles/s ({about(done[1])}); "
              f"{a['site_days']} site-days ({len(keys)} demo sites × {max(len(d) for d in days.values())} days), "
              f"{a['articles']} articles stored ({len(published)} published on those days, all stored once), {a['tasks']} tasks each; CeleryExecutor on PostgreSQL + Redis, run folders "
              f"and warehouse on the S3 server, {concurrency} slot(s) per worker, delay 0, fresh cluster each time; "
              f"timed from the first task's start to the last run's end; median of {rounds} alternated round(s); "
              f"task logs per worker (2 workers): {done[2][0]['per_worker']}")
    return [BenchResult("Cluster throughput: 2 Celery workers vs 1, demo world, no politeness delay", ratio,
                        WORKERS_AIM, check(ratio, WORKERS_AIM), detail, extra={"one": one, "two": two})]


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) == 5 and args[0] == "crawl-one":
        return crawl_one(args[1], args[2], args[3], int(args[4]))
    print("newsline: error: usage: python -m bench.scale crawl-one SITE DAY RUN_ID PAGE_BUDGET", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
