"""Page parsers. A site's parser comes from its profile (``parser_for``): the profile's hook when it
names one, else the declarative profile parser (generic extractor for what the profile leaves out).
Parsers are pure: ``parse(body, url, *, encoding=None) -> ArticleItem`` or ``PageRejected``."""

from __future__ import annotations

import functools
from importlib import import_module

from core.items import ArticleItem
from core.sites import SiteProfile, get_site
from crawler.parsers.base import REJECT_KINDS, PageRejected, Parser, decode_html, element_text


def load_hook(target: str) -> Parser:
    """``"module:function"`` → the function; ValueError naming the hook when it cannot be loaded."""
    module_name, _, func_name = target.partition(":")
    try:
        func = getattr(import_module(module_name), func_name)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"hook {target!r} cannot be loaded: {exc}") from None
    if not callable(func):
        raise ValueError(f"hook {target!r} is not callable")
    return func


def site_parser(site: SiteProfile | str) -> Parser:
    """The bare article parser of a site profile (or site key): its hook, or its declared fields."""
    profile = get_site(site) if isinstance(site, str) else site
    if profile.hook:
        return load_hook(profile.hook)
    from crawler.parsers.profile import parse_with_profile

    return functools.partial(parse_with_profile, profile)


def parser_for(site: SiteProfile | str) -> Parser:
    """The parser the crawl and the replay use: the site's parser, plus, on the profile's drift sample,
    the agreement of its output with the generic extractor's (``crawler.parsers.drift``)."""
    profile = get_site(site) if isinstance(site, str) else site
    parse = site_parser(profile)
    how = f"hook:{profile.hook}" if profile.hook else "profile"

    def parse_and_check(body: bytes | str, url: str, *, encoding: str | None = None,
                        drift: bool | None = None) -> ArticleItem:
        """``drift``: compare this page with the generic extractor (None: if its URL is in the profile's
        sample; the crawler passes its own decision, which also keeps to ``drift.max_pages``)."""
        from crawler.parsers.drift import annotate, sampled

        item = parse(body, url, encoding=encoding)
        if item.extraction is None:  # a hook, or a profile that records no per-field provenance
            item.extraction = {"parser": how}
        if drift is None:
            drift = sampled(url, profile.drift.sample)
        if drift and not str((item.extraction or {}).get("body", "")).startswith("generic"):
            annotate(item, body, url, timezone=profile.timezone, language=profile.language)
        return item

    return parse_and_check


#: The bare parser of a site (tests and tools that look at one parser's output).
get_parser = site_parser

__all__ = ["REJECT_KINDS", "PageRejected", "Parser", "decode_html", "element_text", "get_parser", "load_hook",
           "parser_for", "site_parser"]
