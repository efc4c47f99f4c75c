"""The Japan News article page → raw ArticleItem. Pure: text in, item out, no IO.

Selectors live in ``japannews_selectors``, which also records what counts as body text and what is
page furniture on the real site (the fixtures in ``tests/crawler/fixtures`` show each case). Interpretation (UPDATE marks, datelines, UTC) is left to
``transforms``: this module only extracts.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urljoin, urlsplit

from lxml import etree
from lxml import html as lxml_html
from parsel import Selector

from core.items import ArticleItem
from crawler.parsers import japannews_selectors as S
from crawler.parsers.base import PageRejected, challenge_reason, clean_or_none, decode_html, element_text
from crawler.parsers.jsonld import article_node, jsonld_blocks

log = logging.getLogger(__name__)


def parse_article(body: bytes | str, url: str, *, encoding: str | None = None) -> ArticleItem:
    """Extract every raw field of one article page.

    Raises ``PageRejected`` for empty/challenge pages, non-article pages and article pages without
    a title or body; never any other exception, whatever the input.
    """
    try:
        return _parse(body, url, encoding)
    except PageRejected:
        raise
    except Exception as exc:  # noqa: BLE001 - the contract: only PageRejected ever leaves a parser
        log.warning("unparseable page %s: %r", url, exc)
        raise PageRejected("malformed", f"unparseable page: {type(exc).__name__}: {exc}") from exc


def _parse(body: bytes | str, url: str, encoding: str | None) -> ArticleItem:
    text = decode_html(body, encoding=encoding)
    if not text.strip():
        raise PageRejected("blocked", "empty document")
    if "<" not in text:
        raise PageRejected("blocked", "document has no HTML markup")
    sel = Selector(text=text, type="html")
    root = sel.root
    if not isinstance(root, etree._Element):
        raise PageRejected("blocked", "document has no HTML content")
    block = _first(sel.xpath(S.ARTICLE_BLOCK))
    if block is None:
        raise PageRejected(*_why_no_article(sel, url))
    _reject_non_article(sel, url)

    canonical = _abs(url, _first_str(sel, S.CANONICAL) or _meta(sel, S.OG_URL, prop=True))
    title = _text_of(_first(sel.xpath(S.HEADLINE))) or _text_of(_first(sel.xpath(S.HEADLINE_FALLBACK)))
    og_title = clean_or_none(_meta(sel, S.OG_TITLE, prop=True))
    html_title = _text_of(_first(sel.xpath(S.HTML_TITLE)))
    paragraphs = [t for t in (element_text(el, max_depth=S.BLOCK_TEXT_MAX_DEPTH) for el in _body_blocks(block.root))
                  if t.strip()]
    paragraphs = [p.strip() for p in paragraphs]

    if not (title or og_title or _strip_suffix(html_title)):
        raise PageRejected("malformed", "article block without a headline (no h1, og:title or <title>)")
    if not paragraphs:
        raise PageRejected("malformed", "article block without body paragraphs")

    jsonld = _jsonld(sel)
    section, subsection = _sections(sel, canonical or url, url)
    section_label, subsection_label = _section_labels(sel)
    image_url, image_credit, image_caption = _image(block, canonical or url)

    return ArticleItem(
        url=url,
        site=S.SITE_KEY,
        canonical_url=canonical,
        native_id=_native_id(sel, canonical, url),
        title=title,
        og_title=og_title,
        html_title=html_title,
        postdate=_text_of(_first(block.xpath(S.POSTDATE))),
        published_time=clean_or_none(_meta(sel, S.PUBLISHED_TIME, prop=True)),
        modified_time=clean_or_none(_meta(sel, S.MODIFIED_TIME, prop=True)),
        jsonld_published=_str_or_none(jsonld.get("datePublished")),
        jsonld_modified=_str_or_none(jsonld.get("dateModified")),
        section=section,
        subsection=subsection,
        section_label=section_label,
        subsection_label=subsection_label,
        byline=_text_of(_first(block.xpath(S.BYLINE))),
        paragraphs=paragraphs,
        description=_markup_text(_meta(sel, S.OG_DESCRIPTION, prop=True)),
        access=_meta(sel, S.ARTICLE_TYPE),
        keywords=_keywords(jsonld.get("keywords")),
        image_url=image_url,
        image_caption=image_caption,
        image_credit=image_credit,
        language=clean_or_none(_first_str(sel, S.HTML_LANG)),
    )


# --- rejection ----------------------------------------------------------------------------------


def _why_no_article(sel: Selector, url: str) -> tuple[str, str]:
    """No article block: tell a refusal (empty body, challenge) from an ordinary non-article page."""
    reason = challenge_reason(sel)
    if reason is not None:
        return "blocked", reason
    path = _path(url)
    if S.NON_ARTICLE_PATH_RE.search(path):
        return "not_article", f"not an article URL ({path})"
    return "not_article", "no article block (div#p-article-block)"


def _reject_non_article(sel: Selector, url: str) -> None:
    """An article block alone is not enough: attachment pages and listings reuse the theme."""
    classes = set((_first_str(sel, S.BODY_CLASS) or "").split())
    if "attachment" in classes or "single-attachment" in classes:
        raise PageRejected("not_article", "attachment page")
    if "single" not in classes and classes & S.NON_ARTICLE_BODY_CLASSES:
        raise PageRejected("not_article", f"non-article template ({' '.join(sorted(classes & S.NON_ARTICLE_BODY_CLASSES))})")
    pageclass = clean_or_none(_meta(sel, S.PAGE_CLASS))
    if pageclass is not None and pageclass.lower() != "article":
        raise PageRejected("not_article", f"page class {pageclass!r}")
    if "/attachment/" in _path(url):
        raise PageRejected("not_article", "attachment URL")


# --- fields -------------------------------------------------------------------------------------


def _sections(sel: Selector, canonical: str, fetched: str) -> tuple[str | None, str | None]:
    """Slugs from the article URL (Washington Post exception), gaps filled from the page markup."""
    section = subsection = None
    for candidate in (canonical, fetched):
        parts = _url_section_parts(candidate)
        if parts:
            if parts[0] == S.WASHINGTON_POST_PREFIX:
                return S.WASHINGTON_POST_SECTION
            section = parts[0]
            subsection = parts[1] if len(parts) > 1 else None
            break
    markup = [c[len("single_"):] for c in (_first_str(sel, S.SINGLE_PAGE_CLASS) or "").split()
              if c.startswith("single_") and c != "single_page"]
    category = clean_or_none(_meta(sel, S.CATEGORY))
    if section is None and markup:
        section = markup[0]
    if subsection is None:
        if len(markup) > 1:
            subsection = markup[1]
        elif category and category != section:
            subsection = category
    if subsection and category and category != subsection:
        log.debug("sub-section %r from URL disagrees with yoj-category %r", subsection, category)
    return section, subsection


def _url_section_parts(url: str) -> list[str]:
    path = _path(url)
    m = S.ARTICLE_PATH_RE.match(path)
    if not m:
        return []
    return [p for p in m.group("prefix").split("/") if p]


def _section_labels(sel: Selector) -> tuple[str | None, str | None]:
    """Breadcrumb items 2 and 3 (Home > Section > Sub-section); the bloc_1 label as a fallback."""
    items = [t for t in (_text_of(i) for i in sel.xpath(S.BREADCRUMB_ITEMS)) if t]
    if not items:
        crumb = _text_of(_first(sel.xpath(S.BREADCRUMB)))
        if crumb:
            items = [t.strip() for t in crumb.replace("›", ">").replace("»", ">").split(">") if t.strip()]
    section = items[1] if len(items) > 1 else None
    subsection = items[2] if len(items) > 2 else _text_of(_first(sel.xpath(S.SUBSECTION_LABEL)))
    return section, subsection


def _body_blocks(root: Any) -> list[Any]:
    """The article block's body paragraphs and sub-headings in document order: what
    ``S.BODY_BLOCKS`` selects, found in one pre-order walk that never enters a selected block or a
    skipped container (the XPath's ``ancestor::`` tests made nested headings quadratic), down to
    ``S.BODY_MAX_DEPTH`` levels."""
    if not isinstance(getattr(root, "tag", None), str):
        return []
    for anc in root.iterancestors():
        if _skipped(anc) or _tag_of(anc) in S.BODY_BLOCK_TAGS:
            return []
    out: list[Any] = []
    stack: list[tuple[Any, int]] = [(child, 1) for child in reversed(list(root))]
    while stack:
        node, depth = stack.pop()
        if not isinstance(node.tag, str):
            continue
        tag = _tag_of(node)
        if tag in S.BODY_BLOCK_TAGS:
            if tag == "h2" or not (node.get("class") or "").strip():
                out.append(node)
            continue  # nothing inside a <p> or <h2> is a block of its own
        if _skipped(node) or depth >= S.BODY_MAX_DEPTH:
            continue
        stack.extend((child, depth + 1) for child in reversed(list(node)))
    return out


def _tag_of(node: Any) -> str:
    tag = node.tag if isinstance(node.tag, str) else ""
    return tag.rsplit("}", 1)[-1].lower()


def _skipped(node: Any) -> bool:
    if _tag_of(node) in S.BODY_SKIP_TAGS or node.get("id") in S.BODY_SKIP_IDS:
        return True
    classes = (node.get("class") or "").split()
    return any(c in S.BODY_SKIP_CLASSES for c in classes)


def _native_id(sel: Selector, canonical: str | None, url: str) -> str | None:
    m = S.POSTID_CLASS_RE.search(_first_str(sel, S.BODY_CLASS) or "")
    if m:
        return m.group(1)
    m = S.SHORTLINK_ID_RE.search(_first_str(sel, S.SHORTLINK) or "")
    if m:
        return m.group(1)
    for candidate in (canonical, url):
        if candidate:
            m = S.ARTICLE_PATH_RE.match(_path(candidate))
            if m:
                return m.group("id")
    return None


def _image(block: Selector, base: str) -> tuple[str | None, str | None, str | None]:
    """First figure of the body: src, then figcaption "<span>credit</span><br>caption"."""
    figure = _first(block.xpath(S.FIGURE))
    if figure is None:
        return None, None, None
    src = clean_or_none(figure.xpath(S.FIGURE_IMG_SRC).get())
    caption_el = _first(figure.xpath(S.FIGCAPTION))
    credit = caption = None
    if caption_el is not None:
        node = caption_el.root
        span = next((c for c in node if isinstance(c.tag, str) and c.tag.lower() == "span"), None)
        credit = clean_or_none(element_text(span)) if span is not None else None
        rest = [node.text or ""]
        for child in node:
            if child is not span:
                rest.append("\n" if child.tag == "br" else element_text(child))
            rest.append(child.tail or "")
        caption = clean_or_none("".join(rest))
    return _abs(base, src), credit, caption


def _jsonld(sel: Selector) -> dict[str, Any]:
    """The article object of the JSON-LD (BlogPosting here; other article types accepted)."""
    return article_node(jsonld_blocks(sel)) or {}


def _keywords(value: Any) -> list[str]:
    """JSON-LD keywords as written (the "(n) " count is the transform's to strip)."""
    if isinstance(value, str):
        values = value.split(",")
    elif isinstance(value, list):
        values = [v for v in value if isinstance(v, str)]
    else:
        return []
    return [v.strip() for v in values if v.strip()]


def _markup_text(value: str | None) -> str | None:
    """og:description carries raw <p> markup inside the attribute: strip it as HTML."""
    if value is None or not value.strip():
        return None
    try:
        fragment = lxml_html.fragment_fromstring(value, create_parent="div")
    except (etree.ParserError, ValueError):
        return clean_or_none(value)
    return clean_or_none(element_text(fragment))


# --- small helpers ------------------------------------------------------------------------------


def _first(selection: Any) -> Selector | None:
    return selection[0] if len(selection) else None


def _first_str(sel: Selector, xpath: str) -> str | None:
    return sel.xpath(xpath).get()


def _meta(sel: Selector, name: str, *, prop: bool = False) -> str | None:
    return sel.xpath(S.META_PROPERTY if prop else S.META_NAME, name=name).get()


def _text_of(node: Selector | None) -> str | None:
    if node is None or not isinstance(node.root, etree._Element):
        return None
    return clean_or_none(element_text(node.root))


def _str_or_none(value: Any) -> str | None:
    return clean_or_none(value) if isinstance(value, str) else None


def _strip_suffix(value: str | None) -> str | None:
    if value is None:
        return None
    return clean_or_none(S.TITLE_SUFFIX_RE.sub("", value))


def _path(url: str) -> str:
    """The path of a URL taken from the page; a URL too broken to split has none."""
    try:
        return urlsplit(url).path
    except ValueError:
        return ""


def _abs(base: str, value: str | None) -> str | None:
    value = clean_or_none(value)
    if value is None:
        return None
    try:
        return urljoin(base, value)
    except ValueError:
        return value
