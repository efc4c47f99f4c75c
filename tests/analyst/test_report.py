"""The daily HTML report: what it says, that it is self-contained, and that a real browser draws
every chart (headless Chromium, offline)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from lxml import html as lxml_html

from newsline.report import CHART_IDS, build_daily_report
from tests.analyst.conftest import DAY

CHROMIUM = next((p for p in (shutil.which("chromium"), "/usr/bin/chromium", shutil.which("chromium-browser"),
                             shutil.which("google-chrome")) if p and Path(p).exists()), None)


def plot_data(page: str, chart_id: str) -> str:
    """The ``Plotly.newPlot`` call of one chart (its traces as JSON text)."""
    start = page.index(f'Plotly.newPlot(                        "{chart_id}"')
    return page[start : page.index("</script>", start)]


def test_report_is_self_contained_and_holds_the_numbers(warehouse, summary, tmp_path):
    out = tmp_path / "reports" / "day.html"
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")}
    assert build_daily_report(str(warehouse.root), DAY, summary, str(out)) == str(out)
    page = out.read_text(encoding="utf-8")
    assert re.search(r"<script[^>]+src=", page) is None  # nothing to fetch: plotly.js is inline
    assert len(page) > 1_000_000 and "Plotly.newPlot" in page
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
    assert set(after) - set(before) == {out.parent, out}  # writes out_path only
    assert all(after[p] == before[p] for p in before if p.is_file())
    again = tmp_path / "again.html"
    build_daily_report(str(warehouse.root), DAY, summary, str(again))
    assert again.read_bytes() == out.read_bytes()


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
    build_daily_report(str(tmp_path / "no-warehouse"), DAY, None, str(out))
    page = out.read_text(encoding="utf-8")
    assert "no articles stored" in plot_data(page, "chart-sections-day")


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
