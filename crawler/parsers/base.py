"""What every page parser shares: the rejection type and the text helpers that keep parsers pure."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from typing import Any, Literal

from lxml import etree
from parsel import Selector

from core.items import ArticleItem

RejectKind = Literal["blocked", "not_article", "malformed"]
REJECT_KINDS: tuple[str, ...] = ("blocked", "not_article", "malformed")

#: A parser turns one fetched page into one raw item, or raises PageRejected.
Parser = Callable[..., ArticleItem]

#: Elements whose text never belongs to the visible text of an element.
_INVISIBLE = frozenset({"script", "style", "noscript", "template"})
#: C0 controls other than tab/newline/carriage return: lxml refuses them, browsers drop them.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class PageRejected(Exception):
    """A fetched page that is not a usable article.

    ``kind`` tells the crawl accounting what happened: ``blocked`` (empty document or bot
    challenge: the site refused us), ``not_article`` (a listing, attachment or other page),
    ``malformed`` (an article page without a title or without body text).
    """

    def __init__(self, kind: RejectKind, reason: str) -> None:
        if kind not in REJECT_KINDS:
            raise ValueError(f"unknown rejection kind {kind!r}")
        super().__init__(f"{kind}: {reason}")
        self.kind: RejectKind = kind
        self.reason = reason


def decode_html(body: bytes | str, *, encoding: str | None = None, content_type: str | None = None) -> str:
    """Bytes → text, robust to a wrong or missing charset (servers lie more often than bytes do).

    Order: a BOM; strict UTF-8 when the bytes validate (a UTF-8 page declared ISO-8859-1 is the
    common lie, and valid UTF-8 is almost never meant as anything else); then the ``<meta charset>``
    and the HTTP charset, each only if the bytes decode strictly under it; then lossy UTF-8 when most
    non-ASCII sequences are valid UTF-8 (a few corrupt bytes become U+FFFD); then charset-normalizer's
    guess when it is a multi-byte encoding (Shift_JIS, EUC, GBK, ... with no declared charset);
    finally windows-1252 (the WHATWG reading of latin-1 and the usual charset of a page declared
    UTF-8 that is not). UTF-16 without a BOM is recognised by its NUL bytes. Latin-1 and ASCII
    labels are read as windows-1252, as browsers do. Raises ``PageRejected("malformed",
    "undecodable: …")`` when more than 1 % of the decoded characters are U+FFFD (mojibake is never
    stored unflagged)."""
    if isinstance(body, str):
        return _CONTROL_RE.sub("", body)
    header = charset_of(content_type) or encoding
    text = _decode_bytes(body, header)
    return _CONTROL_RE.sub("", text)


#: Labels browsers read as windows-1252 (WHATWG Encoding Standard).
_CP1252_ALIASES = frozenset({"iso-8859-1", "iso8859-1", "latin-1", "latin1", "l1", "ascii", "us-ascii",
                             "iso_8859-1", "cp819", "ibm819", "windows-1252", "cp1252", "x-cp1252"})
_META_CHARSET_RE = re.compile(
    rb"""<meta[^>]+?(?:charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)|content\s*=\s*["'][^"']*?charset\s*=\s*([A-Za-z0-9_.:-]+))""",
    re.IGNORECASE,
)
_BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))


def charset_of(content_type: str | None) -> str | None:
    """The charset a Content-Type value declares (``text/html; charset="x"`` → ``x``), or None."""
    if not content_type or "charset=" not in content_type.lower():
        return None
    value = content_type.lower().split("charset=", 1)[1].split(";", 1)[0].strip().strip("\"'")
    return value or None


def _codec(label: str | None) -> str | None:
    """A Python codec name for a charset label; None when unknown."""
    if not label:
        return None
    label = label.strip().lower()
    if label in _CP1252_ALIASES:
        return "cp1252"
    import codecs

    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def meta_charset(body: bytes) -> str | None:
    """The charset a ``<meta>`` in the first 4 KiB declares, or None."""
    m = _META_CHARSET_RE.search(body[:4096])
    if not m:
        return None
    raw = m.group(1) or m.group(2)
    return raw.decode("ascii", errors="ignore") or None


#: Encodings charset-normalizer may pick that a page cannot be "mostly ASCII in windows-1252".
_MULTIBYTE = frozenset({"shift_jis", "cp932", "euc_jp", "euc_jis_2004", "iso2022_jp", "shift_jis_2004",
                        "shift_jisx0213", "gb2312", "gbk", "gb18030", "hz", "big5", "big5hkscs", "cp950",
                        "euc_kr", "cp949", "johab", "iso2022_kr", "utf_16", "utf_16_le", "utf_16_be",
                        "utf_32", "utf_32_le", "utf_32_be"})
#: A decoded page with more U+FFFD than this share of its characters (and at least _MIN_BAD of them)
#: is rejected as undecodable rather than stored as mojibake.
_MAX_REPLACEMENT_SHARE = 0.01
_MIN_BAD = 8


def _utf16_without_bom(body: bytes) -> str | None:
    """UTF-16 without a BOM: markup is mostly ASCII, so every other byte is NUL (strict UTF-8 accepts
    NULs, so this must be checked first)."""
    sample = body[:4096]
    half = len(sample) // 2
    if half < 8:
        return None
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    if odd > 0.3 * half and even < 0.05 * half:
        return "utf-16-le"
    if even > 0.3 * half and odd < 0.05 * half:
        return "utf-16-be"
    return None


def _detected(body: bytes) -> str | None:
    """charset-normalizer's best guess for bytes no declared charset explains, or None."""
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(body[:65536]).best()
    except Exception:  # noqa: BLE001 - detection is a heuristic; never fail the page on it
        return None
    return best.encoding if best is not None else None


def _decode_bytes(body: bytes, header_charset: str | None) -> str:
    text, codec = _decode_with(body, header_charset)
    bad = text.count("\ufffd")
    if bad >= _MIN_BAD and bad > _MAX_REPLACEMENT_SHARE * len(text):
        raise PageRejected("malformed", f"undecodable: {bad} of {len(text)} characters could not be decoded "
                                        f"(best reading {codec}, declared {header_charset or 'nothing'})")
    return text


def _decode_with(body: bytes, header_charset: str | None) -> tuple[str, str]:
    for bom, codec in _BOMS:
        if body.startswith(bom):
            return body[len(bom):].decode(codec, errors="replace"), codec
    utf16 = _utf16_without_bom(body)
    if utf16 is not None:
        return body[: len(body) - len(body) % 2].decode(utf16, errors="replace"), utf16
    try:
        return body.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    for label in (meta_charset(body), header_charset):
        codec = _codec(label)
        if codec is None or codec in ("utf-8", "utf_8"):
            continue  # already failed strictly above
        try:
            return body.decode(codec), codec
        except (UnicodeDecodeError, LookupError):
            continue
    lossy = body.decode("utf-8", errors="replace")
    bad = lossy.count("\ufffd")
    good = sum(1 for ch in lossy if ord(ch) > 0x7F) - bad
    if good > bad:
        return lossy, "utf-8 (lossy)"  # UTF-8 with a few broken bytes: keep the good text, mark the bad
    # Nothing declared explains the bytes: a Shift_JIS/EUC/GBK page with no charset would read as
    # windows-1252 mojibake. Ask charset-normalizer; a multi-byte guess wins, windows-1252 (which
    # it often calls cp1250 on English text) otherwise.
    guess = _detected(body)
    candidates = ([guess] if guess in _MULTIBYTE else []) + ["cp1252"] + ([guess] if guess else [])
    for codec in candidates:
        try:
            return body.decode(codec), codec
        except (UnicodeDecodeError, LookupError):
            continue
    return body.decode("cp1252", errors="replace"), "cp1252"


def element_text(el: etree._Element, *, max_depth: int | None = None, skip: Collection[Any] = ()) -> str:
    """Visible text of an element: tags stripped, entities decoded, <br> as a newline, scripts and
    styles skipped. Inner whitespace is kept for the transform to normalise. Iterative, so a
    hostile, deeply nested page cannot exhaust the stack; ``max_depth`` stops at elements that many
    levels below ``el`` (their text and their children's are left out, their tail kept), and the
    descendants in ``skip`` are left out the same way."""
    parts: list[str] = []
    if el.text and _tag(el) not in _INVISIBLE:
        parts.append(el.text)
    stack: list[tuple[etree._Element, bool, int]] = [(child, False, 1) for child in reversed(list(el))]
    while stack:
        node, done, depth = stack.pop()
        if done:
            if node.tail:
                parts.append(node.tail)
            continue
        stack.append((node, True, depth))
        if skip and node in skip:
            continue
        tag = _tag(node)
        if tag == "br":
            parts.append("\n")
            continue
        if tag in _INVISIBLE or not isinstance(node.tag, str):
            continue
        if max_depth is not None and depth > max_depth:
            continue
        if node.text:
            parts.append(node.text)
        stack.extend((child, False, depth + 1) for child in reversed(list(node)))
    return "".join(parts)


def _tag(el: etree._Element) -> str:
    tag = el.tag
    return tag.lower() if isinstance(tag, str) else ""


def clean_or_none(value: str | None) -> str | None:
    """Outer whitespace stripped (inner kept for the transform); blank becomes None."""
    if value is None:
        return None
    value = value.strip()
    return value or None


#: Challenge pages are short; a long page mentioning "captcha" is not one.
CHALLENGE_MAX_TEXT = 3000
#: Phrases of bot-protection / challenge pages (lower case).
CHALLENGE_MARKERS: tuple[str, ...] = (
    "captcha", "challenge-platform", "cf-chl", "just a moment", "checking your browser", "access denied",
    "request blocked", "are you a robot", "verify you are human", "enable javascript and cookies",
    "bot protection", "_incapsula_", "px-captcha",
)


def challenge_reason(sel: Selector) -> str | None:
    """Why a page without an article is a refusal (bot challenge, empty body), or None when it is an
    ordinary page. Shared by every parser so "blocked" means the same on every site."""
    body = sel.xpath("//body")
    body_el = body[0] if body else None
    visible = element_text(body_el.root).strip() if body_el is not None else ""
    has_elements = body_el is not None and bool(
        body_el.xpath("./*[not(self::script or self::noscript or self::style)]"))
    lowered = sel.get().lower() if len(visible) < CHALLENGE_MAX_TEXT else ""
    marker = next((m for m in CHALLENGE_MARKERS if m in lowered), None)
    if marker is not None:
        return f"bot challenge page (contains {marker!r})"
    if body_el is None or (not visible and not has_elements):
        return "document has no body content"
    if not visible:
        return "document body has no visible text"
    return None
