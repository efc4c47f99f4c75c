"""Rheinkurier: a German-language legacy site in ISO-8859-1 (Europe/Berlin, CET -> CEST on 2024-03-31).

Pages are really encoded ISO-8859-1 and say so ONLY in ``<meta http-equiv="Content-Type">``; the HTTP
header is ``text/html`` without a charset. Markup is described in demo_site/README.md ("rheinkurier").
"""

from __future__ import annotations

import random
import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

from demo_site import text as gen
from demo_site.faults import FaultPlan
from demo_site.pages import PLACEHOLDER_JPEG, Page, attr, esc
from demo_site.sitebase import BaseSite, Content, Story, http_date, rss, slugify, url_of, urlset

BERLIN = ZoneInfo("Europe/Berlin")
CHARSET = "iso-8859-1"
HTML_TYPE = "text/html"  # no charset: the <meta http-equiv> is the only declaration
PAGE_SIZE = 20
FEED_SIZE = 20
MONTHS = ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober", "November",
          "Dezember")  # fmt: skip
KEYWORDS = {
    "politik": ("Landtag", "Stadtrat", "Wahl", "Haushalt"),
    "wirtschaft": ("Handel", "Arbeitsmarkt", "Mittelstand", "Energie"),
    "kultur": ("Theater", "Museum", "Konzert", "Literatur"),
    "sport": ("Fußball", "Handball", "Eishockey", "Leichtathletik"),
}

_ARTICLE_RE = re.compile(r"^/(?P<section>[a-z]+)/(?P<slug>[a-z0-9-]+)-a(?P<id>\d+)/?$")


def german_time(value: datetime) -> str:
    """``3. März 2024, 17:40 Uhr`` (the space before "Uhr" is a no-break space in the page)."""
    return f"{value.day}. {MONTHS[value.month - 1]} {value.year}, {value:%H:%M}\u00a0Uhr"


class RheinKurier(BaseSite):
    key = "rheinkurier"
    name = "Rheinkurier"
    language = "de"
    timezone = BERLIN
    charset = CHARSET
    default_days = (date(2024, 3, 29), date(2024, 3, 30), date(2024, 3, 31), date(2024, 4, 1), date(2024, 4, 2))
    sections = {
        "politik": ("Politik", "politics", None),
        "wirtschaft": ("Wirtschaft", "business", None),
        "kultur": ("Kultur", "culture", None),
        "sport": ("Sport", "sports", None),
    }
    first_id = 200311
    id_gap = (1, 9)
    premium_share = 0.2
    premium_blocks = 2
    article_scope = r"^/(?:politik|wirtschaft|kultur|sport)/[a-z0-9-]+-a\d+/$"
    hostile_target = "/sitemap.xml"
    dateline_re = re.compile(r"^([A-ZÄÖÜ][\wäöüß .\-]*?) \(rk\) - ")
    byline_prefix = "Von "
    byline_joiners = (" und ",)
    update_label = "Nachtrag"

    def fixed_slots(self, day: date) -> list[tuple[int, int, int]]:
        # 00:30 local is the previous UTC day; 02:30 on 2024-03-31 does not exist (it becomes 03:30 CEST)
        slots = [(23, 30, 0), (0, 30, 0)]
        if day == date(2024, 3, 31):
            slots.append((2, 30, 0))
        return slots

    def headline(self, rng: random.Random) -> str:
        return gen.de_headline(rng)

    def sentence(self, rng: random.Random) -> str:
        return gen.de_sentence(rng)

    def person(self, rng: random.Random) -> str:
        return gen.de_person(rng)

    def subheading(self, rng: random.Random) -> str:
        return rng.choice(gen.DE_SUBHEADS)

    def caption_and_credit(self, rng: random.Random) -> tuple[str, str]:
        return gen.de_caption(rng), rng.choice(gen.DE_CREDITS)

    def datelines(self) -> tuple[str, ...]:
        return gen.DE_DATELINES

    def with_dateline(self, dateline: str, text: str) -> str:
        return f"{dateline} (rk) - {text}"

    def byline_of(self, authors: tuple[str, ...]) -> str | None:
        if not authors:
            return None
        names = authors[0] if len(authors) == 1 else ", ".join(authors[:-1]) + " und " + authors[-1]
        return f"Von {names}"

    def keywords_of(self, rng: random.Random, story: Story) -> tuple[str, ...]:
        return tuple(rng.sample(KEYWORDS[story.section], 2))

    def access_raw(self, story: Story) -> str | None:
        return "RK+" if story.premium else None

    def image_path(self, story: Story) -> str:
        return f"bilder/{story.native_id}/aufmacher.jpg"

    def path(self, story: Story) -> str:
        return f"/{story.section}/{slugify(self.title_of(story))}-a{story.native_id}/"

    def render(self, path: str, query: dict[str, list[str]], base_url: str, as_of: datetime, plan: FaultPlan) -> Page:
        return _Renderer(self, base_url, as_of, plan).route(path, query)


class _Renderer:
    def __init__(self, site: RheinKurier, base_url: str, as_of: datetime, plan: FaultPlan) -> None:
        self.site = site
        self.base = base_url if base_url.endswith("/") else base_url + "/"
        self.as_of = as_of
        self.plan = plan

    def url(self, path: str) -> str:
        return url_of(self.base, path)

    def html(self, text: str, status: int = 200) -> Page:
        return Page(status, HTML_TYPE, text.encode(CHARSET))  # strict: every character must be Latin-1

    def not_found(self) -> Page:
        return self.html(self.shell("Seite nicht gefunden", "<h1>Seite nicht gefunden</h1>"), 404)

    def route(self, path: str, query: dict[str, list[str]]) -> Page:
        site, plan = self.site, self.plan
        if path == "/robots.txt":
            text = f"User-agent: *\nDisallow: /suche/\nDisallow: /_newsline/\n\nSitemap: {self.url('sitemap.xml')}\n"
            return Page(200, "text/plain", text.encode("ascii"))
        if path == "/sitemap.xml":
            if plan.removed("sitemap-index") or plan.removed("post-sitemaps"):
                return self.not_found()
            entries = [(self.url(site.path(s)), r.modified) for s, r in site.newest(self.as_of)]
            return Page(200, "application/xml; charset=UTF-8", urlset(entries, plan).encode("utf-8"))
        if path.startswith("/rss/") and path.endswith(".xml"):
            name = path[len("/rss/") : -len(".xml")]
            if plan.removed("feeds") or (name != "alle" and name not in site.sections):
                return self.not_found()
            section = None if name == "alle" else name
            rows = []
            for s, r in site.newest(self.as_of, section, FEED_SIZE):
                c = site.content(s, r)
                rows.append((c.title, self.url(site.path(s)), s.published, c.summary))
            title = "Rheinkurier" + (f" - {site.sections[name][0]}" if section else "")
            body = rss(title, self.base, "de-de", rows, plan, encoding="ISO-8859-1")
            return Page(200, "application/rss+xml", body.encode(CHARSET))
        if path == "/":
            return self.html(self.front(None, 1))
        if path.startswith("/bilder/") and path.endswith(".jpg"):
            return Page(200, "image/jpeg", PLACEHOLDER_JPEG)
        m = _ARTICLE_RE.match(path)
        if m and m.group("section") in site.sections:
            story = site.by_id.get(int(m.group("id")))
            rev = story.revision_at(self.as_of) if story is not None else None
            if story is None or rev is None:
                return self.not_found()
            if site.path(story) != path:
                return Page(301, HTML_TYPE, b"", {"Location": self.url(site.path(story))})
            page = self.html(self.article(site.content(story, rev)))
            page.headers["Last-Modified"] = http_date(rev.modified)
            return page
        section = path.strip("/")
        if path == f"/{section}/" and section in site.sections:
            if plan.removed("listings"):
                return self.not_found()
            raw = (query.get("seite") or ["1"])[0]
            if not raw.isdigit() or int(raw) < 1:
                return self.not_found()
            text = self.front(section, int(raw))
            return self.not_found() if text is None else self.html(text)
        if path in (f"/{section}",) and section in site.sections:
            return Page(301, HTML_TYPE, b"", {"Location": self.url(path + "/")})
        return self.not_found()

    # --- pages --------------------------------------------------------------------------------

    def shell(self, title: str, inner: str) -> str:
        nav = " ".join(f'<a href="{self.url(s + "/")}">{label}</a>' for s, (label, _, _) in self.site.sections.items())
        items = "".join(
            f'<li><a href="{attr(self.url(self.site.path(s)))}">{esc(self.site.content(s, r).title)}</a></li>'
            for s, r in self.site.newest(self.as_of, limit=5)
        )
        return (
            '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN">\n<html lang="de">\n<head>\n'
            '<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1">\n'
            f'<title>{esc(title)} - Rheinkurier</title>\n</head>\n<body id="rk">\n'
            f'<div id="kopf"><a class="rk-logo" href="{self.url("/")}">Rheinkurier</a> <div class="rk-nav">{nav}</div></div>\n'
            f'<div id="inhalt">\n{inner}\n<div id="spalte"><h3>Meistgelesen</h3><ul>{items}</ul></div>\n</div>\n'
            '<div id="fuss">Rheinkurier Verlag GmbH - Impressum - Datenschutz</div>\n</body>\n</html>\n'
        )

    def front(self, section: str | None, page_no: int) -> str | None:
        site = self.site
        items = site.newest(self.as_of, section)
        chunk = items[(page_no - 1) * PAGE_SIZE : page_no * PAGE_SIZE]
        if page_no > 1 and not chunk:
            return None
        lis = []
        for s, r in chunk:
            c = site.content(s, r)
            lis.append(
                f'<div class="rk-anriss"><h2><a href="{attr(self.url(site.path(s)))}">{esc(c.title)}</a></h2>'
                f"<p>{esc(c.summary)}</p></div>"
            )
        more = ""
        if section and len(items) > page_no * PAGE_SIZE:
            more = f'<a class="rk-weiter" href="{self.url(f"{section}/?seite={page_no + 1}")}">Weitere Artikel</a>'
        title = site.sections[section][0] if section else "Nachrichten aus dem Rheinland"
        return self.shell(title, f'<div class="rk-liste"><h1>{title}</h1>{"".join(lis)}{more}</div>')

    def article(self, c: Content) -> str:
        site, story, rev = self.site, c.story, c.revision
        label = site.sections[story.section][0]
        pub, mod = site.local(story.published), site.local(rev.modified)
        dates = f'<p class="rk-datum"><time datetime="{pub.isoformat()}">{german_time(pub)}</time></p>'
        if rev.n:
            dates += (
                f'<p class="rk-aktualisiert">{rev.n}. Aktualisierung: <time datetime="{mod.isoformat()}">'
                f"{german_time(mod)}</time></p>"
            )
        plus = '<span class="rk-plus">RK+</span> ' if story.premium else ""
        byline = f'<p class="rk-autor">{esc(c.byline)}</p>' if c.byline else ""
        image = ""
        if c.image_path:
            image = (
                f'<div class="rk-bild"><img src="{attr(self.url(c.image_path))}" alt="">'
                f'<p class="rk-bildunterschrift">{esc(c.image_caption or "")} '
                f'<span class="rk-quelle">{esc(c.image_credit or "")}</span></p></div>'
            )
        blocks = [
            f'<h3 class="rk-zwischentitel">{esc(b.text)}</h3>' if b.kind != "p" else f"<p>{esc(b.text)}</p>"
            for b in c.visible_blocks
        ]
        if len(blocks) > 2:
            blocks.insert(2, '<div class="rk-anzeige"><p>Anzeige</p></div>')
        if story.premium:
            blocks.append(
                '<div class="rk-plus-hinweis"><p>Weiterlesen mit RK+: Alle Artikel für 7,99 Euro im Monat.</p></div>'
            )
        keywords = ", ".join(c.keywords)
        inner = (
            f'<div class="artikel" id="artikel-a{story.native_id}">\n'
            f'<div class="rk-rubrik"><a href="{self.url(story.section + "/")}">{label}</a></div>\n'
            f'<h1 class="rk-titel">{plus}{esc(c.title)}</h1>\n<p class="rk-vorspann">{esc(c.summary)}</p>\n'
            f"{byline}\n{dates}\n{image}\n"
            '<div class="rk-text">\n' + "\n".join(blocks) + "\n</div>\n"
            '<div class="rk-teilen">Artikel teilen: E-Mail | Drucken</div>\n</div>'
        )
        head_extra = (
            f'<meta name="description" content="{attr(c.summary)}">\n<meta name="keywords" content="{attr(keywords)}">\n'
            f'<link rel="canonical" href="{attr(self.url(site.path(story)))}">\n'
        )
        return self.shell(c.title, inner).replace("</title>\n", "</title>\n" + head_extra, 1)
