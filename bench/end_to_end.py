"""Benchmark 6: end to end — one 1,000-article demo day through Airflow (``airflow dags test
japannews_daily``: crawl, transform, load, summarise as tasks) vs the crawl step alone for the same
day, alternated, each with a fresh warehouse and staging folder. Aim: under 1.5x.

Airflow's metadata lives in a temporary AIRFLOW_HOME (SQLite); ``airflow db migrate`` runs once
before any timing. The Airflow side is timed wall-clock around the whole ``airflow dags test``
process, so it includes Airflow's own start-up and DAG parsing: what a daily run really costs.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.common import BenchResult, check, interleaved, med
from bench.crawl_overhead import CONCURRENCY, DAY, demo_server, newsline_crawl
from core.sites import get_site
from newsline.demo import airflow, airflow_env, logical_date_for, prepare_airflow
from newsline.pipeline import latest_summary

SITE = "japannews"  # the site of bench.crawl_overhead's demo server

AIM = "<= 1.5"
_TASK_EVENT = re.compile(r"^(\S+Z) .*\[DAG TEST\] (starting|end task) task_id=(\w+)")


def task_timeline(log_text: str, launched: datetime) -> dict[str, float]:
    """Seconds from launching ``airflow dags test`` to its first task, and each task's duration,
    read from the timestamps of its ``[DAG TEST] starting/end task`` log lines."""
    starts: dict[str, datetime] = {}
    out: dict[str, float] = {}
    for line in log_text.splitlines():
        m = _TASK_EVENT.match(line)
        if not m:
            continue
        at = datetime.fromisoformat(m.group(1).replace("Z", "+00:00"))
        if m.group(2) == "starting":
            starts[m.group(3)] = at
            out.setdefault("_startup", (at - launched).total_seconds())
        elif m.group(3) in starts:
            out[m.group(3)] = (at - starts[m.group(3)]).total_seconds()
    return out


def covering_logical_date(env: dict[str, str], work: Path) -> str:
    """The logical date whose ``airflow dags test`` run covers ``DAY`` (``newsline.demo.logical_date_for``),
    checked by the day in the run's summary. Untimed; it doubles as the warm-up of Airflow and the demo server."""
    logical = logical_date_for(DAY)
    run_env = dict(env, NEWSLINE_WAREHOUSE=str(work / "probe" / "warehouse"), NEWSLINE_STAGING=str(work / "probe" / "runs"))
    airflow("dags", "test", get_site(SITE).dag, logical, env=run_env, log_path=work / "logs" / "probe.log",
            check=False)
    summary = latest_summary(run_env["NEWSLINE_STAGING"], SITE, DAY)
    shutil.rmtree(work / "probe", ignore_errors=True)
    if summary and summary.get("status") == "ok":
        return logical
    raise RuntimeError(f"the airflow dags test run for {logical} did not cover {DAY} cleanly")


def run(articles: int = 1000, rounds: int = 2) -> list[BenchResult]:
    site = get_site(SITE)
    work = Path(tempfile.mkdtemp(prefix="bench-e2e-"))
    try:
        with demo_server(articles) as server:
            env = airflow_env({SITE: server.base_url}, home=work / "airflow")
            env.update({"NEWSLINE_DOWNLOAD_DELAY": "0", "NEWSLINE_CONCURRENCY": str(CONCURRENCY),
                        "NEWSLINE_PAGE_BUDGET": "0", "NEWSLINE_ARCHIVE": ""})
            t0 = time.perf_counter()
            prepare_airflow(env, [site])
            migrate_s = time.perf_counter() - t0
            logical = covering_logical_date(env, work)
            counter = iter(range(10_000))
            stored: list[int] = []
            timelines: list[dict[str, float]] = []

            def through_airflow() -> None:
                n = next(counter)
                run_env = dict(env, NEWSLINE_WAREHOUSE=str(work / f"a{n}" / "warehouse"),
                               NEWSLINE_STAGING=str(work / f"a{n}" / "runs"))
                log_path = work / "logs" / f"dags-test-{n}.log"
                launched = datetime.now(UTC)
                rc = airflow("dags", "test", site.dag, logical, env=run_env, log_path=log_path,
                             check=False)
                summary = latest_summary(run_env["NEWSLINE_STAGING"], SITE, DAY)
                if rc != 0 or not summary or summary.get("status") != "ok":
                    tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-20:])
                    raise RuntimeError(f"airflow dags test failed (exit {rc}): {tail}")
                timelines.append(task_timeline(log_path.read_text(errors="replace"), launched))
                stored.append(int(summary["articles_new"]) + int(summary["articles_updated"]))
                shutil.rmtree(work / f"a{n}", ignore_errors=True)

            def crawl_only() -> None:
                n = next(counter)
                newsline_crawl(server.base_url, work / f"c{n}", f"bench-e2e-{n}")
                shutil.rmtree(work / f"c{n}", ignore_errors=True)

            times = interleaved({"airflow": through_airflow, "crawl": crawl_only}, rounds)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    ratio = med(times["airflow"]) / med(times["crawl"])
    steps = {k: med([t.get(k, 0.0) for t in timelines]) for k in timelines[0]}
    breakdown = ", ".join(f"{'start-up to first task' if k == '_startup' else k} {v:.1f} s" for k, v in steps.items())
    return [BenchResult(
        name=f"End to end: one {articles:,}-article day through Airflow vs the crawl step alone", ratio=ratio,
        aim=AIM, met=check(ratio, AIM),
        detail=(f"airflow dags test {med(times['airflow']):.1f} s ({min(stored)} articles stored), crawl alone "
                f"{med(times['crawl']):.1f} s; median of {rounds} alternated rounds; db migrate once "
                f"({migrate_s:.0f} s, not timed); inside airflow: {breakdown}"),
        extra={"airflow_s": med(times["airflow"]), "crawl_s": med(times["crawl"]),
               **{f"task_{k.lstrip('_')}_s": v for k, v in steps.items()}})]
