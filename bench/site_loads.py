"""Benchmark: loads of several sites for the same day, concurrently vs one after another.

Each site has its own file in every partition, its own index and its own lock, so the loads of N
sites for one day (same dates, same sections) need not queue behind one lock. Measured in one run,
alternating: N processes each merging one site's day at the same moment, vs the same N processes
merging one after another (what a single warehouse lock amounts to). Processes are started and warm
(imports done, input read, one throw-away merge done) before the clock starts; each round loads
into a fresh warehouse.
"""

from __future__ import annotations

import logging
import multiprocessing
import shutil
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa

from bench.common import BenchResult, check, med
from bench.synthetic import day_table

DAY = date(2024, 11, 4)
AIM = "<= 0.8"


def site_table(site: str, n: int, first_id: int) -> pa.Table:
    """One site's day: the synthetic day with that site's ids (``<site>:<native id>``)."""
    table = day_table(DAY, n, first_id, seed=first_id)
    ids = [f"{site}:{i}" for i in range(first_id, first_id + n)]
    table = table.set_column(table.schema.get_field_index("article_id"), "article_id", pa.array(ids, pa.string()))
    return table.set_column(table.schema.get_field_index("site"), "site", pa.array([site] * n, pa.string()))


def _worker(root: str, batch: str, scratch: str, ready: Any, go: Any, done: Any) -> None:
    logging.getLogger("warehouse").setLevel(logging.WARNING)
    from warehouse.articles import merge_articles
    from warehouse.staging import read_table

    table = read_table(batch)
    merge_articles(scratch, table, run_id="warm-up")  # first-call costs (lazy imports, codecs) paid here
    ready.set()
    go.wait(600)
    merge_articles(root, table, run_id="bench")
    done.put(time.perf_counter())


def _timed(ctx: Any, work: Path, name: str, batches: list[str], *, together: bool) -> float:
    """Seconds from the start until every process has merged its site's batch: all started at once
    (``together``), or each started when the previous one has finished."""
    done = ctx.Queue()
    procs, gos = [], []
    for i, batch in enumerate(batches):
        ready, go = ctx.Event(), ctx.Event()
        args = (str(work / name), batch, str(work / f"{name}-scratch-{i}"), ready, go, done)
        proc = ctx.Process(target=_worker, args=args)
        proc.start()
        if not ready.wait(120):
            raise RuntimeError("a load process did not start")
        procs.append(proc)
        gos.append(go)
    t0 = time.perf_counter()
    finished = []
    if together:
        for go in gos:
            go.set()
        finished = [done.get(timeout=600) for _ in procs]
    else:
        for go in gos:
            go.set()
            finished.append(done.get(timeout=600))
    for proc in procs:
        proc.join(60)
        if proc.exitcode != 0:
            raise RuntimeError(f"a load process failed (exit {proc.exitcode})")
    return max(finished) - t0


def run(sites: int = 4, per_site: int = 300, rounds: int = 5) -> list[BenchResult]:
    from warehouse.staging import write_table

    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["pyarrow.parquet", "warehouse.articles", "warehouse.staging"])
    work = Path(tempfile.mkdtemp(prefix="bench-sites-"))
    try:
        batches = []
        for s in range(sites):
            path = work / f"site{s}.parquet"
            write_table(path, site_table(f"site{s}", per_site, 1000 + s * per_site))
            batches.append(str(path))
        together: list[float] = []
        in_turn: list[float] = []
        for r in range(rounds):
            together.append(_timed(ctx, work, f"together-{r}", batches, together=True))
            in_turn.append(_timed(ctx, work, f"in-turn-{r}", batches, together=False))
        ratio = med(together) / med(in_turn)
        return [BenchResult(
            name=f"Load {sites} sites x 1 day ({per_site} articles each, same partitions): concurrent vs one at a time",
            ratio=ratio, aim=AIM, met=check(ratio, AIM),
            detail=f"concurrent {med(together) * 1000:.0f} ms, one at a time {med(in_turn) * 1000:.0f} ms "
                   f"(median of {rounds}); {sites} processes on {multiprocessing.cpu_count()} cores")]
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    for row in run():
        print(row.row())
