"""A huge sitemap set for a demo site: an archive of N article URLs, generated on the fly.

``BigSitemaps(urls=1_000_000)`` turns a demo site into a site with a long past: its own sitemap
index (``/sitemap.xml``) gains ``ceil(N / 50,000)`` archive children, one per month going back from
the month before the site's first demo month, each a ``<urlset>`` of at most 50,000 URLs (the
sitemap protocol's cap), optionally gzipped (``.xml.gz``). Everything else (robots.txt, the demo
days' own month sitemaps, the news sitemap, the articles) is the site's own.

What a crawler of one demo day meets: every archive URL is an article URL of the site's pattern
(``/news/archive/YYYYMMDD-ID/``) dated on a day of its own month, with a ``<lastmod>`` on that day,
so none of them is of the crawled day; the index lists the archive children **without**
``<lastmod>`` (as many CMSs write it), so a crawler cannot skip them and must read and filter
all N URLs to find the day's articles, which live in the site's real month sitemap.

The set is deterministic (a pure function of N, the file size and the site's first month) and each
file is rendered when asked for, so the server holds no more than one file at a time per request.
Archive article pages are not served (404): a correct discovery of a demo day never asks for one.
"""

from __future__ import annotations

import gzip
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

#: The sitemap protocol's cap on URLs per file.
MAX_URLS_PER_FILE = 50_000
#: Archive children are named like the site's monthly sitemaps, in this folder-less form.
ARCHIVE_NAME = "sitemap-posttype-post.{year}{month}.xml"
_ARCHIVE_RE = re.compile(r"^/sitemap-posttype-post\.(?P<y>\d{4})(?P<m>\d{1,2})\.xml(?P<gz>\.gz)?$")
#: First native id of the archive (the demo's own ids are far below it).
ARCHIVE_ID_BASE = 90_000_000
_ARCHIVE_ARTICLE_RE = re.compile(r"^/news/archive/\d{8}-(?P<id>\d+)/$")


def _months_before(year: int, month: int, count: int) -> list[tuple[int, int]]:
    """The ``count`` months before (year, month), newest first."""
    out = []
    for _ in range(count):
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
        out.append((year, month))
    return out


@dataclass(frozen=True)
class BigSitemaps:
    """An archive of ``urls`` article URLs in files of ``per_file`` URLs, gzipped when ``gzip``."""

    urls: int
    per_file: int = MAX_URLS_PER_FILE
    gzip: bool = False

    def __post_init__(self) -> None:
        if self.urls < 0:
            raise ValueError(f"the archive needs a URL count >= 0, got {self.urls}")
        if not 1 <= self.per_file <= MAX_URLS_PER_FILE:
            raise ValueError(f"a sitemap holds 1..{MAX_URLS_PER_FILE} URLs, got {self.per_file}")

    @classmethod
    def parse(cls, spec: str) -> BigSitemaps:
        """``"1000000"``, ``"1000000,gz"`` or ``"100000,gz,per_file=20000"`` (the ``--big-sitemap`` flag)."""
        parts = [p.strip() for p in spec.split(",") if p.strip()]
        if not parts:
            raise ValueError("--big-sitemap needs a URL count, e.g. 1000000 or 1000000,gz")
        try:
            urls = int(parts[0].replace("_", ""))
            kwargs: dict[str, object] = {}
            for part in parts[1:]:
                if part == "gz":
                    kwargs["gzip"] = True
                elif part.startswith("per_file="):
                    kwargs["per_file"] = int(part.split("=", 1)[1])
                else:
                    raise ValueError(f"unknown --big-sitemap option {part!r} (gz, per_file=N)")
        except ValueError as exc:
            raise ValueError(f"bad --big-sitemap {spec!r}: {exc}") from exc
        return cls(urls=urls, **kwargs)  # type: ignore[arg-type]

    @property
    def files(self) -> int:
        return math.ceil(self.urls / self.per_file)

    def months(self, first_month: tuple[int, int]) -> list[tuple[int, int]]:
        """The archive's months, newest first, ending before the site's ``first_month``."""
        return _months_before(*first_month, self.files)

    def file_name(self, year: int, month: int) -> str:
        name = ARCHIVE_NAME.format(year=year, month=month)
        return name + ".gz" if self.gzip else name

    def index_rows(self, base_url: str, first_month: tuple[int, int]) -> str:
        """``<sitemap>`` rows of the archive children (no ``<lastmod>``), to add to the site's index."""
        return "".join(
            f"<sitemap><loc>{base_url}{self.file_name(y, m)}</loc></sitemap>\n" for y, m in self.months(first_month)
        )

    def urls_of(self, position: int) -> range:
        """Global indices of the archive URLs in the ``position``-th file (0 = newest month)."""
        start = position * self.per_file
        return range(start, min(self.urls, start + self.per_file))

    def rows(self, base_url: str, year: int, month: int, indices: range, tz: timezone) -> Iterator[str]:
        """The ``<url>`` rows of one archive month: URLs spread evenly over the month's days."""
        days_in_month = (date(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)).day
        span = max(1, len(indices))
        for n, i in enumerate(indices):
            day = 1 + (n * days_in_month) // span
            stamp = datetime(year, month, day, 6, 0, tzinfo=tz) + timedelta(seconds=(i * 37) % 50_000)
            yield (
                f"<url><loc>{base_url}news/archive/{year:04d}{month:02d}{day:02d}-{ARCHIVE_ID_BASE + i}/</loc>"
                f"<lastmod>{stamp.isoformat()}</lastmod></url>\n"
            )

    def urlset(self, base_url: str, year: int, month: int, first_month: tuple[int, int], tz: timezone) -> bytes | None:
        """One archive file's body (gzipped when so configured); None when (year, month) is not one."""
        months = self.months(first_month)
        if (year, month) not in months:
            return None
        indices = self.urls_of(months.index((year, month)))
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
            + "".join(self.rows(base_url, year, month, indices, tz))
            + "</urlset>\n"
        ).encode("utf-8")
        return gzip.compress(body, compresslevel=1, mtime=0) if self.gzip else body

    def archive_file(self, path: str) -> tuple[int, int, bool] | None:
        """(year, month, gzipped) of an archive file path; None for any other path."""
        m = _ARCHIVE_RE.match(path)
        if not m or bool(m.group("gz")) != self.gzip:
            return None
        return int(m.group("y")), int(m.group("m")), self.gzip

    @staticmethod
    def is_archive_article(path: str) -> bool:
        return _ARCHIVE_ARTICLE_RE.match(path) is not None

    @staticmethod
    def add_to_index(index: bytes, rows: str) -> bytes:
        """The site's sitemap index with ``rows`` added before its closing tag."""
        closing = b"</sitemapindex>"
        at = index.rfind(closing)
        if at < 0:
            return index
        return index[:at] + rows.encode("utf-8") + index[at:]
