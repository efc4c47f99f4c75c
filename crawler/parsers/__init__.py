"""Page parsers. A site's parser comes from its profile (``parser_for``): the profile's hook when it
names one, else the declarative profile parser (generic extractor for what the profile leaves out).
Parsers are pure: ``parse(body, url, *, encoding=None) -> ArticleItem`` or ``PageRejected``."""

from __future__ import annotations

import functools
from importlib import import_module

from crawler.parsers.base import REJECT_KINDS, PageRejected, Parser, decode_html, element_text
from newsline.sites import SiteProfile, get_site


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


def parser_for(site: SiteProfile | str) -> Parser:
    """The article parser of a site profile (or site key)."""
    profile = get_site(site) if isinstance(site, str) else site
    if profile.hook:
        return load_hook(profile.hook)
    from crawler.parsers.profile import parse_with_profile

    return functools.partial(parse_with_profile, profile)


#: Compatibility name.
get_parser = parser_for

__all__ = ["REJECT_KINDS", "PageRejected", "Parser", "decode_html", "element_text", "get_parser", "load_hook",
           "parser_for"]
