"""The known index: when each stored article was last modified, for an incremental crawl to skip
pages that did not change (``--known-index``).

A site's index can hold millions of articles, and a crawl looks each discovered URL up by its URL
and by its ``<site>:<native id>``. As JSON and a Python dict that cost ~950 MB of memory and ~10 s
to load per million articles; here each key is a 64-bit hash (BLAKE2b) in one sorted array beside an
array of modification times (microseconds since the epoch, UTC): 16 bytes a key, read in one go and
searched in place (a zero-copy view and ``bisect``; the crawler process imports no NumPy). The file
(``known_index.bin``, written by the pipeline from the warehouse index) is ``MAGIC``, the key count,
the sorted hashes and the times, all little-endian.

Two keys sharing a 64-bit hash would make one article's page look as old as the other's (about one
chance in 10^7 for a site of a million articles): at worst a changed page is skipped once more,
until its ``lastmod`` moves on.
"""

from __future__ import annotations

import hashlib
import struct
import sys
from array import array
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

MAGIC = b"NLKNOWN1"
_HEADER = struct.Struct("<8sQ")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def key_hash(key: str) -> int:
    """The 64-bit hash a key is looked up by (the same in every process and Python version)."""
    return int.from_bytes(hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest(), "little", signed=True)


def _micros(when: datetime) -> int:
    delta = when.astimezone(UTC) - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def encode(entries: Iterable[tuple[str, datetime]]) -> bytes:
    """The file for ``(key, modified_at)`` pairs (timezone-aware); a key given twice keeps its latest
    time. Memory: 16 bytes a pair, whatever the keys' length."""
    import numpy as np  # the writer (the pipeline) has it loaded anyway

    hashes, times = array("q"), array("q")
    for key, when in entries:
        hashes.append(key_hash(key))
        times.append(_micros(when))
    h = np.asarray(hashes, dtype="<i8")
    t = np.asarray(times, dtype="<i8")
    order = np.lexsort((t, h))  # by hash, then time: the last of each hash's run is its latest time
    h, t = h[order], t[order]
    last = np.ones(len(h), dtype=bool)
    last[:-1] = h[1:] != h[:-1]
    h, t = h[last], t[last]
    return _HEADER.pack(MAGIC, len(h)) + h.tobytes() + t.tobytes()


def _int64s(data: bytes, start: int, count: int) -> Sequence[int]:
    """``count`` little-endian int64 from ``data[start:]``: a view, or a copy on a big-endian machine."""
    view = memoryview(data)[start:start + 8 * count]
    if sys.byteorder == "little":
        return view.cast("q")
    swapped = array("q", view.tobytes())
    swapped.byteswap()
    return swapped


class KnownIndex:
    """Modification times by key: the sorted arrays of a file, plus the entries set while crawling
    (a shard's URL list carries each URL's known time)."""

    def __init__(self, hashes: Sequence[int] = (), times: Sequence[int] = ()) -> None:
        self._hashes = hashes
        self._times = times
        self._extra: dict[str, datetime] = {}

    @classmethod
    def from_bytes(cls, data: bytes) -> KnownIndex:
        """The index in ``data`` (what ``encode`` wrote; used in place, not copied); raises
        ``ValueError`` on anything else."""
        if len(data) < _HEADER.size:
            raise ValueError("too short for a known index")
        magic, count = _HEADER.unpack_from(data)
        if magic != MAGIC or len(data) != _HEADER.size + 16 * count:
            raise ValueError("not a known index file (bad magic or length)")
        # not checked for order (a pass over millions of keys): a lookup compares the hash it lands on,
        # so keys out of order could only be missed (a full fetch), never given another key's time
        return cls(_int64s(data, _HEADER.size, count), _int64s(data, _HEADER.size + 8 * count, count))

    @classmethod
    def from_mapping(cls, entries: dict[str, datetime]) -> KnownIndex:
        index = cls()
        index._extra.update(entries)
        return index

    def get(self, key: str) -> datetime | None:
        found = self._extra.get(key)
        if found is not None or not len(self._hashes):
            return found
        h = key_hash(key)
        at = bisect_left(self._hashes, h)
        if at < len(self._hashes) and self._hashes[at] == h:
            return _EPOCH + timedelta(microseconds=self._times[at])
        return None

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def __getitem__(self, key: str) -> datetime:
        found = self.get(key)
        if found is None:
            raise KeyError(key)
        return found

    def __setitem__(self, key: str, when: datetime) -> None:
        self._extra[key] = when

    def __len__(self) -> int:
        """Keys held (a key both in the file and set while crawling counts twice)."""
        return len(self._hashes) + len(self._extra)
