"""Valley Herald: a hand-built CMS with NO structured data (America/New_York, times shown as "ET").

Discovery only through ``/rss.xml`` and paginated section listings; no sitemap. Markup is described in
demo_site/README.md ("valleyherald").
"""

from __future__ import annotations

import random
import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

from demo_site import text as gen
from demo_site.faults import FaultPlan
from demo_site.pages import PLACEHOLDER_JPEG, Page, attr, esc
from demo_site.sitebase import BaseSite, Content, Story, http_date, rss, slugify, url_of

ET = ZoneInfo("America/New_York")
HTML_TYPE = "text/html; charset=UTF-8"
PAGE_SIZE = 10
FEED_SIZE = 15
PREMIUM_TEASER = "Subscribe to keep reading\u2026"

_ARTICLE_RE = re.compile(r"^/news/(?P<section>[a-z-]+)/(?P<slug>[a-z0-9-]+)-(?P<id>\d+)\.html$")
_LISTING_RE = re.compile(r"^/news/(?P<section>[a-z-]+)/$")


def prose_time(value: datetime) -> str:
    """``March 3, 2024 at 5:40 p.m. ET`` (AP-like: a.m./p.m., no leading zero, zone always "ET")."""
    hour = value.hour % 12 or 12
    return f"{value:%B} {value.day}, {value.year} at {hour}:{value:%M} {'a.m.' if value.hour < 12 else 'p.m.'} ET"


class ValleyHerald(BaseSite):
    key = "valleyherald"
    name = "Valley Herald"
    language = "en"
    timezone = ET
    default_days = tuple(date(2024, 3, d) for d in range(1, 6))
    sections = {
        "local": ("Local", "society", None),
        "politics": ("Politics", "politics", None),
        "business": ("Business", "business", None),
        "nation": ("Nation & World", "world", None),
        "sports": ("Sports", "sports", None),
        "opinion": ("Opinion", "editorial", None),
    }
    first_id = 1204501
    id_gap = (3, 40)
    premium_share = 0.25
    premium_blocks = 3
    max_authors = 2
    article_scope = r"^/news/[a-z-]+/[a-z0-9-]+-\d+\.html$"
    hostile_target = "/rss.xml"
    dateline_re = re.compile(r"^([A-Z][A-Za-z .,'\-]*?) \u2014 ")

    def fixed_slots(self, day: date) -> list[tuple[int, int, int]]:
        return [(23, 30, 0), (0, 5, 0), (12, 0, 0)]

    def path(self, story: Story) -> str:
        return f"/news/{story.section}/{slugify(self.title_of(story))}-{story.native_id}.html"

    def image_path(self, story: Story) -> str:
        return f"media/photos/{story.native_id}/main.jpg"

    def access_raw(self, story: Story) -> str | None:
        return "paywall" if story.premium else None

    def render(self, path: str, query: dict[str, list[str]], base_url: str, as_of: datetime, plan: FaultPlan) -> Page:
        return _Renderer(self, base_url, as_of, plan).route(path, query)


class _Renderer:
    def __init__(self, site: ValleyHerald, base_url: str, as_of: datetime, plan: FaultPlan) -> None:
        self.site = site
        self.base = base_url if base_url.endswith("/") else base_url + "/"
        self.as_of = as_of
        self.plan = plan

    def url(self, path: str) -> str:
        return url_of(self.base, path)

    def html(self, text: str, status: int = 200) -> Page:
        return Page(status, HTML_TYPE, text.encode("utf-8"))

    def not_found(self) -> Page:
        return self.html(self.shell("Not found", "<h1>Page not found</h1><p>Try the section pages.</p>"), 404)

    def route(self, path: str, query: dict[str, list[str]]) -> Page:
        site = self.site
        if path == "/robots.txt":
            return Page(
                200, "text/plain; charset=UTF-8", b"User-agent: *\nDisallow: /account/\nDisallow: /_newsline/\n"
            )
        if path == "/rss.xml":
            if self.plan.removed("feeds"):
                return self.not_found()
            rows = []
            for s, r in site.newest(self.as_of, limit=FEED_SIZE):
                c = site.content(s, r)
                rows.append((c.title, self.url(site.path(s)), s.published, c.summary))
            body = rss("Valley Herald", self.base, "en-us", rows, self.plan)
            return Page(200, "application/rss+xml; charset=UTF-8", body.encode("utf-8"))
        if path == "/":
            return self.html(self.home())
        if path.startswith("/media/") and path.endswith(".jpg"):
            return Page(200, "image/jpeg", PLACEHOLDER_JPEG)
        m = _ARTICLE_RE.match(path)
        if m:
            story = site.by_id.get(int(m.group("id")))
            rev = story.revision_at(self.as_of) if story is not None else None
            if story is None or rev is None:
                return self.not_found()
            if site.path(story) != path:
                return Page(301, HTML_TYPE, b"", {"Location": self.url(site.path(story))})
            page = self.html(self.article(site.content(story, rev)))
            page.headers["Last-Modified"] = http_date(rev.modified)
            return page
        m = _LISTING_RE.match(path)
        if m and m.group("section") in site.sections:
            if self.plan.removed("listings"):
                return self.not_found()
            raw = (query.get("page") or ["1"])[0]
            if not raw.isdigit() or int(raw) < 1:
                return self.not_found()
            return self.listing(m.group("section"), int(raw))
        if path in ("/subscribe/", "/account/login/"):
            return self.html(self.shell("Subscribe", "<h1>Subscribe</h1><p>Plans start at one dollar.</p>"))
        return self.not_found()

    # --- pages --------------------------------------------------------------------------------

    def masthead(self) -> str:
        links = " | ".join(
            f'<a href="{self.url(f"news/{s}/")}">{esc(label)}</a>' for s, (label, _, _) in self.site.sections.items()
        )
        return (
            f'<div id="masthead"><a class="logo" href="{self.url("/")}">Valley Herald</a>'
            f'<div class="nav">{links}</div></div>'
        )

    def sidebar(self) -> str:
        items = self.site.newest(self.as_of, limit=5)
        lis = "".join(
            f'<li><a href="{attr(self.url(self.site.path(s)))}">{esc(self.site.content(s, r).title)}</a></li>'
            for s, r in items
        )
        return f'<div id="sidebar"><h3>Most read</h3><ol>{lis}</ol></div>'

    def shell(self, title: str, inner: str) -> str:
        return (
            '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="UTF-8">\n'
            f"<title>{esc(title)} | Valley Herald</title>\n"
            '<link rel="stylesheet" href="/static/vh.css">\n</head>\n'
            f'<body class="vh">\n{self.masthead()}\n<div id="page">{inner}</div>\n{self.sidebar()}\n'
            '<div id="footer">Copyright Valley Herald Media. All rights reserved.</div>\n</body>\n</html>\n'
        )

    def home(self) -> str:
        site = self.site
        items = "".join(
            f'<li><a href="{attr(self.url(site.path(s)))}">{esc(site.content(s, r).title)}</a></li>'
            for s, r in site.newest(self.as_of, limit=8)
        )
        return self.shell("Home", f'<h1>Top stories</h1><ul class="top-stories">{items}</ul>')

    def listing(self, section: str, page_no: int) -> Page:
        site = self.site
        items = site.newest(self.as_of, section)
        chunk = items[(page_no - 1) * PAGE_SIZE : page_no * PAGE_SIZE]
        if page_no > 1 and not chunk:
            return self.not_found()
        lis = []
        for s, r in chunk:
            c = site.content(s, r)
            lis.append(
                f'<li class="story-item"><a class="story-link" href="{attr(self.url(site.path(s)))}">'
                f'{esc(c.title)}</a><p class="story-item-dek">{esc(c.summary)}</p></li>'
            )
        pager = ""
        if page_no > 1:
            pager += (
                f'<a class="prev" rel="prev" href="{self.url(f"news/{section}/?page={page_no - 1}")}">Previous</a> '
            )
        if len(items) > page_no * PAGE_SIZE:
            pager += f'<a class="next" rel="next" href="{self.url(f"news/{section}/?page={page_no + 1}")}">Next</a>'
        label = site.sections[section][0]
        inner = f'<h1 class="section-title">{esc(label)}</h1><ul class="story-list">{"".join(lis)}</ul>'
        inner += f'<div class="pager">{pager}</div>'
        return self.html(self.shell(label, inner))

    def article(self, c: Content) -> str:
        site, story, rev = self.site, c.story, c.revision
        label = site.sections[story.section][0]
        stamp = f'<span class="story-published">{prose_time(site.local(story.published))}</span>'
        if rev.n:
            stamp += (
                f' <span class="story-updated">Updated {prose_time(site.local(rev.modified))} (update {rev.n})</span>'
            )
        byline = ""
        if c.authors:
            links = [f'<a class="author" href="{self.url(f"staff/{slugify(a)}/")}">{esc(a)}</a>' for a in c.authors]
            byline = f'<div class="story-byline">By {" and ".join(links)}</div>'
        photo = ""
        if c.image_path:
            photo = (
                f'<figure class="story-photo"><img src="{attr(self.url(c.image_path))}" alt="">'
                f'<figcaption><span class="caption-text">{esc(c.image_caption or "")}</span> '
                f'<span class="caption-credit">{esc(c.image_credit or "")}</span></figcaption></figure>'
            )
        rng = random.Random(f"{story.seed}:layout")
        blocks = [f"<{b.kind}>{esc(b.text)}</{b.kind}>" for b in c.visible_blocks]
        others = [(s, r) for s, r in site.newest(self.as_of, story.section, 4) if s.native_id != story.native_id][:3]
        if others:
            related = "".join(
                f'<li><a href="{attr(self.url(site.path(s)))}">{esc(site.content(s, r).title)}</a></li>'
                for s, r in others
            )
            blocks.insert(min(2, len(blocks)), f'<div class="related-links"><h3>Related</h3><ul>{related}</ul></div>')
        if story.premium:
            blocks.append(
                f'<div class="paywall-teaser"><p>{PREMIUM_TEASER}</p><p>Subscribers get unlimited access to '
                f'local news.</p><a href="{self.url("subscribe/")}">Subscribe</a></div>'
            )
        comments = []
        for _ in range(rng.randint(0, 3)):
            comments.append(
                f'<div class="comment"><p class="comment-author">{esc(gen.us_person(rng))}</p>'
                f'<p class="comment-text">{esc(gen.sentence(rng))}</p></div>'
            )
        inner = (
            f'<div id="story" class="story-container">\n<div class="story-kicker"><a href="'
            f'{self.url(f"news/{story.section}/")}">{esc(label)}</a></div>\n'
            f'<h1 class="story-headline">{esc(c.title)}</h1>\n<p class="story-dek">{esc(c.summary)}</p>\n'
            f'{byline}\n<div class="story-timestamps">{stamp}</div>\n{photo}\n'
            '<div class="story-text">\n' + "\n".join(blocks) + "\n</div>\n"
            f'<div id="comments" class="story-comments"><h3>Comments ({len(comments)})</h3>{"".join(comments)}</div>\n'
            "</div>"
        )
        return self.shell(c.title, inner)
