"""Benchmark: the warehouse's own table format vs Delta Lake (``deltalake``, delta-rs), on one S3 API.

Both formats hold the same articles on the same moto S3 server (started here, on 127.0.0.1), side
by side in one run:

- **ours**: ``warehouse.articles.merge_articles`` (per-site Parquet files under ``date=/section=``,
  journal, base+delta index, S3 lease lock);
- **Delta**: one Delta table partitioned by ``date`` and ``section``, loaded with
  ``DeltaTable.merge`` on ``article_id``: ``when_matched_update_all`` only when the incoming row is
  newer by the warehouse's own rule (``modified_at, revision, fetched_at, content_hash``), and
  ``when_not_matched_insert_all``. Concurrency: delta-rs 1.x commits a log entry with a conditional
  PUT (``If-None-Match: *``, its S3 default; no DynamoDB lock and no ``AWS_S3_ALLOW_UNSAFE_RENAME``),
  which moto honours; a writer whose MERGE conflicts gets ``CommitFailedError`` and re-runs it.

Four measurements:

- (a) load one day (200 new articles + 20 newer revisions of the previous day's) into a table that
  holds a year of history (365 days x 200 articles), alternated, median of the rounds;
- (b) N writers (sites x shards, overlapping days and sections, shards carrying newer revisions of
  other shards' articles) loading at once: wall time, conflicts and retries, rows lost, duplicated
  or at the wrong version;
- (c) SIGKILL of a writer at random moments: is the table readable, is the batch all in or all out,
  does a re-run converge;
- (d) what analysts' tools read from the folder after updates: ``pd.read_parquet(folder)``, DuckDB
  ``read_parquet('…/**/*.parquet', hive_partitioning=1)``, Polars, vs the true row count.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import multiprocessing
import os
import random
import signal
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from bench.common import BenchResult, check, med
from bench.synthetic import SECTIONS, day_table
from core.schema import ARTICLES_SCHEMA

BUCKET = "bench-table-format"
START = date(2024, 1, 1)
PER_DAY = 200
UPDATES = 20
BODY_WORDS = 120

#: "the incoming row s is newer than the stored row t": the warehouse's order
#: (modified_at, revision, fetched_at, content_hash), as a Delta MERGE predicate.
NEWER = (
    "s.modified_at > t.modified_at OR (s.modified_at = t.modified_at AND (s.revision > t.revision OR "
    "(s.revision = t.revision AND (s.fetched_at > t.fetched_at OR "
    "(s.fetched_at = t.fetched_at AND s.content_hash > t.content_hash)))))"
)
PARTITION_BY = ["date", "section"]


# --- data -------------------------------------------------------------------------------------------


def site_day(site: str, day: date, n: int, first_id: int) -> pa.Table:
    table = day_table(day, n, first_id, seed=first_id, body_words=BODY_WORDS)
    ids = [f"{site}:{i}" for i in range(first_id, first_id + n)]
    table = table.set_column(table.schema.get_field_index("article_id"), "article_id", pa.array(ids, pa.string()))
    table = table.set_column(table.schema.get_field_index("site"), "site", pa.array([site] * n, pa.string()))
    return pa.Table.from_arrays(table.columns, schema=ARTICLES_SCHEMA)


def newer(table: pa.Table, step: int = 1, move: bool = False) -> pa.Table:
    """The same articles ``step`` revisions later (modified ``step`` hours later, new body); ``move``
    also changes their section."""
    def put(t: pa.Table, name: str, values: Any) -> pa.Table:
        return t.set_column(t.schema.get_field_index(name), name, values)

    bodies = [f"{b} revised {step}" for b in table["body"].to_pylist()]
    out = put(table, "body", pa.array(bodies, pa.string()))
    out = put(out, "revision", pc.add(table["revision"], pa.scalar(step, pa.int32())))
    out = put(out, "modified_at", pc.add(table["modified_at"], pa.scalar(timedelta(hours=step))))
    out = put(out, "content_hash", pa.array([hashlib.sha256(b.encode()).hexdigest() for b in bodies], pa.string()))
    if move:
        moved = [SECTIONS[(SECTIONS.index(s) + 1) % len(SECTIONS)] for s in table["section"].to_pylist()]
        out = put(out, "section", pa.array(moved, pa.string()))
    return pa.Table.from_arrays(out.columns, schema=table.schema)


def first_id_of(day: date) -> int:
    return 1_000_000 + (day - START).days * PER_DAY


def day_batch(day: date) -> pa.Table:
    """A daily load: the day's new articles and newer revisions of some of the previous day's."""
    yesterday = day - timedelta(days=1)
    fresh = site_day("japannews", day, PER_DAY, first_id_of(day))
    revised = newer(site_day("japannews", yesterday, PER_DAY, first_id_of(yesterday)).slice(0, UPDATES))
    return pa.concat_tables([fresh, revised])


def state_of(table: pa.Table) -> dict[str, str]:
    """article_id -> content_hash; raises on a duplicated id."""
    ids = table["article_id"].to_pylist()
    dup = [a for a, k in Counter(ids).items() if k > 1]
    if dup:
        raise AssertionError(f"{len(dup)} duplicated ids")
    return dict(zip(ids, table["content_hash"].to_pylist(), strict=True))


def applied(before: dict[str, str], batch: pa.Table, versions: dict[str, tuple]) -> dict[str, str]:
    """``before`` after merging ``batch`` by the newer-version rule (``versions``: id -> stored key)."""
    out = dict(before)
    for row in batch.select(["article_id", "modified_at", "revision", "fetched_at", "content_hash"]).to_pylist():
        key = (row["modified_at"], row["revision"], row["fetched_at"], row["content_hash"])
        if row["article_id"] not in versions or key > versions[row["article_id"]]:
            out[row["article_id"]] = row["content_hash"]
            versions[row["article_id"]] = key
    return out


# --- the two formats ----------------------------------------------------------------------------------


def storage_options() -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL": os.environ["AWS_ENDPOINT_URL"],
        "AWS_ALLOW_HTTP": "true",
        "AWS_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        "AWS_ACCESS_KEY_ID": os.environ["AWS_ACCESS_KEY_ID"],
        "AWS_SECRET_ACCESS_KEY": os.environ["AWS_SECRET_ACCESS_KEY"],
    }


def delta_create(uri: str) -> None:
    from deltalake import DeltaTable

    DeltaTable.create(uri, schema=ARTICLES_SCHEMA, partition_by=PARTITION_BY, storage_options=storage_options())


def delta_append(uri: str, table: pa.Table) -> None:
    from deltalake import write_deltalake

    write_deltalake(uri, table, mode="append", partition_by=PARTITION_BY, storage_options=storage_options())


def delta_merge(uri: str, batch: pa.Table, max_attempts: int = 100) -> int:
    """MERGE the batch; on a commit conflict re-read the table and run the MERGE again. Returns the
    number of attempts."""
    from deltalake import DeltaTable
    from deltalake.exceptions import CommitFailedError

    batch = newest_per_id(batch)  # MERGE inserts every unmatched source row: two of one id would both land
    for attempt in range(1, max_attempts + 1):
        table = DeltaTable(uri, storage_options=storage_options())
        try:
            (
                table.merge(batch, predicate="t.article_id = s.article_id", source_alias="s", target_alias="t")
                .when_matched_update_all(predicate=NEWER)
                .when_not_matched_insert_all()
                .execute()
            )
            return attempt
        except CommitFailedError:
            time.sleep(random.uniform(0.0, 0.2))
    raise RuntimeError(f"MERGE still conflicting after {max_attempts} attempts")


def newest_per_id(batch: pa.Table) -> pa.Table:
    """One row per article_id, the newest by the warehouse's order (what our merge does first)."""
    order = batch.sort_by([("article_id", "ascending"), ("modified_at", "descending"), ("revision", "descending"),
                           ("fetched_at", "descending"), ("content_hash", "descending")])
    ids = order["article_id"].to_pylist()
    keep = [i for i, aid in enumerate(ids) if i == 0 or ids[i - 1] != aid]
    return order.take(keep)


def delta_read(uri: str) -> pa.Table:
    from deltalake import DeltaTable

    return DeltaTable(uri, storage_options=storage_options()).to_pyarrow_table()


def ours_read(root: str) -> pa.Table:
    from warehouse.reader import read_articles_table

    return read_articles_table(root)


def ours_merge(root: str, batch: pa.Table, run_id: str) -> int:
    from warehouse.articles import merge_articles

    merge_articles(root, batch, run_id=run_id)
    return 1


# --- worker processes ---------------------------------------------------------------------------------


def _writer(fmt: str, where: str, batch_file: str, env: dict[str, str], ready: Any, go: Any, out: Any) -> None:
    os.environ.update(env)
    logging.getLogger("warehouse").setLevel(logging.ERROR)
    from warehouse.staging import read_table

    batch = read_table(batch_file)
    if fmt == "delta":
        import deltalake  # noqa: F401  (import cost paid before the start)
    ready.set()
    if go is not None:
        go.wait(600)
    t0 = time.perf_counter()
    attempts = delta_merge(where, batch) if fmt == "delta" else ours_merge(where, batch, os.path.basename(batch_file)[:-8])
    out.put((fmt, time.perf_counter(), attempts, time.perf_counter() - t0))


def _context() -> Any:
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["pyarrow.parquet", "s3fs", "warehouse.articles", "warehouse.s3", "warehouse.staging"])
    return ctx


# --- (a) one day into a year ------------------------------------------------------------------------


def history(days: int) -> list[pa.Table]:
    months = []
    chunk = []
    for i in range(days):
        day = START + timedelta(days=i)
        chunk.append(site_day("japannews", day, PER_DAY, first_id_of(day)))
        if len(chunk) == 30 or i == days - 1:
            months.append(pa.concat_tables(chunk))
            chunk = []
    return months


def upload(local: str, root: str) -> int:
    """Every file of a local warehouse to the same keys under an ``s3://`` root (16 at a time)."""
    from concurrent.futures import ThreadPoolExecutor
    from pathlib import Path

    import boto3
    from botocore.config import Config

    client = boto3.client("s3", config=Config(max_pool_connections=16))
    bucket, _, prefix = root.removeprefix("s3://").partition("/")
    files = [p for p in Path(local).rglob("*") if p.is_file() and "_locks" not in p.parts]

    def put(path: Path) -> None:
        client.put_object(Bucket=bucket, Key=f"{prefix}/{path.relative_to(local)}", Body=path.read_bytes())

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(put, files))
    return len(files)


def load_against_history(base: str, work: str, days: int, rounds: int) -> dict[str, Any]:
    """A year in each format, then the same daily loads into both, alternated. Our year is built
    by the same merges on a local disk and uploaded (byte-identical to merging on S3, where a year
    of month-sized merges takes ~15 min against moto); Delta's is appended month by month on S3."""
    ours, delta = f"{base}/ours", f"{base}/delta"
    t0 = time.perf_counter()
    local = os.path.join(work, "ours-history")
    for k, month in enumerate(history(days)):
        ours_merge(local, month, f"history-{k}")
    upload(local, ours)
    ours_setup = time.perf_counter() - t0
    t0 = time.perf_counter()
    delta_create(delta)
    for month in history(days):
        delta_append(delta, month)
    delta_setup = time.perf_counter() - t0
    times: dict[str, list[float]] = {"ours": [], "delta": []}
    for r in range(rounds):
        batch = day_batch(START + timedelta(days=days + r))
        t0 = time.perf_counter()
        ours_merge(ours, batch, f"day-{r}")
        times["ours"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        delta_merge(delta, batch)
        times["delta"].append(time.perf_counter() - t0)
    return {"ours": ours, "delta": delta, "times": times, "rows": days * PER_DAY + rounds * PER_DAY,
            "setup": (ours_setup, delta_setup)}


# --- (b) N writers at once ----------------------------------------------------------------------------


def shard_batches(sites: int, shards: int, per_shard: int, days: int = 3) -> list[tuple[str, pa.Table]]:
    """Each site's shard k owns ``per_shard`` articles spread over the same days and sections as the
    others, and carries revision 1 of a tenth of shard k+1's and revision 2 (moved) of a twentieth of shard k+2's."""
    out = []
    for s in range(sites):
        site = f"site{s}"

        def owned(k: int, site: str = site, s: int = s) -> pa.Table:
            parts = []
            per = per_shard // days
            for d in range(days):
                first = 10_000 * s + k * per_shard + d * per
                parts.append(site_day(site, START + timedelta(days=d), per, first))
            return pa.concat_tables(parts)

        for k in range(shards):
            nxt, after = owned((k + 1) % shards), owned((k + 2) % shards)
            step = max(1, nxt.num_rows // 10)
            rev1 = newer(nxt.take(list(range(0, nxt.num_rows, step))), 1)
            rev2 = newer(after.take(list(range(0, after.num_rows, 2 * step))), 2, move=True)
            out.append((f"{site}-shard{k}", pa.concat_tables([owned(k), rev1, rev2])))
    return out


def expected_of(batches: list[pa.Table]) -> dict[str, str]:
    versions: dict[str, tuple] = {}
    state: dict[str, str] = {}
    for batch in batches:
        state = applied(state, batch, versions)
    return state


def audit(table: pa.Table, expected: dict[str, str]) -> dict[str, int]:
    ids = table["article_id"].to_pylist()
    counts = Counter(ids)
    got = dict(zip(ids, table["content_hash"].to_pylist(), strict=True))
    return {
        "lost": len(set(expected) - set(counts)),
        "duplicated": sum(k - 1 for k in counts.values()),
        "stale": sum(1 for a, h in expected.items() if a in got and got[a] != h),
        "extra": len(set(counts) - set(expected)),
    }


def concurrent_writers(base: str, work: str, sites: int, shards: int, per_shard: int) -> dict[str, Any]:
    from warehouse.staging import write_table

    batches = shard_batches(sites, shards, per_shard)
    files = []
    for name, table in batches:
        path = os.path.join(work, f"{name}.parquet")
        write_table(path, table)
        files.append(path)
    expected = expected_of([t for _, t in batches])
    ctx = _context()
    env = {k: v for k, v in os.environ.items() if k.startswith("AWS_")}
    result: dict[str, Any] = {}
    for fmt in ("ours", "delta"):
        where = f"{base}/concurrent-{fmt}"
        if fmt == "delta":
            delta_create(where)
        out, go = ctx.Queue(), ctx.Event()
        procs = []
        for path in files:
            ready = ctx.Event()
            proc = ctx.Process(target=_writer, args=(fmt, where, path, env, ready, go, out))
            proc.start()
            procs.append((proc, ready))
        for _, ready in procs:
            if not ready.wait(300):
                raise RuntimeError("a writer did not start")
        t0 = time.perf_counter()
        go.set()
        done = [out.get(timeout=900) for _ in procs]
        for proc, _ in procs:
            proc.join(60)
            if proc.exitcode != 0:
                raise RuntimeError(f"a {fmt} writer failed (exit {proc.exitcode})")
        table = delta_read(where) if fmt == "delta" else ours_read(where)
        result[fmt] = {
            "wall": max(d[1] for d in done) - t0,
            "attempts": sum(d[2] for d in done),
            "writers": len(done),
            **audit(table, expected),
        }
    result["rows"] = len(expected)
    return result


# --- (c) SIGKILL at random moments --------------------------------------------------------------------


def _orphans(uri: str) -> int:
    """Data files in the Delta folder that the log does not reference (left by killed writers or
    removed by later commits): what a plain Parquet reader reads too much."""
    import s3fs
    from deltalake import DeltaTable

    live = {u.removeprefix("s3://") for u in DeltaTable(uri, storage_options=storage_options()).file_uris()}
    fs = s3fs.S3FileSystem(skip_instance_cache=True, use_listings_cache=False)
    files = [p for p in fs.find(uri.removeprefix("s3://")) if p.endswith(".parquet") and "/_delta_log/" not in p]
    return len([p for p in files if p not in live])


def crashes(base: str, work: str, kills: int, seed: int = 7) -> dict[str, Any]:
    """For each format: a small table, then ``kills`` times: a writer merging a new batch is
    SIGKILLed after a random delay within its normal duration; then the table is read (readable?
    batch all in / all out / partly in?), and the batch is merged again (converges?)."""
    from warehouse.s3 import LOCK_TTL_ENV
    from warehouse.staging import write_table

    rng = random.Random(seed)
    ctx = _context()
    env = {**{k: v for k, v in os.environ.items() if k.startswith("AWS_")}, LOCK_TTL_ENV: "0"}
    os.environ[LOCK_TTL_ENV] = "0"
    result: dict[str, Any] = {}
    for fmt in ("ours", "delta"):
        where = f"{base}/crash-{fmt}"
        seed_rows = pa.concat_tables([site_day("japannews", START + timedelta(days=d), 100, 1_000_000 + d * PER_DAY)
                                      for d in range(3)])
        versions: dict[str, tuple] = {}
        if fmt == "delta":
            delta_create(where)
            delta_merge(where, seed_rows)
        else:
            ours_merge(where, seed_rows, "seed")
        truth = applied({}, seed_rows, versions)
        read = delta_read if fmt == "delta" else ours_read
        merge = (lambda w, b, r: delta_merge(w, b)) if fmt == "delta" else ours_merge
        counts = Counter()
        durations = []
        for k in range(kills + 1):
            day = START + timedelta(days=3 + k)
            batch = pa.concat_tables([site_day("japannews", day, 100, first_id_of(day)),
                                      newer(site_day("japannews", day - timedelta(days=1), 100,
                                                     first_id_of(day - timedelta(days=1))).slice(0, 30), 1 + k)])
            path = os.path.join(work, f"crash-{fmt}-{k}.parquet")
            write_table(path, batch)
            after = applied(truth, batch, dict(versions))
            out, go, ready = ctx.Queue(), ctx.Event(), ctx.Event()
            proc = ctx.Process(target=_writer, args=(fmt, where, path, env, ready, go, out))
            proc.start()
            if not ready.wait(300):
                raise RuntimeError("a writer did not start")
            go.set()
            if k == 0:  # the first one runs to the end: its duration sets the window for the kills
                durations.append(out.get(timeout=600)[3])
                proc.join(60)
                truth = applied(truth, batch, versions)
                continue
            time.sleep(rng.uniform(0.0, 1.0) * med(durations))
            with contextlib.suppress(ProcessLookupError):  # it may have finished and been reaped already
                os.kill(proc.pid, signal.SIGKILL)
            proc.join(60)
            finished = proc.exitcode == 0
            try:
                state = state_of(read(where))
            except Exception:  # unreadable or duplicated rows
                counts["broken"] += 1
                state = None
            if state is not None:
                if state == truth:
                    counts["all out"] += 1
                elif state == after:
                    counts["all in"] += 1
                elif all(state.get(a) in {truth.get(a), after.get(a)} for a in set(state) | set(after)):
                    counts["partly in"] += 1
                else:
                    counts["wrong"] += 1
            counts["finished before the kill"] += finished
            merge(where, batch, f"crash-{fmt}-{k}")
            truth = applied(truth, batch, versions)
            try:
                counts["converged"] += state_of(read(where)) == truth
            except Exception:
                pass
        result[fmt] = dict(counts)
        if fmt == "delta":
            result["delta"]["orphan files"] = _orphans(where)
    result["kills"] = kills
    return result


# --- (d) what readers see -----------------------------------------------------------------------------


def readers(ours: str, delta: str) -> dict[str, dict[str, int]]:
    import duckdb
    import pandas as pd
    import polars as pl
    import s3fs

    polars_options = {"aws_endpoint_url": os.environ["AWS_ENDPOINT_URL"], "aws_allow_http": "true",
                      "aws_region": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
                      "aws_access_key_id": os.environ["AWS_ACCESS_KEY_ID"],
                      "aws_secret_access_key": os.environ["AWS_SECRET_ACCESS_KEY"]}
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.register_filesystem(s3fs.S3FileSystem(skip_instance_cache=True, use_listings_cache=False))

    def plain(folder: str) -> dict[str, int]:
        return {
            "pandas": len(pd.read_parquet(folder, columns=["article_id"])),
            "duckdb": con.execute(f"SELECT count(*) FROM read_parquet('{folder}/**/*.parquet', "
                                  "hive_partitioning=1)").fetchone()[0],
            "polars": pl.scan_parquet(f"{folder}/**/*.parquet", hive_partitioning=True,
                                      storage_options=polars_options).select(pl.len()).collect().item(),
        }

    from deltalake import DeltaTable

    table = DeltaTable(delta, storage_options=storage_options())
    uris = table.file_uris()
    out = {
        "ours": {"truth": ours_read(ours).num_rows, **plain(f"{ours}/articles")},
        "delta": {"truth": table.count(), **plain(delta)},
        "delta, read through the log": {
            "deltalake": table.to_pyarrow_table(columns=["article_id"]).num_rows,
            "polars read_delta": pl.read_delta(delta, storage_options=storage_options(), columns=["article_id"]).height,
            "duckdb file list": con.execute(f"SELECT count(*) FROM read_parquet({uris!r})").fetchone()[0],
        },
    }
    table.vacuum(retention_hours=0, enforce_retention_duration=False, dry_run=False)
    out["delta after vacuum(0)"] = {"truth": table.count(), **plain(delta)}
    return out


# --- the run ------------------------------------------------------------------------------------------


@contextlib.contextmanager
def s3_server(*extra_env: str) -> Iterator[str]:
    """The cluster's S3 server (``newsline.cluster.S3Server``: moto in its own process, as S3 is another
    service that must not share this process's interpreter lock with a Python client; conditional PUTs
    atomic) on a free loopback port, with ``BUCKET``; the AWS_* variables point at it for the block.
    Yields the endpoint URL; afterwards the server is stopped and the AWS_* variables (and
    ``extra_env``) are as before."""
    import tempfile
    from pathlib import Path

    from newsline.cluster import S3Server

    saved = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION",
                                            "AWS_ENDPOINT_URL", "AWS_PROFILE", *extra_env)}
    server = S3Server(bucket=BUCKET)
    with tempfile.TemporaryDirectory(prefix="bench-s3-") as logs:
        try:
            server.start(Path(logs) / "s3.log")
            os.environ.update(server.env)
            os.environ.pop("AWS_PROFILE", None)
            yield server.env["AWS_ENDPOINT_URL"]
        finally:
            server.stop()
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


def _say(what: str) -> None:
    print(f"[bench]   table: {what} …", file=sys.stderr, flush=True)


def run(history_days: int = 365, rounds: int = 3, sites: int = 3, shards: int = 4, per_shard: int = 90,
        kills: int = 10) -> list[BenchResult]:
    import tempfile

    logging.getLogger("warehouse").setLevel(logging.ERROR)
    base = f"s3://{BUCKET}/{uuid.uuid4().hex[:8]}"
    with s3_server("NEWSLINE_S3_LOCK_TTL"), tempfile.TemporaryDirectory(prefix="bench-table-") as work:
        _say(f"(a) a day into {history_days} days of history")
        a = load_against_history(f"{base}/year", work, history_days, rounds)
        _say(f"(a) done: {a['times']}, setup {a['setup']}")
        _say(f"(b) {sites} x {shards} writers at once")
        b = concurrent_writers(f"{base}/writers", work, sites, shards, per_shard)
        _say(f"(b) done: {b}")
        _say(f"(c) {kills} kills per format")
        c = crashes(f"{base}/crash", work, kills)
        _say(f"(c) done: {c}")
        _say("(d) readers")
        d = readers(f"{base}/crash/crash-ours", f"{base}/crash/crash-delta")  # updated, and writers killed
    return rows(a, b, c, d, history_days, rounds, sites, shards)


def rows(a: dict, b: dict, c: dict, d: dict, history_days: int, rounds: int, sites: int, shards: int) -> list[BenchResult]:
    ours_t, delta_t = med(a["times"]["ours"]), med(a["times"]["delta"])
    load_ratio = delta_t / ours_t
    out = [BenchResult(
        name=f"Table format, one day ({PER_DAY} new + {UPDATES} revised) into {history_days} days of history on S3: "
             "Delta MERGE time over ours",
        ratio=load_ratio, aim=">= 1.0", met=check(load_ratio, ">= 1.0"),
        detail=f"ours {ours_t * 1000:.0f} ms, Delta {delta_t * 1000:.0f} ms (median of {rounds} alternated); "
               f"{a['rows']} rows; history built in {a['setup'][0]:.0f} s (ours, 30-day merges) / "
               f"{a['setup'][1]:.0f} s (Delta, 30-day appends)")]
    bo, bd = b["ours"], b["delta"]
    ratio = bd["wall"] / bo["wall"]
    faults = lambda r: f"lost {r['lost']}, duplicated {r['duplicated']}, older version {r['stale']}"  # noqa: E731
    out.append(BenchResult(
        name=f"Table format, {sites} sites x {shards} shards writing at once on S3: Delta wall time over ours",
        ratio=ratio, aim=">= 1.0", met=check(ratio, ">= 1.0") and not any(bo[k] for k in ("lost", "duplicated", "stale")),
        detail=f"{b['rows']} articles; ours {bo['wall']:.1f} s ({faults(bo)}); Delta {bd['wall']:.1f} s, "
               f"{bd['attempts']} MERGE attempts for {bd['writers']} writers ({bd['attempts'] - bd['writers']} "
               f"conflicts re-run; {faults(bd)})"))
    fmt = lambda r: ", ".join(f"{k} {v}" for k, v in sorted(r.items()))  # noqa: E731
    good = lambda r: 0 if r.get("broken") or r.get("wrong") else r.get("converged", 0)  # noqa: E731
    out.append(BenchResult(
        name=f"Table format, SIGKILL of a writer at {c['kills']} random moments: kills after which every row was old "
             "or new and the re-run converged, Delta over ours",
        ratio=good(c["delta"]) / max(1, good(c["ours"])), aim=">= 1.0",
        met=good(c["ours"]) == good(c["delta"]) == c["kills"],
        detail=f"ours: {fmt(c['ours'])}; Delta: {fmt(c['delta'])}"))
    plain = d["delta"]["pandas"] / d["delta"]["truth"]
    out.append(BenchResult(
        name="Table format, plain pd.read_parquet(folder) after updates and killed writers: rows read over "
             "true rows, Delta (ours in detail)",
        ratio=plain, aim="<= 1.0", met=check(plain, "<= 1.0"),
        detail="; ".join(f"{name}: " + ", ".join(f"{k} {v}" for k, v in r.items()) for name, r in d.items())))
    return out


def bench(quick: bool) -> list[BenchResult]:
    """``python -m bench --only table``; ``--quick``: 60 days of history, 2 x 2 writers, 4 kills."""
    if quick:
        return run(history_days=60, rounds=2, sites=2, shards=3, per_shard=60, kills=4)
    return run()


if __name__ == "__main__":
    for row in run():
        print(row.row())
