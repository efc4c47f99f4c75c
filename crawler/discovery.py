"""Pure readers for the discovery documents: robots.txt, sitemaps, RSS feeds, listing pages.

Spiders decide which URLs to follow; these functions only read documents. Sitemaps are read by
Scrapy's own streaming reader (``scrapy.utils.sitemap.Sitemap``: lxml ``iterparse``, each entry
cleared once read, entities never resolved, no network), one entry at a time, so a 50,000-URL
sitemap never sits in memory as a tree or a list (``read_sitemap``). What it lacks is kept here: a
gunzip size cap, refusal of DTD-declared entities (XXE, "billion laughs"), refusal of a document
that is not well-formed (Scrapy's reader recovers silently and would read half a truncated
sitemap), and the Google News ``publication_date`` nested in ``<news:news>`` (Scrapy's reader keeps
only an entry's direct children). robots.txt ``Sitemap:`` lines are Scrapy's
``sitemap_urls_from_robots``. Feeds are parsed with defusedxml (no entity expansion, no external
resources). A hostile document becomes a ``DiscoveryError`` the spider counts, never a crash or a
file read.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit
from xml.etree.ElementTree import Element, ParseError
from zoneinfo import ZoneInfo

import lxml.etree
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as safe_fromstring
from parsel import Selector
from scrapy.utils.gz import gunzip
from scrapy.utils.sitemap import Sitemap as ScrapySitemap
from scrapy.utils.sitemap import sitemap_urls_from_robots

from core.sites import SiteProfile

#: Decompressed sitemaps larger than this are refused (the sitemap protocol caps them at 50 MB).
MAX_SITEMAP_BYTES = 50 * 1024 * 1024

#: An entity declaration: refused wherever it stands (a sitemap has no use for one).
_ENTITY_DECL_RE = re.compile(rb"<!ENTITY", re.IGNORECASE)


class DiscoveryError(Exception):
    """A discovery document that could not be read (hostile, broken or not what it claims)."""


@dataclass(frozen=True)
class SitemapEntry:
    loc: str
    lastmod: datetime | None = None  # aware
    published: datetime | None = None  # news:publication_date, aware


@dataclass(frozen=True)
class Sitemap:
    kind: str  # "index" | "urlset"
    entries: list[SitemapEntry]


def robots_sitemaps(text: str | bytes, base_url: str) -> list[str]:
    """The ``Sitemap:`` lines of a robots.txt (Scrapy's ``sitemap_urls_from_robots``), absolute, in
    order, without duplicates; a line too broken to join is dropped."""
    body = text.encode("utf-8", errors="replace") if isinstance(text, str) else text
    blank = safe_join(base_url, "")  # what an empty "Sitemap:" line joins to
    seen: dict[str, None] = {}
    for line in sitemap_urls_from_robots(body):  # joined here: a broken URL must not end the reading
        url = safe_join(base_url, line)
        if url is not None and url != blank:
            seen.setdefault(url, None)
    return list(seen)


def safe_join(base: str, href: str) -> str | None:
    """``urljoin`` that answers None for a URL too broken to parse (e.g. an unclosed "[")."""
    try:
        joined = urljoin(base, href.strip())
        urlsplit(joined)
    except ValueError:
        return None
    return joined


def url_path(url: str) -> str:
    try:
        return urlsplit(url).path
    except ValueError:
        return ""


def parse_w3c_datetime(value: str | None, tz: str = "UTC") -> datetime | None:
    """A sitemap/ISO timestamp → aware datetime. A bare date or a zone-less time is read in ``tz``
    (the site's zone); anything unreadable → None."""
    if not value:
        return None
    value = value.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(tz))
    return parsed


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _decompressed(body: bytes) -> bytes:
    if body[:2] == b"\x1f\x8b":
        try:
            body = gunzip(body, max_size=MAX_SITEMAP_BYTES)
        except Exception as exc:  # noqa: BLE001 - any gzip failure is a broken document
            raise DiscoveryError(f"bad gzip: {type(exc).__name__}: {exc}") from exc
    if not body.strip():
        raise DiscoveryError("empty document")
    return body


def _xml_root(body: bytes) -> Element:
    body = _decompressed(body)
    try:
        return safe_fromstring(body, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise DiscoveryError(f"forbidden XML construct: {type(exc).__name__}") from exc
    except (ParseError, ValueError, UnicodeError, RecursionError) as exc:
        raise DiscoveryError(f"not well-formed XML: {exc}") from exc


def _child_text(el: Element, name: str) -> str | None:
    for child in el.iter():
        if child is not el and _local(child.tag) == name:
            text = (child.text or "").strip()
            return text or None
    return None


class _SitemapReader(ScrapySitemap):
    """Scrapy's streaming sitemap reader, also keeping the Google News ``publication_date`` (nested
    in ``<news:news>``, which Scrapy's reader drops) and only the entries of the root's kind."""

    __slots__ = ()

    def _process_sitemap_element(self, elem: lxml.etree._Element) -> dict[str, object] | None:
        wanted = "sitemap" if self.type == "sitemapindex" else "url"
        if self._get_tag_name(elem) != wanted:
            elem.clear()
            return None
        published = None
        for child in elem.iter():  # before Scrapy's reader clears the entry
            if self._get_tag_name(child) == "publication_date":
                published = (child.text or "").strip() or None
                break
        entry = super()._process_sitemap_element(elem)
        if entry is not None and published:
            entry["publication_date"] = published
        return entry


def read_sitemap(body: bytes, tz: str = "UTC") -> tuple[str, Iterator[SitemapEntry]]:
    """(kind, entries) of a sitemap index (``"index"``) or urlset (``"urlset"``), gzipped or not.

    The entries are read one at a time as the iterator is consumed; a document that turns out not
    to be well-formed raises ``DiscoveryError`` from the iterator, after the entries before the
    fault: a caller that must not act on half a document keeps what it wants until the end."""
    body = _decompressed(body)
    if _ENTITY_DECL_RE.search(body):
        raise DiscoveryError("forbidden XML construct: entity declaration")
    try:
        reader = _SitemapReader(body)
    except (lxml.etree.LxmlError, StopIteration, ValueError, TypeError) as exc:
        raise DiscoveryError(f"not well-formed XML: {exc or type(exc).__name__}") from exc
    if reader.type not in ("sitemapindex", "urlset"):
        raise DiscoveryError(f"not a sitemap (root element {reader.type!r})")
    return ("index" if reader.type == "sitemapindex" else "urlset"), _entries(reader, tz)


def _entries(reader: _SitemapReader, tz: str) -> Iterator[SitemapEntry]:
    try:
        for raw in reader:
            loc = raw.get("loc")
            if not loc or not isinstance(loc, str):
                continue
            lastmod, published = raw.get("lastmod"), raw.get("publication_date")
            yield SitemapEntry(
                loc=loc,
                lastmod=parse_w3c_datetime(lastmod, tz) if isinstance(lastmod, str) else None,
                published=parse_w3c_datetime(published, tz) if isinstance(published, str) else None,
            )
    except (lxml.etree.LxmlError, ValueError, TypeError) as exc:
        raise DiscoveryError(f"not well-formed XML: {exc}") from exc
    errors = [e for e in reader.xmliter.error_log if e.level >= lxml.etree.ErrorLevels.ERROR]
    if errors:
        raise DiscoveryError(f"not well-formed XML: {errors[0].message.strip()} (line {errors[0].line})")


def parse_sitemap(body: bytes, tz: str = "UTC") -> Sitemap:
    """A whole sitemap index or urlset as a list (small documents, tools): ``read_sitemap`` streams."""
    kind, entries = read_sitemap(body, tz)
    return Sitemap(kind=kind, entries=list(entries))


def parse_feed(body: bytes, tz: str = "UTC") -> list[SitemapEntry]:
    """RSS 2.0 (or Atom) items as (link, published) entries."""
    root = _xml_root(body)
    entries = []
    for el in root.iter():
        name = _local(el.tag)
        if name not in ("item", "entry"):
            continue
        link = _child_text(el, "link")
        if not link:
            for child in el:
                if _local(child.tag) == "link" and child.get("href"):
                    link = child.get("href")
                    break
        if not link:
            continue
        published = _rss_date(_child_text(el, "pubDate")) or parse_w3c_datetime(
            _child_text(el, "published") or _child_text(el, "updated"), tz
        )
        entries.append(SitemapEntry(loc=link.strip(), published=published))
    return entries


def _rss_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def listing_links(text: str, base_url: str, links_css: str = "a::attr(href)") -> list[str]:
    """Links a listing page's ``links_css`` selects (``::attr(href)``), absolute, in page order."""
    try:
        sel = Selector(text=text, type="html")
        hrefs = sel.css(links_css).getall()
    except (ValueError, TypeError):
        return []
    seen: dict[str, None] = {}
    for href in hrefs:
        url = safe_join(base_url, href)
        if url is not None:
            seen.setdefault(url, None)
    return list(seen)


def next_listing_link(text: str, base_url: str, next_css: str) -> str | None:
    """The next-page link a listing's ``next_css`` selects, absolute; None when there is none."""
    try:
        href = Selector(text=text, type="html").css(next_css).get()
    except (ValueError, TypeError):
        return None
    return safe_join(base_url, href) if href else None


def month_sitemap_of(url: str, site: SiteProfile) -> tuple[int, int] | None:
    """(year, month) of one of the site's monthly sitemaps; None for any other URL."""
    if not site.discovery.month_sitemap:
        return None
    m = re.search(site.discovery.month_sitemap, url_path(url))
    if not m:
        return None
    try:
        year, month = int(m.group("year")), int(m.group("month"))
    except (IndexError, ValueError):
        return None
    return (year, month) if 1 <= month <= 12 else None


def month_sitemap_names(day: date, site: SiteProfile) -> list[str]:
    """The names under which the site's monthly sitemap for ``day`` may live (de-duplicated)."""
    names: dict[str, None] = {}
    for template in site.discovery.month_sitemap_names:
        names.setdefault(template.format(year=day.year, month=day.month, month02=f"{day.month:02d}"), None)
    return list(names)


def is_news_sitemap(url: str, site: SiteProfile) -> bool:
    pattern = site.discovery.news_sitemap
    return bool(pattern and re.search(pattern, url_path(url)))


def is_followed_sitemap(url: str, site: SiteProfile) -> bool:
    return any(re.search(p, url_path(url)) for p in site.discovery.follow)


def article_url_info(url: str, site: SiteProfile) -> tuple[date | None, str | None] | None:
    """(publication day from the URL or None, native id from the URL or None) of one of the site's
    article URLs; None when the URL is not an article URL of the site's pattern."""
    path = url_path(url)
    if not path:
        return None
    if any(d.search(path) for d in site.deny_res):
        return None
    m = site.article_re.match(path)
    if not m:
        return None
    groups = m.groupdict()
    day: date | None = None
    try:
        if groups.get("date"):
            day = datetime.strptime(groups["date"], site.article_url.date_format).date()
        elif groups.get("year") and groups.get("month") and groups.get("day"):
            day = date(int(groups["year"]), int(groups["month"]), int(groups["day"]))
    except ValueError:
        return None
    return day, groups.get("id")


#: Query parameters that only track the reader (campaigns, click ids): never part of a page's identity.
TRACKING_PARAMS = frozenset({
    "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid", "igshid", "mc_cid",
    "mc_eid", "_ga", "_gl", "ref_src", "spm", "cmpid", "ocid", "s_cid", "mkt_tok",
})
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hsa_")


def canonicalize_url(url: str) -> str:
    """The URL without tracking parameters and fragment, so a page listed twice (with and without
    ``utm_*``) is fetched once. Other query parameters keep their order; scheme and host lower-case."""
    parts = urlsplit(url.strip())
    query = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k.lower() not in TRACKING_PARAMS and not k.lower().startswith(TRACKING_PREFIXES)
    ]
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path, urlencode(query), ""))
