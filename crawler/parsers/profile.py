"""A site profile's declared fields → raw ArticleItem. Pure: text in, item out, no IO.

Each field of the profile has an ordered list of sources (JSON-LD key path, meta, CSS, XPath, a URL
group, a constant), each with optional regex clean-ups, a splitter, a strptime date format and a pick
of the n-th value; the first source that yields a value wins, and the item records which one did
(``extraction``). The body comes from the profile's container/blocks/exclusions in one linear walk.
Reject rules turn pages that reuse the article template (attachments, listings) away. A profile with
markup versions is read with the version valid on the page's publication day. Every field the profile
leaves out falls back to the generic extractor unless the profile turns that off.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any
from urllib.parse import urljoin
from zoneinfo import ZoneInfo

from lxml import etree
from lxml import html as lxml_html
from parsel import Selector
from parsel.csstranslator import HTMLTranslator

from core.items import ArticleItem
from core.sections import is_slug
from core.sites import FieldSource, RejectRule, Sel, SiteProfile, XPathRef
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


def parse_with_profile(site: SiteProfile, body: bytes | str, url: str, *, encoding: str | None = None,
                       fetched: date | None = None) -> ArticleItem:
    """Extract one article page with the site's declared fields (generic extractor for the rest).

    ``fetched`` (default: today in the site's timezone) chooses the markup version of a page whose
    publication day is unknown. Raises ``PageRejected`` for empty/challenge pages, non-article pages
    and pages without a title or body; never any other exception, whatever the input."""
    try:
        return _parse(site, body, url, encoding, fetched)
    except PageRejected:
        raise
    except Exception as exc:  # noqa: BLE001 - the contract: only PageRejected ever leaves a parser
        log.warning("unparseable page %s: %r", url, exc)
        raise PageRejected("malformed", f"unparseable page: {type(exc).__name__}: {exc}") from exc


def _parse(site: SiteProfile, body: bytes | str, url: str, encoding: str | None, fetched: date | None) -> ArticleItem:
    text = decode_html(body, encoding=encoding)
    if not text.strip():
        raise PageRejected("blocked", "empty document")
    if "<" not in text:
        raise PageRejected("blocked", "document has no HTML markup")
    sel = Selector(text=text, type="html")
    if not isinstance(sel.root, etree._Element):
        raise PageRejected("blocked", "document has no HTML content")
    node = article_node(jsonld_blocks(sel))
    if site.versions:
        site = site.markup_for(_page_day(site, sel, url, node, fetched))
    container = None
    if site.body is not None:
        found = [n for n in _select(sel, site.body.container) if isinstance(n, etree._Element)]
        container = found[0] if found else None
        if container is None:
            reason = challenge_reason(sel)
            if reason:
                raise PageRejected("blocked", reason)
            path = url_path(url)
            if any(d.search(path) for d in site.deny_res):
                raise PageRejected("not_article", f"not an article URL ({path})")
            raise PageRejected("not_article", f"no article body ({_describe(site.body.container)} matches nothing)")

    ctx = _Context(site=site, sel=sel, url=url, node=node, container=container)
    for rule in site.reject:
        ctx.check(rule)
    values: dict[str, Any] = {}
    for name in site.fields:
        value = ctx.get(name)
        if value not in (None, [], ""):
            values[name] = value
    provenance = {name: ctx.how[name] for name in values}

    paragraphs: list[str] = []
    if container is not None and site.body is not None:
        paragraphs = body_blocks(container, site.body.blocks, site.body.exclude, site.body.max_depth)
        if paragraphs:
            provenance["body"] = "profile"

    # Fields the profile does not declare come from the generic extractor. A declared field whose sources
    # find nothing on this page stays empty (the profile says where it lives; absent means absent), and
    # `field: []` declares that the site has none: the generic extractor then never runs on a page whose
    # profile declares every field and the body. `generic_fallback: false` turns it off altogether.
    has_title = bool(values.get("title") or values.get("og_title") or _strip(values.get("html_title"), site))
    missing: list[str] = []
    generic = None
    if site.generic_fallback:
        missing = [f for f in GENERIC_FIELDS if f not in site.fields]
        if "title" in site.fields and not has_title:
            missing.append("title")  # a page without a title is broken; the generic title is the last resort
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
        has_title = has_title or bool(values.get("title"))

    if not has_title:
        reason = challenge_reason(sel)
        raise PageRejected("blocked" if reason else "malformed",
                           reason or "article without a headline (no title from the profile or the page)")
    if not paragraphs:
        raise PageRejected("malformed", "article without body paragraphs")

    item = ArticleItem(url=url, site=site.key)
    info = article_url_info(url, site)
    item.native_id = values.pop("native_id", None) or (info[1] if info else None)
    for name, value in values.items():
        setattr(item, ITEM_ATTR.get(name, name), value)
    if item.section is None and info is not None:
        m = site.article_re.match(url_path(url))
        item.section = (m.groupdict().get("section") if m else None) or None
    if site.generic_fallback:
        item.section = item.section or site.default_section  # a site without sections: the vocabulary's "other"
        item.language = item.language or site.language
    if item.section is not None and not is_slug(item.section):
        item.section_native = item.section  # a section path: the transform maps it onto the vocabulary
    item.paragraphs = paragraphs
    item.extraction = provenance if site.provenance else None
    return item


def _page_day(site: SiteProfile, sel: Selector, url: str, node: dict[str, Any] | None,
              fetched: date | None) -> date:
    """The publication day that chooses a markup version: the article URL's date, else the first
    ISO date any version's ``published_at`` sources give, else the fetch day."""
    info = article_url_info(url, site)
    if info is not None and info[0] is not None:
        return info[0]
    for version in (site, *site.version_profiles):
        ctx = _Context(site=version, sel=sel, url=url, node=node, container=None)
        value = ctx.get("published_at")
        if isinstance(value, str):
            try:
                return date.fromisoformat(value.strip()[:10])
            except ValueError:
                continue
    return fetched or datetime.now(ZoneInfo(site.timezone)).date()


def _strip(html_title: Any, site: SiteProfile) -> str | None:
    """``<title>`` without the site's suffix: a page whose title is only the site name has none."""
    if not isinstance(html_title, str):
        return None
    if site.title.strip_suffix:
        html_title = re.sub(site.title.strip_suffix, "", html_title)
    return clean_or_none(html_title)


#: EXSLT regular expressions in XPath (``re:test(@class, '…')``), as parsel offers them.
_NAMESPACES = {"re": "http://exslt.org/regular-expressions"}


@functools.lru_cache(maxsize=1024)
def _compiled(expr: str, css: bool) -> etree.XPath:
    """A selector compiled once per process (parsel compiles the expression on every call)."""
    return etree.XPath(HTMLTranslator().css_to_xpath(expr) if css else expr, namespaces=_NAMESPACES)


def _nodes(el: Any, *, xpath: str | None = None, css: str | None = None) -> list[Any]:
    """Elements and strings a selector finds under ``el`` (an lxml element)."""
    found = _compiled(css, True)(el) if css is not None else _compiled(xpath or "", False)(el)
    if isinstance(found, list):
        return found
    return [] if found is None or isinstance(found, bool) else [str(found)]


def _select(scope: Any, sel: Sel) -> list[Any]:
    el = scope.root if isinstance(scope, Selector) else scope
    if isinstance(sel, XPathRef):
        return _nodes(el, xpath=sel.xpath)
    return _nodes(el, css=sel)


def _inside_excluded(el: etree._Element, exclude: tuple[Sel, ...]) -> bool:
    """Whether an ancestor of ``el`` is an element an exclude selector finds: the simple CSS selectors
    (no combinator) in one ``ancestor::`` test, any other by a search of the whole document."""
    simple, other = _ancestor_test(exclude)
    if simple is not None and simple(el):
        return True
    if other:
        found = {n for s in other for n in _select(el.getroottree().getroot(), s)}
        return any(anc in found for anc in el.iterancestors())
    return False


@functools.lru_cache(maxsize=256)
def _ancestor_test(exclude: tuple[Sel, ...]) -> tuple[etree.XPath | None, tuple[Sel, ...]]:
    simple = [s for s in exclude if isinstance(s, str) and not re.search(r"[\s>+~,:]", s)]
    other = tuple(s for s in exclude if s not in simple)
    union = " | ".join(HTMLTranslator().css_to_xpath(s, prefix="ancestor::") for s in simple)
    return (etree.XPath(f"boolean({union})") if union else None), other


def _text(node: Any, skip: Any = ()) -> str:
    return element_text(node, skip=skip) if isinstance(node, etree._Element) else str(node)


def _describe(sel: Sel) -> str:
    return repr(sel.xpath if isinstance(sel, XPathRef) else sel)


class _Context:
    """One page's field values, computed on first use (a source may refer to another field)."""

    def __init__(self, *, site: SiteProfile, sel: Selector, url: str, node: dict[str, Any] | None,
                 container: Any) -> None:
        self.site, self.url, self.node, self.container = site, url, node, container
        self.root = sel.root
        self._metas: dict[str, list[str]] | None = None
        self._found: dict[tuple[bool, str | None, str | None], list[Any]] = {}
        self.values: dict[str, Any] = {}
        self.how: dict[str, str] = {}
        self._busy: set[str] = set()
        self._match: re.Match[str] | None | bool = False

    def meta(self, name: str) -> list[str]:
        """``<meta property|name=…>`` contents, gathered in one pass over the page."""
        if self._metas is None:
            self._metas = {}
            for el in self.root.iter("meta"):
                content = el.get("content")
                if content is None:
                    continue
                for key in {el.get("property"), el.get("name")} - {None}:
                    self._metas.setdefault(key, []).append(content)
        return self._metas.get(name, [])

    def nodes(self, *, in_body: bool = False, xpath: str | None = None, css: str | None = None) -> list[Any]:
        """What a selector finds on the page (or in the body container), once per page."""
        key = (in_body, xpath, css)
        if key not in self._found:
            scope = self.container if in_body else self.root
            self._found[key] = [] if scope is None else _nodes(scope, xpath=xpath, css=css)
        return self._found[key]

    def get(self, name: str) -> Any:
        if name in self.values or name in self._busy:
            return self.values.get(name)
        sources = self.site.fields.get(name) or []
        self._busy.add(name)
        try:
            value, how = self.first(name, sources)
        finally:
            self._busy.discard(name)
        if name in URL_FIELDS and isinstance(value, str):
            value = _join(self.url, value)
        self.values[name], self.how[name] = value, how
        return value

    def first(self, name: str, sources: list[FieldSource]) -> tuple[Any, str]:
        collapse = self.site.whitespace == "collapse"
        for index, source in enumerate(sources):
            raw = list(self._raw(source))
            if source.present is not None:
                raw = [source.present] if raw else []
            values = [v for r in raw for v in _clean(r, source, collapse)]
            if source.distinct_from is not None:
                other = self.get(source.distinct_from)
                values = [v for v in values if v != other]
            if source.pick is not None:
                values = values[source.pick:source.pick + 1]
            if not values:
                continue
            how = f"{_kind(source)}[{index}]"
            if name in LIST_FIELDS:
                return _dedupe(values), how
            return values[0], how
        return None, ""

    def article_match(self) -> re.Match[str] | None:
        """The article-URL pattern on the page's canonical URL when it matches, else the fetched URL."""
        if self._match is False:
            canonical = self.get("canonical_url") if "canonical_url" in self.site.fields else None
            candidates = (canonical, self.url) if isinstance(canonical, str) else (self.url,)
            self._match = next((m for m in (self.site.article_re.match(url_path(c)) for c in candidates) if m), None)
        return self._match if self._match is not False else None

    def check(self, rule: RejectRule) -> None:
        """Raise PageRejected when the page matches a reject rule."""
        if rule.path is not None:
            value: str | None = url_path(self.url)
            m = re.search(rule.path, value or "")
        else:
            found = self.meta(rule.meta) if rule.meta is not None else self.nodes(xpath=rule.xpath, css=rule.css)
            value = clean_or_none(_text(found[0])) if found else None
            if value is None:
                return
            m = re.search(rule.regex, value) if rule.regex else re.search(r".+", value, re.DOTALL)
        if m:
            shown = m.groupdict().get("value") or (m.group(1) if m.groups() else m.group(0))
            raise PageRejected(rule.kind, rule.reason.replace("{value}", shown or ""))

    def _raw(self, source: FieldSource) -> Iterator[str]:
        if source.const is not None:
            yield source.const
        elif source.url is not None:
            m = self.article_match()
            if m and m.groupdict().get(source.url):
                yield m.group(source.url)
        elif source.meta is not None:
            yield from self.meta(source.meta)
        elif source.jsonld is not None:
            yield from _jsonld_values(self.node, source.jsonld.split("."))
        else:
            nodes = self.nodes(in_body=source.in_body, xpath=source.xpath, css=source.css)
            if not source.all and source.pick is None:
                nodes = nodes[:1]
            for node in nodes:
                skip = set(_nodes(node, xpath=source.drop)) if source.drop and isinstance(node, etree._Element) else ()
                yield _text(node, skip)


def _clean(value: Any, source: FieldSource, collapse: bool) -> list[str]:
    """One raw value → its cleaned values: markup read as text, whitespace, replacements, split,
    regex (a piece it does not match is dropped), date format."""
    text = _markup_text(value) if source.markup else clean_or_none(value if isinstance(value, str) else None)
    if text is None:
        return []
    if collapse:
        text = " ".join(text.split())
    for pattern, repl in source.replace:
        text = re.sub(pattern, repl, text)
    out: list[str] = []
    for piece in re.split(source.split, text) if source.split else [text]:
        piece = clean_or_none(piece)
        if piece is None:
            continue
        if source.regex:
            m = re.search(source.regex, piece)
            if not m:
                continue
            piece = m.groupdict().get("value") or (m.group(1) if m.groups() else m.group(0))
        if source.date_format:
            try:
                piece = datetime.strptime(piece.strip(), source.date_format).isoformat()
            except ValueError:
                continue
        piece = clean_or_none(piece)
        if piece:
            out.append(piece)
    return out


def _markup_text(value: Any) -> str | None:
    """A value carrying HTML markup (``<p>…</p>`` inside an attribute): its text."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        fragment = lxml_html.fragment_fromstring(value, create_parent="div")
    except (etree.ParserError, ValueError):
        return clean_or_none(value)
    return clean_or_none(element_text(fragment))


def _join(base: str, value: str) -> str:
    try:
        return urljoin(base, value)
    except ValueError:
        return value


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
#: Body blocks deeper than this below the container are ignored (the profile's ``body.max_depth``).
BODY_MAX_DEPTH = 64


def body_blocks(container: Selector | etree._Element, blocks: Sel, exclude: list[Sel], max_depth: int = BODY_MAX_DEPTH) -> list[str]:
    """The container's body blocks in document order, found in one pre-order walk that never enters a
    block (a block nested in another is read with it) or an excluded element, down to ``max_depth``
    levels. Linear: the selectors run once each, the walk visits each element once."""
    root = container.root if isinstance(container, Selector) else container
    if not isinstance(root, etree._Element):
        return []
    if _inside_excluded(root, tuple(exclude)):
        return []  # the container sits inside an excluded element (a figure, a sidebar): no body here
    chosen = {n for n in _select(root, blocks) if isinstance(n, etree._Element)}
    excluded = {n for s in exclude for n in _select(root, s) if isinstance(n, etree._Element)}
    out: list[str] = []
    stack: list[tuple[Any, int]] = [(child, 1) for child in reversed(list(root))]
    while stack:
        node, depth = stack.pop()
        if not isinstance(node.tag, str):
            continue
        if node in chosen:
            text = clean_or_none(element_text(node, max_depth=BLOCK_TEXT_MAX_DEPTH))
            if text:
                out.append(text)
            continue
        if node in excluded or depth >= max_depth:
            continue
        stack.extend((child, depth + 1) for child in reversed(list(node)))
    return out


def _generic(text: str, url: str, site: SiteProfile) -> dict[str, Any] | None:
    """The generic extractor's fields for what the profile leaves out (never raises)."""
    from crawler.parsers.fallback import generic_fields

    try:
        return generic_fields(text, url, site)
    except PageRejected:
        return None
