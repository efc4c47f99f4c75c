"""The multi-site demo world: every demo site on its own loopback port, one clock call, one truth API.

``DEMO_SITES`` maps a site key to its model factory, demo days and timezone; ``DemoWorld`` starts one
``DemoServer`` per site (ports ``port_base + offset`` in ``DEMO_SITES`` order, or free ports when
``port_base`` is 0). ``main(argv)`` is ``python -m demo_site``: ``--all`` serves the world, anything
else is the single Japan News server (``server.main``).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Any

from demo_site.faults import FaultConfig
from demo_site.generator import DEFAULT_DAYS, JST, SITE_KEY, SITE_NAME, DemoSite
from demo_site.metrotimes import MetroTimes
from demo_site.rheinkurier import RheinKurier
from demo_site.server import FAULTS_ENV, DemoServer, SiteModel, build_parser, parse_as_of
from demo_site.server import main as single_main
from demo_site.sitebase import BaseSite, labelled_pairs
from demo_site.valleyherald import ValleyHerald

log = logging.getLogger(__name__)

DEFAULT_PORT_BASE = 8765


@dataclass(frozen=True)
class SiteEntry:
    key: str
    name: str
    factory: Callable[..., SiteModel]  # keyword args: days, articles_per_day, seed, as_of
    days: tuple[date, ...]
    timezone: tzinfo
    language: str


#: key -> entry, in port order (the Japan News first: it keeps port_base itself).
DEMO_SITES: dict[str, SiteEntry] = {
    SITE_KEY: SiteEntry(SITE_KEY, SITE_NAME, DemoSite, DEFAULT_DAYS, JST, "en"),
    **{
        cls.key: SiteEntry(cls.key, cls.name, cls, cls.default_days, cls.timezone, cls.language)
        for cls in (MetroTimes, ValleyHerald, RheinKurier)
    },
}


def build_site(key: str, articles_per_day: int | None = None, seed: int | None = None) -> SiteModel:
    """One site model with its defaults; ``articles_per_day`` / ``seed`` override them."""
    if key not in DEMO_SITES:
        raise ValueError(f"unknown demo site {key!r}; known: {', '.join(DEMO_SITES)}")
    kwargs: dict[str, Any] = {}
    if articles_per_day is not None:
        kwargs["articles_per_day"] = articles_per_day
    if seed is not None:
        kwargs["seed"] = seed
    return DEMO_SITES[key].factory(**kwargs)


def _aware(value: datetime | str, tz: tzinfo) -> datetime:
    """An ISO string or datetime; naive values are read in the site's own timezone."""
    if isinstance(value, str):
        return parse_as_of(value, tz)
    return value if value.tzinfo is not None else value.replace(tzinfo=tz)


class DemoWorld:
    """All demo sites served at once; a context manager (``start`` / ``stop``)."""

    def __init__(
        self,
        as_of: datetime | str | None = None,
        faults: FaultConfig | str | None = None,
        port_base: int = 0,
        host: str = "127.0.0.1",
        sites: list[str] | tuple[str, ...] | None = None,
        articles_per_day: int | None = None,
    ) -> None:
        keys = list(sites or DEMO_SITES)
        order = list(DEMO_SITES)
        self.models: dict[str, SiteModel] = {k: build_site(k, articles_per_day) for k in keys}
        self.servers: dict[str, DemoServer] = {}
        for key in keys:
            model = self.models[key]
            self.servers[key] = DemoServer(
                model,
                host=host,
                port=port_base + order.index(key) if port_base else 0,
                as_of=_aware(as_of, model.timezone) if as_of is not None else None,
                faults=faults,
                announce=False,
            )

    def start(self) -> DemoWorld:
        started = []
        try:
            for key, server in self.servers.items():
                server.start()
                started.append(server)
                log.info(
                    "demo site %s serving on %s (as of %s)",
                    key,
                    server.base_url,
                    server.as_of.astimezone(server.site.timezone).isoformat(),
                )
        except OSError:
            for server in started:
                server.stop()
            raise
        return self

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()

    def __enter__(self) -> DemoWorld:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def base_urls(self) -> dict[str, str]:
        return {k: s.base_url for k, s in self.servers.items()}

    def set_as_of(self, value: datetime | str, key: str | None = None) -> None:
        """Move the clock of every site (or one); a naive value is each site's own local time."""
        for k, server in self.servers.items():
            if key is None or k == key:
                server.set_as_of(_aware(value, server.site.timezone))

    def set_faults(self, config: FaultConfig | str | None, key: str | None = None) -> None:
        for k, server in self.servers.items():
            if key is None or k == key:
                server.set_faults(config)

    def truth(self, key: str, day: date | None = None, as_of: datetime | None = None) -> list[dict[str, Any]]:
        """Ground truth of one site at its server's clock; Japan News records gain ``section_native``
        (``section/subsection``) and ``wire_group`` (None) so every site has the same fields."""
        server = self.servers[key]
        records = server.truth(as_of, day)
        if isinstance(server.site, DemoSite):
            for r in records:
                r.setdefault("section_native", f"{r['section']}/{r['subsection']}")
                r.setdefault("wire_group", None)
        return records

    def labelled_pairs(self) -> list[tuple[str, str, bool]]:
        """(article_id, article_id, same_story): wire copies (True) and look-alike different stories (False)."""
        sites = [(s.site, s.as_of) for s in self.servers.values() if isinstance(s.site, BaseSite)]
        visible = {f"{site.key}:{st.native_id}" for site, when in sites for st, _ in site.visible(when)}
        pairs = labelled_pairs([site for site, _ in sites])
        return [p for p in pairs if p[0] in visible and p[1] in visible]


def build_world_parser() -> argparse.ArgumentParser:
    parser = build_parser()
    parser.description = "Serve the Newsline demo news site(s) on 127.0.0.1."
    parser.set_defaults(articles_per_day=None)  # --all: each site's own default unless given
    parser.add_argument("--all", action="store_true", help="serve every demo site, each on its own port")
    parser.add_argument(
        "--port-base",
        type=int,
        default=DEFAULT_PORT_BASE,
        help=f"with --all: the Japan News port, the others follow (default {DEFAULT_PORT_BASE}; 0 = free ports)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """``python -m demo_site [--all]``: serve in the foreground until SIGINT/SIGTERM."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_world_parser().parse_args(argv)
    if not args.all:
        if any(a.startswith("--port-base") for a in argv):
            print("newsline: error: --port-base needs --all (one site: --port)", file=sys.stderr)
            return 2
        return single_main(argv)
    if args.big_sitemap:
        print("newsline: error: --big-sitemap is for one site (the Japan News look-alike), not --all", file=sys.stderr)
        return 2
    if args.days:
        print("newsline: error: --days is for one site; --all serves each site's own demo days", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=getattr(logging, str(args.log_level).upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    spec = args.faults if args.faults is not None else os.environ.get(FAULTS_ENV, "")
    try:
        world = DemoWorld(
            as_of=args.as_of,
            faults=FaultConfig.parse(spec),
            port_base=args.port_base,
            host=args.host,
            articles_per_day=args.articles_per_day,
        )
        world.start()
    except (ValueError, OSError) as exc:
        print(f"newsline: error: {exc}", file=sys.stderr)
        return 2
    done = threading.Event()

    def _stop(signum: int, frame: object) -> None:
        done.set()

    signal.signal(signal.SIGTERM, _stop)
    try:
        done.wait()
    except KeyboardInterrupt:
        pass
    finally:
        world.stop()
    return 0
