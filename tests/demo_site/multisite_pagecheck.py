"""Independent readers of the three extra demo sites (lxml only, no demo_site code), written from the
markup section of demo_site/README.md: if they agree with the ground truth field by field, the README
describes the pages precisely enough for a site profile."""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from lxml import html as lxml_html

_WS = re.compile(r"\s+")
EN_DATELINE = re.compile(r"^([A-Z][A-Za-z .,'\-]*?) \u2014 ")
DE_DATELINE = re.compile(r"^([A-ZÄÖÜ][\wäöüß .\-]*?) \(rk\) - ")
NY = ZoneInfo("America/New_York")
META_CHARSET = re.compile(rb"<meta[^>]+charset=([A-Za-z0-9_-]+)", re.IGNORECASE)


def norm(value: str | None) -> str | None:
    if value is None:
        return None
    out = _WS.sub(" ", unicodedata.normalize("NFC", value)).strip()
    return out or None


def text(doc, xpath: str) -> str | None:
    return norm(doc.xpath(f"string({xpath})")) if doc.xpath(xpath) else None


def split_dateline(paragraphs: list[str], pattern: re.Pattern[str]) -> str | None:
    if not paragraphs:
        return None
    m = pattern.match(paragraphs[0])
    if not m:
        return None
    paragraphs[0] = paragraphs[0][m.end() :]
    return m.group(1)


def authors(byline: str | None, prefix: str, joiner: str) -> list[str]:
    if not byline:
        return []
    names = byline[len(prefix) :] if byline.startswith(prefix) else byline
    out = []
    for part in names.split(", "):
        out.extend(p.strip() for p in part.split(joiner))
    return [p for p in out if p]


def _figure(doc, img: str, caption: str, credit: str) -> tuple[str | None, str | None, str | None]:
    src = doc.xpath(f"{img}/@src")
    if not src:
        return None, None, None
    cap_el = doc.xpath(caption)[0]
    credit_text = text(doc, credit)
    full = norm(cap_el.text_content()) or ""
    cap = norm(full[: len(full) - len(credit_text or "")]) if credit_text and full.endswith(credit_text) else full
    return src[0], cap, credit_text


def _utc(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(UTC)


def read_metrotimes(body: bytes) -> dict:
    doc = lxml_html.fromstring(body.decode("utf-8"))
    meta = {el.get("property") or el.get("name"): el.get("content") for el in doc.xpath("//head/meta")}
    graph = json.loads(doc.xpath("string(//script[@type='application/ld+json'])"))["@graph"]
    article = next(n for n in graph if n["@type"] == "NewsArticle")
    content = doc.xpath("//div[@class='entry-content']")[0]
    paragraphs = [norm(el.text_content()) for el in content.xpath("./p[not(@class='read-more')] | ./h2")]
    paragraphs = [p for p in paragraphs if p]
    dateline = split_dateline(paragraphs, EN_DATELINE)
    body_text = "\n\n".join(paragraphs)
    updated = text(doc, "//span[@class='updated-on']")
    m = re.search(r"Update #(\d+)", updated or "")
    published_local = datetime.fromisoformat(doc.xpath("//time[contains(@class,'published')]/@datetime")[0])
    byline = text(doc, "//div[@class='entry-meta']/span[@class='byline']")
    post_id = re.search(r"\bpostid-(\d+)\b", doc.xpath("//body/@class")[0]).group(1)
    image, caption, credit = _figure(
        doc,
        "//figure[contains(@class,'post-thumbnail')]/img",
        "//figure/figcaption",
        "//figcaption/span[@class='photo-credit']",
    )
    section_href = doc.xpath("//div[@class='entry-categories']/a/@href")[0]
    return {
        "article_id": f"metrotimes:{post_id}",
        "url": doc.xpath("//link[@rel='canonical']/@href")[0],
        "title": text(doc, "//h1[@class='entry-title']"),
        "revision": int(m.group(1)) if m else 0,
        "date": published_local.date(),
        "dateline": dateline,
        "byline": byline,
        "authors": [a["name"] for a in article["author"]],
        "authors_from_byline": authors(byline, "By ", " and "),
        "body": body_text,
        "summary": norm(meta["description"]),
        "published_at": _utc(meta["article:published_time"]),
        "modified_at": _utc(meta["article:modified_time"]),
        "keywords": [el.get("content") for el in doc.xpath("//meta[@property='article:tag']")],
        "image_url": image,
        "image_caption": caption,
        "image_credit": credit,
        "section_native": section_href.split("/category/", 1)[1].strip("/"),
        "word_count": len(body_text.split()),
    }


def parse_prose(value: str) -> datetime:
    """``March 3, 2024 at 5:40 p.m. ET`` -> aware UTC."""
    value = value.replace("a.m.", "AM").replace("p.m.", "PM").removesuffix(" ET")
    return datetime.strptime(value, "%B %d, %Y at %I:%M %p").replace(tzinfo=NY).astimezone(UTC)


def read_valleyherald(body: bytes, url: str) -> dict:
    doc = lxml_html.fromstring(body.decode("utf-8"))
    story = doc.xpath("//div[@id='story']")[0]
    paragraphs = [
        norm(el.text_content()) for el in story.xpath("./div[@class='story-text']/p | ./div[@class='story-text']/h2")
    ]
    paragraphs = [p for p in paragraphs if p]
    dateline = split_dateline(paragraphs, EN_DATELINE)
    body_text = "\n\n".join(paragraphs)
    published = parse_prose(text(story, ".//span[@class='story-published']"))
    updated = text(story, ".//span[@class='story-updated']")
    revision, modified = 0, published
    if updated:
        m = re.match(r"Updated (.+ ET) \(update (\d+)\)$", updated)
        modified, revision = parse_prose(m.group(1)), int(m.group(2))
    byline = text(story, "./div[@class='story-byline']")
    image, caption, credit = _figure(
        story, ".//figure[@class='story-photo']/img", ".//figure/figcaption", ".//span[@class='caption-credit']"
    )
    m = re.search(r"/news/([a-z-]+)/[a-z0-9-]+-(\d+)\.html$", url)
    return {
        "article_id": f"valleyherald:{m.group(2)}",
        "title": text(story, "./h1[@class='story-headline']"),
        "revision": revision,
        "date": published.astimezone(NY).date(),
        "dateline": dateline,
        "byline": byline,
        "authors": authors(byline, "By ", " and "),
        "body": body_text,
        "summary": text(story, "./p[@class='story-dek']"),
        "published_at": published,
        "modified_at": modified,
        "access": "premium" if story.xpath(".//div[@class='paywall-teaser']") else "free",
        "image_url": image,
        "image_caption": caption,
        "image_credit": credit,
        "section_native": m.group(1),
        "word_count": len(body_text.split()),
    }


def decode_by_meta(body: bytes, content_type: str) -> str:
    """What a browser does here: no charset in the header, so the <meta> decides."""
    assert "charset" not in content_type.lower()
    m = META_CHARSET.search(body[:1024])
    assert m, "no charset declared in the page"
    return body.decode(m.group(1).decode("ascii"))


def read_rheinkurier(body: bytes, content_type: str) -> dict:
    doc = lxml_html.fromstring(decode_by_meta(body, content_type))
    art = doc.xpath("//div[@class='artikel']")[0]
    paragraphs = [norm(el.text_content()) for el in art.xpath("./div[@class='rk-text']/p | ./div[@class='rk-text']/h3")]
    paragraphs = [p for p in paragraphs if p]
    dateline = split_dateline(paragraphs, DE_DATELINE)
    body_text = "\n\n".join(paragraphs)
    h1 = art.xpath("./h1[@class='rk-titel']")[0]
    plus = h1.xpath("./span[@class='rk-plus']")
    title = norm(h1.text_content())
    if plus:
        title = norm(title[len(norm(plus[0].text_content())) :])
    published_local = datetime.fromisoformat(art.xpath("./p[@class='rk-datum']/time/@datetime")[0])
    upd = art.xpath("./p[@class='rk-aktualisiert']")
    revision, modified = 0, published_local
    if upd:
        revision = int(re.match(r"(\d+)\. Aktualisierung", norm(upd[0].text_content())).group(1))
        modified = datetime.fromisoformat(upd[0].xpath("./time/@datetime")[0])
    byline = text(art, "./p[@class='rk-autor']")
    image, caption, credit = _figure(
        art, ".//div[@class='rk-bild']/img", ".//p[@class='rk-bildunterschrift']", ".//span[@class='rk-quelle']"
    )
    native_id = art.get("id").removeprefix("artikel-a")
    keywords = doc.xpath("//meta[@name='keywords']/@content")[0]
    return {
        "article_id": f"rheinkurier:{native_id}",
        "url": doc.xpath("//link[@rel='canonical']/@href")[0],
        "title": title,
        "revision": revision,
        "date": published_local.date(),
        "dateline": dateline,
        "byline": byline,
        "authors": authors(byline, "Von ", " und "),
        "body": body_text,
        "summary": text(art, "./p[@class='rk-vorspann']"),
        "published_at": published_local.astimezone(UTC),
        "modified_at": modified.astimezone(UTC),
        "access": "premium" if plus else "free",
        "keywords": [k for k in keywords.split(", ") if k],
        "image_url": image,
        "image_caption": caption,
        "image_credit": credit,
        "section_native": art.xpath("./div[@class='rk-rubrik']/a/@href")[0].rstrip("/").rsplit("/", 1)[1],
        "word_count": len(body_text.split()),
    }
