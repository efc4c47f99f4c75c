from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from core.schema import ARTICLES_SCHEMA, QUARANTINE_SCHEMA
from tests.warehouse.conftest import article, table_of
from warehouse import paths, staging
from warehouse.quarantine import write_quarantine
from warehouse.storage import exchange_paths

DAY = date(2024, 9, 6)
AT = datetime(2024, 9, 7, 2, 0, tzinfo=UTC)


def bad_rows(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "site": ["japannews"] * n,
            "url": [f"http://127.0.0.1/x/{i}/" for i in range(n)],
            "reason": ["missing title"] * n,
            "stage": ["transform"] * n,
            "raw": [{"title": None, "n": i} for i in range(n)],
            "quarantined_at": [AT] * n,
        }
    )


def test_quarantine_written_and_replaced_per_run(root):
    path = write_quarantine(root, bad_rows(3), run_id="run-1", day=DAY)
    assert path == f"{root}/quarantine/date=2024-09-06/run=run-1.parquet"
    table = pq.read_table(path)
    assert table.schema.equals(QUARANTINE_SCHEMA, check_metadata=False)
    assert table["run_id"].to_pylist() == ["run-1"] * 3
    assert json.loads(table["raw"][1].as_py()) == {"n": 1, "title": None}

    other = write_quarantine(root, bad_rows(1), run_id="run-2", day=DAY)
    assert write_quarantine(root, bad_rows(2), run_id="run-1", day=DAY) == path
    assert pq.read_table(path).num_rows == 2 and pq.read_table(other).num_rows == 1
    assert sorted(p.name for p in Path(path).parent.iterdir()) == ["run=run-1.parquet", "run=run-2.parquet"]

    assert write_quarantine(root, bad_rows(0), run_id="run-1", day=DAY) is None
    assert not Path(path).exists() and Path(other).exists()


def test_quarantine_needs_reasons_and_safe_run_ids(root):
    rows = bad_rows(1)
    rows["reason"] = [None]
    with pytest.raises(ValueError, match="reason"):
        write_quarantine(root, rows, run_id="run-1", day=DAY)
    with pytest.raises(paths.InvalidPartitionValue):
        write_quarantine(root, bad_rows(1), run_id="a/../b", day=DAY)


def test_jsonl_round_trip(tmp_path):
    records = [{"url": "http://127.0.0.1/a/", "title": "Tōkyō “quoted” — dash", "at": AT}, {"n": 2}]
    path = tmp_path / "run" / "items.jsonl"
    assert staging.write_jsonl(path, records) == 2
    assert staging.read_jsonl(path) == [{**records[0], "at": AT.isoformat()}, {"n": 2}]
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]
    with pytest.raises(FileNotFoundError):
        staging.read_jsonl(tmp_path / "missing.jsonl")
    assert staging.read_jsonl(tmp_path / "missing.jsonl", missing_ok=True) == []


def test_table_and_frame_round_trip(tmp_path):
    table = table_of([article(1), article(2)])
    path = tmp_path / "clean.parquet"
    staging.write_table(path, table)
    assert staging.read_table(path).equals(table)

    staging.write_frame(tmp_path / "frame.parquet", table.to_pandas(), kind="articles")
    assert staging.read_table(tmp_path / "frame.parquet").equals(table)
    staging.write_frame(tmp_path / "empty.parquet", pd.DataFrame(), kind="articles")
    empty = staging.read_table(tmp_path / "empty.parquet")
    assert empty.num_rows == 0 and empty.schema.names == ARTICLES_SCHEMA.names
    with pytest.raises(ValueError):
        staging.write_frame(tmp_path / "x.parquet", pa.table({"a": [1]}), kind="nope")


def _crawl_folder(folder: Path, tag: str) -> Path:
    folder.mkdir(parents=True)
    for name in ("items.jsonl", "rejections.jsonl", "archive.warc.gz", "crawl.json"):
        (folder / name).write_text(f"{tag} {name}", encoding="utf-8")
    return folder


def _contents(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.iterdir())}


def test_exchange_paths_swaps_two_folders_in_one_step(tmp_path) -> None:
    old, new = _crawl_folder(tmp_path / "crawl", "old"), _crawl_folder(tmp_path / ".crawl-x", "new")
    assert exchange_paths(str(new), str(old))
    assert set(_contents(old).values()) == {f"new {n}" for n in _contents(old)}
    assert set(_contents(new).values()) == {f"old {n}" for n in _contents(new)}
    with pytest.raises(FileNotFoundError):
        exchange_paths(str(tmp_path / "missing"), str(old))


def test_republishing_a_crawl_folder_never_leaves_it_missing_or_half_deleted(tmp_path, monkeypatch) -> None:
    """A retry publishes its crawl folder over an older attempt's. The older one is swapped out in one
    step and only then removed: a crash while removing it (injected: the removal dies after one file)
    leaves the new folder whole in place. Removing the old folder first, as before, left it half-deleted
    (crawl.json, the "complete" marker, beside missing items)."""
    dest = tmp_path / "run" / "crawl"
    _crawl_folder(dest, "old")
    work = _crawl_folder(tmp_path / "run" / ".crawl-retry", "new")

    def dies_after_one_file(path, *args, **kwargs):
        next(p for p in sorted(Path(path).iterdir()) if p.name != "crawl.json").unlink()
        raise KeyboardInterrupt("killed while removing")

    monkeypatch.setattr(staging.shutil, "rmtree", dies_after_one_file)
    with pytest.raises(KeyboardInterrupt):
        staging.publish_dir(work, str(dest))
    assert _contents(dest) == {n: f"new {n}" for n in ("archive.warc.gz", "crawl.json", "items.jsonl",
                                                        "rejections.jsonl")}
    monkeypatch.undo()
    # what the crash left under the private name is the old attempt, swept like any killed attempt's folder
    assert set(_contents(work).values()) <= {f"old {n}" for n in _contents(work)}
    staging.publish_dir(_crawl_folder(tmp_path / "run" / ".crawl-again", "again"), str(dest))
    assert set(_contents(dest).values()) == {f"again {n}" for n in _contents(dest)}
    assert sorted(p.name for p in dest.parent.iterdir()) == [".crawl-retry", "crawl"]
