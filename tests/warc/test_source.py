"""The demo CC-NEWS collection and the streaming WARC reader: listing, routing, resume after a reset,
Retry-After, and a truncated file counted instead of dropped."""

from __future__ import annotations

import gzip
from datetime import UTC, date, datetime

import pytest

from crawler.warc_source import (
    SourceError,
    crawl_time_of,
    read_warc_file,
    resolve_collection,
    site_for_url,
)
from demo_site.ccnews import PREFIX

DAY = date(2024, 9, 4)


def test_collection_layout(collection, collection_dir) -> None:
    index = gzip.decompress((collection_dir / PREFIX / "2024/09/warc.paths.gz").read_bytes()).decode().split()
    assert index == sorted(f.rel_path for f in collection.files)
    assert all((collection_dir / rel).is_file() for rel in index)
    for f in collection.files:
        assert f.name.startswith(f"CC-NEWS-{f.started:%Y%m%d%H%M%S}-")
        assert crawl_time_of(f.name) == f.started
    truncated = [f for f in collection.files if f.truncated]
    assert len(truncated) == 1 and truncated[0].counts["lost"] > 0
    # revisions and duplicates across files: some article is captured more than once
    seen: dict[int, list[int]] = {}
    for f in collection.files:
        for c in f.captures:
            seen.setdefault(c.post_id, []).append(c.revision)
    assert any(len(set(revs)) > 1 for revs in seen.values())
    assert any(len(revs) > len(set(revs)) for revs in seen.values())


def test_routing_by_domain() -> None:
    assert site_for_url("https://japannews.yomiuri.co.jp/politics/politics-government/20240906-209301/") == "japannews"
    assert site_for_url("https://JAPANNEWS.yomiuri.co.jp/") == "japannews"
    assert site_for_url("https://news.example.org/2024/09/04/story/") is None
    assert site_for_url("https://yomiuri.co.jp.evil.example/") is None
    assert site_for_url("http://127.0.0.1:8765/x/", {"127.0.0.1:8765": "japannews"}) == "japannews"
    assert site_for_url("http://127.0.0.1:9999/x/", {"127.0.0.1:8765": "japannews"}) is None
    assert crawl_time_of("CC-NEWS-20240906110000-00006.warc.gz") == datetime(2024, 9, 6, 11, tzinfo=UTC)
    assert crawl_time_of("archive.warc.gz") is None


def test_bad_locations_are_user_errors(tmp_path) -> None:
    with pytest.raises(SourceError, match="does not exist"):
        resolve_collection(str(tmp_path / "nope"))
    with pytest.raises(SourceError, match="unsupported"):
        resolve_collection("ftp://example.org/")
    with pytest.raises(SourceError, match="no paths index"):
        resolve_collection(str(tmp_path)).list_day(DAY)
    assert resolve_collection("ccnews").root == "https://data.commoncrawl.org/"
    assert resolve_collection("ccnews-s3").root == "s3://commoncrawl/"


def _read(coll, rel, **kw):
    seen = []
    result = read_warc_file(coll, rel, lambda r: seen.append((r.rec_type, r.url)), **kw)
    return result, seen


def test_listing_over_http_keeps_the_days_files(collection, http_collection) -> None:
    coll = resolve_collection(http_collection.base_url)
    files = coll.list_day(DAY)
    assert [f.rel_path for f in files] == [f.rel_path for f in collection.files_on(DAY)]
    assert all(f.crawl_time.date() == DAY for f in files)


def test_a_reset_connection_resumes_with_a_range_request(collection, http_collection) -> None:
    coll = resolve_collection(http_collection.base_url)
    rel = next(f.rel_path for f in collection.files if not f.truncated and len(f.captures) > 20)
    clean, clean_seen = _read(coll, rel, sleep=lambda s: None)
    assert clean.complete and clean.attempts == 1
    http_collection.set_fault(rel, "reset")
    waits: list[float] = []
    resumed, resumed_seen = _read(coll, rel, sleep=waits.append)
    assert resumed.complete and resumed.attempts == 2 and len(waits) == 1
    assert resumed_seen == clean_seen  # no record lost, none passed on twice
    ranges = [r for (m, p, r) in http_collection.requests if p == rel and m == "GET"]
    assert ranges[-2] is None and ranges[-1] is not None and ranges[-1].startswith("bytes=")
    assert int(ranges[-1][6:].rstrip("-")) > 0


def test_retry_after_is_honoured(collection, http_collection) -> None:
    coll = resolve_collection(http_collection.base_url)
    rel = collection.files[0].rel_path
    http_collection.set_fault(rel, "throttle", times=2)
    waits: list[float] = []
    result, _ = _read(coll, rel, sleep=waits.append)
    assert result.complete and result.throttled == 2 and result.retry_after_honoured == 2
    assert waits == [1.0, 1.0]


def test_a_truncated_file_is_retried_then_counted(collection, collection_dir) -> None:
    coll = resolve_collection(str(collection_dir))
    bad = next(f for f in collection.files if f.truncated)
    waits: list[float] = []
    result, seen = _read(coll, bad.rel_path, max_attempts=3, sleep=waits.append)
    assert not result.complete and result.attempts == 3 and len(waits) == 2
    readable = sum(v for k, v in bad.counts.items() if k != "lost")
    assert result.records == len(seen) == readable
    assert result.unread_bytes == (collection_dir / bad.rel_path).stat().st_size - result.bytes_read > 0
    assert "Incomplete" in result.errors[-1]


def test_a_corrupt_record_stops_the_file_there_and_is_counted(collection, collection_dir, tmp_path) -> None:
    """Bytes overwritten inside one gzip member: the records before it are read, the rest of the file
    is reported unread after the bounded retries."""
    src = next(f for f in collection.files if not f.truncated and len(f.captures) > 20)
    data = bytearray((collection_dir / src.rel_path).read_bytes())
    coll_dir = tmp_path / "corrupt"
    dest = coll_dir / src.rel_path
    dest.parent.mkdir(parents=True)
    clean, clean_seen = _read(resolve_collection(str(collection_dir)), src.rel_path)
    middle = len(data) // 2
    data[middle:middle + 64] = b"\x00" * 64
    dest.write_bytes(bytes(data))
    result, seen = _read(resolve_collection(str(coll_dir)), src.rel_path, max_attempts=2, sleep=lambda s: None)
    assert not result.complete and result.attempts == 2
    assert 0 < len(seen) < len(clean_seen) and seen == clean_seen[: len(seen)]
    assert result.bytes_read <= middle and result.unread_bytes == len(data) - result.bytes_read
