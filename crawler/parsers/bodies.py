"""Body candidates for the generic extractor: our lxml cleaning rules, trafilatura in its modes,
readability-lxml and a small rule-based extractor, each turning a parsed page into ordered text
blocks (paragraphs and sub-headings). Pure: no IO. Every function is iterative or works on the
parser-bounded tree (libxml2 caps nesting at 256 levels), so hostile pages cannot exhaust the stack."""

from __future__ import annotations

import copy
import re
from collections import Counter

from lxml import etree
from lxml import html as lxml_html

#: Elements rendered as their own line; their text starts a new block.
BLOCK_TAGS = frozenset({
    "p", "div", "section", "article", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre",
    "table", "tr", "td", "th", "dl", "dt", "dd", "figure", "figcaption", "header", "footer", "aside", "nav",
    "main", "br", "hr", "form", "address", "caption", "tbody", "thead", "details", "summary",
})
_INVISIBLE = frozenset({"script", "style", "noscript", "template", "svg", "math", "iframe", "object", "embed"})
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
#: Page chrome by class/id: share bars, related lists, comments, newsletter and paywall prompts.
_CHROME = re.compile(
    r"(?:^|[\s_-])(?:(?:share|sharing|social|related)\w*|sharedaddy|comments?|newsletter|paywall|subscribe|"
    r"subscription|promo|advert|ad-slot|sponsor|breadcrumbs?|cookie|consent|popular|trending|"
    r"recommend(?:ed|ations)?|read-?more|outbrain|taboola|anzeige|werbung|abo|abonnement|plus|premium-teaser|"
    r"teilen|empfehlungen)(?:$|[\s_-])",
    re.IGNORECASE,
)
_WORD = re.compile(r"\w+", re.UNICODE)
_WS = re.compile(r"[ \t\r\f\v\u00a0\u200b]+")


def tokens(text: str) -> Counter[str]:
    return Counter(_WORD.findall(text.lower()))


def token_f1(a: Counter[str], b: Counter[str]) -> float:
    if not a or not b:
        return 1.0 if not a and not b else 0.0
    common = sum((a & b).values())
    if not common:
        return 0.0
    p, r = common / sum(a.values()), common / sum(b.values())
    return 2 * p * r / (p + r)


def _tag(el: etree._Element) -> str:
    return el.tag.lower() if isinstance(el.tag, str) else ""


def clean_tree(root: lxml_html.HtmlElement, *, drop_chrome: bool = True) -> lxml_html.HtmlElement:
    """Our lxml rules, applied in place before any extractor: drop what a reader never sees (``hidden``,
    ``aria-hidden``, inline ``display:none`` / ``visibility:hidden``, scripts and styles) and, when
    ``drop_chrome``, the page chrome every news site has (nav, share bars, related lists, comments,
    newsletter and paywall prompts) identified by tag, role, class or id, and picture captions."""
    doomed = []
    for el in root.iter():
        tag = _tag(el)
        if not tag:
            if isinstance(el, etree._Comment):
                doomed.append(el)
            continue
        if tag in ("script", "style", "noscript", "template"):
            doomed.append(el)
            continue
        if tag in ("html", "body", "head"):
            continue
        attrib = el.attrib
        if "hidden" in attrib or attrib.get("aria-hidden", "").lower() == "true":
            doomed.append(el)
            continue
        style = attrib.get("style")
        if style and _HIDDEN_STYLE.search(style):
            doomed.append(el)
            continue
        if drop_chrome and (is_chrome(el, tag) or is_caption(el, tag)):
            doomed.append(el)
    for el in doomed:
        parent = el.getparent()
        if parent is None:
            continue
        _drop_keep_tail(el, parent)
    return root


#: Class/id name parts of a picture credit (dropped as they are) and of a caption (dropped when it ends
#: with a credit: on plenty of pages a caption by class is text the reader is meant to read).
_CREDIT_NAMES = frozenset({"credit", "credits", "photocredit", "imagecredit", "quelle", "bildquelle",
                           "fotonachweis", "bildnachweis", "copyright"})
_CAPTION_NAMES = frozenset({"caption", "bildunterschrift", "bildtext", "legende", "legend", "unterschrift"})
_CREDIT_END = re.compile(r"(?:\b(?:foto|fotos|photo|photos|photograph|bild|quelle|credit|source)\s*:\s*[^:]{2,80}|"
                         r"©[^©]{2,80})$", re.IGNORECASE)


def _label_parts(el: etree._Element) -> set[str]:
    label = f"{el.get('class', '')} {el.get('id', '')}".lower()
    parts = set(re.split(r"[\s_-]+", label))
    if "photo" in parts or "image" in parts:
        parts.update({"photocredit", "imagecredit"} if "credit" in parts else set())
    return parts


def is_caption(el: etree._Element, tag: str | None = None) -> bool:
    """A caption: ``figcaption``; a short element whose class or id names a picture credit (credit,
    Quelle, Bildnachweis); a short element named caption / Bildunterschrift whose text ends with a
    credit ("… Foto: A. Name", "… Photo: Desk", "… ©Agency"); or a figure holding a picture or video and
    little text (its caption and credit): it describes a picture, it is not the article's text."""
    tag = tag if tag is not None else _tag(el)
    if tag == "figcaption":
        return True
    if tag not in ("figure", "article", "main", "body", "html") and (el.get("class") or el.get("id")):
        parts = _label_parts(el)
        if parts & _CREDIT_NAMES and _word_count(el, stop_at=30) < 30:
            return True
        if parts & _CAPTION_NAMES and "no" not in parts and _word_count(el, stop_at=60) < 60:
            return _CREDIT_END.search(" ".join(el.text_content().split())) is not None
    if tag != "figure":
        return False
    has_media = next(el.iter("img", "picture", "video", "iframe", "svg"), None) is not None
    return has_media and _word_count(el, stop_at=80) < 80


def is_chrome(el: etree._Element, tag: str | None = None) -> bool:
    """Page chrome: nav/aside or a navigation role, or a small box (under 300 words: a wrapper whose
    class merely mentions "social" may hold the article) whose class or id names share bars, related
    lists, comments, newsletter or paywall prompts."""
    tag = tag if tag is not None else _tag(el)
    attrib = el.attrib
    if tag in ("nav", "aside") or attrib.get("role", "").lower() in ("navigation", "complementary", "banner"):
        return True
    label = f"{attrib.get('class', '')} {attrib.get('id', '')}"
    if label.strip() and _CHROME.search(label) and tag not in ("article", "main", "body", "html"):
        return _word_count(el, stop_at=300) < 300
    return False


def _word_count(el: etree._Element, stop_at: int) -> int:
    """Words of visible text in ``el``, counting stops once ``stop_at`` is reached."""
    count = 0
    for node in el.iter():
        if _tag(node) in _INVISIBLE:
            continue
        for piece in (node.text, node.tail if node is not el else None):
            if piece:
                count += len(_WORD.findall(piece))
        if count >= stop_at:
            break
    return count


def chrome_lines(root: etree._Element) -> set[str]:
    """The text blocks of every chrome or caption element of a page (see ``is_chrome``, ``is_caption``),
    to filter them out of an extractor that is given the whole page (readability chooses its container
    worse on a page with them removed: measured)."""
    lines: set[str] = set()
    for el in root.iter():
        if not isinstance(el.tag, str) or _tag(el) in _INVISIBLE:
            continue
        if is_chrome(el) or is_caption(el):
            lines.update(block_lines(el))
    return lines


def _drop_keep_tail(el: etree._Element, parent: etree._Element) -> None:
    tail = el.tail
    if tail:
        prev = el.getprevious()
        if prev is not None:
            prev.tail = (prev.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    parent.remove(el)


def block_lines(root: etree._Element) -> list[str]:
    """The text of an element as ordered blocks: a new block at every block-level element and <br>,
    whitespace normalised, empty blocks dropped. Iterative."""
    parts: list[str] = []
    stack: list[tuple[etree._Element, bool]] = [(root, False)]
    while stack:
        el, done = stack.pop()
        tag = _tag(el)
        if done:
            if tag in BLOCK_TAGS:
                parts.append("\n")
            if el.tail and el is not root:
                parts.append(el.tail)
            continue
        if tag in _INVISIBLE or not tag:
            if el.tail and el is not root:
                parts.append(el.tail)
            continue
        if tag in BLOCK_TAGS:
            parts.append("\n")
        if el.text:
            parts.append(el.text)
        stack.append((el, True))
        stack.extend((child, False) for child in reversed(list(el)))
    return split_blocks("".join(parts))


_DATE_WORDS = re.compile(
    r"\b(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|"
    r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?|mon(?:day)?|tue(?:s(?:day)?)?|wed(?:nesday)?|thu(?:rs(?:day)?)?|"
    r"fri(?:day)?|sat(?:urday)?|sun(?:day)?|am|pm|a\.m|p\.m|[a-z]{1,3}t|utc|gmt|updated?|published|posted|"
    r"last|modified|on|at|ago|hours?|minutes?|days?|"
    # German: months, weekdays, "Uhr", "aktualisiert", "Stand", "veröffentlicht"
    r"januar|jänner|februar|märz|mai|juni|juli|oktober|dezember|okt|dez|"
    r"montag|dienstag|mittwoch|donnerstag|freitag|samstag|sonntag|uhr|mez|mesz|um|vom|"
    r"aktualisiert|aktualisierung|zuletzt|stand|veröffentlicht|erschienen|geändert|"
    # French / Spanish / Italian / Dutch stamp words and months
    r"janvier|février|mars|avril|juin|juillet|août|septembre|octobre|novembre|décembre|publié|mis à jour|le|à|"
    r"enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|octubre|noviembre|diciembre|actualizado|"
    r"publicado|de|las|gennaio|febbraio|aprile|maggio|giugno|luglio|settembre|ottobre|dicembre|aggiornato|"
    r"pubblicato|il|alle|januari|februari|maart|mei|augustus|bijgewerkt|gepubliceerd|om)\b",
    re.IGNORECASE,
)


_MONTHS = re.compile(r"\b(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
                     r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?|januar|jänner|februar|märz|"
                     r"mai|juni|juli|oktober|dezember|janvier|février|mars|avril|juin|juillet|août|septembre|"
                     r"octobre|novembre|décembre|enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|"
                     r"octubre|noviembre|diciembre|gennaio|febbraio|aprile|maggio|giugno|luglio|settembre|"
                     r"ottobre|dicembre|januari|februari|maart|mei|augustus)\b", re.IGNORECASE)
_STAMP_SHAPE = re.compile(r"\d{4}-\d{2}-\d{2}|\b\d{1,2}[:.]\d{2}\b|\b\d{1,2}[./]\d{1,2}[./]\d{2,4}\b")
#: A stamp label without its time ("1. Aktualisierung:", "Updated:"): the time sits in its own block.
_STAMP_LABEL = re.compile(
    r"^(?:\d{1,3}\.\s*)?(?:last\s+)?(?:updated?|published|posted|modified|aktualisiert|aktualisierung|"
    r"veröffentlicht|stand|zuletzt aktualisiert|mis à jour|publié|actualizado|aggiornato)(?:\s+(?:on|at|am|um))?"
    r"\s*:?$",
    re.IGNORECASE,
)


def is_dateline(block: str) -> bool:
    """A block that is only a date or time stamp ("02:41 JST, September 6, 2024", "Updated: 2024-09-06",
    "March 3, 2024 at 5:40 p.m. ET", "1. Aktualisierung: 3. März 2024, 17:40 Uhr", "Updated … (update 2)")
    or a stamp label alone ("Aktualisiert:"): a date shape (a month name with a number, an ISO date, a
    clock time), and besides date words nothing but digits, spaces and ``,.:/-+|``."""
    if len(block) > 100:
        return False
    if _STAMP_LABEL.match(block.strip()):
        return True
    if not re.search(r"\d", block):
        return False
    if not (_MONTHS.search(block) or _STAMP_SHAPE.search(block)):
        return False
    rest = re.sub(r"\(\s*(?:update|aktualisierung)\s*#?\d*\s*\)", " ", block, flags=re.IGNORECASE)
    rest = _DATE_WORDS.sub(" ", rest)
    return re.fullmatch(r"[\d\s,.:/+|–—·•()-]*", rest) is not None


def split_blocks(text: str) -> list[str]:
    out = []
    for line in text.split("\n"):
        line = _WS.sub(" ", line).strip()
        if line:
            out.append(line)
    return out


# --------------------------------------------------------------------------- candidates

def trafilatura_blocks(root: lxml_html.HtmlElement, url: str | None, mode: str = "default") -> list[str]:
    import trafilatura

    kwargs = {"favor_precision": mode == "precision", "favor_recall": mode == "recall"}
    text = trafilatura.extract(copy.deepcopy(root), url=url, output_format="txt", include_comments=False,
                               include_tables=True, include_images=False, with_metadata=False,
                               deduplicate=False, **kwargs)
    if not text:
        return []
    blocks = []
    for line in split_blocks(text):
        if line.startswith("- "):
            line = line[2:].strip()
        if line.startswith("|") and line.endswith("|"):
            line = " ".join(cell.strip() for cell in line.strip("|").split("|") if cell.strip())
        if line:
            blocks.append(line)
    return blocks


def readability_blocks(root: lxml_html.HtmlElement) -> list[str]:
    from readability import Document

    try:
        summary = Document(copy.deepcopy(root)).summary(html_partial=True)
    except Exception:  # readability raises its own Unparseable and assorted lxml errors on junk
        return []
    if not summary or not summary.strip():
        return []
    try:
        doc = lxml_html.document_fromstring(f"<html><body><div>{summary}</div></body></html>")
    except (etree.ParserError, ValueError):
        return []
    body = doc.find("body")
    return block_lines(body if body is not None else doc)


_BODY_XPATH = ("//*[@itemprop='articleBody'] | //article | //*[@role='main'] | //main | "
               "//*[contains(concat(' ', normalize-space(@class), ' '), ' entry-content ')] | "
               "//*[contains(concat(' ', normalize-space(@class), ' '), ' post-content ')] | "
               "//*[contains(concat(' ', normalize-space(@class), ' '), ' article-body ')]")
_TEXT_BLOCKS = ("p", "h2", "h3", "h4", "li", "blockquote", "pre")


def rules_blocks(root: lxml_html.HtmlElement) -> list[str]:
    """Our own extractor: the marked-up article container (articleBody, <article>, <main>, common
    content classes) with the most paragraph text; its paragraphs, sub-headings, list items and
    quotes in order. Falls back to the element holding the most <p> text."""
    candidates = root.xpath(_BODY_XPATH)
    if not candidates:
        parents: Counter = Counter()
        for p in root.iter("p"):
            parent = p.getparent()
            if parent is not None:
                parents[parent] += len(_WORD.findall(p.text_content()))
        if not parents:
            return []
        candidates = [parents.most_common(1)[0][0]]
    best, best_words = None, 0
    for cand in candidates:
        words = sum(len(_WORD.findall(p.text_content())) for p in cand.iter("p"))
        if words > best_words:
            best, best_words = cand, words
    if best is None:
        return []
    blocks = []
    for el in best.iter(*_TEXT_BLOCKS):
        # a block inside another text block is read with its parent
        if any(_tag(a) in _TEXT_BLOCKS for a in el.iterancestors()):
            continue
        blocks.extend(split_blocks(el.text_content()))
    return blocks
