"""Rendering of every demo page (HTML, XML, RSS, robots) as pure functions of the site, as_of and base URL.

The markup follows japannews-site.md "Article page, top to bottom" with its quirks: unquoted
``id=p-article-block``, ``&ensp;`` in the postdate, ``&#045;`` in ``<title>``, one-line JSON-LD with
``\\/`` escaped slashes, raw ``<p>`` markup and a newline inside ``og:description``, a duplicated
``id="sub-menu"``, and sidebar/related boilerplate full of other (generated) headlines.
"""

from __future__ import annotations

import html
import json
import random
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from demo_site.faults import TRACKING_QUERY, FaultPlan
from demo_site.generator import (
    JST,
    SECTION_LABELS,
    SECTIONS,
    SITE_NAME,
    SUBSECTION_LABELS,
    ArticleContent,
    ArticleSpec,
    DemoSite,
    Revision,
    path_prefix,
)

LISTING_PAGE_SIZE = 20
FEED_SIZE = 10
NEWS_WINDOW = timedelta(hours=48)
RELATED_TITLE_CHARS = 64
HTML_TYPE = "text/html; charset=UTF-8"
XML_TYPE = "application/xml; charset=UTF-8"
RSS_TYPE = "application/rss+xml; charset=UTF-8"
TEXT_TYPE = "text/plain; charset=UTF-8"
#: The smallest valid JPEG-like placeholder: the demo serves images only so links resolve.
PLACEHOLDER_JPEG = bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffd9")


@dataclass
class Page:
    status: int
    content_type: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def esc(value: str) -> str:
    return html.escape(value, quote=False)


def attr(value: str) -> str:
    return html.escape(value, quote=True)


def iso_minute(value: datetime) -> str:
    return value.astimezone(JST).replace(second=0, microsecond=0).isoformat()


def iso_second(value: datetime) -> str:
    return value.astimezone(JST).replace(microsecond=0).isoformat()


def postdate_text(published: datetime, revision: Revision) -> str:
    local = published.astimezone(JST)
    line = f"{local:%H:%M} JST,&ensp;{local:%B} {local.day}, {local.year}"
    if revision.n > 0:
        line += f" (updated at {revision.modified.astimezone(JST):%H:%M} JST)"
    return line


def truncate(title: str) -> str:
    return title if len(title) <= RELATED_TITLE_CHARS else title[:RELATED_TITLE_CHARS] + "..."


def _title_entities(value: str) -> str:
    """WordPress texturises the <title>: apostrophes and quotes become numeric entities."""
    return esc(value).replace("\u2019", "&#8217;").replace("\u201c", "&#8220;").replace("\u201d", "&#8221;")


class Renderer:
    """Renders pages of one ``DemoSite`` at one ``as_of`` for one base URL."""

    def __init__(
        self, site: DemoSite, base_url: str, as_of: datetime | None = None, plan: FaultPlan | None = None
    ) -> None:
        self.site = site
        self.plan = plan or FaultPlan()
        self.base = base_url if base_url.endswith("/") else base_url + "/"
        self.as_of = site.resolve_as_of(as_of)
        self._visible: list[tuple[ArticleSpec, Revision]] | None = None

    # --- helpers ----------------------------------------------------------------------------

    def url(self, path: str) -> str:
        return self.base + path.lstrip("/")

    @property
    def visible(self) -> list[tuple[ArticleSpec, Revision]]:
        if self._visible is None:
            self._visible = self.site.visible(self.as_of)
        return self._visible

    def newest(
        self,
        section: str | None = None,
        subsection: str | None = None,
        exclude: int | None = None,
        limit: int | None = None,
    ) -> list[tuple[ArticleSpec, Revision]]:
        out = []
        for spec, rev in reversed(self.visible):
            if section and spec.section != section:
                continue
            if subsection and spec.subsection != subsection:
                continue
            if spec.post_id == exclude:
                continue
            out.append((spec, rev))
            if limit is not None and len(out) >= limit:
                break
        return out

    def shown_title(self, spec: ArticleSpec, rev: Revision) -> str:
        return self.site.shown_title(spec, rev)

    def menu(self) -> str:
        items = []
        for section, label, subs in SECTIONS:
            links = []
            for sub, sub_label in subs:
                href = path_prefix(section, sub)
                if sub == "markets":
                    href = "/business/market/"
                links.append(f'<li><a href="{self.url(href)}">{esc(sub_label)}</a></li>')
            items.append(
                f'<li class="menu-item"><a href="{self.url(section + "/")}">{esc(label)}</a>'
                f'<ul id="sub-menu" class="sub-menu">{"".join(links)}</ul></li>'
            )
        return f'<div class="global_menu"><ul id="menu-global">{"".join(items)}</ul></div>'

    def header(self) -> str:
        return (
            '<header><div class="header_inner"><a class="logo" href="' + self.url("/") + '">The Japan News</a>'
            '<div class="drawer"><a href="' + self.url("latestnews/") + '">Latest News</a>'
            '<a href="' + self.url("membership/") + '">Membership</a></div></div></header>'
        )

    def footer(self) -> str:
        sections = "".join(f'<li><a href="{self.url(s + "/")}">{esc(label)}</a></li>' for s, label, _ in SECTIONS)
        return (
            '<footer><div class="weekly_promo"><p>The Japan News / Weekly Edition</p>'
            '<p>Stories from the week, in a digital fomat.</p><a href="'
            + self.url("aboutus/")
            + '">Read more</a></div>'
            f'<ul class="footer_sections">{sections}</ul>'
            '<ul class="footer_links"><li><a href="' + self.url("aboutus/") + '">About Us</a></li>'
            '<li><a href="' + self.url("faq/") + '">FAQ</a></li>'
            '<li><a href="' + self.url("private-archive/") + '" rel="nofollow">Archive</a></li></ul>'
            f'<p class="copyright">&#169; {self.as_of.astimezone(JST).year} The Japan News - by The Yomiuri Shimbun</p>'
            "</footer>"
        )

    def modals(self) -> str:
        return (
            '<div id="tpModal" class="modal" style="display: none;"><div class="modal-content">'
            "<p>Please disable the ad blocking feature.</p><p>To use this website, please disable the ad "
            "blocking feature in your browser settings.</p></div></div>"
            '<div id="consentModal" class="modal" style="display: none;"><div class="modal-content">'
            "<p>This website uses cookies to improve your experience and to show relevant advertising. "
            "By continuing you agree to our use of cookies.</p><button>Agree</button></div></div>"
            '<div class="ad_background_1"><div class="p-ads-billboard"><div id=\'ad_gam_billboard1\'>'
            "</div></div></div>"
        )

    def image_for(self, spec: ArticleSpec) -> str:
        return self.url(f"wp-content/uploads/{spec.day:%Y/%m}/{spec.post_id}-thumb.jpg")

    # --- article ----------------------------------------------------------------------------

    def article(self, content: ArticleContent) -> str:
        spec, rev = content.spec, content.revision
        canonical = self.url(spec.path)
        section_label = SECTION_LABELS[spec.section]
        sub_label = SUBSECTION_LABELS[(spec.section, spec.subsection)]
        shown = content.shown_title
        image = self.url(content.image_url_path) if content.image_url_path else None
        jsonld = {
            "@context": "https://schema.org/",
            "@type": "BlogPosting",
            "mainEntityOfPage": {"@type": "WebPage", "@id": canonical},
            "headline": shown,
            "name": shown,
            "description": content.lead_text[:120],
            "datePublished": iso_second(spec.published),
            "dateModified": iso_second(rev.modified),
            "author": {"@type": "Person", "name": content.cms_author, "url": self.url("author/editor/")},
            "publisher": {
                "@type": "Organization",
                "name": SITE_NAME,
                "logo": {"@type": "ImageObject", "url": self.url("wp-content/themes/logo.png")},
            },
            "articleSection": esc(sub_label),
            "keywords": content.keywords_raw,
            "url": canonical,
        }
        if image:
            jsonld["image"] = {"@type": "ImageObject", "url": image}
        jsonld_text = json.dumps(jsonld, ensure_ascii=False, separators=(",", ":")).replace("/", "\\/")
        lead = content.lead_text
        og_desc = lead.replace("&", "&amp;").replace('"', "&quot;")
        head = (
            '<!DOCTYPE html>\n<html lang="en">\n'
            '<head prefix="og: http://ogp.me/ns# fb: http://ogp.me/ns/fb# article: http://ogp.me/ns/article#">\n'
            '<meta charset="UTF-8">\n'
            f'<link rel="canonical" href="{attr(canonical)}" />\n'
            f"<title>{_title_entities(shown)} &#045; The Japan News</title>\n"
            f"<link rel='shortlink' href='{attr(self.url('?p=' + str(spec.post_id)))}' />\n"
            '<meta name="cXenseParse:pageclass" content="article" />\n'
            f'<meta name="cXenseParse:yoj-articletype" content="{attr(spec.access_raw)}" />\n'
            f'<meta property="article:published_time" content="{iso_minute(spec.published)}" />\n'
            f'<meta property="article:modified_time" content="{iso_minute(rev.modified)}" />\n'
            f'<meta name="cXenseParse:yoj-category" content="{attr(spec.subsection)}" />\n'
            f'<script type="application/ld+json">{jsonld_text}</script>\n'
            f'<meta property="og:url" content="{attr(canonical)}">\n'
            '<meta property="og:type" content="article">\n'
            + (f'<meta property="og:image" content="{attr(image)}" />\n' if image else "")
            + f'<meta property="og:title" content="{attr(shown)}">\n'
            f'<meta property="og:description" content="<p>{og_desc}</p>\n">\n'
            "</head>\n"
        )
        blocks = []
        if image:
            blocks.append(
                f'<figure class="horizontal_s"><a href="{attr(self.url(f"attachment/{spec.post_id + 1}/"))}" class="zoom">'
                f'<img src="{attr(image)}" alt="" /></a>\n'
                f"<figcaption><span>{esc(content.image_credit or '')}</span><br>{esc(content.image_caption or '')}"
                "</figcaption></figure>"
            )
        if content.byline:
            blocks.append(f'<p class="byline"><i class="fas fa-pen-nib"></i>{esc(content.byline)}</p>')
        blocks.append(f'<p class="postdate"><i class="far fa-clock"></i>{postdate_text(spec.published, rev)}</p>')
        for b in content.visible_blocks:
            blocks.append(f"<{b.kind}>{b.html}</{b.kind}>")
        offer = ""
        if spec.access_raw != "free":
            offer = (
                '<div class="offer"><p>This article is for subscribers only.</p><p>Subscribe to read the full '
                'story and more from our premium collection.</p><a href="'
                + self.url("membership/")
                + '">Subscribe</a></div>'
            )
        sub_path = path_prefix(spec.section, spec.subsection)
        body = (
            f'<body id="body" class="post-template-default single single-post postid-{spec.post_id} '
            'single-format-standard">\n'
            + self.modals()
            + "\n"
            + self.header()
            + "\n"
            + self.menu()
            + "\n"
            + '<div class="breadcrumbs" typeof="BreadcrumbList" vocab="https://schema.org/">'
            f'<span property="itemListElement" typeof="ListItem"><a property="item" typeof="WebPage" href="{self.url("/")}">'
            '<span property="name">Home</span></a><meta property="position" content="1"></span> &gt; '
            f'<span property="itemListElement" typeof="ListItem"><a property="item" typeof="WebPage" href="{self.url(spec.section + "/")}">'
            f'<span property="name">{esc(section_label)}</span></a><meta property="position" content="2"></span> &gt; '
            f'<span property="itemListElement" typeof="ListItem"><a property="item" typeof="WebPage" href="{self.url(sub_path)}">'
            f'<span property="name">{esc(sub_label)}</span></a><meta property="position" content="3"></span></div>\n'
            '<div id="container"><main class="clearfix">\n'
            f'<div class="single_page single_{spec.section} single_{spec.subsection} page_w1100 clearfix">\n'
            '<div class="bloc_1">\n'
            f'<ul><li><a href="{self.url(sub_path)}"><span class="design_1">{esc(sub_label)}'
            '<i class="fas fa-angle-double-right"></i></span></a></li></ul>\n'
            f"<h1>{esc(shown)}</h1>\n"
            '<ul class="sns-button"><li class="reddit-share"><a href="#">Post</a></li>'
            '<li class="fb-share"><a href="#">Share</a></li><li class="twitter-share"><a href="#">Post</a></li></ul>\n'
            "</div>\n"
            '<div class="bloc_2">\n<!-- cxenseparse_start -->\n<div id=p-article-block data-state="">\n'
            + "\n".join(blocks)
            + "\n</div>\n<!-- cxenseparse_end -->\n"
            f'<div id="article-inline-offer">{offer}</div>\n'
            + self.related(spec, sub_label)
            + '<div class="goolenewsfeed"><a href="https://news.google.com/">Follow The Japan News on Google News</a></div>\n'
            "</div>\n"
            + self.rankings(spec)
            + "</div>\n</main>\n"
            + self.footer()
            + "\n</div>\n"
            + f'<script>var tp = window.tp || []; tp.push(["setTags", ["{spec.access_raw}", "{spec.subsection}", '
            f'"{spec.published.astimezone(JST):%Y年%m月%d日}"]]);</script>\n'
            "</body></html>\n"
        )
        return head + body

    def _related_list(self, css: str, heading: str, items: list[tuple[ArticleSpec, Revision]]) -> str:
        lis = "".join(
            f'<li><a href="{attr(self.url(s.path))}"><figure><img src="{attr(self.image_for(s))}" alt=""></figure>'
            f"<p>{esc(truncate(self.shown_title(s, r)))}</p></a></li>"
            for s, r in items
        )
        return f'<div class="{css} related"><h2>{esc(heading)}</h2><ul>{lis}</ul></div>\n'

    def related(self, spec: ArticleSpec, sub_label: str) -> str:
        same = self.newest(spec.section, spec.subsection, exclude=spec.post_id, limit=4)
        latest = self.newest(exclude=spec.post_id, limit=4)
        return (
            self._related_list("latestlist", f"{sub_label} Latest Articles", same)
            + self._related_list("latestlist", "Latest Articles", latest)
            + self._related_list("popularlist", "Popular Articles", self._popular(spec, 8))
        )

    def _popular(self, spec: ArticleSpec, n: int, section: str | None = None) -> list[tuple[ArticleSpec, Revision]]:
        pool = self.newest(section=section, exclude=spec.post_id, limit=60)
        rng = random.Random(f"popular:{spec.post_id}:{section}")
        return rng.sample(pool, min(n, len(pool)))

    def rankings(self, spec: ArticleSpec) -> str:
        label = SECTION_LABELS[spec.section]
        first = "".join(
            f'<li><a href="{attr(self.url(s.path))}"><figure><img src="{attr(self.image_for(s))}" alt=""></figure>'
            f"<h3>{esc(self.shown_title(s, r))}</h3></a></li>"
            for s, r in self._popular(spec, 5, spec.section)
        )
        second = "".join(
            f'<li><a href="{attr(self.url(s.path))}"><figure><img src="{attr(self.image_for(s))}" alt=""></figure>'
            f"{esc(self.shown_title(s, r))}</a></li>"
            for s, r in self._popular(spec, 5)
        )
        return (
            '<div class="bloc_3">\n'
            '<div class="ad_background_2 clearfix"><div class="p-ads-rec"><div id=\'ad_gam_rec1\'></div></div></div>\n'
            f'<div class="ranking_1 ranking"><h2>"{esc(label)}" POPULAR ARTICLE</h2><ul>{first}</ul></div>\n'
            f'<div class="ranking_2 ranking"><p>JN ACCESS RANKING</p><ul>{second}</ul></div>\n'
            "<div class=\"p-ads-rec\"><div id='ad_gam_rec2'></div></div>\n"
            "</div>\n"
        )

    # --- listing pages ----------------------------------------------------------------------

    def shell(self, title: str, body_class: str, inner: str) -> str:
        return (
            f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="UTF-8">\n'
            f"<title>{_title_entities(title)} &#045; The Japan News</title>\n"
            '<meta name="cXenseParse:pageclass" content="frontpage" />\n</head>\n'
            f'<body id="body" class="{body_class}">\n{self.modals()}\n{self.header()}\n{self.menu()}\n'
            f'<div id="container"><main class="clearfix">\n{inner}\n</main>\n{self.footer()}\n</div>\n</body></html>\n'
        )

    def listing(
        self, heading: str, base_path: str, items: list[tuple[ArticleSpec, Revision]], page: int
    ) -> Page | None:
        start = (page - 1) * LISTING_PAGE_SIZE
        chunk = items[start : start + LISTING_PAGE_SIZE]
        if page > 1 and not chunk:
            return None
        lis = []
        for spec, rev in chunk:
            sub_label = SUBSECTION_LABELS[(spec.section, spec.subsection)]
            local = spec.published.astimezone(JST)
            lis.append(
                f'<li class="clearfix"><a href="{attr(self.url(spec.path))}">'
                f'<figure><img src="{attr(self.image_for(spec))}" alt=""></figure>'
                f"<h2>{esc(self.shown_title(spec, rev))}</h2><h3>{esc(sub_label)}</h3>"
                f"<p>{local:%H:%M} JST, {local:%B} {local.day}, {local.year}</p></a></li>"
            )
        nav = []
        if page > 1:
            prev = base_path if page == 2 else f"{base_path}page/{page - 1}/"
            nav.append(f'<a class="prev page-numbers" href="{attr(self.url(prev))}">Prev</a>')
        if start + LISTING_PAGE_SIZE < len(items):
            nav.append(f'<a class="next page-numbers" href="{attr(self.url(f"{base_path}page/{page + 1}/"))}">Next</a>')
        inner = (
            f'<div class="category_page page_w1100 clearfix"><h1>{esc(heading)}</h1>'
            f'<ul class="news_list">{"".join(lis)}</ul><div class="pagination">{"".join(nav)}</div></div>'
        )
        return Page(200, HTML_TYPE, self.shell(heading, "archive category", inner).encode("utf-8"))

    def home(self) -> str:
        lis = "".join(
            f'<li class="clearfix"><a href="{attr(self.url(s.path))}"><h2>{esc(self.shown_title(s, r))}</h2></a></li>'
            for s, r in ([] if self.plan.removed("listings") else self.newest(limit=20))
        )
        return self.shell("Home", "home blog", f'<div class="top_page"><ul class="news_list">{lis}</ul></div>')

    def simple(self, title: str, body_class: str, text: str) -> str:
        return self.shell(title, body_class, f'<div class="page_w1100"><h1>{esc(title)}</h1><p>{esc(text)}</p></div>')

    # --- discovery --------------------------------------------------------------------------

    def robots(self) -> str:
        return (
            "User-agent: *\n"
            "Disallow: /wp-admin/\n"
            "Allow: /wp-admin/admin-ajax.php\n"
            "Disallow: /private-archive/\n"
            "Disallow: /_newsline/\n"
            "\n"
            + ("" if self.plan.removed("sitemap-index") else f"Sitemap: {self.url(self.child('sitemap.xml'))}\n")
            + ("" if self.plan.removed("news-sitemap") else f"Sitemap: {self.url(self.child('sitemap-news.xml'))}\n")
        )

    def child(self, name: str) -> str:
        """A sitemap file name as listed: gzipped (``.xml.gz``) when that fault is on."""
        return name + ".gz" if self.plan.config.gzip_sitemaps and name != "sitemap.xml" else name

    def tracked_rows(self, path: str) -> list[str]:
        """The entry's URL, plus a tracking-parameter duplicate when that fault picks it."""
        url = self.url(path)
        return [url, f"{url}?{TRACKING_QUERY}"] if self.plan.tracked(path) else [url]

    def months(self) -> list[tuple[int, int]]:
        return sorted({(s.published.astimezone(JST).year, s.published.astimezone(JST).month) for s, _ in self.visible})

    @staticmethod
    def month_name(year: int, month: int) -> str:
        return f"sitemap-posttype-post.{year}{month}.xml"  # unpadded month, as the real plugin writes it

    def _month_lastmod(self, year: int, month: int) -> datetime | None:
        mods = [
            r.modified
            for s, r in self.visible
            if (s.published.astimezone(JST).year, s.published.astimezone(JST).month) == (year, month)
        ]
        return max(mods) if mods else None

    def sitemap_index(self) -> str:
        newest = max((r.modified for _, r in self.visible), default=self.as_of)
        children = [("sitemap-root.xml", newest), ("sitemap-taxonomy-category.xml", newest)]
        if not self.plan.removed("post-sitemaps"):
            for y, m in reversed(self.months()):
                children.append((self.month_name(y, m), self._month_lastmod(y, m) or newest))
        if not self.plan.removed("news-sitemap"):
            children.append(("sitemap-news.xml", newest))
        rows = "".join(
            f"<sitemap><loc>{esc(self.url(self.child(n)))}</loc><lastmod>{iso_second(t)}</lastmod></sitemap>\n"
            for n, t in children
        )
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<?xml-stylesheet type="text/xsl" href="{attr(self.url("wp-content/plugins/sitemapindex.xsl"))}"?>\n'
            '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
            f"{rows}</sitemapindex>\n"
        )

    def _urlset(self, rows: list[tuple[str, datetime | None]]) -> str:
        body = "".join(
            f"<url><loc>{esc(loc)}</loc>" + (f"<lastmod>{iso_second(t)}</lastmod>" if t else "") + "</url>\n"
            for loc, t in rows
        )
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<?xml-stylesheet type="text/xsl" href="{attr(self.url("wp-content/plugins/sitemap.xsl"))}"?>\n'
            f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n{body}</urlset>\n'
        )

    def sitemap_root(self) -> str:
        newest = max((r.modified for _, r in self.visible), default=None)
        return self._urlset([(self.url("/"), newest)])

    def sitemap_categories(self) -> str:
        rows: list[tuple[str, datetime | None]] = []
        for section, _, subs in SECTIONS:
            rows.append((self.url(section + "/"), None))
            rows.extend((self.url(path_prefix(section, sub)), None) for sub, _ in subs)
        return self._urlset(rows)

    def sitemap_month(self, year: int, month: int) -> str | None:
        if (year, month) not in self.months():
            return None
        rows = [
            (url, r.modified)
            for s, r in reversed(self.visible)
            if (s.published.astimezone(JST).year, s.published.astimezone(JST).month) == (year, month)
            for url in self.tracked_rows(s.path)
        ]
        return self._urlset(rows)

    def sitemap_news(self) -> str:
        since = self.as_of - NEWS_WINDOW
        rows = []
        for spec, rev in reversed(self.visible):
            if spec.published < since:
                continue
            rows.extend(
                f"<url><loc>{esc(url)}</loc><news:news><news:publication>"
                f"<news:name>{SITE_NAME}</news:name><news:language>en</news:language></news:publication>"
                f"<news:publication_date>{iso_second(spec.published)}</news:publication_date>"
                f"<news:title>{esc(self.shown_title(spec, rev))}</news:title></news:news></url>\n"
                for url in self.tracked_rows(spec.path)
            )
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<?xml-stylesheet type="text/xsl" href="{attr(self.url("wp-content/plugins/sitemap-news.xsl"))}"?>\n'
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
            'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">\n'
            f"{''.join(rows)}</urlset>\n"
        )

    def feed(self, title: str, link_path: str, items: list[tuple[ArticleSpec, Revision]]) -> str:
        rows = []
        for spec, rev in items[:FEED_SIZE]:
            content = self.site.content(spec, rev)
            rows.extend(
                f"<item><title>{esc(content.shown_title)}</title><link>{esc(link)}</link>"
                f"<pubDate>{format_datetime(spec.published.astimezone(UTC).replace(microsecond=0), usegmt=True)}</pubDate>"
                f"<dc:creator><![CDATA[{content.cms_author}]]></dc:creator>"
                f"<category><![CDATA[{SUBSECTION_LABELS[(spec.section, spec.subsection)]}]]></category>"
                f'<guid isPermaLink="false">{esc(self.url("?p=" + str(spec.post_id)))}</guid>'
                f"<description><![CDATA[{content.lead_text[:200]}]]></description></item>\n"
                for link in self.tracked_rows(spec.path)
            )
        build = max((r.modified for _, r in items[:FEED_SIZE]), default=self.as_of)
        return (
            '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" '
            'xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/" '
            'xmlns:atom="http://www.w3.org/2005/Atom">\n<channel>\n'
            f"<title>{esc(title)}</title>\n"
            f'<atom:link href="{attr(self.url(link_path + "feed/"))}" rel="self" type="application/rss+xml" />\n'
            f"<link>{esc(self.url(link_path))}</link>\n<description>News from Japan</description>\n"
            f"<lastBuildDate>{format_datetime(build.astimezone(UTC).replace(microsecond=0), usegmt=True)}</lastBuildDate>\n"
            "<language>en-US</language>\n"
            f"{''.join(rows)}</channel>\n</rss>\n"
        )


# --- routing ----------------------------------------------------------------------------------

_ARTICLE_RE = re.compile(r"^/(?P<prefix>(?:[a-z0-9-]+/){1,2})(?P<ymd>\d{8})-(?P<id>\d+)/$")
_PAGE_RE = re.compile(r"^(?P<base>/.*?/)page/(?P<n>\d+)/$")
_MONTH_RE = re.compile(r"^/sitemap-posttype-post\.(?P<y>\d{4})(?P<m>\d{1,2})\.xml$")
_SIMPLE_PAGES = {
    "/aboutus/": ("About Us", "page page-aboutus", "The Japan News is the English newspaper of the Yomiuri Shimbun."),
    "/membership/": ("Membership", "page page-membership", "Sign up for premium membership."),
    "/faq/": ("FAQ", "page page-faq", "Frequently asked questions about the site."),
    "/videos/": ("Videos", "page page-videos", "Latest videos."),
}


def _html(text: str, status: int = 200) -> Page:
    return Page(status, HTML_TYPE, text.encode("utf-8"))


def _redirect(location: str, status: int = 301) -> Page:
    return Page(status, HTML_TYPE, b"", {"Location": location})


def route(r: Renderer, path: str, query: dict[str, list[str]]) -> Page:
    """Answer one GET as the site would at ``r.as_of``; unknown paths get the WordPress 404 page."""
    site = r.site
    if path == "/":
        if "p" in query:
            spec = site.by_id.get(int(query["p"][0])) if query["p"][0].isdigit() else None
            if spec is None or spec.revision_at(r.as_of) is None:
                return _not_found(r)
            return _redirect(r.url(spec.path))
        if "s" in query:
            return _html(r.simple("Search Results", "search search-results", f"Results for {query['s'][0]}"))
        return _html(r.home())
    if path == "/robots.txt":
        return Page(200, TEXT_TYPE, r.robots().encode("utf-8"))
    if path == "/sitemap.xml":
        if r.plan.removed("sitemap-index"):
            return _not_found(r)
        return Page(200, XML_TYPE, r.sitemap_index().encode("utf-8"))
    if path == "/sitemap-root.xml":
        return Page(200, XML_TYPE, r.sitemap_root().encode("utf-8"))
    if path == "/sitemap-taxonomy-category.xml":
        return Page(200, XML_TYPE, r.sitemap_categories().encode("utf-8"))
    if path == "/sitemap-news.xml":
        if r.plan.removed("news-sitemap"):
            return _not_found(r)
        return Page(200, XML_TYPE, r.sitemap_news().encode("utf-8"))
    m = _MONTH_RE.match(path)
    if m and m.group("m") == str(int(m.group("m"))) and not r.plan.removed("post-sitemaps"):
        # only the unpadded name the plugin writes
        xml = r.sitemap_month(int(m.group("y")), int(m.group("m")))
        return _not_found(r) if xml is None else Page(200, XML_TYPE, xml.encode("utf-8"))
    if path.startswith("/wp-content/uploads/") and path.endswith(".jpg"):
        return Page(200, "image/jpeg", PLACEHOLDER_JPEG)
    if path.startswith("/wp-admin"):
        return _redirect(r.url("wp-login.php"), 302)
    if path.startswith("/private-archive/") or path == "/private-archive":
        return _html(r.simple("Private Archive", "page page-private", "Archive pages not for robots."))
    if not path.endswith("/") and "." not in path.rsplit("/", 1)[-1] and not path.endswith("/feed"):
        return _redirect(r.url(path + "/"))
    m = _ARTICLE_RE.match(path)
    if m:
        return _article(r, path, int(m.group("id")))
    if path in _SIMPLE_PAGES:
        title, cls, text = _SIMPLE_PAGES[path]
        return _html(r.simple(title, cls, text))
    if path.startswith("/attachment/"):
        return _html(r.simple("Photo", "attachment attachment-template-default", "Photo attachment page."))
    if path.startswith("/author/"):
        return _html(r.simple("Author", "archive author", "Stories by this author."))
    return _feed_or_listing(r, path)


def _article(r: Renderer, path: str, post_id: int) -> Page:
    content = r.site.article_at(post_id, r.as_of)
    if content is None:
        return _not_found(r)
    if content.spec.path != path:
        return _redirect(r.url(content.spec.path))
    page = _html(r.article(content))
    modified = content.revision.modified.astimezone(UTC).replace(microsecond=0)
    page.headers["Last-Modified"] = format_datetime(modified, usegmt=True)
    return page


def _category(path: str) -> tuple[str | None, str | None, str] | None:
    """(section, subsection, heading) of a category folder path, or None."""
    parts = [p for p in path.split("/") if p]
    if parts == ["latestnews"]:
        return None, None, "Latest News"
    if parts == ["washingtonpost"]:
        return "news-services", "washingtonpost", "Washington Post"
    if len(parts) == 1 and parts[0] in SECTION_LABELS:
        return parts[0], None, SECTION_LABELS[parts[0]]
    if len(parts) == 2:
        section, sub = parts
        if section == "business" and sub == "market":
            sub = "markets"
        if (section, sub) in SUBSECTION_LABELS and sub != "washingtonpost":
            return section, sub, SUBSECTION_LABELS[(section, sub)]
    return None


def _feed_or_listing(r: Renderer, path: str) -> Page:
    is_feed = path.endswith("/feed/") or path.endswith("/feed")
    if r.plan.removed("feeds" if is_feed else "listings"):
        return _not_found(r)
    if path in ("/feed/", "/feed"):
        return Page(200, RSS_TYPE, r.feed(SITE_NAME, "/", r.newest(limit=FEED_SIZE)).encode("utf-8"))
    if path.endswith("/feed/") or path.endswith("/feed"):
        folder = path[: path.rindex("/feed")] + "/"
        cat = _category(folder)
        if cat is None or folder == "/latestnews/":
            return _not_found(r)
        section, sub, heading = cat
        items = r.newest(section, sub, limit=FEED_SIZE)
        return Page(200, RSS_TYPE, r.feed(f"{heading} &#8211; {SITE_NAME}", folder, items).encode("utf-8"))
    page = 1
    m = _PAGE_RE.match(path)
    if m:
        path, page = m.group("base"), int(m.group("n"))
        if page < 1:
            return _not_found(r)
        if page == 1:
            return _redirect(r.url(path))
    cat = _category(path)
    if cat is None:
        return _not_found(r)
    section, sub, heading = cat
    listing = r.listing(heading, path, r.newest(section, sub), page)
    return listing if listing is not None else _not_found(r)


def _not_found(r: Renderer) -> Page:
    return _html(r.simple("Page not found", "error404", "It looks like nothing was found at this location."), 404)
