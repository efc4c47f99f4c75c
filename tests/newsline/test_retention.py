"""`newsline prune-runs`: old run folders lose what the warehouse already holds, keep their summaries,
crawl reports and any raw archive that has no other copy, and the day can still be rebuilt offline."""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from pathlib import Path

import pandas as pd
import pytest

from newsline.cli import main
from newsline.pipeline import RunSpec, run_day
from newsline.retention import prune_runs
from warehouse.reader import read_articles

pytestmark = pytest.mark.slow

DAY = "2024-09-06"
TWO_DAYS = 2 * 86400


def spec(root: Path, run_id: str, base_url: str = "http://127.0.0.1:9/", **extra) -> RunSpec:
    return RunSpec(site="japannews", day=DAY, run_id=run_id, overrides={
        "warehouse": str(root / "warehouse"), "staging": str(root / "runs"), "base_url": base_url,
        "download_delay": 0, "concurrency_per_domain": 8, **extra})


@pytest.fixture(scope="module")
def crawled(tmp_path_factory) -> Path:
    """Two real runs of the demo day: ``archived`` copies its WARC under an archive root, ``local`` does
    not; plus the private folder a killed attempt left. Copied afresh for each test (times kept)."""
    from demo_site.server import DemoServer

    root = tmp_path_factory.mktemp("retention")
    with DemoServer(port=0) as server:
        run_day(spec(root, "archived", server.base_url, archive=str(root / "archive")), incremental=False)
        run_day(spec(root, "local", server.base_url), incremental=False)
    dead = root / "runs" / "japannews" / DAY / "local" / ".crawl-dead01"
    dead.mkdir()
    (dead / "items.jsonl").write_text("{}\n", encoding="utf-8")
    return root


@pytest.fixture
def world(crawled, tmp_path) -> Path:
    shutil.copytree(crawled, tmp_path / "w")  # copy2: modification times kept
    return tmp_path / "w"


def files(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_size for p in sorted(root.rglob("*")) if p.is_file()}


def table(root: Path) -> pd.DataFrame:
    frame = read_articles(str(root)).drop(columns=["run_id"])
    return frame.sort_values("article_id").reset_index(drop=True)


def test_old_runs_keep_summaries_reports_and_the_only_copy_of_each_raw_archive(world) -> None:
    runs, archive = world / "runs", world / "archive"
    before = files(runs)
    stored = table(world / "warehouse")
    result = prune_runs(str(runs), 1, archive=str(archive), now=time.time() + TWO_DAYS)
    after = files(runs)
    day = f"japannews/{DAY}"
    kept = {name for name in after if name.startswith(day)}
    assert kept == {f"{day}/archived/summary.json", f"{day}/archived/crawl/crawl.json",
                    f"{day}/local/summary.json", f"{day}/local/crawl/crawl.json",
                    f"{day}/local/crawl/archive.warc.gz"}  # no copy of this one anywhere else
    assert {name for name in before if name.startswith(f"{day}/archived/")} >= {
        f"{day}/archived/crawl/items.jsonl", f"{day}/archived/crawl/archive.warc.gz", f"{day}/archived/clean.parquet"}
    gone = set(before) - set(after)
    assert result.runs_pruned == 2 and result.runs_recent == 0 and not result.dry_run
    assert result.files_deleted == len(gone) and result.bytes_freed == sum(before[n] for n in gone)
    assert result.archives_deleted == 1 and result.archives_kept == [str(runs / day / "local/crawl/archive.warc.gz")]
    assert not (runs / day / "local" / ".crawl-dead01").exists()
    assert list((archive / "japannews" / DAY).iterdir()), "the archive root is never touched"
    # the warehouse is untouched, and the day still rebuilds offline from what was kept
    pd.testing.assert_frame_equal(table(world / "warehouse"), stored)
    replay = spec(world, "replay", archive=str(archive))
    replay.overrides["warehouse"] = str(world / "rebuilt")
    assert run_day(replay, reprocess=True)["pages_fetched"] == 0
    # (the two runs fetched the same pages at two times: the rebuild may take either's fetch times)
    times = ["fetched_at", "first_seen_at"]
    pd.testing.assert_frame_equal(table(world / "rebuilt").drop(columns=times), stored.drop(columns=times))


def test_recent_runs_and_dry_runs_are_left_alone(world) -> None:
    runs = world / "runs"
    before = files(runs)
    recent = prune_runs(str(runs), 1, archive=str(world / "archive"))
    assert (recent.runs_pruned, recent.runs_recent, recent.files_deleted) == (0, 2, 0)
    dry = prune_runs(str(runs), 1, archive=str(world / "archive"), dry_run=True, now=time.time() + TWO_DAYS)
    assert dry.runs_pruned == 2 and dry.files_deleted > 4 and dry.bytes_freed > 0
    assert files(runs) == before
    assert dry.text().startswith("would prune 2 run folder(s) unchanged for 1 days")
    # one file written today keeps its whole run folder (a retry may be about to read it)
    os.utime(runs / "japannews" / DAY / "local" / "summary.json")
    one = prune_runs(str(runs), 1, archive=str(world / "archive"), now=time.time() + 86400 / 2)
    assert one.runs_recent == 2 and one.runs_pruned == 0


def test_including_archives_deletes_every_raw_archive(world) -> None:
    runs = world / "runs"
    result = prune_runs(str(runs), 1, site="japannews", including_archives=True, now=time.time() + TWO_DAYS)
    assert result.archives_deleted == 2 and result.archives_kept == []
    assert not list(runs.rglob("*.warc.gz"))
    assert sorted(p.name for p in runs.rglob("*") if p.is_file()) == ["crawl.json"] * 2 + ["summary.json"] * 2


def test_the_command_line(world, capsys) -> None:
    runs = str(world / "runs")
    with pytest.raises(SystemExit) as stop:
        main(["prune-runs", "--older-than", "0.5", "--staging", runs])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("newsline: error: --older-than must be at least 1 day") and err.count("\n") == 1
    assert main(["prune-runs", "--older-than", "3", "--staging", runs, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["runs_recent"] == 2 and out["runs_pruned"] == 0 and out["older_than_days"] == 3


def test_pruning_run_folders_on_s3() -> None:
    """The same on the S3 API: one listing gives every object's time and size, deletions go in bulk;
    the raw archive goes only with a same-size copy under the archive root."""
    from tests.s3server import moto_s3
    from warehouse.staging import list_stats, write_bytes

    with moto_s3("newsline-retention"):
        top = f"s3://newsline-retention/{uuid.uuid4().hex[:10]}"  # moto's objects outlive its server
        run = f"{top}/staging/japannews/{DAY}"
        written = {f"{run}/r1/summary.json": b"{}", f"{run}/r1/crawl/crawl.json": b"{}",
                   f"{run}/r1/crawl/items.jsonl": b"x" * 100, f"{run}/r1/crawl/archive.warc.gz": b"w" * 50,
                   f"{run}/r1/shards/000/crawler.log": b"l" * 10, f"{run}/r2/crawl/archive.warc.gz": b"v" * 60,
                   f"{run}/r2/clean.parquet": b"p" * 7,
                   f"{top}/archive/japannews/{DAY}/r1.warc.gz": b"w" * 50,
                   f"{top}/archive/japannews/{DAY}/r2.warc.gz": b"v" * 59}  # a partial copy: not a copy
        for path, data in written.items():
            write_bytes(path, data)
        stats = list_stats(f"{top}/staging")
        assert {p: size for p, (_t, size) in stats.items()} == {
            p: len(d) for p, d in written.items() if p.startswith(f"{top}/staging/")}
        assert all(abs(t - time.time()) < 120 for t, _ in stats.values())
        result = prune_runs(f"{top}/staging", 1, archive=f"{top}/archive", now=time.time() + TWO_DAYS)
        assert (result.runs_pruned, result.files_deleted, result.bytes_freed) == (2, 4, 100 + 50 + 10 + 7)
        assert result.archives_kept == [f"{run}/r2/crawl/archive.warc.gz"]
        assert sorted(list_stats(f"{top}/staging")) == [f"{run}/r1/crawl/crawl.json", f"{run}/r1/summary.json",
                                                           f"{run}/r2/crawl/archive.warc.gz"]
        assert len(list_stats(f"{top}/archive")) == 2
