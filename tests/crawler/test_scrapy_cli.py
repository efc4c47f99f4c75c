"""Scrapy's own commands work from the repository root (scrapy.cfg → crawler.settings)."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRAPY = [sys.executable, "-m", "scrapy.cmdline"]
DAY = date(2024, 9, 6)


def scrapy(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*SCRAPY, *args], cwd=REPO, capture_output=True, text=True, timeout=90)


def test_scrapy_list_names_the_news_spider() -> None:
    proc = scrapy("list")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["news"]


@pytest.mark.slow
def test_scrapy_parse_of_a_demo_page_gives_its_item() -> None:
    from demo_site.server import DemoServer

    with DemoServer(port=0) as server:
        truth = sorted(server.truth(day=DAY), key=lambda r: r["url"])[0]
        proc = scrapy("parse", "--spider", "news", "-a", "site=japannews", "-a", f"date={DAY}",
                      "-a", f"base_url={server.base_url}", "-c", "parse_article", "--nolog", "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=0", truth["url"])
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Scraped Items" in proc.stdout
    assert f"'url': '{truth['url']}'" in proc.stdout
    assert repr(truth["title"]) in proc.stdout or truth["title"] in proc.stdout
