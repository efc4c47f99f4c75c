"""The warehouse on S3, against a real S3 API (a moto server on 127.0.0.1)."""

from __future__ import annotations

import json
import signal
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

import boto3
import duckdb
import pandas as pd
import polars as pl
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pytest
import s3fs

from tests.s3server import moto_s3
from tests.warehouse import merge_worker
from tests.warehouse.conftest import article, table_of
from warehouse import paths, storage
from warehouse.articles import merge_articles, rebuild_index
from warehouse.maintenance import compact
from warehouse.paths import InvalidPartitionValue
from warehouse.quarantine import write_quarantine
from warehouse.query import main_query
from warehouse.reader import read_articles, read_revisions, stored_index
from warehouse.s3 import LOCK_TTL_ENV
from warehouse.staging import read_table, write_table
from warehouse.storage import LockTimeout

BUCKET = "newsline-test"
DAY = date(2024, 9, 6)


@pytest.fixture(scope="module")
def s3_env():
    with moto_s3(BUCKET) as env:
        yield env


@pytest.fixture
def s3root(s3_env) -> str:
    return f"s3://{BUCKET}/{uuid.uuid4().hex[:10]}"


def objects(root: str) -> dict[str, tuple[str, object, bytes]]:
    """Every object under the root: key -> (ETag, LastModified, body)."""
    client = boto3.client("s3")
    prefix = root.removeprefix(f"s3://{BUCKET}/") + "/"
    out = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
        for obj in page.get("Contents", []):
            body = client.get_object(Bucket=BUCKET, Key=obj["Key"])["Body"].read()
            out[obj["Key"][len(prefix) :]] = (obj["ETag"], obj["LastModified"], body)
    return out


def test_merge_accounting_and_idempotent_rerun(s3root):
    rows = [article(i) for i in range(1, 5)] + [article(9, section="world", day=date(2024, 9, 5))]
    first = merge_articles(s3root, table_of(rows), run_id="r1")
    assert (first.new, first.rows_total) == (5, 5)
    assert first.partitions_written[0].startswith(s3root + "/articles/date=")
    before = objects(s3root)
    assert "articles/date=2024-09-06/section=politics/part-japannews.parquet" in before
    assert "_index/japannews/articles.parquet" in before
    assert not any(k.startswith("_locks/") for k in before)  # released

    time.sleep(1.1)  # LastModified has one-second resolution
    again = merge_articles(s3root, table_of(rows), run_id="r2")
    assert (again.unchanged, again.partitions_written) == (5, [])
    assert objects(s3root) == before

    update = article(2, revision=1, body="Updated.", modified_delta=timedelta(hours=1))
    result = merge_articles(s3root, table_of([update, article(5)]), run_id="r3")
    assert (result.new, result.updated) == (1, 1)
    after = objects(s3root)
    assert (
        after["articles/date=2024-09-05/section=world/part-japannews.parquet"]
        == before["articles/date=2024-09-05/section=world/part-japannews.parquet"]
    )


def test_out_of_order_and_moves(s3root):
    v2 = article(1, revision=2, section="world", body="Two.", modified_delta=timedelta(hours=2))
    merge_articles(s3root, table_of([article(1), article(2)]), run_id="r1")
    assert merge_articles(s3root, table_of([v2]), run_id="r2").moved == 1
    assert (
        merge_articles(s3root, table_of([article(1, revision=1, modified_delta=timedelta(hours=1))]), run_id="r3").stale
        == 1
    )
    df = read_articles(s3root)
    assert sorted(zip(df["article_id"], df["section"], df["revision"], strict=True)) == [
        ("japannews:1", "world", 2),
        ("japannews:2", "politics", 0),
    ]
    assert len(read_revisions(s3root)) == 4  # the stale version is still a version


@pytest.mark.parametrize("section", ["..", "Politics", "a/b"])
def test_invalid_slug_writes_nothing(s3root, section):
    with pytest.raises(InvalidPartitionValue):
        merge_articles(s3root, table_of([article(1, section=section)]), run_id="r1")
    assert objects(s3root) == {}


def test_quarantine_on_s3(s3root):
    rows = pd.DataFrame(
        {"url": ["http://127.0.0.1/a/"], "reason": ["empty body"], "stage": ["transform"], "raw": [{"title": "x"}]}
    )
    path = write_quarantine(s3root, rows, run_id="r1", day=DAY)
    assert path == f"{s3root}/quarantine/date=2024-09-06/run=r1.parquet"
    back = pd.read_parquet(path)
    assert back["reason"].tolist() == ["empty body"] and back["run_id"].tolist() == ["r1"]


def test_every_reader_on_s3(s3root, s3_env):
    rows = [article(1), article(2, section="world"), article(3, day=date(2024, 9, 5))]
    merge_articles(s3root, table_of(rows), run_id="r1")
    expected = [
        ("japannews:1", "2024-09-06", "politics"),
        ("japannews:2", "2024-09-06", "world"),
        ("japannews:3", "2024-09-05", "politics"),
    ]
    key = lambda ids, days, sections: sorted(zip(ids, map(str, days), sections, strict=True))  # noqa: E731

    df = pd.read_parquet(s3root + "/articles")
    assert key(df["article_id"], df["date"], df["section"]) == sorted(expected)

    endpoint = s3_env["AWS_ENDPOINT_URL"]
    fs = pafs.S3FileSystem(
        endpoint_override=endpoint, scheme="http", region="us-east-1", access_key="testing", secret_key="testing"
    )
    table = ds.dataset(s3root.removeprefix("s3://") + "/articles", filesystem=fs, partitioning="hive").to_table()
    assert key(table["article_id"].to_pylist(), table["date"].to_pylist(), table["section"].to_pylist()) == sorted(
        expected
    )

    con = duckdb.connect()
    con.register_filesystem(s3fs.S3FileSystem(skip_instance_cache=True))
    rows_db = con.sql(
        f"SELECT article_id, date, section FROM read_parquet('{s3root}/articles/**/*.parquet', hive_partitioning=true)"
    ).fetchall()
    assert key(*zip(*rows_db, strict=True)) == sorted(expected)

    frame = pl.read_parquet(
        s3root + "/articles/**/*.parquet",
        hive_partitioning=True,
        storage_options={
            "aws_endpoint_url": endpoint,
            "aws_allow_http": "true",
            "aws_region": "us-east-1",
            "aws_access_key_id": "testing",
            "aws_secret_access_key": "testing",
        },
    )
    assert key(frame["article_id"].to_list(), frame["date"].to_list(), frame["section"].to_list()) == sorted(expected)

    ours = read_articles(s3root, days=[date(2024, 9, 6)])
    assert ours["article_id"].tolist() == ["japannews:1", "japannews:2"]


def test_stale_index_converges_on_s3(s3root):
    merge_articles(s3root, table_of([article(1), article(2)]), run_id="r1")
    index_key = paths.index_file(s3root, "japannews").removeprefix("s3://")
    fs = s3fs.S3FileSystem(skip_instance_cache=True)
    old = fs.cat_file(index_key)
    moved = article(1, section="world", revision=1, modified_delta=timedelta(hours=1))
    merge_articles(s3root, table_of([moved]), run_id="r2")
    fs.pipe_file(index_key, old)
    again = merge_articles(s3root, table_of([moved, article(3)]), run_id="r2")
    assert (again.unchanged, again.new, again.rows_total) == (1, 1, 3)
    fs.pipe_file(index_key, old)
    assert rebuild_index(s3root).rows == 3
    assert stored_index(s3root)["japannews:1"]["url"] == moved["url"]


def test_lock_object_excludes_and_expires(s3root):
    fs = s3fs.S3FileSystem(skip_instance_cache=True)
    lock_key = paths.lock_file(s3root, "japannews").removeprefix("s3://")
    held = {"owner": "someone", "host": "elsewhere", "pid": 1, "expires_at": time.time() + 3600}
    fs.pipe_file(lock_key, json.dumps(held).encode())
    with pytest.raises(LockTimeout):
        merge_articles(s3root, table_of([article(1)]), run_id="r1", lock_timeout=0.5)
    assert not fs.exists(paths.index_file(s3root, "japannews").removeprefix("s3://"))

    held["expires_at"] = time.time() - 1  # its holder died long ago
    fs.pipe_file(lock_key, json.dumps(held).encode())
    assert merge_articles(s3root, table_of([article(1)]), run_id="r1", lock_timeout=5).new == 1
    assert not fs.exists(lock_key)


def test_taking_over_an_expired_lock_is_a_get_and_a_conditional_put(s3root):
    """A waiter's try is its conditional create (refused: the lock is there), then one GET that gives
    the holder's lease and the ETag of that very version, then (the lease expired) a PUT conditional on
    that ETag: three requests, where a HEAD for the ETag and a second HEAD inside s3fs's read made five."""
    store = storage.storage_for(s3root)
    lock_path = paths.lock_file(s3root, "japannews")
    stale = {"owner": "someone", "host": "elsewhere", "pid": 1, "expires_at": time.time() - 1}
    store.write_atomic(lock_path, json.dumps(stale).encode())
    calls: list[str] = []
    store.fs.s3.meta.events.register("before-call.s3", lambda model, **_: calls.append(model.name))
    with store.lock(lock_path, timeout=5):
        taken = calls[:]
        assert json.loads(store.read_bytes(lock_path))["owner"] != "someone"
    assert taken == ["PutObject", "GetObject", "PutObject"], taken
    assert not store.exists(lock_path)


def test_two_writers_on_s3_lose_no_rows(s3root, s3_env, tmp_path):
    ctx = merge_worker.context()
    start = ctx.Event()
    procs = []
    for name, first in (("x", 100), ("y", 200)):
        files = []
        for b in range(4):
            path = tmp_path / f"{name}-{b}.parquet"
            write_table(
                path, table_of([article(first + b * 3 + j, section=("politics", "world")[j % 2]) for j in range(3)])
            )
            files.append(str(path))
        ready = ctx.Event()
        proc = ctx.Process(target=merge_worker.merge_batches, args=(s3root, files, None, ready, start, s3_env))
        proc.start()
        assert ready.wait(60)
        procs.append(proc)
    start.set()
    for proc in procs:
        proc.join(120)
        assert proc.exitcode == 0
    ids = sorted(read_articles(s3root)["article_id"])
    assert ids == sorted(f"japannews:{first + i}" for first in (100, 200) for i in range(12))


def etags(root: str) -> dict[str, str]:
    """key -> ETag (the MD5 of a single-PUT body) of every object under the root: one LIST call."""
    prefix = root.removeprefix(f"s3://{BUCKET}/") + "/"
    listing = boto3.client("s3").list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
    return {o["Key"][len(prefix) :]: o["ETag"] for o in listing}


def test_kill_at_every_checkpoint_on_s3(s3root, s3_env, tmp_path, monkeypatch):
    """A smaller version of test_crash's scenario (an update, a move, a new partition), on S3."""
    batch_a = [article(i, section=("politics", "world")[i % 2]) for i in range(1, 5)]
    batch_b = [
        article(1, section="world", revision=1, body="Updated.", modified_delta=timedelta(hours=1)),
        article(3, section="politics", revision=1, modified_delta=timedelta(hours=1)),  # world -> politics
        article(5, section="culture", day=date(2024, 9, 7)),
    ]
    b = str(tmp_path / "b.parquet")
    write_table(b, table_of(batch_b))
    base, reference = s3root + "/after-a", s3root + "/reference"
    for root in (base, reference):
        merge_articles(root, table_of(batch_a), run_id="a")
    after_a = etags(base)
    merge_articles(reference, table_of(batch_b), run_id="b")
    after_b = etags(reference)
    base_prefix = base.removeprefix(f"s3://{BUCKET}/")
    monkeypatch.setenv(LOCK_TTL_ENV, "0")  # the killed writer's lock is stale at once: take it over

    total = count_checkpoints(f"{s3root}/count", base_prefix, after_a, b)
    # a kill point before and after the PUT of every object the merge changes, and of its journal
    changed = {n for n in set(after_a) | set(after_b) if after_a.get(n) != after_b.get(n) and not n.startswith("_locks/")}
    assert len(changed) >= 7 and total >= 2 * (len(changed) + 1), (total, sorted(changed))

    def crash_at(k: int) -> None:
        root = f"{s3root}/kill-{k}"
        copy_objects(base_prefix, root, after_a)
        proc = merge_worker.context().Process(
            target=merge_worker.merge_batches, args=(root, [b], k, None, None, {**s3_env, LOCK_TTL_ENV: "0"})
        )
        proc.start()
        proc.join(120)
        assert proc.exitcode == -signal.SIGKILL, f"checkpoint {k}: exit {proc.exitcode}"
        now = etags(root)
        for name in set(now) | set(after_a) | set(after_b):
            if name.startswith(("_locks/", "_index/japannews/articles.pending")):
                continue
            assert now.get(name) in {after_a.get(name), after_b.get(name)}, f"checkpoint {k}: {name}"
        assert len(pd.read_parquet(root + "/articles")) >= 3
        merge_articles(root, table_of(batch_b), run_id="b")
        assert etags(root) == after_b, f"checkpoint {k} did not converge"

    with ThreadPoolExecutor(max_workers=3) as pool:
        list(pool.map(crash_at, range(1, total + 1)))


def copy_objects(source_prefix: str, root: str, names) -> None:
    """Server-side copies of a state into a fresh root."""
    client = boto3.client("s3")
    prefix = root.removeprefix(f"s3://{BUCKET}/")
    for name in names:
        client.copy_object(Bucket=BUCKET, Key=f"{prefix}/{name}", CopySource=f"{BUCKET}/{source_prefix}/{name}")


def count_checkpoints(root: str, source_prefix: str, names, batch: str) -> int:
    copy_objects(source_prefix, root, names)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(storage.CRASH_ENV, str(10**9))
        mp.setattr(storage, "_checkpoints_passed", 0)
        merge_articles(root, read_table(batch), run_id="b")
        return storage._checkpoints_passed


def test_compact_and_query_on_s3(s3root):
    merge_articles(s3root, table_of([article(1), article(2, section="world")]), run_id="r1")
    before = etags(s3root)
    result = compact(s3root)
    assert (result.partitions, result.rewritten) == (4, [])  # already in today's layout
    assert etags(s3root) == before
    assert main_query(s3root, "SELECT section, count(*) AS n FROM articles GROUP BY 1 ORDER BY 1", "json") == (
        '{"section": "politics", "n": 1}\n{"section": "world", "n": 1}'
    )


def test_legacy_layout_migrates_on_s3(s3root, tmp_path):
    """A single-file warehouse uploaded to S3: merges refuse it, compact migrates it in place."""
    from pathlib import Path

    from tests.warehouse.test_sites import B, day_of, legacy_warehouse

    legacy, native = legacy_warehouse(tmp_path)
    client = boto3.client("s3")
    prefix = s3root.removeprefix(f"s3://{BUCKET}/")
    for path in sorted(Path(legacy).rglob("*.parquet")):
        client.put_object(Bucket=BUCKET, Key=f"{prefix}/{path.relative_to(legacy)}", Body=path.read_bytes())
    with pytest.raises(ValueError, match="single-site layout"):
        merge_articles(s3root, table_of(day_of(B, (40,))), run_id="r3")
    result = compact(s3root)
    assert result.sites_indexed == sorted(result.sites_indexed) and len(result.sites_indexed) == 2
    keys = etags(s3root)
    assert not [k for k in keys if k.endswith("/part-0.parquet") or k.startswith("_index/articles")]
    ours = read_articles(s3root).sort_values("article_id").reset_index(drop=True)
    expected = read_articles(native).sort_values("article_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(ours, expected)
    assert set(stored_index(s3root)) == set(expected["article_id"])
    assert merge_articles(s3root, table_of(day_of(B, (40,))), run_id="r3").new == 1


def test_a_lock_waiter_backs_off_from_50_ms_to_1_s() -> None:
    from warehouse.s3 import lock_waits

    top = lock_waits(rng=lambda: 1.0)
    assert [round(next(top), 3) for _ in range(7)] == [0.05, 0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    bottom = lock_waits(rng=lambda: 0.0)
    assert [round(next(bottom), 3) for _ in range(7)] == [0.025, 0.05, 0.1, 0.2, 0.4, 0.5, 0.5]


def test_a_writer_waiting_on_s3_tries_a_few_times_not_every_50_ms(s3root):
    """One writer holds the lock for 2.5 s; the other, waiting, tries about a dozen times (a fixed
    50 ms poll: ~50 tries, up to three requests each) and gets the lock within a second of its release."""
    from warehouse.s3 import S3Storage

    class Counting(s3fs.S3FileSystem):
        tries = 0

        def pipe_file(self, path, value, mode="overwrite", **kwargs):
            if mode == "create":
                Counting.tries += 1
            return super().pipe_file(path, value, mode=mode, **kwargs)

    holder = S3Storage(s3root)
    waiter = S3Storage(s3root, fs=Counting(skip_instance_cache=True, use_listings_cache=False))
    lock_path = paths.lock_file(s3root, "japannews")
    released = {}

    def hold() -> None:
        with holder.lock(lock_path, timeout=10):
            time.sleep(2.5)
            released["at"] = time.monotonic()

    with ThreadPoolExecutor(1) as pool:
        held = pool.submit(hold)
        time.sleep(0.3)  # the holder has it
        with waiter.lock(lock_path, timeout=20):
            got = time.monotonic()
        held.result()
    assert got - released["at"] < 1.0 + 0.5
    assert 3 <= Counting.tries <= 15, Counting.tries


def test_a_client_made_after_warming_reads_no_model_file_again(s3root, monkeypatch: pytest.MonkeyPatch) -> None:
    """``warm_client_models`` (the Celery worker's preload) parses botocore's S3 models once; a client
    made afterwards under the same AWS_* environment reads no model file again and works. Under
    another environment it is not used."""
    import os

    import botocore.loaders

    from warehouse import s3

    monkeypatch.setattr(s3, "_WARM_SESSION", None)
    monkeypatch.setattr(s3, "_FS_BY_KEY", {})
    s3.warm_client_models()
    warm = s3._WARM_SESSION[1]
    read: list[str] = []
    original = botocore.loaders.JSONFileLoader.load_file
    monkeypatch.setattr(botocore.loaders.JSONFileLoader, "load_file",
                        lambda self, path: read.append(os.path.basename(path)) or original(self, path))
    out = s3root + "/warm.bin"
    store = storage.storage_for(s3root)
    assert store.fs.session is warm
    store.write_atomic(out, b"made with the warmed models")
    assert store.read_bytes(out) == b"made with the warmed models"
    assert "service-2" not in read and "endpoints" not in read, read
    # another environment (say, a task given other credentials): a session of its own
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    other = s3._process_fs(s3fs)
    assert other.session is not warm
    other.exists(out.removeprefix("s3://"))
    assert "service-2" in read, "the spy sees a cold client's model files"


def test_a_read_or_an_existence_check_is_one_request(s3root) -> None:
    """The warehouse and the run folders read many small objects, some missing (a new partition): each
    read is one GET and each check one HEAD, not s3fs's default HEAD + GET, or HEAD + listing."""
    store = storage.storage_for(s3root)
    there, missing = s3root + "/a/there.bin", s3root + "/a/missing.bin"
    store.write_atomic(there, b"x" * 100)
    calls: list[str] = []
    store.fs.s3.meta.events.register("before-call.s3", lambda model, **_: calls.append(model.name))
    assert store.read_bytes(there) == b"x" * 100 and calls == ["GetObject"]
    calls.clear()
    assert store.read_bytes(missing) is None and calls == ["GetObject"]
    calls.clear()
    assert store.exists(there) and calls == ["HeadObject"]
    calls.clear()
    assert not store.exists(missing) and calls == ["HeadObject"]
    assert not store.exists(s3root + "/a") and not store.exists(f"s3://no-such-bucket-{uuid.uuid4().hex[:8]}/k")


def test_a_windowed_connection_reads_each_file_of_its_window_once(s3root, tmp_path) -> None:
    """The quality check and the report read a window of days of one site: on S3 each of its files is
    one GET, fetched at once (not DuckDB's several small requests per file through s3fs), and the
    tables hold what a local warehouse of the same rows holds, with the same column types."""
    from warehouse.query import Window, connect

    days = [date(2024, 9, d) for d in (4, 5, 6)]
    rows = [article(n, day=day, section=section) for n, (day, section) in
            enumerate([(d, s) for d in days for s in ("politics", "world")], 1)]
    rows.append(article(99, day=days[-1], site="metrotimes", article_id="metrotimes:99",
                        url="https://metrotimes.example/99"))
    local = str(tmp_path / "wh")
    for root in (s3root, local):
        merge_articles(root, table_of(rows), run_id="r1")
        bad = pd.DataFrame({"url": ["http://127.0.0.1/a/"], "reason": ["empty body"], "stage": ["transform"],
                            "raw": [{"title": "x"}]})
        write_quarantine(root, bad, run_id="r1", day=days[-1])
    window = Window(days[1], days[2], "japannews")
    store = storage.storage_for(s3root)
    calls: list[str] = []
    store.fs.s3.meta.events.register("before-call.s3", lambda model, **_: calls.append(model.name))
    con = connect(s3root, window)
    wanted = [p for folder in (paths.ARTICLES, paths.REVISIONS, paths.QUARANTINE)
              for p in store.list_files(paths.join(s3root, folder)) if window.holds(p)]
    assert sorted(c for c in calls if c != "ListObjectsV2") == ["GetObject"] * len(wanted), calls
    mirror = connect(local, window)
    for view in ("articles", "article_revisions", "quarantine"):
        written_at = " EXCLUDE (quarantined_at)" if view == "quarantine" else ""  # the two writes' own times
        query = f"SELECT *{written_at} FROM {view} ORDER BY ALL"
        assert con.execute(query).fetchall() == mirror.execute(query).fetchall(), view
        describe = f"SELECT column_name, column_type FROM (DESCRIBE {view})"
        assert con.execute(describe).fetchall() == mirror.execute(describe).fetchall(), view
    assert con.execute("SELECT count(*) FROM articles").fetchone() == (4,)


def test_read_many_leaves_out_missing_objects_and_raises_on_other_errors(s3root) -> None:
    store = storage.storage_for(s3root)
    there = [f"{s3root}/many/{n}.bin" for n in range(5)]
    for n, path in enumerate(there):
        store.write_atomic(path, bytes([n]) * 10)
    assert store.read_many([*there, f"{s3root}/many/missing.bin"]) == {p: bytes([n]) * 10 for n, p in enumerate(there)}
    assert store.read_many([]) == {}
    # a failure other than "missing" (here injected: the S3 server can't be made to refuse one GET) raises
    real = store.fs._cat_file

    async def refuse(path, *args, **kwargs):
        if path.endswith("/3.bin"):
            raise PermissionError(f"Access Denied: {path}")
        return await real(path, *args, **kwargs)

    store.fs._cat_file = refuse
    try:
        with pytest.raises(PermissionError, match="3.bin"):
            store.read_many(there)
    finally:
        del store.fs._cat_file


@pytest.mark.parametrize("condition", ["If-None-Match", "If-Match"])
def test_only_one_of_concurrent_conditional_puts_wins(s3_env, monkeypatch, condition):
    """The writer lock relies on S3 letting exactly one conditional PUT of a key win. moto checks the
    condition, then stores, on request threads: with the server slowed between the two steps (an
    injected 0.2 s after its lookup of the current object, what a loaded machine does now and then), eight
    concurrent creators all won before ``newsline.s3server.atomic_conditional_writes``; one wins now, the
    others get 412 Precondition Failed."""
    from moto.s3.models import S3Backend

    client = boto3.client("s3")
    key = f"race/{uuid.uuid4().hex}"
    extra: dict[str, str] = {}
    if condition == "If-Match":  # the take-over of an expired lock: a PUT conditional on the ETag read
        extra["IfMatch"] = client.put_object(Bucket=BUCKET, Key=key, Body=b"stale")["ETag"]
    else:
        extra["IfNoneMatch"] = "*"
    lookup = S3Backend.get_object

    def slow_lookup(self, *args, **kwargs):
        found = lookup(self, *args, **kwargs)
        time.sleep(0.2)  # between the condition's lookup and the write
        return found

    monkeypatch.setattr(S3Backend, "get_object", slow_lookup)

    def put(n: int) -> bool:
        try:
            boto3.client("s3").put_object(Bucket=BUCKET, Key=key, Body=f"writer {n}".encode(), **extra)
        except client.exceptions.ClientError as exc:
            assert exc.response["Error"]["Code"] == "PreconditionFailed", exc.response
            return False
        return True

    with ThreadPoolExecutor(8) as pool:
        won = [n for n, ok in enumerate(pool.map(put, range(8))) if ok]
    monkeypatch.undo()
    assert len(won) == 1, f"writers {won} all won"
    assert client.get_object(Bucket=BUCKET, Key=key)["Body"].read() == f"writer {won[0]}".encode()


def test_a_merge_reads_checks_and_writes_its_partitions_at_once(s3root, monkeypatch) -> None:
    """Every S3 request is a round trip (tens of milliseconds to a real bucket), and a merge's partition
    files are independent of each other (its journal covers any subset of its writes), so it reads,
    checks and writes them concurrently instead of one after the other. With the server slowed by an
    injected 50 ms per request (a remote store's latency), a day spread over 6 partitions has its 6
    partition GETs, 6 legacy-layout HEADs and 6 PUTs in flight at once, for the articles and for the
    revisions alike; one at a time before. The result is the same as a local merge's.

    The server holds each partition request until its batch (the 6 of its kind for one table) has
    arrived (at most 2 s), so the peak does not depend on how the threads happen to be scheduled (a
    loaded machine once spread the 6 HEADs over more than 50 ms: peak 4). A merge sending them in turn
    would see each held 2 s, and a peak of 1."""
    import threading

    from moto.s3.responses import S3Response

    days = [date(2024, 9, d) for d in (4, 5, 6)]
    rows = [article(n, day=day, section=section)
            for n, (day, section) in enumerate([(d, s) for d in days for s in ("politics", "world")], 1)]
    partitions = 6
    changed = threading.Condition()
    arrived: dict[str, int] = {}
    in_flight: dict[str, int] = {}
    peak: dict[str, int] = {}

    def slowed(method: str):
        original = getattr(S3Response, method)

        def handler(self, *args, **kwargs):
            time.sleep(0.05)
            if "/date%3D" not in (getattr(self, "path", None) or ""):
                return original(self, *args, **kwargs)
            with changed:  # a partition file's request: held until its batch of 6 has arrived
                arrived[method] = arrived.get(method, 0) + 1
                batch_full = -(-arrived[method] // partitions) * partitions
                in_flight[method] = in_flight.get(method, 0) + 1
                peak[method] = max(peak.get(method, 0), in_flight[method])
                changed.notify_all()
                changed.wait_for(lambda: arrived[method] >= batch_full, timeout=2.0)
            try:
                return original(self, *args, **kwargs)
            finally:
                with changed:
                    in_flight[method] -= 1
        return handler

    for method in ("get_object", "head_object", "put_object"):
        monkeypatch.setattr(S3Response, method, slowed(method))
    result = merge_articles(s3root, table_of(rows), run_id="r1")
    monkeypatch.undo()
    assert result.new == 6 and len(result.partitions_written) == 6
    assert peak == {"get_object": partitions, "head_object": partitions, "put_object": partitions}, peak
    stored = read_articles(s3root).sort_values("article_id")
    assert stored["article_id"].tolist() == sorted(r["article_id"] for r in rows)
    assert len(read_revisions(s3root)) == 6
