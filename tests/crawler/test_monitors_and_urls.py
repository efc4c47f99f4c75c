"""End-of-crawl monitors (crawler.monitors, crawler.run exit code) and tracking-parameter canonicalisation."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from crawler.discovery import canonicalize_url
from crawler.monitors import run_monitors

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("raw", "want"), [
    ("http://h/a/20240906-1/?utm_source=x&utm_medium=y", "http://h/a/20240906-1/"),
    ("http://h/a/?fbclid=1&page=2&gclid=3#top", "http://h/a/?page=2"),
    ("HTTP://H.example/a/?b=1&a=2", "http://h.example/a/?b=1&a=2"),
    ("http://h/a/", "http://h/a/"),
])
def test_canonicalize_url_drops_tracking_and_fragment(raw: str, want: str) -> None:
    assert canonicalize_url(raw) == want


def _report(**kw: object) -> dict:
    base = {"articles_discovered": 40, "items_scraped": 40, "pages_fetched": 40, "pages_failed": 0,
            "requests_total": 45, "retry_count": 2, "finish_reason": "finished", "rejected_by_kind": {}}
    return {**base, **kw}


def test_monitors_pass_and_fail_on_their_thresholds() -> None:
    full = dict.fromkeys(("title", "paragraphs", "published_time", "section"), 40)
    assert all(m.ok for m in run_monitors(_report(), full, {}))
    bad = {m.name: m for m in run_monitors(
        _report(items_scraped=20, pages_failed=20, retry_count=40, finish_reason="shutdown"),
        {**full, "section": 10}, {})}
    assert not bad["article_count"].ok and bad["article_count"].value == 0.5
    assert not bad["http_error_rate"].ok and not bad["retry_rate"].ok and not bad["finish_reason"].ok
    assert not bad["field_coverage:section"].ok and bad["field_coverage:title"].ok
    # a tiny crawl is reported, not judged
    tiny = {m.name: m for m in run_monitors(_report(articles_discovered=5, items_scraped=4, pages_fetched=5,
                                                    pages_failed=1, requests_total=6), full, {})}
    assert tiny["http_error_rate"].ok and tiny["http_error_rate"].value == 0.2


def _crawl(base_url: str, out: Path, settings: dict | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, NEWSLINE_SCRAPY_SETTINGS=json.dumps(settings or {}))
    cmd = [sys.executable, "-m", "crawler.run", "--site", "japannews", "--date", "2024-09-06", "--base-url",
           base_url, "--out", str(out), "--run-id", "m", "--delay", "0", "--concurrency", "8"]
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120, env=env)


def test_a_failed_monitor_fails_the_crawl_and_still_writes_the_report(tmp_path: Path) -> None:
    from demo_site.server import DemoServer

    with DemoServer(port=0) as demo:
        ok = _crawl(demo.base_url, tmp_path / "ok")
        strict = _crawl(demo.base_url, tmp_path / "strict", {"NEWSLINE_MONITOR_MIN_SECTION_COVERAGE": 1.01})
    assert ok.returncode == 0, ok.stderr[-2000:]
    clean = json.loads((tmp_path / "ok" / "crawl.json").read_text("utf-8"))
    assert clean["monitors"] and all(m["ok"] for m in clean["monitors"]), clean["monitors"]
    assert {m["name"] for m in clean["monitors"]} >= {"article_count", "http_error_rate", "retry_rate",
                                                      "finish_reason", "field_coverage:title"}
    assert strict.returncode == 5
    assert "monitor field_coverage:section failed" in strict.stderr
    report = json.loads((tmp_path / "strict" / "crawl.json").read_text("utf-8"))
    failed = [m["name"] for m in report["monitors"] if not m["ok"]]
    assert failed == ["field_coverage:section"]
    assert report["items_scraped"] == clean["items_scraped"]
