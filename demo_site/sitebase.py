"""What the three extra demo sites (metrotimes, valleyherald, rheinkurier) share: a deterministic model of
stories over days in the site's own timezone, revisions, wire copies, and ground truth.

A site subclass declares its key, timezone, sections, id numbering and text style, and renders pages
(``render``). Everything is derived from ``(key, seed, days, articles_per_day)``; instants are kept in UTC
internally (wall-clock comparison of same-zone datetimes ignores ``fold``, which would break the repeated
01:00-02:00 hour on a DST end day).

Ground truth records have the Japan News fields (``DemoSite.truth_record``) plus ``section_native`` (the
site's own section path) and ``wire_group``. ``section`` / ``subsection`` are the cross-site vocabulary
(the Japan News section slugs) that each site's native sections map onto (table in README.md).

Wire copies: ``WIRE_STORIES`` places one generated story on several sites (or twice on one site); every
copy has its own headline and one or two replaced sentences, the rest of the body is identical; truth
``wire_group`` names the group. ``DECOY_PAIRS`` are pairs of DIFFERENT stories that share headline,
dateline and section (a near-duplicate detector must keep them apart); see ``labelled_pairs``.
"""

from __future__ import annotations

import bisect
import random
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from email.utils import format_datetime
from typing import Any, ClassVar
from xml.sax.saxutils import escape as xml_escape

from demo_site import text as gen
from demo_site.faults import TRACKING_QUERY, FaultPlan
from demo_site.pages import Page

DEFAULT_ARTICLES_PER_DAY = 12
DEFAULT_SEED = 20241101


@dataclass(frozen=True)
class Rev:
    n: int
    modified: datetime  # UTC, minute precision


@dataclass(frozen=True)
class Story:
    """Cheap metadata of one article; text is generated on demand."""

    native_id: int
    section: str  # native section key of the site (e.g. "news/local", "politik")
    published: datetime  # UTC, minute precision
    seed: str
    n_authors: int
    dateline: str | None
    has_image: bool
    has_h2: bool
    premium: bool
    revisions: tuple[Rev, ...] = ()
    wire_group: str | None = None
    wire_seed: str | None = None
    wire_variant: int = 0
    decoy_group: str | None = None

    def revision_at(self, as_of: datetime) -> Rev | None:
        if self.published > as_of:
            return None
        current = Rev(0, self.published)
        for rev in self.revisions:
            if rev.modified <= as_of:
                current = rev
        return current


@dataclass(frozen=True)
class Block:
    kind: str  # "p" or a heading tag
    text: str


@dataclass(frozen=True)
class Content:
    """One revision of one article as its page shows it."""

    story: Story
    revision: Rev
    title: str
    summary: str
    blocks: tuple[Block, ...]  # every body block; the first carries the dateline prefix if any
    visible_count: int  # how many blocks the page shows (premium stories: a few)
    authors: tuple[str, ...]
    byline: str | None
    keywords: tuple[str, ...]
    image_path: str | None
    image_caption: str | None
    image_credit: str | None

    @property
    def visible_blocks(self) -> tuple[Block, ...]:
        return self.blocks[: self.visible_count]


@dataclass(frozen=True)
class Placement:
    site: str
    day_index: int  # index into the site's demo days
    hour: int
    minute: int
    section: str  # native section


@dataclass(frozen=True)
class WireStory:
    group: str
    language: str
    placements: tuple[Placement, ...]


#: Stories carried by several sites (and twice by one site): same body, small edits, new headline.
WIRE_STORIES: tuple[WireStory, ...] = (
    WireStory(
        "wire-001",
        "en",
        (Placement("metrotimes", 1, 10, 15, "news/world"), Placement("valleyherald", 1, 11, 5, "nation")),
    ),
    WireStory(
        "wire-002",
        "en",
        (
            Placement("metrotimes", 2, 14, 40, "business"),
            Placement("valleyherald", 2, 9, 20, "business"),
            Placement("valleyherald", 3, 8, 45, "local"),
        ),
    ),
    WireStory(
        "wire-003",
        "en",
        (Placement("metrotimes", 4, 7, 5, "news/politics"), Placement("valleyherald", 4, 16, 30, "politics")),
    ),
    WireStory(
        "wire-004",
        "de",
        (Placement("rheinkurier", 0, 9, 10, "politik"), Placement("rheinkurier", 3, 12, 0, "wirtschaft")),
    ),
    WireStory(
        "wire-005",
        "de",
        (Placement("rheinkurier", 2, 1, 10, "sport"), Placement("rheinkurier", 2, 15, 45, "kultur")),
    ),
)

#: Different stories that look alike (same headline, dateline and section): precision cases.
DECOY_PAIRS: tuple[WireStory, ...] = (
    WireStory(
        "decoy-001",
        "en",
        (Placement("metrotimes", 0, 13, 0, "news/local"), Placement("metrotimes", 3, 13, 30, "news/local")),
    ),
    WireStory(
        "decoy-002",
        "en",
        (Placement("metrotimes", 2, 12, 10, "business"), Placement("valleyherald", 2, 12, 40, "business")),
    ),
    WireStory(
        "decoy-003",
        "de",
        (Placement("rheinkurier", 1, 10, 0, "kultur"), Placement("rheinkurier", 4, 10, 30, "kultur")),
    ),
)


def slugify(value: str) -> str:
    """ASCII slug: German umlauts transliterated (ä -> ae, ß -> ss), other marks dropped, at most 8 words."""
    value = value.replace("ß", "ss")
    for a, b in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("Ä", "Ae"), ("Ö", "Oe"), ("Ü", "Ue")):
        value = value.replace(a, b)
    value = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode("ascii")
    words = re.findall(r"[a-z0-9]+", value.lower())
    return "-".join(words[:8])


def minute(value: datetime) -> datetime:
    return value.replace(second=0, microsecond=0)


def local_instant(day: date, hour: int, minute_: int, tz: tzinfo, fold: int = 0) -> datetime:
    """A local wall time as a UTC instant; a wall time in a DST gap moves forward by the gap."""
    wall = datetime.combine(day, time(hour, minute_), tzinfo=tz).replace(fold=fold)
    return wall.astimezone(UTC)


def http_date(value: datetime) -> str:
    return format_datetime(value.astimezone(UTC).replace(microsecond=0), usegmt=True)


def split_authors(byline: str | None, prefix: str, joiners: tuple[str, ...]) -> list[str]:
    """``"By A, B and C"`` -> [A, B, C]: prefix stripped, split on ", " and the joiner words."""
    if not byline:
        return []
    names = byline[len(prefix) :] if byline.startswith(prefix) else byline
    parts = [names]
    for sep in (", ", *joiners):
        parts = [q for p in parts for q in p.split(sep)]
    return [p.strip() for p in parts if p.strip()]


def join_names(names: tuple[str, ...] | list[str], conj: str) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + f" {conj} " + names[-1]


class BaseSite:
    """A deterministic demo news site; subclasses set the class attributes and implement rendering."""

    key: ClassVar[str]
    name: ClassVar[str]
    language: ClassVar[str]
    timezone: ClassVar[tzinfo]
    charset: ClassVar[str] = "utf-8"
    default_days: ClassVar[tuple[date, ...]]
    #: native section key -> (label, cross-site section, cross-site subsection or None)
    sections: ClassVar[dict[str, tuple[str, str, str | None]]]
    first_id: ClassVar[int]
    id_gap: ClassVar[tuple[int, int]] = (1, 1)  # ids grow by a random step in this range
    premium_share: ClassVar[float] = 0.0
    premium_blocks: ClassVar[int] = 2
    dateline_share: ClassVar[float] = 0.3
    #: regex of article paths, the default fault scope on this site
    article_scope: ClassVar[str]
    #: where ``hostile=`` serves its hostile XML unless ``hostile_target`` is set
    hostile_target: ClassVar[str]
    #: pattern of the dateline prefix of the first paragraph (group 1 = the dateline)
    dateline_re: ClassVar[re.Pattern[str]]
    byline_prefix: ClassVar[str] = "By "
    byline_joiners: ClassVar[tuple[str, ...]] = (" and ",)
    update_label: ClassVar[str] = "Update"
    max_authors: ClassVar[int] = 3

    def __init__(
        self,
        days: list[date] | tuple[date, ...] | None = None,
        articles_per_day: int = DEFAULT_ARTICLES_PER_DAY,
        seed: int = DEFAULT_SEED,
        as_of: datetime | None = None,
    ) -> None:
        self.days: tuple[date, ...] = tuple(sorted(days or self.default_days))
        self.articles_per_day = int(articles_per_day)
        self.seed = int(seed)
        self.as_of = as_of or self.closing_time()
        if self.as_of.tzinfo is None:
            raise ValueError("as_of must be timezone-aware")
        self.articles: tuple[Story, ...] = self._build()
        self.by_id: dict[int, Story] = {s.native_id: s for s in self.articles}
        self._published_keys = [s.published for s in self.articles]
        self._content_cache: dict[tuple[int, int], Content] = {}
        self._visible_cache: dict[datetime, list[tuple[Story, Rev]]] = {}

    # --- to be provided by a site -------------------------------------------------------------

    def fixed_slots(self, day: date) -> list[tuple[int, int, int]]:
        """Local (hour, minute, fold) slots every day must have (timezone edge cases)."""
        return [(23, 30, 0)]

    def path(self, story: Story) -> str:
        raise NotImplementedError

    def headline(self, rng: random.Random) -> str:
        return gen.headline(rng)

    def sentence(self, rng: random.Random) -> str:
        return gen.sentence(rng)

    def person(self, rng: random.Random) -> str:
        return gen.us_person(rng)

    def subheading(self, rng: random.Random) -> str:
        return gen.subheading(rng)

    def caption_and_credit(self, rng: random.Random) -> tuple[str, str]:
        return gen.us_caption(rng), rng.choice(gen.US_CREDITS)

    def datelines(self) -> tuple[str, ...]:
        return gen.US_DATELINES

    def with_dateline(self, dateline: str, text: str) -> str:
        return f"{dateline} \u2014 {text}"

    def byline_of(self, authors: tuple[str, ...]) -> str | None:
        return f"{self.byline_prefix}{join_names(authors, 'and')}" if authors else None

    def image_path(self, story: Story) -> str:
        return f"images/{story.native_id}.jpg"

    def keywords_of(self, rng: random.Random, story: Story) -> tuple[str, ...]:
        return ()

    def access_raw(self, story: Story) -> str | None:
        return "premium" if story.premium else "free"

    def render(self, path: str, query: dict[str, list[str]], base_url: str, as_of: datetime, plan: FaultPlan) -> Page:
        raise NotImplementedError

    # --- the model ------------------------------------------------------------------------------

    def closing_time(self) -> datetime:
        """Default clock: 06:00 local after the last demo day (every day closed)."""
        return local_instant(self.days[-1] + timedelta(days=1), 6, 0, self.timezone)

    def local(self, value: datetime) -> datetime:
        return value.astimezone(self.timezone)

    def day_of(self, story: Story) -> date:
        return self.local(story.published).date()

    def _rng(self, *parts: object) -> random.Random:
        return random.Random(":".join([self.key, str(self.seed), *map(str, parts)]))

    def _build(self) -> tuple[Story, ...]:
        drafts: list[dict[str, Any]] = []
        natives = list(self.sections)
        day_set = set(self.days)
        for day in self.days:
            rng = self._rng("day", day.isoformat())
            slots = list(self.fixed_slots(day))
            while len(slots) < self.articles_per_day:
                slots.append((rng.randrange(6, 23), rng.randrange(60), 0))
            for k, (hour, minute_, fold) in enumerate(slots[: max(self.articles_per_day, 0)]):
                published = local_instant(day, hour, minute_, self.timezone, fold)
                drafts.append(self._draft(rng, f"{day.isoformat()}:{k}", published, rng.choice(natives), day, day_set))
        for groups, is_wire in ((WIRE_STORIES, True), (DECOY_PAIRS, False)):
            for story in groups:
                placements = [p for p in story.placements if p.site == self.key]
                for variant, p in enumerate(story.placements):
                    if p not in placements or p.day_index >= len(self.days):
                        continue
                    day = self.days[p.day_index]
                    rng = self._rng(story.group, variant)
                    published = local_instant(day, p.hour, p.minute, self.timezone)
                    draft = self._draft(rng, f"{story.group}:{variant}", published, p.section, day, set())
                    shared = random.Random(f"{story.group}:dateline")
                    draft.update(
                        dateline=shared.choice(self.datelines()) if shared.random() < 0.7 else None,
                        wire_group=story.group if is_wire else None,
                        decoy_group=None if is_wire else story.group,
                        wire_seed=story.group,
                        wire_variant=variant,
                        premium=False,
                        has_h2=False,
                        revisions=(),
                    )
                    drafts.append(draft)
        drafts.sort(key=lambda d: (d["published"], d["seed"]))
        rng = self._rng("ids")
        native_id = self.first_id
        out = []
        for d in drafts:
            out.append(Story(native_id=native_id, **d))
            native_id += rng.randint(*self.id_gap)
        return tuple(out)

    def _draft(
        self, rng: random.Random, seed: str, published: datetime, section: str, day: date, day_set: set[date]
    ) -> dict[str, Any]:
        return {
            "section": section,
            "published": published,
            "seed": f"{self.key}:{self.seed}:{seed}",
            "n_authors": rng.randint(1, self.max_authors),
            "dateline": rng.choice(self.datelines()) if rng.random() < self.dateline_share else None,
            "has_image": rng.random() < 0.6,
            "has_h2": rng.random() < 0.25,
            "premium": rng.random() < self.premium_share,
            "revisions": self._revisions(rng, published, day, day_set),
        }

    def _revisions(self, rng: random.Random, published: datetime, day: date, day_set: set[date]) -> tuple[Rev, ...]:
        roll = rng.random()
        later = [day + timedelta(days=1)] if day + timedelta(days=1) in day_set else []
        if roll < 0.08 and later:
            return (Rev(1, local_instant(later[0], rng.randrange(8, 20), rng.randrange(60), self.timezone)),)
        if roll < 0.25:
            first = published + timedelta(minutes=rng.randrange(20, 240))
            revs = [Rev(1, first)]
            if rng.random() < 0.35:
                revs.append(Rev(2, first + timedelta(minutes=rng.randrange(15, 180))))
            return tuple(revs)
        return ()

    # --- content ------------------------------------------------------------------------------

    def content(self, story: Story, revision: Rev) -> Content:
        key = (story.native_id, revision.n)
        cached = self._content_cache.get(key)
        if cached is None:
            if len(self._content_cache) > 4096:
                self._content_cache.clear()
            cached = self._content_cache[key] = self._make_content(story, revision)
        return cached

    def _paragraph_sentences(self, rng: random.Random) -> list[list[str]]:
        return [[self.sentence(rng) for _ in range(rng.randint(2, 4))] for _ in range(rng.randint(4, 7))]

    def _make_content(self, story: Story, revision: Rev) -> Content:
        rng = random.Random(story.seed)
        title = self.headline(rng)
        if story.wire_seed is not None:
            shared = random.Random(story.wire_seed)
            shared_title = self.headline(shared)
            paragraphs = self._paragraph_sentences(shared)
            if story.decoy_group is not None:
                # a different story under the same headline: only the headline is shared
                title = shared_title
                paragraphs = self._paragraph_sentences(rng)
            else:
                # a wire copy: same body with one or two sentences rewritten, its own headline
                edit = random.Random(f"{story.wire_seed}:edit:{story.wire_variant}")
                for _ in range(1 + story.wire_variant % 2 if story.wire_variant else 0):
                    j = edit.randrange(1, len(paragraphs))
                    paragraphs[j][edit.randrange(len(paragraphs[j]))] = self.sentence(edit)
        else:
            paragraphs = self._paragraph_sentences(rng)
        paras = [" ".join(p) for p in paragraphs]
        if story.dateline:
            paras[0] = self.with_dateline(story.dateline, paras[0])
        blocks = [Block("p", p) for p in paras]
        if story.has_h2:
            blocks.insert(min(3, len(blocks)), Block("h2", self.subheading(rng)))
        authors = tuple(self.person(rng) for _ in range(story.n_authors))
        authors = tuple(dict.fromkeys(authors))  # no one twice
        caption = credit = image = None
        if story.has_image:
            image = self.image_path(story)
            caption, credit = self.caption_and_credit(rng)
        summary = self.sentence(rng)
        keywords = self.keywords_of(rng, story)
        for n in range(1, revision.n + 1):
            rev_rng = random.Random(f"{story.seed}:rev:{n}")
            extra = " ".join(self.sentence(rev_rng) for _ in range(2))
            blocks.insert(1, Block("p", f"{self.update_label} {n}: {extra}"))
        visible = self.premium_blocks if story.premium else len(blocks)
        return Content(
            story=story,
            revision=revision,
            title=title,
            summary=summary,
            blocks=tuple(blocks),
            visible_count=visible,
            authors=authors,
            byline=self.byline_of(authors),
            keywords=keywords,
            image_path=image,
            image_caption=caption,
            image_credit=credit,
        )

    # --- queries ------------------------------------------------------------------------------

    def resolve_as_of(self, as_of: datetime | None) -> datetime:
        value = as_of or self.as_of
        if value.tzinfo is None:
            raise ValueError("as_of must be timezone-aware")
        return value

    def visible(self, as_of: datetime | None = None) -> list[tuple[Story, Rev]]:
        """Stories published at or before ``as_of`` with their current revision, oldest first."""
        when = self.resolve_as_of(as_of)
        cached = self._visible_cache.get(when)
        if cached is not None:
            return cached
        end = bisect.bisect_right(self._published_keys, when)
        out = [(s, r) for s in self.articles[:end] if (r := s.revision_at(when)) is not None]
        if len(self._visible_cache) > 8:
            self._visible_cache.clear()
        self._visible_cache[when] = out
        return out

    def newest(self, as_of: datetime, section: str | None = None, limit: int | None = None) -> list[tuple[Story, Rev]]:
        out = []
        for story, rev in reversed(self.visible(as_of)):
            if section is not None and story.section != section:
                continue
            out.append((story, rev))
            if limit is not None and len(out) >= limit:
                break
        return out

    def article_at(self, native_id: int, as_of: datetime | None = None) -> Content | None:
        story = self.by_id.get(native_id)
        if story is None:
            return None
        rev = story.revision_at(self.resolve_as_of(as_of))
        return None if rev is None else self.content(story, rev)

    def title_of(self, story: Story) -> str:
        """The headline without generating the body (the first draw of the story's or the group's seed)."""
        if story.decoy_group is not None and story.wire_seed is not None:
            return self.headline(random.Random(story.wire_seed))
        return self.headline(random.Random(story.seed))

    def truth(
        self, base_url: str = "http://127.0.0.1/", as_of: datetime | None = None, day: date | None = None
    ) -> list[dict[str, Any]]:
        """What the pipeline must produce for every article visible at ``as_of`` (optionally one local day)."""
        return [
            self.truth_record(self.content(s, r), base_url)
            for s, r in self.visible(as_of)
            if day is None or self.day_of(s) == day
        ]

    def truth_record(self, c: Content, base_url: str) -> dict[str, Any]:
        base = base_url if base_url.endswith("/") else base_url + "/"
        story = c.story
        paragraphs = [t for t in (gen.normalize_text(b.text) for b in c.visible_blocks) if t]
        dateline = None
        if paragraphs:
            m = self.dateline_re.match(paragraphs[0])
            if m:
                dateline = m.group(1)
                paragraphs[0] = paragraphs[0][m.end() :]
        body = "\n\n".join(paragraphs)
        byline = gen.normalize_text(c.byline)
        label, section, subsection = self.sections[story.section]
        return {
            "article_id": f"{self.key}:{story.native_id}",
            "site": self.key,
            "url": base + self.path(story).lstrip("/"),
            "title": gen.normalize_text(c.title),
            "revision": c.revision.n,
            "date": self.day_of(story),
            "section": section,
            "subsection": subsection,
            "dateline": dateline,
            "byline": byline,
            "authors": split_authors(byline, self.byline_prefix, self.byline_joiners),
            "body": body,
            "summary": gen.normalize_text(c.summary),
            "published_at": minute(story.published).astimezone(UTC),
            "modified_at": minute(c.revision.modified).astimezone(UTC),
            "language": self.language,
            "access": "premium" if story.premium else "free",
            "access_raw": self.access_raw(story),
            "keywords": list(c.keywords),
            "image_url": base + c.image_path if c.image_path else None,
            "image_caption": gen.normalize_text(c.image_caption),
            "image_credit": gen.normalize_text(c.image_credit),
            "word_count": len(body.split()),
            "section_native": story.section,
            "wire_group": story.wire_group,
        }


# --- rendering helpers shared by the sites ------------------------------------------------------


def url_of(base: str, path: str) -> str:
    return base + path.lstrip("/")


def rss(
    title: str,
    link: str,
    language: str,
    items: list[tuple[str, str, datetime, str]],
    plan: FaultPlan,
    encoding: str = "UTF-8",
) -> str:
    """RSS 2.0 text; items are (title, absolute link, published, description)."""
    entries = []
    for item_title, link_, when, desc in items:
        links = [link_]
        if plan.tracked(link_):
            links.append(f"{link_}?{TRACKING_QUERY}")
        for href in links:
            entries.append(
                f"<item><title>{xml_escape(item_title)}</title><link>{xml_escape(href)}</link>"
                f'<guid isPermaLink="true">{xml_escape(href)}</guid><pubDate>{http_date(when).replace("GMT", "+0000")}'
                f"</pubDate><description>{xml_escape(desc)}</description></item>"
            )
    return (
        f'<?xml version="1.0" encoding="{encoding}"?>\n<rss version="2.0"><channel>'
        f"<title>{xml_escape(title)}</title><link>{xml_escape(link)}</link><language>{language}</language>"
        + "\n".join(entries)
        + "</channel></rss>\n"
    )


def urlset(
    entries: list[tuple[str, datetime]], plan: FaultPlan, extra_ns: str = "", extra: list[str] | None = None
) -> str:
    """A plain sitemap urlset of (absolute loc, lastmod); ``extra`` adds per-entry XML after lastmod."""
    rows = []
    for k, (loc, lastmod) in enumerate(entries):
        locs = [loc] + ([f"{loc}?{TRACKING_QUERY}"] if plan.tracked(loc) else [])
        for href in locs:
            more = extra[k] if extra else ""
            rows.append(
                f"<url><loc>{xml_escape(href)}</loc><lastmod>{lastmod.astimezone(UTC).isoformat()}</lastmod>{more}</url>"
            )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"{extra_ns}>\n' + "\n".join(rows) + "\n</urlset>\n"
    )


def labelled_pairs(sites: list[BaseSite], as_of: datetime | None = None) -> list[tuple[str, str, bool]]:
    """(article_id, article_id, same_story) for every pair of wire copies (True) and decoys (False),
    among the stories published by ``as_of`` (None: all of them)."""
    groups: dict[tuple[str, bool], list[str]] = {}
    for site in sites:
        for story in site.articles:
            if as_of is not None and story.published > as_of:
                continue
            if story.wire_group:
                groups.setdefault((story.wire_group, True), []).append(f"{site.key}:{story.native_id}")
            if story.decoy_group:
                groups.setdefault((story.decoy_group, False), []).append(f"{site.key}:{story.native_id}")
    out = []
    for (_, same), ids in sorted(groups.items()):
        for i in range(len(ids)):
            for j in range(i + 1, len(ids)):
                out.append((ids[i], ids[j], same))
    return out
