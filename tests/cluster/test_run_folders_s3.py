"""Run folders through the storage layer: with ``NEWSLINE_STAGING``/``NEWSLINE_ARCHIVE`` on the S3 API,
a whole day (crawl → transform → load → summarise) leaves its files as objects, nothing in the
working directory (once: a folder named ``s3:``) and nothing in the worker's temporary folder."""

from __future__ import annotations

import json
from datetime import date

import boto3
import pandas as pd
import pytest

from core.config import REPO_ROOT
from newsline.pipeline import RunSpec, run_day
from tests.truth import CORE_FIELDS, rows_by_id
from warehouse.staging import read_jsonl, read_table

pytestmark = [pytest.mark.slow, pytest.mark.cluster]

DAY = date(2024, 9, 4)
RUN = "s3-run-1"


def _host_switcher(hosts: list, tmp_path, monkeypatch):
    """A function that moves the test onto a fresh "host": its own working and temporary folder."""
    import tempfile

    def on_a_new_host() -> None:
        host = tmp_path / f"host{len(hosts)}"
        (host / "tmp").mkdir(parents=True)
        monkeypatch.chdir(host)
        monkeypatch.setenv("TMPDIR", str(host / "tmp"))
        monkeypatch.setattr(tempfile, "tempdir", None)
        hosts.append(host)

    return on_a_new_host


def _keys(bucket: str, prefix: str) -> set[str]:
    client = boto3.client("s3")
    out: set[str] = set()
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        out.update(o["Key"][len(prefix):] for o in page.get("Contents", []))
    return out


@pytest.fixture(scope="module")
def day_on_s3(s3_server, tmp_path_factory):
    from demo_site.server import DemoServer

    tmp = tmp_path_factory.mktemp("s3-run")
    site = DemoServer(port=0)
    site.start()
    bucket = s3_server.bucket
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(tmp)
        (tmp / "worker-tmp").mkdir()
        mp.setenv("TMPDIR", str(tmp / "worker-tmp"))
        mp.setenv("NEWSLINE_BASE_URL_JAPANNEWS", site.base_url)
        mp.setenv("NEWSLINE_STAGING", f"s3://{bucket}/runs")
        mp.setenv("NEWSLINE_WAREHOUSE", f"s3://{bucket}/warehouse")
        mp.setenv("NEWSLINE_ARCHIVE", f"s3://{bucket}/raw")
        mp.setenv("NEWSLINE_DOWNLOAD_DELAY", "0")
        import tempfile

        mp.setattr(tempfile, "tempdir", None)  # re-read TMPDIR
        try:
            summary = run_day(RunSpec(site="japannews", day=DAY.isoformat(), run_id=RUN))
            yield {"summary": summary, "tmp": tmp, "bucket": bucket, "site": site}
        finally:
            site.stop()


def test_every_run_file_is_an_object_under_the_staging_uri(day_on_s3):
    bucket = day_on_s3["bucket"]
    run = _keys(bucket, f"runs/japannews/{DAY}/{RUN}/")
    for name in ("crawl/items.jsonl", "crawl/rejections.jsonl", "crawl/crawl.json", "crawl/archive.warc.gz",
                 "clean.parquet", "quarantine.parquet", "summary.json"):
        assert name in run, f"{name} missing from the S3 run folder: {sorted(run)}"
    summary = day_on_s3["summary"]
    assert summary["status"] == "ok"
    assert summary["summary_path"] == f"s3://{bucket}/runs/japannews/{DAY}/{RUN}/summary.json"
    stored = json.loads(boto3.client("s3").get_object(Bucket=bucket, Key=f"runs/japannews/{DAY}/{RUN}/summary.json")
                        ["Body"].read())
    assert stored["articles_new"] == summary["articles_new"] > 0
    items = read_jsonl(f"s3://{bucket}/runs/japannews/{DAY}/{RUN}/crawl/items.jsonl")
    clean = read_table(f"s3://{bucket}/runs/japannews/{DAY}/{RUN}/clean.parquet")
    assert len(items) >= clean.num_rows == summary["articles_new"]


def test_the_archive_copy_goes_to_s3_not_to_a_local_folder_named_s3(day_on_s3):
    bucket = day_on_s3["bucket"]
    assert _keys(bucket, f"raw/japannews/{DAY}/") == {f"{RUN}.warc.gz"}
    body = boto3.client("s3").get_object(Bucket=bucket, Key=f"raw/japannews/{DAY}/{RUN}.warc.gz")["Body"].read()
    assert body[:2] == b"\x1f\x8b"  # gzip
    for where in (day_on_s3["tmp"], REPO_ROOT):
        assert not (where / "s3:").exists(), f"a local folder named 's3:' appeared in {where}"


def test_nothing_is_left_in_the_workers_temporary_folder(day_on_s3):
    assert list((day_on_s3["tmp"] / "worker-tmp").iterdir()) == []
    assert sorted(p.name for p in day_on_s3["tmp"].iterdir()) == ["worker-tmp"]


def test_the_warehouse_on_s3_holds_the_demo_truth(day_on_s3):
    from warehouse.reader import read_articles

    bucket = day_on_s3["bucket"]
    stored = read_articles(f"s3://{bucket}/warehouse", days=[DAY])
    truth = pd.DataFrame(day_on_s3["site"].truth())
    want = rows_by_id(truth[truth["date"] == DAY].to_dict("records"))
    got = rows_by_id(stored.to_dict("records"))
    assert sorted(got) == sorted(want)
    for aid, row in want.items():
        for name in CORE_FIELDS:
            assert got[aid][name] == row[name], f"{aid} {name}"


def test_reprocess_replays_the_days_archives_from_s3(day_on_s3):
    from newsline.pipeline import archives_for_day, latest_summary

    bucket = day_on_s3["bucket"]
    spec = RunSpec(site="japannews", day=DAY.isoformat(), run_id="s3-replay-1")
    found = archives_for_day(spec)
    assert found == [f"s3://{bucket}/runs/japannews/{DAY}/{RUN}/crawl/archive.warc.gz"]
    replayed = run_day(spec, reprocess=True)
    crawled = day_on_s3["summary"]
    assert replayed["pages_fetched"] == 0
    assert replayed["articles_unchanged"] == crawled["articles_new"] > 0
    assert replayed["articles_new"] == replayed["articles_updated"] == 0
    assert "crawl/items.jsonl" in _keys(bucket, f"runs/japannews/{DAY}/s3-replay-1/")
    assert latest_summary(f"s3://{bucket}/runs", "japannews", DAY)["run_id"] == "s3-replay-1"
    assert list((day_on_s3["tmp"] / "worker-tmp").iterdir()) == []


def test_a_warc_day_passes_between_its_tasks_only_through_s3(s3_server, tmp_path, monkeypatch):
    """``ccnews_daily``'s steps as on three hosts: plan, each file's ``read_file`` and the load each in
    its own working and temporary folder, staging and warehouse on S3; nothing is written locally,
    the warehouse equals the collection's truth and a re-plan reads the manifest back from S3."""

    from demo_site.ccnews import CCNewsCollection
    from newsline.ingest_warc import load_day, plan_day, read_file
    from warehouse.reader import read_articles

    collection = CCNewsCollection()
    source = tmp_path / "collection"  # the archive host (read only)
    collection.write(source)
    bucket = s3_server.bucket
    overrides = {"staging": f"s3://{bucket}/warc-runs", "warehouse": f"s3://{bucket}/warc-warehouse"}
    hosts: list = []
    on_a_new_host = _host_switcher(hosts, tmp_path, monkeypatch)

    on_a_new_host()
    plan = plan_day(DAY, collection=str(source), overrides=overrides)
    assert plan["todo"] and not plan["done"]
    entries = []
    for rel in plan["todo"]:
        on_a_new_host()
        entries.append(read_file(DAY, rel, collection=str(source), overrides=overrides, sleep=lambda _s: None))
    on_a_new_host()
    summary = load_day(DAY, collection=str(source), listed=plan["listed"], read_now=plan["todo"],
                       resumed=plan["done"], overrides=overrides)

    truth = collection.truth([DAY])
    got = rows_by_id(read_articles(overrides["warehouse"]).to_dict("records"))
    assert sorted(got) == sorted(rows_by_id(truth))
    assert summary["records_accounted"] and summary["files_read"] == len(plan["todo"])
    assert summary["files_failed"] == sum(1 for e in entries if not e["complete"])
    key = plan["collection_key"]
    staged = _keys(bucket, f"warc-runs/_warc/{key}/{DAY}/")
    assert "summary.json" in staged
    for rel in plan["todo"]:
        name = rel.rsplit("/", 1)[-1]
        assert {f"manifest/{name}.json", f"files/{name}/items.jsonl", f"files/{name}/rejections.jsonl"} <= staged
    assert summary["sites"]["japannews"]["run_dir"].startswith(f"s3://{bucket}/warc-runs/japannews/{DAY}/")
    for host in hosts:  # no host wrote anything of its own, not even a folder named 's3:'
        assert [p.name for p in host.iterdir()] == ["tmp"] and list((host / "tmp").iterdir()) == [], host
    # the next plan of the day reads the manifest back from S3: only the unreadable file is left to read
    replanned = plan_day(DAY, collection=str(source), overrides=overrides)
    assert sorted(replanned["todo"]) == sorted(e["file"] for e in entries if not e["complete"])
    assert sorted(replanned["done"]) == sorted(e["file"] for e in entries if e["complete"])


def test_a_day_fetched_by_its_discovery_task_is_staged_once_on_s3(s3_server, tmp_path, monkeypatch):
    """The DAG's steps of an ordinary day as on separate hosts (``discover`` fetches the day of one shard
    itself, ``transform`` joins, ``load``, ``summarize``), staging, archive and warehouse on S3: the
    discovery run's output is the run's ``crawl/`` folder, written once (no ``discover/`` copy, nothing
    fetched back and written again by the join), its WARC is in the archive, the day lands whole."""

    from demo_site.server import DemoServer
    from newsline.pipeline import DISCOVER_DIR, discover, load, merge_shards, summarize, transform
    from warehouse.reader import read_articles

    bucket = s3_server.bucket
    with DemoServer(port=0) as site:
        spec = RunSpec(site="japannews", day=DAY.isoformat(), run_id="s3-discover-1", overrides={
            "staging": f"s3://{bucket}/d-runs", "warehouse": f"s3://{bucket}/d-warehouse",
            "archive": f"s3://{bucket}/d-raw", "base_url": site.base_url, "download_delay": 0})
        hosts: list = []
        on_a_new_host = _host_switcher(hosts, tmp_path, monkeypatch)

        on_a_new_host()
        assert discover(spec) == []
        prefix = f"d-runs/japannews/{DAY}/s3-discover-1/"
        staged = _keys(bucket, prefix)
        on_a_new_host()
        crawled = merge_shards(spec, 0)
        assert _keys(bucket, prefix) == staged, "the join wrote nothing"
        cleaned = transform(spec)
        on_a_new_host()
        loaded = load(spec)
        on_a_new_host()
        summary = summarize(spec, crawled, cleaned, loaded)
        truth = site.truth(day=DAY)
    assert {"crawl/items.jsonl", "crawl/rejections.jsonl", "crawl/crawl.json", "crawl/archive.warc.gz"} <= staged
    assert not any(key.startswith(DISCOVER_DIR + "/") for key in staged), sorted(staged)
    report = json.loads(boto3.client("s3").get_object(Bucket=bucket, Key=prefix + "crawl/crawl.json")["Body"].read())
    assert report["mode"] == "crawl" and report["shards"] == 0 and report["pages_fetched"] == len(truth)
    assert crawled["mode"] == "crawl" and crawled["items_scraped"] == len(truth)
    assert _keys(bucket, f"d-raw/japannews/{DAY}/") == {"s3-discover-1.warc.gz"}
    assert summary["status"] == "ok" and summary["articles_new"] == len(truth)
    assert sorted(rows_by_id(read_articles(f"s3://{bucket}/d-warehouse").to_dict("records"))) \
        == sorted(rows_by_id(truth))
    for host in hosts:
        assert [p.name for p in host.iterdir()] == ["tmp"] and list((host / "tmp").iterdir()) == [], host


def test_a_sharded_day_on_s3_keeps_one_copy_of_its_items_and_warc(s3_server, tmp_path, monkeypatch):
    """The DAG's steps of a sharded day as on separate hosts (``discover``, each shard's ``crawl``, the merge
    in ``transform``), staging and archive on S3: once the merge published ``crawl/``, no part
    (``discover/``, ``shards/NNN/``) keeps an items, rejections or WARC object, each keeps its crawl.json;
    ``crawl/`` holds every article once and the archive its WARC. A retried merge (on yet another host)
    returns the same counts and leaves every object of the run folder as it was."""

    from demo_site.server import DemoServer
    from newsline.demo import sites_dir_with
    from newsline.pipeline import CRAWL_DIR, MERGED_FILES, crawl_shard, discover, merge_shards

    bucket = s3_server.bucket
    client = boto3.client("s3")
    monkeypatch.setenv("NEWSLINE_SITES_DIR", str(sites_dir_with(tmp_path / "sites", {"japannews": {
        "crawl": {"shard_size": 1, "max_shards": 3}}})))
    with DemoServer(port=0) as site:
        spec = RunSpec(site="japannews", day=DAY.isoformat(), run_id="s3-sharded-1", overrides={
            "staging": f"s3://{bucket}/m-runs", "warehouse": f"s3://{bucket}/m-warehouse",
            "archive": f"s3://{bucket}/m-raw", "base_url": site.base_url, "download_delay": 0})
        hosts: list = []
        on_a_new_host = _host_switcher(hosts, tmp_path / "hosts", monkeypatch)

        on_a_new_host()
        shards = discover(spec)
        for shard in shards:
            on_a_new_host()
            crawl_shard(spec, shard)
        on_a_new_host()
        crawled = merge_shards(spec, len(shards))
        truth = site.truth(day=DAY)
    prefix = f"m-runs/japannews/{DAY}/s3-sharded-1/"

    def objects() -> dict[str, bytes]:
        return {key: client.get_object(Bucket=bucket, Key=prefix + key)["Body"].read()
                for key in _keys(bucket, prefix)}

    staged = objects()
    assert shards == [0, 1, 2] and crawled["mode"] == "sharded" and crawled["shards"] == 3
    assert sorted(k for k in staged if k.rsplit("/", 1)[-1] in MERGED_FILES) \
        == sorted(f"{CRAWL_DIR}/{name}" for name in MERGED_FILES), sorted(staged)
    assert {"discover/crawl.json", "discover/article_urls.jsonl", *(f"shards/{n:03d}/crawl.json" for n in shards),
            *(f"shards/{n:03d}/shard_urls.jsonl" for n in shards)} <= set(staged)
    per_shard = [json.loads(staged[f"shards/{n:03d}/crawl.json"])["items_scraped"] for n in shards]
    assert sum(per_shard) == crawled["items_scraped"] == len(truth) and all(per_shard)
    items = [json.loads(line)["canonical_url"] for line in staged[f"{CRAWL_DIR}/items.jsonl"].decode().splitlines()]
    assert sorted(items) == sorted(r["url"] for r in truth), "every article of the day exactly once"
    archived = client.get_object(Bucket=bucket, Key=f"m-raw/japannews/{DAY}/s3-sharded-1.warc.gz")["Body"].read()
    assert archived == staged[f"{CRAWL_DIR}/archive.warc.gz"]

    on_a_new_host()
    assert merge_shards(spec, len(shards)) == crawled
    assert objects() == staged
    for host in hosts:
        assert [p.name for p in host.iterdir()] == ["tmp"] and list((host / "tmp").iterdir()) == [], host
