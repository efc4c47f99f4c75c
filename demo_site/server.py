"""HTTP server for the demo site: 127.0.0.1 only, a background thread, time movable at runtime.

``DemoServer`` wraps a ``ThreadingHTTPServer``; every request is answered by ``pages.route`` at the
server's current ``as_of``. Control endpoints live under ``/_newsline/`` (disallowed in robots.txt):
``truth.json`` (ground truth at the current as_of, ISO strings; ``?date=`` and ``?as_of=`` filter), ``as-of?value=ISO`` (read or move
time), ``requests.json`` (every request path served, with its arrival ``at`` in Unix seconds, so a test
can prove what a crawler touched),
``faults.json`` (fault decisions). ``main(argv)`` is the command line (``python -m demo_site``;
``--all`` serves every demo site of ``demo_site.world``).

One server class serves any site model: the Japan News ``DemoSite`` (rendered by ``pages.route``) or a
``sitebase.BaseSite`` (rendered by its own ``render``). The fault plan is shared: a config that keeps
the default scope or hostile target is pointed at the site's own article pattern and sitemap.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import gzip
import io
import json
import logging
import os
import signal
import socket
import struct
import sys
import threading
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta, tzinfo
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from demo_site import faults as F
from demo_site.bigsitemap import BigSitemaps
from demo_site.faults import FaultConfig, FaultEvent, FaultPlan
from demo_site.generator import DEFAULT_ARTICLES_PER_DAY, DEFAULT_DAYS, DEFAULT_SEED, JST, DemoSite
from demo_site.pages import Page, Renderer, route
from demo_site.sitebase import BaseSite

SiteModel = DemoSite | BaseSite

log = logging.getLogger(__name__)

CONTROL_PREFIX = "/_newsline/"
#: Where off-site redirects point: a reserved name that never resolves.
OFFSITE_BASE = "http://offsite.example.invalid/"
FAULTS_ENV = "NEWSLINE_DEMO_FAULTS"
#: How often the serving loop checks for stop(): short, so tests that start many servers stay fast.
POLL_INTERVAL = 0.05
ALLOWED_HOSTS = ("127.0.0.1", "localhost", "::1")


def parse_as_of(value: str, tz: tzinfo = JST) -> datetime:
    """ISO 8601; a naive value is read in ``tz`` (the site's own clock; JST for the Japan News)."""
    parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=tz)


def parse_days(value: str) -> list[date]:
    """``2024-09-04..2024-09-08`` (inclusive range) or a comma-separated list of days."""
    value = value.strip()
    if ".." in value:
        first, last = (date.fromisoformat(v.strip()) for v in value.split("..", 1))
        if last < first:
            raise ValueError(f"empty day range {value!r}")
        return [first + timedelta(days=k) for k in range((last - first).days + 1)]
    return [date.fromisoformat(v.strip()) for v in value.split(",") if v.strip()]


def not_modified(page: Page, since: str | None) -> bool:
    """Conditional GET: the page has not changed since the client's copy (article pages only)."""
    last = page.headers.get("Last-Modified")
    if page.status != 200 or not last or not since:
        return False
    try:
        return parsedate_to_datetime(last) <= parsedate_to_datetime(since)
    except (TypeError, ValueError):
        return False


def truth_json(records: list[dict[str, Any]]) -> bytes:
    def default(value: object) -> str:
        if isinstance(value, (datetime, date)):
            return value.isoformat()
        raise TypeError(type(value).__name__)

    return json.dumps(records, ensure_ascii=False, default=default, indent=1).encode("utf-8")


#: Linux's SO_TIMESTAMP (``SO_TIMESTAMP_OLD``; the socket module does not name it): with it set, each
#: read of a TCP socket carries the kernel's receive time of the data read, as a ``struct timeval``.
SO_TIMESTAMP = getattr(socket, "SO_TIMESTAMP", 29 if sys.platform.startswith("linux") else None)
_TIMEVAL = struct.Struct("@ll")


class _StampedSocketReader(io.RawIOBase):
    """A connection's bytes, each read remembering when the kernel received them (``stamp``, Unix
    seconds; None where the platform gives no receive time).

    The request log gives each request that time, not the time a server thread got to it: on a loaded
    machine the thread can run a good part of a second late, and two requests a crawler sent a delay
    apart were then logged a few milliseconds apart, a burst no site saw."""

    def __init__(self, sock: socket.socket) -> None:
        super().__init__()
        self._sock = sock
        self.stamp: float | None = None
        self._ancillary = socket.CMSG_SPACE(_TIMEVAL.size) if SO_TIMESTAMP is not None else 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if not self._ancillary:
            return self._sock.recv_into(buffer)
        n, ancillary, _flags, _addr = self._sock.recvmsg_into([buffer], self._ancillary)
        self.stamp = None
        for level, kind, data in ancillary:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMP and len(data) >= _TIMEVAL.size:
                seconds, micros = _TIMEVAL.unpack_from(data)
                self.stamp = seconds + micros / 1e6
        return n


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    protocol_version = "HTTP/1.1"

    def version_string(self) -> str:
        return "nginx"

    def setup(self) -> None:
        super().setup()
        self.rfile.close()  # the socket file StreamRequestHandler made: requests are read through this one
        self.rfile = io.BufferedReader(_StampedSocketReader(self.connection), io.DEFAULT_BUFFER_SIZE)
        self._not_before = 0.0  # no request on this connection is logged as arriving earlier
        lag = self.server.demo.plan.config.connect_lag
        if lag > 0:  # a new connection: its first request reaches the site (and the request log) late
            time.sleep(lag)
            self._not_before = time.time()

    def parse_request(self) -> bool:
        # the request line has just been read: the kernel's receive time of its bytes is the arrival
        stamp = self.rfile.raw.stamp
        self.arrived = max(stamp if stamp is not None else time.time(), self._not_before)
        return super().parse_request()

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        self._serve(head=False)

    def do_HEAD(self) -> None:  # noqa: N802
        self._serve(head=True)

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self._serve(head=False)

    def _serve(self, head: bool) -> None:
        demo = self.server.demo
        split = urlsplit(self.path)
        query = parse_qs(split.query, keep_blank_values=True)
        path = split.path or "/"
        demo.record(self.command, self.path, self.arrived)
        with demo.serving():
            self._serve_path(path, query, head)

    def _serve_path(self, path: str, query: dict[str, list[str]], head: bool) -> None:
        demo = self.server.demo
        if path.startswith(CONTROL_PREFIX):
            self._send(demo.control(path[len(CONTROL_PREFIX) :], query), head)
            return
        plan = demo.plan
        forced = (query.get("_fault") or [None])[0]
        event = plan.decide(path, self.path, forced) if (plan.config.active or forced) else None
        page = demo.page(path, query)
        if event is None:
            if not_modified(page, self.headers.get("If-Modified-Since")):
                page = Page(304, page.content_type, b"", {"Last-Modified": page.headers["Last-Modified"]})
            self._send(page, head)
            return
        self._apply(event, page, path, query, head)

    def _apply(self, event: FaultEvent, page: Page, path: str, query: dict[str, list[str]], head: bool) -> None:
        cfg = self.server.demo.plan.config
        kind = event.kind
        if kind == "error":
            status = int(event.detail)
            self._send(
                Page(
                    status,
                    "text/html; charset=UTF-8",
                    f"<html><body><h1>{status} Server Error</h1></body></html>".encode(),
                ),
                head,
            )
        elif kind == "throttle":
            self._send(
                Page(
                    429,
                    "text/html; charset=UTF-8",
                    b"<html><body><h1>429 Too Many Requests</h1></body></html>",
                    {"Retry-After": str(cfg.retry_after)},
                ),
                head,
            )
        elif kind == "slow":
            time.sleep(cfg.slow_seconds)
            self._send(page, head)
        elif kind == "reset":
            self._reset()
        elif kind == "truncate":
            self._truncated(page)
        elif kind == "charset-missing":
            self._send(Page(page.status, "text/html", F.strip_charset(page.body), page.headers), head)
        elif kind == "charset-wrong" and self.server.demo.site.charset != "utf-8":
            # a legacy-charset site: the header claims UTF-8, or the body is UTF-8 under the old <meta>
            if event.detail == "header-latin1":
                self._send(Page(page.status, "text/html; charset=UTF-8", page.body, page.headers), head)
            else:
                body = page.body.decode(self.server.demo.site.charset).encode("utf-8")
                self._send(Page(page.status, page.content_type, body, page.headers), head)
        elif kind == "charset-wrong":
            if event.detail == "header-latin1":
                self._send(Page(page.status, "text/html; charset=ISO-8859-1", page.body, page.headers), head)
            else:
                self._send(Page(page.status, "text/html; charset=UTF-8", F.to_cp1252(page.body), page.headers), head)
        elif kind == "malformed":
            body = F.malform(page.body, self.server.demo.site.charset)
            self._send(Page(page.status, page.content_type, body, page.headers), head)
        elif kind == "redirect-loop":
            target = path if query.get("_r") else f"{path}?_r=1"
            self._send(
                Page(
                    302, "text/html; charset=UTF-8", b"", {"Location": self.server.demo.base_url + target.lstrip("/")}
                ),
                head,
            )
        elif kind == "offsite-redirect":
            self._send(Page(302, "text/html; charset=UTF-8", b"", {"Location": OFFSITE_BASE + path.lstrip("/")}), head)
        elif kind == "oversized":
            self._send(Page(page.status, page.content_type, F.pad(page.body, cfg.oversized_bytes), page.headers), head)
        elif kind == "gzip-bomb":
            self._send(
                Page(200, "text/html; charset=UTF-8", F.gzip_bomb(cfg.bomb_bytes), {"Content-Encoding": "gzip"}), head
            )
        elif kind == "empty":
            body = b"" if event.detail == "zero-bytes" else F.EMPTY_DOCUMENT
            self._send(Page(200, "text/html; charset=UTF-8", body), head)
        elif kind == "challenge":
            self._send(Page(200, "text/html; charset=UTF-8", F.CHALLENGE_PAGE), head)
        else:
            self._send(page, head)

    def _reset(self) -> None:
        """Abort the connection with a TCP RST and no answer."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass

    def _truncated(self, page: Page) -> None:
        """Promise the whole body, send half of it, then drop the connection."""
        self.close_connection = True
        self.send_response(page.status)
        self.send_header("Content-Type", page.content_type)
        self.send_header("Content-Length", str(len(page.body)))
        self.end_headers()
        try:
            self.wfile.write(page.body[: len(page.body) // 2])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _send(self, page: Page, head: bool) -> None:
        self.send_response(page.status)
        self.send_header("Content-Type", page.content_type)
        self.send_header("Content-Length", str(len(page.body)))
        for name, value in page.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if head:
            return
        try:
            view = memoryview(page.body)
            for start in range(0, len(view), 1 << 16):
                self.wfile.write(view[start : start + (1 << 16)])
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        log.debug("%s %s", self.address_string(), format % args)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    #: The listen backlog. socketserver's default is 5: a crawler opening more connections at once (16 by
    #: default) saw the rest of its SYNs dropped and resent by the kernel a second later, a stall no
    #: real site's web server (backlog 511 in nginx) has.
    request_queue_size = 512
    demo: DemoServer

    def server_bind(self) -> None:
        if SO_TIMESTAMP is not None:  # accepted connections inherit it, so their first bytes are stamped too
            self.socket.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMP, 1)
        super().server_bind()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up an idle keep-alive connection (a crawler exiting) is no error."""
        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            return
        super().handle_error(request, client_address)


class DemoServer:
    """The demo site over HTTP on 127.0.0.1; ``port=0`` picks a free port (see ``base_url``)."""

    def __init__(
        self,
        site: SiteModel | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        as_of: datetime | None = None,
        faults: FaultConfig | str | None = None,
        announce: bool = True,
        big_sitemaps: BigSitemaps | None = None,
    ) -> None:
        if host not in ALLOWED_HOSTS:
            raise ValueError(f"the demo site binds to loopback only, not {host!r}")
        self.site: SiteModel = site or DemoSite()
        self.host = host
        self._port = port
        self.announce = announce
        #: An archive of generated article URLs added to the site's sitemap index (``--big-sitemap``).
        self.big_sitemaps = big_sitemaps
        self._as_of = self.site.resolve_as_of(as_of)
        self.plan = self._plan_for(FaultConfig.parse(faults) if isinstance(faults, str) else faults)
        self._lock = threading.Lock()
        self._requests: list[tuple[str, str]] = []
        self._request_times: list[float] = []  # arrival time of each entry of _requests
        self._in_flight = 0  # requests being answered right now
        self._peak_in_flight = 0
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle --------------------------------------------------------------------------

    def _bind(self) -> _HTTPServer:
        if self._httpd is None:
            self._httpd = _HTTPServer((self.host, self._port), _Handler)
            self._httpd.demo = self
            self._port = self._httpd.server_address[1]
        return self._httpd

    def start(self) -> DemoServer:
        httpd = self._bind()
        self._thread = threading.Thread(
            target=httpd.serve_forever, args=(POLL_INTERVAL,), name=f"demo-site-{self.site.key}", daemon=True
        )
        self._thread.start()
        if self.announce:
            log.info("demo site serving on %s (as of %s)", self.base_url, self.as_of.isoformat())
        return self

    def serve_forever(self) -> None:
        httpd = self._bind()
        log.info("demo site serving on %s (as of %s)", self.base_url, self.as_of.isoformat())
        httpd.serve_forever()

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> DemoServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self._port}/"

    # --- time and records -------------------------------------------------------------------

    @property
    def as_of(self) -> datetime:
        with self._lock:
            return self._as_of

    def set_as_of(self, value: datetime) -> None:
        """Move the site's clock: later pages, sitemaps and truth reflect articles up to ``value``."""
        resolved = self.site.resolve_as_of(value)
        with self._lock:
            self._as_of = resolved

    def truth(self, as_of: datetime | None = None, day: date | None = None) -> list[dict[str, Any]]:
        """Ground truth at the server's clock (or ``as_of``) with URLs under this server's base URL."""
        return self.site.truth(self.base_url, as_of or self.as_of, day)

    def record(self, method: str, target: str, at: float | None = None) -> None:
        """Log a request; ``at`` is its arrival (Unix seconds; now if not given)."""
        with self._lock:
            self._requests.append((method, target))
            self._request_times.append(time.time() if at is None else at)

    @contextlib.contextmanager
    def serving(self) -> Iterator[None]:
        """Count a request as in flight while it is answered (``peak_in_flight``)."""
        with self._lock:
            self._in_flight += 1
            self._peak_in_flight = max(self._peak_in_flight, self._in_flight)
        try:
            yield
        finally:
            with self._lock:
                self._in_flight -= 1

    @property
    def peak_in_flight(self) -> int:
        """The most requests answered at once since the start (or ``clear_requests``): the concurrency
        a crawler really used against the site, whatever its settings said."""
        with self._lock:
            return self._peak_in_flight

    @property
    def requests(self) -> list[tuple[str, str]]:
        """Every (method, request target) served so far, control endpoints included."""
        with self._lock:
            return list(self._requests)

    @property
    def timed_requests(self) -> list[tuple[float, str, str]]:
        """Every (arrival time in epoch seconds, method, request target) served so far: the request log
        a politeness check reads (how many requests reached the site in any window)."""
        with self._lock:
            return [(t, m, target) for t, (m, target) in zip(self._request_times, self._requests, strict=True)]

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()
            self._request_times.clear()
            self._peak_in_flight = self._in_flight

    @property
    def faults(self) -> FaultConfig:
        return self.plan.config

    def set_faults(self, config: FaultConfig | str | None) -> None:
        """Replace the fault configuration; attempt counts and the event log start afresh."""
        self.plan = self._plan_for(FaultConfig.parse(config) if isinstance(config, str) or config is None else config)

    def _plan_for(self, config: FaultConfig | None) -> FaultPlan:
        """A plan for this site: the default scope / hostile target become the site's own."""
        config = config or FaultConfig()
        if isinstance(self.site, BaseSite):
            if config.scope == F.ARTICLE_SCOPE:
                config = config.with_changes(scope=self.site.article_scope)
            if config.hostile_target == FaultConfig.hostile_target:
                config = config.with_changes(hostile_target=self.site.hostile_target)
        return FaultPlan(config)

    @property
    def fault_events(self) -> list[FaultEvent]:
        """Every fault applied so far (kind, path, attempt), for accounting in tests."""
        return self.plan.events

    # --- answering --------------------------------------------------------------------------

    def page(self, path: str, query: dict[str, list[str]]) -> Page:
        plan = self.plan
        cfg = plan.config
        if cfg.hostile and path in (cfg.hostile_target, cfg.hostile_target + ".gz"):
            plan.record(
                FaultEvent(path=path, target=path, kind="hostile-xml", attempt=plan.attempts(path), detail=cfg.hostile)
            )
            body = F.xxe_sitemap(self.base_url) if cfg.hostile == "xxe" else F.billion_laughs_sitemap(self.base_url)
            if path.endswith(".gz"):
                return Page(200, "application/x-gzip", gzip.compress(body, mtime=0))
            return Page(200, "application/xml; charset=UTF-8", body)
        if self.big_sitemaps is not None:
            big = self._big_sitemap_page(plan, path, query)
            if big is not None:
                return big
        if path.endswith(".xml.gz"):
            inner = self.render(plan, path[:-3], query)
            if inner.status != 200:
                return inner
            return Page(200, "application/x-gzip", gzip.compress(inner.body, mtime=0))
        page = self.render(plan, path, query)
        if (
            page.status == 404
            and cfg.remove
            and self.render(FaultPlan(dataclasses.replace(cfg, remove=frozenset())), path, query).status != 404
        ):
            plan.record(
                FaultEvent(
                    path=path,
                    target=path,
                    kind="removed-source",
                    attempt=plan.attempts(path),
                    detail="+".join(sorted(cfg.remove)),
                )
            )
        return page

    def _big_sitemap_page(self, plan: FaultPlan, path: str, query: dict[str, list[str]]) -> Page | None:
        """The archive's files and the site's index with the archive's children added; None otherwise."""
        big = self.big_sitemaps
        assert big is not None
        first = (self.site.days[0].year, self.site.days[0].month)
        if path == "/sitemap.xml":
            index = self.render(plan, path, query)
            if index.status != 200:
                return index
            body = big.add_to_index(index.body, big.index_rows(self.base_url, first))
            return Page(index.status, index.content_type, body, index.headers)
        if big.is_archive_article(path):
            return Page(404, "text/html; charset=UTF-8", b"<html><body>archive pages are not served</body></html>")
        file = big.archive_file(path)
        if file is None:
            return None
        body = big.urlset(self.base_url, file[0], file[1], first, self.site.timezone)
        if body is None:
            return None
        return Page(200, "application/x-gzip" if file[2] else "application/xml; charset=UTF-8", body)

    def render(self, plan: FaultPlan, path: str, query: dict[str, list[str]]) -> Page:
        """The site's answer to one path at the server's clock, before per-request faults."""
        if isinstance(self.site, DemoSite):
            return route(Renderer(self.site, self.base_url, self.as_of, plan), path, query)
        return self.site.render(path, query, self.base_url, self.as_of, plan)

    def control(self, name: str, query: dict[str, list[str]]) -> Page:
        if name == "truth.json":
            try:
                when = parse_as_of(query["as_of"][0], self.site.timezone) if query.get("as_of") else None
                day = date.fromisoformat(query["date"][0]) if query.get("date") else None
            except ValueError as exc:
                return Page(400, "text/plain; charset=UTF-8", str(exc).encode("utf-8"))
            return Page(200, "application/json; charset=UTF-8", truth_json(self.truth(when, day)))
        if name == "as-of":
            if query.get("value"):
                try:
                    self.set_as_of(parse_as_of(query["value"][0], self.site.timezone))
                except ValueError as exc:
                    return Page(400, "text/plain; charset=UTF-8", str(exc).encode("utf-8"))
            body = json.dumps({"as_of": self.as_of.isoformat()}).encode("utf-8")
            return Page(200, "application/json; charset=UTF-8", body)
        if name == "faults.json":
            body = json.dumps({"spec": _spec_of(self.faults), "events": [e.to_dict() for e in self.fault_events]})
            return Page(200, "application/json; charset=UTF-8", body.encode("utf-8"))
        if name == "faults":
            try:
                self.set_faults((query.get("spec") or [""])[0])
            except ValueError as exc:
                return Page(400, "text/plain; charset=UTF-8", str(exc).encode("utf-8"))
            return Page(200, "application/json; charset=UTF-8", json.dumps({"spec": _spec_of(self.faults)}).encode())
        if name == "requests.json":
            body = json.dumps([{"method": m, "target": t, "at": round(at, 6)}
                               for at, m, t in self.timed_requests]).encode("utf-8")
            return Page(200, "application/json; charset=UTF-8", body)
        return Page(404, "text/plain; charset=UTF-8", b"unknown control endpoint")


def _spec_of(config: FaultConfig) -> dict[str, Any]:
    data = dataclasses.asdict(config)
    data["remove"] = sorted(config.remove)
    return data


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="demo_site", description="Serve the Newsline demo news site on 127.0.0.1.")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port, 0 picks a free one (default 8765)")
    parser.add_argument(
        "--as-of", default=None, help="site clock, ISO 8601 (naive = JST); default 2024-09-09T06:00+09:00"
    )
    parser.add_argument("--days", default=None, help="demo days: 2024-09-04..2024-09-08 or a comma list")
    parser.add_argument("--articles-per-day", type=int, default=DEFAULT_ARTICLES_PER_DAY)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument(
        "--faults",
        default=None,
        help=f"fault spec, e.g. 'error=0.1,burst=2,remove=feeds' (default: ${FAULTS_ENV} or none)",
    )
    parser.add_argument(
        "--big-sitemap",
        default=None,
        metavar="N[,gz]",
        help="add an archive of N generated article URLs to the sitemap index (50,000 per file; gz: gzipped)",
    )
    parser.add_argument("--log-level", default="INFO")
    return parser


def server_from_args(args: argparse.Namespace) -> DemoServer:
    days = parse_days(args.days) if args.days else list(DEFAULT_DAYS)
    site = DemoSite(days=days, articles_per_day=args.articles_per_day, seed=args.seed)
    as_of = parse_as_of(args.as_of) if args.as_of else None
    spec = args.faults if args.faults is not None else os.environ.get(FAULTS_ENV, "")
    big = BigSitemaps.parse(args.big_sitemap) if args.big_sitemap else None
    return DemoServer(site, host=args.host, port=args.port, as_of=as_of, faults=FaultConfig.parse(spec),
                      big_sitemaps=big)


def main(argv: list[str] | None = None) -> int:
    """``python -m demo_site``: serve in the foreground until SIGINT/SIGTERM."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=getattr(logging, str(args.log_level).upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        server = server_from_args(args)
    except ValueError as exc:
        print(f"newsline: error: {exc}", file=sys.stderr)
        return 2

    def _stop(signum: int, frame: object) -> None:
        threading.Thread(target=server.stop, daemon=True).start()

    signal.signal(signal.SIGTERM, _stop)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0
