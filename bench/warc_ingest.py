"""Web-archive ingest: our streaming, domain-routed reader against a plain warcio + trafilatura loop
(news-please's approach: extract every HTML record) on the same WARC files, side by side; and peak
RSS of our reader on a large generated WARC against a small one (memory must not grow with size).

The WARCs are the demo CC-NEWS collection (``demo_site.ccnews``); the large file is its records
repeated until it reaches ``large_mb`` (a parameter: 1024 gives the issue's 1 GB file, the default
stays small so ``make bench`` is quick).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import BenchResult, interleaved, med

REPO = Path(__file__).resolve().parents[1]

_RSS_PROBE = r"""
import json, sys
from crawler.warc_source import WarcExtractor, read_warc_file, resolve_collection
coll = resolve_collection(sys.argv[1])
ex = WarcExtractor()
kept = [0]
def on_record(rec):
    if ex.classify(rec).kind == "item":
        kept[0] += 1
r = read_warc_file(coll, sys.argv[2], on_record)
hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
print(json.dumps({"records": r.records, "kept": kept[0], "bytes": r.bytes_read, "hwm_kb": hwm, "complete": r.complete}))
"""


def build(work: Path, large_mb: int) -> tuple[Path, list[str], str]:
    """The demo collection under ``work`` (its complete files) and one large WARC of at least ``large_mb``."""
    from demo_site.ccnews import CCNewsCollection

    coll = CCNewsCollection()
    coll.write(work)
    rels = [f.rel_path for f in coll.files if not f.truncated]
    blobs = [(work / r).read_bytes() for r in rels]
    big = work / "large" / "CC-NEWS-20240906000000-99999.warc.gz"
    big.parent.mkdir(parents=True)
    target = large_mb * 1024 * 1024
    written = 0
    with open(big, "wb") as fh:
        while written < target:
            for b in blobs:
                fh.write(b)
                written += len(b)
    return work, rels, "large/" + big.name


def ours(root: Path, rels: list[str]) -> tuple[float, int, int]:
    from crawler.warc_source import WarcExtractor, read_warc_file, resolve_collection

    coll = resolve_collection(str(root))
    ex = WarcExtractor()
    t0 = time.perf_counter()
    records = size = 0
    for rel in rels:
        r = read_warc_file(coll, rel, ex.classify)
        records += r.records
        size += r.bytes_read
    return time.perf_counter() - t0, records, size


def plain(root: Path, rels: list[str]) -> tuple[float, int, int]:
    """Every HTML response through trafilatura, as a generic news extractor would."""
    import logging

    import trafilatura
    from warcio.archiveiterator import ArchiveIterator

    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)  # empty redirect bodies are not news
    t0 = time.perf_counter()
    records = size = 0
    for rel in rels:
        path = root / rel
        size += path.stat().st_size
        with open(path, "rb") as fh:
            for rec in ArchiveIterator(fh):
                records += 1
                if rec.rec_type != "response" or not rec.http_headers:
                    continue
                if "html" not in (rec.http_headers.get_header("Content-Type") or ""):
                    continue
                trafilatura.extract(rec.content_stream().read().decode("utf-8", "replace"), with_metadata=True)
    return time.perf_counter() - t0, records, size


def peak_rss(root: Path, rel: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", _RSS_PROBE, str(root), rel], cwd=str(REPO),
                          capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run(rounds: int = 3, large_mb: int = 64) -> list[BenchResult]:
    with tempfile.TemporaryDirectory(prefix="bench-warc-") as tmp:
        root, rels, big = build(Path(tmp), large_mb)
        stats: dict[str, tuple[int, int]] = {}

        def time_ours() -> float:
            s, n, b = ours(root, rels)
            stats["ours"] = (n, b)
            return s

        def time_plain() -> float:
            s, n, b = plain(root, rels)
            stats["plain"] = (n, b)
            return s

        times = interleaved({"ours": time_ours, "plain": time_plain}, rounds)
        t_ours, t_plain = med(times["ours"]), med(times["plain"])
        n, b = stats["ours"]
        small = peak_rss(root, rels[0])
        large = peak_rss(root, big)
    mb = b / 1e6
    speed = BenchResult(
        name="WARC ingest vs warcio+trafilatura (registered sites)", ratio=t_plain / t_ours, aim=">= 1.0",
        met=t_plain / t_ours >= 1.0,
        detail=(f"ours {n / t_ours:,.0f} records/s, {mb / t_ours:.1f} MB/s; plain loop {n / t_plain:,.0f} records/s, "
                f"{mb / t_plain:.1f} MB/s; {len(rels)} files, {n} records, {mb:.1f} MB, median of {rounds}"),
    )
    ratio = large["hwm_kb"] / small["hwm_kb"]
    memory = BenchResult(
        name=f"WARC ingest peak RSS, {large_mb} MB file vs small file", ratio=ratio, aim="<= 1.3", met=ratio <= 1.3,
        detail=(f"{large['bytes'] / 1e6:.0f} MB, {large['records']} records: {large['hwm_kb'] / 1024:.0f} MiB; "
                f"{small['bytes'] / 1e6:.2f} MB: {small['hwm_kb'] / 1024:.0f} MiB"),
    )
    return [speed, memory]


if __name__ == "__main__":
    for row in run():
        print(row.row())
