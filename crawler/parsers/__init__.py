"""Page parsers by site key: adding a site is a parser module plus one entry in ``PARSERS``
(and its ``newsline.sites`` entry). Parsers are pure: ``parse(body, url, *, encoding=None)``."""

from __future__ import annotations

from importlib import import_module

from crawler.parsers.base import REJECT_KINDS, PageRejected, Parser, decode_html, element_text

#: site key → "module:function" of its article parser (imported lazily).
PARSERS: dict[str, str] = {
    "japannews": "crawler.parsers.japannews:parse_article",
}


def get_parser(site_key: str) -> Parser:
    """The article parser of a site; ValueError for a site without one."""
    try:
        target = PARSERS[site_key]
    except KeyError:
        raise ValueError(f"no parser for site {site_key!r}; known: {', '.join(sorted(PARSERS))}") from None
    module_name, _, func_name = target.partition(":")
    return getattr(import_module(module_name), func_name)


__all__ = ["PARSERS", "REJECT_KINDS", "PageRejected", "Parser", "decode_html", "element_text", "get_parser"]
