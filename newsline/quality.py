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

#: Minimum share of the day's articles that must carry each field.
COVERAGE_FLOORS = {"title": 1.0, "body": 1.0, "published_at": 1.0, "url": 1.0, "section": 1.0}
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

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"site": self.site, "day": self.day, "articles": self.articles, "trailing_median": self.trailing_median,
                "coverage": self.coverage, "quarantine_share": self.quarantine_share,
                "problems": self.problems, "ok": self.ok}


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


def check_day(root: str, day: date, site: str | None = None) -> QualityReport:
    """Read what the warehouse holds around ``day`` (for one site, or all) and evaluate it."""
    from warehouse.query import connect

    con = connect(root)
    lo = day - timedelta(days=28)
    where_site, args = (" and site = ?", [site]) if site else ("", [])
    rows = con.execute(f"select date, count(*) from articles where date between ? and ?{where_site} group by date",
                       [lo, day, *args]).fetchall()
    counts = {r[0]: int(r[1]) for r in rows}
    cols = list(COVERAGE_FLOORS)
    exprs = ", ".join(
        f"avg(case when {c} is not null and cast({c} as varchar) <> '' then 1.0 else 0.0 end)" for c in cols)
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
    return report
