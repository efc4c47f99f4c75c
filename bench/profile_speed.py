"""Benchmark: the profile path against trafilatura on the same pages (aim: at least 5× the pages per second).

The pages are the demo sites' articles (metrotimes, valleyherald, rheinkurier: sites read by declarative
profiles), fetched once into memory. Each round parses every page with the site's bare profile parser
(``crawler.parsers.site_parser``: declared fields and body, no drift sample) and with
``trafilatura.extract``, interleaved so both see the same machine load; the median round decides."""

from __future__ import annotations

import time
import urllib.request

from bench.common import BenchResult, check, med

SITES = ("metrotimes", "valleyherald", "rheinkurier")


def _pages() -> list[tuple[str, str, bytes]]:
    from demo_site.world import DemoWorld

    pages = []
    with DemoWorld(sites=list(SITES)) as world:
        for key in SITES:
            for rec in world.truth(key):
                with urllib.request.urlopen(rec["url"]) as resp:
                    pages.append((key, rec["url"], resp.read()))
    return pages


def run(rounds: int = 3) -> list[BenchResult]:
    import trafilatura

    from crawler.parsers import site_parser

    pages = _pages()
    parsers = {key: site_parser(key) for key in SITES}
    ours, theirs = [], []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for key, url, body in pages:
            parsers[key](body, url)
        ours.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        for _key, url, body in pages:
            trafilatura.extract(body, url=url)
        theirs.append(time.perf_counter() - t0)
    ratio = med(theirs) / med(ours)
    n = len(pages)
    return [BenchResult(
        name="Profile path vs trafilatura.extract, pages/s ratio", ratio=ratio, aim=">= 5.0",
        met=check(ratio, ">= 5.0"),
        detail=f"{n / med(ours):.0f} vs {n / med(theirs):.0f} pages/s on {n} demo pages of {', '.join(SITES)}; "
               f"median of {rounds} interleaved rounds")]
