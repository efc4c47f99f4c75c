"""The daily HTML report: one small file an editor can open offline and see how a day went.

What landed (articles per site and section on the day, over the last 14 days, and the day's
headlines with links) comes from the warehouse, read through the DuckDB views of
``warehouse.query``; how the runs went (new/updated/unchanged, crawl health) comes from the run
summaries of EVERY run of the day (all of them under the staging root, plus a summary given by the
caller), so a cleared and re-run day shows its first run's new articles too. Field coverage and
quarantine reasons come from the latest summary when there is one and are otherwise measured on the
stored day. plotly.js is written once beside the reports (``plotly.min.js``) and referenced
relatively: a report is ~50 KB instead of 4.9 MB, and still needs no network (copy the script with
it). The same inputs give the same bytes.
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

from core.coverage import COVERAGE_COLUMNS, coverage_sql
from warehouse.query import Window, check_warehouse, connection

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


STATUS_KEYS = (("articles_new", "new"), ("articles_updated", "updated"), ("articles_unchanged", "unchanged"),
               ("articles_quarantined", "quarantined"))
HEALTH_KEYS = (("articles_discovered", "discovered"), ("pages_fetched", "fetched"), ("pages_failed", "failed"),
               ("pages_blocked", "blocked / empty"), ("pages_skipped_unchanged", "skipped (unchanged)"))

#: The shared plotly.js, written once beside the reports and referenced relatively.
PLOTLY_JS = "plotly.min.js"
#: Oldest day a report is built for; later than tomorrow (UTC) is refused as the future.
FIRST_DAY = date(1970, 1, 1)
#: Headlines listed per report at most (the newest are kept when a day has more).
MAX_HEADLINES = 500

_CHART_HEIGHT = 380
_PLOT_CONFIG = {"displaylogo": False, "responsive": True}


def build_daily_report(
    root: str,
    day: date,
    summary: dict | None,
    out_path: str,
    *,
    staging: str | None = None,
    site: str | None = None,
    con: Any = None,
) -> str:
    """Write the report of ``day`` to ``out_path`` (and ``plotly.min.js`` beside it if missing) and
    return ``out_path``.

    ``con``: an open ``warehouse.query.connect`` connection whose window holds the report's days (the
    quality DAG shares one across the days it checks); default: one of its own.
    ``staging``: read the summaries of every run of the day there (of ``site``, or of every site);
    ``summary``: a run summary to include too (if it is not among them). ``site``: report that site
    only; default every site stored for the day, each named. Raises ``WarehouseError`` (a
    ``ValueError``) when ``root`` is not a warehouse, ``ValueError`` for a day out of range.
    """
    check_report_day(day)
    check_warehouse(root)
    runs = _runs(staging, site, day, summary)
    data = _read_day(root, day, site, con)
    latest = dict(runs[-1]) if runs else {}
    coverage, coverage_source = _coverage(latest, data)
    reasons, reasons_source = _reasons(latest, data)
    charts = [
        _sections_day_chart(data["sections_day"], day),
        _sections_history_chart(data["history"], day),
        _status_chart(runs),
        _coverage_chart(coverage, coverage_source),
        _reasons_chart(reasons, reasons_source),
        _health_chart(runs),
    ]
    target = Path(out_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    _write_plotly_js(target.parent / PLOTLY_JS)
    page = _page(day, site, runs, data, charts)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, target)
    log.info("daily report for %s written to %s (%d articles, %d runs)", day, out_path, data["total_day"], len(runs))
    return out_path


def check_report_day(day: date) -> None:
    """A ``ValueError`` for a day no warehouse can hold: before 1970 or after tomorrow (UTC)."""
    from datetime import UTC, datetime

    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    if day < FIRST_DAY:
        raise ValueError(f"day {day.isoformat()} is before {FIRST_DAY.isoformat()}: no report for it")
    if day > tomorrow:
        raise ValueError(f"day {day.isoformat()} is in the future: no report for it")


def _write_plotly_js(path: Path) -> None:
    """The shared plotly.js beside the reports, written when missing or from another plotly version."""
    script = get_plotlyjs().encode("utf-8")
    try:
        if path.stat().st_size == len(script) and path.read_bytes() == script:
            return
    except FileNotFoundError:
        pass
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(script)
    os.replace(tmp, path)


def day_summaries(staging: str, site: str | None, day: date) -> list[dict[str, Any]]:
    """Every run summary of ``day`` under the staging root (a folder or an ``s3://`` URI; of ``site``,
    or of every site), oldest run first (by the summary file's time, then run id), read through the
    storage layer. Unreadable summaries are skipped."""
    from newsline.pipeline import SUMMARY_FILE
    from warehouse.paths import day_runs_location, is_remote
    from warehouse.staging import list_files, list_stats, read_json

    if site is not None:
        sites = [site]
    elif is_remote(staging):
        sites = sorted({p[len(staging):].strip("/").split("/")[0] for p in list_files(staging)} - {"reports"})
    else:
        base = Path(staging)
        sites = sorted(p.name for p in base.iterdir() if p.is_dir() and p.name != "reports") if base.is_dir() else []
    found: list[tuple[float, str, dict[str, Any]]] = []
    for name in sites:
        try:
            folder = day_runs_location(staging, name, day)
        except ValueError:  # not a site folder
            continue
        for path, (modified, _size) in list_stats(folder).items():
            rel = path[len(folder):].strip("/").split("/")
            if len(rel) != 2 or rel[1] != SUMMARY_FILE:
                continue
            summary = read_json(path)
            if summary is None:
                log.warning("unreadable run summary %s skipped", path)
                continue
            found.append((modified, str(summary.get("run_id") or rel[0]), summary))
    return [s for _t, _r, s in sorted(found, key=lambda item: (item[0], item[1]))]


def _runs(staging: str | None, site: str | None, day: date, summary: dict | None) -> list[dict[str, Any]]:
    runs = day_summaries(staging, site, day) if staging else []
    if summary:
        known = {r.get("run_id") for r in runs}
        if summary.get("run_id") is None or summary.get("run_id") not in known:
            runs.append(dict(summary))
        else:  # the caller's copy (it may carry more, e.g. summary_path) replaces the stored one
            runs = [dict(summary) if r.get("run_id") == summary.get("run_id") else r for r in runs]
    return runs


# --- reading -------------------------------------------------------------------------------------


def _read_day(root: str, day: date, site: str | None, shared: Any = None) -> dict[str, Any]:
    first = max(day - timedelta(days=HISTORY_DAYS - 1), FIRST_DAY)
    mine = "(? IS NULL OR site = ?)"
    with connection(root, Window(first, day, site), shared) as con:
        sections_day = con.execute(
            f"SELECT site, section, count(*) FROM articles WHERE date = ? AND {mine} GROUP BY ALL ORDER BY ALL",
            [day, site, site],
        ).fetchall()
        history = con.execute(
            f"SELECT date, section, count(*) FROM articles WHERE date BETWEEN ? AND ? AND {mine} "
            "GROUP BY date, section ORDER BY date, section",
            [first, day, site, site],
        ).fetchall()
        measured = coverage_sql(COVERAGE_COLUMNS)
        coverage_row = con.execute(
            f"SELECT count(*), {measured} FROM articles WHERE date = ? AND {mine}", [day, site, site]
        ).fetchone()
        quarantine = con.execute(
            f"SELECT reason, count(*) FROM quarantine WHERE date = ? AND {mine} GROUP BY reason ORDER BY 2 DESC, 1",
            [day, site, site],
        ).fetchall()
        revisions = con.execute(
            f"SELECT count(*) FROM article_revisions WHERE date = ? AND {mine}", [day, site, site]
        ).fetchone()
        headlines = con.execute(
            f"SELECT site, section, published_at, title, url, article_id FROM articles WHERE date = ? AND {mine} "
            "ORDER BY site, published_at DESC NULLS LAST, article_id LIMIT ?",
            [day, site, site, MAX_HEADLINES],
        ).fetchall()
    assert coverage_row is not None and revisions is not None
    measured_coverage = (
        {name: float(v) for name, v in zip(COVERAGE_COLUMNS, coverage_row[1:], strict=True)} if coverage_row[0] else {}
    )
    per_site: dict[str, int] = {}
    for s, _sec, n in sections_day:
        per_site[str(s)] = per_site.get(str(s), 0) + int(n)
    return {
        "sections_day": [(str(s), str(sec), int(n)) for s, sec, n in sections_day],
        "history": [(d, str(s), int(n)) for d, s, n in history],
        "total_day": sum(int(n) for _s, _sec, n in sections_day),
        "per_site": per_site,
        "coverage": measured_coverage,
        "quarantine": _sum_codes(quarantine),
        "quarantine_rows": sum(int(n) for _r, n in quarantine),
        "revisions_day": int(revisions[0]),
        "sites": sorted(per_site),
        "headlines": [dict(zip(("site", "section", "published_at", "title", "url", "article_id"), r, strict=True))
                      for r in headlines],
    }


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


def _sections_day_chart(rows: list[tuple[str, str, int]], day: date) -> go.Figure:
    """Articles per section on the day, one bar series per site (stacked)."""
    fig = _figure(f"Articles per section on {day.isoformat()}", empty_note=None if rows else "no articles stored")
    if rows:
        sections = sorted({sec for _s, sec, _n in rows})
        for site in sorted({s for s, _sec, _n in rows}):
            counts = {sec: n for s, sec, n in rows if s == site}
            values = [counts.get(sec, 0) for sec in sections]
            fig.add_trace(go.Bar(x=sections, y=values, name=site, text=values, textposition="auto"))
        totals: dict[str, int] = {}
        for _s, sec, n in rows:
            totals[sec] = totals.get(sec, 0) + n
        fig.update_layout(barmode="stack", showlegend=True, legend={"orientation": "h", "y": -0.2})
        fig.update_yaxes(title_text="articles", dtick=_count_step(totals.values()))
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


def _run_label(summary: Mapping[str, Any], index: int) -> str:
    return str(summary.get("run_id") or f"run {index + 1}")


def _per_run_chart(title: str, runs: list[Mapping[str, Any]], keys: tuple[tuple[str, str], ...],
                   axis: str, colors: Mapping[str, str] | None = None) -> go.Figure:
    """One bar series per run (oldest first) over the ``keys`` a summary carries."""
    labels = [label for key, label in keys if any(r.get(key) is not None for r in runs)]
    fig = _figure(title, empty_note=None if labels else "no run summary for this day")
    if labels:
        wanted = {label: key for key, label in keys}
        values_seen: list[int] = []
        for i, run in enumerate(runs):
            values = [int(run.get(wanted[label]) or 0) for label in labels]
            values_seen += values
            bar: dict[str, Any] = {"x": labels, "y": values, "name": _run_label(run, i), "text": values,
                                   "textposition": "auto"}
            if colors and len(runs) == 1:
                bar["marker_color"] = [colors.get(label, "#264653") for label in labels]
            fig.add_trace(go.Bar(**bar))
        fig.update_layout(barmode="group", showlegend=len(runs) > 1, legend={"orientation": "h", "y": -0.2})
        fig.update_yaxes(title_text=axis, dtick=_count_step(values_seen))
    return fig


def _status_chart(runs: list[Mapping[str, Any]]) -> go.Figure:
    colors = {"new": "#2a9d8f", "updated": "#e9c46a", "unchanged": "#8ab17d", "quarantined": "#e76f51"}
    title = "Articles of the run" if len(runs) <= 1 else f"Articles of each of the day's {len(runs)} runs"
    return _per_run_chart(title, runs, STATUS_KEYS, "articles", colors)


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


def _health_chart(runs: list[Mapping[str, Any]]) -> go.Figure:
    colors = {label: ("#e76f51" if label in ("failed", "blocked / empty") else "#264653") for _k, label in HEALTH_KEYS}
    title = "Crawl health" if len(runs) <= 1 else f"Crawl health of each of the day's {len(runs)} runs"
    return _per_run_chart(title, runs, HEALTH_KEYS, "pages / articles", colors)


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
table.runs { border-collapse: collapse; margin: 8px 0 16px; } table.runs td, table.runs th { padding: 3px 10px;
  border-bottom: 1px solid #eee; text-align: left; } ol.headlines li { margin: 2px 0; }
.meta { color: #666; font-size: 0.85em; }
"""


def _kpi(label: str, value: object) -> str:
    return f'<div class="kpi"><b>{html.escape(str(value))}</b><span>{html.escape(label)}</span></div>'


def _page(day: date, site: str | None, runs: list[Mapping[str, Any]], data: Mapping[str, Any],
          charts: list[go.Figure]) -> str:
    sites = [site] if site else (data["sites"] or sorted({str(r["site"]) for r in runs if r.get("site")}))
    site_text = ", ".join(sites) or "no site"
    latest = runs[-1] if runs else {}
    kpis = [
        _kpi("articles stored for the day", data["total_day"]),
        _kpi("sections", len({sec for _s, sec, _n in data["sections_day"]})),
        _kpi("versions in article_revisions", data["revisions_day"]),
        _kpi("rows in quarantine", data["quarantine_rows"]),
    ]
    if len(data["per_site"]) > 1:
        kpis += [_kpi(f"articles of {name}", n) for name, n in data["per_site"].items()]
    if runs:
        kpis.append(_kpi("runs", len(runs)))
        for key, label in (("articles_new", "new"), ("articles_updated", "updated"), ("pages_failed", "pages failed")):
            if any(r.get(key) is not None for r in runs):
                kpis.append(_kpi(label + (" (all runs)" if len(runs) > 1 else ""),
                                 sum(int(r.get(key) or 0) for r in runs)))
        if latest.get("duration_s") is not None:
            kpis.append(_kpi("run seconds (latest)", latest["duration_s"]))
    status = latest.get("status")
    status_html = ""
    if status:
        css = "status-ok" if status == "ok" else "status-failed"
        status_html = f' &middot; latest run status <b class="{css}">{html.escape(str(status))}</b>'
    anomalies = [f"{_run_label(r, i)}: {a}" if len(runs) > 1 else str(a)
                 for i, r in enumerate(runs) for a in r.get("anomalies") or []]
    anomalies_html = (
        '<h2>Anomalies</h2><ul class="anomalies">' + "".join(f"<li>{html.escape(a)}</li>" for a in anomalies) + "</ul>"
        if anomalies else ""
    )
    run_html = (
        f' &middot; run <code>{html.escape(str(latest["run_id"]))}</code>'
        if latest.get("run_id") and len(runs) == 1 else ""
    )
    blocks = []
    for chart_id, fig in zip(CHART_IDS, charts, strict=True):
        div = fig.to_html(full_html=False, include_plotlyjs=False, div_id=chart_id, config=_PLOT_CONFIG,
                          default_height=f"{fig.layout.height or _CHART_HEIGHT}px", default_width="100%")
        blocks.append(f'<section class="chart" data-chart="{chart_id}">{div}</section>')
    title = f"Newsline daily report: {site_text}, {day.isoformat()}"
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{html.escape(title)}</title><style>{_CSS}</style>"
        f"<script type=\"text/javascript\" src=\"{PLOTLY_JS}\"></script></head><body>"
        f"<h1>{html.escape(title)}</h1>"
        f"<p class=\"sub\">Publication day {day.isoformat()} (site timezone){run_html}{status_html}</p>"
        f"<div class=\"kpis\">{''.join(kpis)}</div>{anomalies_html}{_runs_table(runs)}"
        f"<div class=\"grid\">{''.join(blocks)}</div>{_headlines(data)}{_details(runs)}</body></html>\n"
    )


def _runs_table(runs: list[Mapping[str, Any]]) -> str:
    if not runs:
        return "<p class=\"sub\">No run summary was found for this day.</p>"
    cols = (("site", "site"), ("status", "status"), ("articles_new", "new"), ("articles_updated", "updated"),
            ("articles_unchanged", "unchanged"), ("articles_quarantined", "quarantined"),
            ("pages_fetched", "fetched"), ("pages_failed", "failed"))
    head = "<tr><th>run</th>" + "".join(f"<th>{label}</th>" for _k, label in cols) + "</tr>"
    rows = "".join(
        f"<tr><td><code>{html.escape(_run_label(r, i))}</code></td>"
        + "".join(f"<td>{html.escape(str(r.get(k, '')))}</td>" for k, _label in cols) + "</tr>"
        for i, r in enumerate(runs)
    )
    return f'<h2>Runs of the day</h2><table class="runs">{head}{rows}</table>'


def _headlines(data: Mapping[str, Any]) -> str:
    """The day's headlines with links, grouped by site, newest first."""
    items = data["headlines"]
    if not items:
        return "<h2>Headlines</h2><p class=\"sub\">No articles stored for this day.</p>"
    parts = [f"<h2>Headlines ({len(items)}{' shown' if len(items) >= MAX_HEADLINES else ''})</h2>"]
    for site in sorted({h["site"] for h in items}):
        parts.append(f"<h3>{html.escape(str(site))}</h3><ol class=\"headlines\">")
        for h in (h for h in items if h["site"] == site):
            when = h["published_at"].strftime("%H:%M UTC") if h["published_at"] is not None else "time unknown"
            title = html.escape(str(h["title"] or h["article_id"]))
            link = (f'<a href="{html.escape(str(h["url"]), quote=True)}">{title}</a>'
                    if str(h["url"] or "").startswith(("http://", "https://")) else title)
            parts.append(f"<li>{link} <span class=\"meta\">{html.escape(str(h['section']))} · {when}</span></li>")
        parts.append("</ol>")
    return "".join(parts)


def _details(runs: list[Mapping[str, Any]]) -> str:
    return "".join(
        f"<details><summary>Run summary {html.escape(_run_label(r, i))} (JSON)</summary>"
        f"<pre>{html.escape(json.dumps(r, indent=2, sort_keys=True, default=str))}</pre></details>"
        for i, r in enumerate(runs)
    )
