"""Field-level text rules (see the normalisation rules in the README): pure functions on strings.

Each function accepts whatever a raw item may carry (None, a wrong type, odd whitespace) and
returns a clean value or None, never raising: the caller decides what a missing value means.
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np

_KEYWORD_COUNT_RE = re.compile(r"^\(\d+\)\s*")
_TAG_RE = re.compile(r"</?[A-Za-z][A-Za-z0-9]*(?:\s[^<>]*)?/?>")
_AUTHOR_SPLIT_RE = re.compile(r",\s+and\s+|,\s+|\s+and\s+")
_BY_RE = re.compile(r"^by\s+", re.IGNORECASE)


def normalise_text(value: object) -> str | None:
    """NFC, every whitespace character (U+2002, NBSP, tabs, newlines…) as one space, stripped.

    Typographic quotes and dashes are kept; an empty result, or a value that is not text, is None.
    """
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if not isinstance(value, str):
        return None
    if not unicodedata.is_normalized("NFC", value):
        value = unicodedata.normalize("NFC", value)
    # str.split() splits on exactly the characters str.isspace() (and regex \s) call whitespace
    return " ".join(value.split()) or None


def as_list(value: object) -> list[object]:
    """A list-like raw value (list, tuple, numpy array from Parquet) as a list; a lone string as
    a one-element list; anything else as empty."""
    if value is None:
        return []
    if isinstance(value, (str, bytes)):
        return [value]
    if isinstance(value, (list, tuple, np.ndarray)):
        return list(value)
    return []


def split_update_mark(title: str | None, marker: str | re.Pattern[str] | None) -> tuple[str | None, int]:
    """``"Headline (UPDATE 2)"`` → ``("Headline", 2)``; without the mark the revision is 0.

    ``marker`` is the site's revision-marker regex (the profile's ``title.revision_marker``: group
    ``n`` or the first group holds n); None means the site marks no revisions in its headlines."""
    if title is None or marker is None:
        return title, 0
    match = re.search(marker, title)
    if not match:
        return title, 0
    raw = match.groupdict().get("n") or (match.group(1) if match.groups() else None)
    try:
        n = int(raw) if raw is not None else 0
    except ValueError:
        n = 0
    return normalise_text(title[: match.start()] + title[match.end():]), n


def strip_site_suffix(html_title: str | None, site_name: str, suffix: str | None = None) -> str | None:
    """``<title>`` text without the trailing ``" - <site name>"`` (or the site's own suffix regex)."""
    if html_title is None:
        return None
    pattern = suffix or rf"(?:^|\s)[-\u2013\u2014|:]\s*{re.escape(site_name)}$"
    match = re.search(pattern, html_title)
    if match:
        return normalise_text(html_title[: match.start()])
    return None if html_title == site_name else html_title


def split_dateline(paragraph: str | None, rule: str | re.Pattern[str] | None) -> tuple[str | None, str | None]:
    """``"SEOUL — Prime Minister…"`` → ``("SEOUL", "Prime Minister…")``; else ``(None, paragraph)``.

    ``rule`` is the site's dateline regex (the profile's ``dateline``: group ``dateline`` or the first
    group is the place); None
    means the site has no datelines. The paragraph comes back None when nothing is left.
    """
    if paragraph is None:
        return None, None
    if rule is None:
        return None, paragraph
    match = re.match(rule, paragraph)
    if not match:
        return None, paragraph
    place = (match.groupdict().get("dateline") or match.group(1)).strip()
    if not any(c.isalpha() for c in place):
        return None, paragraph
    return place, normalise_text(paragraph[match.end():])


def clean_paragraphs(paragraphs: object) -> list[str]:
    """Each body block normalised, empty ones dropped, order kept."""
    out: list[str] = []
    for p in as_list(paragraphs):
        text = normalise_text(p)
        if text is not None:
            out.append(text)
    return out


def split_body(paragraphs: object, rule: str | re.Pattern[str] | None) -> tuple[str | None, str | None]:
    """``(dateline, body)``: the dateline comes off the first paragraph; paragraphs joined by a
    blank line. An empty body is None."""
    blocks = clean_paragraphs(paragraphs)
    dateline: str | None = None
    if blocks:
        dateline, first = split_dateline(blocks[0], rule)
        blocks = ([first] if first is not None else []) + blocks[1:]
    return dateline, ("\n\n".join(blocks) or None)


def authors_of(byline: str | None) -> list[str]:
    """``"By A, B and C / Yomiuri Shimbun Staff Writers"`` → ``["A", "B", "C"]``."""
    if byline is None:
        return []
    names = _BY_RE.sub("", byline).split(" / ", 1)[0]
    return [n for n in (normalise_text(part) for part in _AUTHOR_SPLIT_RE.split(names)) if n]


def clean_keywords(keywords: object) -> list[str]:
    """JSON-LD keywords with their leading ``"(n) "`` count stripped, empties dropped."""
    out: list[str] = []
    for kw in as_list(keywords):
        text = normalise_text(kw)
        if text is None:
            continue
        text = normalise_text(_KEYWORD_COUNT_RE.sub("", text))
        if text is not None:
            out.append(text)
    return out


def strip_markup(value: str | None) -> str | None:
    """Tags left in a description (og:description holds raw ``<p>`` markup) removed, normalised."""
    if value is None:
        return None
    return normalise_text(_TAG_RE.sub(" ", value))


def access_of(raw: object, free_values: list[str] | tuple[str, ...] = ("free",), missing: str = "unknown") -> str:
    """``free`` for one of the site's free markers (default "free"), ``premium`` for any other
    non-empty value, ``missing`` (default ``unknown``) when the page carries no marker."""
    text = normalise_text(raw)
    if text is None:
        return missing
    return "free" if text.casefold() in {v.casefold() for v in free_values} else "premium"
