"""Web archives (WARC collections such as Common Crawl's CC-NEWS) as a source of articles.

A *collection* is a place holding WARC files and a paths index: Common Crawl's HTTPS endpoint or S3
bucket (preset ``ccnews``/``ccnews-s3``), or any local folder, ``http(s)://`` URL or ``s3://`` prefix
laid out the same way (``crawl-data/CC-NEWS/YYYY/MM/warc.paths.gz`` listing relative paths, or one
``warc.paths.gz``/``warc.paths`` at the root). A file's crawl time is the ``YYYYMMDDHHMMSS`` in its
name; the files "of day D" are those whose timestamp falls on D (UTC).

``read_warc_file`` streams one file record by record (warcio's ``ArchiveIterator`` over the HTTP/S3/
file body; nothing is buffered beyond one record, capped). An interruption (connection reset,
truncated gzip member, corrupt record, a body shorter than announced) is retried from the end of
the last complete record with a ``Range`` request, a bounded number of times, honouring
``Retry-After``; what still cannot be read is reported as the file's unread tail, never dropped
silently. ``WarcExtractor`` decides what each record is: an article of a registered site (parsed
with that site's parser into the same ``ArticleItem`` the live crawl emits), a page the parser
rejected (a ``Rejection``, quarantined downstream), or a skip with a reason.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import logging
import os
import re
import socket
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from core.sites import all_sites, generic_profile, get_site
from core.sites import site_for_url as profile_for_url
from core.timeutil import retry_after_seconds
from crawler.discovery import article_url_info, canonicalize_url, parse_w3c_datetime
from crawler.parsers import PageRejected, parser_for
from crawler.parsers.base import charset_of
from crawler.records import Rejection

log = logging.getLogger(__name__)

#: Named collections: Common Crawl's news crawl over HTTPS (default) and on S3.
PRESETS = {
    "ccnews": "https://data.commoncrawl.org/",
    "ccnews-s3": "s3://commoncrawl/",
}
CCNEWS_PREFIX = "crawl-data/CC-NEWS"
_STAMP_RE = re.compile(r"(?<!\d)(\d{14})(?!\d)")
#: Article pages above this size are skipped as ``oversized`` (the live crawl's response cap).
MAX_RECORD_BYTES = 10 * 1024 * 1024
#: Why a record was not kept: every record read falls in exactly one of these or becomes an item
#: or a rejection.
SKIP_REASONS = ("not_response", "revisit", "non_html", "other_domain", "not_article", "redirect",
                "http_error", "oversized", "undecodable")


class SourceError(RuntimeError):
    """The collection cannot be listed or a file cannot be opened at all (a user or network error)."""


class Throttled(OSError):
    """The archive host asked us to slow down (429/503); ``retry_after`` in seconds if it said."""

    def __init__(self, message: str, retry_after: float | None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Incomplete(OSError):
    """The stream ended before the file (or a record) was complete."""


# --- routing ------------------------------------------------------------------------------------


def site_for_url(url: str, extra_hosts: dict[str, str] | None = None) -> str | None:
    """The registered site a URL belongs to: the profile owning its host (``domains``), or an
    ``extra_hosts`` route (``host`` or ``host:port`` → site key: a mirror, the demo site)."""
    split = urlsplit(url)
    host = (split.hostname or "").lower().rstrip(".")
    if not host:
        return None
    if extra_hosts:
        for name in (split.netloc.lower(), host):
            if name in extra_hosts:
                return extra_hosts[name]
    profile = profile_for_url(url)
    return profile.key if profile else None


def is_article_url(site: str, url: str) -> bool:
    """Whether the site's spider would treat ``url`` as an article page (its profile's URL pattern)."""
    return article_url_info(url, get_site(site)) is not None


# --- collections --------------------------------------------------------------------------------


@dataclass(frozen=True)
class WarcFile:
    rel_path: str  # path inside the collection, as the paths index lists it
    crawl_time: datetime  # UTC, from the name

    @property
    def name(self) -> str:
        return self.rel_path.rsplit("/", 1)[-1]


def crawl_time_of(name: str) -> datetime | None:
    """The UTC time in a WARC file's name (``CC-NEWS-20240906110000-00006.warc.gz``), or None."""
    m = _STAMP_RE.search(name.rsplit("/", 1)[-1])
    if not m:
        return None
    try:
        return datetime.strptime(m.group(1), "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        return None


class Body:
    """A streaming response body: ``read(n)`` and ``tell()`` (bytes consumed), as warcio needs."""

    def __init__(self, raw: Any, total: int | None, offset: int) -> None:
        self._raw = raw
        self.total = total  # whole file size when the server said, else None
        self.offset = offset  # where this stream starts in the file
        self.consumed = 0

    def read(self, n: int = -1) -> bytes:
        data = self._raw.read(n) if n is not None and n >= 0 else self._raw.read()
        self.consumed += len(data)
        return data

    def tell(self) -> int:
        return self.consumed

    def close(self) -> None:
        try:
            self._raw.close()
        except Exception:  # noqa: BLE001 - closing a broken stream must not mask its error
            pass


@dataclass
class Collection:
    location: str  # as given (a preset name, URL, s3:// prefix or folder)
    root: str  # resolved: http(s) URL or s3:// prefix ending in "/", or a local folder
    key: str  # path-safe short name of the collection
    user_agent: str = "NewslineBot/0.1"
    timeout_s: float = 60.0

    @property
    def kind(self) -> str:
        if self.root.startswith(("http://", "https://")):
            return "http"
        if self.root.startswith("s3://"):
            return "s3"
        return "file"

    # listing -------------------------------------------------------------------------------

    def index_candidates(self, day: date) -> list[str]:
        return [f"{CCNEWS_PREFIX}/{day:%Y/%m}/warc.paths.gz", "warc.paths.gz", "warc.paths"]

    def list_day(self, day: date) -> list[WarcFile]:
        """The WARC files crawled on ``day`` (UTC), oldest first."""
        text = None
        tried = []
        for rel in self.index_candidates(day):
            tried.append(rel)
            data = self._get_small(rel)
            if data is None:
                continue
            if data[:2] == b"\x1f\x8b":
                data = gzip.decompress(data)
            text = data.decode("utf-8", "replace")
            break
        if text is None:
            raise SourceError(f"no paths index in {self.location} (tried {', '.join(tried)})")
        out = []
        for line in text.splitlines():
            rel = line.strip()
            if not rel or not rel.endswith((".warc.gz", ".warc")):
                continue
            when = crawl_time_of(rel)
            if when is not None and when.date() == day:
                out.append(WarcFile(rel, when))
        return sorted(out, key=lambda f: (f.crawl_time, f.rel_path))

    def _get_small(self, rel: str) -> bytes | None:
        """A small object (the index), or None when it does not exist."""
        try:
            body = self.open(rel, 0)
            try:
                return body.read()
            finally:
                body.close()
        except FileNotFoundError:
            return None
        except (OSError, http.client.HTTPException) as exc:
            raise SourceError(f"cannot read {self.url_of(rel)}: {exc}") from None

    # reading -------------------------------------------------------------------------------

    def url_of(self, rel: str) -> str:
        return self.root + rel.lstrip("/") if self.kind != "file" else str(Path(self.root) / rel)

    def open(self, rel: str, offset: int = 0) -> Body:
        """A stream of the file from byte ``offset``; FileNotFoundError, Throttled or OSError."""
        if self.kind == "file":
            path = Path(self.root) / rel
            if not path.is_file():
                raise FileNotFoundError(str(path))
            fh = open(path, "rb")  # noqa: SIM115 - closed by Body.close
            fh.seek(offset)
            return Body(fh, path.stat().st_size, offset)
        if self.kind == "s3":
            return self._open_s3(rel, offset)
        return self._open_http(rel, offset)

    def _open_http(self, rel: str, offset: int) -> Body:
        req = urllib.request.Request(self.url_of(rel), headers={"User-Agent": self.user_agent})
        if offset:
            req.add_header("Range", f"bytes={offset}-")
        try:
            resp = urllib.request.urlopen(req, timeout=self.timeout_s)  # noqa: S310 - http(s) only
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                raise FileNotFoundError(self.url_of(rel)) from None
            if exc.code in (429, 503):
                raise Throttled(f"HTTP {exc.code} for {rel}", retry_after_seconds(exc.headers.get("Retry-After"))) from None
            raise OSError(f"HTTP {exc.code} for {rel}") from None
        total = None
        if resp.status == 206:
            m = re.match(r"bytes (\d+)-(\d+)/(\d+)", resp.headers.get("Content-Range") or "")
            total = int(m.group(3)) if m else None
            if m and int(m.group(1)) != offset:
                resp.close()
                raise OSError(f"server answered range {m.group(0)} for offset {offset}")
        elif offset:
            resp.close()
            raise OSError(f"server ignored the range request for {rel} (no 206)")
        elif resp.headers.get("Content-Length"):
            total = int(resp.headers["Content-Length"])
        return Body(resp, total, offset)

    def _open_s3(self, rel: str, offset: int) -> Body:
        import botocore.exceptions

        bucket, _, prefix = self.root[len("s3://"):].partition("/")
        key = prefix + rel.lstrip("/")
        kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if offset:
            kwargs["Range"] = f"bytes={offset}-"
        try:
            resp = _s3_client().get_object(**kwargs)
        except botocore.exceptions.ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
            if code in ("NoSuchKey", "404", "NotFound") or status == 404:
                raise FileNotFoundError(f"s3://{bucket}/{key}") from None
            if status in (429, 503) or code in ("SlowDown", "ServiceUnavailable"):
                headers = exc.response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
                raise Throttled(f"S3 {code} for {key}", retry_after_seconds(headers.get("retry-after"))) from None
            raise OSError(f"S3 {code or status} for s3://{bucket}/{key}") from None
        except botocore.exceptions.BotoCoreError as exc:
            raise OSError(f"S3 error for s3://{bucket}/{key}: {exc}") from None
        total = None
        crange = resp.get("ContentRange") or ""
        m = re.match(r"bytes (\d+)-(\d+)/(\d+)", crange)
        if m:
            total = int(m.group(3))
        elif not offset:
            total = int(resp.get("ContentLength") or 0) or None
        return Body(resp["Body"], total, offset)


_S3 = None


def _s3_client() -> Any:
    """One boto3 client (thread-safe); anonymous when no credentials are configured (Common Crawl's
    bucket is public), endpoint from ``AWS_ENDPOINT_URL`` as boto3 reads it."""
    global _S3
    if _S3 is None:
        import boto3
        from botocore import UNSIGNED
        from botocore.config import Config

        session = boto3.session.Session()
        cfg = Config(retries={"max_attempts": 2, "mode": "standard"})
        if session.get_credentials() is None:
            cfg = cfg.merge(Config(signature_version=UNSIGNED))
        _S3 = session.client("s3", config=cfg)
    return _S3


def reset_s3_client() -> None:
    """Forget the cached client (tests that switch endpoints)."""
    global _S3
    _S3 = None


def collection_key(location: str) -> str:
    if location in PRESETS:
        return location
    return "c-" + hashlib.sha256(location.encode()).hexdigest()[:12]


def resolve_collection(location: str, *, user_agent: str = "NewslineBot/0.1") -> Collection:
    """A preset name (``ccnews``, ``ccnews-s3``), an ``http(s)://`` URL, an ``s3://`` prefix or a folder."""
    location = (location or "").strip()
    if not location:
        raise SourceError("empty collection location")
    root = PRESETS.get(location, location)
    if root.startswith("file://"):
        root = root[len("file://"):]
    if root.startswith(("http://", "https://", "s3://")):
        root = root if root.endswith("/") else root + "/"
    elif "://" in root:
        raise SourceError(f"unsupported collection location {location!r} (use http(s)://, s3:// or a folder)")
    elif not os.path.isdir(root):
        raise SourceError(f"collection folder {root!r} does not exist")
    else:
        root = os.path.abspath(root)
    # the key names the day's manifest: the same place spelled differently is the same collection
    key = location if location in PRESETS else collection_key(root)
    return Collection(location=location, root=root, key=key, user_agent=user_agent)


# --- reading one file ---------------------------------------------------------------------------


@dataclass
class FileRead:
    """What happened to one file."""

    rel_path: str
    complete: bool = False
    attempts: int = 0
    records: int = 0
    bytes_read: int = 0  # compressed bytes of complete records
    size: int | None = None
    throttled: int = 0
    retry_after_honoured: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def unread_bytes(self) -> int | None:
        return None if self.size is None else max(0, self.size - self.bytes_read)


_RETRYABLE = (OSError, EOFError, zlib.error, http.client.HTTPException, socket.timeout)


def read_warc_file(
    collection: Collection,
    rel_path: str,
    on_record: Callable[[Any], None],
    *,
    max_attempts: int = 4,
    backoff_s: float = 0.5,
    max_wait_s: float = 120.0,
    sleep: Callable[[float], None] = time.sleep,
) -> FileRead:
    """Stream ``rel_path`` through ``on_record(record)`` once per complete record, in order.

    ``on_record`` must read what it needs from the record (it is called before the record's end is
    known to be intact); a record whose body turns out short is not passed on, it is retried. After
    an interruption the file is re-opened at the end of the last complete record (``Range``), at
    most ``max_attempts`` opens in all; ``Retry-After`` is honoured (capped at ``max_wait_s``)."""
    from warcio.archiveiterator import ArchiveIterator
    from warcio.exceptions import ArchiveLoadFailed

    result = FileRead(rel_path)
    offset = 0
    while result.attempts < max_attempts:
        result.attempts += 1
        wait = backoff_s * (2 ** (result.attempts - 1))
        body: Body | None = None
        try:
            body = collection.open(rel_path, offset)
            if body.total is not None:
                result.size = body.total
            it = ArchiveIterator(body, no_record_parse=False, ensure_http_headers=False)
            for record in it:
                pending = _Pending(record)
                on_record_ok = pending.prepare()
                it.read_to_end(record)
                if record.raw_stream.limit > 0:
                    raise Incomplete(f"record at offset {offset} ends {record.raw_stream.limit} bytes early")
                start, length = it.member_info
                if on_record_ok:
                    on_record(pending)
                offset = body.offset + start + length
                result.records += 1
                result.bytes_read = offset
            if result.size is not None and offset < result.size:
                raise Incomplete(f"stream ended at byte {offset} of {result.size}")
            if result.size is None:
                result.size = offset
            result.complete = True
            return result
        except FileNotFoundError as exc:  # listed but gone: nothing to retry, the file counts as failed
            result.errors.append(f"not found: {exc}")
            return result
        except Throttled as exc:
            result.throttled += 1
            result.errors.append(str(exc))
            if exc.retry_after is not None:
                result.retry_after_honoured += 1
                wait = min(exc.retry_after, max_wait_s)
        except (ArchiveLoadFailed, *_RETRYABLE) as exc:  # interrupted or corrupt: resume from offset
            result.errors.append(f"{type(exc).__name__}: {str(exc)[:200]} (at byte {offset})")
        finally:
            if body is not None:
                body.close()
        if result.attempts < max_attempts:
            log.info("retrying %s from byte %d in %.1fs (%s)", rel_path, offset, wait, result.errors[-1])
            sleep(wait)
    return result


class _Pending:
    """A record with its fields and (bounded) body read, ready for ``on_record``."""

    def __init__(self, record: Any) -> None:
        self.record = record
        self.rec_type: str = record.rec_type
        self.url: str = record.rec_headers.get_header("WARC-Target-URI") or ""
        self.warc_date: str = record.rec_headers.get_header("WARC-Date") or ""
        http_headers = record.http_headers
        self.status = 0
        self.content_type = ""
        self.content_encoding = ""
        self.location = ""
        if http_headers is not None and self.rec_type in ("response", "revisit"):
            try:
                self.status = int(http_headers.get_statuscode() or 0)
            except ValueError:
                self.status = 0
            self.content_type = http_headers.get_header("Content-Type") or ""
            self.content_encoding = http_headers.get_header("Content-Encoding") or ""
            self.location = http_headers.get_header("Location") or ""
        self.body: bytes | None = None
        self.oversized = False
        self.body_error: str | None = None

    def is_html(self) -> bool:
        ctype = self.content_type.split(";", 1)[0].strip().lower()
        return ctype in ("text/html", "application/xhtml+xml")

    def prepare(self) -> bool:
        """Read the body of an HTML response (up to the cap); other records need no body."""
        if self.rec_type == "response" and self.status == 200 and self.is_html():
            try:
                data = self.record.content_stream().read(MAX_RECORD_BYTES + 1)
            except (OSError, EOFError, zlib.error) as exc:  # a bad Content-Encoding inside a good record
                self.body_error = f"{type(exc).__name__}: {exc}"
                return True
            if len(data) > MAX_RECORD_BYTES:
                self.oversized = True
            else:
                self.body = data
        return True


# --- deciding what a record is -------------------------------------------------------------------


@dataclass
class Outcome:
    kind: str  # "item", "rejection" or "skip"
    reason: str | None = None  # skip reason (SKIP_REASONS)
    site: str | None = None
    record: dict[str, Any] | None = None  # the ArticleItem / Rejection dict


def generic_extractor() -> Callable[..., Any]:
    """``--all-news``: a page of an unregistered domain through the generic extractor, as the site
    ``site_key_for_host(host)`` (a generic profile: every field from the generic extractor, UTC)."""
    from crawler.parsers.profile import parse_with_profile

    def parse(body: bytes, url: str, *, encoding: str | None = None) -> Any:
        return parse_with_profile(generic_profile(url), body, url, encoding=encoding)

    return parse


class WarcExtractor:
    """Turns records into items, rejections or counted skips for the chosen sites."""

    def __init__(self, sites: list[str] | None = None, *, all_news: bool = False, run_id: str = "",
                 extra_hosts: dict[str, str] | None = None) -> None:
        self.extra_hosts = {k.lower(): v for k, v in (extra_hosts or {}).items()}
        registered = all_sites()
        unknown_hosts = set(self.extra_hosts.values()) - set(registered)
        if unknown_hosts:
            raise ValueError(f"unknown site(s) {', '.join(sorted(unknown_hosts))} in host routes")
        self.sites = set(sites) if sites else set(registered)
        unknown = self.sites - set(registered)
        if unknown:
            raise ValueError(f"unknown site(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(registered))}")
        self.all_news = all_news
        self.generic = generic_extractor() if all_news else None
        self.run_id = run_id
        self._parsers: dict[str, Callable[..., Any]] = {}

    def parser(self, site: str) -> Callable[..., Any]:
        if site not in self._parsers:
            self._parsers[site] = parser_for(site)
        return self._parsers[site]

    def classify(self, rec: _Pending) -> Outcome:
        if rec.rec_type == "revisit":
            return Outcome("skip", "revisit")
        if rec.rec_type != "response":
            return Outcome("skip", "not_response")
        site = site_for_url(rec.url, self.extra_hosts)
        if site is None or site not in self.sites:
            if not (self.all_news and rec.is_html()):
                return Outcome("skip", "other_domain")
        if not rec.is_html():
            return Outcome("skip", "non_html", site)
        if site is not None and site in self.sites and not is_article_url(site, rec.url):
            return Outcome("skip", "not_article", site)
        if 300 <= rec.status < 400:
            return Outcome("skip", "redirect", site)
        if rec.status != 200:
            return Outcome("skip", "http_error", site)
        if rec.oversized:
            return Outcome("skip", "oversized", site)
        when = parse_w3c_datetime(rec.warc_date)
        fetched_at = when.astimezone(UTC).isoformat() if when else None
        key = canonicalize_url(rec.url)
        if rec.body is None:
            return Outcome("rejection", site=site, record=Rejection(
                url=key, kind="failed", reason=f"undecodable archived body: {rec.body_error}",
                http_status=rec.status, at=fetched_at, run_id=self.run_id).to_dict())
        try:
            body = _decompress(rec.body, rec.content_encoding)
        except (OSError, EOFError, zlib.error) as exc:
            return Outcome("rejection", site=site, record=Rejection(
                url=key, kind="failed", reason=f"undecodable archived body: {exc}", http_status=rec.status,
                at=fetched_at, run_id=self.run_id).to_dict())
        if site is None or site not in self.sites:  # --all-news: a page of an unregistered domain
            return self._generic(rec, body, fetched_at)
        try:
            item = self.parser(site)(body, rec.url, encoding=charset_of(rec.content_type))
        except PageRejected as exc:
            return Outcome("rejection", site=site, record=Rejection(
                url=key, kind=exc.kind, reason=exc.reason, http_status=rec.status, at=fetched_at,
                run_id=self.run_id).to_dict())
        item.fetched_at = fetched_at
        item.http_status = rec.status
        item.run_id = self.run_id
        return Outcome("item", site=site, record=item.to_dict())

    def _generic(self, rec: _Pending, body: bytes, fetched_at: str | None) -> Outcome:
        assert self.generic is not None
        try:
            item = self.generic(body, rec.url, encoding=charset_of(rec.content_type))
        except PageRejected:
            return Outcome("skip", "not_article")
        site = item.site
        item.fetched_at = fetched_at
        item.http_status = rec.status
        item.run_id = self.run_id
        return Outcome("item", site=site, record=item.to_dict())


def _decompress(body: bytes, encoding: str | None) -> bytes:
    """Archived bodies are as received: undo a gzip/deflate Content-Encoding (capped)."""
    enc = (encoding or "").strip().lower()
    if enc in ("gzip", "x-gzip"):
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    elif enc == "deflate":
        d = zlib.decompressobj(zlib.MAX_WBITS if body[:1] == b"\x78" else -zlib.MAX_WBITS)
    else:
        return body
    out = d.decompress(body, MAX_RECORD_BYTES + 1)
    if len(out) > MAX_RECORD_BYTES:
        raise OSError("decompressed body over the size cap")
    return out
