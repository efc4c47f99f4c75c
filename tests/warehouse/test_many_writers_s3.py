"""Many writers, one warehouse: N sites x M shards loading into one warehouse on the S3 API at once.

A real S3 API (a moto server on 127.0.0.1) and real loader processes (``merge_worker``), all
released by one event. Each site's shards cover the same days and sections (so they queue on the
site's lock and rewrite the same files), different sites write beside each other in the same
partitions, and shards carry newer (and older) revisions of other shards' articles, some of which
move to another section. Whatever order the loads land in, every article must be stored exactly
once at its newest revision, every version in ``article_revisions`` exactly once, every Parquet
object readable, the index equal to the files, and no journal, lock or temporary object left.
"""

from __future__ import annotations

import io
from collections import Counter
from datetime import date, timedelta
from typing import Any

import boto3
import duckdb
import pandas as pd
import polars as pl
import pyarrow.parquet as pq
import pytest
import s3fs

from tests.s3server import moto_s3
from tests.warehouse import merge_worker
from tests.warehouse.conftest import article, table_of
from warehouse.index import read_index_table
from warehouse.reader import read_articles, read_revisions
from warehouse.staging import write_table
from warehouse.storage import storage_for

pytestmark = pytest.mark.integration

BUCKET = "newsline-many-writers"
SITES = ("alpha", "beta", "gamma")  # N
SHARDS = 4  # M
PER_SHARD = 10
DAYS = (date(2024, 9, 5), date(2024, 9, 6), date(2024, 9, 7))
SECTIONS = ("politics", "world", "business", "culture")


@pytest.fixture(scope="module")
def s3_env():
    with moto_s3(BUCKET) as env:
        yield env


def version(site: str, n: int, revision: int) -> dict[str, Any]:
    """Article ``n`` of ``site`` at ``revision`` (0, 1, 2); revision 2 of every tenth article moves
    it to the next section."""
    section = SECTIONS[n % len(SECTIONS)]
    if revision == 2:
        section = SECTIONS[(n + 1) % len(SECTIONS)]
    return article(
        n,
        day=DAYS[n % len(DAYS)],
        section=section,
        revision=revision,
        body=f"{site} article {n}, revision {revision}.",
        modified_delta=timedelta(hours=revision),
        article_id=f"{site}:{n}",
        site=site,
        url=f"https://{site}.example/{section}/{n}/",
    )


def shard_rows(site: str, shard: int) -> list[dict[str, Any]]:
    """Shard ``k`` owns articles ``k*10 .. k*10+9`` (revision 0, every day and section), and carries
    revision 1 of every fifth article of shard ``k+1`` and revision 2 of every tenth of shard ``k+2``."""
    owned = range(shard * PER_SHARD, (shard + 1) * PER_SHARD)
    nxt = ((shard + 1) % SHARDS) * PER_SHARD
    after = ((shard + 2) % SHARDS) * PER_SHARD
    rows = [version(site, n, 0) for n in owned]
    rows += [version(site, n, 1) for n in range(nxt, nxt + PER_SHARD) if n % 5 == 0]
    rows += [version(site, n, 2) for n in range(after, after + PER_SHARD) if n % 10 == 0]
    return rows


def newest_revision(n: int) -> int:
    return 2 if n % 10 == 0 else 1 if n % 5 == 0 else 0


def load_all_at_once(root: str, batches: list[str], env: dict[str, str]) -> None:
    """One loader process per batch, all started together; each must exit 0."""
    ctx = merge_worker.context()
    start = ctx.Event()
    procs = []
    for batch in batches:
        ready = ctx.Event()
        proc = ctx.Process(target=merge_worker.merge_batches, args=(root, [batch], None, ready, start, env))
        proc.start()
        procs.append((proc, ready))
    for _, ready in procs:
        assert ready.wait(120), "a loader process did not start"
    start.set()
    for proc, _ in procs:
        proc.join(300)
        assert proc.exitcode == 0, f"a loader exited with {proc.exitcode}"


def objects(root: str) -> dict[str, str]:
    """key (relative to the root) -> ETag of every object under the root."""
    client = boto3.client("s3")
    prefix = root.removeprefix(f"s3://{BUCKET}/") + "/"
    out = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
        out.update({o["Key"][len(prefix) :]: o["ETag"] for o in page.get("Contents", [])})
    return out


def test_sites_times_shards_load_concurrently(s3_env, tmp_path):
    root = f"s3://{BUCKET}/wh"
    batches = []
    for site in SITES:
        for shard in range(SHARDS):
            path = tmp_path / f"{site}-shard{shard}.parquet"  # the run id is the file stem
            write_table(path, table_of(shard_rows(site, shard)))
            batches.append(str(path))
    assert len(batches) == len(SITES) * SHARDS == 12

    load_all_at_once(root, batches, s3_env)

    expected = {
        f"{site}:{n}": version(site, n, newest_revision(n)) for site in SITES for n in range(SHARDS * PER_SHARD)
    }

    # every article exactly once, at its newest revision, in its newest partition
    df = read_articles(root)
    counts = Counter(df["article_id"])
    assert sorted(counts) == sorted(expected), "lost or unexpected articles"
    assert [aid for aid, k in counts.items() if k > 1] == [], "duplicated articles"
    stored = {
        r.article_id: (r.revision, r.content_hash, str(r.date), r.section) for r in df.itertuples(index=False)
    }
    for aid, row in expected.items():
        assert stored[aid] == (row["revision"], row["content_hash"], str(row["date"]), row["section"]), aid
    assert Counter(df["site"]) == {site: SHARDS * PER_SHARD for site in SITES}

    # every version any shard carried, once
    loaded = {(r["article_id"], r["content_hash"]) for b in batches for r in pq.read_table(b).to_pylist()}
    revs = read_revisions(root)
    versions = list(zip(revs["article_id"], revs["content_hash"], strict=True))
    assert len(versions) == len(set(versions))
    assert set(versions) == loaded

    # each site's index says what its files say
    store = storage_for(root)
    for site in SITES:
        index = read_index_table(store, root, site).to_pylist()
        assert [e["article_id"] for e in index] == sorted(a for a in expected if a.startswith(f"{site}:"))
        for entry in index:
            row = expected[entry["article_id"]]
            assert (entry["revision"], entry["content_hash"], entry["date"], entry["section"]) == (
                row["revision"], row["content_hash"], row["date"], row["section"]
            ), entry["article_id"]

    # no lock, journal or temporary object left; every Parquet object reads whole
    keys = objects(root)
    leftovers = [k for k in keys if k.startswith("_locks/") or ".pending" in k or k.rsplit("/", 1)[-1].startswith(".")]
    assert leftovers == []
    assert all(k.endswith(".parquet") for k in keys), [k for k in keys if not k.endswith(".parquet")]
    client = boto3.client("s3")
    prefix = root.removeprefix(f"s3://{BUCKET}/")
    for key in keys:
        body = client.get_object(Bucket=BUCKET, Key=f"{prefix}/{key}")["Body"].read()
        assert pq.ParquetFile(io.BytesIO(body)).read().num_rows > 0, key
        assert len(pd.read_parquet(io.BytesIO(body))) > 0, key
    part_files = [k for k in keys if k.startswith("articles/")]
    # one file per (partition, site) that holds rows of that site
    assert len(part_files) == len({(str(r["date"]), r["section"], r["site"]) for r in expected.values()})

    # the analysts' tools, on the folder / glob
    assert len(pd.read_parquet(root + "/articles")) == len(expected)
    con = duckdb.connect()
    con.register_filesystem(s3fs.S3FileSystem(skip_instance_cache=True))
    for dataset, rows in (("articles", len(expected)), ("article_revisions", len(loaded))):
        query = f"SELECT count(*), count(DISTINCT article_id) FROM read_parquet('{root}/{dataset}/**/*.parquet')"
        assert con.execute(query).fetchone() == (rows, len(expected)), dataset
    frame = pl.read_parquet(
        root + "/articles/**/*.parquet",
        hive_partitioning=True,
        storage_options={
            "aws_endpoint_url": s3_env["AWS_ENDPOINT_URL"],
            "aws_allow_http": "true",
            "aws_region": "us-east-1",
            "aws_access_key_id": "testing",
            "aws_secret_access_key": "testing",
        },
    )
    assert frame.height == len(expected) and frame["article_id"].n_unique() == len(expected)

    # the same twelve loads again, at once: every version is known, so nothing is written
    load_all_at_once(root, batches, s3_env)
    assert objects(root) == keys
