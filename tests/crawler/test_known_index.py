"""The known index the pipeline hands an incremental crawl: compact, exact, and safe when damaged."""

from __future__ import annotations

import json
import tracemalloc
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from crawler.known import MAGIC, KnownIndex, encode, key_hash
from crawler.spiders.news import load_known_index

JST = timezone(timedelta(hours=9))
T0 = datetime(2024, 9, 6, 10, 30, 15, 123456, tzinfo=JST)


def test_each_key_reads_back_its_latest_time_by_id_and_by_url() -> None:
    url = "https://japannews.yomiuri.co.jp/politics/20240906-000001/"
    index = KnownIndex.from_bytes(encode([
        ("japannews:1", T0), (url, T0), ("japannews:2", T0 - timedelta(days=1)),
        ("japannews:2", T0 + timedelta(minutes=5)), ("japannews:2", T0),  # given three times: the latest wins
    ]))
    assert index["japannews:1"] == index[url] == T0 and index[url].tzinfo is not None
    assert index.get("japannews:2") == T0 + timedelta(minutes=5)
    assert "japannews:3" not in index and index.get("japannews:3") is None
    with pytest.raises(KeyError):
        index["japannews:3"]
    assert len(index) == 3
    index["japannews:3"] = T0.astimezone(UTC)  # a shard's URL list carries known times too
    assert index["japannews:3"] == T0 and len(index) == 4


def test_the_file_is_sixteen_bytes_a_key_and_loads_without_copying() -> None:
    n = 200_000
    data = encode((f"site:{i}", T0 + timedelta(seconds=i)) for i in range(n))
    assert data.startswith(MAGIC) and len(data) == 16 + 16 * n
    tracemalloc.start()
    try:
        index = KnownIndex.from_bytes(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20, f"loading {n} keys allocated {peak} bytes (a dict of them: ~40 MB)"
    assert all(index[f"site:{i}"] == T0 + timedelta(seconds=i) for i in (0, 1, n // 2, n - 1))
    assert f"site:{n}" not in index


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_a_damaged_file_means_a_full_crawl(tmp_path: Path, damage: str, caplog) -> None:
    data = encode([("a:1", T0), ("a:2", T0), ("a:3", T0)])
    data = data[:-3] if damage == "truncated" else MAGIC + b"\x00\x01not an index"
    path = tmp_path / "known_index.bin"
    path.write_bytes(data)
    index = load_known_index(str(path))
    assert len(index) == 0 and "a:1" not in index
    assert "ignoring unreadable known index" in caplog.text


def test_keys_out_of_order_are_missed_never_misread() -> None:
    """A file whose hashes are not sorted (written by something else) is not checked key by key on
    load; a lookup compares the hash it lands on, so it can miss a key (the page is fetched) but
    never return another key's time."""
    keys = [f"a:{i}" for i in range(50)]
    data = encode((k, T0 + timedelta(minutes=i)) for i, k in enumerate(keys))
    n = len(keys)
    hashes = [data[16 + 8 * i:24 + 8 * i] for i in range(n)]
    times = [data[16 + 8 * n + 8 * i:24 + 8 * n + 8 * i] for i in range(n)]
    order = list(range(n))[::-1]  # reversed: as unsorted as it gets
    index = KnownIndex.from_bytes(data[:16] + b"".join(hashes[i] for i in order) + b"".join(times[i] for i in order))
    found = {k: index.get(k) for k in keys}
    assert all(v is None or v == T0 + timedelta(minutes=i) for i, v in enumerate(found.values()))
    assert None in found.values(), "the reversed file does miss keys (else this test proves nothing)"


def test_hand_written_json_indexes_still_load(tmp_path: Path) -> None:
    url = "https://example.org/a/1/"
    path = tmp_path / "known.json"
    path.write_text(json.dumps({"a:1": {"url": url, "modified_at": T0.isoformat()}, url.replace("1", "2"): T0.isoformat(),
                                "a:9": {"url": None, "modified_at": None}}))
    index = load_known_index(str(path))
    assert index["a:1"] == index[url] == index[url.replace("1", "2")] == T0
    assert "a:9" not in index
    assert len(load_known_index(None)) == 0


def test_the_hash_is_fixed() -> None:
    """Written by the pipeline, read by a crawler process, maybe of another Python version: a fixed
    function (BLAKE2b), not Python's salted ``hash``; its value for a key must never change."""
    assert key_hash("japannews:1") == 4325241861298403613
