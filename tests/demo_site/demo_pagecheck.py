"""An independent reading of demo pages (lxml, no demo_site or crawler code) to check the ground truth."""

from __future__ import annotations

import http.client
import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from lxml import html as lxml_html

_WS = re.compile(r"\s+")
_UPDATE = re.compile(r"\s*\(update\s+(\d+)\)\s*$", re.IGNORECASE)
_DATELINE = re.compile(r"^([A-Z][A-Z .,'\-]*?) \u2014 ")


def norm(value: str | None) -> str | None:
    if value is None:
        return None
    out = _WS.sub(" ", unicodedata.normalize("NFC", value)).strip()
    return out or None


def read_article(body: bytes | str) -> dict:
    doc = lxml_html.fromstring(body)
    h1 = norm(doc.xpath("string(//div[@class='bloc_1']/h1)"))
    m = _UPDATE.search(h1 or "")
    title, revision = (h1[: m.start()], int(m.group(1))) if m else (h1, 0)
    block = doc.xpath("//div[@id='p-article-block']")[0]
    paragraphs = [norm(el.text_content()) for el in block.xpath("./p[not(@class)] | ./h2")]
    paragraphs = [p for p in paragraphs if p]
    dateline = None
    d = _DATELINE.match(paragraphs[0])
    if d:
        dateline, paragraphs[0] = d.group(1), paragraphs[0][d.end() :]
    byline = norm(block.xpath("string(./p[@class='byline'])"))
    meta = {el.get("property") or el.get("name"): el.get("content") for el in doc.xpath("//meta")}
    jsonld = json.loads(doc.xpath("string(//script[@type='application/ld+json'])"))
    fig = block.xpath(".//figure")
    image_url = image_credit = image_caption = None
    if fig:
        image_url = fig[0].xpath("string(.//img/@src)")
        cap = fig[0].xpath(".//figcaption")[0]
        image_credit = norm(cap.xpath("string(./span)"))
        image_caption = norm("".join(cap.xpath("./text()")))
    access_raw = meta.get("cXenseParse:yoj-articletype")
    return {
        "url": doc.xpath("string(//link[@rel='canonical']/@href)"),
        "title": title,
        "revision": revision,
        "dateline": dateline,
        "byline": byline,
        "body": "\n\n".join(paragraphs),
        "published_at": _utc(meta["article:published_time"]),
        "modified_at": _utc(meta["article:modified_time"]),
        "access_raw": access_raw,
        "access": "free" if access_raw == "free" else "premium",
        "keywords": [re.sub(r"^\(\d+\) ", "", jsonld["keywords"])],
        "image_url": image_url,
        "image_credit": image_credit,
        "image_caption": image_caption,
        "language": doc.get("lang"),
        "summary": norm(re.sub(r"<[^>]+>", "", meta["og:description"])),
    }


def _utc(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(UTC)


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


def fetch(url: str, method: str = "GET", timeout: float = 10.0) -> Response:
    """One raw request with http.client: no redirects followed, no decoding."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        conn.request(method, target or "/")
        resp = conn.getresponse()
        body = resp.read()
        return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, body)
    finally:
        conn.close()
