"""Fault injection for the demo site: off by default, deterministic per (seed, kind, URL path), every
decision recorded.

A ``FaultConfig`` gives each per-URL fault kind a rate (the share of in-scope paths that get it) and
can force kinds on exact paths. Each path gets at most one kind: the first kind in ``KINDS`` order whose
seeded hash falls under its rate. Transient kinds hit only the first ``burst`` requests of a path (a
retrying crawler then succeeds); the others hit every request. Site-wide switches cover discovery:
tracking-parameter duplicates, hostile or gzipped sitemaps, removing whole discovery sources, and a lag
on every new connection's first request (``connect_lag``).

Spec string (CLI ``--faults``, env ``NEWSLINE_DEMO_FAULTS``, ``/_newsline/faults?spec=``), e.g.
``error=0.1,throttle=0.05,burst=2,seed=7,remove=feeds+listings,hostile=xxe,gzip_sitemaps=1,tracking=0.2,
force=reset@/politics/politics-government/20240906-209301/``. A single request can force a kind with
the query parameter ``?_fault=<kind>``.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import re
import threading
import zlib
from dataclasses import dataclass, field
from typing import Any

#: Per-URL kinds, in decision order.
KINDS: tuple[str, ...] = (
    "error",  # 500 / 503 for the first `burst` requests
    "throttle",  # 429 with Retry-After for the first `burst` requests
    "slow",  # answer after `slow_seconds` (first `burst` requests)
    "reset",  # TCP reset instead of an answer (first `burst` requests)
    "truncate",  # Content-Length of the whole page, half the body, then close (first `burst` requests)
    "charset-missing",  # no charset in header nor <meta> (body UTF-8)
    "charset-wrong",  # header-latin1: UTF-8 body declared ISO-8859-1; body-cp1252: windows-1252 body declared UTF-8
    "malformed",  # closing </p>, </div>, </body>, </html> dropped, stray markup
    "redirect-loop",  # 302 between path and path?_r=1 forever
    "offsite-redirect",  # 302 to another host
    "oversized",  # the page padded to `oversized_bytes`
    "gzip-bomb",  # Content-Encoding: gzip, tiny on the wire, `bomb_bytes` decompressed
    "empty",  # bot protection: 200 with an empty or near-empty document
    "challenge",  # bot protection: 200 with a JavaScript challenge page
)
TRANSIENT_KINDS = frozenset({"error", "throttle", "slow", "reset", "truncate"})
DISCOVERY_SOURCES = frozenset({"sitemap-index", "news-sitemap", "post-sitemaps", "feeds", "listings"})
HOSTILE_KINDS = frozenset({"xxe", "billion-laughs"})
#: Default scope: article pages only, so discovery stays intact unless a test widens it.
ARTICLE_SCOPE = r"^/(?:[a-z0-9-]+/){1,2}\d{8}-\d+/$"
TRACKING_QUERY = "utm_source=newsletter&utm_medium=email&utm_campaign=daily"


@dataclass(frozen=True)
class FaultConfig:
    """What to break, how often and how hard. The default breaks nothing."""

    seed: int = 0
    rates: dict[str, float] = field(default_factory=dict)  # kind -> share of in-scope paths
    force: dict[str, str] = field(default_factory=dict)  # exact path -> kind
    scope: str = ARTICLE_SCOPE  # regex on the path: where rated kinds may land
    burst: int = 2  # transient kinds: how many first requests of a path fail
    retry_after: int = 1  # seconds, for 429
    slow_seconds: float = 3.0
    oversized_bytes: int = 12 * 1024 * 1024
    bomb_bytes: int = 64 * 1024 * 1024
    tracking: float = 0.0  # share of sitemap/feed entries duplicated with utm_* parameters
    hostile: str | None = None  # "xxe" | "billion-laughs": served as hostile_target
    hostile_target: str = "/sitemap-news.xml"
    gzip_sitemaps: bool = False  # the index lists children as .xml.gz
    remove: frozenset[str] = frozenset()  # discovery sources answered with 404 and unlisted
    # seconds by which the first request on every new connection reaches the site late (what a slow
    # name lookup, TCP or TLS handshake does to a crawler's first request): the request log stamps it then
    connect_lag: float = 0.0

    def __post_init__(self) -> None:
        unknown = set(self.rates) - set(KINDS) | set(self.force.values()) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown fault kind(s) {sorted(unknown)}; known: {', '.join(KINDS)}")
        if set(self.remove) - DISCOVERY_SOURCES:
            raise ValueError(f"unknown discovery source(s) {sorted(set(self.remove) - DISCOVERY_SOURCES)}")
        if self.hostile is not None and self.hostile not in HOSTILE_KINDS:
            raise ValueError(f"hostile must be one of {sorted(HOSTILE_KINDS)}")
        re.compile(self.scope)

    @property
    def active(self) -> bool:
        return bool(
            any(self.rates.values()) or self.force or self.tracking or self.hostile or self.gzip_sitemaps or self.remove
            or self.connect_lag
        )

    @classmethod
    def parse(cls, spec: str | None) -> FaultConfig:
        """Build from ``key=value,...`` (see the module doc); empty -> no faults."""
        if not spec or not spec.strip():
            return cls()
        kwargs: dict[str, Any] = {"rates": {}, "force": {}}
        numeric = {
            "seed": int,
            "burst": int,
            "retry_after": int,
            "slow_seconds": float,
            "oversized_bytes": int,
            "bomb_bytes": int,
            "tracking": float,
            "connect_lag": float,
        }
        for part in spec.split(","):
            part = part.strip()
            if not part:
                continue
            key, _, value = part.partition("=")
            key, value = key.strip(), value.strip()
            if key in KINDS:
                kwargs["rates"][key] = float(value or 1)
            elif key in numeric:
                kwargs[key] = numeric[key](value)
            elif key == "force":
                for item in value.split("+"):
                    kind, _, path = item.partition("@")
                    kwargs["force"][path] = kind
            elif key == "remove":
                kwargs["remove"] = frozenset(v for v in value.split("+") if v)
            elif key == "hostile":
                kwargs["hostile"] = value
            elif key == "hostile_target":
                kwargs["hostile_target"] = value
            elif key == "gzip_sitemaps":
                kwargs["gzip_sitemaps"] = value.lower() not in ("0", "false", "no", "")
            elif key == "scope":
                kwargs["scope"] = value
            else:
                raise ValueError(f"unknown fault setting {key!r}")
        return cls(**kwargs)

    def with_changes(self, **changes: Any) -> FaultConfig:
        return dataclasses.replace(self, **changes)


def unit_hash(*parts: object) -> float:
    """A stable number in [0, 1) from the parts (sha256; Python's hash() is salted per process)."""
    digest = hashlib.sha256(":".join(str(p) for p in parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


@dataclass(frozen=True)
class FaultEvent:
    """One fault applied to one request: what a test counts."""

    path: str
    target: str
    kind: str
    attempt: int  # 1-based number of this request among requests of the path
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class FaultPlan:
    """Applies a ``FaultConfig``: decides per request, counts attempts, records every fault applied."""

    def __init__(self, config: FaultConfig | None = None) -> None:
        self.config = config or FaultConfig()
        self._scope = re.compile(self.config.scope)
        self._lock = threading.Lock()
        self._attempts: dict[str, int] = {}
        self._events: list[FaultEvent] = []

    def kind_for(self, path: str) -> str | None:
        """The per-URL kind of a path (ignoring attempts), or None."""
        cfg = self.config
        if path in cfg.force:
            return cfg.force[path]
        if not cfg.rates or not self._scope.search(path):
            return None
        for kind in KINDS:
            rate = cfg.rates.get(kind, 0.0)
            if rate > 0 and unit_hash(cfg.seed, kind, path) < rate:
                return kind
        return None

    def decide(self, path: str, target: str, forced: str | None = None) -> FaultEvent | None:
        """Count this request and return the fault to apply now (recorded), or None."""
        with self._lock:
            attempt = self._attempts.get(path, 0) + 1
            self._attempts[path] = attempt
        if forced is not None:
            if forced not in KINDS:
                return None
            kind: str | None = forced
        else:
            kind = self.kind_for(path)
            if kind in TRANSIENT_KINDS and attempt > self.config.burst:
                kind = None
        if kind is None:
            return None
        detail = ""
        if kind == "error":
            detail = "503" if unit_hash(self.config.seed, "status", path, attempt) < 0.5 else "500"
        elif kind == "charset-wrong":
            detail = "header-latin1" if unit_hash(self.config.seed, "charset", path) < 0.5 else "body-cp1252"
        elif kind == "empty":
            detail = "zero-bytes" if unit_hash(self.config.seed, "empty", path) < 0.5 else "empty-document"
        event = FaultEvent(path=path, target=target, kind=kind, attempt=attempt, detail=detail)
        self.record(event)
        return event

    def record(self, event: FaultEvent) -> None:
        with self._lock:
            self._events.append(event)

    @property
    def events(self) -> list[FaultEvent]:
        with self._lock:
            return list(self._events)

    def attempts(self, path: str) -> int:
        with self._lock:
            return self._attempts.get(path, 0)

    def tracked(self, url_path: str) -> bool:
        """Whether a sitemap/feed entry also appears with tracking parameters."""
        return self.config.tracking > 0 and unit_hash(self.config.seed, "tracking", url_path) < self.config.tracking

    def removed(self, source: str) -> bool:
        return source in self.config.remove


# --- payloads ---------------------------------------------------------------------------------

CHALLENGE_PAGE = (
    b'<!DOCTYPE html><html lang="en"><head><title>Just a moment...</title>'
    b'<meta name="robots" content="noindex,nofollow"></head><body><div id="challenge-platform">'
    b"<noscript>Enable JavaScript and cookies to continue</noscript></div>"
    b"<script>window._cf_chl_opt={cvId:'3',cType:'managed'};"
    b"setTimeout(function(){location.reload()},5000);</script></body></html>"
)
EMPTY_DOCUMENT = b"<html><head></head><body></body></html>"


def malform(body: bytes, encoding: str = "utf-8") -> bytes:
    """Sloppy HTML a lenient parser must still read: optional closing tags dropped, stray '<' and '&',
    an unclosed inline tag in the header and an unmatched closing tag (``encoding``: the page's own)."""
    text = body.decode(encoding)
    for closing in ("</p>", "</li>", "</body>", "</html>", "</figcaption>"):
        text = text.replace(closing, "")
    text = text.replace('<main class="clearfix">', '<main class="clearfix"> < & </span>', 1)
    text = text.replace("<header>", "<header><b>", 1)
    return text.encode(encoding)


_HTTP_EQUIV_RE = re.compile(rb'<meta http-equiv="Content-Type" content="[^"]*">\n', re.IGNORECASE)


def strip_charset(body: bytes) -> bytes:
    """The page without its charset declaration: ``<meta charset>`` or ``<meta http-equiv>`` (first one)."""
    if b'<meta charset="UTF-8">\n' in body:
        return body.replace(b'<meta charset="UTF-8">\n', b"", 1)
    return _HTTP_EQUIV_RE.sub(b"", body, count=1)


_JSONLD_RE = re.compile(r'(<script type="application/ld\+json">)(.*?)(</script>)', re.DOTALL)


def _json_escape_outside_cp1252(match: re.Match[str]) -> str:
    def esc(ch: str) -> str:
        try:
            ch.encode("cp1252")
        except UnicodeEncodeError:
            return "".join(f"\\u{unit:04x}" for unit in _utf16_units(ch))
        return ch

    return match.group(1) + "".join(esc(c) for c in match.group(2)) + match.group(3)


def _utf16_units(ch: str) -> list[int]:
    data = ch.encode("utf-16-be")
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]


def to_cp1252(body: bytes) -> bytes:
    """The page re-encoded as windows-1252 without <meta charset>: characters outside it become
    character references in HTML and \\u escapes in the JSON-LD, so the content stays recoverable."""
    text = _JSONLD_RE.sub(_json_escape_outside_cp1252, strip_charset(body).decode("utf-8"))
    return text.encode("cp1252", errors="xmlcharrefreplace")


def pad(body: bytes, size: int) -> bytes:
    """The page grown to ``size`` bytes with an HTML comment before </body>."""
    filler = max(0, size - len(body) - 7)
    marker = body.rfind(b"</body>")
    at = marker if marker >= 0 else len(body)
    return body[:at] + b"<!--" + b"x" * filler + b"-->" + body[at:]


@functools.lru_cache(maxsize=4)
def gzip_bomb(size: int) -> bytes:
    """A gzip stream of an HTML prefix then ``size`` spaces: about size/1000 bytes on the wire."""
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    out = [comp.compress(b"<!DOCTYPE html><html><head><title>x</title></head><body>")]
    chunk = b" " * (1024 * 1024)
    left = size
    while left > 0:
        out.append(comp.compress(chunk[: min(left, len(chunk))]))
        left -= len(chunk)
    out.append(comp.compress(b"</body></html>"))
    out.append(comp.flush())
    return b"".join(out)


def xxe_sitemap(base_url: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<!DOCTYPE urlset [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
        f"<url><loc>{base_url}leak/&xxe;</loc></url>\n</urlset>\n"
    ).encode()


def billion_laughs_sitemap(base_url: str) -> bytes:
    entities = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(1, 10)
    ]
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<!DOCTYPE urlset [{''.join(entities)}]>\n"
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
        f"<url><loc>{base_url}&lol9;</loc></url>\n</urlset>\n"
    ).encode()
