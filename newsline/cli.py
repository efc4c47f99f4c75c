"""``newsline``: the data engineer's command line. It calls the same functions as the DAGs."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

log = logging.getLogger("newsline")


def _add_settings_flags(p: argparse.ArgumentParser, *, site_required: bool = True) -> None:
    p.add_argument("--site", required=site_required,
                   help="site key: a profile in sites/ (see `newsline sites list`)"
                        + ("" if site_required else "; default: every site"))
    p.add_argument("--base-url", dest="base_url",
                   help="site root for this run (default: $NEWSLINE_BASE_URL_<KEY>, else the profile's base_url)")
    p.add_argument("--warehouse", help="warehouse root, local path or s3:// (default: $NEWSLINE_WAREHOUSE)")
    p.add_argument("--staging", help="local folder for run staging and WARC archives (default: $NEWSLINE_STAGING)")
    p.add_argument("--page-budget", dest="page_budget", type=int)
    p.add_argument("--concurrency", dest="concurrency_per_domain", type=int)
    p.add_argument("--delay", dest="download_delay", type=float)


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    keys = ("base_url", "warehouse", "staging", "page_budget", "concurrency_per_domain", "download_delay")
    return {k: getattr(args, k) for k in keys if getattr(args, k, None) not in (None, "")}


def cmd_run(args: argparse.Namespace) -> int:
    from core.sites import get_site
    from core.timeutil import check_run_day, parse_day
    from newsline.pipeline import RunFailed, RunSpec, new_run_id, run_day

    reprocess = args.command == "reprocess"
    day = check_run_day(parse_day(args.date), get_site(args.site).timezone)
    spec = RunSpec(site=args.site, day=day.isoformat(),
                   run_id=args.run_id or new_run_id("reprocess" if reprocess else "cli"), overrides=_overrides(args))
    try:
        summary = run_day(spec, incremental=not getattr(args, "full", False), reprocess=reprocess)
        status = 0
    except RunFailed as exc:
        log.error("%s", exc)
        summary = _read_summary(spec)
        status = 1
    if summary is not None:
        if args.summary:
            Path(args.summary).write_text(json.dumps(summary, indent=2, sort_keys=True, default=str), encoding="utf-8")
        print(format_summary(summary))
    return status


def _read_summary(spec: Any) -> dict[str, Any] | None:
    from newsline.pipeline import SUMMARY_FILE

    path = spec.run_dir / SUMMARY_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def format_summary(summary: dict[str, Any]) -> str:
    lines = [
        f"run {summary.get('run_id')} · {summary.get('site')} · day {summary.get('day')} · status {summary.get('status')}",
        "  pages: discovered {articles_discovered} fetched {pages_fetched} failed {pages_failed} "
        "blocked {pages_blocked} skipped-unchanged {pages_skipped_unchanged}".format(**{
            k: summary.get(k, 0) for k in ("articles_discovered", "pages_fetched", "pages_failed", "pages_blocked",
                                           "pages_skipped_unchanged")}),
        "  articles: new {articles_new} updated {articles_updated} unchanged {articles_unchanged} "
        "quarantined {articles_quarantined}".format(**{
            k: summary.get(k, 0) for k in ("articles_new", "articles_updated", "articles_unchanged",
                                           "articles_quarantined")}),
    ]
    if summary.get("per_section"):
        lines.append("  per section: " + ", ".join(f"{k}={v}" for k, v in summary["per_section"].items()))
    for problem in summary.get("anomalies") or []:
        lines.append(f"  ANOMALY: {problem}")
    if summary.get("summary_path"):
        lines.append(f"  summary: {summary['summary_path']}")
    return "\n".join(lines)


def cmd_extract(args: argparse.Namespace) -> int:
    from newsline.extract import extract_page

    try:
        body = Path(args.page).read_bytes()
    except OSError as exc:
        raise ValueError(f"cannot read {args.page}: {exc.strerror or exc}") from None
    record = extract_page(body, args.url, site=args.site, explain=args.explain)
    print(json.dumps(record, indent=2, ensure_ascii=False, default=str))
    return 0 if record.get("quarantine_reason") is None else 2


def cmd_demo_site(args: argparse.Namespace) -> int:
    from demo_site.world import main as demo_main

    if args.site in (None, "all"):
        argv = ["--all", "--port-base", str(args.port)]
        if args.days:
            raise ValueError("--days needs --site japannews (the world serves each site's own demo days)")
    elif args.site == "japannews":
        argv = ["--port", str(args.port)]
    else:
        raise ValueError(f"--site must be all or japannews (the other demo sites are served with --site all), "
                         f"got {args.site!r}")
    if args.as_of:
        argv += ["--as-of", args.as_of]
    if args.days:
        argv += ["--days", args.days]
    if args.articles_per_day:
        argv += ["--articles-per-day", str(args.articles_per_day)]
    return int(demo_main(argv) or 0)


def cmd_demo(args: argparse.Namespace) -> int:
    from newsline.demo import run_demo

    return run_demo(days=args.days, port=args.port, sites=args.sites)


def cmd_query(args: argparse.Namespace) -> int:
    from core.config import load_settings
    from warehouse.query import main_query

    root = args.warehouse or load_settings().warehouse
    if args.export_db is not None:
        from warehouse.duckdb_file import export_database

        print(f"wrote the DuckDB database with the views to {export_database(root, args.export_db or None)}")
        if not args.sql:
            return 0
    if not args.sql:
        raise ValueError("give the SQL to run (or --export-db)")
    text = main_query(root, args.sql, args.format, args.out, args.max_rows)
    if text:
        print(text)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from core.config import load_settings
    from core.timeutil import parse_day
    from newsline.report import build_daily_report
    from warehouse.paths import report_file

    settings = load_settings(**_overrides(args))
    summary = json.loads(Path(args.summary).read_text(encoding="utf-8")) if args.summary else None
    day = parse_day(args.date)
    out = args.out or str(report_file(settings.staging, args.site or "all-sites", day))
    print(build_daily_report(settings.warehouse, day, summary, out, staging=settings.staging, site=args.site))
    return 0


def cmd_ingest_warc(args: argparse.Namespace) -> int:
    from core.timeutil import parse_day
    from crawler.warc_source import SourceError
    from newsline.ingest_warc import format_summary, ingest_warc

    if args.sites and args.all_news:
        raise ValueError("--sites and --all-news exclude each other")
    sites = [s.strip() for s in args.sites.split(",") if s.strip()] if args.sites else None
    hosts = {}
    for route in args.route_host or []:
        host, sep, site = route.partition("=")
        if not sep or not host.strip() or not site.strip():
            raise ValueError(f"--route-host expects HOST=SITE, got {route!r}")
        hosts[host.strip().lower()] = site.strip()
    try:
        summary = ingest_warc(parse_day(args.date), collection=args.collection, sites=sites, all_news=args.all_news,
                              max_files=args.max_files, force=args.force, parallel=args.parallel,
                              overrides=_overrides(args), progress=print, extra_hosts=hosts or None)
    except (SourceError, FileNotFoundError) as exc:
        raise ValueError(str(exc)) from None
    if args.summary:
        Path(args.summary).write_text(json.dumps(summary, indent=2, sort_keys=True, default=str), encoding="utf-8")
    print(format_summary(summary))
    return 0


def cmd_prune_runs(args: argparse.Namespace) -> int:
    from core.config import load_settings
    from newsline.retention import prune_runs

    settings = load_settings(**_overrides(args))
    result = prune_runs(settings.staging, args.older_than, archive=args.archive or settings.archive, site=args.site,
                        including_archives=args.including_archives, dry_run=args.dry_run)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, sort_keys=True))
    else:
        print(result.text())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="newsline", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="crawl, transform and load one whole day, outside Airflow")
    p.add_argument("--date", required=True, help="logical day YYYY-MM-DD in the site's timezone")
    p.add_argument("--summary", help="also write the run summary JSON here")
    p.add_argument("--run-id", dest="run_id")
    p.add_argument("--full", action="store_true", help="refetch every article, even unchanged ones")
    _add_settings_flags(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("reprocess", help="rebuild one day from its raw WARC archives, without the network")
    p.add_argument("--date", required=True, help="logical day YYYY-MM-DD in the site's timezone")
    p.add_argument("--summary", help="also write the run summary JSON here")
    p.add_argument("--run-id", dest="run_id")
    _add_settings_flags(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("ingest-warc", help="ingest one day of a web archive (CC-NEWS or any WARC collection)")
    p.add_argument("--date", required=True, help="UTC day YYYY-MM-DD: the files whose name's timestamp is on it")
    p.add_argument("--collection", default="ccnews",
                   help="ccnews (Common Crawl over HTTPS), ccnews-s3, an http(s):// URL, s3:// prefix or folder")
    p.add_argument("--sites", help="comma-separated site keys to keep (default: every registered site)")
    p.add_argument("--all-news", dest="all_news", action="store_true",
                   help="keep any news article the generic extractor accepts")
    p.add_argument("--max-files", dest="max_files", type=int, help="read at most N files of the day")
    p.add_argument("--force", action="store_true", help="read files again even if the day's manifest has them")
    p.add_argument("--parallel", type=int, default=2, help="files downloaded at once (default 2)")
    p.add_argument("--route-host", dest="route_host", action="append", metavar="HOST=SITE",
                   help="also route this host (a mirror, the demo site) to a site; repeatable")
    p.add_argument("--summary", help="also write the run summary JSON here")
    p.add_argument("--warehouse", help="warehouse root, local path or s3:// (default: $NEWSLINE_WAREHOUSE)")
    p.add_argument("--staging", help="local staging folder (default: $NEWSLINE_STAGING)")
    p.set_defaults(func=cmd_ingest_warc)

    p = sub.add_parser("extract", help="parse one saved page (any site) and print the article as JSON")
    p.add_argument("page", help="saved HTML file")
    p.add_argument("--url", required=True, help="the URL the page was fetched from (picks the site's profile)")
    p.add_argument("--site", help="site key (default: the profile owning the URL's domain, else generic)")
    p.add_argument("--explain", action="store_true", help="also print which step gave each field")
    p.set_defaults(func=cmd_extract)

    p = sub.add_parser("demo-site", help="serve the demo news sites on 127.0.0.1, each on its own port")
    p.add_argument("--port", type=int, default=8765, help="port of the first site (the others follow; 0 = free ports)")
    p.add_argument("--site", default="all", help="all (default) or japannews alone")
    p.add_argument("--as-of", dest="as_of", help="the sites' clock, ISO (naive = each site's local time)")
    p.add_argument("--days", help="japannews alone: its demo days, e.g. 2024-09-04..2024-09-08")
    p.add_argument("--articles-per-day", dest="articles_per_day", type=int, help="articles per site and day")
    p.set_defaults(func=cmd_demo_site)

    p = sub.add_parser("demo", help="the whole demo: the demo sites + every site's DAG for its demo days")
    p.add_argument("--days", help="only these days, e.g. 2024-09-04..2024-09-08 (default: every site's demo days)")
    p.add_argument("--sites", help="only these demo sites, comma-separated (default: all)")
    p.add_argument("--port", type=int, default=0, help="port of the first demo site (default 8765)")
    p.set_defaults(func=cmd_demo)

    from newsline.sites_cli import add_sites_parser

    add_sites_parser(sub)

    p = sub.add_parser("query", help="run SQL (DuckDB) over the warehouse: views articles, article_revisions, quarantine")
    p.add_argument("sql", nargs="?", help="one read-only statement (SELECT, DESCRIBE, SHOW, SUMMARIZE, EXPLAIN)")
    p.add_argument("--format", default="table", choices=["table", "csv", "json", "parquet"],
                   help="table (default; shows 20 rows unless --max-rows), csv, json (JSON Lines), parquet (needs --out)")
    p.add_argument("--max-rows", dest="max_rows", type=int, metavar="N",
                   help="output at most N rows; 0 = all (default: all, but 20 for --format table)")
    p.add_argument("--out", help="write the result to this file instead of printing it")
    p.add_argument("--export-db", dest="export_db", nargs="?", const="", metavar="PATH",
                   help="write a DuckDB database file with the views (default <warehouse>/_duckdb/newsline.duckdb)")
    p.add_argument("--warehouse", help="warehouse root, local path or s3:// (default: $NEWSLINE_WAREHOUSE)")
    p.set_defaults(func=cmd_query)

    p = sub.add_parser("prune-runs", help="delete what run folders unchanged for N days no longer need "
                                          "(summaries, crawl reports and unarchived WARCs are kept)")
    p.add_argument("--older-than", dest="older_than", type=float, required=True, metavar="DAYS",
                   help="prune run folders none of whose files changed in this many days (at least 1)")
    p.add_argument("--archive", help="archive root holding copies of the raw archives (default: $NEWSLINE_ARCHIVE)")
    p.add_argument("--including-archives", dest="including_archives", action="store_true",
                   help="also delete raw archives (WARC) that have no copy under the archive root: "
                        "`newsline reprocess` can then no longer rebuild those days")
    p.add_argument("--dry-run", dest="dry_run", action="store_true", help="say what would go, delete nothing")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    _add_settings_flags(p, site_required=False)
    p.set_defaults(func=cmd_prune_runs)

    p = sub.add_parser("report", help="write the daily HTML report for a day, from every run of the day")
    p.add_argument("--date", required=True, help="publication day YYYY-MM-DD (site timezone)")
    p.add_argument("--summary", help="an extra run summary JSON to include (the day's runs under --staging are read anyway)")
    p.add_argument("--out", help="report file (default <staging>/reports/<site>-<day>.html; plotly.min.js is written beside it)")
    _add_settings_flags(p, site_required=False)
    p.set_defaults(func=cmd_report)
    return parser


def user_error(exc: BaseException) -> str | None:
    """The one-line message of a known user error (bad argument, unusable warehouse path, disk full,
    unreachable object store), or None for anything else (a bug: let it show its traceback)."""
    if isinstance(exc, ValueError):
        return str(exc)
    if isinstance(exc, OSError):
        reason = exc.strerror or str(exc) or type(exc).__name__
        name = exc.filename
        return f"{reason}: {name}" if name else reason
    try:
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError:  # pragma: no cover - botocore is a dependency of the S3 warehouse
        return None
    if isinstance(exc, (BotoCoreError, ClientError)):
        return f"object store: {' '.join(str(exc).split())}"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        return int(args.func(args) or 0)
    except Exception as exc:
        message = user_error(exc)
        if message is None:
            raise
        if args.verbose:
            log.exception("newsline %s failed", args.command)
        parser.exit(2, f"newsline: error: {message}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
