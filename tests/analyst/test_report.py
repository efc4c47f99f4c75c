"""The daily HTML report: what it says, that it is small (one shared plotly.js beside it), that it
is built from every run of the day, and that a real browser draws every chart (headless Chromium,
offline)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from lxml import html as lxml_html

from newsline.report import CHART_IDS, PLOTLY_JS, build_daily_report
from tests.analyst.conftest import DAY, article, write_partitions
from warehouse.query import WarehouseError

CHROMIUM = next((p for p in (shutil.which("chromium"), "/usr/bin/chromium", shutil.which("chromium-browser"),
                             shutil.which("google-chrome")) if p and Path(p).exists()), None)


def plot_data(page: str, chart_id: str) -> str:
    """The ``Plotly.newPlot`` call of one chart (its traces as JSON text)."""
    start = page.index(f'Plotly.newPlot(                        "{chart_id}"')
    return page[start : page.index("</script>", start)]


def test_report_is_small_offline_and_holds_the_numbers(warehouse, summary, tmp_path):
    out = tmp_path / "reports" / "day.html"
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")}
    assert build_daily_report(str(warehouse.root), DAY, summary, str(out)) == str(out)
    page = out.read_text(encoding="utf-8")
    # one shared plotly.js beside the reports, referenced relatively: nothing to fetch from the network
    assert re.findall(r"<script[^>]+src=\"([^\"]+)\"", page) == [PLOTLY_JS]
    script = out.parent / PLOTLY_JS
    assert script.stat().st_size > 1_000_000 and b"Plotly" in script.read_bytes()[:5000]
    assert len(page.encode()) < 150_000 and "Plotly.newPlot" in page  # was 4.9 MB with plotly.js inlined
    for chart_id in CHART_IDS:
        assert f'id="{chart_id}"' in page
    day_chart = plot_data(page, "chart-sections-day")
    assert '"x":["business","politics","world"]' in day_chart and '"y":[1,3,2]' in day_chart
    history = plot_data(page, "chart-sections-history")
    assert '"name":"society"' in history and "2024-08-24" in history and "2024-08-20" not in history
    status = plot_data(page, "chart-run-status")
    assert '"x":["new","updated","unchanged","quarantined"]' in status and '"y":[4,2,3,3]' in status
    assert '"y":["image_url","byline","body","title"]' in plot_data(page, "chart-field-coverage")
    health = plot_data(page, "chart-crawl-health")
    assert '"y":[9,12,1,2,0]' in health
    assert "fixture-run" in page and "articles stored for the day" in page
    after = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")}
    assert set(after) - set(before) == {out.parent, out, script}  # the report and the shared script only
    script_written = script.stat().st_mtime_ns
    again = tmp_path / "reports" / "again.html"
    build_daily_report(str(warehouse.root), DAY, summary, str(again))
    assert again.read_bytes() == out.read_bytes()
    assert script.stat().st_mtime_ns == script_written  # written once, not per report


def test_report_without_summary_measures_the_stored_day(warehouse, tmp_path):
    out = tmp_path / "day.html"
    build_daily_report(str(warehouse.root), DAY, None, str(out))
    page = out.read_text(encoding="utf-8")
    coverage = plot_data(page, "chart-field-coverage")
    # 6 stored articles on DAY: one without byline, one without summary, one with an image.
    assert "stored articles of the day" in page and "daily report: japannews, 2024-09-06" in page
    shares = dict(zip(re.search(r'"y":\[([^\]]*)\]', coverage).group(1).replace('"', "").split(","),
                      map(float, re.search(r'"x":\[([^\]]*)\]', coverage).group(1).split(",")), strict=True))
    assert shares["byline"] == pytest.approx(5 / 6) and shares["image_url"] == pytest.approx(1 / 6)
    assert shares["title"] == 1.0 and shares["keywords"] == pytest.approx(5 / 6)
    reasons = plot_data(page, "chart-quarantine-reasons")
    assert '"y":["bad_url","empty_body","missing_title"]' in reasons and '"x":[1,1,2]' in reasons
    assert "no run summary for this day" in plot_data(page, "chart-run-status")


def test_report_on_an_empty_warehouse(tmp_path):
    out = tmp_path / "empty.html"
    (tmp_path / "empty-warehouse").mkdir()
    build_daily_report(str(tmp_path / "empty-warehouse"), DAY, None, str(out))
    page = out.read_text(encoding="utf-8")
    assert "no articles stored" in plot_data(page, "chart-sections-day")


def test_report_on_a_missing_or_file_warehouse_is_a_user_error(tmp_path):
    out = tmp_path / "r.html"
    with pytest.raises(WarehouseError, match="does not exist"):
        build_daily_report(str(tmp_path / "no-warehouse"), DAY, None, str(out))
    (tmp_path / "file").write_text("not a warehouse")
    with pytest.raises(WarehouseError, match="is not a directory"):
        build_daily_report(str(tmp_path / "file"), DAY, None, str(out))
    assert not out.exists()


def _write_run(staging, site, run_id, summary, mtime):
    folder = staging / site / DAY.isoformat() / run_id
    folder.mkdir(parents=True)
    path = folder / "summary.json"
    path.write_text(json.dumps({**summary, "site": site, "run_id": run_id}), encoding="utf-8")
    os.utime(path, (mtime, mtime))


def test_report_is_built_from_every_run_of_the_day(warehouse, summary, tmp_path):
    """A day cleared and re-run: the first run stored 4 new articles, the re-run found them unchanged.
    The report read the given summary only ('no run summary' from the CLI, 0 new after a re-run)."""
    staging = tmp_path / "staging"
    first = {**summary, "articles_new": 4, "articles_updated": 0, "articles_unchanged": 0}
    rerun = {**summary, "articles_new": 0, "articles_updated": 0, "articles_unchanged": 4,
             "field_coverage": {"title": 1.0, "body": 0.5}}
    _write_run(staging, "japannews", "scheduled__2024-09-06", first, 1_000_000)
    _write_run(staging, "japannews", "manual__rerun", rerun, 2_000_000)
    _write_run(staging, "othersite", "scheduled__2024-09-06", first, 1_500_000)  # another site: not this report
    out = tmp_path / "reports" / "japannews-2024-09-06.html"
    build_daily_report(str(warehouse.root), DAY, None, str(out), staging=str(staging), site="japannews")
    page = out.read_text(encoding="utf-8")
    status = plot_data(page, "chart-run-status")
    assert "no run summary" not in status
    assert status.count('"textposition":"auto"') == 2  # one bar series per run
    assert '"name":"scheduled__2024-09-06"' in status and '"y":[4,0,0,3]' in status
    assert '"name":"manual__rerun"' in status and '"y":[0,0,4,3]' in status
    assert status.index("scheduled__2024-09-06") < status.index("manual__rerun")  # oldest run first
    assert "<b>2</b><span>runs</span>" in page and "<b>4</b><span>new (all runs)</span>" in page
    assert '"y":["body","title"]' in plot_data(page, "chart-field-coverage")  # the latest run's coverage
    assert "othersite" not in page


def test_report_lists_the_days_headlines_with_links_and_names_each_site(tmp_path):
    root = tmp_path / "wh"
    rows = [article(1, DAY, "politics", title="First <generated> headline"),
            article(2, DAY, "world", hour=14),
            article(3, DAY, "world", site="othersite", article_id="othersite:3", title="Other site headline"),
            article(4, DAY - (DAY - DAY.replace(day=1)), "world", title="Not this day")]
    write_partitions(root, "articles", rows)
    out = tmp_path / "all.html"
    build_daily_report(str(root), DAY, None, str(out))
    page = out.read_text(encoding="utf-8")
    assert "daily report: japannews, othersite, 2024-09-06" in page
    assert "<h3>japannews</h3>" in page and "<h3>othersite</h3>" in page
    assert f'<a href="{rows[0]["url"]}">First &lt;generated&gt; headline</a>' in page
    assert f'<a href="{rows[2]["url"]}">Other site headline</a>' in page
    assert "Not this day" not in page
    assert page.index("Placeholder headline 2") < page.index("First &lt;generated&gt;")  # newest first
    day_chart = plot_data(page, "chart-sections-day")
    assert '"name":"japannews"' in day_chart and '"name":"othersite"' in day_chart
    one = tmp_path / "one.html"
    build_daily_report(str(root), DAY, None, str(one), site="othersite")
    page = one.read_text(encoding="utf-8")
    assert "daily report: othersite, 2024-09-06" in page and "Placeholder headline 2" not in page


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
def test_report_day_out_of_range_is_a_user_error(warehouse, tmp_path, day, capsys):
    from newsline.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["report", "--date", day, "--warehouse", str(warehouse.root), "--staging", str(tmp_path)])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"newsline: error: day {day} ") and "Traceback" not in err


def test_summary_text_is_escaped(warehouse, summary, tmp_path):
    out = tmp_path / "day.html"
    summary = {**summary, "status": "failed", "anomalies": ["zero_articles: <script>alert(1)</script>"]}
    build_daily_report(str(warehouse.root), DAY, summary, str(out))
    page = out.read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (CI installs it: apt-get install chromium)")
def test_every_chart_renders_in_headless_chromium(warehouse, summary, tmp_path):
    out = tmp_path / "day.html"
    build_daily_report(str(warehouse.root), DAY, summary, str(out))
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--disable-dev-shm-usage", f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=10000",
           "--dump-dom", out.as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = lxml_html.fromstring(proc.stdout)
    for chart_id in CHART_IDS:
        (div,) = dom.xpath(f'//div[@id="{chart_id}"]')
        assert "js-plotly-plot" in div.get("class", ""), f"{chart_id} was not drawn"
        assert div.xpath('.//*[local-name()="svg" and contains(@class, "main-svg")]'), chart_id
    # The day's chart has one bar per section, with the stored counts as labels.
    day_chart = dom.xpath('//div[@id="chart-sections-day"]')[0]
    bars = day_chart.xpath('.//*[local-name()="g" and contains(concat(" ", @class, " "), " point ")]')
    assert len(bars) == 3
    labels = [t.text_content() for t in day_chart.xpath('.//*[local-name()="text" and contains(@class, "bartext")]')]
    assert sorted(labels) == ["1", "2", "3"]
    history = dom.xpath('//div[@id="chart-sections-history"]')[0]
    legend = {t.text_content() for t in history.xpath('.//*[local-name()="text" and contains(@class, "legendtext")]')}
    assert legend == {"business", "politics", "society", "world"}


def test_cli_report_reads_the_days_runs_from_staging(warehouse, summary, tmp_path, capsys):
    """The CLI said 'no run summary for this day' although the day's summaries were in staging."""
    from newsline.cli import main

    staging = tmp_path / "staging"
    _write_run(staging, "japannews", "cli-run-1", summary, 1_000_000)
    assert main(["report", "--site", "japannews", "--date", DAY.isoformat(), "--warehouse", str(warehouse.root),
                 "--staging", str(staging)]) == 0
    out = staging / "reports" / f"japannews-{DAY.isoformat()}.html"
    assert capsys.readouterr().out.strip() == str(out)
    page = out.read_text(encoding="utf-8")
    assert "no run summary" not in plot_data(page, "chart-run-status")
    assert '"y":[4,2,3,3]' in plot_data(page, "chart-run-status") and "cli-run-1" in page
    assert (staging / "reports" / PLOTLY_JS).exists()
