"""``python -m bench`` (``make bench``): run every benchmark, print one markdown table and the
machine line, and write the table to ``bench/results.md``.

Exit status: non-zero when any benchmark could not run (its row says ERROR); a benchmark that ran
and missed its aim is reported as MISSED and does not change the exit status.

``--quick`` uses small sizes for a smoke run; ``--only NAME`` (repeatable) runs the named ones:
parse, crawl, load, sites, dag, memory, e2e, extract, profile, warc, table, s3rtt, polite, workers.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bench.common import BenchResult, machine

RESULTS = Path(__file__).resolve().parent / "results.md"
HEADER = "| benchmark | ratio | aim | verdict | detail |\n|---|---|---|---|---|"


def _parse(quick: bool) -> list[BenchResult]:
    from bench import parse_cost

    return parse_cost.run(pages=100, rounds=3) if quick else parse_cost.run(pages=300, rounds=5)


def _crawl(quick: bool) -> list[BenchResult]:
    from bench import crawl_overhead

    return crawl_overhead.run(articles=300, rounds=1) if quick else crawl_overhead.run(articles=1000, rounds=3)


def _load(quick: bool) -> list[BenchResult]:
    from bench import load_history

    return load_history.run(history_days=60, rounds=3) if quick else load_history.run()


def _sites(quick: bool) -> list[BenchResult]:
    from bench import site_loads

    return site_loads.run(sites=3, per_site=150, rounds=1) if quick else site_loads.run()


def _dag(quick: bool) -> list[BenchResult]:
    from bench import dag_parse

    return dag_parse.run(rounds=3) if quick else dag_parse.run()


def _memory(quick: bool) -> list[BenchResult]:
    from bench import memory

    return memory.run(small=200, large=2_000, discovery_small=10_000, discovery_large=100_000,
                      known=(10_000, 100_000)) if quick else memory.run()


def _e2e(quick: bool) -> list[BenchResult]:
    from bench import end_to_end

    return end_to_end.run(articles=300, rounds=1) if quick else end_to_end.run()


def _extract(quick: bool) -> list[BenchResult]:
    from bench import eval as extract_eval

    return extract_eval.bench_rows(quick=quick)


def _profile(quick: bool) -> list[BenchResult]:
    from bench import profile_speed

    return profile_speed.run(rounds=1 if quick else 3)


def _warc(quick: bool) -> list[BenchResult]:
    from bench import warc_ingest

    return warc_ingest.run(rounds=1, large_mb=16) if quick else warc_ingest.run()


def _polite(quick: bool) -> list[BenchResult]:
    from bench import scale

    return scale.polite(seconds=8) if quick else scale.polite()


def _workers(quick: bool) -> list[BenchResult]:
    from bench import scale

    # three alternated rounds (1, 2 / 2, 1 / 1, 2 workers), median: one round's ratio moves by ±0.05
    return scale.workers_bench(days_per_site=1) if quick else scale.workers_bench(rounds=3)


#: name → (title used when it cannot run, runner); in the order they run.
BENCHMARKS: dict[str, tuple[str, Callable[[bool], list[BenchResult]]]] = {
    "parse": ("Parse cost", _parse),
    "crawl": ("Crawl overhead", _crawl),
    "load": ("Load cost against history", _load),
    "sites": ("Concurrent loads of several sites", _sites),
    "dag": ("DAG parse cost", _dag),
    "memory": ("Memory on a long crawl", _memory),
    "e2e": ("End to end through Airflow", _e2e),
    "extract": ("Generic extraction vs trafilatura", _extract),
    "profile": ("Profile path vs trafilatura", _profile),
    "warc": ("Web-archive ingest", _warc),
    "table": ("Table format: ours vs Delta Lake on S3", lambda quick: __import__("bench.table_format").table_format.bench(quick)),
    "s3rtt": ("A load on S3 through a longer link", lambda quick: __import__("bench.s3_latency").s3_latency.bench(quick)),
    "polite": ("Politeness-bound crawl of every demo site at once", _polite),
    "workers": ("Cluster throughput, 2 Celery workers vs 1", _workers),
}


def run_all(names: list[str], quick: bool) -> list[BenchResult]:
    results: list[BenchResult] = []
    for name in names:
        title, fn = BENCHMARKS[name]
        print(f"[bench] {name}: {title} …", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        try:
            rows = fn(quick)
        except Exception as exc:  # a broken benchmark is a row, not a crash of the others
            traceback.print_exc(file=sys.stderr)
            rows = [BenchResult(name=title, ratio=None, aim="", met=None,
                                detail=f"could not run: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
                                if str(exc) else f"could not run: {type(exc).__name__}")]
        for row in rows:
            print(f"[bench]   {row.row()}", file=sys.stderr, flush=True)
        print(f"[bench] {name} took {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
        results.extend(rows)
    return results


def table(results: list[BenchResult], quick: bool) -> str:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [HEADER, *(r.row() for r in results), "",
             f"Machine: {machine()}. Run: {stamp}{' (--quick sizes)' if quick else ''}."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run of every benchmark")
    parser.add_argument("--only", action="append", choices=sorted(BENCHMARKS), metavar="NAME",
                        help=f"run only this benchmark (repeatable): {', '.join(BENCHMARKS)}")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where to write the table (default: bench/results.md)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    names = [n for n in BENCHMARKS if not args.only or n in args.only]
    started = time.perf_counter()
    results = run_all(names, args.quick)
    text = table(results, args.quick)
    print(text, end="")
    print(f"(all benchmarks took {time.perf_counter() - started:.0f} s)")
    args.out.write_text(text, encoding="utf-8")
    return 1 if any(r.met is None for r in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
