"""The crawl subprocess: live log relay with levels and times, progress lines, dies with its parent,
leftovers of killed attempts swept by the next run of the same site-day."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from faultkit import DAY, spec

from newsline.pipeline import CrawlLogRelay, crawl, sweep_stale_crawl_dirs

REPO = Path(__file__).resolve().parents[2]


def test_relay_keeps_level_time_and_continuation_lines() -> None:
    seen: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    logger = logging.getLogger("test.relay")
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    logger.addHandler(Keep())
    relay = CrawlLogRelay(logger)
    for line in ["2024-09-06 10:00:01 [crawler.spiders.news] WARNING: discovery sitemap x: HTTP 500",
                 "2024-09-06 10:00:05 [scrapy.core.scraper] ERROR: Spider error processing <GET x>",
                 "Traceback (most recent call last):", "  ValueError: boom",
                 "2024-09-06 10:00:09 [crawler.extensions] INFO: progress: 3 discovered, 1 fetched"]:
        relay.feed(line + "\n")
    relay.flush()
    assert [r.levelno for r in seen] == [logging.WARNING, logging.ERROR, logging.INFO]
    assert [time.strftime("%H:%M:%S", time.localtime(r.created)) for r in seen] == ["10:00:01", "10:00:05",
                                                                                   "10:00:09"]
    assert seen[1].getMessage().endswith("Traceback (most recent call last):\n  ValueError: boom")
    assert seen[0].getMessage() == "[crawler.spiders.news] discovery sitemap x: HTTP 500"


def test_a_quiet_crawler_s_last_line_is_relayed_without_waiting_for_the_next() -> None:
    """A record is complete only when the next line starts, so the relay used to hold the last line
    before a quiet spell (a progress line, a stall's warning) until the crawler spoke again. The
    reader reports the pause and the relay emits the pending record then."""
    from newsline.pipeline import _lines_or_pauses

    def crawler_output():
        yield "2024-09-06 10:00:01 [crawler.extensions] INFO: progress: fetched 5\n"
        time.sleep(1.0)  # quiet
        yield "2024-09-06 10:00:02 [crawler.extensions] INFO: progress: fetched 9\n"

    seen: list[tuple[float, str]] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append((time.monotonic(), record.getMessage()))

    logger = logging.getLogger("test.quiet.relay")
    logger.propagate = False
    logger.addHandler(Keep())
    logger.setLevel(logging.INFO)
    relay = CrawlLogRelay(logger)
    started = time.monotonic()
    for line in _lines_or_pauses(crawler_output(), pause=0.2):
        if line is None:
            relay.flush()
        else:
            relay.feed(line)
    relay.flush()
    assert [m for _, m in seen] == ["[crawler.extensions] progress: fetched 5", "[crawler.extensions] progress: fetched 9"]
    assert seen[0][0] - started < 0.7, "the first line waited for the second"


@pytest.mark.slow
def test_crawl_output_is_streamed_live_with_levels_and_progress(tmp_path: Path, monkeypatch) -> None:
    """Progress lines reach the parent's log while the crawl runs, ERROR/WARNING keep their level."""
    from demo_site.server import DemoServer

    monkeypatch.setenv("NEWSLINE_SCRAPY_SETTINGS", json.dumps({
        "NEWSLINE_PROGRESS_EVERY": 5, "NEWSLINE_PROGRESS_INTERVAL": 1.0, "DOWNLOAD_TIMEOUT": 5}))
    handled: list[tuple[float, logging.LogRecord]] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            handled.append((time.time(), record))

    keep = Keep(level=logging.DEBUG)
    root = logging.getLogger("newsline")
    root.addHandler(keep)
    old_level = root.level
    root.setLevel(logging.INFO)
    try:
        with DemoServer(port=0, faults="slow=0.3,slow_seconds=0.8,burst=1,hostile=xxe") as server:
            crawl(spec(tmp_path, server.base_url, "live", concurrency_per_domain=2), incremental=False)
            finished = time.time()
    finally:
        root.removeHandler(keep)
        root.setLevel(old_level)
    relayed = [(t, r) for t, r in handled if r.name == "newsline.crawler"]
    progress = [(t, r) for t, r in relayed if "progress:" in r.getMessage()]
    assert len(progress) >= 3, [r.getMessage() for _, r in relayed][-20:]
    assert progress[0][0] < finished - 2, "progress reached the log only when the crawl ended"
    assert all(abs(t - r.created) < 3 for t, r in progress), "lines relayed late or with the wrong time"
    assert "fetched" in progress[-1][1].getMessage() and "pages/s" in progress[-1][1].getMessage()
    warnings = [r for _, r in relayed if r.levelno == logging.WARNING and "discovery" in r.getMessage()]
    assert warnings, "the crawler's WARNING lines lost their level"


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_killing_the_parent_stops_the_crawler_and_the_next_run_sweeps(tmp_path: Path, sig: int) -> None:
    from demo_site.server import DemoServer

    with DemoServer(port=0, faults="slow=1.0,slow_seconds=1.0,burst=5") as server:
        script = ("import logging, sys; logging.basicConfig(level=logging.INFO);"
                  "from faultkit import spec; from newsline.pipeline import crawl;"
                  f"crawl(spec(__import__('pathlib').Path({str(tmp_path)!r}), {server.base_url!r}, 'killed',"
                  " concurrency_per_domain=1), incremental=False)")
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), str(REPO / "tests" / "crawl_faults")]),
                   NEWSLINE_SCRAPY_SETTINGS=json.dumps({"DOWNLOAD_TIMEOUT": 5}))
        parent = subprocess.Popen([sys.executable, "-c", script], cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True)
        owner_files: list[Path] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not owner_files:
            owner_files = list((tmp_path / "runs").glob("japannews/*/killed/.crawl-*/owner.json"))
            time.sleep(0.2)
        assert owner_files, "the crawl never started"
        time.sleep(3)  # fetching
        owner = json.loads(owner_files[0].read_text())
        parent.send_signal(sig)
        parent.wait(timeout=30)
        stopped = time.monotonic()
        child_gone = False
        while time.monotonic() - stopped < 15 and not child_gone:
            try:
                os.kill(owner["crawler_pid"], 0)
            except ProcessLookupError:
                child_gone = True
            time.sleep(0.2)
        if not child_gone:
            os.kill(owner["crawler_pid"], signal.SIGKILL)
        assert child_gone, "the crawler outlived its parent"
        assert parent.returncode != 0
        fetched_after = len(server.requests)
        time.sleep(2)
        assert len(server.requests) == fetched_after, "something still fetches"
    leftover = owner_files[0].parent
    assert leftover.is_dir()
    stale_tmp = leftover.parent / "summary.json.tmp"
    stale_tmp.write_text("{")
    os.utime(stale_tmp, (time.time() - 3600, time.time() - 3600))
    removed = sweep_stale_crawl_dirs(spec(tmp_path, "http://127.0.0.1:9/", "next"))
    assert leftover in removed and stale_tmp in removed
    assert not leftover.exists() and not stale_tmp.exists()
    assert DAY.isoformat() in str(leftover)
