"""Metro Times: a WordPress + Yoast SEO style news site (America/New_York, DST ends on 2024-11-03).

Markup, URL patterns and discovery documents are described in demo_site/README.md ("metrotimes").
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from demo_site.faults import FaultPlan
from demo_site.pages import PLACEHOLDER_JPEG, Page, attr, esc
from demo_site.sitebase import BaseSite, Content, Rev, Story, http_date, rss, slugify, url_of, urlset

NY = ZoneInfo("America/New_York")
HTML_TYPE = "text/html; charset=UTF-8"
XML_TYPE = "application/xml; charset=UTF-8"
PAGE_SIZE = 10
FEED_SIZE = 10
POSTS_PER_SITEMAP = 40
NEWS_WINDOW = timedelta(hours=48)
TAGS = ("transit", "city hall", "housing", "schools", "budget", "elections", "weather", "courts", "parks")

_ARTICLE_RE = re.compile(r"^/(?P<y>\d{4})/(?P<m>\d{2})/(?P<d>\d{2})/(?P<slug>[a-z0-9-]+)/?$")
_PAGED_RE = re.compile(r"^(?P<base>/(?:category/[a-z0-9/-]+/)?)page/(?P<n>\d+)/$")
_POST_SITEMAP_RE = re.compile(r"^/post-sitemap(?P<n>\d*)\.xml$")


def clock(value: datetime) -> str:
    """``November 3, 2024 at 11:30 pm EST`` (WordPress date and time formats, zone abbreviation)."""
    hour = value.hour % 12 or 12
    return f"{value:%B} {value.day}, {value.year} at {hour}:{value:%M} {'am' if value.hour < 12 else 'pm'} {value:%Z}"


def yoast_time(value: datetime) -> str:
    """Yoast prints schema and article:* times in UTC with ``+00:00``."""
    return value.astimezone(UTC).replace(microsecond=0).isoformat()


class MetroTimes(BaseSite):
    key = "metrotimes"
    name = "Metro Times"
    language = "en"
    timezone = NY
    default_days = tuple(date(2024, 11, d) for d in range(1, 6))
    sections = {
        "news/local": ("Local", "society", None),
        "news/politics": ("Politics", "politics", None),
        "news/world": ("World", "world", None),
        "business": ("Business", "business", None),
        "sports": ("Sports", "sports", None),
        "arts-culture": ("Arts & Culture", "culture", None),
        "opinion": ("Opinion", "editorial", None),
    }
    first_id = 48210
    id_gap = (1, 6)
    article_scope = r"^/\d{4}/\d{2}/\d{2}/[a-z0-9-]+/$"
    hostile_target = "/news-sitemap.xml"
    dateline_re = re.compile(r"^([A-Z][A-Za-z .,'\-]*?) \u2014 ")
    _slugs: dict[int, str] | None = None
    _by_slug: dict[tuple[date, str], Story]

    def fixed_slots(self, day: date) -> list[tuple[int, int, int]]:
        # 23:30 and 20:45 local are the next UTC day; the DST end day repeats 01:30 (EDT, then EST)
        slots = [(23, 30, 0), (20, 45, 0), (0, 20, 0)]
        if day == date(2024, 11, 3):
            slots += [(1, 30, 0), (1, 30, 1)]
        return slots

    def slug(self, story: Story) -> str:
        return self.slugs()[story.native_id]

    def slugs(self) -> dict[int, str]:
        """Post slugs as WordPress makes them: the headline slugified, ``-2``, ``-3`` on a clash that day."""
        if self._slugs is None:
            slugs: dict[int, str] = {}
            taken: set[tuple[date, str]] = set()
            for story in self.articles:
                base = slug = slugify(self.title_of(story))
                k = 2
                while (self.day_of(story), slug) in taken:
                    slug, k = f"{base}-{k}", k + 1
                taken.add((self.day_of(story), slug))
                slugs[story.native_id] = slug
            self._slugs = slugs
            self._by_slug = {(self.day_of(s), slugs[s.native_id]): s for s in self.articles}
        return self._slugs

    def by_slug(self, day: date, slug: str) -> Story | None:
        self.slugs()
        return self._by_slug.get((day, slug))

    def path(self, story: Story) -> str:
        return f"/{self.day_of(story):%Y/%m/%d}/{self.slug(story)}/"

    def image_path(self, story: Story) -> str:
        return f"wp-content/uploads/{self.day_of(story):%Y/%m}/{story.native_id}-photo.jpg"

    def keywords_of(self, rng: random.Random, story: Story) -> tuple[str, ...]:
        return tuple(rng.sample(TAGS, rng.randint(1, 3)))

    def access_raw(self, story: Story) -> str | None:
        return "true"  # isAccessibleForFree

    def render(self, path: str, query: dict[str, list[str]], base_url: str, as_of: datetime, plan: FaultPlan) -> Page:
        return _Renderer(self, base_url, as_of, plan).route(path, query)


def _person_id(base: str, name: str) -> str:
    return f"{base}#/schema/person/{hashlib.sha256(name.encode()).hexdigest()[:32]}"


class _Renderer:
    def __init__(self, site: MetroTimes, base_url: str, as_of: datetime, plan: FaultPlan) -> None:
        self.site = site
        self.base = base_url if base_url.endswith("/") else base_url + "/"
        self.as_of = as_of
        self.plan = plan

    def url(self, path: str) -> str:
        return url_of(self.base, path)

    def html(self, text: str, status: int = 200, headers: dict[str, str] | None = None) -> Page:
        return Page(status, HTML_TYPE, text.encode("utf-8"), headers or {})

    def redirect(self, path: str) -> Page:
        return Page(301, HTML_TYPE, b"", {"Location": self.url(path)})

    def not_found(self) -> Page:
        return self.html(self.shell("Page not found", "error404", "<p>Nothing was found at this location.</p>"), 404)

    # --- routing ------------------------------------------------------------------------------

    def route(self, path: str, query: dict[str, list[str]]) -> Page:
        site, plan = self.site, self.plan
        if path == "/" and "p" in query:
            value = query["p"][0]
            story = site.by_id.get(int(value)) if value.isdigit() else None
            if story is None or story.revision_at(self.as_of) is None:
                return self.not_found()
            return self.redirect(site.path(story))
        if path == "/robots.txt":
            return Page(200, "text/plain; charset=UTF-8", self.robots().encode())
        if path == "/sitemap_index.xml":
            return self.not_found() if plan.removed("sitemap-index") else self.xml(self.sitemap_index())
        if path == "/news-sitemap.xml":
            return self.not_found() if plan.removed("news-sitemap") else self.xml(self.news_sitemap())
        if path == "/category-sitemap.xml":
            return self.xml(self.category_sitemap())
        m = _POST_SITEMAP_RE.match(path)
        if m and m.group("n") != "1" and not plan.removed("post-sitemaps"):
            xml = self.post_sitemap(int(m.group("n") or 1))
            return self.not_found() if xml is None else self.xml(xml)
        if path.startswith("/wp-content/uploads/") and path.endswith(".jpg"):
            return Page(200, "image/jpeg", PLACEHOLDER_JPEG)
        if path.startswith("/wp-admin"):
            return Page(302, HTML_TYPE, b"", {"Location": self.url("wp-login.php")})
        m = _ARTICLE_RE.match(path)
        if m:
            return self.article_page(path, m)
        if not path.endswith("/") and "." not in path.rsplit("/", 1)[-1]:
            return self.redirect(path + "/")
        if path.startswith("/author/"):
            return self.html(self.shell("Author", "archive author", "<p>Stories by this author.</p>"))
        return self.feed_or_listing(path)

    def xml(self, text: str) -> Page:
        return Page(200, XML_TYPE, text.encode("utf-8"))

    def article_page(self, path: str, m: re.Match[str]) -> Page:
        site = self.site
        day = date(int(m.group("y")), int(m.group("m")), int(m.group("d")))
        story = site.by_slug(day, m.group("slug"))
        rev = story.revision_at(self.as_of) if story is not None else None
        if story is None or rev is None:
            return self.not_found()
        if not path.endswith("/"):
            return self.redirect(site.path(story))
        page = self.html(self.article(site.content(story, rev)))
        page.headers["Last-Modified"] = http_date(rev.modified)
        return page

    def feed_or_listing(self, path: str) -> Page:
        site = self.site
        if path.endswith("/feed/"):
            if self.plan.removed("feeds"):
                return self.not_found()
            folder = path[: -len("feed/")]
            section = self.category_of(folder)
            if folder != "/" and section is None:
                return self.not_found()
            items = site.newest(self.as_of, section, FEED_SIZE)
            label = site.sections[section][0] if section else None
            title = f"{label} Archives - {site.name}" if label else site.name
            return Page(200, "application/rss+xml; charset=UTF-8", self.feed(title, folder, items).encode("utf-8"))
        page_no = 1
        m = _PAGED_RE.match(path)
        if m:
            path, page_no = m.group("base"), int(m.group("n"))
            if page_no == 1:
                return self.redirect(path)
            if page_no < 1:
                return self.not_found()
        section = self.category_of(path)
        if path != "/" and section is None:
            return self.not_found()
        if path != "/" and self.plan.removed("listings"):
            return self.not_found()
        items = site.newest(self.as_of, section)
        chunk = items[(page_no - 1) * PAGE_SIZE : page_no * PAGE_SIZE]
        if page_no > 1 and not chunk:
            return self.not_found()
        more = len(items) > page_no * PAGE_SIZE
        return self.html(self.listing(path, section, chunk, page_no, more))

    def category_of(self, folder: str) -> str | None:
        if not folder.startswith("/category/"):
            return None
        native = folder[len("/category/") :].strip("/")
        return native if native in self.site.sections else None

    # --- discovery documents ------------------------------------------------------------------

    def robots(self) -> str:
        return (
            "User-agent: *\nDisallow: /wp-admin/\nAllow: /wp-admin/admin-ajax.php\nDisallow: /_newsline/\n"
            f"Disallow: /?s=\n\nSitemap: {self.url('sitemap_index.xml')}\nSitemap: {self.url('news-sitemap.xml')}\n"
        )

    def sitemap_index(self) -> str:
        visible = self.site.visible(self.as_of)
        suffix = ".xml.gz" if self.plan.config.gzip_sitemaps else ".xml"
        rows = []
        for k in range(0, len(visible), POSTS_PER_SITEMAP):
            chunk = visible[k : k + POSTS_PER_SITEMAP]
            n = k // POSTS_PER_SITEMAP + 1
            name = "post-sitemap" + (str(n) if n > 1 else "")
            last = max(r.modified for _, r in chunk)
            rows.append(f"<sitemap><loc>{self.url(name + suffix)}</loc><lastmod>{yoast_time(last)}</lastmod></sitemap>")
        rows.append(f"<sitemap><loc>{self.url('category-sitemap' + suffix)}</loc></sitemap>")
        return (
            '<?xml version="1.0" encoding="UTF-8"?><?xml-stylesheet type="text/xsl" href="//'
            + self.base.split("//", 1)[1]
            + 'main-sitemap.xsl"?>\n<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
            + "\n".join(rows)
            + "\n</sitemapindex>\n<!-- XML Sitemap generated by Yoast SEO -->\n"
        )

    def post_sitemap(self, n: int) -> str | None:
        chunk = self.site.visible(self.as_of)[(n - 1) * POSTS_PER_SITEMAP : n * POSTS_PER_SITEMAP]
        if not chunk:
            return None
        entries, extra = [], []
        for story, rev in chunk:
            entries.append((self.url(self.site.path(story)), rev.modified))
            c = self.site.content(story, rev)
            extra.append(
                f"<image:image><image:loc>{self.url(c.image_path)}</image:loc></image:image>" if c.image_path else ""
            )
        ns = ' xmlns:image="http://www.google.com/schemas/sitemap-image/1.1"'
        return urlset(entries, self.plan, ns, extra)

    def category_sitemap(self) -> str:
        return urlset([(self.url(f"category/{s}/"), self.as_of) for s in self.site.sections], self.plan)

    def news_sitemap(self) -> str:
        site = self.site
        rows = []
        for story, rev in site.newest(self.as_of):
            if story.published < self.as_of - NEWS_WINDOW:
                continue
            loc = self.url(site.path(story))
            title = site.content(story, rev).title
            for href in [loc] + ([f"{loc}?utm_source=newsletter"] if self.plan.tracked(loc) else []):
                rows.append(
                    f"<url><loc>{esc(href)}</loc><news:news><news:publication><news:name>{site.name}</news:name>"
                    f"<news:language>en</news:language></news:publication><news:publication_date>"
                    f"{yoast_time(story.published)}</news:publication_date><news:title>{esc(title)}</news:title>"
                    "</news:news></url>"
                )
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
            'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">\n' + "\n".join(rows) + "\n</urlset>\n"
        )

    def feed(self, title: str, folder: str, items: list[tuple[Story, Rev]]) -> str:
        site = self.site
        rows = [
            (c.title, self.url(site.path(s)), s.published, c.summary) for s, r in items for c in [site.content(s, r)]
        ]
        return rss(title, self.url(folder), "en-US", rows, self.plan)

    # --- pages --------------------------------------------------------------------------------

    def nav(self) -> str:
        links = "".join(
            f'<li class="menu-item"><a href="{self.url(f"category/{s}/")}">{esc(label)}</a></li>'
            for s, (label, _, _) in self.site.sections.items()
        )
        return (
            f'<header id="masthead" class="site-header"><p class="site-title"><a href="{self.url("/")}" rel="home">'
            f'Metro Times</a></p><nav id="site-navigation" class="main-navigation"><ul id="primary-menu">{links}</ul>'
            "</nav></header>"
        )

    def sidebar(self, exclude: int | None = None) -> str:
        items = [(s, r) for s, r in self.site.newest(self.as_of, limit=6) if s.native_id != exclude][:5]
        lis = "".join(
            f'<li><a href="{attr(self.url(self.site.path(s)))}">{esc(self.site.content(s, r).title)}</a></li>'
            for s, r in items
        )
        return (
            '<aside id="secondary" class="widget-area"><section class="widget widget_recent_entries">'
            f'<h2 class="widget-title">Trending</h2><ul>{lis}</ul></section></aside>'
        )

    def footer(self) -> str:
        return (
            '<footer id="colophon" class="site-footer"><div class="site-info">'
            f"&copy; {self.as_of.astimezone(NY).year} Metro Times. Proudly powered by WordPress.</div></footer>"
        )

    def shell(self, title: str, body_class: str, inner: str) -> str:
        return (
            '<!DOCTYPE html>\n<html lang="en-US">\n<head>\n<meta charset="UTF-8">\n'
            f"<title>{esc(title)} - Metro Times</title>\n</head>\n"
            f'<body class="{body_class}">\n{self.nav()}\n<main id="main" class="site-main">\n{inner}\n</main>\n'
            f"{self.sidebar()}\n{self.footer()}\n</body>\n</html>\n"
        )

    def listing(self, path: str, section: str | None, items: list[tuple[Story, Rev]], page_no: int, more: bool) -> str:
        site = self.site
        heading = f"Category: {site.sections[section][0]}" if section else "Latest"
        arts = []
        for s, r in items:
            c = site.content(s, r)
            arts.append(
                f'<article id="post-{s.native_id}" class="post-{s.native_id} post type-post status-publish">'
                f'<h2 class="entry-title"><a href="{attr(self.url(site.path(s)))}" rel="bookmark">{esc(c.title)}</a>'
                f'</h2><div class="entry-summary"><p>{esc(c.summary)}</p></div></article>'
            )
        nav = ""
        if more:
            nav = f'<div class="nav-links"><a class="next page-numbers" href="{self.url(f"{path}page/{page_no + 1}/")}">Older posts</a></div>'
        body_class = f"archive category category-{section.replace('/', '-')}" if section else "home blog"
        return self.shell(heading, body_class, f'<h1 class="page-title">{esc(heading)}</h1>\n' + "\n".join(arts) + nav)

    def article(self, c: Content) -> str:
        site, story, rev = self.site, c.story, c.revision
        canonical = self.url(site.path(story))
        label = site.sections[story.section][0]
        local_pub = site.local(story.published)
        local_mod = site.local(rev.modified)
        image = self.url(c.image_path) if c.image_path else None
        lead = c.summary
        people = [
            {"@type": "Person", "@id": _person_id(self.base, a), "name": a, "url": self.url(f"author/{slugify(a)}/")}
            for a in c.authors
        ]
        article_node = {
            "@type": "NewsArticle",
            "@id": f"{canonical}#article",
            "isPartOf": {"@id": canonical},
            "author": [{"name": p["name"], "@id": p["@id"]} for p in people],
            "headline": c.title,
            "datePublished": yoast_time(story.published),
            "dateModified": yoast_time(rev.modified),
            "mainEntityOfPage": {"@id": canonical},
            "wordCount": sum(len(b.text.split()) for b in c.visible_blocks),
            "publisher": {"@id": f"{self.base}#organization"},
            "keywords": list(c.keywords),
            "articleSection": [label],
            "inLanguage": "en-US",
            "isAccessibleForFree": True,
        }
        graph: list[dict[str, object]] = [
            article_node,
            {
                "@type": "WebPage",
                "@id": canonical,
                "url": canonical,
                "name": f"{c.title} - Metro Times",
                "isPartOf": {"@id": f"{self.base}#website"},
                "datePublished": yoast_time(story.published),
                "dateModified": yoast_time(rev.modified),
                "description": lead,
                "breadcrumb": {"@id": f"{canonical}#breadcrumb"},
                "inLanguage": "en-US",
            },
            {
                "@type": "BreadcrumbList",
                "@id": f"{canonical}#breadcrumb",
                "itemListElement": [
                    {"@type": "ListItem", "position": 1, "name": "Home", "item": self.base},
                    {"@type": "ListItem", "position": 2, "name": c.title},
                ],
            },
            {"@type": "WebSite", "@id": f"{self.base}#website", "url": self.base, "name": "Metro Times"},
            {
                "@type": "Organization",
                "@id": f"{self.base}#organization",
                "name": "Metro Times",
                "url": self.base,
                "logo": {"@type": "ImageObject", "url": self.url("wp-content/uploads/logo.png")},
            },
            *people,
        ]
        if image:
            article_node["image"] = {"@id": f"{canonical}#primaryimage"}
            article_node["thumbnailUrl"] = image
            graph.insert(
                2,
                {
                    "@type": "ImageObject",
                    "@id": f"{canonical}#primaryimage",
                    "url": image,
                    "contentUrl": image,
                    "caption": c.image_caption,
                },
            )
        jsonld = json.dumps({"@context": "https://schema.org", "@graph": graph}, ensure_ascii=False)
        tags = "".join(f'<meta property="article:tag" content="{attr(t)}" />\n' for t in c.keywords)
        head = (
            '<!DOCTYPE html>\n<html lang="en-US">\n<head>\n<meta charset="UTF-8">\n'
            f"<title>{esc(c.title)} - Metro Times</title>\n"
            f'<meta name="description" content="{attr(lead)}" />\n'
            f'<link rel="canonical" href="{attr(canonical)}" />\n'
            '<meta property="og:locale" content="en_US" />\n<meta property="og:type" content="article" />\n'
            f'<meta property="og:title" content="{attr(c.title)}" />\n'
            f'<meta property="og:description" content="{attr(lead)}" />\n'
            f'<meta property="og:url" content="{attr(canonical)}" />\n'
            '<meta property="og:site_name" content="Metro Times" />\n'
            f'<meta property="article:section" content="{attr(label)}" />\n'
            + tags
            + f'<meta property="article:published_time" content="{yoast_time(story.published)}" />\n'
            f'<meta property="article:modified_time" content="{yoast_time(rev.modified)}" />\n'
            + (f'<meta property="og:image" content="{attr(image)}" />\n' if image else "")
            + f'<meta name="author" content="{attr(", ".join(c.authors))}" />\n'
            f'<script type="application/ld+json" class="yoast-schema-graph">{jsonld}</script>\n'
            f"<link rel='shortlink' href='{attr(self.url('?p=' + str(story.native_id)))}' />\n"
            "</head>\n"
        )
        author_links = [
            f'<span class="author vcard"><a class="url fn n" href="{attr(self.url(f"author/{slugify(a)}/"))}">'
            f"{esc(a)}</a></span>"
            for a in c.authors
        ]
        if len(author_links) > 1:
            names = ", ".join(author_links[:-1]) + " and " + author_links[-1]
        else:
            names = "".join(author_links)
        meta = (
            f'<span class="byline">By {names}</span> <span class="posted-on"><time class="entry-date published" '
            f'datetime="{local_pub.isoformat()}">{clock(local_pub)}</time></span>'
        )
        if rev.n:
            meta += (
                f' <span class="updated-on">Update #{rev.n}: <time class="updated" datetime="{local_mod.isoformat()}">'
                f"{clock(local_mod)}</time></span>"
            )
        figure = ""
        if image:
            figure = (
                f'<figure class="wp-block-image post-thumbnail"><img src="{attr(image)}" alt="" />'
                f'<figcaption class="wp-element-caption">{esc(c.image_caption or "")} '
                f'<span class="photo-credit">{esc(c.image_credit or "")}</span></figcaption></figure>'
            )
        blocks = [f"<{b.kind}>{esc(b.text)}</{b.kind}>" for b in c.visible_blocks]
        rng = random.Random(f"{story.seed}:layout")
        others = [(s, r) for s, r in site.newest(self.as_of, limit=4) if s.native_id != story.native_id][:3]
        if others and len(blocks) > 2 and rng.random() < 0.5:
            s, r = others[0]
            blocks.insert(
                2,
                f'<p class="read-more"><strong>Read more:</strong> <a href="{attr(self.url(site.path(s)))}">'
                f"{esc(site.content(s, r).title)}</a></p>",
            )
        if len(blocks) > 3:
            blocks.insert(
                len(blocks) - 1,
                '<div class="mt-newsletter-signup"><p>Get the Metro Times morning briefing in your inbox.</p></div>',
            )
        related = "".join(
            f'<li><a href="{attr(self.url(site.path(s)))}">{esc(site.content(s, r).title)}</a></li>' for s, r in others
        )
        content = (
            '<div class="entry-content">\n'
            + "\n".join(blocks)
            + '\n<div class="sharedaddy sd-sharing-enabled"><h3 class="sd-title">Share this:</h3>'
            "<ul><li>Email</li><li>Print</li></ul></div>\n"
            f'<div id="jp-relatedposts" class="jp-relatedposts"><h3>Related</h3><ul>{related}</ul></div>\n</div>'
        )
        tag_links = ", ".join(
            f'<a href="{attr(self.url(f"tag/{slugify(t)}/"))}" rel="tag">{esc(t)}</a>' for t in c.keywords
        )
        section_slug = story.section.replace("/", "-")
        body = (
            f'<body class="post-template-default single single-post postid-{story.native_id} single-format-standard">\n'
            + self.nav()
            + '\n<main id="main" class="site-main">\n'
            f'<article id="post-{story.native_id}" class="post-{story.native_id} post type-post status-publish '
            f'format-standard has-post-thumbnail category-{section_slug}">\n'
            '<header class="entry-header">\n'
            f'<div class="entry-categories"><a href="{attr(self.url(f"category/{story.section}/"))}" '
            f'rel="category tag">{esc(label)}</a></div>\n'
            f'<h1 class="entry-title">{esc(c.title)}</h1>\n'
            f'<div class="entry-meta">{meta}</div>\n</header>\n'
            + figure
            + "\n"
            + content
            + f'\n<footer class="entry-footer"><span class="tags-links">Tagged {tag_links}</span></footer>\n'
            "</article>\n"
            '<nav class="navigation post-navigation"><div class="nav-links">'
            + "".join(
                f'<div class="nav-previous"><a href="{attr(self.url(site.path(s)))}" rel="prev">'
                f"{esc(site.content(s, r).title)}</a></div>"
                for s, r in others[1:2]
            )
            + "</div></nav>\n</main>\n"
            + self.sidebar(story.native_id)
            + "\n"
            + self.footer()
            + "\n</body>\n</html>\n"
        )
        return head + body
