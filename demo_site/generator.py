"""Deterministic model of the demo Japan News site: which articles exist, when, and in which revision.

Everything is derived from ``(seed, days, articles_per_day)``: two ``DemoSite`` objects built with the
same arguments serve byte-identical pages. Only cheap metadata (``ArticleSpec``) is built eagerly; text
is generated on demand per (post id, revision), so 20,000 articles cost little until they are read.

Choices documented for the other areas
--------------------------------------
* Washington Post stories: URL ``/washingtonpost/{YYYYMMDD}-{postID}/``, section ``news-services``,
  subsection ``washingtonpost`` (the same pair the crawler's parser uses).
* Business markets: articles and feeds use ``markets``; the menu links ``/business/market/`` (the
  real site's inconsistency) and both listing paths are served.
* Premium stories: ``cXenseParse:yoj-articletype`` is ``premium``; the page shows only the first two
  body blocks and puts a subscription offer into ``#article-inline-offer``. Ground truth ``body`` is
  what the page shows. Free stories carry JSON-LD keywords ``"(1) 無料記事"``, premium ``"(1) 有料記事"``.
* Revisions: revision ``n`` shows ``" (UPDATE n)"`` (a few use ``"(Update n)"``) after the headline,
  ``" (updated at HH:MM JST)"`` in the postdate line, a later modified time (meta, JSON-LD, sitemap
  lastmod) and a changed body (one extra paragraph per revision after the lead).

Ground truth normalisation (the transforms implement exactly the same rules)
----------------------------------------------------------------------------
* Every string: Unicode NFC; every whitespace character (U+2002, U+00A0, tabs, newlines included)
  becomes a space; runs collapse; stripped; empty -> None. Typographic quotes and dashes are kept.
* ``title``: the h1 text without a trailing ``" (UPDATE n)"`` (case-insensitive); ``revision`` = n, else 0.
* ``body``: the body ``<p>`` and ``<h2>`` blocks in order, each normalised, empties dropped, joined with
  ``"\\n\\n"``. A first paragraph starting with a dateline (capitals, spaces, ``.,'-``, then
  ``" — "`` with U+2014) yields ``dateline`` and loses that prefix; else ``dateline`` is None.
  ``p.byline`` and ``p.postdate`` are not body.
* ``byline``: the p.byline text normalised or None; ``authors``: leading ``"By "`` stripped, the part
  before ``" / "`` split on ``", "`` and ``" and "``; no byline -> [].
* ``published_at`` / ``modified_at``: the meta ``article:published_time`` / ``article:modified_time``
  (minute precision, +09:00) as aware UTC datetimes; ``date`` is the JST publication date.
* ``access``: ``free`` if the articletype is ``free``, ``premium`` for any other non-empty value;
  ``access_raw`` the value as is. ``keywords``: JSON-LD keywords with ``"(n) "`` stripped.
* ``summary``: og:description without its ``<p>`` markup, normalised (the lead paragraph, dateline kept).
* ``image_url``: first figure img@src (absolute); ``image_credit``: the figcaption ``<span>``;
  ``image_caption``: the rest of the figcaption. ``language``: ``"en"``.
* ``url``: the canonical URL under the serving base URL; ``article_id``: ``"japannews:<postID>"``.
* ``word_count``: whitespace-separated tokens of ``body``.
"""

from __future__ import annotations

import bisect
import functools
import logging
import os
import random
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from demo_site import text as gen

log = logging.getLogger(__name__)

SITE_KEY = "japannews"
SITE_NAME = "The Japan News"
JST = ZoneInfo("Asia/Tokyo")
DEFAULT_DAYS: tuple[date, ...] = tuple(date(2024, 9, d) for d in range(4, 9))
DEFAULT_ARTICLES_PER_DAY = 40
DEFAULT_SEED = 20240904
DEFAULT_AS_OF = datetime(2024, 9, 9, 6, 0, tzinfo=JST)  # = closing_time(DEFAULT_DAYS[-1])
FIRST_POST_ID = 208000
PREMIUM_VALUE = "premium"
FREE_KEYWORD = "(1) 無料記事"
PREMIUM_KEYWORD = "(1) 有料記事"
PREMIUM_VISIBLE_BLOCKS = 2

SEED_POST_ID = 209301
SEED_DAY = date(2024, 9, 6)
SEED_SECTION = ("politics", "politics-government")
SEED_END_MARKER = '"Politics" POPULAR ARTICLE'
REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SEED_PATH = REPO_ROOT.parent / "shared" / "seed" / "japan-news-article.txt"

WAPO_PREFIX = "washingtonpost"

#: (section slug, label, ((subsection slug, label), ...)) as in japannews-site.md.
SECTIONS: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...] = (
    (
        "politics",
        "Politics",
        (
            ("politics-government", "Politics & Government"),
            ("defense-security", "Defense & Security"),
            ("election", "Election"),
            ("political-series", "Political Series"),
            ("g7-summit", "G7 Summit"),
        ),
    ),
    (
        "society",
        "Society",
        (
            ("general-news", "General News"),
            ("crime-courts", "Crime & Courts"),
            ("imperial-family", "Imperial Family"),
            ("obituaries", "Obituaries"),
            ("social-series", "Social Series"),
            ("coronavirus", "Coronavirus"),
            ("noto-peninsula-earthquake", "Noto Peninsula Earthquake"),
        ),
    ),
    (
        "business",
        "Business",
        (
            ("economy", "Economy"),
            ("companies", "Companies"),
            ("markets", "Markets"),
            ("business-series", "Business Series"),
            ("yies", "YIES"),
            ("asia-inside-review", "Asia Inside Review"),
        ),
    ),
    (
        "world",
        "World",
        (
            ("asia-pacific", "Asia-Pacific"),
            ("us-canada", "U.S. & Canada"),
            ("europe", "Europe"),
            ("russia", "Russia-Ukraine War"),
            ("wider-world", "Wider World"),
            ("global", "Global"),
        ),
    ),
    (
        "news-services",
        "News Services",
        (("ap", "AP"), ("reuters", "Reuters"), ("afp-jiji", "AFP-Jiji"), ("washingtonpost", "Washington Post")),
    ),
    (
        "editorial",
        "Editorial & Columns",
        (
            ("yomiuri-editorial", "Yomiuri Editorial"),
            ("political-pulse", "Political Pulse"),
            ("insights-world", "Insights into the World"),
            ("cultural-viewpoints", "Cultural Viewpoints"),
            ("outside-contributors", "Outside Contributors"),
        ),
    ),
    (
        "sports",
        "Sports",
        (
            ("baseball", "Baseball"),
            ("soccer", "Soccer"),
            ("basketball", "Basketball"),
            ("rugby", "Rugby"),
            ("golf", "Golf"),
            ("tennis", "Tennis"),
            ("sumo", "Sumo"),
            ("figure-skating", "Figure Skating"),
            ("other-sports", "Other Sports"),
            ("soccer-worldcup", "Soccer World Cup"),
            ("olympics-paralympics", "Olympics & Paralympics"),
        ),
    ),
    (
        "science-nature",
        "Science & Nature",
        (
            ("science", "Science"),
            ("technology", "Technology"),
            ("environment", "Environment"),
            ("climate-change", "Climate Change"),
        ),
    ),
    (
        "culture",
        "Culture",
        (
            ("manga-anime", "Manga & Anime"),
            ("film-tv", "Film & TV"),
            ("kabuki-noh-rakugo", "Kabuki, Noh & Rakugo"),
            ("performing-arts", "Performing Arts"),
            ("art", "Art"),
            ("fashion", "Fashion"),
            ("music", "Music"),
            ("books-literature", "Books & Literature"),
            ("museum", "Museum"),
        ),
    ),
    (
        "original",
        "JN Specialties",
        (
            ("perspectives", "Perspectives"),
            ("donald-keenes-legacy", "Donald Keene’s Legacy"),
            ("ramen-japan", "Ramen Japan"),
            ("delicious-japan", "Delicious Japan"),
            ("decommissioning-fukushima", "Decommissioning Fukushima"),
            ("weekly", "Weekly"),
            ("vantage-point", "Vantage Point"),
            ("video", "Video"),
        ),
    ),
    (
        "features",
        "Features",
        (
            ("delicious", "Delicious"),
            ("japan-focus", "Japan Focus"),
            ("travel-spots", "Travel Spots"),
            ("troubleshooter", "Troubleshooter"),
            ("neko-pitcher", "Neko Pitcher"),
            ("cartoon", "Cartoon"),
        ),
    ),
)
SECTION_LABELS: dict[str, str] = {s: label for s, label, _ in SECTIONS}
SUBSECTION_LABELS: dict[tuple[str, str], str] = {(s, sub): lab for s, _, subs in SECTIONS for sub, lab in subs}
ALL_SUBSECTIONS: tuple[tuple[str, str], ...] = tuple((s, sub) for s, _, subs in SECTIONS for sub, _ in subs)
WIRE_SUBSECTIONS = frozenset({"ap", "reuters", "afp-jiji", "washingtonpost"})

_UPDATE_RE = re.compile(r"\s*\(update\s+(\d+)\)\s*$", re.IGNORECASE)
_DATELINE_RE = re.compile(r"^([A-Z][A-Z .,'\-]*?) \u2014 ")
_SEED_TIME_RE = re.compile(
    r"(\d{1,2}):(\d{2}) JST,\s*([A-Za-z]+ \d{1,2}, \d{4})(?:\s*\(updated at (\d{1,2}):(\d{2}) JST\))?"
)


def path_prefix(section: str, subsection: str) -> str:
    """URL folder of a category: ``/section/subsection/`` except the Washington Post's own root."""
    if subsection == WAPO_PREFIX:
        return f"/{WAPO_PREFIX}/"
    return f"/{section}/{subsection}/"


@dataclass(frozen=True)
class Revision:
    n: int
    modified: datetime  # exact instant (with seconds), JST
    marker: str = "UPDATE"  # "UPDATE" or "Update" as shown after the headline


@dataclass(frozen=True)
class Block:
    kind: str  # "p" or "h2"
    html: str  # inner HTML
    text: str  # the same as plain text


@dataclass(frozen=True)
class ArticleSpec:
    """Cheap metadata of one article; its text is generated on demand."""

    post_id: int
    section: str
    subsection: str
    published: datetime  # exact instant (with seconds), JST
    seed: int
    access_raw: str = "free"
    byline_kind: str = "none"  # none | one | two | three | correspondent
    dateline: str | None = None
    has_image: bool = False
    has_h2: bool = False
    revisions: tuple[Revision, ...] = ()
    is_seed: bool = False

    @property
    def day(self) -> date:
        return self.published.astimezone(JST).date()

    @property
    def path(self) -> str:
        return f"{path_prefix(self.section, self.subsection)}{self.day:%Y%m%d}-{self.post_id}/"

    def revision_at(self, as_of: datetime) -> Revision | None:
        """The latest revision visible at ``as_of`` (revision 0 is publication); None if unpublished."""
        if self.published > as_of:
            return None
        current = Revision(0, self.published)
        for rev in self.revisions:
            if rev.modified <= as_of:
                current = rev
        return current


@dataclass(frozen=True)
class ArticleContent:
    """One revision of an article as the page shows it."""

    spec: ArticleSpec
    revision: Revision
    title: str  # clean headline
    blocks: tuple[Block, ...]  # all body blocks, the first one with the dateline prefix if any
    byline: str | None
    image_url_path: str | None
    image_credit: str | None
    image_caption: str | None
    cms_author: str

    @property
    def shown_title(self) -> str:
        if self.revision.n == 0:
            return self.title
        return f"{self.title} ({self.revision.marker} {self.revision.n})"

    @property
    def visible_blocks(self) -> tuple[Block, ...]:
        if self.spec.access_raw != "free":
            return self.blocks[:PREMIUM_VISIBLE_BLOCKS]
        return self.blocks

    @property
    def keywords_raw(self) -> str:
        return FREE_KEYWORD if self.spec.access_raw == "free" else PREMIUM_KEYWORD

    @property
    def lead_text(self) -> str:
        return self.blocks[0].text if self.blocks else ""


@dataclass(frozen=True)
class SeedArticle:
    title: str  # as captured, with its "(UPDATE n)" mark
    published: datetime
    updated: datetime | None
    paragraphs: tuple[str, ...]


def parse_seed(raw: str) -> SeedArticle:
    """Title, timestamp line and body paragraphs of the seed text capture."""
    lines = [line.strip() for line in raw.splitlines()]
    title, stamp = lines[0], lines[1]
    paragraphs: list[str] = []
    for line in lines[2:]:
        if line == SEED_END_MARKER:
            break
        if line:
            paragraphs.append(line)
    published = datetime.combine(SEED_DAY, time(18, 19), tzinfo=JST)
    updated: datetime | None = datetime.combine(SEED_DAY, time(20, 30), tzinfo=JST)
    m = _SEED_TIME_RE.search(stamp)
    if m:
        day = datetime.strptime(m.group(3), "%B %d, %Y").date()
        published = datetime.combine(day, time(int(m.group(1)), int(m.group(2))), tzinfo=JST)
        updated = datetime.combine(day, time(int(m.group(4)), int(m.group(5))), tzinfo=JST) if m.group(4) else None
    return SeedArticle(title=title, published=published, updated=updated, paragraphs=tuple(paragraphs))


def seed_path() -> Path:
    """Where the seed text capture is read from: ``NEWSLINE_SEED_ARTICLE``, else ``shared/`` beside the repo."""
    return Path(os.environ.get("NEWSLINE_SEED_ARTICLE") or DEFAULT_SEED_PATH)


def load_seed(path: str | os.PathLike[str] | None = None) -> SeedArticle | None:
    """The seed article from ``path`` or ``seed_path()``; None if missing."""
    where = Path(path) if path else seed_path()
    try:
        raw = where.read_text(encoding="utf-8")
    except OSError:
        log.warning("seed article %s not readable: the demo site has no seed article", where)
        return None
    try:
        return parse_seed(raw)
    except (IndexError, ValueError):
        log.warning("seed article %s could not be parsed: the demo site has no seed article", where)
        return None


def split_update(title: str) -> tuple[str, int]:
    m = _UPDATE_RE.search(title)
    if not m:
        return title, 0
    return title[: m.start()], int(m.group(1))


def split_dateline(paragraph: str) -> tuple[str | None, str]:
    m = _DATELINE_RE.match(paragraph)
    if not m:
        return None, paragraph
    return m.group(1), paragraph[m.end() :]


def authors_of(byline: str | None) -> list[str]:
    if not byline:
        return []
    names = byline[3:] if byline.startswith("By ") else byline
    names = names.split(" / ", 1)[0]
    out: list[str] = []
    for part in names.split(", "):
        out.extend(p.strip() for p in part.split(" and "))
    return [p for p in out if p]


class DemoSite:
    """The whole demo site: article specs, on-demand content, and ground truth at any ``as_of``."""

    key = SITE_KEY
    name = SITE_NAME
    language = "en"
    timezone = JST
    charset = "utf-8"

    def __init__(
        self,
        days: list[date] | tuple[date, ...] | None = None,
        articles_per_day: int = DEFAULT_ARTICLES_PER_DAY,
        seed: int = DEFAULT_SEED,
        as_of: datetime | None = None,
        seed_article: SeedArticle | None | bool = True,
    ) -> None:
        self.days: tuple[date, ...] = tuple(sorted(days or DEFAULT_DAYS))
        self.articles_per_day = int(articles_per_day)
        self.seed = seed
        self.as_of: datetime = as_of or closing_time(self.days[-1])
        if self.as_of.tzinfo is None:
            raise ValueError("as_of must be timezone-aware")
        if seed_article is True:
            self.seed_article: SeedArticle | None = load_seed()
        elif seed_article is False:
            self.seed_article = None
        else:
            self.seed_article = seed_article
        self.articles: tuple[ArticleSpec, ...] = self._build()
        self.by_id: dict[int, ArticleSpec] = {a.post_id: a for a in self.articles}
        self._published_keys = [a.published for a in self.articles]
        self._visible_cache: dict[datetime, list[tuple[ArticleSpec, Revision]]] = {}
        self._content = functools.lru_cache(maxsize=4096)(self._make_content)

    # --- building ---------------------------------------------------------------------------

    def _build(self) -> tuple[ArticleSpec, ...]:
        drafts: list[dict[str, Any]] = []
        day_set = set(self.days)
        for day_index, day in enumerate(self.days):
            rng = random.Random(f"{self.seed}:{day.isoformat()}")
            if self.articles_per_day <= 24 * 60:  # distinct minutes while the day has enough of them
                minutes = sorted(rng.sample(range(24 * 60), self.articles_per_day))
            else:
                minutes = sorted(rng.randrange(24 * 60) for _ in range(self.articles_per_day))
            offset = rng.randrange(len(ALL_SUBSECTIONS))
            for i, minute in enumerate(minutes):
                section, subsection = ALL_SUBSECTIONS[
                    (offset + day_index * self.articles_per_day + i) % len(ALL_SUBSECTIONS)
                ]
                published = datetime.combine(day, time(minute // 60, minute % 60, rng.randrange(60)), tzinfo=JST)
                wire = subsection in WIRE_SUBSECTIONS
                roll = rng.random()
                if wire:
                    byline_kind = "none"
                elif roll < 0.35:
                    byline_kind = "one"
                elif roll < 0.55:
                    byline_kind = "two"
                elif roll < 0.62:
                    byline_kind = "three"
                elif roll < 0.75:
                    byline_kind = "correspondent"
                else:
                    byline_kind = "none"
                dateline = rng.choice(gen.DATELINES) if (wire and rng.random() < 0.7) or rng.random() < 0.15 else None
                access_raw = PREMIUM_VALUE if (not wire and rng.random() < 0.12) else "free"
                revisions = self._revisions(rng, published, day, day_set, force_later=(day_index == 1 and i == 3))
                drafts.append(
                    dict(
                        section=section,
                        subsection=subsection,
                        published=published,
                        seed=rng.getrandbits(48),
                        access_raw=access_raw,
                        byline_kind=byline_kind,
                        dateline=dateline,
                        has_image=rng.random() < 0.5,
                        has_h2=rng.random() < 0.2,
                        revisions=revisions,
                    )
                )
        drafts.sort(key=lambda d: d["published"])
        specs: list[ArticleSpec] = []
        post_id = FIRST_POST_ID
        for d in drafts:
            if post_id == SEED_POST_ID:
                post_id += 1
            specs.append(ArticleSpec(post_id=post_id, **d))
            post_id += 1
        if self.seed_article is not None and self.seed_article.published.date() in day_set:
            s = self.seed_article
            revs: tuple[Revision, ...] = ()
            _, n = split_update(s.title)
            if s.updated is not None and n > 0:
                revs = (Revision(n, s.updated.replace(second=0)),)
            specs.append(
                ArticleSpec(
                    post_id=SEED_POST_ID,
                    section=SEED_SECTION[0],
                    subsection=SEED_SECTION[1],
                    published=s.published,
                    seed=0,
                    dateline=None,
                    revisions=revs,
                    is_seed=True,
                )
            )
            specs.sort(key=lambda a: (a.published, a.post_id))
        return tuple(specs)

    @staticmethod
    def _revisions(
        rng: random.Random, published: datetime, day: date, day_set: set[date], force_later: bool
    ) -> tuple[Revision, ...]:
        roll = rng.random()
        later_days = [day + timedelta(days=k) for k in (1, 2) if day + timedelta(days=k) in day_set]
        marker = "Update" if rng.random() < 0.2 else "UPDATE"
        if force_later and later_days:
            roll = 0.05
        if roll < 0.08 and later_days:
            target = later_days[-1] if force_later else rng.choice(later_days)
            when = datetime.combine(
                target, time(rng.randrange(8, 20), rng.randrange(60), rng.randrange(60)), tzinfo=JST
            )
            return (Revision(1, when, marker),)
        if roll < 0.2:
            first = published + timedelta(minutes=rng.randrange(20, 240), seconds=rng.randrange(60))
            revs = [Revision(1, first, marker)]
            if rng.random() < 0.3:
                revs.append(Revision(2, first + timedelta(minutes=rng.randrange(15, 180)), marker))
            return tuple(revs)
        return ()

    # --- content ----------------------------------------------------------------------------

    def content(self, spec: ArticleSpec, revision: Revision) -> ArticleContent:
        return self._content(spec.post_id, revision)

    def _make_content(self, post_id: int, revision: Revision) -> ArticleContent:
        spec = self.by_id[post_id]
        if spec.is_seed and self.seed_article is not None:
            return self._seed_content(spec, revision)
        rng = random.Random(spec.seed)
        title = gen.headline(rng)
        paras = [gen.paragraph(rng) for _ in range(rng.randint(4, 8))]
        if spec.dateline:
            paras[0] = f"{spec.dateline} \u2014 {paras[0]}"
        blocks = [self._p_block(rng, p, emphasis=(k > 0)) for k, p in enumerate(paras)]
        if spec.has_h2:
            heading = gen.subheading(rng)
            blocks.insert(min(3, len(blocks)), Block("h2", _esc(heading), heading))
        byline = self._byline(rng, spec.byline_kind)
        credit = caption = image = None
        if spec.has_image:
            image = f"wp-content/uploads/{spec.day:%Y/%m}/{spec.post_id}-photo.jpg"
            credit = rng.choice(gen.CREDITS)
            caption = gen.caption(rng)
        cms_author = rng.choice(gen.CMS_USERS)
        for n in range(1, revision.n + 1):
            words = f"Update {n}: {gen.paragraph(random.Random(f'{spec.seed}:rev:{n}'))}"
            blocks.insert(1, Block("p", _esc(words), words))
        return ArticleContent(spec, revision, title, tuple(blocks), byline, image, credit, caption, cms_author)

    def _seed_content(self, spec: ArticleSpec, revision: Revision) -> ArticleContent:
        assert self.seed_article is not None
        clean, _ = split_update(self.seed_article.title)
        paras = list(self.seed_article.paragraphs)
        if revision.n == 0 and len(paras) > 1:
            paras = paras[:-1]
        blocks = tuple(Block("p", _esc(p), p) for p in paras)
        return ArticleContent(spec, revision, clean, blocks, None, None, None, None, gen.CMS_USERS[0])

    @staticmethod
    def _p_block(rng: random.Random, words: str, emphasis: bool) -> Block:
        if emphasis and rng.random() < 0.15:
            tokens = words.split(" ")
            k = rng.randrange(1, max(2, len(tokens) - 1))
            html_ = f"{_esc(' '.join(tokens[:k]))} <em>{_esc(tokens[k])}</em> {_esc(' '.join(tokens[k + 1 :]))}"
            return Block("p", html_.rstrip(), words)
        return Block("p", _esc(words), words)

    @staticmethod
    def _byline(rng: random.Random, kind: str) -> str | None:
        if kind == "one":
            return f"By {gen.person(rng)} / Yomiuri Shimbun Staff Writer"
        if kind == "two":
            return f"By {gen.person(rng)} and {gen.person(rng)} / Yomiuri Shimbun Staff Writers"
        if kind == "three":
            return f"By {gen.person(rng)}, {gen.person(rng)} and {gen.person(rng)} / Yomiuri Shimbun Staff Writers"
        if kind == "correspondent":
            return f"By {gen.person(rng)} / Yomiuri Shimbun Correspondent"
        return None

    # --- queries ----------------------------------------------------------------------------

    def resolve_as_of(self, as_of: datetime | None) -> datetime:
        value = as_of or self.as_of
        if value.tzinfo is None:
            raise ValueError("as_of must be timezone-aware")
        return value

    def visible(self, as_of: datetime | None = None) -> list[tuple[ArticleSpec, Revision]]:
        """Articles published at or before ``as_of`` with their current revision, oldest first."""
        when = self.resolve_as_of(as_of)
        cached = self._visible_cache.get(when)
        if cached is not None:
            return cached
        end = bisect.bisect_right(self._published_keys, when)
        out = []
        for spec in self.articles[:end]:
            rev = spec.revision_at(when)
            if rev is not None:
                out.append((spec, rev))
        if len(self._visible_cache) > 8:
            self._visible_cache.clear()
        self._visible_cache[when] = out
        return out

    def shown_title(self, spec: ArticleSpec, revision: Revision) -> str:
        """The headline as shown (with its UPDATE mark), without generating the body."""
        if spec.is_seed:
            return self.content(spec, revision).shown_title
        title = gen.headline(random.Random(spec.seed))
        return title if revision.n == 0 else f"{title} ({revision.marker} {revision.n})"

    def article_at(self, post_id: int, as_of: datetime | None = None) -> ArticleContent | None:
        spec = self.by_id.get(post_id)
        if spec is None:
            return None
        rev = spec.revision_at(self.resolve_as_of(as_of))
        return None if rev is None else self.content(spec, rev)

    def truth(
        self, base_url: str = "https://japannews.yomiuri.co.jp/", as_of: datetime | None = None, day: date | None = None
    ) -> list[dict[str, Any]]:
        """What the pipeline must produce for every article visible at ``as_of`` (rules in the module doc),
        optionally only those published on ``day`` (JST) to keep large sites cheap."""
        return [
            self.truth_record(self.content(spec, rev), base_url)
            for spec, rev in self.visible(as_of)
            if day is None or spec.day == day
        ]

    def truth_record(self, c: ArticleContent, base_url: str) -> dict[str, Any]:
        base = base_url if base_url.endswith("/") else base_url + "/"
        spec = c.spec
        paragraphs = [t for t in (gen.normalize_text(b.text) for b in c.visible_blocks) if t]
        dateline = None
        if paragraphs:
            dateline, first = split_dateline(paragraphs[0])
            paragraphs[0] = first
            paragraphs = [p for p in paragraphs if gen.normalize_text(p)]
        body = "\n\n".join(paragraphs)
        byline = gen.normalize_text(c.byline)
        return {
            "article_id": f"{SITE_KEY}:{spec.post_id}",
            "site": SITE_KEY,
            "url": base + spec.path.lstrip("/"),
            "title": gen.normalize_text(c.title),
            "revision": c.revision.n,
            "date": spec.day,
            "section": spec.section,
            "subsection": spec.subsection,
            "dateline": dateline,
            "byline": byline,
            "authors": authors_of(byline),
            "body": body,
            "summary": gen.normalize_text(c.lead_text),
            "published_at": minute_utc(spec.published),
            "modified_at": minute_utc(c.revision.modified),
            "language": "en",
            "access": "free" if spec.access_raw == "free" else "premium",
            "access_raw": spec.access_raw,
            "keywords": [re.sub(r"^\(\d+\)\s*", "", c.keywords_raw)],
            "image_url": base + c.image_url_path if c.image_url_path else None,
            "image_caption": gen.normalize_text(c.image_caption),
            "image_credit": gen.normalize_text(c.image_credit),
            "word_count": len(body.split()),
        }


def closing_time(last_day: date) -> datetime:
    """Default clock: 06:00 JST after the last demo day, so every day is closed (2024-09-09 06:00 by default)."""
    return datetime.combine(last_day + timedelta(days=1), time(6, 0), tzinfo=JST)


def minute_utc(value: datetime) -> datetime:
    """The meta tags' precision: the minute, as an aware UTC datetime."""
    return value.replace(second=0, microsecond=0).astimezone(UTC)


def _esc(value: str) -> str:
    import html

    return html.escape(value, quote=False)
