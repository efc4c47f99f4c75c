"""The daily HTML report: one self-contained file an editor can open offline and see how a day went.

What landed (articles per section on the day, and over the last 14 days) comes from the warehouse,
read through the DuckDB views of ``warehouse.query``; how the run went (new/updated/unchanged,
crawl health) comes from the run summary. Field coverage and quarantine reasons come from the
summary when there is one and are otherwise measured on the stored day, so a report built without
a summary (a backfill, a manual call) still shows them. plotly.js is embedded inline once: the file
needs no network. The only file written is ``out_path``; the same inputs give the same bytes.
"""

from __future__ import annotations

import html
import json
import logging
import math
import os
from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from warehouse.query import connect

log = logging.getLogger(__name__)

HISTORY_DAYS = 14

#: Chart ids, in page order; tests and readers of the HTML find each chart by its id.
CHART_IDS = (
    "chart-sections-day",
    "chart-sections-history",
    "chart-run-status",
    "chart-field-coverage",
    "chart-quarantine-reasons",
    "chart-crawl-health",
)

#: Fields measured on the stored day when the summary has no ``field_coverage``.
COVERAGE_FIELDS = ("title", "body", "published_at", "modified_at", "subsection", "url", "byline", "dateline",
                   "image_url", "summary", "keywords", "authors")

STATUS_KEYS = (("articles_new", "new"), ("articles_updated", "updated"), ("articles_unchanged", "unchanged"),
               ("articles_quarantined", "quarantined"))
HEALTH_KEYS = (("articles_discovered", "discovered"), ("pages_fetched", "fetched"), ("pages_failed", "failed"),
               ("pages_blocked", "blocked / empty"), ("pages_skipped_unchanged", "skipped (unchanged)"))

_CHART_HEIGHT = 380
_PLOT_CONFIG = {"displaylogo": False, "responsive": True}


def build_daily_report(root: str, day: date, summary: dict | None, out_path: str) -> str:
    """Write the report of ``day`` to ``out_path`` and return ``out_path``."""
    data = _read_day(root, day)
    summary = dict(summary or {})
    coverage, coverage_source = _coverage(summary, data)
    reasons, reasons_source = _reasons(summary, data)
    charts = [
        _sections_day_chart(data["sections_day"], day),
        _sections_history_chart(data["history"], day),
        _status_chart(summary),
        _coverage_chart(coverage, coverage_source),
        _reasons_chart(reasons, reasons_source),
        _health_chart(summary),
    ]
    page = _page(day, summary, data, charts)
    target = Path(out_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, target)
    log.info("daily report for %s written to %s (%d articles)", day, out_path, data["total_day"])
    return out_path


# --- reading -------------------------------------------------------------------------------------


def _read_day(root: str, day: date) -> dict[str, Any]:
    first = day - timedelta(days=HISTORY_DAYS - 1)
    con = connect(root)
    try:
        sections_day = con.execute(
            "SELECT section, count(*) FROM articles WHERE date = ? GROUP BY section ORDER BY section", [day]
        ).fetchall()
        history = con.execute(
            "SELECT date, section, count(*) FROM articles WHERE date BETWEEN ? AND ? "
            "GROUP BY date, section ORDER BY date, section",
            [first, day],
        ).fetchall()
        measured = ", ".join(
            f"avg(CASE WHEN {_present(name)} THEN 1.0 ELSE 0.0 END) AS {name}" for name in COVERAGE_FIELDS
        )
        coverage_row = con.execute(f"SELECT count(*), {measured} FROM articles WHERE date = ?", [day]).fetchone()
        quarantine = con.execute(
            "SELECT reason, count(*) FROM quarantine WHERE date = ? GROUP BY reason ORDER BY 2 DESC, 1", [day]
        ).fetchall()
        revisions = con.execute("SELECT count(*) FROM article_revisions WHERE date = ?", [day]).fetchone()
        sites = con.execute("SELECT DISTINCT site FROM articles WHERE date = ? ORDER BY site", [day]).fetchall()
    finally:
        con.close()
    assert coverage_row is not None and revisions is not None
    measured_coverage = (
        {name: float(v) for name, v in zip(COVERAGE_FIELDS, coverage_row[1:], strict=True)} if coverage_row[0] else {}
    )
    return {
        "sections_day": [(str(s), int(n)) for s, n in sections_day],
        "history": [(d, str(s), int(n)) for d, s, n in history],
        "total_day": sum(n for _s, n in sections_day),
        "coverage": measured_coverage,
        "quarantine": _sum_codes(quarantine),
        "quarantine_rows": sum(int(n) for _r, n in quarantine),
        "revisions_day": int(revisions[0]),
        "sites": [str(s) for (s,) in sites],
    }


def _present(column: str) -> str:
    """SQL: the column holds a value (a non-blank string, a non-empty list)."""
    if column in ("keywords", "authors"):
        return f"len(coalesce({column}, [])) > 0"
    if column in ("published_at", "modified_at"):
        return f"{column} IS NOT NULL"
    return f"nullif(trim({column}), '') IS NOT NULL"


def _sum_codes(rows: list[tuple[str, int]]) -> dict[str, int]:
    """Reason codes and their counts, as the run summary counts them: a row's reason is
    ``"code: detail; code: detail"`` and each code counts once per row."""
    out: dict[str, int] = {}
    for reason, n in rows:
        for part in str(reason).split("; "):
            code = part.split(":", 1)[0].strip() or "unknown"
            out[code] = out.get(code, 0) + int(n)
    return out


def _coverage(summary: Mapping[str, Any], data: Mapping[str, Any]) -> tuple[dict[str, float], str]:
    given = summary.get("field_coverage")
    if isinstance(given, Mapping) and given:
        return {str(k): float(v) for k, v in given.items()}, "run summary"
    return dict(data["coverage"]), "stored articles of the day"


def _reasons(summary: Mapping[str, Any], data: Mapping[str, Any]) -> tuple[dict[str, int], str]:
    given = summary.get("quarantine_reasons")
    if isinstance(given, Mapping):
        return {str(k): int(v) for k, v in given.items() if int(v)}, "run summary"
    return dict(data["quarantine"]), "quarantine dataset"


# --- charts --------------------------------------------------------------------------------------


def _figure(title: str, *, empty_note: str | None = None) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(
        title={"text": html.escape(title), "x": 0.01},
        height=_CHART_HEIGHT,
        margin={"l": 60, "r": 20, "t": 50, "b": 60},
        template="plotly_white",
    )
    if empty_note:
        fig.add_annotation(text=html.escape(empty_note), showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper",
                           font={"size": 14, "color": "#666"})
        fig.update_xaxes(visible=False)
        fig.update_yaxes(visible=False)
    return fig


def _sections_day_chart(rows: list[tuple[str, int]], day: date) -> go.Figure:
    fig = _figure(f"Articles per section on {day.isoformat()}", empty_note=None if rows else "no articles stored")
    if rows:
        fig.add_trace(go.Bar(x=[s for s, _n in rows], y=[n for _s, n in rows], name="articles",
                             text=[n for _s, n in rows], textposition="auto"))
        fig.update_yaxes(title_text="articles", dtick=_count_step(n for _s, n in rows))
    return fig


def _count_step(values: Iterable[int]) -> int:
    """A whole-number tick step: counts have no half articles."""
    return max(1, math.ceil(max(values, default=0) / 8))


def _sections_history_chart(rows: list[tuple[date, str, int]], day: date) -> go.Figure:
    first = day - timedelta(days=HISTORY_DAYS - 1)
    days = [(first + timedelta(days=i)).isoformat() for i in range(HISTORY_DAYS)]
    fig = _figure(f"Articles per section, {days[0]} to {days[-1]}",
                  empty_note=None if rows else "no articles stored in these 14 days")
    if rows:
        sections = sorted({s for _d, s, _n in rows})
        counts = {(d.isoformat(), s): n for d, s, n in rows}
        for section in sections:
            fig.add_trace(go.Bar(x=days, y=[counts.get((d, section), 0) for d in days], name=section))
        fig.update_layout(barmode="stack", legend={"orientation": "h", "y": -0.2})
        fig.update_xaxes(type="category")
        totals: dict[str, int] = {}
        for d, _s, n in rows:
            totals[d.isoformat()] = totals.get(d.isoformat(), 0) + n
        fig.update_yaxes(title_text="articles", dtick=_count_step(totals.values()))
    return fig


def _status_chart(summary: Mapping[str, Any]) -> go.Figure:
    present = [(label, int(summary[key])) for key, label in STATUS_KEYS if key in summary]
    fig = _figure("Articles of the run",
                  empty_note=None if present else "no run summary for this day")
    if present:
        colors = {"new": "#2a9d8f", "updated": "#e9c46a", "unchanged": "#8ab17d", "quarantined": "#e76f51"}
        fig.add_trace(go.Bar(x=[label for label, _n in present], y=[n for _label, n in present],
                             marker_color=[colors[label] for label, _n in present],
                             text=[n for _label, n in present], textposition="auto"))
        fig.update_yaxes(title_text="articles", dtick=_count_step(n for _label, n in present))
    return fig


def _coverage_chart(coverage: Mapping[str, float], source: str) -> go.Figure:
    fig = _figure(f"Field coverage ({source})",
                  empty_note=None if coverage else "no articles to measure")
    if coverage:
        names = sorted(coverage, key=lambda k: (coverage[k], k))
        shares = [coverage[k] for k in names]
        fig.add_trace(go.Bar(x=shares, y=names, orientation="h",
                             marker_color=["#e76f51" if v < 0.5 else "#2a9d8f" for v in shares],
                             text=[f"{v:.0%}" for v in shares], textposition="auto"))
        fig.update_xaxes(range=[0, 1], tickformat=".0%", title_text="share of articles with a value")
        fig.update_layout(height=max(_CHART_HEIGHT, 28 * len(names) + 100))
    return fig


def _reasons_chart(reasons: Mapping[str, int], source: str) -> go.Figure:
    fig = _figure(f"Quarantine reasons ({source})", empty_note=None if reasons else "nothing quarantined")
    if reasons:
        names = sorted(reasons, key=lambda k: (reasons[k], k))
        fig.add_trace(go.Bar(x=[reasons[k] for k in names], y=names, orientation="h", marker_color="#e76f51",
                             text=[reasons[k] for k in names], textposition="auto"))
        fig.update_xaxes(title_text="rows", dtick=_count_step(reasons.values()))
    return fig


def _health_chart(summary: Mapping[str, Any]) -> go.Figure:
    present = [(label, int(summary[key])) for key, label in HEALTH_KEYS if summary.get(key) is not None]
    fig = _figure("Crawl health", empty_note=None if present else "no run summary for this day")
    if present:
        bad = {"failed", "blocked / empty"}
        fig.add_trace(go.Bar(x=[label for label, _n in present], y=[n for _label, n in present],
                             marker_color=["#e76f51" if label in bad else "#264653" for label, _n in present],
                             text=[n for _label, n in present], textposition="auto"))
        fig.update_yaxes(title_text="pages / articles", dtick=_count_step(n for _label, n in present))
    return fig


# --- page ----------------------------------------------------------------------------------------

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px; color: #222; }
h1 { margin-bottom: 4px; } .sub { color: #666; margin-top: 0; }
.kpis { display: flex; flex-wrap: wrap; gap: 12px; margin: 16px 0; }
.kpi { border: 1px solid #ddd; border-radius: 6px; padding: 8px 14px; min-width: 110px; }
.kpi b { display: block; font-size: 1.5em; } .kpi span { color: #666; font-size: 0.85em; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(520px, 1fr)); gap: 16px; }
.chart { border: 1px solid #eee; border-radius: 6px; padding: 4px; min-width: 0; overflow: hidden; }
.status-ok { color: #2a9d8f; } .status-failed { color: #e76f51; }
ul.anomalies { color: #e76f51; }
"""


def _kpi(label: str, value: object) -> str:
    return f'<div class="kpi"><b>{html.escape(str(value))}</b><span>{html.escape(label)}</span></div>'


def _page(day: date, summary: Mapping[str, Any], data: Mapping[str, Any], charts: list[go.Figure]) -> str:
    site = str(summary.get("site") or ", ".join(data["sites"]) or "no site")
    status = summary.get("status")
    kpis = [
        _kpi("articles stored for the day", data["total_day"]),
        _kpi("sections", len(data["sections_day"])),
        _kpi("versions in article_revisions", data["revisions_day"]),
        _kpi("rows in quarantine", data["quarantine_rows"]),
    ]
    for key, label in (("articles_new", "new"), ("articles_updated", "updated"), ("pages_failed", "pages failed"),
                       ("duration_s", "run seconds")):
        if summary.get(key) is not None:
            kpis.append(_kpi(label, summary[key]))
    status_html = ""
    if status:
        css = "status-ok" if status == "ok" else "status-failed"
        status_html = f' &middot; run status <b class="{css}">{html.escape(str(status))}</b>'
    anomalies = [str(a) for a in summary.get("anomalies") or []]
    anomalies_html = (
        '<h2>Anomalies</h2><ul class="anomalies">' + "".join(f"<li>{html.escape(a)}</li>" for a in anomalies) + "</ul>"
        if anomalies else ""
    )
    run_html = (
        f' &middot; run <code>{html.escape(str(summary["run_id"]))}</code>' if summary.get("run_id") else ""
    )
    blocks = []
    for chart_id, fig in zip(CHART_IDS, charts, strict=True):
        div = fig.to_html(full_html=False, include_plotlyjs=False, div_id=chart_id, config=_PLOT_CONFIG,
                          default_height=f"{fig.layout.height or _CHART_HEIGHT}px", default_width="100%")
        blocks.append(f'<section class="chart" data-chart="{chart_id}">{div}</section>')
    summary_json = html.escape(json.dumps(summary, indent=2, sort_keys=True, default=str)) if summary else ""
    details = (f"<details><summary>Run summary (JSON)</summary><pre>{summary_json}</pre></details>"
               if summary_json else "<p class=\"sub\">No run summary was given for this day.</p>")
    title = f"Newsline daily report: {site}, {day.isoformat()}"
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{html.escape(title)}</title><style>{_CSS}</style>"
        f"<script type=\"text/javascript\">{get_plotlyjs()}</script></head><body>"
        f"<h1>{html.escape(title)}</h1>"
        f"<p class=\"sub\">Publication day {day.isoformat()} (site timezone){run_html}{status_html}</p>"
        f"<div class=\"kpis\">{''.join(kpis)}</div>{anomalies_html}"
        f"<div class=\"grid\">{''.join(blocks)}</div>{details}</body></html>\n"
    )
