"""A site profile's declared fields → raw ArticleItem. Pure: text in, item out, no IO.

Each field of the profile has an ordered list of sources (JSON-LD key path, meta, CSS, XPath, a URL
group, a constant), each with optional regex clean-ups, a strptime date format and a splitter; the
first source that yields a value wins, and the item records which one did (``extraction``). The body
comes from the profile's container/blocks/exclusions. Every field the profile leaves out (or whose
sources all come up empty) falls back to the generic extractor.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import urljoin

from lxml import etree
from parsel import Selector

from core.items import ArticleItem
from core.sites import FieldSource, SiteProfile
from crawler.discovery import article_url_info, url_path
from crawler.parsers.base import (
    PageRejected,
    challenge_reason,
    clean_or_none,
    decode_html,
    element_text,
)
from crawler.parsers.jsonld import article_node, jsonld_blocks

log = logging.getLogger(__name__)

#: Fields whose value is a list.
LIST_FIELDS = frozenset({"authors", "keywords"})
#: Item fields that hold a URL (made absolute against the page URL).
URL_FIELDS = frozenset({"image_url", "canonical_url"})
#: Fields the generic extractor fills when a profile does not declare them.
GENERIC_FIELDS = ("title", "published_at", "modified_at", "byline", "authors", "summary", "image_url", "keywords",
                  "section", "canonical_url", "language")
#: Profile field name → ArticleItem attribute.
ITEM_ATTR = {"published_at": "published_time", "modified_at": "modified_time", "summary": "description"}


def parse_with_profile(site: SiteProfile, body: bytes | str, url: str, *, encoding: str | None = None) -> ArticleItem:
    """Extract one article page with the site's declared fields (generic extractor for the rest).

    Raises ``PageRejected`` for empty/challenge pages, non-article pages and pages without a title or
    body; never any other exception, whatever the input."""
    try:
        return _parse(site, body, url, encoding)
    except PageRejected:
        raise
    except Exception as exc:  # noqa: BLE001 - the contract: only PageRejected ever leaves a parser
        log.warning("unparseable page %s: %r", url, exc)
        raise PageRejected("malformed", f"unparseable page: {type(exc).__name__}: {exc}") from exc


def _parse(site: SiteProfile, body: bytes | str, url: str, encoding: str | None) -> ArticleItem:
    text = decode_html(body, encoding=encoding)
    if not text.strip():
        raise PageRejected("blocked", "empty document")
    if "<" not in text:
        raise PageRejected("blocked", "document has no HTML markup")
    sel = Selector(text=text, type="html")
    if not isinstance(sel.root, etree._Element):
        raise PageRejected("blocked", "document has no HTML content")
    container = None
    if site.body is not None:
        found = sel.css(site.body.container)
        container = found[0] if found else None
        if container is None:
            reason = challenge_reason(sel)
            if reason:
                raise PageRejected("blocked", reason)
            raise PageRejected("not_article", f"no article body ({site.body.container!r} matches nothing)")

    ctx = _Context(site=site, sel=sel, url=url, node=article_node(jsonld_blocks(sel)))
    values: dict[str, Any] = {}
    provenance: dict[str, str] = {}
    for name, sources in site.fields.items():
        value, how = ctx.first(name, sources)
        if value not in (None, [], ""):
            values[name] = value
            provenance[name] = how

    paragraphs: list[str] = []
    if container is not None and site.body is not None:
        paragraphs = body_blocks(container, site.body.blocks, site.body.exclude)
        if paragraphs:
            provenance["body"] = "profile"

    # Fields the profile does not declare come from the generic extractor. A declared field whose sources
    # find nothing on this page stays empty (the profile says where it lives; absent means absent), and
    # `field: []` declares that the site has none: the generic extractor then never runs on a page whose
    # profile declares every field and the body.
    missing = [f for f in GENERIC_FIELDS if f not in site.fields]
    if "title" in site.fields and "title" not in values:
        missing.append("title")  # a page without a title is broken; the generic title is the last resort
    generic = None
    if not paragraphs or missing:
        generic = _generic(text, url, site)
    if generic is not None:
        for name in missing:
            value = generic.get(name)
            if value not in (None, [], ""):
                values[name] = value
                provenance[name] = f"generic:{generic.get('_provenance', {}).get(name, 'generic')}"
        if not paragraphs and generic.get("paragraphs"):
            paragraphs = list(generic["paragraphs"])
            provenance["body"] = f"generic:{generic.get('_provenance', {}).get('body', 'generic')}"

    if not values.get("title"):
        reason = challenge_reason(sel)
        raise PageRejected("blocked" if reason else "malformed", reason or "no title from the profile or the page")
    if not paragraphs:
        raise PageRejected("malformed", "no body text")

    item = ArticleItem(url=url, site=site.key)
    info = article_url_info(url, site)
    item.native_id = values.pop("native_id", None) or (info[1] if info else None)
    for name, value in values.items():
        attr = ITEM_ATTR.get(name, name)
        if name in URL_FIELDS and isinstance(value, str):
            value = urljoin(url, value)
        setattr(item, attr, value)
    if item.section is None and info is not None:
        m = site.article_re.match(url_path(url))
        item.section = (m.groupdict().get("section") if m else None) or None
    item.section = item.section or site.default_section  # a site without sections: the vocabulary's "other"
    item.section_native = item.section  # the native section: the transform maps it onto the vocabulary
    item.paragraphs = paragraphs
    item.language = item.language or site.language
    item.extraction = provenance
    return item


class _Context:
    def __init__(self, *, site: SiteProfile, sel: Selector, url: str, node: dict[str, Any] | None) -> None:
        self.site, self.sel, self.url, self.node = site, sel, url, node

    def first(self, name: str, sources: list[FieldSource]) -> tuple[Any, str]:
        for index, source in enumerate(sources):
            raw = list(self._raw(source))
            if source.present is not None:
                raw = [source.present] if raw else []
            values = [v for v in (_clean(r, source) for r in raw) if v]
            if source.split:
                values = [p for v in values for p in (clean_or_none(x) for x in re.split(source.split, v)) if p]
            if not values:
                continue
            how = f"{_kind(source)}[{index}]"
            if name in LIST_FIELDS:
                return _dedupe(values), how
            return values[0], how
        return None, ""

    def _raw(self, source: FieldSource) -> Iterator[str]:
        if source.const is not None:
            yield source.const
        elif source.url is not None:
            m = self.site.article_re.match(url_path(self.url))
            if m and m.groupdict().get(source.url):
                yield m.group(source.url)
        elif source.meta is not None:
            yield from self.sel.xpath("//meta[@property=$n or @name=$n]/@content", n=source.meta).getall()
        elif source.jsonld is not None:
            yield from _jsonld_values(self.node, source.jsonld.split("."))
        else:
            nodes = self.sel.css(source.css) if source.css is not None else self.sel.xpath(source.xpath or "")
            if not source.all:
                nodes = nodes[:1]
            for node in nodes:
                root = node.root
                yield element_text(root) if isinstance(root, etree._Element) else str(root)


def _clean(value: Any, source: FieldSource) -> str | None:
    text = clean_or_none(value if isinstance(value, str) else None)
    if text is None:
        return None
    text = " ".join(text.split())
    for pattern, repl in source.replace:
        text = re.sub(pattern, repl, text)
    if source.regex:
        m = re.search(source.regex, text)
        if not m:
            return None
        text = m.groupdict().get("value") or (m.group(1) if m.groups() else m.group(0))
    if source.date_format:
        try:
            text = datetime.strptime(text.strip(), source.date_format).isoformat()
        except ValueError:
            return None
    return clean_or_none(text)


def _kind(source: FieldSource) -> str:
    for kind in ("jsonld", "meta", "css", "xpath", "const", "url"):
        if getattr(source, kind) is not None:
            return kind
    return "?"


def _dedupe(values: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for v in values:
        seen.setdefault(v, None)
    return list(seen)


def _jsonld_values(node: Any, keys: list[str]) -> Iterator[str]:
    """Values at a dotted key path; lists are walked, so ``author.name`` yields every author."""
    if node is None:
        return
    if not keys:
        if isinstance(node, list):
            for v in node:
                yield from _jsonld_values(v, [])
        elif isinstance(node, bool):
            yield "true" if node else "false"
        elif isinstance(node, (str, int, float)):
            yield str(node)
        elif isinstance(node, dict) and isinstance(node.get("name"), str):
            yield node["name"]
        return
    if isinstance(node, list):
        for v in node[:100]:
            yield from _jsonld_values(v, keys)
    elif isinstance(node, dict):
        yield from _jsonld_values(node.get(keys[0]), keys[1:])


#: A block's text stops this many levels below it (a hostile page nests thousands of headings).
BLOCK_TEXT_MAX_DEPTH = 16


def body_blocks(container: Selector, blocks_css: str, exclude: list[str]) -> list[str]:
    """The container's body blocks in document order, minus those inside an excluded element and
    blocks nested in another selected block (linear: one pass over the selected blocks)."""
    excluded: set[Any] = set()
    for css in exclude:
        for node in container.css(css):
            excluded.add(node.root)
    selected = [n.root for n in container.css(blocks_css) if isinstance(n.root, etree._Element)]
    chosen = set(selected)
    out: list[str] = []
    for el in selected:
        skip = False
        for anc in el.iterancestors():
            if anc in excluded or anc in chosen:
                skip = True
                break
            if anc is container.root:
                break
        if skip or el in excluded:
            continue
        text = clean_or_none(element_text(el, max_depth=BLOCK_TEXT_MAX_DEPTH))
        if text:
            out.append(text)
    return out


def _generic(text: str, url: str, site: SiteProfile) -> dict[str, Any] | None:
    """The generic extractor's fields for what the profile leaves out (never raises)."""
    from crawler.parsers.fallback import generic_fields

    try:
        return generic_fields(text, url, site)
    except PageRejected:
        return None
