"""Metadata resolver for the generic extractor: one ordered chain of steps per field, every step's
answer recorded. Pure (no IO): it reads a parsed page and returns values, the step that gave each
one (provenance) and, on request, what every step said (explain).

Sources, read once per page: JSON-LD (every block, ``@graph`` and arrays walked, sloppy JSON
repaired, walk bounded in depth and size), OpenGraph and ``article:*`` meta, ``itemprop``
microdata, common meta names (author, parsely-*, sailthru.*, dc.*), ``<time datetime>``, htmldate
(publication date only, original date not the update) and ``<html lang>``.

Times: naive values are read in the site's timezone; every time comes out aware, in UTC, as an
ISO-8601 string with offset. Titles lose a site-name suffix; authors are split into people.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from datetime import timezone as dt_timezone
from urllib.parse import urljoin, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from lxml import etree

from crawler.parsers.base import element_text

#: Bounds of the JSON-LD walk: deeper or bigger blocks are ignored, never a RecursionError.
JSONLD_MAX_DEPTH = 32
JSONLD_MAX_NODES = 5_000
JSONLD_MAX_CHARS = 1_000_000
ARTICLE_TYPES = frozenset({
    "article", "newsarticle", "blogposting", "reportagenewsarticle", "analysisnewsarticle", "opinionnewsarticle",
    "reviewnewsarticle", "backgroundnewsarticle", "techarticle", "scholarlyarticle", "report", "socialmediaposting",
    "liveblogposting", "posting", "creativework", "medicalwebpage",
})
PAGE_TYPES = frozenset({"webpage", "itempage", "aboutpage", "qapage", "faqpage"})
ORG_TYPES = frozenset({"organization", "newsmediaorganization", "corporation", "organisation"})

_SEPARATORS = (" | ", " - ", " – ", " — ", " :: ", " · ", " • ", " « ", " » ", " / ", " : ")
#: Words that qualify a job ("Senior Games Editor") and the jobs themselves.
_JOB_MODS = (r"senior|chief|staff|contributing|special|political|foreign|deputy|associate|managing|executive|"
             r"science|tech(?:nology)?|business|sports?|health|games|gaming|culture|arts|music|film|travel|food|"
             r"fashion|national|international|global|white house|washington|guest|freelance|investigative|"
             r"digital|news|features?|opinion|politics|economics|markets|education|climate|local|metro|world")
_JOBS = (r"writer|reporter|correspondent|editor|columnist|contributor|journalist|producer|author|analyst|"
         r"photographer|critic|staff|team|desk|bureau|intern|editor-at-large|reviewer")
_JOB_TITLES = re.compile(rf"^(?:(?:{_JOB_MODS})\s+)*(?:{_JOBS})s?$", re.IGNORECASE)
_TRAILING_JOB = re.compile(rf"\s+(?:(?:{_JOB_MODS})\s+)*(?:{_JOBS.replace('author|', '')})$", re.IGNORECASE)
_ORG_WORDS = re.compile(
    r"\b(?:staff|news|press|agency|associated|reuters|afp|ap|media|newsroom|editorial|desk|team|inc|ltd|llc|"
    r"corp|group|times|post|journal|tribune|herald|daily|magazine|network|wire|bureau|online)\b",
    re.IGNORECASE,
)
_BY_PREFIX = re.compile(
    r"^\s*(?:by|written by|posted by|edited by|reported by|words by|text by|von|par|por|di|door|av|af)\s*[:\-]?\s+",
    re.IGNORECASE)
_PEOPLE_SPLIT = re.compile(
    r"\s*(?:,|;|\||&|/|\band\b|\bund\b|\bet\b|\by\b|\bwith\b|"
    r"\b(?:edited|written|reported|photographs?|photos|illustrations?|additional reporting)\s+by\b)\s*",
    re.IGNORECASE)
_EMAIL = re.compile(r"\S+@\S+\.\S+")
_URL = re.compile(r"\(?\s*(?:https?://|www\.)\S*\)?", re.IGNORECASE)
_MONTH_DATE = re.compile(
    r"\b(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|"
    r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?\s+\d{1,2}\b.*$|\b\d{1,4}[./-]\d{1,2}[./-]\d{1,4}\b.*$",
    re.IGNORECASE | re.DOTALL,
)
_CREDENTIAL = re.compile(r"^(?:ma|md|phd|ph\.?d|rn|mph|ms|msc|bsc|ba|bs|do|dds|mba|np|fnp|rd|lcsw|jd|esq)\.?$",
                         re.IGNORECASE)
_TRAILING_COMMA = re.compile(r",\s*([}\]])")
_CONTROL = re.compile(r"[\x00-\x1f]")
_HTML_TAG = re.compile(r"<[^>]{0,500}>")
_DATE_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class Metadata:
    title: str | None = None
    byline: str | None = None
    authors: list[str] = field(default_factory=list)
    summary: str | None = None
    published_at: str | None = None
    modified_at: str | None = None
    language: str | None = None
    keywords: list[str] = field(default_factory=list)
    image_url: str | None = None
    canonical_url: str | None = None
    site_name: str | None = None
    section: str | None = None
    provenance: dict[str, str] = field(default_factory=dict)
    explain: dict[str, list[tuple[str, object]]] = field(default_factory=dict)


# --------------------------------------------------------------------------- JSON-LD

def parse_jsonld(text: str) -> list[object]:
    """Every JSON value in one ``ld+json`` block, tolerating sloppy JSON: HTML comments and CDATA
    around it, trailing commas, raw newlines and control characters, several values in one block.
    Blocks too big or nested deeper than ``JSONLD_MAX_DEPTH`` give nothing."""
    if not text or len(text) > JSONLD_MAX_CHARS:
        return []
    text = text.strip()
    for junk in ("<!--", "-->", "<![CDATA[", "]]>", "//<![CDATA[", "//]]>"):
        text = text.replace(junk, " ")
    if _bracket_depth(text) > JSONLD_MAX_DEPTH:
        return []
    values: list[object] = []
    for attempt in (text, _repair(text)):
        values = _decode_all(attempt)
        if values:
            break
    return values


def _bracket_depth(text: str) -> int:
    """Maximum nesting of brackets outside strings (a cheap, conservative scan)."""
    depth = best = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
            continue
        if ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > best:
                best = depth
                if best > JSONLD_MAX_DEPTH:
                    return best
        elif ch in "]}":
            depth = max(0, depth - 1)
    return best


def _repair(text: str) -> str:
    text = _CONTROL.sub(" ", text)
    return _TRAILING_COMMA.sub(r"\1", text)


def _decode_all(text: str) -> list[object]:
    decoder = json.JSONDecoder(strict=False)
    out: list[object] = []
    pos, n = 0, len(text)
    while pos < n:
        while pos < n and text[pos] in " \t\r\n;,":
            pos += 1
        if pos >= n:
            break
        try:
            value, end = decoder.raw_decode(text, pos)
        except (ValueError, RecursionError):
            break
        out.append(value)
        pos = end
    return out


def walk_jsonld(values: Iterable[object]) -> list[dict]:
    """All objects in JSON-LD values (through ``@graph``, arrays and nested objects), breadth first,
    bounded by ``JSONLD_MAX_DEPTH`` and ``JSONLD_MAX_NODES``."""
    found: list[dict] = []
    queue: list[tuple[object, int]] = [(v, 0) for v in values]
    seen = 0
    i = 0
    while i < len(queue):
        node, depth = queue[i]
        i += 1
        seen += 1
        if seen > JSONLD_MAX_NODES or depth > JSONLD_MAX_DEPTH:
            break
        if isinstance(node, list):
            queue.extend((v, depth + 1) for v in node)
        elif isinstance(node, dict):
            found.append(node)
            queue.extend((v, depth + 1) for v in node.values() if isinstance(v, (list, dict)))
    return found


def _types(obj: dict) -> set[str]:
    raw = obj.get("@type")
    items = raw if isinstance(raw, list) else [raw]
    return {str(t).rsplit("/", 1)[-1].lower() for t in items if isinstance(t, str)}


# --------------------------------------------------------------------------- page sources

@dataclass
class Sources:
    """Everything the chains read, gathered in one pass over the page."""
    meta: dict[str, list[str]]
    article: dict | None  # the JSON-LD article object, if any
    page: dict | None  # a JSON-LD WebPage object, if any
    jsonld_objects: list[dict]
    root: etree._Element
    url: str
    tz: ZoneInfo | None = None  # the site's timezone, for times printed as prose


def gather(root: etree._Element, url: str) -> Sources:
    meta: dict[str, list[str]] = {}
    blocks: list[object] = []
    for el in root.iter("meta", "script"):
        if el.tag == "meta":
            content = el.get("content")
            if content is None or not content.strip():
                continue
            for attr in ("property", "name", "itemprop", "http-equiv"):
                key = el.get(attr)
                if key:
                    for k in key.lower().split():  # "og:title twitter:title" names several properties
                        meta.setdefault(k.strip(), []).append(content.strip())
        elif (el.get("type") or "").strip().lower() == "application/ld+json":
            blocks.extend(parse_jsonld(el.text or ""))
    objects = walk_jsonld(blocks)
    article = next((o for o in objects if _types(o) & ARTICLE_TYPES), None)
    page = next((o for o in objects if _types(o) & PAGE_TYPES), None)
    if article is None and page is not None and isinstance(page.get("mainEntity"), dict):
        article = page["mainEntity"]
    return Sources(meta, article, page, objects, root, url)


def _meta(src: Sources, *names: str) -> str | None:
    for name in names:
        for value in src.meta.get(name, ()):
            if value.strip():
                return value.strip()
    return None


def _ld(obj: dict | None, *keys: str) -> object | None:
    if not obj:
        return None
    for key in keys:
        value = obj.get(key)
        if value not in (None, "", [], {}):
            return value
    return None


def _ld_text(obj: dict | None, *keys: str) -> str | None:
    value = _ld(obj, *keys)
    if isinstance(value, list):
        value = next((v for v in value if isinstance(v, (str, dict))), None)
    if isinstance(value, dict):
        value = value.get("name") or value.get("url") or value.get("@id")
    if isinstance(value, (int, float)):
        value = str(value)
    return clean_text(value) if isinstance(value, str) else None


def _itemprop(src: Sources, prop: str) -> str | None:
    for el in src.root.xpath("//*[@itemprop=$p]", p=prop):
        if el.tag == "meta":
            continue  # read with the meta names already
        value = el.get("content") or el.get("datetime")
        if not value:
            names = el.xpath(".//*[@itemprop='name']")
            value = (names[0].get("content") or names[0].text_content()) if names else el.text_content()
        value = clean_text(value)
        if value:
            return value
    return None


def clean_text(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    if "<" in value:
        value = _HTML_TAG.sub(" ", value)
    if "&" in value:
        import html

        value = html.unescape(value)
    value = " ".join(value.split())
    return value or None


# --------------------------------------------------------------------------- chains

Step = tuple[str, Callable[[Sources], object]]


def _run_chain(steps: list[Step], src: Sources, explain: bool,
               accept: Callable[[object], object] | None = None) -> tuple[object, str | None, list]:
    """First step whose (accepted) value is not empty wins; with ``explain`` every step runs."""
    winner, method, seen = None, None, []
    for name, fn in steps:
        if method is not None and not explain:
            break
        try:
            raw = fn(src)
        except (ValueError, TypeError, AttributeError, KeyError, IndexError, etree.LxmlError):
            raw = None
        value = accept(raw) if (accept and raw not in (None, "", [])) else raw
        if value in (None, "", []):
            continue
        seen.append((name, value))
        if method is None:
            winner, method = value, name
    return winner, method, seen


def _title_steps() -> list[Step]:
    return [
        ("jsonld", _ld_title),
        ("dc.title", lambda s: _meta(s, "dc:title", "dcterm:title", "dc.title", "dcterms.title")),
        ("og:title", lambda s: _meta(s, "og:title")),
        ("twitter:title", lambda s: _meta(s, "twitter:title")),
        ("meta:title", lambda s: _meta(s, "title", "parsely-title", "sailthru.title", "headline")),
        ("itemprop", lambda s: _itemprop(s, "headline")),
        ("html-title", lambda s: clean_text(s.root.findtext(".//title"))),
        ("h1", lambda s: _single_h1(s)),
    ]


def _ld_title(src: Sources) -> str | None:
    """JSON-LD ``headline`` or ``name``; when both are set and differ (Wikipedia puts a description
    in ``headline``), the one closer to the page's <title>."""
    headline, name = _ld_text(src.article, "headline"), _ld_text(src.article, "name")
    publisher = {_squash(v) for v in (_ld_text(src.article, "publisher"), _meta(src, "og:site_name")) if v}
    if name and _squash(name) in publisher:
        name = None  # the site's name in the article's "name"
    if headline and name and headline != name:
        page_title = _squash(src.root.findtext(".//title") or "")
        return max((headline, name), key=lambda v: (_squash(v) in page_title, v == headline))
    return headline or name


def _single_h1(src: Sources) -> str | None:
    h1s = src.root.xpath("//h1")
    return heading_text(h1s[0]) if len(h1s) == 1 else None


_BADGE_CLASS = re.compile(r"badge|label|plus|premium|exclusive|flag|marker|kicker|tag", re.IGNORECASE)
_BADGE_TAGS = ("span", "em", "strong", "small", "sup", "mark", "b", "i", "abbr")


def heading_text(h1: etree._Element) -> str | None:
    """A headline element's text without a badge at its start or end: a child label of at most 12
    characters and 2 words that is all capitals, has a "+" ("RK+", "LIVE", "EXCLUSIVE") or whose class
    says badge/label/plus/premium: it marks the story, it is not part of the title."""
    text = clean_text(h1.text_content())
    if not text:
        return None
    for el in h1.iter(*_BADGE_TAGS):
        if el is h1:
            continue
        badge = clean_text(el.text_content())
        if not badge or len(badge) > 12 or len(badge.split()) > 2:
            continue
        letters = [c for c in badge if c.isalpha()]
        if not ((letters and all(c.isupper() for c in letters)) or "+" in badge
                or _BADGE_CLASS.search(el.get("class", ""))):
            continue
        rest = None
        if text.startswith(badge):
            rest = text[len(badge):].lstrip(" :|–—-·•")
        elif text.endswith(badge):
            rest = text[: -len(badge)].rstrip(" :|–—-·•")
        if rest and len(rest.split()) >= 2:
            text = rest
    return text


#: Class/id names of a standfirst (dek, Vorspann): the summary printed under the headline, not body text.
_STANDFIRST_LABEL = re.compile(
    r"(?:^|[\s_-])(?:dek|deck|standfirst|vorspann|subtitle|sub-?headline|subhead|strapline|chapeau|summary|"
    r"excerpt|abstract|bajada|entradilla|sottotitolo|occhiello)(?:$|[\s_-])",
    re.IGNORECASE,
)
_BLOCK_CHILDREN = frozenset({"p", "div", "section", "article", "ul", "ol", "table", "h1", "h2", "h3", "figure"})


def standfirst(root: etree._Element) -> str | None:
    """The page's standfirst: the first element whose class or id says dek / standfirst / Vorspann /
    summary (and the like), holding no block children and 5 to 80 words of text."""
    for el in root.iter("p", "div", "h2", "h3", "span", "section"):
        label = f"{el.get('class', '')} {el.get('id', '')}"
        if not label.strip() or not _STANDFIRST_LABEL.search(label):
            continue
        if any(isinstance(c.tag, str) and c.tag in _BLOCK_CHILDREN for c in el):
            continue
        text = clean_text(el.text_content())
        if text and 5 <= len(text.split()) <= 80:
            return text
    return None


def _author_steps() -> list[Step]:
    return [
        ("jsonld", lambda s: _ld_people(s)),
        ("dc.creator", lambda s: _meta(s, "dc:creator", "dcterm:creator", "dc.creator", "dcterms.creator")),
        ("meta:author", lambda s: _not_url(_meta(s, "author", "article:author", "og:article:author", "byl"))),
        ("parsely-author", lambda s: _meta(s, "parsely-author")),
        ("sailthru.author", lambda s: _meta(s, "sailthru.author")),
        ("itemprop", lambda s: _itemprop(s, "author")),
        ("rel-author", lambda s: _rel_author(s)),
        ("byline-class", lambda s: _byline_class(s)),
    ]


def _not_url(value: str | None) -> str | None:
    if value and (value.startswith(("http://", "https://", "/")) or "facebook.com" in value):
        return None
    return value


def _ld_people(src: Sources) -> list[tuple[str, bool]] | None:
    """(name, is_organisation) for the JSON-LD article's authors."""
    raw = _ld(src.article, "author", "creator")
    if raw is None:
        return None
    items = raw if isinstance(raw, list) else [raw]
    out = []
    for item in items[:50]:
        if isinstance(item, str):
            name = clean_text(item)
            if name and not name.startswith("http"):
                out.append((name, False))
        elif isinstance(item, dict):
            name = clean_text(item.get("name")) if isinstance(item.get("name"), str) else None
            if name:
                out.append((name, bool(_types(item) & ORG_TYPES)))
    return out or None


def _rel_author(src: Sources) -> str | None:
    names = [clean_text(a.text_content()) for a in src.root.xpath("//a[@rel='author']")[:10]]
    names = [n for n in names if n and len(n) < 80]
    return ", ".join(dict.fromkeys(names)) if names else None


_LOWER = "translate(@class, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')"
_BYLINE_XPATH = (f"//*[contains({_LOWER},'byline') or contains({_LOWER},'author') or contains(@id,'byline') "
                 f"or contains({_LOWER},'writtenby')]")


def _byline_class(src: Sources) -> str | None:
    """The first byline-looking element (class or id byline/author) that names a person; else the
    first one naming anything (an organisation)."""
    fallback = None
    for el in src.root.xpath(_BYLINE_XPATH)[:30]:
        if el.tag in ("meta", "script", "style", "link", "body", "html", "article"):
            continue
        lines = [clean_text(line) for line in element_text(el).splitlines()]
        text = "\n".join(line for line in lines if line)
        if not text or not 3 <= len(text) <= 100 or "©" in text:
            continue
        names = split_authors(text)
        if names and not all(_ORG_WORDS.search(n) or n.isupper() and len(n) <= 5 for n in names):
            return text
        if names and fallback is None:
            fallback = text
    return fallback


def split_authors(raw: object, organisations: Iterable[str] = ()) -> list[str]:
    """People named by a byline: "By" dropped, job titles ("Staff Writer") dropped, e-mails and
    handles dropped, de-duplicated case-insensitively, and organisations dropped when a person is
    named. ``raw`` is a string or a list of ``(name, is_organisation)`` pairs from JSON-LD."""
    known_orgs = {o.casefold() for o in organisations if o}
    pieces: list[tuple[str, bool]] = []
    if isinstance(raw, str):
        pieces = [(raw, False)]
    elif isinstance(raw, list):
        pieces = [(p, org) if isinstance(p, str) else (str(p), False) for p, org in raw]
    names: list[tuple[str, bool]] = []
    for text, is_org in pieces:
        text = _EMAIL.sub(" ", text)
        text = _URL.sub(" ", text)
        text = re.sub(r"\(\s*\)", " ", text)
        text = re.sub(r"(?:^|\s)@\w+", " ", text)
        text = re.sub(r"\b(?:updated|published|posted|last updated)\b.*$", "", text, flags=re.IGNORECASE | re.DOTALL)
        text = _MONTH_DATE.split(text)[0]
        parts = [text] if is_org else [p for line in text.splitlines() for p in _PEOPLE_SPLIT.split(line)]
        for part in parts:
            part = _BY_PREFIX.sub("", " ".join(part.split())).strip(" .,:;-–—|•·")
            part = _BY_PREFIX.sub("", part).strip(" .,:;-–—|•·")
            if _JOB_TITLES.match(part):
                continue
            part = _TRAILING_JOB.sub("", part).strip(" .,:;-–—|")
            if (not part or len(part) > 80 or _JOB_TITLES.match(part) or _CREDENTIAL.match(part)
                    or not re.search(r"[^\W\d_]", part) or re.search(r"\d", part)):
                continue
            if not is_org and len(part.split()) > 5:
                continue  # a sentence, not a name
            if part.casefold() in ("by", "and", "staff", "admin", "anonymous", "unknown"):
                continue
            org = is_org or part.casefold() in known_orgs or (
                bool(_ORG_WORDS.search(part)) and len(part.split()) <= 4 and not _looks_like_person(part))
            names.append((part, org))
    out, seen = [], set()
    people = [n for n, org in names if not org]
    for name in people or [n for n, _ in names]:
        key = name.casefold()
        if key not in seen:
            seen.add(key)
            out.append(name)
    return out


def _looks_like_person(name: str) -> bool:
    words = name.split()
    return 2 <= len(words) <= 4 and all(w[:1].isupper() for w in words) and not _ORG_WORDS.search(name)


# --------------------------------------------------------------------------- dates

def parse_time(value: object, tz: ZoneInfo) -> datetime | None:
    """An aware UTC datetime from an ISO-8601 or common textual date; naive values are read in ``tz``.
    Implausible years (before 1990, or more than a year ahead) give None."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    if not value or len(value) > 64:
        return None
    dt = _fromiso(value)
    if dt is None:
        try:
            from dateutil import parser as dparser

            dt = dparser.parse(value, fuzzy=False)
        except (ValueError, OverflowError, TypeError):
            return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=tz)
    try:
        dt = dt.astimezone(UTC)
    except (OverflowError, ValueError):
        return None
    if dt.year < 1990 or dt > datetime.now(UTC) + timedelta(days=366):
        return None
    return dt


def _fromiso(value: str) -> datetime | None:
    if not _DATE_ISO.match(value):
        return None
    v = value.replace("Z", "+00:00").replace("z", "+00:00")
    if len(v) > 10 and v[10] in " t":
        v = v[:10] + "T" + v[11:]
    v = re.sub(r"([+-]\d\d)(\d\d)$", r"\1:\2", v)
    v = re.sub(r"\.(\d{1,6})\d*", r".\1", v)
    v = re.sub(r"\s+", "", v)
    try:
        return datetime.fromisoformat(v)
    except ValueError:
        try:
            return datetime.fromisoformat(v[:10])
        except ValueError:
            return None


def iso(dt: datetime | None) -> str | None:
    return dt.astimezone(UTC).isoformat(timespec="seconds") if dt else None


def _time_element(src: Sources) -> str | None:
    times = src.root.xpath("//time[@datetime]")
    pub = [t for t in times if t.get("pubdate") is not None or "publish" in (t.get("class") or "").lower()
           or (t.get("itemprop") or "") == "datePublished"]
    for t in pub + times:
        value = (t.get("datetime") or "").strip()
        if value:
            return value
    return None


def _htmldate(src: Sources) -> str | None:
    from htmldate import find_date

    try:
        return find_date(copy.deepcopy(src.root), extensive_search=False, original_date=True,
                         outputformat="%Y-%m-%dT%H:%M:%S%z", url=src.url or None)
    except Exception:  # htmldate is a heuristic library; any failure is "no date"
        return None


def _published_steps() -> list[Step]:
    return [
        ("jsonld", lambda s: _ld_text(s.article, "datePublished", "dateCreated") or _ld_text(s.page, "datePublished")),
        ("article:published_time", lambda s: _meta(s, "article:published_time", "og:article:published_time",
                                                    "og:published_time")),
        ("itemprop", lambda s: _meta(s, "datepublished") or _itemprop(s, "datePublished")),
        ("parsely-pub-date", lambda s: _meta(s, "parsely-pub-date")),
        ("sailthru.date", lambda s: _meta(s, "sailthru.date")),
        ("dc.date", lambda s: _meta(s, "dc.date", "dc.date.issued", "dcterms.created", "dcterms.date", "dc:date",
                                    "date", "pubdate", "publishdate", "publish-date", "article.published")),
        ("time-element", _time_element),
        ("prose-date", lambda s: _prose_time(s, updated=False)),
        ("htmldate", _htmldate),
    ]


def _modified_steps() -> list[Step]:
    return [
        ("jsonld", lambda s: _ld_text(s.article, "dateModified")),
        ("article:modified_time", lambda s: _meta(s, "article:modified_time", "og:updated_time")),
        ("itemprop", lambda s: _meta(s, "datemodified") or _itemprop(s, "dateModified")),
        ("dc.modified", lambda s: _meta(s, "dcterms.modified", "dc.date.modified", "last-modified")),
        ("prose-date", lambda s: _prose_time(s, updated=True)),
    ]


# --------------------------------------------------------------------------- dates printed as prose

_MONTH_NUMBERS: dict[str, int] = {}
for _number, _names in enumerate((
        "jan january januar jänner janvier enero gennaio januari",
        "feb february februar février febrero febbraio februari",
        "mar march märz mars marzo maart",
        "apr april avril abril aprile",
        "may mai mayo maggio mei",
        "jun june juni juin junio giugno",
        "jul july juli juillet julio luglio",
        "aug august août agosto augustus",
        "sep sept september septembre septiembre settembre",
        "oct october oktober okt octobre octubre ottobre",
        "nov november novembre noviembre",
        "dec december dezember dez décembre diciembre dicembre"), start=1):
    for _name in _names.split():
        _MONTH_NUMBERS[_name] = _number
_MONTH_ALT = "|".join(sorted(_MONTH_NUMBERS, key=len, reverse=True))
_PROSE_DATES = (
    re.compile(rf"(?i:\b(?P<mon>{_MONTH_ALT})\.?\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<year>\d{{4}})\b)"),
    re.compile(rf"(?i:\b(?P<day>\d{{1,2}})(?:\.|st|nd|rd|th)?\s+(?:of\s+|de\s+)?(?P<mon>{_MONTH_ALT})\.?,?"
               rf"\s+(?:de\s+)?(?P<year>\d{{4}})\b)"),
    re.compile(r"\b(?P<day>\d{1,2})\.(?P<mon>\d{1,2})\.(?P<year>\d{4})\b"),
    re.compile(r"\b(?P<year>\d{4})-(?P<mon>\d{2})-(?P<day>\d{2})\b"),
)
_CLOCK = (r"(?P<h>\d{1,2})[:.h](?P<m>\d{2})(?::(?P<s>\d{2}))?(?:\s*(?P<ap>(?i:[ap]\.?\s?m\.?)))?"
          r"(?:\s*(?i:uhr|h))?(?:\s*(?P<tz>\b[A-Z]{1,5}\b(?:[+-]\d{1,2}(?::?\d{2})?)?))?")
_TIME_AFTER = re.compile(r"\s*(?:,|(?i:at|um|à|a las|alle|om|-|–|—|\|))?\s*" + _CLOCK)
_TIME_BEFORE = re.compile(_CLOCK + r"\s*(?:,|(?i:on|am|le|el|il|op)|-|–|—|\|)?\s*$")
_UPDATED_WORDS = re.compile(r"updat|aktualis|modifi|geändert|mis à jour|actualiz|aggiorn|bijgewerkt|edited",
                            re.IGNORECASE)
#: Fixed-offset zone abbreviations (hours east of UTC); others ("ET", "Uhr", none) mean the site's zone.
_ZONE_OFFSETS = {"UTC": 0, "GMT": 0, "Z": 0, "EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7, "MDT": -6,
                 "PST": -8, "PDT": -7, "CET": 1, "CEST": 2, "MEZ": 1, "MESZ": 2, "BST": 1, "WET": 0, "WEST": 1,
                 "EET": 2, "EEST": 3, "JST": 9, "KST": 9, "AEST": 10, "AEDT": 11, "IST": 5.5}
_PROSE_LABEL = re.compile(r"date|time|stamp|publish|posted|update|modified|aktualis|datum|zeit|dateline|byline|"
                          r"meta|fecha|data",
                          re.IGNORECASE)
#: Elements looked at at most, and the longest text read as a stamp.
PROSE_MAX_ELEMENTS = 40
PROSE_MAX_CHARS = 240


def prose_times(text: str, tz: ZoneInfo) -> list[tuple[datetime, bool]]:
    """Every date with a clock time printed in ``text`` ("March 3, 2024 at 5:40 p.m. ET", "3. März 2024,
    17:40 Uhr", "17:40, 03.03.2024", "Updated 2024-03-03 19:05"), as (aware UTC time, is_update) in
    order. A zone abbreviation with a fixed offset is used; any other ("ET", "Uhr") means ``tz``. A
    time counts as an update when the words since the previous date say so (updated, aktualisiert...)."""
    found: list[tuple[int, int, re.Match]] = []
    for pattern in _PROSE_DATES:
        for m in pattern.finditer(text):
            if not any(a <= m.start() < b or m.start() <= a < m.end() for a, b, _ in found):
                found.append((m.start(), m.end(), m))
    found.sort(key=lambda f: f[0])
    out: list[tuple[datetime, bool]] = []
    prev_end = 0
    for start, end, m in found:
        clock = _TIME_AFTER.match(text, end)
        clock_start = start
        if clock is None:
            clock = _TIME_BEFORE.search(text[max(prev_end, start - 40):start])
            if clock is not None:
                clock_start = max(prev_end, start - 40) + clock.start()
        dt = _prose_datetime(m, clock, tz)
        if dt is not None:
            out.append((dt, bool(_UPDATED_WORDS.search(text[prev_end:clock_start]))))
        prev_end = clock.end() if clock is not None and clock_start == start else end
    return out


def _prose_datetime(date: re.Match, clock: re.Match | None, tz: ZoneInfo) -> datetime | None:
    if clock is None:
        return None
    mon = date.group("mon")
    month = int(mon) if mon.isdecimal() else _MONTH_NUMBERS.get(mon.lower().rstrip("."))
    hour, minute = int(clock.group("h")), int(clock.group("m"))
    ap = (clock.group("ap") or "").lower()
    if ap:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if ap.startswith("p") else 0)
    zone: tzinfo = tz
    abbr = clock.group("tz")
    if abbr:
        offset = re.match(r"(?:UTC|GMT)([+-]\d{1,2})(?::?(\d{2}))?$", abbr)
        if offset:
            hours = int(offset.group(1))
            zone = dt_timezone(timedelta(hours=hours, minutes=int(offset.group(2) or 0) * (1 if hours >= 0 else -1)))
        elif abbr in _ZONE_OFFSETS:
            zone = dt_timezone(timedelta(hours=_ZONE_OFFSETS[abbr]))
    try:
        local = datetime(int(date.group("year")), month or 0, int(date.group("day")), hour, minute,
                         int(clock.group("s") or 0))
    except (TypeError, ValueError):
        return None
    dt = local.replace(tzinfo=zone).astimezone(UTC)
    if dt.year < 1990 or dt > datetime.now(UTC) + timedelta(days=366):
        return None
    return dt


def _prose_time(src: Sources, *, updated: bool) -> str | None:
    """The first published (or, with ``updated``, updated) time printed as prose in a short element
    whose class or id names a date, time, stamp or byline, or in a ``<time>`` without ``datetime``."""
    tz = src.tz or ZoneInfo("UTC")
    looked = 0
    body = src.root.find("body")
    for el in (body if body is not None else src.root).iter():
        if not isinstance(el.tag, str) or el.tag in ("script", "style", "noscript", "template"):
            continue
        if el.tag != "time":
            label = f"{el.get('class', '')} {el.get('id', '')}"
            if not label.strip() or not _PROSE_LABEL.search(label):
                continue
        looked += 1
        if looked > PROSE_MAX_ELEMENTS:
            break
        text = " ".join(el.text_content().split())
        if not text or len(text) > PROSE_MAX_CHARS or not re.search(r"\d", text):
            continue
        for dt, is_update in prose_times(text, tz):
            if is_update == updated:
                return iso(dt)
    return None


# --------------------------------------------------------------------------- titles and sites

def strip_site_suffix(title: str, site_names: Iterable[str], host: str | None = None) -> str:
    """``"Headline - Site Name"`` → ``"Headline"`` when the last segment is the site's name (or its
    domain label); the headline itself is never emptied."""
    names = {_squash(n) for n in site_names if n}
    if host:
        label = host.lower().removeprefix("www.").split(".")
        if label:
            names.add(_squash(label[0]))
            names.add(_squash(".".join(label)))
    names.discard("")
    for _ in range(2):
        for sep in _SEPARATORS:
            head, found, tail = title.rpartition(sep)
            if found and head.strip() and _squash(tail) in names:
                title = head.strip()
                break
        else:
            break
    # the site name in front: "Site | Headline"
    for sep in (" | ", " - ", " – ", " — "):
        head, found, tail = title.partition(sep)
        if found and tail.strip() and _squash(head) in names:
            title = tail.strip()
            break
    return title


def _headline_part(title: str, alternatives: Iterable[str]) -> str:
    """``"Headline – Anything"`` → ``"Headline"`` when another source (og:title, the page's single
    <h1>, JSON-LD) gives exactly the part before the separator: the rest is the site's label."""
    alts = {_squash(a) for a in alternatives if a}
    alts.discard("")
    if not alts or _squash(title) in alts:
        return title
    for sep in _SEPARATORS:
        head, found, _ = title.rpartition(sep)
        while found and head.strip():
            if _squash(head) in alts:
                return head.strip()
            head, found, _ = head.rpartition(sep)
    return title


def _alt_titles(src: Sources) -> list[str]:
    out = [_meta(src, "og:title"), _meta(src, "twitter:title"), _single_h1(src), _ld_text(src.article, "headline")]
    return [v for v in out if v]


def _squash(text: str) -> str:
    return re.sub(r"\W+", "", text.casefold())


def _site_steps() -> list[Step]:
    return [
        ("og:site_name", lambda s: _meta(s, "og:site_name")),
        ("jsonld", lambda s: _ld_text(s.article, "publisher") or _ld_text(_first_org(s), "name")),
        ("application-name", lambda s: _meta(s, "application-name", "al:android:app_name", "apple-mobile-web-app-title")),
    ]


def _first_org(src: Sources) -> dict | None:
    return next((o for o in src.jsonld_objects if _types(o) & ORG_TYPES), None)


# --------------------------------------------------------------------------- the resolver

def resolve(root: etree._Element, url: str, *, timezone: str = "UTC", language: str | None = None,
            explain: bool = False) -> Metadata:
    """Every metadata field of a parsed page through its chain (see the module docstring)."""
    try:
        tz = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        tz = ZoneInfo("UTC")
    src = gather(root, url)
    src.tz = tz
    prov: dict[str, str] = {}
    exp: dict[str, list[tuple[str, object]]] = {}

    def chain(name: str, steps: list[Step], accept: Callable[[object], object] | None = None) -> object:
        value, method, seen = _run_chain(steps, src, explain, accept)
        if method:
            prov[name] = method
        if explain:
            exp[name] = seen
        return value

    site_name = chain("site_name", _site_steps(), clean_text)
    host = urlsplit(url).hostname if url else None

    orgs = [site_name or "", _ld_text(src.article, "publisher") or ""]
    raw_authors = chain("authors", _author_steps(), lambda v: split_authors(v, orgs) and v)
    authors = split_authors(raw_authors, orgs) if raw_authors else []
    if isinstance(raw_authors, str):
        byline = _BY_PREFIX.sub("", raw_authors).strip() or None
    else:
        byline = ", ".join(authors) or None
    if "authors" in prov:
        prov["byline"] = prov["authors"]

    raw_title = chain("title", _title_steps(), clean_text)
    title = None
    if isinstance(raw_title, str):
        # a personal site's name is its author's: "Post title | Ada Placeholder"
        title = strip_site_suffix(raw_title, [site_name or "", *authors], host)
        title = _headline_part(title, _alt_titles(src))

    published = chain("published_at", _published_steps(), lambda v: iso(parse_time(v, tz)))
    modified = chain("modified_at", _modified_steps(), lambda v: iso(parse_time(v, tz)))

    lang = language
    if lang:
        prov["language"] = "given"
        if explain:
            exp["language"] = [("given", lang)]
    else:
        lang = chain("language", [
            ("html-lang", lambda s: s.root.get("lang") or s.root.get("xml:lang")
             or s.root.get("{http://www.w3.org/XML/1998/namespace}lang")),
            ("content-language", lambda s: _meta(s, "content-language", "dc.language", "language")),
            ("jsonld", lambda s: _ld_text(s.article, "inLanguage")),
            ("og:locale", lambda s: _meta(s, "og:locale")),
        ], _norm_lang)

    summary = chain("summary", [
        ("jsonld", lambda s: _ld_text(s.article, "description")),
        ("og:description", lambda s: _meta(s, "og:description")),
        ("meta:description", lambda s: _meta(s, "description", "dc.description", "twitter:description",
                                             "sailthru.description")),
        ("standfirst", lambda s: standfirst(s.root)),
    ], clean_text)
    keywords = chain("keywords", [
        ("jsonld", lambda s: _ld(s.article, "keywords")),
        ("article:tag", lambda s: src.meta.get("article:tag")),
        ("meta:keywords", lambda s: _meta(s, "news_keywords", "keywords", "parsely-tags", "sailthru.tags")),
    ], _keyword_list) or []
    image = chain("image_url", [
        ("jsonld", lambda s: _ld_text(s.article, "image", "thumbnailUrl")),
        ("og:image", lambda s: _meta(s, "og:image", "og:image:url", "og:image:secure_url")),
        ("twitter:image", lambda s: _meta(s, "twitter:image", "twitter:image:src")),
    ], lambda v: _absolute(v, url))
    canonical = chain("canonical_url", [
        ("link-canonical", lambda s: next(iter(s.root.xpath("//link[@rel='canonical']/@href")), None)),
        ("og:url", lambda s: _meta(s, "og:url")),
        ("jsonld", lambda s: _ld_text(s.article, "url", "mainEntityOfPage")),
    ], lambda v: _absolute(v, url))
    section = chain("section", [
        ("jsonld", lambda s: _ld_text(s.article, "articleSection")),
        ("article:section", lambda s: _meta(s, "article:section")),
        ("parsely-section", lambda s: _meta(s, "parsely-section", "sailthru.section", "section")),
    ], clean_text)

    return Metadata(
        title=title, byline=byline, authors=authors, summary=summary, published_at=published, modified_at=modified,
        language=lang, keywords=keywords, image_url=image, canonical_url=canonical, site_name=site_name,
        section=section, provenance=prov, explain=exp,
    )


def _norm_lang(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.strip().replace("_", "-")
    m = re.match(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$", value)
    return value if m else None


def _keyword_list(value: object) -> list[str]:
    items: list[str] = []
    raw = value if isinstance(value, list) else [value]
    for item in raw[:200]:
        if isinstance(item, str):
            items.extend(p for p in (clean_text(x) for x in item.split(",")) if p)
    return list(dict.fromkeys(items))[:100]


def _absolute(value: object, base: str) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.strip()
    if not value or value.startswith(("data:", "javascript:")):
        return None
    try:
        return urljoin(base, value) if base else value
    except ValueError:
        return None
