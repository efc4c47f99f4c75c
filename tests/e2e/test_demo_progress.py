"""`newsline demo` (make demo) shows live progress: its first line says where Airflow's log goes, then one
line per site-day (site, day, articles, status) as that site-day finishes, not all at the end."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.config import REPO_ROOT
from newsline.demo import port_in_use

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DAYS = ["2024-09-04", "2024-09-05"]


def four_free_ports() -> int:
    for _ in range(200):
        base = random.randrange(20000, 60000)
        if not any(port_in_use(base + i) for i in range(4)):
            return base
    raise AssertionError("no four consecutive free ports")


def test_demo_prints_one_line_per_site_day_as_it_finishes(tmp_path: Path) -> None:
    home = tmp_path / "airflow"
    env = {**os.environ, "NEWSLINE_WAREHOUSE": str(tmp_path / "warehouse"), "NEWSLINE_STAGING": str(tmp_path / "runs"),
           "PYTHONPATH": str(REPO_ROOT)}
    code = ("import sys; from pathlib import Path; from newsline.demo import run_demo; "
            f"sys.exit(run_demo(days={','.join(DAYS)!r}, port={four_free_ports()}, sites='japannews', "
            f"home=Path({str(home)!r})))")
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, cwd=str(REPO_ROOT))
    arrived: list[tuple[float, str]] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        arrived.append((time.time(), line.rstrip("\n")))
    assert proc.wait(timeout=60) == 0, "\n".join(text for _, text in arrived)[-4000:]
    lines = [text for _, text in arrived]

    log_path = home / "demo-logs" / "demo-runs.log"
    assert lines[0].startswith("[demo] Airflow's log: ") and str(log_path) in lines[0], lines[:3]
    assert log_path.exists() and log_path.stat().st_size > 0

    progress = {}
    for when, text in arrived:
        for day in DAYS:
            if text.startswith(f"[demo] japannews     {day}  ") and " articles  " in text:
                progress[day] = (when, text)
    assert sorted(progress) == DAYS, lines
    for day in DAYS:
        fields = progress[day][1].split()
        assert fields[1:3] == ["japannews", day] and fields[4] == "articles" and fields[5] == "ok", fields
        assert int(fields[3]) > 0, fields

    # live: the first site-day's line reached us before the second site-day's run wrote its summary
    [second] = (tmp_path / "runs" / "japannews" / DAYS[1]).glob("*/summary.json")
    assert progress[DAYS[0]][0] < second.stat().st_mtime, (progress, second.stat().st_mtime)
