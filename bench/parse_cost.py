"""Benchmark 1: parse cost — Japan News article pages per second through our parser vs
``trafilatura.extract`` on the same demo pages, alternated in one process (aim: at least 5x faster),
with body-text quality of both scored against the demo's ground truth.

Pages are rendered in-process by the demo site's own router (no HTTP: only parsing is timed).
Quality is a bag-of-words comparison of the extracted body text with the truth (dateline + body,
which is everything the page shows as article text): precision, recall and F1 over lower-cased word
tokens, micro-averaged over all pages. Boilerplate leakage counts pages whose extracted text holds
page chrome: sidebar/ranking headings, the cookie or ad-block notices, the subscription offer, or the
headline of another article linked from the sidebars.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlsplit

from bench.common import BenchResult, check, interleaved, med

BASE_URL = "http://127.0.0.1:8765/"
DAY = date(2024, 9, 6)
AIM = ">= 5"
#: Page chrome that must never reach an article body.
CHROME_MARKERS = ("POPULAR ARTICLE", "JN ACCESS RANKING", "Latest Articles", "Popular Articles",
                  "disable the ad blocking", "uses cookies", "for subscribers only", "Subscribe to read")
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass
class DemoPage:
    url: str
    body: bytes
    truth_text: str
    other_titles: list[str]  # headlines of other articles linked from this page's sidebars


def render_pages(n: int) -> list[DemoPage]:
    """``n`` article pages of one demo day, rendered by the demo site's router, with their truth."""
    from lxml import html as lxml_html

    from demo_site.generator import DemoSite
    from demo_site.pages import Renderer, route

    site = DemoSite(days=[DAY], articles_per_day=n)
    renderer = Renderer(site, BASE_URL)
    pages = []
    for rec in site.truth(BASE_URL, day=DAY)[:n]:
        page = route(renderer, urlsplit(rec["url"]).path, {})
        if page.status != 200:
            continue
        doc = lxml_html.fromstring(page.body)
        titles = [" ".join(a.text_content().split()).rstrip(".… ")
                  for a in doc.xpath("//div[contains(@class,'ranking') or contains(@class,'related')]//a")]
        truth = "\n\n".join(t for t in (rec["dateline"] and f"{rec['dateline']} —", rec["body"]) if t)
        pages.append(DemoPage(rec["url"], page.body, truth, [t for t in titles if len(t) >= 20]))
    return pages


def ours(page: DemoPage) -> str:
    from crawler.parsers import get_parser

    item = get_parser("japannews")(page.body, page.url)
    return "\n\n".join(item.paragraphs)


def trafilatura_text(page: DemoPage) -> str:
    import trafilatura

    return trafilatura.extract(page.body, url=page.url) or ""


def tokens(text: str) -> Counter[str]:
    return Counter(w.lower() for w in _WORD.findall(text))


def quality(pages: list[DemoPage], extract: Callable[[DemoPage], str]) -> dict[str, float]:
    """Micro-averaged bag-of-words precision/recall/F1 against the truth, and leaking pages."""
    hit = got = want = 0
    leaks = 0
    for page in pages:
        text = extract(page)
        out, truth = tokens(text), tokens(page.truth_text)
        hit += sum((out & truth).values())
        got += sum(out.values())
        want += sum(truth.values())
        if any(m in text for m in CHROME_MARKERS) or any(t in text for t in page.other_titles):
            leaks += 1
    precision = hit / got if got else 0.0
    recall = hit / want if want else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "leaks": float(leaks)}


def run(pages: int = 300, rounds: int = 5) -> list[BenchResult]:
    logging.getLogger("trafilatura").setLevel(logging.ERROR)
    sample = render_pages(pages)
    for page in sample[:3]:  # warm both (imports, lazily built selectors) outside the timing
        ours(page)
        trafilatura_text(page)

    def loop(fn: Callable[[DemoPage], str]) -> Callable[[], None]:
        def go() -> None:
            for page in sample:
                fn(page)
        return go

    times = interleaved({"ours": loop(ours), "trafilatura": loop(trafilatura_text)}, rounds)
    ours_pps = len(sample) / med(times["ours"])
    traf_pps = len(sample) / med(times["trafilatura"])
    ratio = ours_pps / traf_pps
    q_ours, q_traf = quality(sample, ours), quality(sample, trafilatura_text)
    same_or_better = q_ours["f1"] >= q_traf["f1"] and q_ours["leaks"] <= q_traf["leaks"]

    def fmt(q: dict[str, float]) -> str:
        return (f"F1 {q['f1']:.3f} (P {q['precision']:.3f}, R {q['recall']:.3f}), "
                f"chrome leaked on {int(q['leaks'])}/{len(sample)} pages")

    return [BenchResult(
        name=f"Parse: our parser vs trafilatura.extract, pages/s ({len(sample)} demo pages)", ratio=ratio, aim=AIM,
        met=check(ratio, AIM) and same_or_better,
        detail=(f"ours {ours_pps:.0f} pages/s, trafilatura {traf_pps:.0f} pages/s (median of {rounds} alternated "
                f"rounds); body vs truth: ours {fmt(q_ours)}; trafilatura {fmt(q_traf)}; "
                f"same or better text: {'yes' if same_or_better else 'NO'}"),
        extra={"ours_pps": ours_pps, "trafilatura_pps": traf_pps, "ours_f1": q_ours["f1"],
               "trafilatura_f1": q_traf["f1"], "ours_leaks": q_ours["leaks"],
               "trafilatura_leaks": q_traf["leaks"]})]
