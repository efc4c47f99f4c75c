"""``newsline demo``: the whole pipeline on the embedded default, through real Airflow.

Starts the demo site on 127.0.0.1, prepares Airflow (SQLite metadata under ``.airflow/``), runs the
``japannews_daily`` DAG once per demo day with ``airflow dags test`` and prints what landed.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import date, timedelta
from pathlib import Path

from newsline.config import DEMO_PORT, REPO_ROOT, load_settings
from newsline.pipeline import latest_summary

log = logging.getLogger(__name__)

DAG_ID = "japannews_daily"
SITE = "japannews"


def parse_days(spec: str) -> list[date]:
    """``2024-09-04..2024-09-08`` or ``2024-09-04,2024-09-06``."""
    if ".." in spec:
        first, last = (date.fromisoformat(p) for p in spec.split("..", 1))
        if last < first:
            raise ValueError(f"empty day range {spec!r}")
        return [first + timedelta(days=i) for i in range((last - first).days + 1)]
    return [date.fromisoformat(p) for p in spec.split(",") if p]


def airflow_env(base_url: str | None = None, home: Path | None = None) -> dict[str, str]:
    """Environment for the project's own Airflow: metadata in SQLite under .airflow/, our dags/ folder."""
    home = home or REPO_ROOT / ".airflow"
    home.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO_ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": env.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
                                                       f"sqlite:///{home / 'airflow.db'}"),
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH", "")])),
    })
    if base_url:
        env["NEWSLINE_BASE_URL"] = base_url
    return env


def airflow(*args: str, env: dict[str, str], log_path: Path | None = None, check: bool = True) -> int:
    cmd = [str(Path(sys.executable).with_name("airflow")), *args]
    if log_path is None:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        out = proc.stdout + proc.stderr
    else:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("w", encoding="utf-8") as fh:
            proc = subprocess.run(cmd, env=env, stdout=fh, stderr=subprocess.STDOUT, text=True)
        out = log_path.read_text(encoding="utf-8", errors="replace")
    if check and proc.returncode != 0:
        tail = "\n".join(out.strip().splitlines()[-30:])
        raise RuntimeError(f"`airflow {' '.join(args)}` failed (exit {proc.returncode}):\n{tail}")
    return proc.returncode


def prepare_airflow(env: dict[str, str], pool_slots: int = 1) -> None:
    airflow("db", "migrate", env=env)
    airflow("pools", "set", SITE, str(pool_slots), "Concurrent crawl tasks against The Japan News", env=env)


def logical_date_for(day: date) -> str:
    """The logical date that makes ``airflow dags test`` (a manual run) cover JST day ``day``: its
    midnight in Tokyo (``newsline.dagsupport.covered_day``)."""
    return f"{day.isoformat()}T00:00:00+09:00"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_demo_site(port: int, extra: list[str] | None = None) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "demo_site", "--port", str(port), *(extra or [])]
    proc = subprocess.Popen(cmd, cwd=str(REPO_ROOT), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}/robots.txt"
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"demo site exited: {proc.stderr.read().decode(errors='replace')[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return proc
        except OSError:
            time.sleep(0.2)
    proc.terminate()
    raise RuntimeError(f"demo site did not answer on {url} within 60 s")


def run_demo(days: str = "2024-09-04..2024-09-08", port: int = 0) -> int:
    settings = load_settings()
    day_list = parse_days(days)
    port = port or DEMO_PORT  # a fixed port keeps canonical URLs, and so the warehouse, identical across runs
    base_url = f"http://127.0.0.1:{port}/"
    print(f"[demo] starting the demo site on {base_url}", flush=True)
    site = start_demo_site(port)
    try:
        env = airflow_env(base_url)
        env.setdefault("NEWSLINE_DOWNLOAD_DELAY", "0")
        env.setdefault("NEWSLINE_CONCURRENCY", "8")
        print(f"[demo] preparing Airflow metadata in {env['AIRFLOW_HOME']}", flush=True)
        prepare_airflow(env)
        for day in day_list:
            started = time.time()
            log_path = Path(env["AIRFLOW_HOME"]) / "demo-logs" / f"{DAG_ID}-{day.isoformat()}.log"
            print(f"[demo] airflow dags test {DAG_ID} {logical_date_for(day)}  (covers {day}) …", flush=True)
            rc = airflow("dags", "test", DAG_ID, logical_date_for(day), env=env, log_path=log_path, check=False)
            summary = latest_summary(settings.staging, SITE, day)
            status = summary.get("status") if summary else "no summary"
            print(f"[demo]   {day}: exit {rc}, {status}, {time.time() - started:.1f}s "
                  f"(new {summary and summary['articles_new']}, updated {summary and summary['articles_updated']}, "
                  f"unchanged {summary and summary['articles_unchanged']}, "
                  f"not refetched {summary and summary.get('pages_skipped_unchanged')}, quarantined "
                  f"{summary and summary['articles_quarantined']}); log: {log_path}", flush=True)
            if rc != 0 or not summary or summary.get("status") != "ok" or summary.get("run_id") is None:
                print(f"[demo] the run for {day} failed; last lines of {log_path}:", flush=True)
                print("\n".join(log_path.read_text(errors="replace").splitlines()[-40:]))
                return 1
    finally:
        site.terminate()
        site.wait(timeout=10)
    print(warehouse_overview(settings.warehouse, day_list))
    return 0


def warehouse_overview(root: str, days: list[date]) -> str:
    from warehouse.reader import read_articles

    frame = read_articles(root, days=days)
    lines = [f"[demo] warehouse: {root}/articles  ({len(frame)} articles for {days[0]}..{days[-1]})"]
    if len(frame):
        counts = frame.groupby(["date", "section"]).size()
        for day, per in counts.groupby(level=0):
            parts = ", ".join(f"{sec}={n}" for (_, sec), n in per.items())
            lines.append(f"  {day}: {int(per.sum())} articles  ({parts})")
    lines += read_it_lines(root)
    return "\n".join(lines)


def read_it_lines(root: str) -> list[str]:
    """The commands ``make demo`` prints for reading the warehouse; each gives a typed ``date``
    (tests/analyst/test_examples.py runs every one)."""
    return [
        "Read it (date is a real date in each):",
        f"  .venv/bin/python -c \"import newsline; df = newsline.read_articles('{root}', start='2024-09-06'); "
        "print(df.groupby(['date', 'section']).size())\"",
        "  .venv/bin/python -c \"import pandas as pd, pyarrow as pa, pyarrow.dataset as ds; "
        "part = ds.partitioning(pa.schema([('date', pa.date32()), ('section', pa.string())]), flavor='hive'); "
        f"df = pd.read_parquet('{root}/articles', partitioning=part); print(df[['date', 'section', 'title']].head())\"",
        f"  .venv/bin/python -c \"import duckdb; print(duckdb.sql(\\\"select date, section, count(*) n from "
        f"read_parquet('{root}/articles/**/*.parquet', hive_partitioning=true, "
        "hive_types={'date': 'DATE', 'section': 'VARCHAR'}) group by all order by all\\\"))\"",
        f"  .venv/bin/newsline query --warehouse {root} \"select date, section, count(*) from articles group by all order by all\"",
        f"  .venv/bin/newsline query --export-db --warehouse {root}   "
        f"# then: duckdb {root}/_duckdb/newsline.duckdb (views articles, article_revisions, quarantine)",
    ]
