"""crawler.replay: a demo day crawled over HTTP, then rebuilt from its WARC alone, gives the same items."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from faultkit import DAY

from crawler.replay import replay_archives

REPO = Path(__file__).resolve().parents[2]


def _crawl(demo, out: Path, run_id: str) -> None:
    cmd = [sys.executable, "-m", "crawler.run", "--site", "japannews", "--date", DAY.isoformat(),
           "--base-url", demo.base_url, "--out", str(out), "--run-id", run_id, "--delay", "0", "--concurrency", "8"]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]


def _lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text("utf-8").splitlines()]


def _without_run_id(rows: list[dict]) -> list[dict]:
    return sorted(({k: v for k, v in r.items() if k != "run_id"} for r in rows), key=lambda r: r["url"])


def test_replay_gives_the_crawled_items(demo, tmp_path) -> None:
    # a charset fault and a transient error, so decoding and "latest response wins" are exercised
    paths = sorted("/" + r["url"].split("/", 3)[3] for r in demo.truth(day=DAY))
    demo.set_faults(f"burst=1,force=charset-wrong@{paths[0]}+error@{paths[1]}+charset-missing@{paths[2]}")
    crawled = tmp_path / "crawl"
    _crawl(demo, crawled, "crawl-1")
    report = json.loads((crawled / "crawl.json").read_text("utf-8"))
    out = tmp_path / "replay"
    replayed = replay_archives([crawled / "archive.warc.gz"], site="japannews", day=DAY, out_dir=out,
                               run_id="replay-1")
    items, again = _lines(crawled / "items.jsonl"), _lines(out / "items.jsonl")
    assert len(items) == report["items_scraped"] > 20
    assert _without_run_id(again) == _without_run_id(items)
    assert all(i["run_id"] == "replay-1" for i in again)
    on_disk = json.loads((out / "crawl.json").read_text("utf-8"))
    assert on_disk == replayed
    assert set(report) <= set(on_disk), set(report) - set(on_disk)
    assert on_disk["pages_fetched"] == 0 and on_disk["replayed"] == on_disk["articles_discovered"]
    assert on_disk["items_scraped"] == len(items)
    assert set(on_disk["discovered_urls"]) == set(report["discovered_urls"])
    assert (out / "rejections.jsonl").exists()


def test_latest_response_per_url_wins_across_runs(demo, tmp_path) -> None:
    """Two runs of a day, the site revised in between: the replay keeps the later page."""
    from datetime import timedelta

    first, second = tmp_path / "a", tmp_path / "b"
    _crawl(demo, first, "a")
    demo.set_as_of(demo.as_of + timedelta(days=3))
    _crawl(demo, second, "b")
    out = tmp_path / "replay"
    replay_archives([first / "archive.warc.gz", second / "archive.warc.gz"], site="japannews", day=DAY,
                    out_dir=out, run_id="r")
    later = {i["url"]: i for i in _lines(second / "items.jsonl")}
    for item in _lines(out / "items.jsonl"):
        if item["url"] in later:
            assert item["fetched_at"] == later[item["url"]]["fetched_at"]
            assert item["title"] == later[item["url"]]["title"]


def test_a_page_missing_from_the_archive_fails_with_its_reason(demo, tmp_path) -> None:
    """The replay sends nothing: a page the archive lacks is a failed page saying so, the others replay."""
    from warcio.archiveiterator import ArchiveIterator
    from warcio.warcwriter import WARCWriter

    crawled = tmp_path / "crawl"
    _crawl(demo, crawled, "crawl-1")
    items = _lines(crawled / "items.jsonl")
    gone = sorted(i["url"] for i in items)[0]
    thinned = tmp_path / "thinned.warc.gz"
    with open(crawled / "archive.warc.gz", "rb") as src, open(thinned, "wb") as dst:
        writer = WARCWriter(dst, gzip=True)
        for record in ArchiveIterator(src):
            if record.rec_headers.get_header("WARC-Target-URI") != gone:
                writer.write_record(record)
    out = tmp_path / "replay"
    report = replay_archives([thinned], site="japannews", day=DAY, out_dir=out, run_id="r")
    rejected = {r["url"]: r for r in _lines(out / "rejections.jsonl")}
    assert rejected[gone]["kind"] == "failed"
    assert rejected[gone]["reason"] == f"IgnoreRequest: not in the archive: {gone}"
    assert report["items_scraped"] == len(items) - 1
    assert report["replayed"] == report["articles_discovered"] - 1
