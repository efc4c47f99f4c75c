"""Data-quality checks on a loaded day, run by the quality DAG after each load (and by the CLI).

They compare the day with the warehouse's own history rather than fixed numbers, so they keep
working as a site grows: a day far below the recent median, a field whose coverage collapsed or a
high quarantine share fails the check with a reason on-call can act on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from statistics import median
from typing import Any

from core.coverage import COVERAGE_FLOORS, coverage_sql

MIN_HISTORY_DAYS = 7  # below this, the volume check only requires a non-empty day
VOLUME_FLOOR = 0.5  # the day must hold at least this share of the trailing median
MAX_QUARANTINE_SHARE = 0.2


@dataclass
class QualityReport:
    day: str
    articles: int
    trailing_median: float | None
    coverage: dict[str, float]
    quarantine_share: float
    problems: list[str] = field(default_factory=list)
    site: str | None = None
    drift: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"site": self.site, "day": self.day, "articles": self.articles, "trailing_median": self.trailing_median,
                "coverage": self.coverage, "quarantine_share": self.quarantine_share,
                "drift": self.drift, "problems": self.problems, "ok": self.ok}


def evaluate(day: date, counts_by_day: dict[date, int], coverage: dict[str, float],
             quarantined: int) -> QualityReport:
    """Pure: judge one day from its counts, its field coverage and its quarantine count."""
    n = counts_by_day.get(day, 0)
    history = [counts_by_day.get(day - timedelta(days=i), 0) for i in range(1, 29)]
    seen = [c for c in history if c > 0]
    trailing = float(median(seen)) if len(seen) >= MIN_HISTORY_DAYS else None
    problems: list[str] = []
    if n == 0:
        problems.append(f"empty_day: no article stored for {day}")
    elif trailing is not None and n < VOLUME_FLOOR * trailing:
        problems.append(f"low_volume: {n} articles on {day}, trailing 28-day median {trailing:g}")
    for name, floor in COVERAGE_FLOORS.items():
        share = coverage.get(name)
        if n and share is not None and share < floor:
            problems.append(f"coverage: {name} in {share:.1%} of articles (floor {floor:.0%})")
    share_q = quarantined / (n + quarantined) if (n + quarantined) else 0.0
    if share_q > MAX_QUARANTINE_SHARE:
        problems.append(f"quarantine_share: {quarantined} of {n + quarantined} rows quarantined ({share_q:.0%})")
    return QualityReport(day=day.isoformat(), articles=n, trailing_median=trailing, coverage=coverage,
                         quarantine_share=round(share_q, 4), problems=problems)


def drift_problems(site: str, extractions: list[str | None], *, body_floor: float = 0.8, field_floor: float = 0.8,
                   min_pages: int = 3) -> tuple[list[str], dict[str, Any]]:
    """Pure: the drift verdict of one site-day from its rows' ``extraction`` JSON.

    Sampled rows carry ``agreement`` scores against the generic extractor (``crawler.parsers.drift``).
    The day fails when the mean body agreement, or the share of sampled pages whose title / publication
    time agree, falls below the floors: the site's markup probably changed under its profile."""
    import json

    scores: list[dict[str, float]] = []
    for raw in extractions:
        try:
            agreement = (json.loads(raw) or {}).get("agreement") if raw else None
        except (ValueError, AttributeError):
            agreement = None
        if isinstance(agreement, dict):
            scores.append(agreement)
    stats: dict[str, Any] = {"sampled": len(scores)}
    if len(scores) < min_pages:
        return [], stats
    body = sum(float(s.get("body", 0.0)) for s in scores) / len(scores)
    stats["body"] = round(body, 4)
    failing = []
    if body < body_floor:
        failing.append(f"body (mean agreement {body:.2f}, floor {body_floor:.2f})")
    for name in ("title", "published_at"):
        values = [float(s[name]) for s in scores if name in s]
        if not values:
            continue
        share = sum(values) / len(values)
        stats[name] = round(share, 4)
        if share < field_floor:
            failing.append(f"{name} ({share:.0%} of sampled pages agree, floor {field_floor:.0%})")
    if not failing:
        return [], stats
    return [f"drift: {site}'s profile disagrees with the generic extractor on {len(scores)} sampled pages: "
            + "; ".join(failing) + " — the site's markup may have changed; run `newsline sites check "
            + f"{site}`"], stats


#: Days before the checked day that the volume check compares it with.
CHECK_HISTORY_DAYS = 28


def day_window(days: list[date], site: str | None) -> Any:
    """The ``warehouse.query.Window`` that both ``check_day`` and the day's report read, for every day of
    ``days``: a quality run of several days of one site opens one connection, not two per day."""
    from newsline.report import HISTORY_DAYS
    from warehouse.query import Window

    back = max(CHECK_HISTORY_DAYS, HISTORY_DAYS - 1)
    return Window(min(days) - timedelta(days=back), max(days), site)


def check_day(root: str, day: date, site: str | None = None, *, con: Any = None) -> QualityReport:
    """Read what the warehouse holds around ``day`` (for one site, or all) and evaluate it. ``con``: a
    connection from ``warehouse.query.connect`` whose window holds those days (``day_window``)."""
    from warehouse.query import Window, connection

    lo = day - timedelta(days=CHECK_HISTORY_DAYS)
    with connection(root, Window(lo, day, site), con) as con:
        return _check(con, day, lo, site)


def _check(con: Any, day: date, lo: date, site: str | None) -> QualityReport:
    where_site, args = (" and site = ?", [site]) if site else ("", [])
    rows = con.execute(f"select date, count(*) from articles where date between ? and ?{where_site} group by date",
                       [lo, day, *args]).fetchall()
    counts = {r[0]: int(r[1]) for r in rows}
    cols = list(COVERAGE_FLOORS)
    exprs = coverage_sql(cols)
    cov_row = con.execute(f"select {exprs} from articles where date = ?{where_site}", [day, *args]).fetchone()
    coverage = {c: round(float(v), 4) for c, v in zip(cols, cov_row or [], strict=False) if v is not None}
    try:
        quarantined = int(con.execute(
            f"select count(*) from quarantine where date = ? and stage = 'transform'{where_site}",
            [day, *args]).fetchone()[0])
    except Exception:  # noqa: BLE001 - no quarantine dataset yet
        quarantined = 0
    report = evaluate(day, counts, coverage, quarantined)
    report.site = site
    if site:
        from core.sites import get_site

        rule = get_site(site).drift
        rows = con.execute("select extraction from articles where date = ? and site = ?", [day, site]).fetchall()
        problems, report.drift = drift_problems(site, [r[0] for r in rows], body_floor=rule.body_floor,
                                                field_floor=rule.field_floor, min_pages=rule.min_pages)
        report.problems += problems
    return report


def find_summary(staging: str, site: str, day: date, run_id: str | None) -> dict[str, Any] | None:
    """The summary of one run, read through the storage layer (a local staging folder or ``s3://``)."""
    from newsline.pipeline import SUMMARY_FILE
    from warehouse.paths import join, run_location
    from warehouse.staging import read_json

    if not run_id:
        return None
    return read_json(join(run_location(staging, site, day, run_id), SUMMARY_FILE))


def write_report(root: str, day: date, summary: dict[str, Any] | None, *, staging: str, site: str,
                 con: Any = None) -> str:
    """Build the day's HTML report and put it under the staging root's ``reports/`` (local folder or
    ``s3://``, with ``plotly.min.js`` beside it); returns where it is. On S3 the page is built in the
    worker's temporary folder and uploaded, so no worker reads another's local path."""
    import tempfile
    from pathlib import Path

    from newsline.report import PLOTLY_JS, build_daily_report
    from warehouse.paths import is_remote, join, report_location
    from warehouse.staging import copy_file, exists

    target = report_location(staging, site, day)
    if not is_remote(target):
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        return build_daily_report(root, day, summary, target, staging=staging, site=site, con=con)
    folder = target.rsplit("/", 1)[0]
    with tempfile.TemporaryDirectory(prefix="newsline-report-") as tmp:
        local = Path(tmp) / target.rsplit("/", 1)[1]
        build_daily_report(root, day, summary, str(local), staging=staging, site=site, con=con)
        if not exists(join(folder, PLOTLY_JS)):
            copy_file(local.parent / PLOTLY_JS, join(folder, PLOTLY_JS))
        copy_file(local, target)
    return target
