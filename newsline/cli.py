"""``newsline``: the data engineer's command line. It calls the same functions as the DAGs."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

log = logging.getLogger("newsline")


def _add_settings_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--site", default="japannews", help="site key (default: japannews)")
    p.add_argument("--base-url", dest="base_url", help="site root (default: $NEWSLINE_BASE_URL or the demo site)")
    p.add_argument("--warehouse", help="warehouse root, local path or s3:// (default: $NEWSLINE_WAREHOUSE)")
    p.add_argument("--staging", help="local folder for run staging and WARC archives (default: $NEWSLINE_STAGING)")
    p.add_argument("--page-budget", dest="page_budget", type=int)
    p.add_argument("--concurrency", dest="concurrency_per_domain", type=int)
    p.add_argument("--delay", dest="download_delay", type=float)


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    keys = ("base_url", "warehouse", "staging", "page_budget", "concurrency_per_domain", "download_delay")
    return {k: getattr(args, k) for k in keys if getattr(args, k, None) not in (None, "")}


def cmd_run(args: argparse.Namespace) -> int:
    from newsline.pipeline import RunFailed, RunSpec, new_run_id, run_day
    from newsline.timeutil import parse_day

    reprocess = args.command == "reprocess"
    day = parse_day(args.date)
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

    body = Path(args.page).read_bytes()
    record = extract_page(body, args.url, site=args.site)
    print(json.dumps(record, indent=2, ensure_ascii=False, default=str))
    return 0 if record.get("quarantine_reason") is None else 2


def cmd_demo_site(args: argparse.Namespace) -> int:
    from demo_site.server import main as demo_main

    argv = ["--port", str(args.port)]
    if args.as_of:
        argv += ["--as-of", args.as_of]
    if args.days:
        argv += ["--days", args.days]
    if args.articles_per_day:
        argv += ["--articles-per-day", str(args.articles_per_day)]
    return int(demo_main(argv) or 0)


def cmd_demo(args: argparse.Namespace) -> int:
    from newsline.demo import run_demo

    return run_demo(days=args.days, port=args.port)


def cmd_query(args: argparse.Namespace) -> int:
    from newsline.config import load_settings
    from warehouse.query import main_query

    root = args.warehouse or load_settings().warehouse
    text = main_query(root, args.sql, args.format, args.out)
    if text:
        print(text)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from newsline.config import load_settings
    from newsline.report import build_daily_report
    from newsline.timeutil import parse_day
    from warehouse.paths import report_file

    settings = load_settings(**_overrides(args))
    summary = json.loads(Path(args.summary).read_text(encoding="utf-8")) if args.summary else None
    day = parse_day(args.date)
    out = args.out or str(report_file(settings.staging, args.site, day))
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    print(build_daily_report(settings.warehouse, day, summary, out))
    return 0


def cmd_ingest_warc(args: argparse.Namespace) -> int:
    from crawler.warc_source import AllNewsUnavailable, SourceError
    from newsline.ingest_warc import format_summary, ingest_warc
    from newsline.timeutil import parse_day

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
    except (SourceError, AllNewsUnavailable, FileNotFoundError) as exc:
        raise ValueError(str(exc)) from None
    if args.summary:
        Path(args.summary).write_text(json.dumps(summary, indent=2, sort_keys=True, default=str), encoding="utf-8")
    print(format_summary(summary))
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

    p = sub.add_parser("extract", help="parse one saved page and print the article as JSON")
    p.add_argument("page", help="saved HTML file")
    p.add_argument("--url", required=True, help="the URL the page was fetched from")
    p.add_argument("--site", default="japannews")
    p.set_defaults(func=cmd_extract)

    p = sub.add_parser("demo-site", help="serve the demo news site on 127.0.0.1")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--as-of", dest="as_of")
    p.add_argument("--days")
    p.add_argument("--articles-per-day", dest="articles_per_day", type=int)
    p.set_defaults(func=cmd_demo_site)

    p = sub.add_parser("demo", help="the whole demo: demo site + Airflow runs of the demo days")
    p.add_argument("--days", default="2024-09-04..2024-09-08")
    p.add_argument("--port", type=int, default=0, help="demo site port (0 = any free port)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("query", help="run SQL (DuckDB) over the warehouse: views articles, article_revisions, quarantine")
    p.add_argument("sql")
    p.add_argument("--format", default="table", choices=["table", "csv", "json", "parquet"])
    p.add_argument("--out")
    p.add_argument("--warehouse")
    p.set_defaults(func=cmd_query)

    p = sub.add_parser("report", help="write the daily HTML report for a day")
    p.add_argument("--date", required=True)
    p.add_argument("--summary", help="run summary JSON to include")
    p.add_argument("--out")
    _add_settings_flags(p)
    p.set_defaults(func=cmd_report)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        return int(args.func(args) or 0)
    except ValueError as exc:
        parser.exit(2, f"newsline: error: {exc}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
