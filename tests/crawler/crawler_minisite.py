"""A tiny in-process site for spider tests: The Japan News' discovery documents and article pages
(markup of the fixtures, placeholder text), served on 127.0.0.1 with scriptable faults.

Independent of demo_site/ so the crawler's own tests do not depend on another area's progress."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

JST = ZoneInfo("Asia/Tokyo")
TEMPLATE = (Path(__file__).parent / "fixtures" / "article_full" / "page.html").read_text("utf-8")
TEMPLATE_PATH = "/politics/politics-government/20241013-216478/"

#: (status, headers, body) or a callable producing it from the request handler.
Route = tuple[int, dict[str, str], bytes]


@dataclass
class Article:
    section: str
    subsection: str
    post_id: int
    published: datetime  # aware, JST
    modified: datetime
    title: str

    @property
    def path(self) -> str:
        return f"/{self.section}/{self.subsection}/{self.published.strftime('%Y%m%d')}-{self.post_id}/"

    def html(self, base: str) -> bytes:
        page = TEMPLATE.replace("https://japannews.yomiuri.co.jp/", base)
        page = page.replace(TEMPLATE_PATH, self.path).replace("216478", str(self.post_id))
        page = page.replace("Placeholder Council Agrees on Lantern Budget", self.title)
        page = page.replace("2024-10-13T17:41:00+09:00", self.published.isoformat(timespec="seconds"))
        page = page.replace("2024-10-13T18:05:00+09:00", self.modified.isoformat(timespec="seconds"))
        page = page.replace("single_politics single_politics-government", f"single_{self.section} single_{self.subsection}")
        return page.encode("utf-8")


@dataclass
class MiniSite:
    day: date
    articles: list[Article] = field(default_factory=list)
    routes: dict[str, Any] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/"

    def add(self, section: str, subsection: str, post_id: int, published: datetime, modified: datetime | None = None,
            title: str | None = None) -> Article:
        art = Article(section, subsection, post_id, published, modified or published,
                      title or f"Placeholder Story Number {post_id}")
        self.articles.append(art)
        return art

    # --- documents --------------------------------------------------------------------------------

    def months(self) -> dict[tuple[int, int], list[Article]]:
        out: dict[tuple[int, int], list[Article]] = {}
        for a in self.articles:
            out.setdefault((a.published.year, a.published.month), []).append(a)
        return out

    @staticmethod
    def month_name(year: int, month: int) -> str:
        """The plugin writes the month unpadded for some months: use that spelling for Jan-Sep."""
        return f"sitemap-posttype-post.{year}{month}.xml"

    def build(self) -> None:
        base = self.base_url
        self.routes.setdefault("/robots.txt", (200, {"Content-Type": "text/plain"}, (
            f"User-agent: *\nDisallow: /wp-admin/\nAllow: /wp-admin/admin-ajax.php\n\n"
            f"Sitemap: {base}sitemap.xml\nSitemap: {base}sitemap-news.xml\n").encode()))
        index = ['<?xml version="1.0" encoding="UTF-8"?>', '<?xml-stylesheet type="text/xsl" href="/sitemap.xsl"?>',
                 '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">',
                 f"<sitemap><loc>{base}sitemap-root.xml</loc></sitemap>",
                 f"<sitemap><loc>{base}sitemap-taxonomy-category.xml</loc></sitemap>"]
        for (year, month), arts in sorted(self.months().items()):
            name = self.month_name(year, month)
            lastmod = max(a.modified for a in arts).isoformat(timespec="seconds")
            index.append(f"<sitemap><loc>{base}{name}</loc><lastmod>{lastmod}</lastmod></sitemap>")
            urls = ['<?xml version="1.0" encoding="UTF-8"?>',
                    '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">']
            for a in arts:
                urls.append(f"<url><loc>{base}{a.path.lstrip('/')}</loc>"
                            f"<lastmod>{a.modified.isoformat(timespec='seconds')}</lastmod></url>")
            urls.append(f"<url><loc>{base}politics/politics-government/20241013-216478/attachment/216479/</loc></url>")
            urls.append("<url><loc>http://offsite.invalid/politics/politics-government/"
                        f"{self.day.strftime('%Y%m%d')}-999999/</loc></url>")
            urls.append("</urlset>")
            self.routes.setdefault(f"/{name}", (200, {"Content-Type": "application/xml"}, "\n".join(urls).encode()))
        index.append(f"<sitemap><loc>{base}sitemap-news.xml</loc></sitemap>")
        index.append("</sitemapindex>")
        self.routes.setdefault("/sitemap.xml", (200, {"Content-Type": "application/xml"}, "\n".join(index).encode()))
        recent = [a for a in self.articles if a.published.date() >= self.day - timedelta(days=1)]
        news = ['<?xml version="1.0" encoding="UTF-8"?>',
                '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
                'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">']
        for a in recent:
            news.append(f"<url><loc>{base}{a.path.lstrip('/')}</loc><news:news><news:publication>"
                        "<news:name>The Japan News</news:name><news:language>en</news:language></news:publication>"
                        f"<news:publication_date>{a.published.isoformat(timespec='seconds')}</news:publication_date>"
                        f"<news:title>{escape(a.title)}</news:title></news:news></url>")
        news.append("</urlset>")
        self.routes.setdefault("/sitemap-news.xml", (200, {"Content-Type": "application/xml"}, "\n".join(news).encode()))
        newest = sorted(self.articles, key=lambda a: a.published, reverse=True)
        items = "".join(
            f"<item><title>{escape(a.title)}</title><link>{base}{a.path.lstrip('/')}</link>"
            f"<pubDate>{a.published.astimezone(UTC).strftime('%a, %d %b %Y %H:%M:%S +0000')}</pubDate></item>"
            for a in newest[:3]
        )
        self.routes.setdefault("/feed/", (200, {"Content-Type": "application/rss+xml"}, (
            f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>The Japan News</title>'
            f"{items}</channel></rss>").encode()))
        per_page = 2
        for n in range(0, len(newest), per_page):
            page_no = n // per_page + 1
            lis = "".join(
                f'<li class="clearfix"><a href="{base}{a.path.lstrip("/")}"><figure><img src="x.jpg"></figure>'
                f"<h2>{escape(a.title)}</h2><h3>{a.subsection}</h3><p>{a.published:%B %d, %Y}</p></a></li>"
                for a in newest[n:n + per_page]
            )
            path = "/latestnews/" if page_no == 1 else f"/latestnews/page/{page_no}/"
            self.routes.setdefault(path, (200, {"Content-Type": "text/html; charset=UTF-8"}, (
                f'<html lang="en"><body class="archive category"><ul>{lis}</ul></body></html>').encode()))
        for a in self.articles:
            self.routes.setdefault(a.path, (200, {"Content-Type": "text/html; charset=UTF-8"}, a.html(base)))

    # --- server -----------------------------------------------------------------------------------

    def start(self) -> MiniSite:
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server API
                site.requests.append((self.path, {k: v for k, v in self.headers.items()}))
                route = site.routes.get(self.path)
                if callable(route):
                    route = route(self)
                if route is None:
                    route = (404, {"Content-Type": "text/html"}, b"<html><body><h1>Not found</h1></body></html>")
                if route == "reset":  # drop the connection without an answer
                    self.close_connection = True
                    self.wfile.flush()
                    self.connection.shutdown(2)
                    return
                status, headers, body = route
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                if "Content-Length" not in headers:  # a route may lie about it to simulate truncation
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.build()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def fetched_paths(self) -> list[str]:
        return [p for p, _ in self.requests]


def jst(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=JST)


def standard_site(day: date = date(2024, 10, 13)) -> tuple[MiniSite, set[str]]:
    """A site around ``day`` and the article paths a crawl of ``day`` must discover."""
    site = MiniSite(day)
    before, after = day - timedelta(days=1), day + timedelta(days=1)
    expected = set()
    for i, (sec, sub, hh) in enumerate([("politics", "politics-government", 0), ("world", "asia-pacific", 9),
                                          ("society", "general-news", 23)]):
        expected.add(site.add(sec, sub, 300 + i, jst(day, hh, 5 if hh == 0 else 30)).path)
    expected.add(site.add("business", "economy", 290, jst(before, 20), modified=jst(day, 10)).path)
    expected.add(site.add("culture", "art", 150, jst(date(2024, 9, 2), 8), modified=jst(day, 0, 1)).path)
    site.add("sports", "baseball", 291, jst(before, 23, 59), modified=jst(before, 23, 59))
    site.add("sports", "sumo", 289, jst(before, 12), modified=jst(after, 0, 0))
    site.add("science-nature", "science", 310, jst(after, 0, 0))
    site.add("culture", "film-tv", 140, jst(date(2024, 9, 1), 8))
    return site, expected


Callback = Callable[[BaseHTTPRequestHandler], Route]
