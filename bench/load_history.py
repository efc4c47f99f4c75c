"""Benchmark 3: load cost against history — merging one ~300-article day into a warehouse that
already holds a year vs into an empty one, alternated in the same run. Aim: at most 1.5x."""

from __future__ import annotations

import hashlib
import logging
import shutil
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa

from bench.common import BenchResult, check, med
from bench.synthetic import day_table

PER_DAY = 300
HISTORY_START = date(2023, 9, 1)


def with_simhash(table: pa.Table) -> pa.Table:
    """Give every article a SimHash (random-looking, from its id) as real loads do, so the merge's
    near-duplicate step (index window + clustering) is part of what is measured."""
    values = [
        int.from_bytes(hashlib.blake2b(aid.encode(), digest_size=8).digest(), "little", signed=True)
        for aid in table["article_id"].to_pylist()
    ]
    return table.set_column(table.schema.get_field_index("simhash"), "simhash", pa.array(values, pa.int64()))


def build_history(root: str, days: int, per_day: int = PER_DAY) -> float:
    from warehouse.articles import merge_articles

    t0 = time.perf_counter()
    chunk: list[pa.Table] = []
    for i in range(days):
        chunk.append(with_simhash(day_table(HISTORY_START + timedelta(days=i), per_day, 1_000_000 + i * per_day)))
        if len(chunk) == 30 or i == days - 1:  # a month per merge keeps the set-up quick
            merge_articles(root, pa.concat_tables(chunk), run_id=f"history-{i}")
            chunk = []
    return time.perf_counter() - t0


def run(history_days: int = 365, rounds: int = 5) -> list[BenchResult]:
    from warehouse.articles import merge_articles

    logging.getLogger("warehouse").setLevel(logging.WARNING)
    work = Path(tempfile.mkdtemp(prefix="bench-load-"))
    try:
        history = str(work / "history")
        setup_s = build_history(history, history_days)
        empty_t, hist_t = [], []
        for r in range(rounds):
            day = HISTORY_START + timedelta(days=history_days + r)
            table = with_simhash(day_table(day, PER_DAY, 5_000_000 + r * PER_DAY))
            empty = str(work / f"empty-{r}")
            t0 = time.perf_counter()
            merge_articles(empty, table, run_id=f"e{r}")
            empty_t.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            merge_articles(history, table, run_id=f"h{r}")
            hist_t.append(time.perf_counter() - t0)
        ratio = med(hist_t) / med(empty_t)
        return [BenchResult(
            name=f"Load one {PER_DAY}-article day: {history_days}-day history vs empty", ratio=ratio, aim="<= 1.5",
            met=check(ratio, "<= 1.5"),
            detail=f"empty {med(empty_t) * 1000:.0f} ms, history {med(hist_t) * 1000:.0f} ms (median of {rounds}; "
                   f"worst {max(hist_t) * 1000:.0f} ms); "
                   f"history of {history_days * PER_DAY} rows built in {setup_s:.0f} s")]
    finally:
        shutil.rmtree(work, ignore_errors=True)
