"""Site profiles: one YAML file per site in ``sites/``, validated by one typed model.

A site is configuration, not code. ``SiteProfile`` says where a site lives (domains, base URL,
timezone), how its articles are discovered (robots, sitemaps, feeds, listings), which URLs are
articles, where each field is on a page (ordered lists of sources; a field with none falls back to
the generic extractor), how its sections map onto the cross-site vocabulary, its politeness and its
schedule. ``extends:`` pulls in a preset (``sites/_presets/<name>.yaml``) under the profile.

The registry reads ``$NEWSLINE_SITES_DIR`` (default: the repository's ``sites/``); every error names
the file and the field.
"""

from __future__ import annotations

import functools
import os
import re
import sys
from datetime import date
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from core.sections import SECTIONS

REPO_ROOT = Path(__file__).resolve().parent.parent
SITES_ENV = "NEWSLINE_SITES_DIR"
DEFAULT_SITES_DIR = REPO_ROOT / "sites"
PRESETS_DIRNAME = "_presets"
_KEY_RE = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")


class ProfileError(ValueError):
    """A profile that cannot be used; the message names the file and the field."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_regex(value: str | None, flags: int = 0) -> str | None:
    if value is None:
        return None
    try:
        re.compile(value, flags)
    except re.error as exc:
        raise ValueError(f"bad regular expression {value!r}: {exc}") from None
    return value


class FieldSource(_Model):
    """One place a field's value may be found. Exactly one of jsonld/meta/css/xpath/const."""

    jsonld: str | None = None  # dotted key path in the page's article JSON-LD node, e.g. "author.name"
    meta: str | None = None  # <meta property=…> or <meta name=…> content
    css: str | None = None  # parsel CSS, with ::text / ::attr(x) (default: the element's visible text)
    xpath: str | None = None
    const: str | None = None
    url: str | None = None  # a named group of the article-URL pattern, e.g. "id"
    all: bool = False  # every match (list fields) instead of the first
    regex: str | None = None  # keep group "value" (or 1, or the whole match); no match = no value
    replace: list[tuple[str, str]] = Field(default_factory=list)  # regex substitutions, in order
    date_format: str | None = None  # strptime format; naive results are read in the site's timezone
    split: str | None = None  # regex splitting one string into pieces (before `regex`, which then drops misses)
    present: str | None = None  # emit this value when the source matches anything (e.g. a paywall box)
    pick: int | None = Field(default=None, ge=0)  # keep the n-th value (0-based) of every match, split and filtered
    in_body: bool = False  # css/xpath relative to the body container (XPath: start it with ".//")
    markup: bool = False  # the value is HTML (e.g. a meta content with <p> inside): keep its text
    drop: str | None = None  # XPath, relative to the matched element, of parts left out of its text
    distinct_from: str | None = None  # skip a value equal to this other field's (e.g. a category = the section)

    @model_validator(mode="after")
    def _one_kind(self) -> FieldSource:
        kinds = [k for k in ("jsonld", "meta", "css", "xpath", "const", "url") if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError(f"a source needs exactly one of jsonld/meta/css/xpath/const/url, got {kinds or 'none'}")
        _check_regex(self.regex)
        _check_regex(self.split)
        if self.distinct_from is not None and self.distinct_from not in FIELD_NAMES:
            raise ValueError(f"distinct_from {self.distinct_from!r} is not a field; known: {', '.join(FIELD_NAMES)}")
        for pattern, _ in self.replace:
            _check_regex(pattern)
        _check_xpath(self.xpath)
        _check_xpath(self.drop)
        _check_css(self.css)
        return self


def _check_xpath(value: str | None) -> str | None:
    if value is not None:
        from lxml import etree

        try:
            etree.XPath(value)
        except etree.XPathSyntaxError as exc:
            raise ValueError(f"bad XPath {value!r}: {exc}") from None
    return value


def _check_css(value: str | None) -> str | None:
    if value is not None:
        from parsel.csstranslator import HTMLTranslator

        try:
            HTMLTranslator().css_to_xpath(value)
        except Exception as exc:  # noqa: BLE001 - cssselect raises several types
            raise ValueError(f"bad CSS selector {value!r}: {exc}") from None
    return value


#: Fields a profile may declare sources for (the raw item's names). The second line are the raw
#: alternatives the transform falls back on: og:title and <title> for the headline, JSON-LD times and
#: a printed timestamp line for the times, breadcrumb labels for the sections.
FIELD_NAMES = (
    "title", "byline", "authors", "published_at", "modified_at", "summary", "section", "subsection",
    "keywords", "image_url", "image_caption", "image_credit", "language", "access", "native_id",
    "canonical_url", "dateline", "revision",
    "og_title", "html_title", "jsonld_published", "jsonld_modified", "postdate", "section_label", "subsection_label",
)


class XPathRef(_Model):
    """An XPath where a CSS selector is the default (``{xpath: '…'}``)."""

    xpath: str

    @field_validator("xpath")
    @classmethod
    def _xpath(cls, v: str) -> str:
        return _check_xpath(v) or v


#: A selector: a CSS string, or ``{xpath: …}``.
Sel = str | XPathRef


def _check_sel(value: Sel) -> Sel:
    if isinstance(value, str):
        _check_css(value)
    return value


class BodyRule(_Model):
    container: Sel  # the article body container (first match)
    blocks: Sel = "p, h2, h3"  # the body blocks inside it, in document order
    exclude: list[Sel] = Field(default_factory=list)  # containers (inside it) whose blocks are not body
    max_depth: int = Field(default=64, ge=1)  # blocks deeper than this below the container are ignored

    @field_validator("container", "blocks")
    @classmethod
    def _sel(cls, v: Sel) -> Sel:
        return _check_sel(v)

    @field_validator("exclude")
    @classmethod
    def _sels(cls, v: list[Sel]) -> list[Sel]:
        for item in v:
            _check_sel(item)
        return v


class RejectRule(_Model):
    """A page that is not an article although it has the body container (an attachment page, a
    listing on the article template): exactly one of xpath/css/meta (its first value, which must
    match ``regex`` when given) or ``path`` (a regex on the URL path)."""

    xpath: str | None = None
    css: str | None = None
    meta: str | None = None
    path: str | None = None
    regex: str | None = None
    kind: Literal["not_article", "blocked", "malformed"] = "not_article"
    reason: str  # may name {value}: the regex's group "value" (or 1, or the whole match)

    @model_validator(mode="after")
    def _one_kind(self) -> RejectRule:
        kinds = [k for k in ("xpath", "css", "meta", "path") if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError(f"a reject rule needs exactly one of xpath/css/meta/path, got {kinds or 'none'}")
        _check_regex(self.regex)
        _check_regex(self.path)
        _check_xpath(self.xpath)
        _check_css(self.css)
        return self


class MarkupVersion(_Model):
    """An older markup of the site: its field sources and body rule, for pages published on or
    before ``valid_until``. Fields it leaves out are the profile's own."""

    valid_until: date
    fields: dict[str, list[FieldSource]] = Field(default_factory=dict)
    body: BodyRule | None = None

    @field_validator("fields")
    @classmethod
    def _fields(cls, v: dict[str, list[FieldSource]]) -> dict[str, list[FieldSource]]:
        return _known_fields(v)


def _known_fields(v: dict[str, list[FieldSource]]) -> dict[str, list[FieldSource]]:
    unknown = sorted(set(v) - set(FIELD_NAMES))
    if unknown:
        raise ValueError(f"unknown field(s) {', '.join(unknown)}; known: {', '.join(FIELD_NAMES)}")
    return v


class TitleRule(_Model):
    strip_suffix: str | None = None  # regex removed from the end of <title>/og:title, e.g. " - Site$"
    revision_marker: str | None = None  # regex on the headline with a group "n": revision n, removed from title

    @field_validator("strip_suffix", "revision_marker")
    @classmethod
    def _regex(cls, v: str | None) -> str | None:
        return _check_regex(v)


class AccessRule(_Model):
    free: list[str] = Field(default_factory=lambda: ["free"])  # raw values meaning free; others premium
    missing: Literal["free", "premium", "unknown"] = "unknown"  # access when the page has no marker


class Listing(_Model):
    url: str  # listing page, relative to the base URL
    links: str = "a::attr(href)"  # CSS for article links on the page
    next: str | None = None  # next page: a template with {page} (2, 3, …) relative to the base URL …
    next_css: str | None = None  # … or a CSS selector of the next-page link
    max_pages: int = Field(default=20, ge=1, le=1000)


class Discovery(_Model):
    robots: bool = True  # read robots.txt Sitemap: lines first
    sitemaps: list[str] = Field(default_factory=list)  # root sitemaps when robots.txt names none
    month_sitemap: str | None = None  # regex (groups year, month) of per-month sitemaps
    month_sitemap_names: list[str] = Field(default_factory=list)  # templates {year} {month} {month02} to guess
    news_sitemap: str | None = r"news[^/]*\.xml(?:\.gz)?$"  # regex recognising a news sitemap
    follow: list[str] = Field(default_factory=list)  # regexes of other child sitemaps to read
    max_sitemaps: int = Field(default=200, ge=1)  # cap on sitemap documents read per run
    feeds: list[str] = Field(default_factory=list)
    listings: list[Listing] = Field(default_factory=list)
    #: When feeds and listings are read: "auto" = when no sitemap of the day could be read (or the
    #: profile has no sitemaps), "always", "never".
    fallback: Literal["auto", "always", "never"] = "auto"

    @field_validator("month_sitemap", "news_sitemap")
    @classmethod
    def _regex(cls, v: str | None) -> str | None:
        return _check_regex(v)

    @field_validator("follow")
    @classmethod
    def _regexes(cls, v: list[str]) -> list[str]:
        for item in v:
            _check_regex(item)
        return v


class ArticleUrl(_Model):
    #: regex on the URL path; optional groups: date (with date_format) or year/month/day, id, section
    pattern: str
    date_format: str = "%Y%m%d"
    deny: list[str] = Field(default_factory=list)  # regexes of paths that are never articles

    @field_validator("pattern")
    @classmethod
    def _pattern(cls, v: str) -> str:
        return _check_regex(v) or v

    @field_validator("deny")
    @classmethod
    def _deny(cls, v: list[str]) -> list[str]:
        for item in v:
            _check_regex(item)
        return v


class Politeness(_Model):
    delay: float | None = Field(default=None, ge=0)  # seconds between requests (None: NEWSLINE_DOWNLOAD_DELAY)
    concurrency: int | None = Field(default=None, ge=1)  # parallel requests (None: NEWSLINE_CONCURRENCY)
    pool_slots: int = Field(default=1, ge=1)  # Airflow pool size: crawls of this site at once


class Sharding(_Model):
    """How a big day is split for the crawl: discovery runs once, then the day's article URLs are
    crawled in shards of ``shard_size`` (at most ``max_shards``), each a mapped Airflow task in the
    site's pool. The defaults keep one shard for any ordinary day, and a day of one shard is fetched by
    its discovery run itself (``fetch_in_discovery``: one crawler process, not two)."""

    shard_size: int = Field(default=1000, ge=1)  # article URLs per shard
    max_shards: int = Field(default=8, ge=1)  # more URLs than shard_size × max_shards: bigger shards
    # true: a day of one shard is fetched by the discovery process (one crawler start-up; a failed fetch
    # retries discovery with it); false: discovery only, every day's fetching in mapped crawl shards
    fetch_in_discovery: bool = True

    def shard_count(self, urls: int) -> int:
        """How many shards ``urls`` article URLs make (at least one)."""
        return max(1, min(self.max_shards, -(-urls // self.shard_size)))

    def fetch_in_discovery_max(self) -> int | None:
        """The most article URLs the discovery process fetches itself: one shard's worth (any number when
        ``max_shards`` is 1); None when ``fetch_in_discovery`` is off."""
        if not self.fetch_in_discovery:
            return None
        return self.shard_size if self.max_shards > 1 else sys.maxsize


class DriftRule(_Model):
    """The drift alarm: on a deterministic sample of each day's pages the profile's output is compared
    with the generic extractor's; when agreement falls below the floors the day's quality check fails."""

    sample: float = Field(default=0.25, ge=0, le=1)  # share of pages compared (by URL hash: the same each run)
    # at most this many pages compared per crawl process: the generic extractor costs ~3x the profile's parse,
    # and a redesign shows on every page, so a big day needs no more (the first sampled pages fetched)
    max_pages: int = Field(default=50, ge=1)
    body_floor: float = Field(default=0.8, ge=0, le=1)  # mean body agreement (token F1) below this fails
    field_floor: float = Field(default=0.8, ge=0, le=1)  # share of sampled pages whose title/time agree
    min_pages: int = Field(default=3, ge=1)  # fewer sampled pages than this: no verdict


class Schedule(_Model):
    cron: str = "0 0 * * *"  # in the site's timezone; the data interval is one local day
    start_date: date = date(2024, 9, 1)
    end_date: date | None = None
    catchup: bool = False
    retries: int = Field(default=2, ge=0)


class SiteProfile(_Model):
    key: str
    name: str
    domains: list[str]
    base_url: str
    timezone: str
    language: str = "en"
    dag_id: str | None = None  # default news_<key>_daily
    description: str | None = None
    discovery: Discovery = Field(default_factory=Discovery)
    article_url: ArticleUrl
    fields: dict[str, list[FieldSource]] = Field(default_factory=dict)
    body: BodyRule | None = None
    reject: list[RejectRule] = Field(default_factory=list)  # pages with the container that are not articles
    versions: list[MarkupVersion] = Field(default_factory=list)  # older markups, oldest first
    #: False: the generic extractor never runs (an undeclared field stays empty; a page without a title
    #: or body blocks is rejected as malformed).
    generic_fallback: bool = True
    whitespace: Literal["collapse", "keep"] = "collapse"  # inner whitespace of field values ("keep": as on the page)
    provenance: bool = True  # record in the item's `extraction` which source gave each field
    title: TitleRule = Field(default_factory=TitleRule)
    dateline: str | None = None  # regex on the first paragraph; group "dateline" is split off
    access: AccessRule = Field(default_factory=AccessRule)
    sections: dict[str, str] = Field(default_factory=dict)  # native section slug → cross-site section
    default_section: str = "other"
    politeness: Politeness = Field(default_factory=Politeness)
    crawl: Sharding = Field(default_factory=Sharding)
    drift: DriftRule = Field(default_factory=DriftRule)
    schedule: Schedule = Field(default_factory=Schedule)
    hook: str | None = None  # "module:function" page parser used instead of the declared fields
    demo_port_offset: int | None = None  # position in the demo world (demo sites only)
    source_file: str | None = None  # set by the loader

    @field_validator("key")
    @classmethod
    def _key(cls, v: str) -> str:
        if not _KEY_RE.match(v):
            raise ValueError(f"key {v!r} must be a lower-case slug ([a-z][a-z0-9-]*)")
        return v

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {v!r} (use an IANA name such as Europe/Berlin)") from None
        return v

    @field_validator("base_url")
    @classmethod
    def _base(cls, v: str) -> str:
        parts = urlsplit(v)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"base_url must be an http(s) URL with a host, got {v!r}")
        return v if v.endswith("/") else v + "/"

    @field_validator("domains")
    @classmethod
    def _domains(cls, v: list[str]) -> list[str]:
        if not v:
            raise ValueError("at least one domain is needed")
        return [d.lower().strip(".") for d in v]

    @field_validator("fields")
    @classmethod
    def _fields(cls, v: dict[str, list[FieldSource]]) -> dict[str, list[FieldSource]]:
        return _known_fields(v)

    @field_validator("versions")
    @classmethod
    def _versions(cls, v: list[MarkupVersion]) -> list[MarkupVersion]:
        for i in range(1, len(v)):
            if v[i].valid_until <= v[i - 1].valid_until:
                raise ValueError(
                    f"versions[{i}].valid_until {v[i].valid_until} must be after versions[{i - 1}].valid_until "
                    f"{v[i - 1].valid_until}: list the versions oldest first, without overlaps")
        return v

    @field_validator("sections")
    @classmethod
    def _sections(cls, v: dict[str, str]) -> dict[str, str]:
        bad = {k: s for k, s in v.items() if s not in SECTIONS}
        if bad:
            raise ValueError(f"section(s) {bad} map outside the cross-site vocabulary: {', '.join(SECTIONS)}")
        return v

    @field_validator("default_section")
    @classmethod
    def _default_section(cls, v: str) -> str:
        if v not in SECTIONS:
            raise ValueError(f"default_section {v!r} is not in the cross-site vocabulary: {', '.join(SECTIONS)}")
        return v

    # --- derived -----------------------------------------------------------------------------------

    @property
    def spider(self) -> str:
        return "news"

    @property
    def dag(self) -> str:
        return self.dag_id or f"news_{self.key.replace('-', '_')}_daily"

    def owns_host(self, host: str | None) -> bool:
        """True for one of the site's domains or a subdomain of one."""
        if not host:
            return False
        host = host.lower().strip(".")
        return any(host == d or host.endswith("." + d) for d in self.domains)

    def map_section(self, native: str | None) -> str | None:
        """The cross-site section of a native section slug (identity when it is in the vocabulary)."""
        if native is None:
            return None
        if native in self.sections:
            return self.sections[native]
        return native if native in SECTIONS else self.default_section

    @functools.cached_property
    def article_re(self) -> re.Pattern[str]:
        return re.compile(self.article_url.pattern)

    def markup_for(self, day: date | None) -> SiteProfile:
        """The profile with the field sources and body rule of the markup valid on ``day`` (the
        first version whose ``valid_until`` is on or after it; the profile's own after the last)."""
        if day is None or not self.versions:
            return self
        for index, version in enumerate(self.versions):
            if day <= version.valid_until:
                return self.version_profiles[index]
        return self

    @functools.cached_property
    def version_profiles(self) -> tuple[SiteProfile, ...]:
        return tuple(
            self.model_copy(update={"fields": {**self.fields, **v.fields}, "body": v.body or self.body,
                                    "versions": []})
            for v in self.versions)

    @functools.cached_property
    def deny_res(self) -> tuple[re.Pattern[str], ...]:
        return tuple(re.compile(p) for p in self.article_url.deny)


# --- loading ---------------------------------------------------------------------------------------


def sites_dir() -> Path:
    raw = os.environ.get(SITES_ENV)
    return Path(raw) if raw else DEFAULT_SITES_DIR


def _deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in top.items():
        out[k] = _deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        return dict(_read_yaml_cached(str(path), path.stat().st_mtime_ns))
    except OSError as exc:
        raise ProfileError(f"{path}: cannot read: {exc.strerror or exc}") from None


@functools.lru_cache(maxsize=256)
def _read_yaml_cached(path_str: str, mtime: int) -> dict[str, Any]:
    import yaml

    path = Path(path_str)
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: ~10x faster at parse time
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)  # noqa: S506 - a safe loader
    except OSError as exc:
        raise ProfileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ProfileError(f"{path}:{where} malformed YAML: {getattr(exc, 'problem', None) or exc}") from None
    if not isinstance(data, dict):
        raise ProfileError(f"{path}: a profile must be a YAML mapping, got {type(data).__name__}")
    return data


def _resolve(path: Path, data: dict[str, Any], seen: tuple[str, ...] = ()) -> dict[str, Any]:
    preset = data.pop("extends", None)
    if preset is None:
        return data
    if not isinstance(preset, str) or not _KEY_RE.match(preset) or preset in seen:
        raise ProfileError(f"{path}: field 'extends': {preset!r} is not a preset name (or extends itself)")
    for folder in (path.parent / PRESETS_DIRNAME, DEFAULT_SITES_DIR / PRESETS_DIRNAME):
        candidate = folder / f"{preset}.yaml"
        if candidate.is_file():
            base = _resolve(candidate, _read_yaml(candidate), (*seen, preset))
            return _deep_merge(base, data)
    raise ProfileError(f"{path}: field 'extends': no preset {preset!r} in {path.parent / PRESETS_DIRNAME}")


def load_profile(path: str | os.PathLike[str]) -> SiteProfile:
    """Read, merge its preset, and validate one profile file; ProfileError names file and field."""
    path = Path(path)
    data = _resolve(path, _read_yaml(path))
    try:
        profile = SiteProfile.model_validate({**data, "source_file": str(path)})
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"]) or "(profile)"
            msg = err["msg"].removeprefix("Value error, ")
            problems.append(f"field '{field}': {msg}")
        raise ProfileError(f"{path}: " + "; ".join(problems)) from None
    if profile.key != path.stem:
        raise ProfileError(f"{path}: field 'key': {profile.key!r} must equal the file name {path.stem!r}")
    return profile


@functools.lru_cache(maxsize=8)
def _load_all(folder: str, stamp: tuple[tuple[str, float], ...]) -> dict[str, SiteProfile]:
    profiles: dict[str, SiteProfile] = {}
    for name, _ in stamp:
        profile = load_profile(Path(folder) / name)
        profiles[profile.key] = profile
    return profiles


def all_sites(folder: str | os.PathLike[str] | None = None) -> dict[str, SiteProfile]:
    """Every profile of the sites folder, by key (cached until a file changes)."""
    root = Path(folder) if folder is not None else sites_dir()
    if not root.is_dir():
        raise ProfileError(f"{root}: the sites folder does not exist (set {SITES_ENV})")
    files = sorted(p for p in root.glob("*.yaml") if not p.name.startswith(("_", ".")))
    stamp = tuple((p.name, p.stat().st_mtime) for p in files)
    return dict(_load_all(str(root), stamp))


def get_site(key: str) -> SiteProfile:
    sites = all_sites()
    try:
        return sites[key]
    except KeyError:
        raise ValueError(f"unknown site {key!r}; known: {', '.join(sorted(sites))}") from None


def site_for_url(url: str, sites: dict[str, SiteProfile] | None = None) -> SiteProfile | None:
    """The profile whose domains hold the URL's host (the longest matching domain wins)."""
    host = (urlsplit(url).hostname or "").lower()
    best: tuple[int, SiteProfile] | None = None
    for profile in (sites if sites is not None else all_sites()).values():
        for d in profile.domains:
            if (host == d or host.endswith("." + d)) and (best is None or len(d) > best[0]):
                best = (len(d), profile)
    return best[1] if best else None


def site_key_for_host(host: str) -> str:
    """A site key derived from a host name: ``www.news.example.co.uk`` → ``news-example-co-uk``."""
    host = (host or "unknown").lower().strip(".")
    host = host[4:] if host.startswith("www.") else host
    key = re.sub(r"[^a-z0-9]+", "-", host).strip("-") or "unknown"
    return key if key[0].isalpha() else f"s-{key}"


def generic_profile(url: str) -> SiteProfile:
    """A profile for a page of a site without one: every field from the generic extractor, UTC."""
    parts = urlsplit(url)
    host = (parts.hostname or "unknown").lower()
    return SiteProfile(
        key=site_key_for_host(host), name=host, domains=[host],
        base_url=f"{parts.scheme or 'https'}://{parts.netloc or host}/", timezone="UTC", language="en",
        article_url=ArticleUrl(pattern=r"^/.*$"),
    )


#: Compatibility name: code that says "Site" means a profile.
Site = SiteProfile

__all__ = [
    "FIELD_NAMES", "ArticleUrl", "BodyRule", "Discovery", "FieldSource", "Listing", "MarkupVersion", "ProfileError",
    "RejectRule", "Sel", "Site", "XPathRef",
    "SiteProfile", "all_sites", "get_site", "load_profile", "site_for_url", "sites_dir",
]
