"""A CC-NEWS-like web archive collection of the demo site, with its ground truth.

Common Crawl's news crawl publishes, per month, ``crawl-data/CC-NEWS/YYYY/MM/warc.paths.gz`` (one
relative path per line) and WARC files named by the time the crawler started writing them,
``CC-NEWS-YYYYMMDDHHMMSS-NNNNN.warc.gz`` (one gzip member per record). ``CCNewsCollection`` builds
the same layout from the demo model (``DemoSite``): every article page is rendered exactly as the
demo server would serve it at the record's ``WARC-Date``, but under the site's live host
(``https://japannews.yomiuri.co.jp/``), so routing by domain is real.

What the files hold (all deterministic):

- a ``warcinfo`` record first, then for every article capture a ``request``, a ``response`` and a
  ``metadata`` record (as Common Crawl writes them);
- articles published or revised since the previous file (revisions are captured again: "revised
  across files"), plus unchanged re-captures of some earlier articles ("duplicates across files");
- ``revisit`` records (identical payload seen before), pages of other domains, non-article pages of
  the site (home page, a listing), non-HTML responses (a JPEG, a JSON document) and a redirect;
- one extra file cut in the middle of a record (a truncated download of a file the crawler never
  finished): what precedes the cut is readable, the rest is lost; it holds only re-captures, and
  ``truth`` knows which of its records are lost.

``truth(days)`` is what an ingest of the files crawled on those UTC days must store: for every
article with a readable capture in them, the demo site's truth of the version seen at its latest
capture. ``CollectionServer`` serves a collection folder over HTTP with ``Range`` support (and
injectable faults: connection reset, 503 + Retry-After); ``upload_to_s3`` copies it to a bucket.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import random
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from demo_site.generator import DemoSite
from demo_site.pages import Renderer, route

LIVE_BASE = "https://japannews.yomiuri.co.jp/"
PREFIX = "crawl-data/CC-NEWS"
#: UTC hours at which the demo crawler starts a new file each day.
FILE_HOURS = (11, 23)
OTHER_HOSTS = ("https://news.example.org/", "https://www.example.com/", "https://blog.example.net/")


@dataclass
class Capture:
    """One response record of an article page."""

    post_id: int
    at: datetime  # WARC-Date (UTC)
    revision: int
    lost: bool = False  # beyond the cut of the truncated file


@dataclass
class WarcFileSpec:
    name: str  # CC-NEWS-YYYYMMDDHHMMSS-NNNNN.warc.gz
    started: datetime  # UTC, the name's timestamp
    truncated: bool = False
    captures: list[Capture] = field(default_factory=list)
    #: record type / skip class → how many records of it the file holds (readable ones only for the
    #: truncated file, plus ``lost`` = records after the cut).
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def rel_path(self) -> str:
        return f"{PREFIX}/{self.started:%Y/%m}/{self.name}"


class CCNewsCollection:
    """The demo site's CC-NEWS-like collection (see the module docstring)."""

    def __init__(self, site: DemoSite | None = None, *, duplicate_share: float = 0.15, seed: int = 13,
                 base_url: str = LIVE_BASE) -> None:
        self.site = site or DemoSite()
        self.base = base_url if base_url.endswith("/") else base_url + "/"
        self.duplicate_share = duplicate_share
        self.seed = seed
        self.files: list[WarcFileSpec] = self._plan()

    # --- plan -------------------------------------------------------------------------------

    def _starts(self) -> list[datetime]:
        first = self.site.articles[0].published.astimezone(UTC)
        last = self.site.as_of.astimezone(UTC) - timedelta(minutes=10)
        starts: list[datetime] = []
        day = first.date()
        while day <= last.date():
            for hour in FILE_HOURS:
                t = datetime.combine(day, time(hour), tzinfo=UTC)
                if first <= t <= last:
                    starts.append(t)
            day += timedelta(days=1)
        if not starts or starts[-1] < last:
            starts.append(last.replace(second=0, microsecond=0))
        return starts

    def _plan(self) -> list[WarcFileSpec]:
        rng = random.Random(self.seed)
        starts = self._starts()
        files: list[WarcFileSpec] = []
        last_seen: dict[int, int] = {}  # post id → revision of its latest capture
        prev = datetime.min.replace(tzinfo=UTC)
        for start in starts:
            new_ids: list[int] = []
            for spec in self.site.articles:
                pub = spec.published.astimezone(UTC)
                if pub > start:
                    break
                rev = spec.revision_at(start)
                assert rev is not None
                if spec.post_id not in last_seen:
                    new_ids.append(spec.post_id)
                elif rev.n != last_seen[spec.post_id] and rev.modified.astimezone(UTC) > prev:
                    new_ids.append(spec.post_id)  # revised since the previous file
            earlier = sorted(i for i in last_seen if i not in new_ids)
            dups = [i for i in earlier if rng.random() < self.duplicate_share]
            files.append(self._file(start, new_ids + dups, last_seen))
            prev = start
            if len(files) == 2:
                # the truncated file: re-captures of what was seen so far, half an hour later
                seen = sorted(last_seen)
                pick = [i for i in seen if rng.random() < 0.3][:12] or seen[:3]
                trunc = self._file(start + timedelta(minutes=30), pick, dict(last_seen), truncated=True)
                cut = int(len(trunc.captures) * 0.6)
                for c in trunc.captures[cut:]:
                    c.lost = True
                files.append(trunc)
        files.sort(key=lambda f: f.started)
        for number, f in enumerate(files):
            f.name = f"CC-NEWS-{f.started:%Y%m%d%H%M%S}-{number:05d}.warc.gz"
        return files

    def _file(self, start: datetime, ids: list[int], last_seen: dict[int, int], truncated: bool = False) -> WarcFileSpec:
        f = WarcFileSpec(name="", started=start, truncated=truncated)
        for k, post_id in enumerate(ids):
            at = start + timedelta(seconds=2 * k + 1)
            rev = self.site.by_id[post_id].revision_at(at)
            assert rev is not None
            f.captures.append(Capture(post_id, at, rev.n))
            last_seen[post_id] = rev.n
        return f

    # --- writing ----------------------------------------------------------------------------

    def write(self, root: str | Path) -> list[str]:
        """Write every WARC file and the monthly ``warc.paths.gz`` under ``root``; the relative paths."""
        root = Path(root)
        by_month: dict[str, list[str]] = {}
        for f in self.files:
            dest = root / f.rel_path
            dest.parent.mkdir(parents=True, exist_ok=True)
            data = self._render_file(f)
            dest.write_bytes(data)
            by_month.setdefault(f"{f.started:%Y/%m}", []).append(f.rel_path)
        for month, paths in by_month.items():
            text = "".join(p + "\n" for p in sorted(paths))
            (root / PREFIX / month / "warc.paths.gz").write_bytes(gzip.compress(text.encode(), mtime=0))
        return [f.rel_path for f in self.files]

    def _render_file(self, f: WarcFileSpec) -> bytes:
        from warcio.statusandheaders import StatusAndHeaders
        from warcio.warcwriter import WARCWriter

        buf = io.BytesIO()
        writer = WARCWriter(buf, gzip=True)
        counts: dict[str, int] = {}
        offsets: list[tuple[int, str]] = []  # (start offset, class) of every record
        rng = random.Random(f"{self.seed}:{f.name}")
        serial = [0]

        def rid() -> str:
            serial[0] += 1
            digest = hashlib.sha256(f"{f.name}:{serial[0]}".encode()).hexdigest()
            return f"<urn:uuid:{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}>"

        def stamp(at: datetime) -> str:
            return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

        def put(kind: str, rec: Any) -> None:
            offsets.append((buf.tell(), kind))
            writer.write_record(rec)

        def response(url: str, at: datetime, status: str, ctype: str, body: bytes,
                     extra: list[tuple[str, str]] | None = None) -> Any:
            http = StatusAndHeaders(status, [("Content-Type", ctype), ("Content-Length", str(len(body))),
                                             *(extra or [])], protocol="HTTP/1.1")
            return writer.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=http,
                                             warc_headers_dict={"WARC-Record-ID": rid(), "WARC-Date": stamp(at)})

        info = writer.create_warcinfo_record(f.name, {"software": "newsline-demo-ccnews", "isPartOf": "CC-NEWS"})
        info.rec_headers.replace_header("WARC-Record-ID", rid())
        info.rec_headers.replace_header("WARC-Date", stamp(f.started))
        put("warcinfo", info)
        renderer_cache: dict[datetime, Renderer] = {}
        extras_at = f.started + timedelta(seconds=2 * len(f.captures) + 1)
        for cap in f.captures:
            spec = self.site.by_id[cap.post_id]
            url = self.base + spec.path.lstrip("/")
            req = writer.create_warc_record(
                url, "request", payload=io.BytesIO(b""),
                http_headers=StatusAndHeaders(f"GET /{spec.path.lstrip('/')} HTTP/1.1",
                                              [("Host", urlsplit(self.base).netloc), ("User-Agent", "CCBot/2.0")],
                                              is_http_request=True),
                warc_headers_dict={"WARC-Record-ID": rid(), "WARC-Date": stamp(cap.at)})
            put("request", req)
            r = renderer_cache.setdefault(cap.at, Renderer(self.site, self.base, cap.at))
            page = route(r, spec.path, {})
            assert page.status == 200, (spec.path, page.status)
            put("article", response(url, cap.at, "200 OK", page.content_type, page.body,
                                    list(page.headers.items())))
            meta = writer.create_warc_record(
                url, "metadata", payload=io.BytesIO(b"fetchTimeMs: 120\r\n"),
                warc_content_type="application/warc-fields",
                warc_headers_dict={"WARC-Record-ID": rid(), "WARC-Date": stamp(cap.at)})
            put("metadata", meta)
        at = extras_at
        # unrelated pages of other domains
        for k, host in enumerate(OTHER_HOSTS):
            body = (f"<html lang=en><head><title>Placeholder story {k} of {host}</title></head><body><article>"
                    f"<h1>Placeholder story {k}</h1><p>Generated text number {rng.randrange(10**6)} for a page "
                    "that belongs to no registered site.</p></article></body></html>").encode()
            put("other_domain", response(f"{host}{f.started:%Y/%m/%d}/story-{k}/", at, "200 OK",
                                         "text/html; charset=UTF-8", body))
        # the site's own non-article pages, non-HTML responses and a redirect
        home = Renderer(self.site, self.base, min(at, self.site.as_of))
        put("not_article", response(self.base, at, "200 OK", "text/html; charset=UTF-8", route(home, "/", {}).body))
        put("not_article", response(self.base + "politics/", at, "200 OK", "text/html; charset=UTF-8",
                                    route(home, "/politics/", {}).body))
        put("non_html", response(self.base + "wp-content/uploads/2024/09/placeholder.jpg", at, "200 OK",
                                 "image/jpeg", bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffd9")))
        put("non_html", response(self.base + "wp-json/wp/v2/posts/1", at, "200 OK", "application/json",
                                 json.dumps({"id": 1, "note": "generated"}).encode()))
        if f.captures:
            spec = self.site.by_id[f.captures[0].post_id]
            put("redirect", response(f"{self.base}?p={spec.post_id}", at, "301 Moved Permanently",
                                     "text/html; charset=UTF-8", b"",
                                     [("Location", self.base + spec.path.lstrip("/"))]))
            # a revisit: the crawler saw the same payload again and stored a reference only
            rev = writer.create_revisit_record(
                self.base + spec.path.lstrip("/"), digest="sha1:" + "A" * 32,
                refers_to_uri=self.base + spec.path.lstrip("/"), refers_to_date=stamp(f.captures[0].at),
                http_headers=StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=UTF-8")],
                                              protocol="HTTP/1.1"))
            rev.rec_headers.replace_header("WARC-Record-ID", rid())
            rev.rec_headers.replace_header("WARC-Date", stamp(at))
            put("revisit", rev)
        data = buf.getvalue()
        if f.truncated:
            # cut in the middle of the response record of the capture 60 % into the file
            articles = [i for i, (_, kind) in enumerate(offsets) if kind == "article"]
            victim = articles[int(len(articles) * 0.6)]  # the first lost capture (see _plan)
            start = offsets[victim][0]
            end = offsets[victim + 1][0] if victim + 1 < len(offsets) else len(data)
            data = data[: start + (end - start) // 2]
            kept = offsets[:victim]
            counts["lost"] = len(offsets) - len(kept)
            offsets = kept
        for _, kind in offsets:
            counts[kind] = counts.get(kind, 0) + 1
        f.counts = counts
        return data

    # --- ground truth -----------------------------------------------------------------------

    def files_on(self, day: date) -> list[WarcFileSpec]:
        return [f for f in self.files if f.started.date() == day]

    def truth(self, days: Iterable[date] | None = None) -> list[dict[str, Any]]:
        """The demo truth of each article's latest readable capture in the files crawled on ``days``."""
        wanted = set(days) if days is not None else None
        latest: dict[int, datetime] = {}
        for f in self.files:
            if wanted is not None and f.started.date() not in wanted:
                continue
            for c in f.captures:
                if not c.lost and (c.post_id not in latest or c.at > latest[c.post_id]):
                    latest[c.post_id] = c.at
        out = []
        for post_id in sorted(latest):
            content = self.site.article_at(post_id, latest[post_id])
            assert content is not None
            out.append(self.site.truth_record(content, self.base))
        return out

    def day_counts(self, day: date) -> dict[str, int]:
        """Record classes of the files crawled on ``day`` (as written into them)."""
        total: dict[str, int] = {}
        for f in self.files_on(day):
            for k, v in f.counts.items():
                total[k] = total.get(k, 0) + v
        return total


# --- serving ----------------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
        pass

    def do_HEAD(self) -> None:  # noqa: N802
        self._serve(head=True)

    def do_GET(self) -> None:  # noqa: N802
        self._serve(head=False)

    def _serve(self, head: bool) -> None:
        srv = self.server
        path = self.path.split("?", 1)[0].lstrip("/")
        with srv.lock:
            srv.requests.append((self.command, path, self.headers.get("Range")))
            fault = srv.faults.get(path) if not head else None
            if fault and srv.fault_left.get(path, 0) > 0:
                srv.fault_left[path] -= 1
            else:
                fault = None
        target = (srv.root / path).resolve()
        if not str(target).startswith(str(srv.root)) or not target.is_file():
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if fault == "throttle":
            self.send_response(503)
            self.send_header("Retry-After", "1")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        size = target.stat().st_size
        start, end = 0, size - 1
        rng = self.headers.get("Range")
        status = 200
        if rng and rng.startswith("bytes="):
            first, _, last = rng[6:].partition("-")
            start = int(first or 0)
            end = min(int(last), size - 1) if last else size - 1
            if start >= size:
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            status = 206
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(end - start + 1))
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.end_headers()
        if head:
            return
        with open(target, "rb") as fh:
            fh.seek(start)
            remaining = end - start + 1
            if fault == "reset":
                remaining = remaining // 2  # send half, then drop the connection
            while remaining > 0:
                chunk = fh.read(min(65536, remaining))
                if not chunk:
                    break
                self.wfile.write(chunk)
                remaining -= len(chunk)
        if fault == "reset":
            self.close_connection = True
            self.wfile.flush()
            self.connection.shutdown(2)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, root: Path) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.root = root.resolve()
        self.lock = threading.Lock()
        self.requests: list[tuple[str, str, str | None]] = []
        self.faults: dict[str, str] = {}
        self.fault_left: dict[str, int] = {}


class CollectionServer:
    """Serve a collection folder on 127.0.0.1 (free port) with Range support and optional faults."""

    def __init__(self, root: str | Path) -> None:
        self._server = _Server(Path(root))
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/"

    @property
    def requests(self) -> list[tuple[str, str, str | None]]:
        return list(self._server.requests)

    def set_fault(self, rel_path: str, kind: str, times: int = 1) -> None:
        """``kind``: ``reset`` (half the body, then the connection drops) or ``throttle`` (503 + Retry-After: 1)."""
        with self._server.lock:
            self._server.faults[rel_path] = kind
            self._server.fault_left[rel_path] = times

    def start(self) -> CollectionServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> CollectionServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def upload_to_s3(root: str | Path, bucket: str, prefix: str = "", client: Any = None) -> int:
    """Copy a collection folder to ``s3://bucket/prefix``; returns the number of objects."""
    import boto3

    client = client or boto3.client("s3")
    root = Path(root)
    n = 0
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        key = "/".join(filter(None, [prefix.strip("/"), path.relative_to(root).as_posix()]))
        client.upload_file(str(path), bucket, key)
        n += 1
    return n


def main(argv: list[str] | None = None) -> int:
    """``python -m demo_site.ccnews OUT [--serve]``: write the demo collection (and serve it over HTTP)."""
    import argparse
    import time as _time

    p = argparse.ArgumentParser(prog="python -m demo_site.ccnews", description=main.__doc__)
    p.add_argument("out", help="folder to write the collection into")
    p.add_argument("--serve", action="store_true", help="then serve it on 127.0.0.1 (a free port) until Ctrl-C")
    args = p.parse_args(argv)
    coll = CCNewsCollection()
    paths = coll.write(args.out)
    print(f"wrote {len(paths)} WARC files and the paths index under {args.out}")
    if args.serve:
        with CollectionServer(args.out) as server:
            print(f"serving {args.out} at {server.base_url}", flush=True)
            try:
                while True:
                    _time.sleep(3600)
            except KeyboardInterrupt:
                pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
