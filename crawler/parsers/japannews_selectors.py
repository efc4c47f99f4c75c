"""Selectors of The Japan News pages, kept as data (the real site's markup, as seen on its pages;
``tests/crawler/fixtures`` holds one saved page per case).

When the site's markup changes, this is the one file to edit; the fixture tests name the field
whose selector broke.
"""

from __future__ import annotations

import re

SITE_KEY = "japannews"

#: Suffix of the <title> element (the site writes the hyphen as &#045;).
TITLE_SUFFIX_RE = re.compile(r"(?:^|\s)[-\u2013\u2014|]\s*The Japan News\s*$")

# --- page-level metadata (XPath, relative to the document) ---------------------------------------
HTML_LANG = "/html/@lang"
HTML_TITLE = "//head/title | /html/title"
CANONICAL = "//link[contains(concat(' ', normalize-space(@rel), ' '), ' canonical ')]/@href"
SHORTLINK = "//link[contains(concat(' ', normalize-space(@rel), ' '), ' shortlink ')]/@href"
META_PROPERTY = "//meta[@property=$name]/@content"
META_NAME = "//meta[@name=$name]/@content"
OG_TITLE = "og:title"
OG_URL = "og:url"
OG_DESCRIPTION = "og:description"
PUBLISHED_TIME = "article:published_time"
MODIFIED_TIME = "article:modified_time"
ARTICLE_TYPE = "cXenseParse:yoj-articletype"
CATEGORY = "cXenseParse:yoj-category"
PAGE_CLASS = "cXenseParse:pageclass"
JSONLD = "//script[@type='application/ld+json']"
BODY_CLASS = "//body/@class"
BREADCRUMB_ITEMS = "//div[contains(concat(' ', normalize-space(@class), ' '), ' breadcrumbs ')]//*[@property='itemListElement']"
BREADCRUMB = "//div[contains(concat(' ', normalize-space(@class), ' '), ' breadcrumbs ')]"
SINGLE_PAGE_CLASS = "//div[contains(concat(' ', normalize-space(@class), ' '), ' single_page ')]/@class"

# --- the article itself -------------------------------------------------------------------------
HEADLINE = (
    "//div[contains(concat(' ', normalize-space(@class), ' '), ' bloc_1 ')]"
    "//h1[not(@class) or normalize-space(@class)='']"
)
#: When the theme moves the headline out of bloc_1: the first unclassed h1 of the main column.
HEADLINE_FALLBACK = (
    "//main//h1[not(@class) or normalize-space(@class)='']"
    "[not(ancestor::*[contains(concat(' ', normalize-space(@class), ' '), ' bloc_3 ')"
    " or contains(concat(' ', normalize-space(@class), ' '), ' ranking ')"
    " or contains(concat(' ', normalize-space(@class), ' '), ' latestlist ')"
    " or contains(concat(' ', normalize-space(@class), ' '), ' popularlist ')])]"
)
SUBSECTION_LABEL = "//div[contains(concat(' ', normalize-space(@class), ' '), ' bloc_1 ')]//span[contains(concat(' ', normalize-space(@class), ' '), ' design_1 ')]"
ARTICLE_BLOCK = "//div[@id='p-article-block']"
#: Inside the article block: body paragraphs (unclassed <p>) and sub-headings (<h2>), in order.
#: Anything inside a figure, a nested boilerplate container or a script is not body text.
BODY_BLOCKS = (
    ".//*[(self::p and (not(@class) or normalize-space(@class)='')) or self::h2]"
    "[not(ancestor::figure) and not(ancestor::p) and not(ancestor::h2)"
    " and not(ancestor::*[contains(concat(' ', normalize-space(@class), ' '), ' sns-button ')"
    " or contains(concat(' ', normalize-space(@class), ' '), ' latestlist ')"
    " or contains(concat(' ', normalize-space(@class), ' '), ' popularlist ')"
    " or contains(concat(' ', normalize-space(@class), ' '), ' goolenewsfeed ')"
    " or contains(concat(' ', normalize-space(@class), ' '), ' ranking ')"
    " or @id='tpModal' or @id='consentModal' or @id='article-inline-offer'"
    " or self::footer or self::script or self::noscript or self::style])]"
)
#: The same rule as data for the linear walk the parser does (``japannews._body_blocks``): blocks are
#: unclassed <p> and <h2>; nothing inside a figure, a <p>, an <h2>, one of these tags, classes or ids.
BODY_BLOCK_TAGS = frozenset({"p", "h2"})
BODY_SKIP_TAGS = frozenset({"figure", "footer", "script", "noscript", "style"})
BODY_SKIP_CLASSES = frozenset({"sns-button", "latestlist", "popularlist", "goolenewsfeed", "ranking"})
BODY_SKIP_IDS = frozenset({"tpModal", "consentModal", "article-inline-offer"})
#: Bounds of the work per page: body blocks deeper than this below the article block are ignored, and
#: a block's text stops this many levels below it (2,000 nested <h2> took 16-30 s with the XPath).
BODY_MAX_DEPTH = 64
BLOCK_TEXT_MAX_DEPTH = 16
BYLINE = ".//p[contains(concat(' ', normalize-space(@class), ' '), ' byline ')]"
POSTDATE = ".//p[contains(concat(' ', normalize-space(@class), ' '), ' postdate ')]"
FIGURE = ".//figure"
FIGURE_IMG_SRC = ".//img/@src | .//img/@data-src | .//img/@data-lazy-src"
FIGCAPTION = ".//figcaption"

# --- URLs ---------------------------------------------------------------------------------------
#: /{section}/{subsection}/{YYYYMMDD}-{postID}/ (subsection optional for odd cases).
ARTICLE_PATH_RE = re.compile(
    r"^/(?P<prefix>(?:[a-z0-9][a-z0-9-]*/){1,3})(?P<date>\d{8})-(?P<id>\d+)/?$"
)
#: Paths that are never articles even when they look close to one.
NON_ARTICLE_PATH_RE = re.compile(
    r"/(?:attachment|author|tag|feed|page|wp-content|wp-admin|wp-json|latestnews|videos|aboutus|membership|faq)(?:/|$)"
)
POSTID_CLASS_RE = re.compile(r"(?:^|\s)postid-(\d+)(?:\s|$)")
SHORTLINK_ID_RE = re.compile(r"[?&]p=(\d+)(?:&|$)")
#: Washington Post stories live under /washingtonpost/ though the menu files them under News Services.
WASHINGTON_POST_PREFIX = "washingtonpost"
WASHINGTON_POST_SECTION = ("news-services", "washingtonpost")

#: Body classes of pages that are not single articles (WordPress template classes).
NON_ARTICLE_BODY_CLASSES = frozenset(
    {"attachment", "archive", "category", "search", "home", "blog", "author", "tag", "error404", "page"}
)
