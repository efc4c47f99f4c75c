"""Per-site configuration: adding a site is adding an entry here (and a parser in crawler/parsers)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Site:
    key: str  # short slug used in article_id and paths
    name: str
    timezone: str  # the site's own timezone: the logical day is a day of this zone
    live_base_url: str
    spider: str  # Scrapy spider name
    language: str = "en"


SITES: dict[str, Site] = {
    "japannews": Site(
        key="japannews",
        name="The Japan News",
        timezone="Asia/Tokyo",
        live_base_url="https://japannews.yomiuri.co.jp/",
        spider="japannews",
    ),
}


def get_site(key: str) -> Site:
    try:
        return SITES[key]
    except KeyError:
        raise ValueError(f"unknown site {key!r}; known: {', '.join(sorted(SITES))}") from None
